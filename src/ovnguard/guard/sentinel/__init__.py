"""Sentinels: the console fix, automated, on each chassis (see docs/guard.md, "Sentinels").

A change that loops a chassis' provider bridge can cut that chassis off from the SB when
ovn-controller reaches the SB over the same bridge (as in the seed incident). The guard on
the NB host then rolls NB back within milliseconds, but the chassis never hears of it and
keeps the patch ports that make the loop. What restores it is deleting those ports on the
chassis itself, over its own unix socket. A sentinel does exactly that, and nothing else:

    ovnguard guard sentinel --watch patch-ln-physnet2-to-br-int,patch-br-int-to-ln-physnet2 \
        --sb tcp:10.10.0.10:6642 --for 180

runs ON a chassis, detached (like the guard's watcher), until its deadline. Every
`interval` it asks "can this host still reach its SB?" (a TCP connect to the SB remote, or
the guard's probe specs); when every check fails `failures` rounds in a row while one of the
watched ports exists, it deletes the watched ports that exist, in one transaction, and keeps
watching. SB reachable means no action: if ovn-controller re-creates the ports because NB
still wants them, that is NB's decision, made over a working control path.

Safety: the watched ports are the `added` ports the what-if predicted for this host (those
ovn-controller creates *because of the change*); a watched port that already exists when
the sentinel starts is never touched, nor is one that is not an ovn-controller patch port
(`Interface.type=patch` and `external_ids:ovn-localnet-port`, ...). It acts only while this
host has lost its control plane, and ovn-controller re-creates whatever NB still wants once
it reconnects.

The package, along its seams:

    checks.py    "can this host reach its SB?": probe/unix-socket checks, argument parsing
    decide.py    pure: which ports may be deleted, and `decide()` after each round
    hostdb.py    the host's Open_vSwitch database (read the ports, delete them)
    store.py     the state directory: typed sentinel.json, listing, stopping, summaries
    daemon.py    the detached process (`python -m ovnguard.guard.sentinel [--detach] DIR`)
    arming.py    `arm_sentinel()`: start one and wait until it watches or says why not
    planning.py  `ovnguard apply --sentinel[-print]`: one sentinel per host the change reaches
"""

from ovnguard.guard.sentinel.arming import (
    DEFAULT_FAILURES,
    DEFAULT_INTERVAL,
    Armed,
    arm_sentinel,
    new_sentinel_id,
)
from ovnguard.guard.sentinel.checks import (
    MAX_SECONDS,
    Check,
    deadline_from,
    parse_check,
    parse_watch,
    run_check,
    sb_checks,
)
from ovnguard.guard.sentinel.decide import (
    Decision,
    PortInfo,
    decide,
    deletable,
    failing_streak,
    split_watch,
)
from ovnguard.guard.sentinel.hostdb import delete_ports, host_ovn_remote, read_ports
from ovnguard.guard.sentinel.planning import (
    DEFAULT_DB,
    DEFAULT_GRACE,
    Prediction,
    SentinelPlan,
    arm_planned,
    plans_from,
    predict_added,
    record_in_guard,
)
from ovnguard.guard.sentinel.store import (
    DONE,
    EXPIRED,
    FAILED,
    LOG_FILE,
    STARTING,
    STATE_FILE,
    STOPPED,
    SUBDIR,
    WATCHING,
    alive,
    find_sentinel,
    list_sentinels,
    read_state,
    sentinels_root,
    stop_all,
    stop_sentinel,
    summary,
)

__all__ = [
    "DEFAULT_DB", "DEFAULT_FAILURES", "DEFAULT_GRACE", "DEFAULT_INTERVAL", "DONE", "EXPIRED",
    "FAILED", "LOG_FILE", "MAX_SECONDS", "STARTING", "STATE_FILE", "STOPPED", "SUBDIR",
    "WATCHING", "Armed", "Check", "Decision", "PortInfo", "Prediction", "SentinelPlan",
    "alive", "arm_planned", "arm_sentinel", "deadline_from", "decide", "deletable",
    "delete_ports", "failing_streak", "find_sentinel", "host_ovn_remote", "list_sentinels",
    "new_sentinel_id", "parse_check", "parse_watch", "plans_from", "predict_added",
    "read_ports", "read_state", "record_in_guard", "run_check", "sb_checks",
    "sentinels_root", "split_watch", "stop_all", "stop_sentinel", "summary",
]
