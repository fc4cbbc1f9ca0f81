"""`plan separate-nic` on the seed bundle (exported from a real lab): the steps, their order,
their inverses, and the what-if's proof of the end state."""

from __future__ import annotations

import pytest

from helpers.plan_tools import (
    PROVNET_EX,
    PROVNET_INT,
    SEED_PROVNET,
    SEED_SWITCH,
    combined_text,
    seed,
)
from ovnguard.assess import assess
from ovnguard.change import apply_change, parse_change
from ovnguard.errors import InputError
from ovnguard.model.host import HostView
from ovnguard.plan import Part, Plan, Step, plan_separate_nic, plan_text, rollback_text, settle
from ovnguard.plan.compare import db_differences, is_ovn_patch_row
from ovnguard.plan.verify import verify

MAPPINGS = "external_ids:ovn-bridge-mappings"


@pytest.fixture(scope="module")
def plan() -> Plan:
    return plan_separate_nic(seed(), "physnet2", "br-public", "eth2")


def test_every_host_mapping_physnet2_gets_steps_compute1_last(plan: Plan) -> None:
    # All three seed hosts map physnet2:br-ex; only compute1 has the provider switch local,
    # so only there does a patch port move: it comes last.
    assert [p.name for p in plan.parts] == ["controller", "network", "compute1"]
    for part in plan.parts:
        assert part.host == part.name
        # issue 13: then br-ex's MAC is pinned and the management address moves to its NIC
        assert [s.title.split()[0] for s in part.steps] == ["create", "map", "pin", "move"]
        assert not any(s.console_needed for s in part.steps)


def test_the_old_patch_port_goes_in_the_same_transaction_as_the_mapping(plan: Plan) -> None:
    compute1 = plan.part("compute1")
    assert compute1 is not None
    (move,) = compute1.steps[1].commands
    text = " ".join(move)
    assert text.startswith(f"ovs-vsctl --if-exists del-port {PROVNET_EX} -- set ")
    assert text.endswith(f"{MAPPINGS}=physnet2:br-public")
    (undo,) = compute1.steps[1].inverse
    assert " ".join(undo) == (f"ovs-vsctl --if-exists del-port {PROVNET_EX} -- set "
                              f"Open_vSwitch . {MAPPINGS}=physnet2:br-ex")
    # Where nothing is realized, nothing is deleted.
    controller = plan.part("controller")
    assert controller is not None
    assert "del-port" not in " ".join(controller.steps[1].commands[0])
    assert controller.steps[0].commands == (
        ("ovs-vsctl", "add-br", "br-public", "--", "add-port", "br-public", "eth2"),)
    assert controller.steps[0].inverse == (("ovs-vsctl", "--if-exists", "del-br", "br-public"),)


def test_end_state_has_no_dangerous_finding_and_resolves_the_seed_hazard(plan: Plan) -> None:
    v = plan.verification
    assert v is not None
    assert plan.status == "proven", v.reasons
    assert v.dangerous == ()
    # The pin writes the MAC br-ex's link shows (7a:56:...), not the one ovs-vswitchd's rule
    # would compute (its NIC's, bc:24:11:...): what the host shows is what the LAN knows, so
    # the MAC does not move and the plan introduces nothing.
    assert {f.rule for f in v.introduced} == set()
    assert v.change_verdict == "safe"
    # Every hazard of the seed that separation is for goes away: the switch bridged into
    # the management LAN on compute1, and (when the bundle routes ovn-remote over br-ex)
    # the control plane riding a provider bridge, on every host.
    before = assess(seed()).assessment.findings
    meant = {(f.rule, f.key) for f in before
             if f.rule in ("mgmt-bridge-localnet", "control-plane-via-provider-bridge")}
    assert ("mgmt-bridge-localnet", f"{SEED_SWITCH}/{SEED_PROVNET}") in meant
    assert set(plan.targets) == meant
    assert {(f.rule, f.key) for f in v.resolved} >= meant
    assert [f.hosts for f in v.resolved if f.rule == "mgmt-bridge-localnet"] == [("compute1",)]
    assert v.remaining_targets == ()
    assert all(r.ok for r in v.reach)
    assert v.rollback.restores, v.rollback.differences
    # The prediction: on compute1 the pair's provider side moves from br-ex to br-public.
    assert v.realization["compute1"]["added"] == [{"bridge": "br-public", "port": PROVNET_EX}]
    assert v.realization["compute1"]["removed"] == [{"bridge": "br-ex", "port": PROVNET_EX}]
    assert not v.realization["controller"]["added"] + v.realization["network"]["removed"]


def test_end_state_checked_independently_with_assess(plan: Plan) -> None:
    s0 = seed()
    wi = assess(s0, parse_change(combined_text(plan), "plan"))
    assert wi.report.verdict == "safe"
    assert not [f.rule for f in wi.assessment.findings if f.introduced_by_change]
    assert all(cl.outcome == "applied" for cl in wi.report.change_lines)
    end = wi.change_result.snapshot if wi.change_result else s0
    alone = assess(end).assessment
    assert not [f for f in alone.findings
                if f.severity.name == "critical" or f.loses_management]
    assert "mgmt-bridge-localnet" not in {f.rule for f in alone.findings}
    for h in ("controller", "network", "compute1"):
        v = HostView(end.hosts[h])
        assert v.mappings_raw == "physnet2:br-public"
        assert [n.name for n in v.bridges["br-public"].nics] == ["eth2"]
        # the management address left br-ex with its NIC (issue 13); br-ex's MAC is pinned
        assert [n.name for n in v.bridges["br-ex"].nics] == []
        assert v.bridges["br-ex"].hwaddr
        assert v.management is not None and v.management.ifname == "enp6s18"
        assert v.management.bridge is None


def test_plan_and_rollback_files_parse(plan: Plan) -> None:
    for part in plan.parts:
        for text, name in ((plan_text(plan, part), part.plan_file),
                           (rollback_text(plan, part), part.rollback_file)):
            change = parse_change(text, name)
            assert change.problems == ()
            assert {inv.host for inv in change.invocations} == {part.name}
            assert all(inv.tool in ("ovs-vsctl", "ip") and inv.syntax_error is None
                       for inv in change.invocations)
            # one line per step; the address move is one line of `&&`-joined commands
            assert len({inv.location.line for inv in change.invocations}) == len(part.steps)
            assert ("step 1:" in text) != ("undo step 1" in text)


def test_rollback_restores_the_ovs_databases(plan: Plan) -> None:
    s0 = seed()
    after = apply_change(s0, parse_change(combined_text(plan), "plan"))
    assert not after.problems
    back = apply_change(after.snapshot, parse_change(combined_text(plan, rollback=True), "rb"))
    assert not back.problems
    for h, state in s0.hosts.items():
        b, a = state.ovs, back.snapshot.hosts[h].ovs
        assert b is not None and a is not None
        # apply_change is only the operator's half: ovn-controller re-creates its own patch
        # port on br-ex, so those rows are left out here...
        assert db_differences(b, a, ignore_row=is_ovn_patch_row) == []
    assert db_differences(s0.nb, back.snapshot.nb) == []
    # ...and included once each host has settled the way ovn-controller leaves it.
    mid = settle(s0, after.snapshot).snapshot
    end = apply_change(mid, parse_change(combined_text(plan, rollback=True), "rb")).snapshot
    final = settle(mid, end).snapshot
    for h, state in s0.hosts.items():
        b, a = state.ovs, final.hosts[h].ovs
        assert b is not None and a is not None
        assert db_differences(b, a) == [], h
    # In between, the plan really moved the port: the comparison can see a difference.
    mid_c1 = mid.hosts["compute1"].ovs
    assert mid_c1 is not None and s0.hosts["compute1"].ovs is not None
    diffs = db_differences(s0.hosts["compute1"].ovs, mid_c1)
    assert any("br-public" in d for d in diffs)


def _hand_plan(*steps: tuple[str, str]) -> Plan:
    """A compute1-only plan from (command, inverse) texts."""
    def words(t: str) -> tuple[str, ...]:
        return tuple(t.split())
    part = Part("compute1", "compute1", tuple(
        Step(f"step {i}", "", (words(c),), (words(u),)) for i, (c, u) in enumerate(steps)))
    key = f"{SEED_SWITCH}/{SEED_PROVNET}"
    return Plan("test", "seed", {}, (part,), targets=(("mgmt-bridge-localnet", key),))


ADD = ("ovs-vsctl add-br br-public -- add-port br-public eth2",
       "ovs-vsctl --if-exists del-br br-public")
TO_PUBLIC = f"ovs-vsctl set Open_vSwitch . {MAPPINGS}=physnet2:br-public"
TO_EX = f"ovs-vsctl set Open_vSwitch . {MAPPINGS}=physnet2:br-ex"
UNMAP = "ovs-vsctl remove Open_vSwitch . external_ids ovn-bridge-mappings"


def test_the_naive_order_is_caught_by_the_rules_and_the_replay() -> None:
    """Measured on OVN 23.03 (docs/plan.md): mapping physnet2 to br-public while the old
    patch port is on br-ex moves nothing; ovsdb-server refuses ovn-controller's transactions.
    The rules judge the ports the host keeps (controller-transaction-fails, nothing
    resolved); the plan check replays what ovn-controller can do: the port stays on br-ex."""
    v = verify(seed(), _hand_plan(ADD, (TO_PUBLIC, TO_EX)))
    assert "mgmt-bridge-localnet" not in [f.rule for f in v.resolved]
    assert "controller-transaction-fails" in [f.rule for f in v.introduced]
    assert not v.proven
    for model in ("step-by-step", "at-once"):
        (r,) = [r for r in v.reach if r.model == model]
        problems = r.problems["compute1"]
        assert f"{PROVNET_EX} stays on br-ex; ovn-controller wants it on br-public" in problems
        assert any("identical values" in p and "transaction error" in p for p in problems)


def test_unmapping_first_works_only_if_ovn_controller_runs_in_between() -> None:
    v = verify(seed(), _hand_plan(ADD, (UNMAP, TO_EX), (TO_PUBLIC, UNMAP)))
    reach = {r.model: r for r in v.reach}
    assert reach["step-by-step"].ok
    assert not reach["at-once"].ok
    assert not v.proven


def test_explicit_hosts_and_bad_input() -> None:
    p = plan_separate_nic(seed(), "physnet2", "br-public", "eth2", ["compute1"], check=False)
    assert [x.name for x in p.parts] == ["compute1"]
    assert p.verification is None
    with pytest.raises(InputError, match="did you mean physnet2"):
        plan_separate_nic(seed(), "phynet2", "br-public", "eth2")
    with pytest.raises(InputError, match="no such host in the bundle: compute9"):
        plan_separate_nic(seed(), "physnet2", "br-public", "eth2", ["compute9"])
    with pytest.raises(InputError, match="--physnet 'physnet2:br-ex': not a name"):
        plan_separate_nic(seed(), "physnet2:br-ex", "br-public", "eth2")
    with pytest.raises(InputError, match="integration bridge"):
        plan_separate_nic(seed(), "physnet2", "br-int", "eth2")


def test_moving_the_management_uplink_needs_a_console_and_is_not_proven() -> None:
    p = plan_separate_nic(seed(), "physnet2", "br-public", "enp6s18", ["compute1"])
    part = p.part("compute1")
    assert part is not None
    first = part.steps[0]
    assert first.console_needed and "10.10.0.23/24" in (first.console or "")
    assert first.commands == (("ovs-vsctl", "add-br", "br-public", "--", "del-port", "br-ex",
                               "enp6s18", "--", "add-port", "br-public", "enp6s18"),)
    assert first.inverse == (("ovs-vsctl", "--if-exists", "del-br", "br-public", "--",
                              "add-port", "br-ex", "enp6s18"),)
    v = p.verification
    assert v is not None and not v.proven
    assert any("compute1 is cut off" in m for m in v.management)
    assert v.rollback.restores


def test_nothing_to_do_once_separated() -> None:
    s0 = seed()
    p = plan_separate_nic(s0, "physnet2", "br-public", "eth2", check=False)
    done = apply_change(s0, parse_change(combined_text(p), "plan")).snapshot
    again = plan_separate_nic(done, "physnet2", "br-public", "eth2")
    assert again.status == "nothing-to-do"
    assert again.verification is None
    assert any("already on br-public" in n for n in again.notes)


def test_other_mapping_entries_are_kept() -> None:
    s0 = seed()
    text = "# host: compute1\novs-vsctl add-br br-data -- set Open_vSwitch . " \
           f"'{MAPPINGS}=\"physnet1:br-data,physnet2:br-ex\"'\n"
    s1 = apply_change(s0, parse_change(text, "setup")).snapshot
    p = plan_separate_nic(s1, "physnet2", "br-public", "eth2", ["compute1"])
    part = p.part("compute1")
    assert part is not None
    mapping = next(s for s in part.steps if s.title.startswith("map"))
    last = " ".join(mapping.commands[0])
    assert last.endswith(f'{MAPPINGS}="physnet1:br-data,physnet2:br-public"')
    assert " ".join(mapping.inverse[0]).endswith(
        f'{MAPPINGS}="physnet1:br-data,physnet2:br-ex"')
    assert p.status == "proven", p.verification and p.verification.reasons
    # The br-int side keeps its name and peer; nothing in the plan touches it.
    assert PROVNET_INT not in " ".join(" ".join(w) for s in part.steps for w in s.commands)
