"""Benchmark: applying and assessing changes of growing size, with each executor.

    .venv/bin/python bench/change_scale.py [--sizes 500,2000,10000] [--executor both]

Prints, per size: the time to apply the change (executor only) and the whole what-if
(`assess`), plus peak RSS; and the seed what-if on the shipped seed bundle (the budget is
150 ms in process with the real-tool executor). Also a 1 MiB word and 3,000 `--`-chained
`add-br` on one host. Nothing here runs in CI; the regression tests in tests/change bound
operation counts, not times.
"""

from __future__ import annotations

import argparse
import resource
import time
from importlib.resources import files
from pathlib import Path

from ovnguard.assess import assess
from ovnguard.change import ModelExecutor, default_executor, parse_change
from ovnguard.change.executor import Executor
from ovnguard.sources.bundle import load_bundle

SEED = Path(str(files("ovnguard") / "examples" / "seed"))
SWITCH = "neutron-5f1c9d2e-8a7b-4c3d-9e0f-1a2b3c4d5e6f"


def change_text(n: int) -> str:
    """n lines as a Neutron-driven burst looks: ports with addresses on the provider net."""
    out = []
    for i in range(n):
        out.append(f"ovn-nbctl lsp-add {SWITCH} vm{i} -- lsp-set-addresses vm{i} "
                   f"'fa:16:3e:{i >> 16 & 255:02x}:{i >> 8 & 255:02x}:{i & 255:02x} "
                   f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}'")
    return "\n".join(out) + "\n"


def timed(fn: object) -> tuple[float, object]:
    t = time.perf_counter()
    r = fn()  # type: ignore[operator]
    return time.perf_counter() - t, r


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="500,2000,10000")
    ap.add_argument("--executor", choices=["both", "real-tools", "model"], default="both")
    a = ap.parse_args()
    snap = load_bundle(SEED / "bundle")
    executors: list[Executor] = []
    if a.executor in ("both", "real-tools"):
        executors.append(default_executor())
    if a.executor in ("both", "model"):
        executors.append(ModelExecutor())

    seed_change = parse_change((SEED / "change-corrected.sh").read_text(), "seed")
    for ex in executors:
        assess(snap, seed_change, ex)  # warm (imports, tool versions)
        runs = [timed(lambda ex=ex: assess(snap, seed_change, ex))[0] for _ in range(5)]
        print(f"seed what-if, {ex.name:10s}: median {sorted(runs)[2] * 1000:.0f} ms "
              f"(min {min(runs) * 1000:.0f} ms; budget 150 ms with real-tools)")

    for n in [int(x) for x in a.sizes.split(",")]:
        change = parse_change(change_text(n), f"{n}.sh")
        for ex in executors:
            t_apply, res = timed(lambda ex=ex, change=change: ex.apply(snap, change))
            t_all, _ = timed(lambda ex=ex, change=change: assess(snap, change, ex))
            bad = sum(1 for x in res.applied if x.status != "applied")  # type: ignore[attr-defined]
            print(f"{n:6d} lines, {ex.name:10s}: apply {t_apply:6.2f} s, what-if {t_all:6.2f} s, "
                  f"not applied {bad}, peak RSS {rss_mb():.0f} MB")

    word = "a" * (1 << 20)
    t, _ = timed(lambda: parse_change(f"ovn-nbctl ls-add {word}\n", "word.sh"))
    print(f"1 MiB word: parse {t:.3f} s")
    for n in (1000, 3000):
        chained = "# host: compute1\novs-vsctl " + " -- ".join(f"add-br br{i}" for i in range(n))
        ch = parse_change(chained + "\n", "chain.sh")
        for ex in executors:
            t, res = timed(lambda ex=ex, ch=ch: ex.apply(snap, ch))
            applied = res.applied  # type: ignore[attr-defined]
            what = (f"{applied[0].status}, {len(applied[0].changes)} rows" if applied else
                    res.problems[0].message[:60])  # type: ignore[attr-defined]
            print(f"{n} chained add-br, {ex.name:10s}: {t:.2f} s ({what})")


if __name__ == "__main__":
    main()
