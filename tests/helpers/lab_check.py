"""Hold simulation predictions against real ovn-controller in an `ovnguard.lab` lab.

A step: snapshot the lab (`export_bundle` + the bundle reader), run the change for real, wait
until every chassis caught up and its patch ports stopped moving, then compare the real
patch-port difference with `realization_steps()` over the snapshots a change engine would
produce -- NB after each transaction, SB as it was, and each host's Open_vSwitch DB with
only the operator's own ovs-vsctl commands replayed (real ovs-vsctl on a copy of the
exported conf.db): never the state ovn-controller itself wrote.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from itertools import pairwise
from pathlib import Path

from helpers.real_db import RealDb
from ovnguard.errors import LabError
from ovnguard.lab import Lab
from ovnguard.lab.export import export_bundle
from ovnguard.model.db import Database
from ovnguard.model.snapshot import Snapshot
from ovnguard.simulation import realize
from ovnguard.simulation.realize import realization_steps
from ovnguard.simulation.types import EventKind, HostDelta
from ovnguard.sources.bundle import load_bundle, read_conf_db
from ovnguard.sources.ovsdb_file import read_database

Port = tuple[str, str, str]  # (host, bridge, port)


def patch_ports(lab: Lab) -> set[Port]:
    out = set()
    for h in lab.topology.host_names():
        for br, ports in lab.chassis_ports(h).items():
            out |= {(h, br, p) for p in ports if p.startswith("patch-")}
    return out


def settle(lab: Lab, quiet: float = 0.6, limit: float = 8.0) -> set[Port]:
    """Wait for --wait=hv, then until the patch ports did not move for `quiet` seconds (an
    ovn-controller reacts to its own patch-port changes one iteration later)."""
    lab.wait_hv(timeout=20)
    last = patch_ports(lab)
    since = time.monotonic()
    deadline = since + limit
    while time.monotonic() < deadline and time.monotonic() - since < quiet:
        time.sleep(0.05)
        cur = patch_ports(lab)
        if cur != last:
            last, since = cur, time.monotonic()
    return last


@dataclass
class Outcome:
    real_added: set[Port]
    real_removed: set[Port]
    pred_added: set[Port]
    pred_removed: set[Port]
    pred_stale: set[Port]
    real_unwanted: set[Port]  # present after, but not wanted by a full recompute
    deltas: dict[str, HostDelta]
    refused: list[str] = field(default_factory=list)  # real tool errors (refusals_ok)

    def assert_matches(self, stale: bool = True) -> None:
        assert (self.pred_added, self.pred_removed) == (self.real_added, self.real_removed)
        if stale:
            assert self.pred_stale == self.real_unwanted


class LabCheck:
    def __init__(self, lab: Lab, work: Path) -> None:
        self.lab = lab
        self.work = work
        self.n = 0

    def _dir(self, what: str) -> Path:
        self.n += 1
        d = self.work / f"{what}{self.n}"
        d.mkdir(parents=True)
        return d

    def snapshot(self) -> Snapshot:
        d = self._dir("bundle")
        export_bundle(self.lab, d / "b")
        return load_bundle(d / "b")

    def _nb(self) -> Database:
        d = self._dir("nb")
        with (d / "nb.db").open("wb") as f:
            subprocess.run(["ovsdb-client", "backup", self.lab.nb_remote, "OVN_Northbound"],
                           stdout=f, check=True, timeout=30)
        # Every table and column, as load_bundle reads a bundle: the states compared must be
        # read alike, or columns one of them dropped look changed.
        return read_database(d / "nb.db")

    def _replay(self, snap: Snapshot, host: str, cmds: list[list[str]]) -> Database:
        ovs = snap.hosts[host].ovs
        assert ovs is not None
        d = self._dir("ovs")
        shutil.copy(ovs.source, d / "conf.db")
        with RealDb(d / "conf.db", "vswitch") as db:
            for c in cmds:
                db.run(c)
            db.backup(d / "after.db")
        return read_conf_db(d / "after.db")  # read as load_bundle reads the state before

    def step(self, nb: list[list[str]] | None = None,
             ovs: dict[str, list[list[str]]] | None = None, *,
             refusals_ok: bool = False,
             resolve: Callable[[list[str]], list[str]] | None = None) -> Outcome:
        """Each NB command is its own transaction (as separate ovn-nbctl runs are); OVS
        commands are applied after them. With `refusals_ok`, a command the real tool
        refuses changes nothing and the step goes on (random changes); `resolve` rewrites a
        command just before it runs (e.g. a row name into the uuid it has by then)."""
        settle(self.lab)
        s0 = self.snapshot()
        p0 = patch_ports(self.lab)
        snaps = [s0]
        refused: list[str] = []
        for cmd in nb or []:
            # --wait=hv: every chassis sees each transaction's state. Without it a busy
            # ovn-controller may coalesce quick runs and never see the transient state (the
            # prediction says such ports *may* be left stale).
            try:
                self.lab.nbctl("--wait=hv", *(resolve(cmd) if resolve else cmd))
            except LabError as e:
                if not refusals_ok:
                    raise
                refused.append(str(e))
                continue
            # As a change engine's output: the bundle's NB, edited (the same source file).
            snaps.append(replace(snaps[-1], nb=replace(self._nb(), source=s0.nb.source)))
        if len(snaps) == 1:
            snaps.append(s0)  # nothing changed: the prediction must say so too
        if ovs:
            hosts = dict(snaps[-1].hosts)
            for h, cmds in ovs.items():
                for c in cmds:
                    self.lab.vsctl(h, *c)
                hosts[h] = replace(hosts[h], ovs=self._replay(s0, h, cmds))
            snaps.append(replace(snaps[-1], hosts=hosts))
        p1 = settle(self.lab)
        deltas = realization_steps(snaps)
        # The incremental path (each state from the one before, recomputing only hosts
        # whose inputs changed) predicts exactly what computing every state afresh does,
        # chains of evidence included.
        assert deltas == realization_steps(snaps, [realize(s) for s in snaps])
        for s_prev, s_next in pairwise(snaps):
            assert realize(s_next, since=realize(s_prev)) == realize(s_next)
        real = realize(self.snapshot())
        wanted = {(h, p.bridge, p.port) for h, hr in real.hosts.items() for p in hr.patch_ports}
        # A host whose ovn-controller transaction fails keeps what it had.
        stuck = {h for h, hr in real.hosts.items()
                 if any(e.kind is EventKind.ovs_transaction_fails for e in hr.events)}
        missing = {p for p in wanted - p1 if p[0] not in stuck}
        assert not missing, f"wanted but missing: {sorted(missing)}"

        def flat(attr: str) -> set[Port]:
            return {(h, p.bridge, p.port) for h, d in deltas.items() for p in getattr(d, attr)}

        return Outcome(p1 - p0, p0 - p1, flat("added"), flat("removed"), flat("stale"),
                       p1 - wanted, deltas, refused)

    def log(self, host: str) -> str:
        return (self.lab.host_dir(host) / "ovn-controller.log").read_text()
