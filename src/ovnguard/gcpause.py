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
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

from ovnguard.oneshot import is_one_shot


@contextmanager
def gc_paused() -> Iterator[None]:
    if not gc.isenabled():  # nested, or the caller turned it off: leave it as it is
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        if is_one_shot():
            gc.freeze()
        gc.enable()
