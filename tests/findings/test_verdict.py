"""The differential verdict on the seed incident and its variants."""

from pathlib import Path

import pytest

from helpers.rules_cluster import (
    NEUTRON_PUB,
    add_localnet,
    chassis_ids,
    ctx,
    host,
    incident_ovs,
    nb_before_after,
    realization,
    realized,
    snapshot,
)
from ovnguard.findings.finding import Finding, Severity
from ovnguard.findings.verdict import diff_findings, evaluate
from ovnguard.model.evidence import Evidence
from ovnguard.model.snapshot import HostState
from ovnguard.simulation.types import Realization

pytestmark = pytest.mark.realdb

LOCAL = {"neutron-pub": "VIF vm1 is bound here"}
GW = {"neutron-pub": "gateway chassis of lrp-gw (HA_Chassis_Group priority 20)"}
NODES = ("ctl1", "compute1", "compute2", "net1")


def _hosts(tmp: Path) -> list[HostState]:
    return [host(tmp, n, incident_ovs(n)) for n in NODES] + [host(tmp, "proxmox", None)]


def _change_lines(lport: str, physnet: str) -> list[Evidence]:
    # What the change parser hands over: one Evidence per pasted line (after expansion).
    return [
        Evidence(f"ovn-nbctl lsp-add neutron-pub {lport}", "change.txt:4",
                 "Logical_Switch_Port", lport),
        Evidence(f"ovn-nbctl lsp-set-type {lport} localnet", "change.txt:5",
                 "Logical_Switch_Port", lport),
        Evidence(f"ovn-nbctl lsp-set-options {lport} network_name={physnet}", "change.txt:6",
                 "Logical_Switch_Port", lport),
    ]


def _before_real() -> Realization:
    return realization(
        realized("net1", [("provnet-1", "physnet2", "br-ex")], GW),
        realized("compute1", [("provnet-1", "physnet2", "br-ex")], LOCAL),
        realized("compute2"), realized("ctl1"),
    )


def test_seed_change_as_written_is_risky_not_dangerous(tmp_path: Path) -> None:
    # PHYSNET="phynet2": nothing matches, so nothing is realized -- but the change does not
    # do what it says, and it puts an unowned port on Neutron's switch.
    before_nb, after_nb = nb_before_after(tmp_path, NEUTRON_PUB,
                                          add_localnet("ln-phynet2", "phynet2"))
    hosts = _hosts(tmp_path)
    a = evaluate(ctx(snapshot(before_nb, hosts), _before_real(), "before"),
                 ctx(snapshot(after_nb, hosts), _before_real(), "after"),
                 change_lines=_change_lines("ln-phynet2", "phynet2"))
    assert a.verdict == "risky"
    introduced = {(f.rule, f.key) for f in a.by_status("introduced")}
    assert introduced == {("unmapped-physnet", "neutron-pub/ln-phynet2"),
                          ("neutron-out-of-band", "neutron-pub/ln-phynet2")}
    assert all(f.introduced_by_change for f in a.by_status("introduced"))
    pre = {f.rule for f in a.by_status("pre-existing")}
    assert {"mgmt-bridge-localnet", "control-plane-via-provider-bridge"} <= pre
    assert not any(f.introduced_by_change for f in a.by_status("pre-existing"))
    assert a.hosts_losing_management == ()
    unm = next(f for f in a.findings if f.rule == "unmapped-physnet")
    assert unm.chain[0].source == "change.txt:4"
    assert any(r.startswith("unmapped-physnet (medium)") for r in a.reasons)


def test_seed_change_with_physnet2_is_dangerous_with_blast_radius(tmp_path: Path) -> None:
    before_nb, after_nb = nb_before_after(tmp_path, NEUTRON_PUB,
                                          add_localnet("ln-physnet2", "physnet2"))
    hosts = _hosts(tmp_path)
    both = [("provnet-1", "physnet2", "br-ex"), ("ln-physnet2", "physnet2", "br-ex")]
    after_real = realization(realized("net1", both, GW), realized("compute1", both, LOCAL),
                             realized("compute2"), realized("ctl1"))
    a = evaluate(ctx(snapshot(before_nb, hosts), _before_real(), "before"),
                 ctx(snapshot(after_nb, hosts), after_real, "after"),
                 change_lines=_change_lines("ln-physnet2", "physnet2"))
    assert a.verdict == "dangerous"
    loop = next(f for f in a.findings if f.rule == "l2-loop")
    assert loop.status == "introduced" and loop.severity == Severity.critical
    # Every node and the Proxmox host share 10.10.0.0/24 with the looped br-ex: all lose it,
    # including compute2 and ctl1 where nothing was realized.
    assert a.hosts_losing_management == ("compute1", "compute2", "ctl1", "net1", "proxmox")
    assert a.blast_radius["proxmox"].loses_management
    assert "l2-loop" in a.blast_radius["ctl1"].rules
    # The chain reads like the incident's flow of events: change line -> NB -> SB (northd)
    # -> ovn-controller on a host -> patch port on br-ex -> br-ex's NIC and address -> loss.
    facts = [e.fact for e in a.chain]
    assert a.chain[0].source == "change.txt:4"
    steps = [
        "ovn-nbctl lsp-add neutron-pub ln-physnet2",
        "the change adds NB Logical_Switch_Port ln-physnet2 (type=localnet, "
        "options:network_name=physnet2",
        "ovn-northd publishes ln-physnet2",
        "neutron-pub is a local datapath on compute1",
        "ovn-controller on compute1 creates patch-ln-physnet2-to-br-int on br-ex",
        "br-ex holds enp6s18",
        "10.10.0.21/24 is on br-ex",
        "10.10.0.0/24 is one broadcast domain",
    ]
    idx = [next(i for i, f in enumerate(facts) if f.startswith(s)) for s in steps]
    assert idx == sorted(idx), facts
    assert "lose management" in facts[-1]
    assert a.reasons[0].startswith("l2-loop (critical)")


def test_state_only_check_counts_present_findings(tmp_path: Path) -> None:
    before_nb, _ = nb_before_after(tmp_path, NEUTRON_PUB + add_localnet("ln-physnet2",
                                                                        "physnet2"), [])
    both = [("provnet-1", "physnet2", "br-ex"), ("ln-physnet2", "physnet2", "br-ex")]
    a = evaluate(ctx(snapshot(before_nb, _hosts(tmp_path)),
                     realization(realized("compute1", both, LOCAL))))
    assert not a.has_change and a.verdict == "dangerous"
    assert {f.status for f in a.findings} == {"present"}
    assert not any(f.introduced_by_change for f in a.findings)


def test_undoing_the_loop_resolves_it_and_is_safe(tmp_path: Path) -> None:
    before_nb, after_nb = nb_before_after(
        tmp_path, NEUTRON_PUB + add_localnet("ln-physnet2", "physnet2"), ["lsp-del ln-physnet2"])
    hosts = _hosts(tmp_path)
    both = [("provnet-1", "physnet2", "br-ex"), ("ln-physnet2", "physnet2", "br-ex")]
    a = evaluate(
        ctx(snapshot(before_nb, hosts), realization(realized("compute1", both, LOCAL))),
        ctx(snapshot(after_nb, hosts),
            realization(realized("compute1", both[:1], LOCAL))))
    assert a.verdict == "safe" and a.reasons == ()
    resolved = {f.rule for f in a.by_status("resolved")}
    assert {"l2-loop", "neutron-out-of-band"} <= resolved
    assert a.blast_radius == {}


def test_extra_findings_make_a_change_risky(tmp_path: Path) -> None:
    before_nb, after_nb = nb_before_after(tmp_path, NEUTRON_PUB, [])
    hosts = [host(tmp_path, "compute3", None, iproute="compute3")]
    rejected = Finding(rule="unsupported-command", severity=Severity.info, hosts=(),
                       summary="line 3: `ovn-nbctl lsp-add neutron-<uuid> ln-x`: no switch "
                               "named neutron-<uuid>", key="change:3")
    a = evaluate(ctx(snapshot(before_nb, hosts)), ctx(snapshot(after_nb, hosts)), [rejected])
    assert a.verdict == "risky"
    (f,) = a.by_status("introduced")
    assert f.rule == "unsupported-command" and f.introduced_by_change


def test_change_that_extends_a_hazard_to_another_host_counts(tmp_path: Path) -> None:
    before_nb, after_nb = nb_before_after(tmp_path, NEUTRON_PUB, [])
    hosts = _hosts(tmp_path)
    before = realization(realized("compute1", [("provnet-1", "physnet2", "br-ex")], LOCAL))
    after = realization(realized("compute1", [("provnet-1", "physnet2", "br-ex")], LOCAL),
                        realized("compute2", [("provnet-1", "physnet2", "br-ex")], LOCAL))
    a = evaluate(ctx(snapshot(before_nb, hosts), before), ctx(snapshot(after_nb, hosts), after))
    f = next(f for f in a.findings if f.rule == "mgmt-bridge-localnet")
    assert f.status == "introduced" and f.hosts_added == ("compute2",)
    assert "extends it to compute2" in f.summary
    assert a.verdict == "risky"


def test_ovs_change_on_a_host_is_in_the_chain(tmp_path: Path) -> None:
    # `ovs-vsctl add-port br-ex enp6s18` on compute4, whose management address is on enp6s18.
    base = ["add-br br-int", "add-br br-ex", chassis_ids("compute4", "physnet2:br-ex")]
    before_host = host(tmp_path / "b", "compute4", base)
    after_host = host(tmp_path / "a", "compute4", [*base, "add-port br-ex enp6s18"])
    nbdb, _ = nb_before_after(tmp_path, NEUTRON_PUB, [])
    line = Evidence("ovs-vsctl add-port br-ex enp6s18", "change.txt:2", "Port", "enp6s18",
                    "compute4")
    a = evaluate(ctx(snapshot(nbdb, [before_host])), ctx(snapshot(nbdb, [after_host])),
                 change_lines=[line])
    assert a.verdict == "dangerous"
    f = next(f for f in a.by_status("introduced") if f.rule == "ip-on-ovs-port")
    assert f.loses_management == ("compute4",)
    assert f.chain[0] == line
    assert any(e.fact.startswith("the change adds compute4's OVS Interface enp6s18")
               for e in f.chain)


def test_diff_findings_by_rule_and_key() -> None:
    def f(rule: str, key: str, hosts: tuple[str, ...] = ("h1",),
          sev: Severity = Severity.high) -> Finding:
        return Finding(rule=rule, severity=sev, hosts=hosts, summary=key, key=key)

    out = {(x.rule, x.key): x for x in diff_findings(
        [f("a", "1"), f("b", "1"), f("c", "1", sev=Severity.medium), f("d", "1")],
        [f("a", "1"), f("a", "2"), f("c", "1"), f("d", "1", ("h1", "h2"))],
    )}
    assert out[("a", "1")].status == "pre-existing"
    assert out[("a", "2")].status == "introduced"
    assert out[("b", "1")].status == "resolved"
    assert out[("c", "1")].status == "introduced"  # severity rose
    assert out[("d", "1")].status == "introduced" and out[("d", "1")].hosts_added == ("h2",)
