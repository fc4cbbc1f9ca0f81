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
from ovnguard.guard.rollback import run_rollback

Say = Callable[[str], None]
STOPPED = frozenset({st.CONFLICT, st.GAVE_UP})


def _who() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid())
    return f"ovnguard confirm (user {user}, pid {os.getpid()})"


def _wait_settled(g: st.GuardDir, timeout: float) -> dict[str, Any]:
    """Until the guard is neither preparing nor applying (confirm right after apply)."""
    deadline = time.monotonic() + timeout
    while True:
        doc = g.read()
        if doc.get("status") not in (st.PREPARING, st.APPLYING) or time.monotonic() > deadline:
            return doc
        time.sleep(0.05)


def confirm(root: Path, guard_id: str | None) -> dict[str, Any]:
    """Keep the change: cancel the rollback. Also accepts a guard whose rollback stopped
    (conflict, database unreachable): the operator takes the database as it is now."""
    g = st.find_guard(root, guard_id)
    _wait_settled(g, 30)

    def mark(d: dict[str, Any]) -> None:
        d["confirmed_by"] = _who()

    moved, doc = g.transition({st.ARMED, *STOPPED}, st.CONFIRMED, mark, stamp="confirmed")
    if not moved:
        status = doc.get("status")
        reason = doc.get("rollback", {}).get("reason")
        if status in (st.ROLLING_BACK, st.ROLLED_BACK):
            raise st.GuardError(
                f"too late: guard {g.id} is {status} ({reason}); nothing confirmed", 1)
        raise st.GuardError(f"guard {g.id} is {status}: nothing to confirm", 1)
    st.release(g.root, doc["database"], doc["remote"], g.id)
    return doc


def rollback(
    root: Path, guard_id: str | None, say: Say, *, force: bool = False, timeout: float | None
    = None,
) -> dict[str, Any]:
    """Undo the change now. Returns the final state (rolled-back, or stopped with reasons)."""
    g = st.find_guard(root, guard_id)
    doc = _wait_settled(g, 30)
    status = doc.get("status")
    if status in (st.ROLLED_BACK,):
        return doc
    if status in st.TERMINAL:
        raise st.GuardError(f"guard {g.id} is {status}: nothing to roll back", 1)
    budget = timeout if timeout is not None else (
        float(doc["settings"].get("give_up_after", 600)) + 2 * float(
            doc["settings"].get("verify_timeout", 10)) + 30)
    if status == st.ARMED and st.watcher_alive(g, doc):
        def ask(d: dict[str, Any]) -> None:
            d["request"] = {"rollback": round(time.time(), 3), "force": force}

        moved, doc = g.transition({st.ARMED}, st.ARMED, ask)
        if moved:
            say(f"asked the watcher (pid {doc['watcher']['pid']}) to roll back")
            doc = _follow(g, budget)
            if doc.get("status") not in (st.ARMED, st.ROLLING_BACK):
                return doc
        status = doc.get("status")
    if status == st.ROLLING_BACK and st.watcher_alive(g, doc):
        doc = _follow(g, budget)
        if doc.get("status") != st.ROLLING_BACK:
            return doc
    # No watcher to do it (killed, rebooted, or stopped on a conflict): do it here.
    def start(d: dict[str, Any]) -> None:
        d["rollback"] = {**d.get("rollback", {}), "reason": "ovnguard rollback",
                         "by": f"ovnguard rollback (pid {os.getpid()})"}
        d.pop("request", None)

    moved, doc = g.transition({st.ARMED, st.ROLLING_BACK, *STOPPED}, st.ROLLING_BACK, start,
                              stamp="rollback_started")
    if not moved:
        return doc
    log_file = g.file("watcher.log")

    def log(msg: str) -> None:
        say(msg)
        trust.append_line(log_file,
                          f"{st.fmt_time(time.time())} [rollback {os.getpid()}] {msg}\n")

    return run_rollback(g, log=log, force=force)


def _follow(g: st.GuardDir, timeout: float) -> dict[str, Any]:
    """Wait while the watcher works on it (it stays alive until it is done)."""
    deadline = time.monotonic() + timeout
    while True:
        doc = g.read()
        status = doc.get("status")
        if status not in (st.ARMED, st.ROLLING_BACK):
            return doc
        if not st.watcher_alive(g, doc) or time.monotonic() > deadline:
            return doc
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
    doc = g.read()
    alive = st.watcher_alive(g, doc)
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
