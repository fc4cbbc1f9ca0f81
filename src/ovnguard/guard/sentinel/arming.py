"""Starting a sentinel (`arm_sentinel`) and waiting until it watches or says why not."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ovnguard.errors import InputError
from ovnguard.guard import ovsdb, trust
from ovnguard.guard import state as st
from ovnguard.guard.model import SentinelState
from ovnguard.guard.sentinel.checks import deadline_from, parse_check, parse_watch, sb_checks
from ovnguard.guard.sentinel.store import (
    DONE,
    LOG_FILE,
    STARTING,
    STATE_FILE,
    WATCHING,
    alive,
    read_typed,
    sentinels_root,
    stop_sentinel,
)
from ovnguard.i18n import _
from ovnguard.record import record

DEFAULT_FAILURES = 3
DEFAULT_INTERVAL = 0.5


@record
class Armed:
    """A sentinel that watches (returned by `arm_sentinel`)."""

    id: str
    path: Path
    pid: int
    until: float
    watching: tuple[str, ...]
    skipped: tuple[dict[str, str], ...]
    probes: tuple[str, ...]
    host: str | None = None
    netns: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "host": self.host, "path": str(self.path), "pid": self.pid,
                "until": round(self.until, 3), "watching": list(self.watching),
                "netns": self.netns, "probes": list(self.probes)}


def new_sentinel_id() -> str:
    now = time.time()
    stamp = time.strftime("%Y%m%dT%H%M%S", time.localtime(now)) + f".{int(now % 1 * 1000):03d}"
    return f"{stamp}-sentinel-{secrets.token_hex(2)}"


def arm_sentinel(
    host_db: str,
    ports: Sequence[str],
    sb: str | None,
    until: float,
    netns: str | None = None,
    *,
    probes: Sequence[str] = (),
    failures: int = DEFAULT_FAILURES,
    interval: float = DEFAULT_INTERVAL,
    state_dir: Path | None = None,
    host: str | None = None,
    guard: str | None = None,
    timeout: float = 20.0,
) -> Armed:
    """Start a detached sentinel (inside `netns` when given: the data-plane lab) and wait
    until it watches. Raises InputError (bad arguments) or GuardError (exit code 1: nothing
    to watch / no probe passes; 3: database unreachable or the process did not start)."""
    watch = parse_watch(ports)
    if failures < 1:
        raise InputError(_(
            "--failures must be at least 1"))
    if not 0 < interval <= 60:
        raise InputError(_(
            "--interval must be positive and at most 60"))
    now = time.time()
    deadline_from(until, None, now)
    for s in probes:
        parse_check(s)
    if sb is not None:
        sb_checks(sb)
    db = st.normalize_remote(host_db)
    root = st.ensure_dir(sentinels_root(state_dir))
    sid = new_sentinel_id()
    path = root / sid
    path.mkdir(mode=0o700)
    state = SentinelState(
        schema_version=1, id=sid, status=STARTING, host=host or socket.gethostname(),
        guard=guard, db=db, watch=watch, sb=sb, probes=list(probes), failures=failures,
        interval=interval, until=round(until, 3), netns=netns,
        timeline={"created": round(now, 3)})
    st.write_json(path / STATE_FILE, state.to_doc())
    log = trust.open_file(path / LOG_FILE, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    prefix = ["ip", "netns", "exec", netns] if netns else []
    try:
        p = subprocess.Popen(
            [*prefix, sys.executable, "-m", "ovnguard.guard.sentinel", "--detach", str(path)],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
            close_fds=True, cwd="/", env=ovsdb.tool_env(),
        )
    except OSError as e:
        raise st.GuardError(_(
            "could not start the sentinel: {e}").format(
            e=e), 3) from None
    finally:
        os.close(log)
    try:
        rc = p.wait(timeout=30)
    except subprocess.TimeoutExpired:
        p.kill()
        raise st.GuardError(_(
            "the sentinel did not start (launcher hung)"), 3) from None
    end = time.monotonic() + timeout
    while True:
        doc = read_typed(path)
        status = doc.status
        if status == WATCHING:
            break
        if status in DONE:
            # It exits right after saying so; return only once it has.
            gone = time.monotonic() + 3
            while alive(path, doc) and time.monotonic() < gone:
                time.sleep(0.02)
            raise st.GuardError(_(
                "sentinel not armed: {error}").format(
                error=doc.error),
                                doc.exit_code if doc.exit_code is not None else 3)
        if (rc != 0 and status == STARTING) or time.monotonic() > end:
            stop_sentinel(path)
            tail = (path / LOG_FILE).read_text(errors="replace").strip().splitlines()[-3:]
            raise st.GuardError(_(
                "the sentinel did not report{value}{value2}").format(
                value=(_(" (launcher exit {rc})").format(rc=rc) if rc else
                       _(" within {timeout:g}s").format(timeout=timeout)),
                value2=': ' + ' | '.join(tail) if tail else ''), 3)
        time.sleep(0.03)
    return Armed(sid, path, doc.pid or 0, doc.until, tuple(doc.watching), tuple(doc.skipped),
                 tuple(doc.probes), doc.host, netns)
