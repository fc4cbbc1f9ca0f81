"""realize(snapshot, since=earlier): only hosts whose inputs changed are computed again, and
the result equals a computation from scratch (chains of evidence included)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from helpers.sim_snapshots import THREE_HOSTS, Cluster, three_chassis, vif
from ovnguard.model.snapshot import Snapshot
from ovnguard.simulation import realize
from ovnguard.simulation.realize import realization_steps

pytestmark = pytest.mark.realdb

HOSTS = THREE_HOSTS


def make(tmp: Path) -> Cluster:
    return three_chassis(tmp)


def start(c: Cluster) -> Snapshot:
    c.nbctl("ls-add pub", "lsp-add pub provnet-1 -- lsp-set-type provnet-1 localnet -- "
            "lsp-set-addresses provnet-1 unknown -- lsp-set-options provnet-1 "
            "network_name=physnet1", "ls-add priv1", "ls-add priv2",
            "lsp-add priv1 vm1", "lsp-add priv2 vm2", "lsp-add pub vm3")
    for h, port in (("compute1", "vm1"), ("compute2", "vm2"), ("compute3", "vm3")):
        c.vsctl(h, vif(f"tap-{port}", port))
    return c.snapshot()


def nb_edit(c: Cluster, s0: Snapshot, *cmds: str) -> Snapshot:
    """What a change engine produces: the bundle's NB edited, SB and hosts as they were."""
    c.nbctl(*cmds)
    return replace(s0, nb=replace(c.snapshot().nb, source=s0.nb.source))


def carried(r0: object, r1: object) -> set[str]:
    return {h for h in HOSTS
            if r1.hosts[h] is r0.hosts[h]}  # type: ignore[attr-defined]


def test_only_touched_hosts_recompute_and_results_equal(tmp_path: Path) -> None:
    with make(tmp_path) as c:
        s0 = start(c)
        r0 = realize(s0)
        # A second localnet on the provider switch: only compute3 (vm3) has it local.
        s1 = nb_edit(c, s0, "lsp-add pub ln-2 -- lsp-set-type ln-2 localnet -- "
                            "lsp-set-options ln-2 network_name=physnet1")
        r1 = realize(s1, since=r0)
        assert r1 == realize(s1)
        assert carried(r0, r1) == {"compute1", "compute2"}
        assert any(p.lport == "ln-2" for p in r1.hosts["compute3"].patch_ports)
        # A router joining priv1 and pub (a plain patch link): compute1 now reaches pub.
        s2 = nb_edit(c, s1, "lr-add r1", "lrp-add r1 r1-priv1 00:00:00:00:01:01 10.1.0.1/24",
                     "lsp-add priv1 priv1-r1 -- lsp-set-type priv1-r1 router -- "
                     "lsp-set-options priv1-r1 router-port=r1-priv1",
                     "lrp-add r1 r1-pub 00:00:00:00:01:02 172.24.4.1/24",
                     "lsp-add pub pub-r1 -- lsp-set-type pub-r1 router -- "
                     "lsp-set-options pub-r1 router-port=r1-pub")
        r2 = realize(s2, since=r1)
        assert r2 == realize(s2)
        assert carried(r1, r2) == {"compute2"}
        assert "pub" in r2.hosts["compute1"].local_datapaths
        # A gateway chassis: a chassisredirect port any chassis may claim -> all recompute.
        s3 = nb_edit(c, s2, "lrp-set-gateway-chassis r1-pub ch2 10")
        r3 = realize(s3, since=r2)
        assert r3 == realize(s3)
        assert carried(r2, r3) == set()
        # The same through realization_steps, with and without the realizations given.
        assert (realization_steps([s0, s1, s2, s3])
                == realization_steps([s0, s1, s2, s3], [realize(s) for s in (s0, s1, s2, s3)]))
