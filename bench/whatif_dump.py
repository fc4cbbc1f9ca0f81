"""Dump every prediction of a cold assessment and of what-ifs on its loaded model, one JSON
line per fact, so two versions of the engine can be compared byte for byte (`cmp`).

    .venv/bin/python bench/whatif_dump.py BUNDLE OUT [--seed] [--time] [--digest]

What is written, for each case (the cold `assess(snapshot, change)`, then several what-ifs
`assess(snapshot, change_i, baseline=cold.baseline)` on the same loaded model): for the
realization before and after, every host's chassis, patch ports with their explanation,
bound ports with theirs, events, bridge mappings, notes, every local datapath with its full
chain of evidence; northd's events; every host's delta (added, removed, stale, why,
recompute, notes); the verdict, reasons, every finding, blast radius, chain, notes; and the
whole report as JSON. `--seed`: the bundle is the seed's, with its changes; otherwise the
changes are the ones for a `bench/check_scale.py` bundle. `--time`: print the CPU seconds
of each case's `assess` (the dump itself is not timed). `--digest`: one line per case and
host (or section) with the SHA-256 of its lines instead of the lines (a 250-host bundle's
full dump is ~2 GB, mostly chains of evidence; a digest still says which host differs).
OUT ending in .gz is written gzip-compressed. A what-if's realization before is the loaded
model's (checked to be the same object), so it is dumped once, with the cold case.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import hashlib
import signal
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import orjson

from ovnguard.assess import WhatIf, assess
from ovnguard.change.executor import default_executor
from ovnguard.change.parse import parse_change
from ovnguard.model.evidence import Evidence
from ovnguard.simulation.types import Realization
from ovnguard.sources.bundle import load_bundle

PROVIDER = "neutron-5f1c9d2e-8a7b-4c3d-9e0f-1a2b3c4d5e6f"
SCALE_COLD = (f"ovn-nbctl lsp-add {PROVIDER} ln-physnet2 -- lsp-set-type ln-physnet2 localnet"
              " -- lsp-set-options ln-physnet2 network_name=physnet2"
              " -- lsp-set-addresses ln-physnet2 unknown\n")
# what-ifs on the loaded model: the bench's own, then one of each kind of input a host
# reads (a VIF's binding, a gateway port any chassis may claim, a new and a deleted
# datapath, a router link, a host's own OVS) and a multi-line change (realization_steps)
SCALE_WHATIFS = (
    "ovn-nbctl lsp-set-options provnet-0 network_name=physnet1\n",
    "ovn-nbctl lsp-del vm-3-0\n",
    "ovn-nbctl lrp-set-gateway-chassis lrp-gw0 compute2 50\n",
    "ovn-nbctl ls-add newnet -- lsp-add newnet newvm -- lsp-set-addresses newvm unknown\n",
    "ovn-nbctl ls-del tenant7\n",
    "ovn-nbctl lrp-del lrp-t3\n",
    "ovn-nbctl lsp-set-options vm-5-1 requested-chassis=compute6\n",
    "# host: compute4\novs-vsctl set open . external_ids:ovn-bridge-mappings=physnet2:br-ex\n",
    "# host: compute1\novs-vsctl del-br br-ex\n",
    f"ovn-nbctl lsp-add {PROVIDER} ln-a -- lsp-set-type ln-a localnet"
    " -- lsp-set-options ln-a network_name=physnet2\n"
    "ovn-nbctl lsp-set-options ln-a network_name=physnet9\n"
    "ovn-nbctl lsp-del vm-0-0\n",
    "ovn-nbctl lsp-set-type provnet-0 bogus\n",
)
SEED_CHANGES = ("change-corrected.sh", "change-typo.sh", "change-verbatim.sh")


def ev(e: Iterable[Evidence]) -> list[dict[str, str]]:
    return [x.to_json() for x in e]


def dump_realization(w: Callable[..., None], tag: str, r: Realization | None) -> None:
    if r is None:
        w(tag, "none")
        return
    w(tag, "northd", [e.to_json() for e in r.northd_events], r.semantics.ovn)
    for h in sorted(r.hosts):
        hr = r.hosts[h]
        w(tag, h, "host", hr.chassis, hr.based_on, hr.integration_bridge,
          sorted(hr.bridge_mappings.items()), list(hr.notes))
        for pp in sorted(hr.patch_ports):
            w(tag, h, "patch", pp.bridge, pp.port, pp.lport, pp.network_name,
              ev(hr.why.get(pp, ())))
        for lp in sorted(hr.bound_ports):
            w(tag, h, "bound", lp, ev(hr.bound_ports[lp]))
        for e in hr.events:
            w(tag, h, "event", e.to_json(), e.kind.value)
        w(tag, h, "local-uuids", sorted(hr.local_datapath_uuids))
        for name in sorted(hr.local_datapaths):
            w(tag, h, "local", name, ev(hr.local_datapaths[name]))


def dump(w: Callable[..., None], case: str, wi: WhatIf, base: WhatIf | None = None) -> None:
    if base is None:
        dump_realization(w, f"{case} before", wi.before)
    elif wi.before is not base.before:
        raise SystemExit(f"{case}: the what-if did not reuse the loaded model's realization")
    dump_realization(w, f"{case} after", wi.after)
    for h in sorted(wi.deltas):
        d = wi.deltas[h]
        w(case, h, "delta", [p.to_json() for p in d.added], [p.to_json() for p in d.removed],
          [p.to_json() for p in d.stale],
          sorted([p.bridge, p.port, p.lport, ev(x)] for p, x in d.why.items()),
          ev(d.recompute), list(d.notes))
    a = wi.assessment
    w(case, "verdict", a.verdict, list(a.reasons), a.has_change, list(a.notes), ev(a.chain))
    for f in a.findings:
        w(case, "finding", f.to_json(), f.key, f.status, ev(f.chain), list(f.loses_management),
          list(f.hosts_added), ev(f.evidence))
    for h in sorted(a.blast_radius):
        w(case, "blast", h, repr(a.blast_radius[h]))
    w(case, "report", wi.report.model_dump(mode="json"))
    if wi.change_result is not None:
        for s in wi.change_result.applied:
            w(case, "line", s.invocation, s.status, repr(getattr(s, "error", None)))


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("bundle", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--seed", action="store_true", help="the seed bundle and its changes")
    ap.add_argument("--time", action="store_true", help="print each case's CPU seconds")
    ap.add_argument("--digest", action="store_true", help="a SHA-256 per case and host")
    ap.add_argument("--kept", action="store_true",
                    help="every case on one executor whose copies are kept between changes")
    args = ap.parse_args(argv)
    if args.seed:
        d = args.bundle.parent
        cold = (d / SEED_CHANGES[0]).read_text()
        whatifs = [(d / n).read_text() for n in SEED_CHANGES] + list(SCALE_WHATIFS)
    else:
        cold, whatifs = SCALE_COLD, list(SCALE_WHATIFS)
    snap = load_bundle(args.bundle)
    opener: Any = gzip.open if args.out.suffix == ".gz" else open
    with contextlib.ExitStack() as stack:
        f = stack.enter_context(opener(args.out, "wb"))
        group: list[Any] = [None, None, 0]  # key, hash, lines

        def flush() -> None:
            if group[0] is not None:
                f.write(orjson.dumps([*group[0], group[1].hexdigest(), group[2]]) + b"\n")
            group[:] = [None, None, 0]

        def w(*parts: Any) -> None:
            line = orjson.dumps(parts, option=orjson.OPT_SORT_KEYS) + b"\n"
            if not args.digest:
                f.write(line)
                return
            key = list(parts[:2])
            if key != group[0]:
                flush()
                group[:] = [key, hashlib.sha256(), 0]
            group[1].update(line)
            group[2] += 1

        c0 = time.process_time()
        executor = default_executor() if args.kept else None
        stack.enter_context(executor or contextlib.nullcontext())
        first = assess(snap, parse_change(cold, "cold.sh"), executor)
        if args.time:
            print(f"cold assess: {time.process_time() - c0:.3f} CPU s", flush=True)
        dump(w, "cold", first)
        for i, text in enumerate(whatifs):
            c0 = time.process_time()
            wi = assess(snap, parse_change(text, f"whatif{i}.sh"), executor,
                        baseline=first.baseline)
            if args.time:
                print(f"what-if {i}: {time.process_time() - c0:.3f} CPU s "
                      f"({text.splitlines()[-1][:60]})", flush=True)
            dump(w, f"whatif{i}", wi, first)
        flush()
    return 0


def _sigterm(_signo: int, _frame: object) -> None:
    # unwind as Ctrl-C does: the kept executor's `with` stops its servers and daemons
    raise KeyboardInterrupt


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _sigterm)
    sys.exit(main(sys.argv[1:]))
