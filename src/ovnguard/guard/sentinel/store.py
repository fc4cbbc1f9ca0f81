"""A sentinel's state directory: STATE_DIR/sentinels/<id>/{sentinel.json,sentinel.log};
finding, reading and stopping sentinels."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ovnguard.guard import state as st

MAX_EVENTS = 500
STATE_FILE = "sentinel.json"
LOG_FILE = "sentinel.log"
SUBDIR = "sentinels"
# The keys ovn-controller puts on the patch ports it creates (ovn controller/patch.c).
OWNER_KEYS = ("ovn-localnet-port", "ovn-l2gateway-port", "ovn-l3gateway-port",
              "ovn-logical-patch-port")

# Statuses of a sentinel.
STARTING = "starting"
WATCHING = "watching"
EXPIRED = "expired"  # reached its deadline (the normal end)
STOPPED = "stopped"  # SIGTERM (`ovnguard guard sentinel-stop`)
FAILED = "failed"  # could not start, or an internal error (it never deletes on an error)
DONE = frozenset({EXPIRED, STOPPED, FAILED})


def sentinels_root(state_dir: Path | None) -> Path:
    return st.validate_state_dir(state_dir or st.default_state_dir()) / SUBDIR


def read_state(path: Path) -> dict[str, Any]:
    doc: dict[str, Any] = st.read_json(Path(path) / STATE_FILE)
    return doc


def alive(path: Path, doc: Mapping[str, Any] | None = None) -> bool:
    d = doc if doc is not None else read_state(path)
    return st.pid_alive(d.get("pid"), str(Path(path).absolute()))


def list_sentinels(root: Path) -> list[Path]:
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if (p / STATE_FILE).exists())


def find_sentinel(root: Path, sentinel_id: str | None) -> list[Path]:
    """The sentinel named, or every one that still runs."""
    if sentinel_id is not None:
        p = root / sentinel_id
        if not (p / STATE_FILE).exists():
            raise st.GuardError(f"no sentinel {sentinel_id!r} in {root}", 2)
        return [p]
    out = []
    for p in list_sentinels(root):
        with contextlib.suppress(st.GuardError):
            if alive(p):
                out.append(p)
    return out


def stop_sentinel(path: Path, timeout: float = 5.0) -> bool:
    """SIGTERM a running sentinel (recognised by its pid *and* its directory on its
    command line), SIGKILL if it lingers. True if one was running."""
    try:
        doc = read_state(path)
    except st.GuardError:
        return False
    pid = int(doc.get("pid") or 0)
    if not alive(path, doc):
        return False
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if not alive(path, doc):
            return True
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    return True


def stop_all(root: Path) -> list[Path]:
    """Stop every sentinel under `root` that still runs (tests, failed applies)."""
    return [p for p in list_sentinels(root) if stop_sentinel(p)]


def summary(path: Path) -> str:
    """One line on a sentinel's state, for `guard status` and `guard sentinel-status`."""
    try:
        doc = read_state(path)
    except st.GuardError as e:
        return f"unreadable: {e}"
    status = doc.get("status")
    running = alive(path, doc)
    dels = doc.get("deletions", [])
    n = int(doc.get("deletion_count", len(dels)))
    what = (f"deleted the watched ports {n} time(s), first at {st.fmt_time(dels[0])}, last at "
            f"{st.fmt_time(dels[-1])}" if dels else "deleted nothing")
    state = status if running or status in DONE else f"{status}, not running"
    ports = doc.get("watching") or doc.get("watch", [])
    return (f"{doc.get('host')}: {state}; {what}; ports {', '.join(ports)}; until "
            f"{st.fmt_time(doc.get('until'))}")
