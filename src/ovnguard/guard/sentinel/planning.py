"""`ovnguard apply --sentinel` / `--sentinel-print`: which hosts need a sentinel (from the
what-if), the commands to arm them there, or arming them from here (a lab)."""

from __future__ import annotations

import shlex
import shutil
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ovnguard.errors import InputError, OvnguardError
from ovnguard.guard import ovsdb
from ovnguard.guard import state as st
from ovnguard.guard.model import ArmedRecord, GuardState
from ovnguard.guard.sentinel.arming import (
    DEFAULT_FAILURES,
    DEFAULT_INTERVAL,
    Armed,
    arm_sentinel,
)
from ovnguard.guard.sentinel.store import stop_sentinel
from ovnguard.i18n import _
from ovnguard.record import record

if TYPE_CHECKING:
    from ovnguard.guard.arm import ApplyOptions

DEFAULT_DB = "unix:/var/run/openvswitch/db.sock"
DEFAULT_GRACE = 60.0
Say = Callable[[str], None]


@record
class SentinelPlan:
    """A sentinel the what-if calls for: `host` is predicted to get `ports`."""

    host: str
    ports: tuple[tuple[str, str], ...]  # (bridge, port), the what-if's `added`
    sb: str | None  # the host's ovn-remote, when the snapshot knows it
    seconds: float
    failures: int = DEFAULT_FAILURES
    interval: float = DEFAULT_INTERVAL

    @property
    def port_names(self) -> list[str]:
        return [p for _, p in self.ports]

    def argv(self, db: str = DEFAULT_DB, state_dir: Path | None = None) -> list[str]:
        out = ["ovnguard", "guard", "sentinel", "--db", db,
               "--watch", ",".join(self.port_names)]
        if self.sb:
            out += ["--sb", self.sb]
        out += ["--for", f"{self.seconds:g}", "--failures", str(self.failures)]
        if self.interval != DEFAULT_INTERVAL:
            out += ["--interval", f"{self.interval:g}"]
        if state_dir is not None:
            out += ["--state-dir", str(state_dir)]
        return out

    def command(self, db: str = DEFAULT_DB, state_dir: Path | None = None) -> str:
        return shlex.join(self.argv(db, state_dir))

    def to_json(self) -> dict[str, Any]:
        return {"host": self.host, "ports": [{"bridge": b, "port": p} for b, p in self.ports],
                "sb": self.sb, "seconds": self.seconds, "command": self.command()}


def plans_from(
    added: Mapping[str, Sequence[tuple[str, str]]], remotes: Mapping[str, str | None],
    seconds: float, failures: int = DEFAULT_FAILURES, interval: float = DEFAULT_INTERVAL,
) -> list[SentinelPlan]:
    """One plan per host with predicted added ports (pure)."""
    return [SentinelPlan(h, tuple(sorted(ports)), remotes.get(h), seconds, failures, interval)
            for h, ports in sorted(added.items()) if ports]


@record
class Prediction:
    added: dict[str, list[tuple[str, str]]]
    remotes: dict[str, str | None]
    notes: list[str] = field(default_factory=list)


def predict_added(o: ApplyOptions) -> Prediction:
    """The what-if `ovnguard apply` runs, for the sentinels: which hosts get which patch
    ports, and each host's ovn-remote. `o` is the apply's ApplyOptions."""
    from ovnguard.assess import assess
    from ovnguard.change import read_change
    from ovnguard.guard.arm import resolve_remote, whatif_snapshot
    from ovnguard.guard.chain import NB, target_of
    from ovnguard.model.host import HostView

    if o.change is None:
        raise InputError(_(
            "sentinels are for OVN NB changes (--change), not --host-state"))
    change = read_change(o.change, default_host=o.host)
    target = target_of(change)
    if target.database != NB:
        raise InputError(_(
            "sentinels are for OVN NB changes (ovn-controller realizes them on the chassis); "
            "this change is for one host's Open_vSwitch database"))
    remote = resolve_remote(target, o)
    tmp = Path(tempfile.mkdtemp(prefix="ovnguard-sentinel-"))
    try:
        backup = tmp / "backup.db"
        if o.bundle is None:
            try:
                ovsdb.backup(remote, target.database, backup)
            except OvnguardError as e:
                raise st.GuardError(_(
                    "cannot reach {database} at {remote}: {e}; nothing applied").format(
                    database=target.database, remote=remote, e=e), 3) from None
        snapshot = whatif_snapshot(o, target, remote, tmp, backup)
        w = assess(snapshot, change)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    notes = []
    if not any(h.ovs is not None for h in snapshot.hosts.values()):
        notes.append("the what-if knows no host's Open_vSwitch database (give --bundle): no "
                     "host is predicted to get patch ports, so no sentinel can be planned")
    added = {h: [(p.bridge, p.port) for p in d.added] for h, d in w.deltas.items() if d.added}
    remotes = {h: HostView(snapshot.hosts[h]).ovn_remote for h in added if h in snapshot.hosts}
    return Prediction(added, remotes, notes)


def arm_planned(
    plans: Sequence[SentinelPlan],
    chassis_dbs: Mapping[str, str],
    netns: Mapping[str, str],
    state_dir: Path | None,
    say: Say,
    *,
    guard: str | None = None,
) -> list[Armed]:
    """Arm every planned sentinel from here (a lab: each host's own unix socket, and its
    namespace when it has one). All or none: on a failure the ones already armed are
    stopped."""
    missing = [p.host for p in plans if p.host not in chassis_dbs]
    if missing:
        raise InputError(
            _(
            "--sentinel: no way to arm a sentinel on {names} from here: give --chassis-db "
            "HOST=REMOTE (and --sentinel-netns HOST=NS in a data-plane lab) for it, or run the "
            "commands `--sentinel-print` prints on each host before `ovnguard apply`").format(
            names=', '.join(missing)))
    armed: list[Armed] = []
    try:
        for p in plans:
            a = arm_sentinel(chassis_dbs[p.host], p.port_names, p.sb,
                             time.time() + p.seconds, netns.get(p.host), failures=p.failures,
                             interval=p.interval, state_dir=state_dir, host=p.host,
                             guard=guard)
            armed.append(a)
            say(f"sentinel on {p.host} armed (pid {a.pid}, netns {a.netns}): watching "
                f"{', '.join(a.watching)} until {st.fmt_time(a.until)}; probe "
                f"{', '.join(a.probes)}")
    except BaseException:
        for a in armed:
            stop_sentinel(a.path)
        raise
    return armed


def record_in_guard(root: Path, guard_id: str, armed: Sequence[Armed]) -> GuardState:
    """Note the sentinels in the guard's state, so `guard status` shows them."""
    g = st.GuardDir(root, guard_id)
    records = [ArmedRecord.model_validate(a.to_json()) for a in armed]
    return g.update(lambda d: setattr(d, "sentinels", records))
