"""A sentinel's state directory: STATE_DIR/sentinels/<id>/{sentinel.json,sentinel.log};
finding, reading and stopping sentinels."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from ovnguard.guard import state as st
from ovnguard.guard import trust
from ovnguard.guard.model import SentinelState
from ovnguard.i18n import _

MAX_EVENTS = 500
STATE_FILE = "sentinel.json"
LOG_FILE = "sentinel.log"
SUBDIR = "sentinels"

# Statuses of a sentinel.
STARTING: Final = "starting"
WATCHING: Final = "watching"
EXPIRED: Final = "expired"  # reached its deadline (the normal end)
STOPPED: Final = "stopped"  # SIGTERM (`ovnguard guard sentinel-stop`)
FAILED: Final = "failed"  # could not start, or an internal error (it never deletes on an error)
DONE = frozenset({EXPIRED, STOPPED, FAILED})


def sentinels_root(state_dir: Path | None) -> Path:
    return st.validate_state_dir(state_dir or st.default_state_dir()) / SUBDIR


def read_state(path: Path) -> dict[str, Any]:
    """sentinel.json, validated (SentinelState: ids, port names, probe specs), as the plain
    document; only from a directory and file of this user (trust.py)."""
    return st.read_model(Path(path) / STATE_FILE, SentinelState)[1]


def read_typed(path: Path) -> SentinelState:
    return st.read_model(Path(path) / STATE_FILE, SentinelState)[0]


def alive(path: Path, doc: SentinelState | Mapping[str, Any] | None = None) -> bool:
    """Its process runs (recognised by its pid and its directory on its command line)."""
    d = doc if doc is not None else read_typed(path)
    pid = d.pid if isinstance(d, SentinelState) else d.get("pid")
    return st.pid_alive(pid, str(Path(path).absolute()))


def list_sentinels(root: Path) -> list[Path]:
    if not os.path.lexists(root):
        return []
    st.ensure_dir(root)
    return sorted(p for p in root.iterdir()
                  if trust.valid_id(p.name) and not p.is_symlink() and p.is_dir()
                  and (p / STATE_FILE).exists())


def find_sentinel(root: Path, sentinel_id: str | None) -> list[Path]:
    """The sentinel named, or every one that still runs."""
    if sentinel_id is not None:
        try:
            trust.check_id(sentinel_id, "sentinel id")
        except trust.UntrustedState as e:
            raise st.GuardError(str(e), 2) from None
        if os.path.lexists(root):
            st.ensure_dir(root)
        p = root / sentinel_id
        if not (p / STATE_FILE).exists():
            raise st.GuardError(_(
                "no sentinel {sentinel_id} in {root}").format(
                sentinel_id=repr(sentinel_id), root=root), 2)
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
        doc = read_typed(path)
    except st.GuardError:
        return False
    pid = doc.pid or 0
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
        doc = read_typed(path)
    except st.GuardError as e:
        return f"unreadable: {e}"
    running = alive(path, doc)
    dels = doc.deletions or []
    n = doc.deletion_count or len(dels)
    what = (f"deleted the watched ports {n} time(s), first at {st.fmt_time(dels[0])}, last at "
            f"{st.fmt_time(dels[-1])}" if dels else "deleted nothing")
    state = doc.status if running or doc.status in DONE else f"{doc.status}, not running"
    ports = doc.watching or doc.watch
    return (f"{doc.host}: {state}; {what}; ports {', '.join(ports)}; until "
            f"{st.fmt_time(doc.until)}")
