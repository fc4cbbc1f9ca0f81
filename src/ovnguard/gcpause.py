"""Pause Python's cyclic garbage collector around bulk work that allocates millions of
containers and frees none: reading OVSDB files, realizing and judging a whole cluster.

Why: every 700 allocations the collector runs, and its older generations are traversed again
as the heap grows, so reading a 30 MB sb.db took ~5x as long with it on (docs/performance.md).
The model holds no reference cycles worth collecting; whatever the paused work leaves is
collected normally once the collector is back on.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused() -> Iterator[None]:
    if not gc.isenabled():  # nested, or the caller turned it off: leave it as it is
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
