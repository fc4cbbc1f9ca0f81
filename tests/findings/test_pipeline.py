"""The rules on what the real simulation predicts (not a hand-built Realization): holds the
contract between `simulation.realize` and the rules -- switch names as datapath keys, `lport`
and `network_name` on every patch port, the controller's log lines as evidence."""

from pathlib import Path

import pytest

from helpers.rules_cluster import (
    NEUTRON_PUB,
    add_localnet,
    ctx,
    host,
    incident_ovs,
    nb_before_after,
)
from helpers.rules_cluster import snapshot as make_snapshot
from ovnguard.findings.verdict import evaluate
from ovnguard.model.snapshot import HostState
from ovnguard.simulation import realize

pytestmark = pytest.mark.realdb

VIF = "add-port br-int tap-vm1 -- set interface tap-vm1 external_ids:iface-id=vm1"


def _hosts(tmp: Path) -> list[HostState]:
    return [
        host(tmp, "compute1", [*incident_ovs("compute1"), VIF]),
        host(tmp, "compute2", incident_ovs("compute2")),
        host(tmp, "ctl1", incident_ovs("ctl1")),
        host(tmp, "proxmox", None),
    ]


@pytest.mark.parametrize(("physnet", "verdict", "introduced"), [
    ("phynet2", "risky", {"unmapped-physnet", "neutron-out-of-band"}),
    ("physnet2", "dangerous", {"l2-loop", "mgmt-bridge-localnet", "neutron-out-of-band"}),
])
def test_seed_change_through_the_real_simulation(
    tmp_path: Path, physnet: str, verdict: str, introduced: set[str]
) -> None:
    before_nb, after_nb = nb_before_after(tmp_path, NEUTRON_PUB,
                                          add_localnet(f"ln-{physnet}", physnet))
    hosts = _hosts(tmp_path)
    before, after = make_snapshot(before_nb, hosts), make_snapshot(after_nb, hosts)
    a = evaluate(ctx(before, realize(before)), ctx(after, realize(after)))
    assert a.verdict == verdict
    assert {f.rule for f in a.by_status("introduced")} == introduced
    if verdict == "dangerous":
        # Only compute1 has a VIF there, so only it loops; one looped host floods the LAN
        # with copies but loses management alone.
        loop = next(f for f in a.findings if f.rule == "l2-loop")
        assert loop.hosts == ("compute1", "compute2", "ctl1", "proxmox")
        assert loop.loses_management == ("compute1",)
        assert any("already set for datapath" in e.fact for e in loop.evidence)
