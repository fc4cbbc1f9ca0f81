"""`ovnguard confirm`, `ovnguard rollback`, `ovnguard guard status`: talking to a guard.

Requests go through the guard's state file, under its flock: `confirm` moves an armed
guard to confirmed (the watcher sees it and exits); `rollback` leaves a request the watcher
acts on within 50 ms, or — when no watcher is alive any more (killed, machine rebooted) —
runs the rollback itself.
"""

from __future__ import annotations

import getpass
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ovnguard.guard import state as st
from ovnguard.guard import trust
from ovnguard.guard.clock import seconds_left
from ovnguard.guard.model import GuardState, RequestRecord
from ovnguard.guard.rollback import run_rollback
from ovnguard.i18n import _

Say = Callable[[str], None]
STOPPED = frozenset({st.CONFLICT, st.GAVE_UP})


def _who() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid())
    return f"ovnguard confirm (user {user}, pid {os.getpid()})"


def _wait_settled(g: st.GuardDir, timeout: float) -> GuardState:
    """Until the guard is neither preparing nor applying (confirm right after apply)."""
    deadline = time.monotonic() + timeout
    while True:
        s = g.read()
        if s.status not in (st.PREPARING, st.APPLYING) or time.monotonic() > deadline:
            return s
        time.sleep(0.05)


def confirm(root: Path, guard_id: str | None) -> GuardState:
    """Keep the change: cancel the rollback. Also accepts a guard whose rollback stopped
    (conflict, database unreachable): the operator takes the database as it is now."""
    g = st.find_guard(root, guard_id)
    _wait_settled(g, 30)

    def mark(s: GuardState) -> None:
        s.confirmed_by = _who()

    moved, s = g.transition({st.ARMED, *STOPPED}, st.CONFIRMED, mark, stamp="confirmed")
    if not moved:
        reason = s.rollback.reason if s.rollback else None
        if s.status in (st.ROLLING_BACK, st.ROLLED_BACK):
            raise st.GuardError(
                _(
                "too late: guard {id} is {status} ({reason}); nothing confirmed").format(
                id=g.id, status=s.status, reason=reason), 1)
        raise st.GuardError(_(
            "guard {id} is {status}: nothing to confirm").format(
            id=g.id, status=s.status), 1)
    st.release(g.root, s.database, s.remote, g.id)
    return s


def rollback(
    root: Path, guard_id: str | None, say: Say, *, force: bool = False, timeout: float | None
    = None,
) -> GuardState:
    """Undo the change now. Returns the final state (rolled-back, or stopped with reasons)."""
    g = st.find_guard(root, guard_id)
    s = _wait_settled(g, 30)
    if s.status == st.ROLLED_BACK:
        return s
    if s.status in st.TERMINAL:
        raise st.GuardError(_(
            "guard {id} is {status}: nothing to roll back").format(
            id=g.id, status=s.status), 1)
    budget = timeout if timeout is not None else (
        s.settings.give_up_after + 2 * s.settings.verify_timeout + 30)
    if s.status == st.ARMED and st.watcher_alive(g, s):
        def ask(d: GuardState) -> None:
            d.request = RequestRecord(rollback=round(time.time(), 3), force=force)

        moved, s = g.transition({st.ARMED}, st.ARMED, ask)
        if moved:
            assert s.watcher is not None
            say(f"asked the watcher (pid {s.watcher.pid}) to roll back")
            s = _follow(g, budget)
            if s.status not in (st.ARMED, st.ROLLING_BACK):
                return s
    if s.status == st.ROLLING_BACK and st.watcher_alive(g, s):
        s = _follow(g, budget)
        if s.status != st.ROLLING_BACK:
            return s
    # No watcher to do it (killed, rebooted, or stopped on a conflict): do it here.
    def start(d: GuardState) -> None:
        rb = d.rb()
        rb.reason = "ovnguard rollback"
        rb.by = f"ovnguard rollback (pid {os.getpid()})"
        d.request = None

    moved, s = g.transition({st.ARMED, st.ROLLING_BACK, *STOPPED}, st.ROLLING_BACK, start,
                            stamp="rollback_started")
    if not moved:
        return s
    log_file = g.file("watcher.log")

    def log(msg: str) -> None:
        say(msg)
        trust.append_line(log_file,
                          f"{st.fmt_time(time.time())} [rollback {os.getpid()}] {msg}\n")

    return run_rollback(g, log=log, force=force)


def _follow(g: st.GuardDir, timeout: float) -> GuardState:
    """Wait while the watcher works on it (it stays alive until it is done)."""
    deadline = time.monotonic() + timeout
    while True:
        s = g.read()
        if s.status not in (st.ARMED, st.ROLLING_BACK):
            return s
        if not st.watcher_alive(g, s) or time.monotonic() > deadline:
            return s
        time.sleep(0.05)


# --- status -------------------------------------------------------------------------------


def durations(doc: dict[str, Any]) -> dict[str, float]:
    """The timeline as durations (seconds), for people and for the tests."""
    tl = doc.get("timeline", {})
    out: dict[str, float] = {}

    def span(name: str, a: str, b: str) -> None:
        if a in tl and b in tl:
            out[name] = round(tl[b] - tl[a], 3)

    span("apply", "apply_started", "applied")
    span("applied_to_restored", "applied", "restored")
    span("probe_failure_to_restored", "first_probe_failure", "restored")
    span("rollback_start_to_restored", "rollback_started", "restored")
    span("restored_to_verified", "restored", "verified")
    span("applied_to_confirmed", "applied", "confirmed")
    return out


def status_doc(g: st.GuardDir) -> dict[str, Any]:
    """guard.json as `guard status --format json` shows it: plus `watcher_alive`,
    `seconds_left`, `durations` and `outcome`."""
    state = g.read()
    doc = state.to_doc()
    alive = st.watcher_alive(g, state)
    doc["watcher_alive"] = alive
    doc["state_dir"] = str(g.path)
    deadline = doc.get("timeline", {}).get("deadline")
    c = doc.get("clock")
    if doc.get("status") == st.ARMED and c:
        doc["seconds_left"] = round(seconds_left(c["deadline"], c["boot_id"]), 3)
    elif doc.get("status") == st.ARMED and deadline:
        doc["seconds_left"] = round(deadline - time.time(), 3)
    doc["durations"] = durations(doc)
    doc["outcome"] = outcome(doc, alive)
    return doc


def outcome(doc: dict[str, Any], alive: bool) -> str:
    """Where the database stands, in one line: the change kept, exactly the backup, or
    still open (and whether a watcher is on it)."""
    status = doc.get("status")
    rb = doc.get("rollback") or {}
    if status == st.CONFIRMED:
        return "kept: the change is confirmed"
    if status == st.ROLLED_BACK:
        v = rb.get("verification") or {}
        host = v.get("host")
        if host is not None and not host.get("ok"):
            return ("undone, but the host's addresses/routes/links differ from the backup: "
                    "see rollback.verification.host")
        if v.get("rows_ok") and host is not None:
            return ("undone: every OVS item the change touched is as in the backup, and `ip -j "
                    "addr`/`ip -j route` print what they printed before (verified)")
        if v.get("rows_ok"):
            return "undone: every item the change touched is as in the backup (verified)"
        return "undone, but the verification did not pass: see rollback.verification"
    if status in (st.REFUSED, st.UNCHANGED, st.FAILED):
        return "nothing applied: " + (doc.get("error") or "the database is as before")
    if status in (st.CONFLICT, st.GAVE_UP):
        return (f"stopped ({status}): the change is still in place; `ovnguard rollback "
                "[--force]` or `ovnguard confirm`")
    if not alive and status != st.PREPARING:
        return (f"ORPHANED ({status}): no watcher runs; `ovnguard guard recover` takes it "
                "over")
    return f"open ({status}): the watcher is on it"


def status(root: Path, guard_id: str | None, show_all: bool) -> list[dict[str, Any]]:
    guards = st.list_guards(root)
    if guard_id is not None:
        return [status_doc(st.find_guard(root, guard_id, active_only=False))]
    docs = []
    for g in guards:
        try:
            d = status_doc(g)
        except st.GuardError:
            continue
        if show_all or d.get("status") in st.ACTIVE:
            docs.append(d)
    if not docs and guards and not show_all:
        try:
            docs = [status_doc(guards[-1])]  # nothing active: the last one
        except st.GuardError:
            docs = []
    return docs
