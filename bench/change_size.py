"""Benchmark: the what-if of a change of 1,000 / 5,000 / 10,000 lines, side by side.

    .venv/bin/python bench/change_size.py [--sizes 1000,5000,10000] [--workloads ports,addresses]

Per workload and size: the real-tool executor alone (apply, and how many transactions it
asked of the real tools), the whole what-if (`assess`: apply, simulation, rules, verdict,
report), and the peak RSS of this process. Workloads, on the seed bundle's provider switch:
- `ports`: `ovn-nbctl lsp-add SW vmN -- lsp-set-type vmN router` -- verbs change/batch.py
  chains into one transaction per checked step;
- `addresses`: `ovn-nbctl lsp-add SW vmN -- lsp-set-addresses vmN 'MAC IP'`, a Neutron-like
  burst. Each line runs alone: chained, the real tool would miss a duplicate address. The
  tool's own check compares each new address with every port of the switch, so this one is
  quadratic in the real ovn-nbctl itself (an operator pasting the lines pays the same).

Nothing here runs in CI; tests/change/test_change_batch.py counts the real-tool runs and the
checked states instead of timing them.
"""

from __future__ import annotations

import argparse
import resource
import time
from importlib.resources import files
from pathlib import Path

from ovnguard.assess import assess
from ovnguard.change import parse_change
from ovnguard.change.apply import run_change
from ovnguard.change.executor import RealToolExecutor
from ovnguard.change.realtools import RealBackend
from ovnguard.change.tools import find_tools
from ovnguard.sources.bundle import load_bundle

SEED = Path(str(files("ovnguard") / "examples" / "seed"))
SWITCH = "neutron-5f1c9d2e-8a7b-4c3d-9e0f-1a2b3c4d5e6f"


def lines(workload: str, n: int) -> str:
    out = []
    for i in range(n):
        if workload == "ports":
            out.append(f"ovn-nbctl lsp-add {SWITCH} vm{i} -- lsp-set-type vm{i} router")
        else:
            out.append(f"ovn-nbctl lsp-add {SWITCH} vm{i} -- lsp-set-addresses vm{i} "
                       f"'fa:16:3e:{i >> 16 & 255:02x}:{i >> 8 & 255:02x}:{i & 255:02x} "
                       f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}'")
    return "\n".join(out) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1000,5000,10000")
    ap.add_argument("--workloads", default="ports,addresses")
    ap.add_argument("--no-what-if", action="store_true", help="time the executor only")
    a = ap.parse_args()
    snap = load_bundle(SEED / "bundle")
    tools = find_tools()
    print(f"{'workload':10s} {'lines':>6s} {'apply s':>8s} {'tool runs':>9s} "
          f"{'what-if s':>9s} {'peak RSS MB':>11s}")
    for workload in a.workloads.split(","):
        for n in (int(x) for x in a.sizes.split(",")):
            change = parse_change(lines(workload, n), f"{workload}-{n}.sh")
            t = time.perf_counter()
            with RealBackend(tools) as backend:
                res = run_change(snap, change, backend)
                runs = backend.runs
            t_apply = time.perf_counter() - t
            bad = sum(1 for x in res.applied if x.status != "applied")
            t_all = float("nan")
            if not a.no_what_if:
                t = time.perf_counter()
                assess(snap, change, RealToolExecutor(tools))
                t_all = time.perf_counter() - t
            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            print(f"{workload:10s} {n:6d} {t_apply:8.2f} {runs:9d} {t_all:9.2f} {rss:11.0f}"
                  + (f"  ({bad} lines not applied)" if bad else ""), flush=True)


if __name__ == "__main__":
    main()
