"""The detached sentinel process (`python -m ovnguard.guard.sentinel [--detach] DIR`):
arm, then a probe round every `interval` until the deadline."""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import sys
import threading
import time
import traceback
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ovnguard.errors import InputError, OvnguardError
from ovnguard.guard import state as st
from ovnguard.guard import trust
from ovnguard.guard.model import (
    SentinelEvent,
    SentinelRound,
    SentinelState,
    SentinelStatus,
    result_record,
)
from ovnguard.guard.probes import ProbeResult
from ovnguard.guard.sentinel.checks import Check, parse_check, run_check, sb_checks
from ovnguard.guard.sentinel.decide import Action, PortInfo, decide, deletable, split_watch
from ovnguard.guard.sentinel.hostdb import delete_ports, host_ovn_remote, read_ports
from ovnguard.guard.sentinel.store import (
    EXPIRED,
    FAILED,
    LOG_FILE,
    MAX_EVENTS,
    STATE_FILE,
    STOPPED,
    WATCHING,
    read_typed,
)

ACTING_POLL = 0.1  # how often the ports are read while the host has lost its SB


class _Stop(Exception):
    pass


def _on_term(signum: int, frame: object) -> None:
    raise _Stop()


@dataclass
class _Watch:
    """What the watch loop carries from one look to the next."""

    failures: int
    history: list[bool] = field(default_factory=list)
    streak: int = 0
    rounds: int = 0
    seen: frozenset[str] = frozenset()  # watched ports present at the last look
    deleted: bool = False
    db_down: bool = False
    refused: set[str] = field(default_factory=set)
    last_save: float = 0.0


class Sentinel:
    """The process itself: arm, then a probe round every `interval` until the deadline."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.s: SentinelState = read_typed(path)
        self.checks: list[Check] = []

    # --- recording (only this process writes the state file once it runs) -----------

    def save(self) -> None:
        st.write_json(self.path / STATE_FILE, self.s.to_doc())

    def log(self, message: str) -> None:
        trust.append_line(self.path / LOG_FILE,
                          f"{st.fmt_time(time.time())} [{os.getpid()}] {message}\n")

    def event(self, what: str, message: str, **extra: Any) -> float:
        t = time.time()
        if len(self.s.events) < MAX_EVENTS:
            self.s.events.append(SentinelEvent(t=round(t, 3), event=what, message=message, **extra))
        else:
            self.s.events_dropped = (self.s.events_dropped or 0) + 1
        self.log(message)
        return t

    def stamp(self, key: str, t: float) -> None:
        """The first time something happened (the events keep every time)."""
        self.s.timeline.setdefault(key, round(t, 3))

    # --- life ---------------------------------------------------------------------------

    def main(self) -> int:
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, _on_term)
        self.s.pid = os.getpid()
        self.save()
        try:
            if not self.arm():
                return 1
            self.watch()
            self.finish(EXPIRED, "deadline reached; exiting")
            return 0
        except _Stop:
            self.finish(STOPPED, "stopped by SIGTERM; exiting")
            return 0
        except Exception:
            # Never a deletion on an error: a sentinel that does not understand what it
            # sees leaves the host alone.
            self.log("internal error:\n" + traceback.format_exc())
            with contextlib.suppress(_Stop):
                self.finish(FAILED, "internal error (see sentinel.log); exiting",
                            error="internal error (see sentinel.log)")
            return 1

    def finish(self, status: SentinelStatus, message: str, error: str | None = None,
               exit_code: int | None = None) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if error is not None:
            self.s.error, self.s.exit_code = error, exit_code
        t = self.event(status, message)
        self.s.status = status
        self.s.timeline["finished"] = round(t, 3)
        self.save()

    def fail(self, error: str, code: int) -> bool:
        self.finish(FAILED, f"not armed: {error}", error=error, exit_code=code)
        return False

    def arm(self) -> bool:
        d = self.s
        db = d.db
        watch = list(d.watch)
        try:
            sb = d.sb or host_ovn_remote(db)
            existing = read_ports(db)
        except OvnguardError as e:
            return self.fail(f"cannot read {db}: {e}", 3)
        specs = list(d.probes)
        try:
            checks = [parse_check(s) for s in specs] if specs else (
                sb_checks(sb) if sb else [])
        except InputError as e:
            return self.fail(str(e), 2)
        if not checks:
            return self.fail(f"no SB remote to probe (no --sb, and {db} has no "
                             "external_ids:ovn-remote); give --sb or --probe", 2)
        d.sb = sb
        keep, skipped = split_watch(watch, existing)
        d.watching, d.skipped = keep, skipped
        for s in skipped:
            self.log(f"{s['port']}: {s['why']}")
        if not keep:
            return self.fail("nothing to watch: every watched port exists already", 1)
        results = self.round(checks)
        passing = [c for c, r in zip(checks, results, strict=True) if r.ok]
        d.dropped_probes = [{"probe": r.probe, "why": r.detail} for r in results if not r.ok]
        for r in results:
            if not r.ok:
                self.log(f"probe {r.probe}: dropped, it fails already ({r.detail})")
        if not passing:
            return self.fail("no probe passes now (this host cannot reach its SB before the "
                             "change): " + "; ".join(f"{r.probe}: {r.detail}" for r in results),
                             1)
        self.checks = passing
        d.probes = [c.spec for c in passing]
        d.status = WATCHING
        t = self.event("armed", f"armed: watching {', '.join(keep)} on {db} until "
                       f"{st.fmt_time(d.until)}; probe {', '.join(d.probes)} every "
                       f"{d.interval:g}s, delete after {d.failures} failed rounds")
        self.stamp("armed", t)
        self.save()
        return True

    def round(self, checks: Sequence[Check]) -> list[ProbeResult]:
        if len(checks) == 1:
            return [run_check(checks[0])]
        with ThreadPoolExecutor(max_workers=len(checks)) as pool:
            return list(pool.map(run_check, checks))

    def watch(self) -> None:
        """Probe rounds run in a thread, one every `interval` (a failing one takes its
        timeout); this loop reads the watched ports after each round and decides. While the
        host has lost its SB (the failing streak holds) it also looks every ACTING_POLL:
        ovn-controller, working from its stale SB copy, re-creates a deleted pair within
        milliseconds, and every moment the pair is gone is a moment the LAN path (and the
        SB session that would bring the rollback) works."""
        until = self.s.until
        failures, interval = self.s.failures, self.s.interval
        rounds: queue.SimpleQueue[tuple[float, list[ProbeResult]]] = queue.SimpleQueue()
        stop = threading.Event()

        def prober() -> None:
            while not stop.is_set():
                t = time.time()
                if t >= until:
                    return
                rounds.put((t, self.round(self.checks)))
                stop.wait(max(0.0, t + interval - time.time()))

        thread = threading.Thread(target=prober, name="probes", daemon=True)
        thread.start()
        w = _Watch(failures)
        try:
            while time.time() < until:
                acting = w.streak >= failures
                try:
                    got = [rounds.get(timeout=ACTING_POLL if acting else 0.2)]
                except queue.Empty:
                    got = []
                while not rounds.empty():
                    got.append(rounds.get_nowait())
                for start, results in got:
                    self.after_round(w, start, results)
                if (got or w.streak >= failures) and self.look(w, until) == "exit":
                    return
                if got and time.monotonic() - w.last_save > 1.0:
                    self.save()
                    w.last_save = time.monotonic()
        finally:
            stop.set()

    def after_round(self, w: _Watch, start: float, results: Sequence[ProbeResult]) -> None:
        ok = any(r.ok for r in results)
        was_failing = bool(w.history) and not w.history[-1]
        w.history = [*w.history[-2 * w.failures:], ok]  # only the tail decides
        w.streak = 0 if ok else w.streak + 1
        w.rounds += 1
        if not ok:
            detail = "; ".join(f"{r.probe}: {r.detail}" for r in results)
            if w.streak == 1 or w.streak == w.failures:
                t = self.event("probe-failed", f"SB unreachable ({w.streak}/{w.failures}): "
                               f"{detail}", streak=w.streak)
                self.stamp("first_probe_failure", t)
        elif was_failing:
            self.event("sb-reachable", "SB reachable again")
        self.s.rounds = w.rounds
        self.s.last = SentinelRound(t=round(start, 3), ok=ok,
                                    results=[result_record(r) for r in results],
                                    present=sorted(w.seen))

    def look(self, w: _Watch, until: float) -> Action:
        """Read the watched ports, note what changed, decide, act."""
        db = self.s.db
        watched = frozenset(self.s.watching)
        try:
            existing = read_ports(db, watched)
            if w.db_down:
                self.event("db-back", f"{db} answers again")
                w.db_down = False
        except OvnguardError as e:
            if not w.db_down:
                self.event("db-unreachable", f"cannot read {db}: {e}; no action while it "
                           "does not answer")
                w.db_down = True
            return "wait"
        now_seen = frozenset(existing)
        if now_seen - w.seen:
            what = "re-created" if w.deleted else "appeared"
            new = sorted(now_seen - w.seen)
            t = self.event(f"ports-{what}", f"{', '.join(new)} {what}", ports=new)
            self.stamp(f"ports_{what.replace('-', '_')}", t)
        if w.seen - now_seen:
            gone = sorted(w.seen - now_seen)
            self.event("ports-gone", f"{', '.join(gone)} gone", ports=gone)
        w.seen = now_seen
        present, refused = deletable(watched, existing)
        for r in refused:
            if r not in w.refused:
                w.refused.add(r)
                self.event("not-touched", f"{r}: not an ovn-controller patch port on a "
                           "bridge; never deleted")
        by_name = {p.name: p for p in present}
        decision = decide(w.history, by_name, w.failures, time.time(), until)
        if decision.action == "delete":
            gone_now = self.delete(db, [by_name[n] for n in decision.ports], decision.reason)
            w.deleted = True
            w.seen = w.seen - frozenset(gone_now)
            # The streak goes on: while SB stays unreachable, ports ovn-controller re-creates
            # from its stale SB copy are deleted again at the next look.
        return decision.action

    def delete(self, db: str, ports: Sequence[PortInfo], reason: str) -> list[str]:
        t0 = time.time()
        note = f"ovnguard sentinel {self.path.name}: {reason}"
        try:
            gone = delete_ports(db, ports, note)
        except OvnguardError as e:
            self.event("delete-failed", f"could not delete {', '.join(p.name for p in ports)}:"
                       f" {e}")
            return []
        t1 = time.time()
        where = ", ".join(f"{p.name} from {p.bridge}" for p in ports if p.name in gone)
        t = self.event("deleted", f"{reason}: deleted {where or 'nothing (gone already)'} "
                       f"in one transaction ({(t1 - t0) * 1000:.0f} ms)",
                       ports=[{"bridge": p.bridge, "port": p.name} for p in ports
                              if p.name in gone],
                       took=round(t1 - t0, 3))
        self.stamp("deleted", t)
        self.s.deletion_count = (self.s.deletion_count or 0) + 1
        dels = self.s.deletions if self.s.deletions is not None else []
        if len(dels) < MAX_EVENTS:
            dels.append(round(t, 3))
        self.s.deletions = dels
        self.save()
        return gone


def _daemonize() -> None:
    # Started with start_new_session=True; fork once more so we are nobody's child and can
    # never get a controlling terminal (as the guard's watcher does).
    if os.fork() > 0:
        os._exit(0)


def main(argv: list[str]) -> int:
    args = [a for a in argv if a != "--detach"]
    if len(args) != 1:
        print("usage: python -m ovnguard.guard.sentinel [--detach] SENTINEL_DIR",
              file=sys.stderr)
        return 2
    if "--detach" in argv:
        _daemonize()
    os.umask(0o077)
    path = Path(args[0]).absolute()
    try:
        # Only a sentinel directory this user made: it says which ports to delete.
        st.validate_state_dir(path.parent.parent)
        trust.check_id(path.name, "sentinel id")
        trust.check_dir(path.parent)
        trust.check_dir(path)
        sentinel = Sentinel(path)
    except (st.GuardError, trust.UntrustedState) as e:
        print(f"ovnguard sentinel: {e}; not started", file=sys.stderr)
        return 2
    return sentinel.main()
