"""unmapped-physnet, mapping-missing-bridge, malformed-bridge-mappings."""

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
    sb,
    snapshot,
)
from ovnguard.findings.context import RuleContext
from ovnguard.findings.finding import Finding, Severity
from ovnguard.findings.registry import get_rule
from ovnguard.findings.rules.mappings import closest
from ovnguard.model.snapshot import HostState
from ovnguard.textdist import levenshtein as edit_distance

pytestmark = pytest.mark.realdb


def _run(rule: str, c: RuleContext) -> list[Finding]:
    return get_rule(rule).check(c)


def test_edit_distance() -> None:
    assert edit_distance("phynet2", "physnet2") == 1
    assert edit_distance("", "abc") == 3 and edit_distance("kitten", "sitting") == 3
    assert closest("phynet2", {"physnet1", "physnet2"}) == "physnet2"
    assert closest("datacentre", {"physnet2"}) is None


def test_unmapped_physnet_positive_the_seed_typo(tmp_path: Path) -> None:
    snap = snapshot(nb(tmp_path, NEUTRON_PUB + add_localnet("ln-phynet2", "phynet2")), [
        host(tmp_path, "compute1", incident_ovs("compute1")),
        host(tmp_path, "compute2", incident_ovs("compute2")),
    ])
    real = realization(
        realized("compute1", [("provnet-1", "physnet2", "br-ex")],
                 {"neutron-pub": "VIF vm1 is bound here"}),
        realized("compute2"),
    )
    (f,) = _run("unmapped-physnet", ctx(snap, real))
    assert f.severity == Severity.medium
    assert f.key == "neutron-pub/ln-phynet2"
    assert "did you mean physnet2?" in f.summary
    assert "nothing is realized anywhere" in f.summary
    assert f.hosts == ("compute1",)  # where the switch is local: who would have realized it
    assert "network_name=physnet2" in f.remediation
    assert any("bridge not found for localnet port 'ln-phynet2'" in e.fact for e in f.evidence)
    assert any(e.source.endswith("compute2/conf.db") for e in f.evidence)


def test_unmapped_physnet_uses_sb_chassis_for_uncollected_hosts(tmp_path: Path) -> None:
    # No conf.db in the bundle; SB Chassis other_config (ovn-controller's copy) maps phynet2.
    sbdb = sb(tmp_path, [
        "chassis-add compute9 geneve 10.10.0.99",
        "set chassis compute9 other_config:ovn-bridge-mappings=phynet2:br-ex",
    ])
    # compute9 is a host with nothing collected, as the bundle reader makes every chassis
    # without a hosts/ directory.
    snap = snapshot(nb(tmp_path, NEUTRON_PUB + add_localnet("ln-phynet2", "phynet2")),
                    [host(tmp_path, "proxmox", None), HostState("compute9")], sbdb)
    # ln-phynet2 is mapped there; it is provnet-1 (physnet2) that now matches nothing.
    (f,) = _run("unmapped-physnet", ctx(snap))
    assert f.key == "neutron-pub/provnet-1" and "did you mean phynet2?" in f.summary
    assert any(e.table == "Chassis" and e.row == "compute9" for e in f.evidence)


def test_unmapped_physnet_negative(tmp_path: Path) -> None:
    snap = snapshot(nb(tmp_path, NEUTRON_PUB + add_localnet("ln-physnet2", "physnet2")),
                    [host(tmp_path, "compute1", incident_ovs("compute1"))])
    assert _run("unmapped-physnet", ctx(snap)) == []
    # Nothing collected about mappings at all: say nothing rather than guess.
    snap2 = snapshot(nb(tmp_path, NEUTRON_PUB, "nb2.db"), [host(tmp_path, "proxmox", None)])
    assert _run("unmapped-physnet", ctx(snap2)) == []


def test_mapping_missing_bridge_positive(tmp_path: Path) -> None:
    snap = snapshot(nb(tmp_path, NEUTRON_PUB),
                    [host(tmp_path, "compute2", incident_ovs("compute2", "physnet2:br-pub"))])
    (f,) = _run("mapping-missing-bridge", ctx(snap))
    assert (f.key, f.hosts, f.severity) == ("compute2:physnet2", ("compute2",), Severity.medium)
    assert "br-pub, which does not exist" in f.summary
    assert "provnet-1 are not realized here" in f.summary
    assert "add-br br-pub" in f.remediation


def test_mapping_missing_bridge_negative(tmp_path: Path) -> None:
    snap = snapshot(nb(tmp_path, NEUTRON_PUB),
                    [host(tmp_path, "compute2", incident_ovs("compute2", "physnet2:br-ex"))])
    assert _run("mapping-missing-bridge", ctx(snap)) == []


@pytest.mark.parametrize(
    ("mappings", "expect"),
    [
        ("physnet1:br-ex,physnet3,physnet2:br-ex", ["entry 'physnet3' is malformed",
                                                    "ignored: physnet2"]),
        ("physnet1:br-ex,,physnet2:br-ex", ["an empty entry", "without logging",
                                           "ignored: physnet2"]),
        ("physnet1:br-ex, physnet2:br-ex", ["' physnet2' has whitespace"]),
        ("physnet1:br-ex,physnet2:br-ex,physnet2:br-int", ["'physnet2' is mapped 2 times"]),
    ],
)
def test_malformed_bridge_mappings_positive(
    tmp_path: Path, mappings: str, expect: list[str]
) -> None:
    snap = snapshot(nb(tmp_path, NEUTRON_PUB),
                    [host(tmp_path, "compute1", incident_ovs("compute1", mappings))])
    (f,) = _run("malformed-bridge-mappings", ctx(snap))
    assert f.severity == Severity.high and f.key == "compute1"
    for text in expect:
        assert text in f.summary
    assert "ovn-bridge-mappings=physnet1:br-ex,physnet2:br-ex" in f.remediation


def test_malformed_bridge_mappings_negative(tmp_path: Path) -> None:
    snap = snapshot(nb(tmp_path, NEUTRON_PUB), [
        host(tmp_path, "compute1", incident_ovs("compute1", "physnet1:br-ex,physnet2:br-ex")),
        host(tmp_path, "compute2", incident_ovs("compute2", "physnet2:br-nope")),
    ])
    # A missing bridge is mapping-missing-bridge's business, not a parse error.
    assert _run("malformed-bridge-mappings", ctx(snap)) == []
