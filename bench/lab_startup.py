"""How long a lab takes to come up, how long to stop, and how much memory it uses.

    python bench/lab_startup.py            # 3 and 50 chassis
    python bench/lab_startup.py 3 10 100   # any sizes

"up" is `Lab.up` until every chassis is registered in SB Chassis and `ovn-nbctl --wait=hv
sync` has returned (the seed topology, so compute1 also realizes its provnet patch pair).
"peak RSS" is the sum of VmHWM over every daemon of the lab, read from /proc just before
stopping it. Goals on 2 cores: 3 chassis <= 5 s, 50 chassis <= 60 s.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

from ovnguard.lab import Lab, seed_topology
from ovnguard.lab.process import vm_hwm_kib

GOALS = {3: 5.0, 50: 60.0}


def measure(n: int, base: Path) -> dict[str, float]:
    started = time.monotonic()
    lab = Lab.up(seed_topology(n), base / f"lab{n}", timeout=max(60.0, 2.0 * n))
    up = time.monotonic() - started
    try:
        registered = len(lab.registered_chassis())
        pids = lab.pids()
        hwm = sum(vm_hwm_kib(p) for p in pids.values())
        controllers = [vm_hwm_kib(p) for k, p in pids.items() if k.endswith("/ovn-controller")]
        vswitchds = [vm_hwm_kib(p) for k, p in pids.items() if k.endswith("/ovs-vswitchd")]
    finally:
        t = time.monotonic()
        lab.down(purge=True)
        down = time.monotonic() - t
    return {
        "chassis": n,
        "registered": registered,
        "daemons": len(pids),
        "up_s": up,
        "down_s": down,
        "peak_rss_mib": hwm / 1024,
        "vswitchd_mib": max(vswitchds) / 1024 if vswitchds else 0.0,
        "controller_mib": max(controllers) / 1024 if controllers else 0.0,
    }


def main(argv: list[str]) -> int:
    sizes = [int(a) for a in argv] or [3, 50]
    print(f"{os.cpu_count()} CPUs; ovnguard lab startup benchmark")
    rows = []
    with tempfile.TemporaryDirectory(prefix="ovng-bench-") as tmp:
        for n in sizes:
            rows.append(measure(n, Path(tmp)))
    head = (
        f"{'chassis':>7} {'registered':>10} {'daemons':>7} {'up (s)':>7} {'goal':>6} "
        f"{'down (s)':>8} {'peak RSS (MiB)':>14} {'max vswitchd':>12} {'max controller':>14}"
    )
    print(head)
    print("-" * len(head))
    failed = False
    for r in rows:
        goal = GOALS.get(int(r["chassis"]))
        ok = goal is None or r["up_s"] <= goal
        failed |= not ok
        goal_text = "-" if goal is None else f"<={goal:g}"
        print(
            f"{int(r['chassis']):>7} {int(r['registered']):>10} {int(r['daemons']):>7} "
            f"{r['up_s']:>7.2f} {goal_text:>6} {r['down_s']:>8.2f} {r['peak_rss_mib']:>14.1f} "
            f"{r['vswitchd_mib']:>12.1f} {r['controller_mib']:>14.1f}"
            + ("" if ok else "  <-- over goal")
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
