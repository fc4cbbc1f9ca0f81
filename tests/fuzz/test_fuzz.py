"""The CI share of the fuzz run: a few cases of every family (seconds, not minutes), same
checks as the big run (`bench/fuzz.py`, docs/security.md)."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings

from helpers.fuzz_cases import run_case, sandbox
from helpers.fuzz_families import FAMILIES

# Few cases per family in CI, deterministic; OVNGUARD_FUZZ_CASES raises it by hand.
CASES = int(os.environ.get("OVNGUARD_FUZZ_CASES", "12"))


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_family(family: str) -> None:
    strategy, runner = FAMILIES[family]

    @settings(max_examples=CASES, database=None, deadline=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(strategy())
    def case(c: dict[str, object]) -> None:
        with sandbox() as root:
            outcome = run_case(family, root, lambda: runner(c, root))
        assert not outcome.problems, (family, c, outcome.problems)

    case()
