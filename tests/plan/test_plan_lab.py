"""Plans held against real OVN 23.03 / OVS 3.1: the replica of the seed bundle runs the plan
files for real (`rehearse`, or the lab driven step by step), and real ovn-controller must put
the patch ports where the plan check said, without a single refused transaction."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from helpers.plan_tools import PROVNET_EX, PROVNET_INT, REPO, SEED, SEED_BUNDLE, combined_text
from ovnguard.change import apply_change, parse_change, read_change
from ovnguard.lab import Lab, load_topology
from ovnguard.lab.export import export_bundle
from ovnguard.lab.rehearse import RehearsalResult, apply_for_real, rehearse
from ovnguard.lab.replica import lab_from_bundle, plan_replica, start_replica
from ovnguard.plan import (
    Plan,
    plan_fixes,
    plan_separate_nic,
    plan_text,
    rollback_text,
    settle,
)
from ovnguard.plan.compare import db_differences
from ovnguard.plan.load import load_for_plan
from ovnguard.plan.verify import verify
from ovnguard.sources.bundle import load_bundle

pytestmark = pytest.mark.lab

CLASH = ("constraint violation", "identical values", "transaction error")


def clashes(r: RehearsalResult) -> list[str]:
    return [f"{h}: {ln.message}" for h, o in r.hosts.items() for ln in o.logs
            if any(c in ln.message for c in CLASH)]


@pytest.fixture(scope="module")
def nicsep() -> Plan:
    # The control-plane lab has OVS and OVN but no host kernel state for `ip` lines: the
    # OVS half of the plan here; the address move is replayed in the data-plane lab
    # (tests/guard/test_guard_plan_dataplane.py).
    return plan_separate_nic(load_for_plan(SEED_BUNDLE), "physnet2", "br-public", "eth2",
                             move_management=False)


def test_rehearsed_plan_moves_the_pair_to_br_public(nicsep: Plan) -> None:
    r = rehearse(SEED_BUNDLE, parse_change(combined_text(nicsep), "plan"))
    assert [c.status for c in r.commands] == ["ok"] * 6, [c.error for c in r.commands]
    assert r.synced and clashes(r) == []
    assert r.verdict == "safe" and r.loops == []
    c1 = r.hosts["compute1"]
    assert PROVNET_EX in c1.ports_after["br-public"]
    assert PROVNET_EX not in c1.ports_after["br-ex"]
    assert "eth2" in c1.ports_after["br-public"] and "enp6s18" in c1.ports_after["br-ex"]
    assert PROVNET_INT in c1.ports_after["br-int"]
    for h in ("controller", "network"):  # the provider switch is not local there
        assert not [p for p in r.hosts[h].ports_after["br-public"] if p.startswith("patch-")]
    # What the plan check predicted is what real ovn-controller did, port for port.
    v = nicsep.verification
    assert v is not None
    def ports(entries: list[dict[str, str]]) -> set[tuple[str, str]]:
        return {(e["bridge"], e["port"]) for e in entries}

    for h, got in r.realization().items():
        want = v.realization[h]
        assert ports(got["added"]) == ports(want["added"]), h
        assert ports(got["removed"]) == ports(want["removed"]), h


def test_the_naive_order_in_the_lab_is_what_the_plan_check_refuses() -> None:
    naive = ("# host: compute1\n"
             "ovs-vsctl add-br br-public -- add-port br-public eth2\n"
             "ovs-vsctl set Open_vSwitch . external_ids:ovn-bridge-mappings=physnet2:br-public\n")
    r = rehearse(SEED_BUNDLE, parse_change(naive, "naive.sh"))
    assert [c.status for c in r.commands] == ["ok", "ok"]
    assert clashes(r), "real ovn-controller should have its transactions refused"
    c1 = r.hosts["compute1"]
    assert PROVNET_EX in c1.ports_after["br-ex"]
    assert PROVNET_EX not in c1.ports_after["br-public"]
    assert r.realization()["compute1"] == {"added": [], "removed": []}


def _wait(lab: Lab, host: str, ok: Callable[[dict[str, list[str]]], bool]) -> dict[str,
                                                                                   list[str]]:
    deadline = time.monotonic() + 5
    while True:
        ports = lab.chassis_ports(host)
        if ok(ports) or time.monotonic() > deadline:
            return ports
        time.sleep(0.05)


def _log_clashes(lab: Lab) -> list[str]:
    out = []
    for h in lab.host_names():
        text = lab.host_paths(h).controller_log.read_text(errors="replace")
        out += [f"{h}: {ln}" for ln in text.splitlines() if any(c in ln for c in CLASH)]
    return out


def test_plan_then_rollback_host_by_host_on_a_running_replica(nicsep: Plan,
                                                              tmp_path: Path) -> None:
    replica = plan_replica(SEED_BUNDLE)
    lab = start_replica(replica, tmp_path / "lab")
    try:
        lab.wait_hv()
        before = {h: lab.chassis_ports(h) for h in lab.host_names()}
        assert PROVNET_EX in before["compute1"]["br-ex"]
        todo = [p for p in nicsep.parts if p.steps]
        for part in todo:
            runs = apply_for_real(lab, parse_change(plan_text(nicsep, part), part.plan_file),
                                  replica, 10)
            assert [c.status for c in runs] == ["ok"] * len(part.steps), runs
            lab.wait_hv()
        after = _wait(lab, "compute1", lambda p: PROVNET_EX in p.get("br-public", []))
        assert PROVNET_EX in after["br-public"] and PROVNET_EX not in after["br-ex"]
        for part in reversed(todo):
            runs = apply_for_real(
                lab, parse_change(rollback_text(nicsep, part), part.rollback_file), replica, 10)
            assert [c.status for c in runs] == ["ok"] * len(part.steps), runs
            lab.wait_hv()
        back = _wait(lab, "compute1", lambda p: p == before["compute1"])
        assert back == before["compute1"]
        assert {h: lab.chassis_ports(h) for h in lab.host_names()} == before
        assert _log_clashes(lab) == []
    finally:
        lab.down()


def _looped_bundle(dest: Path) -> Path:
    """The seed cluster after the incident's commands, run by the real ovn-nbctl, exported."""
    change = read_change(SEED / "change-corrected.sh")
    lab = lab_from_bundle(SEED_BUNDLE, dest.parent / "loop-lab")
    try:
        for inv in change.invocations:
            assert inv.tool == "ovn-nbctl"
            lab.nbctl(*inv.argv)
        lab.wait_hv()
        export_bundle(lab, dest)
    finally:
        lab.down()
    return dest


def test_l2_loop_fix_stops_the_real_loop(tmp_path: Path) -> None:
    bundle = _looped_bundle(tmp_path / "looped")
    plan = plan_fixes(load_for_plan(bundle), ["l2-loop"])
    assert plan.status == "proven", plan.verification and plan.verification.reasons
    # The loop is real in that bundle's replica (traced with ofproto/trace) ...
    idle = rehearse(bundle, parse_change("", "nothing"))
    assert {(h, t.bridge) for h, t in idle.loops} == {("compute1", "br-ex")}
    r = rehearse(bundle, parse_change(combined_text(plan), "plan"))
    assert [c.status for c in r.commands] == ["ok"]
    c1 = r.hosts["compute1"]
    assert "patch-ln-physnet2-to-br-int" in c1.ports_before["br-ex"]
    # ... and gone after the fix: the duplicate's pair is removed, Neutron's stays.
    assert r.loops == []
    assert {"bridge": "br-ex", "port": "patch-ln-physnet2-to-br-int"} in \
        r.realization()["compute1"]["removed"]
    assert PROVNET_EX in c1.ports_after["br-ex"]
    # The rollback re-creates the port for real (and with it the pair, and the loop).
    back = rehearse(bundle, parse_change(combined_text(plan) +
                                         combined_text(plan, rollback=True), "roundtrip"))
    assert [c.status for c in back.commands] == ["ok", "ok"]
    assert back.realization()["compute1"] == {"added": [], "removed": []}
    assert verify(load_for_plan(bundle), plan).rollback.restores


def test_settle_writes_what_real_ovn_controller_writes(nicsep: Plan, tmp_path: Path) -> None:
    """`settle` (the plan check's model of ovn-controller's OVS transaction) against the
    Open_vSwitch databases real ovn-controller leaves after the plan: same rows, same
    columns (UUIDs and daemon-written columns aside)."""
    replica = plan_replica(SEED_BUNDLE)
    lab = start_replica(replica, tmp_path / "lab")
    try:
        lab.wait_hv()
        export_bundle(lab, tmp_path / "before")
        runs = apply_for_real(lab, parse_change(combined_text(nicsep), "plan"), replica, 10)
        assert all(c.status == "ok" for c in runs)
        lab.wait_hv()
        _wait(lab, "compute1", lambda p: PROVNET_EX in p.get("br-public", []))
        export_bundle(lab, tmp_path / "after")
    finally:
        lab.down()
    before, real = load_bundle(tmp_path / "before"), load_bundle(tmp_path / "after")
    applied = apply_change(before, parse_change(combined_text(nicsep), "plan")).snapshot
    predicted = settle(before, applied).snapshot
    for h, state in real.hosts.items():
        got, want = state.ovs, predicted.hosts[h].ovs
        assert got is not None and want is not None
        assert db_differences(got, want) == [], h
    # Without ovn-controller's half the comparison does see the difference.
    c1 = applied.hosts["compute1"].ovs
    assert c1 is not None and real.hosts["compute1"].ovs is not None
    assert db_differences(real.hosts["compute1"].ovs, c1) != []


def test_two_hosts_with_the_switch_local_gateway_chassis_included(tmp_path: Path) -> None:
    """seed-router: the provider switch is local on compute1 (a VM) and on network (the
    gateway chassis of a distributed gateway port); both pairs move, controller's none."""
    topo = load_topology(REPO / "examples" / "topologies" / "seed-router.yaml")
    lab = Lab.up(topo, tmp_path / "export-lab")
    try:
        export_bundle(lab, tmp_path / "bundle")
    finally:
        lab.down()
    bundle = tmp_path / "bundle"
    plan = plan_separate_nic(load_for_plan(bundle), "physnet2", "br-public", "eth2",
                             move_management=False)  # control-plane lab: OVS half only
    assert plan.status == "proven", plan.verification and plan.verification.reasons
    assert [p.name for p in plan.parts] == ["controller", "compute1", "network"]
    r = rehearse(bundle, parse_change(combined_text(plan), "plan"))
    assert all(c.status == "ok" for c in r.commands) and clashes(r) == []
    for h in ("compute1", "network"):
        assert PROVNET_EX in r.hosts[h].ports_after["br-public"], h
        assert PROVNET_EX not in r.hosts[h].ports_after["br-ex"], h
    assert r.realization()["controller"] == {"added": [], "removed": []}
