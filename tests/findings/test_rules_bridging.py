"""mgmt-bridge-localnet, l2-loop, address-conflict: positive and negative fixtures."""

from pathlib import Path

import pytest

from helpers.rules_cluster import (
    NEUTRON_PUB,
    add_localnet,
    ctx,
    host,
    incident_ovs,
    nb,
    realization,
    realized,
    separated_ovs,
    snapshot,
)
from ovnguard.findings.context import RuleContext
from ovnguard.findings.finding import Finding, Severity
from ovnguard.findings.registry import get_rule
from ovnguard.model.snapshot import Snapshot

pytestmark = pytest.mark.realdb

VIF_LOCAL = {"neutron-pub": "VIF vm1 is bound here (external_ids:iface-id=vm1 on br-int)"}


def _run(rule: str, c: RuleContext) -> list[Finding]:
    return get_rule(rule).check(c)


# --------------------------------------------------------------------------- mgmt-bridge-localnet

def test_mgmt_bridge_localnet_positive(tmp_path: Path) -> None:
    snap = snapshot(nb(tmp_path, NEUTRON_PUB), [
        host(tmp_path, "compute1", incident_ovs("compute1")),
        host(tmp_path, "compute2", incident_ovs("compute2")),
        host(tmp_path, "proxmox", None),
    ])
    real = realization(
        realized("compute1", [("provnet-1", "physnet2", "br-ex")], VIF_LOCAL),
        realized("compute2"),  # the switch is not local there: nothing realized
    )
    (f,) = _run("mgmt-bridge-localnet", ctx(snap, real))
    assert f.severity == Severity.high
    assert f.hosts == ("compute1",)
    assert f.key == "neutron-pub/provnet-1"
    assert "10.10.0.0/24" in f.summary and "br-ex" in f.summary
    facts = [e.fact for e in f.chain]
    # lport -> local datapath -> mapping -> patch port -> bridge NIC -> address, in order
    order = [
        next(i for i, x in enumerate(facts) if x.startswith("Logical_Switch_Port provnet-1")),
        next(i for i, x in enumerate(facts) if "local datapath on compute1" in x),
        next(i for i, x in enumerate(facts) if "ovn-bridge-mappings" in x),
        next(i for i, x in enumerate(facts) if "creates patch-provnet-1-to-br-int on br-ex" in x),
        next(i for i, x in enumerate(facts) if x == "br-ex holds enp6s18"),
        next(i for i, x in enumerate(facts) if x == "10.10.0.21/24 is on br-ex"),
    ]
    assert order == sorted(order)
    srcs = {e.source for e in f.evidence}
    assert str(tmp_path / "hosts/compute1/conf.db") in srcs
    assert str(tmp_path / "nb.db") in srcs
    assert "physnet2" in f.remediation and "br-ex" in f.remediation


def test_mgmt_bridge_localnet_negative_after_nic_separation(tmp_path: Path) -> None:
    snap = snapshot(nb(tmp_path, NEUTRON_PUB),
                    [host(tmp_path, "compute3", separated_ovs("compute3"))])
    real = realization(
        realized("compute3", [("provnet-1", "physnet2", "br-public")], VIF_LOCAL))
    assert _run("mgmt-bridge-localnet", ctx(snap, real)) == []


# --------------------------------------------------------------------------- l2-loop

def _incident_cluster(
    tmp_path: Path, nb_cmds: list[str], mappings: str = "physnet2:br-ex"
) -> Snapshot:
    return snapshot(nb(tmp_path, nb_cmds), [
        host(tmp_path, "ctl1", incident_ovs("ctl1", mappings)),
        host(tmp_path, "compute1", incident_ovs("compute1", mappings)),
        host(tmp_path, "compute2", incident_ovs("compute2", mappings)),
        host(tmp_path, "compute3", separated_ovs("compute3")),
        host(tmp_path, "proxmox", None),
    ])


def test_l2_loop_positive_same_physnet(tmp_path: Path) -> None:
    snap = _incident_cluster(tmp_path, NEUTRON_PUB + add_localnet("ln-physnet2", "physnet2"))
    both = [("provnet-1", "physnet2", "br-ex"), ("ln-physnet2", "physnet2", "br-ex")]
    real = realization(
        realized("compute1", both, VIF_LOCAL),
        realized("compute2", both, VIF_LOCAL),
        realized("ctl1"),  # mapped, but the switch is not local: no patch ports
        realized("compute3"),
    )
    (f,) = _run("l2-loop", ctx(snap, real))
    assert f.severity == Severity.critical
    assert f.key == "neutron-pub:ln-physnet2+provnet-1"
    # Blast radius: the looped hosts plus everything managed in 10.10.0.0/24 -- ctl1 (not
    # looped itself), compute3 (NIC-separated, same management LAN) and the Proxmox host.
    assert f.hosts == ("compute1", "compute2", "compute3", "ctl1", "proxmox")
    assert f.loses_management == f.hosts
    assert "patch-provnet-1-to-br-int" in f.summary or "patch-ln-physnet2-to-br-int" in f.summary
    assert "enp6s18" in f.summary
    assert "lsp-del ln-physnet2" in f.remediation
    last = f.chain[-1].fact
    assert "10.10.0.0/24 is one broadcast domain" in last and "proxmox" in last


def test_l2_loop_single_looped_host_amplifies_but_only_it_loses_management(
    tmp_path: Path,
) -> None:
    snap = _incident_cluster(tmp_path, NEUTRON_PUB + add_localnet("ln-physnet2", "physnet2"))
    both = [("provnet-1", "physnet2", "br-ex"), ("ln-physnet2", "physnet2", "br-ex")]
    real = realization(realized("compute1", both, VIF_LOCAL), realized("compute2"))
    (f,) = _run("l2-loop", ctx(snap, real))
    assert f.severity == Severity.critical
    assert f.hosts == ("compute1", "compute2", "compute3", "ctl1", "proxmox")
    assert f.loses_management == ("compute1",)
    assert "one looped host sends 64 copies" in f.chain[-1].fact


def test_l2_loop_positive_two_physnets_one_bridge(tmp_path: Path) -> None:
    snap = _incident_cluster(tmp_path, NEUTRON_PUB + add_localnet("ln-physnet1", "physnet1"),
                             mappings="physnet1:br-ex,physnet2:br-ex")
    real = realization(realized("compute1", [("provnet-1", "physnet2", "br-ex"),
                                             ("ln-physnet1", "physnet1", "br-ex")], VIF_LOCAL))
    (f,) = _run("l2-loop", ctx(snap, real))
    assert f.severity == Severity.critical and "compute1" in f.loses_management


def test_l2_loop_different_vlan_tags_is_vlan_bridging(tmp_path: Path) -> None:
    cmds = NEUTRON_PUB + add_localnet("ln-vlan200", "physnet2") + [
        "set logical_switch_port provnet-1 tag_request=100",
        "set logical_switch_port ln-vlan200 tag_request=200",
    ]
    snap = _incident_cluster(tmp_path, cmds)
    real = realization(realized("compute1", [("provnet-1", "physnet2", "br-ex"),
                                             ("ln-vlan200", "physnet2", "br-ex")], VIF_LOCAL))
    (f,) = _run("l2-loop", ctx(snap, real))
    assert f.severity == Severity.high and f.loses_management == ()
    assert f.summary.startswith("VLAN bridging") and "100, 200" in f.summary


def test_l2_loop_negative(tmp_path: Path) -> None:
    snap = _incident_cluster(tmp_path, NEUTRON_PUB + add_localnet("ln-physnet1", "physnet1"))
    # One localnet per bridge: provnet-1 on br-public, ln-physnet1 on br-ex (NIC-separated).
    real = realization(realized("compute3", [("provnet-1", "physnet2", "br-public"),
                                             ("ln-physnet1", "physnet1", "br-ex")], VIF_LOCAL),
                       realized("compute1", [("provnet-1", "physnet2", "br-ex")], VIF_LOCAL))
    assert _run("l2-loop", ctx(snap, real)) == []
    # And no realization at all: nothing to say.
    assert _run("l2-loop", ctx(snap, None)) == []


# --------------------------------------------------------------------------- address-conflict

def _router(network: str) -> list[str]:
    return [
        "lr-add router1",
        f"lrp-add router1 lrp-gw 00:00:00:00:ff:01 {network}",
        "lsp-add neutron-pub lsp-gw -- lsp-set-type lsp-gw router "
        "-- lsp-set-addresses lsp-gw router -- lsp-set-options lsp-gw router-port=lrp-gw "
        """-- set logical_switch_port lsp-gw 'external_ids:"neutron:port_name"=""'""",
    ]


def test_address_conflict_positive(tmp_path: Path) -> None:
    snap = snapshot(nb(tmp_path, NEUTRON_PUB + _router("10.10.0.21/24")), [
        host(tmp_path, "compute1", incident_ovs("compute1")),
        host(tmp_path, "compute2", incident_ovs("compute2")),
    ])
    real = realization(realized("compute2", [("provnet-1", "physnet2", "br-ex")], VIF_LOCAL))
    found = {f.key: f for f in _run("address-conflict", ctx(snap, real))}
    ip = found["neutron-pub:10.10.0.21"]
    assert ip.hosts == ("compute1",) and ip.loses_management == ("compute1",)
    assert "management address" in ip.summary
    assert any(e.table == "Logical_Router_Port" and e.row == "lrp-gw" for e in ip.evidence)
    subnet = found["neutron-pub:subnet:10.10.0.0/24"]
    assert subnet.hosts == ("compute1", "compute2")


def test_address_conflict_negative(tmp_path: Path) -> None:
    snap = snapshot(nb(tmp_path, NEUTRON_PUB + _router("203.0.113.1/24")), [
        host(tmp_path, "compute1", incident_ovs("compute1")),
    ])
    real = realization(realized("compute1", [("provnet-1", "physnet2", "br-ex")], VIF_LOCAL))
    assert _run("address-conflict", ctx(snap, real)) == []
    # The same conflicting address on a switch that is bridged nowhere: no ARP reaches the LAN.
    snap2 = snapshot(nb(tmp_path, NEUTRON_PUB + _router("10.10.0.21/24"), "nb2.db"),
                     [host(tmp_path, "compute1", incident_ovs("compute1"))])
    assert _run("address-conflict", ctx(snap2, realization(realized("compute1")))) == []
