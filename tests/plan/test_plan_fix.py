"""`plan fix`: one test per kind of fix that makes the finding go away in the what-if's end
state, and the cases where nothing is (or may be) proposed."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from helpers.plan_tools import (
    SEED_BUNDLE,
    SEED_PROVNET,
    SEED_SWITCH,
    combined_text,
    seed,
    seed_after,
)
from ovnguard.assess import assess
from ovnguard.change import apply_change, parse_change
from ovnguard.errors import InputError
from ovnguard.model.snapshot import Snapshot
from ovnguard.plan import NORTHBOUND, Plan, plan_fixes
from ovnguard.plan.compare import db_differences
from ovnguard.plan.load import load_for_plan


def rules_of(s: Snapshot) -> set[str]:
    return {f.rule for f in assess(s).assessment.findings}


def end_state(s: Snapshot, plan: Plan) -> Snapshot:
    r = apply_change(s, parse_change(combined_text(plan), "plan"))
    assert not r.problems
    return r.snapshot


def link_mac(bundle: Path, host: str, ifname: str) -> str:
    for entry in json.loads((bundle / "hosts" / host / "link.json").read_text()):
        if entry["ifname"] == ifname:
            return str(entry["address"])
    raise AssertionError(f"{ifname} not in {host}'s link.json")


def test_hwaddr_pinned_to_the_mac_in_link_json() -> None:
    s0 = seed()
    assert "bridge-hwaddr-unpinned" in rules_of(s0)
    plan = plan_fixes(s0, ["bridge-hwaddr-unpinned"])
    assert [p.name for p in plan.parts] == ["compute1", "controller", "network"]
    for part in plan.parts:
        (step,) = part.steps
        mac = link_mac(SEED_BUNDLE, part.name, "br-ex")
        assert step.commands == (("ovs-vsctl", "set", "Bridge", "br-ex",
                                  f"other_config:hwaddr={mac}"),)
        assert step.inverse == (("ovs-vsctl", "remove", "Bridge", "br-ex", "other_config",
                                 "hwaddr"),)
        assert step.fixes == ("bridge-hwaddr-unpinned", f"{part.name}:br-ex")
    v = plan.verification
    assert v is not None and plan.status == "proven", v and v.reasons
    assert sorted(f.hosts[0] for f in v.resolved) == ["compute1", "controller", "network"]
    assert "bridge-hwaddr-unpinned" not in rules_of(end_state(s0, plan))


def test_hwaddr_from_addr_json_when_link_json_is_missing(tmp_path: Path) -> None:
    bundle = tmp_path / "bundle"
    shutil.copytree(SEED_BUNDLE, bundle)
    for host in ("compute1", "controller", "network"):
        (bundle / "hosts" / host / "link.json").unlink()
    plan = plan_fixes(load_for_plan(bundle), ["bridge-hwaddr-unpinned"])
    part = plan.part("network")
    assert part is not None
    mac = link_mac(SEED_BUNDLE, "network", "br-ex")  # addr.json has the same MAC
    assert part.steps[0].commands[0][-1] == f"other_config:hwaddr={mac}"
    assert plan.status == "proven"


def test_l2_loop_deletes_the_hand_made_port_and_keeps_neutrons() -> None:
    looped = seed_after("change-corrected.sh")
    assert "l2-loop" in rules_of(looped)
    plan = plan_fixes(looped, ["l2-loop"])
    (part,) = plan.parts
    assert part.name == NORTHBOUND and part.host is None
    (step,) = part.steps
    assert step.commands == (("ovn-nbctl", "lsp-del", "ln-physnet2"),)
    assert step.console_needed  # the loop cuts compute1's management
    assert step.inverse_warning and "re-creates the L2 loop" in step.inverse_warning
    v = plan.verification
    assert v is not None and plan.status == "proven", v.reasons
    assert "l2-loop" in {f.rule for f in v.resolved}
    end = end_state(looped, plan)
    assert "l2-loop" not in rules_of(end)
    assert end.nb.find_one("Logical_Switch_Port", SEED_PROVNET) is not None
    # The inverse re-creates the deleted port with its content (new UUID, same columns).
    back = apply_change(end, parse_change(combined_text(plan, rollback=True), "rb"))
    assert not back.problems
    assert db_differences(looped.nb, back.snapshot.nb) == []
    assert v.rollback.restores


def test_typo_correction_refused_when_it_makes_a_loop_and_the_duplicate_deleted() -> None:
    typo = seed_after("change-typo.sh")
    assert "unmapped-physnet" in rules_of(typo)
    plan = plan_fixes(typo, ["unmapped-physnet"])
    (refused,) = plan.not_proposed
    assert refused.rule == "unmapped-physnet"
    assert "network_name=physnet2" in refused.summary
    assert SEED_PROVNET in refused.reason and "L2 loop" in refused.reason
    assert "l2-loop (critical)" in refused.reason  # what the what-if of it says
    # The refused correction really is the incident: check it on its own.
    corrected = parse_change("ovn-nbctl lsp-set-options ln-phynet2 network_name=physnet2\n",
                             "c")
    assert assess(typo, corrected).report.verdict == "dangerous"
    (part,) = plan.parts
    (step,) = part.steps
    assert step.commands == (("ovn-nbctl", "lsp-del", "ln-phynet2"),)
    assert plan.status == "proven"
    assert "unmapped-physnet" not in rules_of(end_state(typo, plan))


def test_typo_corrected_when_nothing_else_serves_the_physnet() -> None:
    broken = apply_change(seed(), parse_change(
        f"ovn-nbctl lsp-set-options {SEED_PROVNET} mcast_flood=false mcast_flood_reports=true "
        "network_name=phynet2\n", "typo")).snapshot
    assert "unmapped-physnet" in rules_of(broken)
    plan = plan_fixes(broken, ["unmapped-physnet"])
    assert plan.not_proposed == ()
    (step,) = plan.parts[0].steps
    assert step.commands == (("ovn-nbctl", "lsp-set-options", SEED_PROVNET,
                              "mcast_flood=false", "mcast_flood_reports=true",
                              "network_name=physnet2"),)
    assert step.inverse[0][-1] == "network_name=phynet2"
    v = plan.verification
    assert v is not None and plan.status == "proven", v.reasons
    assert "unmapped-physnet" in {f.rule for f in v.resolved}
    # Correct, not safe: the switch is bridged into the management LAN again (as before).
    assert "mgmt-bridge-localnet" in {f.rule for f in v.introduced}
    assert v.rollback.restores
    assert db_differences(seed().nb, end_state(broken, plan).nb) == []


@pytest.mark.parametrize("rule", ["l2-loop", "unmapped-physnet"])
def test_nothing_to_do(rule: str) -> None:
    plan = plan_fixes(seed(), [rule])
    assert plan.status == "nothing-to-do"
    assert plan.parts == () and plan.verification is None


def test_rules_that_are_not_one_line_fixes() -> None:
    with pytest.raises(InputError, match="plan separate-nic"):
        plan_fixes(seed(), ["mgmt-bridge-localnet"])
    with pytest.raises(InputError, match="no mechanical fix"):
        plan_fixes(seed(), ["address-conflict"])


def test_all_rules_at_once_on_the_looped_cluster() -> None:
    looped = seed_after("change-corrected.sh")
    plan = plan_fixes(looped)
    # The northbound part comes first: the loop is stopped before anything else.
    assert [p.name for p in plan.parts] == [NORTHBOUND, "compute1", "controller", "network"]
    assert plan.status == "proven"
    end = rules_of(end_state(looped, plan))
    assert not end & {"l2-loop", "bridge-hwaddr-unpinned"}
    assert any(SEED_SWITCH in k for _, k in plan.targets)
