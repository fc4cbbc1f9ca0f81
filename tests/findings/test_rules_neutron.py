"""neutron-config-drift, neutron-out-of-band."""

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

pytestmark = pytest.mark.realdb

AGENT = "neutron/plugins/ml2/openvswitch_agent.ini"
ML2 = "neutron/plugins/ml2/ml2_conf.ini"
# What the seed note ended with: the "fix" written where nothing reads it.
AGENT_TEXT = "[DEFAULT]\n\n[ovs]\nbridge_mappings = physnet1:br-ex,physnet2:br-public\n"


def _run(rule: str, c: RuleContext) -> list[Finding]:
    return get_rule(rule).check(c)


def test_neutron_config_drift_positive_disagrees(tmp_path: Path) -> None:
    snap = snapshot(nb(tmp_path, NEUTRON_PUB), [host(
        tmp_path, "compute1", incident_ovs("compute1"),
        neutron={AGENT: AGENT_TEXT, ML2: "[ml2]\nmechanism_drivers = ovn\n"})])
    (f,) = _run("neutron-config-drift", ctx(snap))
    assert f.severity == Severity.medium and f.key == f"compute1:{AGENT}"
    assert "nothing reads under ML2/OVN" in f.summary
    assert "the effective one (physnet2:br-ex)" in f.summary
    assert "physnet2:br-public is not in effect" in f.summary
    assert "ovn-bridge-mappings=physnet2:br-ex" in f.remediation
    assert any(e.source == f"hosts/compute1/etc/{AGENT}" for e in f.evidence)


def test_neutron_config_drift_positive_agrees_still_unread(tmp_path: Path) -> None:
    snap = snapshot(nb(tmp_path, NEUTRON_PUB), [host(
        tmp_path, "compute3", separated_ovs("compute3"), neutron={AGENT: AGENT_TEXT})])
    (f,) = _run("neutron-config-drift", ctx(snap))
    assert "it matches OVS" in f.summary


def test_neutron_config_drift_negative(tmp_path: Path) -> None:
    # ML2/OVS: the agent does read it.
    ml2ovs = host(tmp_path, "compute1", incident_ovs("compute1"),
                  neutron={AGENT: AGENT_TEXT, ML2: "[ml2]\nmechanism_drivers = openvswitch\n"})
    # ML2/OVN without the agent file.
    clean = host(tmp_path, "compute2", incident_ovs("compute2"),
                 neutron={ML2: "[ml2]\nmechanism_drivers = ovn\n"})
    snap = snapshot(nb(tmp_path, NEUTRON_PUB), [ml2ovs, clean])
    assert _run("neutron-config-drift", ctx(snap)) == []


def test_neutron_out_of_band_positive(tmp_path: Path) -> None:
    snap = snapshot(nb(tmp_path, NEUTRON_PUB + add_localnet("ln-physnet2", "physnet2")),
                    [host(tmp_path, "compute1", incident_ovs("compute1"))])
    real = realization(realized("compute1", [("provnet-1", "physnet2", "br-ex")],
                                {"neutron-pub": "VIF vm1 is bound here"}))
    (f,) = _run("neutron-out-of-band", ctx(snap, real))
    assert f.key == "neutron-pub/ln-physnet2" and f.hosts == ("compute1",)
    assert "second localnet port beside Neutron's provnet-1" in f.summary
    assert "lsp-del ln-physnet2" in f.remediation


def test_neutron_out_of_band_negative(tmp_path: Path) -> None:
    # Neutron's own ports (provnet-*, neutron:port_name) and a hand-made port on a switch
    # Neutron does not own are all fine.
    cmds = [*NEUTRON_PUB, "ls-add lab-sw", *add_localnet("ln-lab", "physnet2", "lab-sw")]
    snap = snapshot(nb(tmp_path, cmds), [host(tmp_path, "compute1", incident_ovs("compute1"))])
    assert _run("neutron-out-of-band", ctx(snap)) == []


def test_out_of_band_findings_a_change_leaves_alone_are_the_state_befores(
        tmp_path: Path) -> None:
    """A what-if on a loaded model keeps the state before's neutron-out-of-band findings of
    the ports whose rows and switches' name, network and provnet- ports the change did not
    touch (the same objects: marked and rendered once), makes the others again, and reports
    what a fresh assessment reports."""
    from helpers.sim_snapshots import three_chassis
    from ovnguard.assess import assess
    from ovnguard.change.executor import default_executor
    from ovnguard.change.parse import parse_change

    with three_chassis(tmp_path) as c:
        c.nbctl("ls-add priv1", "ls-add priv2", "lsp-add priv1 vm1", "lsp-add priv2 vm3",
                "lsp-add priv2 vm2",
                "set Logical_Switch priv1 'external_ids:\"neutron:network_name\"=p1'",
                "set Logical_Switch priv2 'external_ids:\"neutron:network_name\"=p2'",
                "set Logical_Switch_Port vm2 'external_ids:\"neutron:port_name\"=vm2'")
        s0 = c.snapshot("s0")
    base = assess(s0).baseline
    assert base is not None
    old = {f.key: f for f in base.context.findings if f.rule == "neutron-out-of-band"}
    assert set(old) == {"priv1/vm1", "priv2/vm3"}
    changes = [  # (change, the findings it makes again or resolves)
        ("ovn-nbctl lsp-add priv2 vm4", set()),  # priv2 changed, not what vm3's reads
        ("ovn-nbctl lsp-del vm3", {"priv2/vm3"}),
        ("ovn-nbctl set Logical_Switch_Port vm1 'external_ids:\"neutron:port_name\"=vm1'",
         {"priv1/vm1"}),
        ("ovn-nbctl set Logical_Switch priv2 'external_ids:\"neutron:network_name\"=p9'",
         {"priv2/vm3"}),
        ("ovn-nbctl lsp-add priv2 provnet-7 -- lsp-set-type provnet-7 localnet",
         {"priv2/vm3"}),
        ("ovn-nbctl set Logical_Switch_Port vm3 type=localnet", {"priv2/vm3"}),
        ("ovn-nbctl lr-add r9", set()),
    ]
    with default_executor() as ex:
        for text, again in changes:
            change = parse_change(text + "\n", "c.sh")
            w = assess(s0, change, ex, baseline=base)
            assert w.report == assess(s0, change, ex).report, text
            kept = base.context.memo.get("pre-existing", {})
            for key, f in old.items():
                same = id(f) in kept and kept[id(f)].key == key
                assert same == (key not in again), (text, key)
            base.context.memo.pop("pre-existing", None)  # each change on its own
    got = {f.key for f in w.assessment.findings if f.rule == "neutron-out-of-band"}
    assert got == set(old)
