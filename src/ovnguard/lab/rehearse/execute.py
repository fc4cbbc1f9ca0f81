"""Running each line of the change as the real tool against the lab: global options that
point elsewhere dropped, `# host:` lines on that chassis, Neutron commands translated.
"""
from __future__ import annotations

import re
import subprocess
from collections.abc import Mapping, Sequence
from typing import Any

from ovnguard.change import syntax
from ovnguard.change.model import Change, ChangeProblem, Invocation
from ovnguard.change.neutron import UnsupportedNeutron, ml2_config
from ovnguard.change.txn import CtlError
from ovnguard.errors import LabError
from ovnguard.i18n import _
from ovnguard.lab.lab import Lab
from ovnguard.lab.process import clean_env, run_bytes
from ovnguard.lab.rehearse.nbctl import neutron_nbctl_commands
from ovnguard.lab.rehearse.result import CommandRun, Status
from ovnguard.lab.replica import ReplicaPlan
from ovnguard.model.db import Database
from ovnguard.sources.ovsdb_file import parse_database

# --- running the change ----------------------------------------------------------------

# Global options that would point the tool somewhere else or change how it runs as a
# process; the rehearsal sets --db and --timeout itself.
_DROP = frozenset(
    {
        "db",
        "timeout",
        "t",
        "unixctl",
        "u",
        "detach",
        "no-chdir",
        "no-self-confinement",
        "pidfile",
        "overwrite-pidfile",
        "monitor",
        "user",
        "log-file",
        "syslog-method",
        "syslog-target",
        "private-key",
        "p",
        "certificate",
        "c",
        "ca-cert",
        "C",
        "bootstrap-ca-cert",
        "peer-ca-cert",
        "ssl-protocols",
        "ssl-ciphers",
        "no-syslog",
    }
)
# ovs-vsctl words that would make a lab daemon connect to (or listen on) something outside
# the lab: a rehearsal never touches the network.
_REMOTE = re.compile(r'(^|[=\s"\[,{])p?(tcp|ssl|unix):')
_REMOTE_VERBS = frozenset({"set-manager", "set-controller", "set-ssl"})


def strip_global_options(argv: Sequence[str]) -> list[str]:
    """The invocation's words without the global options the rehearsal replaces."""
    return syntax.strip_global_options(list(argv), _DROP)


def apply_for_real(
    lab: Lab, change: Change, plan: ReplicaPlan, timeout: float
) -> tuple[CommandRun, ...]:
    """Run every invocation of the change against the lab, in order, like a shell would
    (an `&&` after a failure skips), and the parser's problems as not-rehearsed lines."""
    runs: list[CommandRun] = []
    last_ok = True
    ml2 = _ml2(plan)
    for inv in change.invocations:
        if inv.after == "&&" and not last_ok:
            r = _run(inv, "skipped", error="skipped: the command before `&&` failed")
        elif inv.tool == "ovn-nbctl":
            r = _exec(
                inv,
                [
                    [
                        "ovn-nbctl",
                        f"--db={lab.nb_remote}",
                        f"--timeout={_secs(timeout)}",
                        *strip_global_options(inv.argv),
                    ]
                ],
                {},
                timeout,
            )
        elif inv.tool == "ovs-vsctl":
            r = _vsctl(lab, inv, timeout)
        elif inv.tool == "ip":
            # the replica's hosts share this machine's network stack: host lines are
            # predicted by `check` (and held against a namespace by its tests), not run here
            r = _run(inv, "not-rehearsed", error="ip lines (host addresses, routes, links) "
                     "are not rehearsed on the replica; `ovnguard check` predicts them")
        else:
            r = _openstack(lab, inv, ml2, timeout)
        last_ok = r.status == "ok"
        runs.append(r)
    runs += [_problem_run(p) for p in change.problems]
    return tuple(sorted(runs, key=lambda r: r.line))


def _vsctl(lab: Lab, inv: Invocation, timeout: float) -> CommandRun:
    hosts = lab.host_names()
    host = inv.host
    if host is not None and host not in hosts:
        # `# host:` may name the chassis (system-id) instead of the hostname.
        host = next((h.name for h in lab.topology.hosts if h.chassis_name == host), host)
    if host is None:
        return _run(
            inv,
            "not-rehearsed",
            error=(
                "ovs-vsctl acts on one host's Open_vSwitch database: say which with a "
                f"'# host: NAME' line above it (hosts: {', '.join(hosts)})"
            ),
        )
    if host not in hosts:
        return _run(
            inv,
            "not-rehearsed",
            error=(f"host {host} is not in the replica (hosts: {', '.join(hosts)})"),
        )
    words = list(inv.argv)
    verbs = {c.verb for c in inv.commands}
    if verbs & _REMOTE_VERBS or any(_REMOTE.search(w) or "ovn-remote" in w for w in words):
        return _run(
            inv,
            "not-rehearsed",
            error=(
                "not run: it would point a daemon of the lab at a connection target (managers, "
                "controllers, SSL, ovn-remote); a rehearsal never connects outside the lab"
            ),
        )
    hp = lab.host_paths(host)
    argv = [
        "ovs-vsctl",
        f"--db={hp.ovsdb.remote}",
        f"--timeout={_secs(timeout)}",
        *strip_global_options(words),
    ]
    return _exec(inv, [argv], hp.env(), timeout)


def _openstack(lab: Lab, inv: Invocation, ml2: Any, timeout: float) -> CommandRun:
    if inv.argv[:2] != ("network", "create") or not inv.commands:
        what = " ".join(inv.argv[:2]) or "(nothing)"
        return _run(
            inv,
            "not-rehearsed",
            error=(
                f"`openstack {what}` is not rehearsable: there is no Neutron in the lab, and only "
                "`openstack network create` has a known translation to NB operations"
            ),
        )
    nb = lab_nb(lab)
    try:
        cmds = neutron_nbctl_commands(nb, inv.commands[0], ml2, seed=f"rehearse:{inv.index}")
    except UnsupportedNeutron as e:
        return _run(inv, "not-rehearsed", error=f"not rehearsable: {e}")
    except CtlError as e:
        return _run(
            inv,
            "failed",
            exit_code=1,
            error=(
                f"openstack network create: {e.message} (Neutron's validation as ovnguard models "
                "it; no real Neutron runs in the lab)"
            ),
        )
    argv = ["ovn-nbctl", f"--db={lab.nb_remote}", f"--timeout={_secs(timeout)}"]
    for c in cmds:
        argv += ["--", *c]
    return _exec(inv, [argv], {}, timeout)


def lab_nb(lab: Lab) -> Database:
    raw = run_bytes(
        ["ovsdb-client", "--timeout=10", "backup", lab.nb_remote, "OVN_Northbound"], timeout=15
    )
    return parse_database(raw, lab.nb_remote)


def _ml2(plan: ReplicaPlan) -> Any:
    merged: dict[str, dict[str, dict[str, str]]] = {}
    for h in plan.snapshot.hosts.values():
        for path, sections in h.neutron.items():
            merged.setdefault(path, {k: dict(v) for k, v in sections.items()})
    return ml2_config(merged)


def _exec(
    inv: Invocation, argvs: list[list[str]], env: Mapping[str, str], timeout: float
) -> CommandRun:
    out_text, err_text, code = "", "", 0
    for argv in argvs:
        try:
            proc = subprocess.run(
                argv, capture_output=True, timeout=timeout + 5, env=clean_env(env), check=False
            )
        except subprocess.TimeoutExpired:
            return _run(inv, "failed", ran=argvs, error=f"timed out after {timeout:g}s")
        except FileNotFoundError:
            raise LabError(_(
                "{value} not found: install the OVS/OVN Debian packages").format(
                value=argv[0])) from None
        out_text += proc.stdout.decode(errors="replace")
        err_text += proc.stderr.decode(errors="replace")
        code = proc.returncode
        if code != 0:
            break
    return _run(
        inv,
        "ok" if code == 0 else "failed",
        ran=argvs,
        exit_code=code,
        error=err_text.strip(),
        output=out_text.strip()[-4000:],
    )


def _run(
    inv: Invocation,
    status: Status,
    *,
    ran: Sequence[Sequence[str]] = (),
    exit_code: int | None = None,
    error: str = "",
    output: str = "",
) -> CommandRun:
    return CommandRun(
        inv.location.line,
        inv.location.path,
        inv.tool,
        inv.host,
        inv.expanded,
        status,
        tuple(tuple(a) for a in ran),
        exit_code,
        error,
        output,
    )


def _problem_run(p: ChangeProblem) -> CommandRun:
    return CommandRun(
        p.location.line,
        p.location.path,
        "",
        None,
        p.command,
        "not-rehearsed",
        error=f"{p.kind}: {p.message}",
    )


def _secs(t: float) -> int:
    return max(1, int(t + 0.999))
