"""Pause Python's cyclic garbage collector around bulk work that allocates millions of
containers and frees none: reading OVSDB files, realizing and judging a whole cluster.

Why: every 700 allocations the collector runs, and its older generations are traversed again
as the heap grows, so reading a 30 MB sb.db took ~5x as long with it on (docs/performance.md).
The model holds no reference cycles worth collecting; whatever the paused work leaves is
collected normally once the collector is back on.

In a one-shot process (`ovnguard check`: load, judge, print, exit) the objects a paused
stretch made are also frozen when it ends (`gc.freeze`): otherwise the first allocation after
it traverses every one of them as the young generation (a thousand hosts' conf.db files, read
one by one, cost 4 of 17 CPU-s that way at 200k ports) and again as they age. Frozen objects
are still freed by reference counting; only a reference cycle among them outlives its use,
which a process about to exit does not mind and a long-running one (the guard's daemons, a
test session) must not do -- so it is the CLI's choice (`ovnguard.oneshot`), not the default.

Elsewhere, a stretch that made a large part of the heap (loading a bundle, the first
assessment of a cluster: `SETTLE_*`) ends with one full collection. Left to itself, the
collector walks those objects as the young generation at the first allocation after the
stretch, again as they age, and then the whole heap once it has grown by a quarter (CPython's
rule for a full collection, which such a stretch meets): where that lands depends on counts.
In three runs on a model of 1,000 hosts x 50 VIFs it landed on the first what-if asked of the
model (1.3-1.5 CPU-s; the next ones took ~0.09). Collecting at the end of the stretch puts that
pass where the objects were made, and then the next full one waits for the heap to grow by a
quarter again. A what-if makes a few tens of thousands of containers and is not settled.
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from ovnguard.oneshot import is_one_shot

# A stretch is settled when it made at least this many containers (below it, what the young
# collections walk is small)...
SETTLE_MIN = 200_000
# ...and at least one for every SETTLE_SHARE memory blocks the process holds: about a quarter
# of its containers (a loaded model holds ~2 blocks per container; the count of blocks is
# O(1) to read, the count of containers is not).
SETTLE_SHARE = 8


@contextmanager
def gc_paused() -> Iterator[None]:
    if not gc.isenabled():  # nested, or the caller turned it off: leave it as it is
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        made = gc.get_count()[0]  # containers made since the last collection, net
        if is_one_shot():
            gc.freeze()
        elif made >= SETTLE_MIN and made * SETTLE_SHARE >= sys.getallocatedblocks():
            gc.collect()
        gc.enable()
