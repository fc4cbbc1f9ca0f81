"""Helpers shared by the plan tests (not a conftest.py: tests/lab imports `conftest` by
name, see tests/helpers/lab_fixtures.py)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from ovnguard.change import apply_change, parse_change
from ovnguard.model.snapshot import Snapshot
from ovnguard.plan import Plan, plan_text, rollback_text
from ovnguard.plan.load import load_for_plan

REPO = Path(__file__).resolve().parents[2]
SEED = REPO / "src" / "ovnguard" / "examples" / "seed"
SEED_BUNDLE = SEED / "bundle"
SEED_SWITCH = "neutron-5f1c9d2e-8a7b-4c3d-9e0f-1a2b3c4d5e6f"
SEED_PROVNET = "provnet-0b7e4f1a-2c3d-4e5f-8a9b-c0d1e2f3a4b5"
PROVNET_EX = f"patch-{SEED_PROVNET}-to-br-int"  # the provider-side port of the pair
PROVNET_INT = f"patch-br-int-to-{SEED_PROVNET}"


@cache
def seed() -> Snapshot:
    return load_for_plan(SEED_BUNDLE)


def seed_after(change_file: str) -> Snapshot:
    """The seed cluster after one of the shipped change files (the incident's snippet)."""
    text = (SEED / change_file).read_text()
    result = apply_change(seed(), parse_change(text, change_file))
    assert not result.problems, result.problems
    return result.snapshot


def combined_text(plan: Plan, *, rollback: bool = False) -> str:
    """Every part's plan (or rollback) file, in the order they are applied."""
    parts = [p for p in plan.parts if p.steps]
    if rollback:
        return "".join(rollback_text(plan, p) for p in reversed(parts))
    return "".join(plan_text(plan, p) for p in parts)
