"""The big fuzz run: generated broken and hostile input for every reader, the change parser
and the report writers, with the checks of tests/helpers/fuzz_cases.py (no traceback, exit code
0/1/2, no case over 10 s, no raw escape or script in the output, valid JSON/SARIF, no write
outside the case's temp dir). Prints the cases and the bad ones per family.

    .venv/bin/python bench/fuzz.py [--cases 10000] [--seed N] [--family NAME] [--keep DIR]

`--keep DIR` writes every bad case (its generated input, as repr) there. Exit code 0 when no
case was bad, 1 otherwise. A process memory cap (6 GiB) turns a blow-up into a MemoryError,
which counts as a bad case. See docs/security.md.
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hseed

from helpers.fuzz_cases import Outcome, run_case, sandbox
from helpers.fuzz_families import FAMILIES

# Share of the cases per family: the command-line families run the whole pipeline and are
# slower; the direct reader families are cheap and get more.
WEIGHTS = {
    "change (check CLI)": 12,
    "change parser": 10,
    "bundle (check CLI)": 14,
    "sos report (check CLI)": 6,
    "ovsdb file": 10,
    "iproute2 JSON": 8,
    "iproute2 text": 8,
    "neutron ini": 10,
    "YAML (topology, inventory, targets)": 12,
    "report writers": 10,
}


def run_family(name: str, n: int, seed: int, keep: Path | None) -> tuple[list[Outcome], float]:
    strategy, runner = FAMILIES[name]
    outcomes: list[Outcome] = []

    @hseed(seed)
    @settings(max_examples=n, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(strategy())
    def case(c: dict[str, object]) -> None:
        with sandbox() as root:
            o = run_case(name, root, lambda: runner(c, root))
        outcomes.append(o)
        if o.problems and keep is not None:
            keep.mkdir(parents=True, exist_ok=True)
            f = keep / f"{name.split()[0]}-{len(outcomes)}.txt"
            f.write_text(f"{o.problems!r}\n{c!r}\n")

    t0 = time.monotonic()
    case()
    return outcomes, time.monotonic() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cases", type=int, default=10_000, help="total, split by family weight")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--family", action="append", help="only this family (repeatable)")
    ap.add_argument("--keep", type=Path, default=None, help="write bad cases here")
    args = ap.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(1 << 32)
    cap = 6 << 30
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    names = args.family or list(WEIGHTS)
    total_w = sum(WEIGHTS[n] for n in names)
    print(f"fuzz: {args.cases} cases, seed {seed}", flush=True)
    bad_total = 0
    cases_total = 0
    rows = []
    for name in names:
        n = max(1, round(args.cases * WEIGHTS[name] / total_w))
        outcomes, secs = run_family(name, n, seed, args.keep)
        bad = [o for o in outcomes if o.problems]
        kinds = Counter(p.split(":", 1)[0] for o in bad for p in o.problems)
        slowest = max((o.seconds for o in outcomes), default=0.0)
        rows.append((name, len(outcomes), len(bad), slowest, secs, kinds))
        bad_total += len(bad)
        cases_total += len(outcomes)
        print(f"  {name:<38} {len(outcomes):>6} cases {len(bad):>4} bad  slowest "
              f"{slowest:6.2f}s  ({secs:.0f}s)" + (f"  {dict(kinds)}" if kinds else ""),
              flush=True)
        for o in bad[:3]:
            print(f"      {o.problems[0][:300]}", flush=True)
    print(f"total: {cases_total} cases, {bad_total} bad", flush=True)
    return 1 if bad_total else 0


if __name__ == "__main__":
    sys.exit(main())
