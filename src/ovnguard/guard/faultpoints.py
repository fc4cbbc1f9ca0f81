"""Named points in the watcher's work where the fault tests stop it (kill -9 there).

`OVNGUARD_GUARD_PAUSE=after-backup:5,after-apply:5` makes a watcher sleep that many seconds
at those points (and log it), so a test can kill it at exactly that step against a real
database. Unset (always, outside the tests) it does nothing; the watchers that take over
a guard (recover.py) never inherit it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

ENV = "OVNGUARD_GUARD_PAUSE"
POINTS = ("started", "after-backup", "after-apply", "armed", "rollback-started")


def pause(point: str, log: Callable[[str], None]) -> None:
    for item in os.environ.get(ENV, "").split(","):
        name, _, secs = item.partition(":")
        if name.strip() == point:
            seconds = float(secs or 5)
            log(f"fault point {point}: pausing {seconds:g}s ({ENV})")
            time.sleep(seconds)
