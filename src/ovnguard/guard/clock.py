"""The guard's clocks: a seam, so the deadline can be tested against a clock that jumps.

The deadline must neither fire early nor never when someone (NTP, an operator, a VM
resumed from a snapshot) sets the wall clock. It is kept on CLOCK_BOOTTIME: monotonic,
counting time suspended, and the same for every process of this boot, so a watcher started
again for an orphaned guard (see run.py) keeps the very same deadline. `boot_id` tells
whether a stored reading is of this boot (after a reboot it is not: the deadline counts as
passed). Wall-clock times are kept too, for people (`timeline`, messages).
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path

from ovnguard.record import record

BOOT_ID = Path("/proc/sys/kernel/random/boot_id")


@record
class Clock:
    def wall(self) -> float:
        return time.time()

    def boot(self) -> float:
        return time.clock_gettime(time.CLOCK_BOOTTIME)

    def boot_id(self) -> str:
        try:
            return BOOT_ID.read_text().strip()
        except OSError:  # not Linux: one id per process start is the safe side
            return _FALLBACK


_FALLBACK = str(uuid.uuid4())
SYSTEM = Clock()


def seconds_left(deadline_boot: float, boot_id: str, clock: Clock = SYSTEM) -> float:
    """Seconds until a boottime deadline; 0 or less once passed, and after a reboot."""
    if boot_id != clock.boot_id():
        return 0.0
    return deadline_boot - clock.boot()
