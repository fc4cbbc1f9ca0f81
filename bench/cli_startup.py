"""How long the whole `ovnguard check` process takes on the seed bundle, next to a bare
`python -c pass` of the same interpreter (goal: <= 10x).

    .venv/bin/python bench/cli_startup.py [RUNS]       (default 15)

Each command runs RUNS times; the minimum is reported (on a shared machine the minimum is
the run least disturbed by others; the median is printed beside it).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

SEED = Path(__file__).resolve().parents[1] / "src" / "ovnguard" / "examples" / "seed"
EXE = str(Path(sys.executable).with_name("ovnguard"))
GOAL = 10.0


def measure(argv: list[str], runs: int) -> tuple[float, float]:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        times.append(time.perf_counter() - t0)
    return min(times), statistics.median(times)


def main(argv: list[str]) -> int:
    runs = int(argv[0]) if argv else 15
    bundle, change = str(SEED / "bundle"), str(SEED / "change-verbatim.sh")
    rows = [
        ("python -c pass", [sys.executable, "-c", "pass"]),
        ("ovnguard --version", [EXE, "--version"]),
        ("ovnguard --help", [EXE, "--help"]),
        ("ovnguard check (seed, json)", [EXE, "check", "-b", bundle, "-c", change, "-f",
                                         "json"]),
        ("ovnguard check (seed, text)", [EXE, "check", "-b", bundle, "-c", change]),
    ]
    base = None
    print(f"{'command':30} {'min (s)':>8} {'median':>8} {'x pass':>7}")
    for name, cmd in rows:
        lo, med = measure(cmd, runs)
        base = base or lo
        print(f"{name:30} {lo:8.3f} {med:8.3f} {lo / base:6.1f}x")
    check_json, _ = measure(rows[3][1], runs)
    ratio = check_json / base
    print(f"check / pass = {ratio:.1f}x (goal <= {GOAL:.0f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
