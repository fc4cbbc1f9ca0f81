"""What the watcher does, step by step (see watcher.py for how it is started).

    preparing -> applying: back up the database, run the tool (one transaction), read back
              -> refused   (the tool refused: nothing changed)
              -> unchanged (the change changed nothing)
              -> armed     (edits.json, inverse.json written; deadline set)
    armed     -> confirmed    (`ovnguard confirm`, or --auto-confirm-after with healthy probes)
              -> rolling-back (deadline passed, a probe failed, `ovnguard rollback`)
                 -> rolled-back | rollback-conflict | rollback-failed (see rollback.py)
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path

from ovnguard.errors import OvnguardError
from ovnguard.guard import faultpoints, hoststate, hoststeps, ovsdb, trust
from ovnguard.guard import state as st
from ovnguard.guard.clock import SYSTEM, Clock
from ovnguard.guard.inverse import (
    Current,
    RowEdit,
    diff_rows,
    edits_to_json,
    owned_rows,
    plan_rollback,
)
from ovnguard.guard.model import (
    ApplyRecord,
    BootDeadline,
    GuardState,
    ProbingRecord,
    RollbackRecord,
    ToolRecord,
    WatcherRecord,
    result_record,
)
from ovnguard.guard.probes import Probe, ProbeContext, ProbeResult, run_probe
from ovnguard.guard.rollback import run_rollback

TICK = 0.05  # how often the watcher looks at its state file (confirm, rollback requests)
READBACK_TIMEOUT = 30.0
RESERVE_FACTOR = 3
RESERVE_EXTRA = 1 << 20


class Log:
    def __init__(self, path: Path) -> None:
        self.path = path

    def __call__(self, message: str) -> None:
        line = f"{st.fmt_time(time.time())} [{os.getpid()}] {message}\n"
        # A log line that cannot be written (disk full) never stops the watcher.
        with contextlib.suppress(OSError):
            trust.append_line(self.path, line)


class _Terminated(Exception):
    pass


def _on_term(signum: int, frame: object) -> None:
    raise _Terminated()


class Watcher:
    def __init__(self, g: st.GuardDir, clock: Clock = SYSTEM) -> None:
        self.g = g
        self.log = Log(g.file("watcher.log"))
        self.clock = clock

    @classmethod
    def at(cls, path: str | Path) -> Watcher:
        """The watcher of the guard in `path`, refused (GuardError) unless the state dir and
        the guard's directory could only have been written by this user."""
        p = Path(path).absolute()
        st.validate_state_dir(p.parent)
        try:
            trust.check_id(p.name)
            trust.check_dir(p)
        except trust.UntrustedState as e:
            raise st.GuardError(str(e), 2) from None
        return cls(st.GuardDir(p.parent, p.name))

    # --- entry ------------------------------------------------------------------------

    def main(self, mode: str = "run") -> int:
        """`run`: the first watcher (applies); `resume`: a later generation taking over an
        orphaned guard; `keeper`: the process that starts one when a watcher dies."""
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, _on_term)
        try:
            # Nothing is run from a guard.json that is not ours or not as ovnguard writes it.
            self.g.read()
            with self.g.locked():
                pass
            self.log(f"watcher (pid {os.getpid()}) for {self.g.path}")
        except (st.GuardError, OSError) as e:
            print(f"ovnguard watcher: {e}; nothing done", file=sys.stderr)
            return 2
        from ovnguard.guard import recover

        try:
            if mode == "keeper":
                return recover.keep(self)
            if mode == "resume":
                recover.resume(self)
            else:
                self.run()
        except _Terminated:
            # Stopping the watcher is not a decision about the change: the guard stays as it
            # is (its keeper does not restart it), and `ovnguard guard status` says no
            # watcher runs any more.
            with contextlib.suppress(Exception):
                recover.mark_stopped(self.g, "SIGTERM")
            self.log("terminated by SIGTERM; the guard is left as it is")
            return 1
        except Exception:
            self.log("watcher error:\n" + traceback.format_exc())
            self._fail_safe()
            return 1
        return 0

    def _fail_safe(self) -> None:
        """An unexpected error: an armed change is rolled back rather than left unguarded."""
        try:
            moved, _ = self.g.transition(
                {st.ARMED}, st.ROLLING_BACK,
                _reason("the watcher hit an internal error (see watcher.log)"),
                stamp="rollback_started")
            if moved:
                run_rollback(self.g, log=self.log)
                return
            state = self.g.read()
            if state.status in (st.PREPARING, st.APPLYING):
                self.g.transition({st.PREPARING, st.APPLYING}, st.FAILED,
                                  st.set_error("watcher error (see watcher.log)"))
                st.release(self.g.root, state.database, state.remote, self.g.id)
        except Exception:
            self.log("fail-safe failed too:\n" + traceback.format_exc())

    def run(self) -> None:
        from ovnguard.guard import recover

        def started(d: GuardState) -> None:
            d.watcher = WatcherRecord(pid=os.getpid(), log=str(self.g.file("watcher.log")))

        moved, state = self.g.transition({st.PREPARING}, st.APPLYING, started,
                                         stamp="watcher_started")
        if not moved:
            self.log(f"nothing to do: guard is {state.status}")
            return
        self.log(f"watcher started for guard {self.g.id} ({state.database} at "
                 f"{state.remote})")
        recover.start_keeper(self.g, self.log)
        if self.apply(state):
            self.watch()

    # --- apply --------------------------------------------------------------------------

    def _finish(self, status: str, fn: Callable[[GuardState], None] | None = None) -> None:
        state = self.g.read()
        self.g.transition({st.APPLYING}, status, fn, stamp="finished")
        st.release(self.g.root, state.database, state.remote, self.g.id)

    def apply(self, state: GuardState) -> bool:
        faultpoints.pause("started", self.log)
        remote, database = state.remote, state.database
        backup = self.g.file("backup.db")
        try:
            ovsdb.backup(remote, database, backup)
        except OvnguardError as e:
            error = f"could not back up {database} at {remote}: {e}"
            self.log(f"{error}; nothing applied")
            self._finish(st.FAILED, st.set_error(error))
            return False
        t_backup = time.time()
        # Room for everything written after the change is applied (edits, inverse, state),
        # claimed now: a full disk refuses the change instead of leaving it unrecorded.
        need = reserve_size(backup)
        try:
            trust.reserve(self.g.path, need)
        except OSError as e:
            error = (f"not enough space in the state dir {self.g.root} ({e.strerror}): the "
                     f"guard needs about {need} bytes for its records; nothing applied")
            self.log(error)
            self._finish(st.FAILED, st.set_error(error))
            return False
        host = hoststeps.load(self.g)
        if host is not None:
            try:
                hoststeps.backup(self.g, host)
            except hoststate.HostStateError as e:
                error = f"could not back up the host's addresses, routes and links: {e}"
                self.log(f"{error}; nothing applied")
                self._finish(st.FAILED, st.set_error(error))
                return False
            self.log("host backed up: addresses, routes (main table), links")
        faultpoints.pause("after-backup", self.log)
        argv = state.argv
        timeout = state.settings.apply_timeout
        t0 = time.time()
        host_failed: str | None = None
        if host is None:
            rc, out, err = self._run_tool(argv, timeout)
        else:
            rc, out, err, _ = hoststeps.run_steps(host, remote, self.log)
            if rc != 0:
                host_failed = err
        t1 = time.time()
        b1 = self.clock.boot()
        faultpoints.pause("after-apply", self.log)
        what = argv[0] if host is None else f"the host change ({len(host.steps)} line(s))"
        self.log(f"ran {what} (exit {rc}) in {t1 - t0:.3f}s" + (f": {err.strip()}" if err
                                                                else ""))
        schema, before = ovsdb.read_backup(backup)
        after = self._read_back(remote, schema)
        if after is None:
            def unreachable(d: GuardState) -> None:
                d.error = (f"{database} unreachable after the change; restore by hand from "
                           f"{backup} (ovsdb-client restore) if it applied")
                d.apply = ApplyRecord(exit=rc, stdout=out[-4000:], stderr=err[-4000:])

            self._finish(st.FAILED, unreachable)
            return False
        edits = diff_rows(schema, before, after)
        host_diffs = hoststeps.host_changed(self.g) if host is not None else []

        def applied(d: GuardState) -> None:
            d.apply = ApplyRecord(exit=rc, stdout=out[-4000:], stderr=err[-4000:])
            d.timeline.update(backup=round(t_backup, 3), apply_started=round(t0, 3),
                      applied=round(t1, 3))

        if not edits and not host_diffs:
            status = st.REFUSED if rc != 0 else st.UNCHANGED
            self.log("the tool refused the change; nothing applied" if rc
                     else "the change left the database as it was; nothing to guard")
            self._finish(status, applied)
            return False
        st.write_json(self.g.file("edits.json"), edits_to_json(schema, edits))
        plan = plan_rollback(schema, edits, Current(after, {}, owned_rows(schema, after)))
        st.write_json(self.g.file("inverse.json"), [schema.name, *plan.ops])
        notes = _compare(state.predicted, edits)
        if host_failed is not None:
            notes.insert(0, f"a line failed ({host_failed}): the lines after it were not "
                            "run; what ran is rolled back at once")
        elif rc != 0:
            notes.insert(0, f"{argv[0]} exited {rc} ({err.strip()}) but the database "
                            "changed: guarding what changed")
        within = state.settings.confirm_within
        deadline = t1 + within
        clock = BootDeadline(boot_id=self.clock.boot_id(), applied=b1, deadline=b1 + within)

        def armed(d: GuardState) -> None:
            applied(d)
            d.stamp("deadline", deadline)
            d.clock = clock
            d.edits = [e.describe() for e in edits] + [f"host: {x}" for x in host_diffs]
            d.notes = [*d.notes, *notes]

        def log_applied() -> None:
            self.log(f"applied {len(edits)} row change(s): "
                     + "; ".join(e.describe() for e in edits))
            for n in notes:
                self.log(f"note: {n}")
            for d in host_diffs:
                self.log(f"host: {d}")

        if host_failed is not None:
            # Straight from applying to rolling back, in one step: `apply` waits for the
            # first status after APPLYING, and an ARMED in between would tell it (and the
            # script that runs it) the change was kept.
            reason = f"a line of the host change failed: {host_failed}"

            def taken_back(d: GuardState) -> None:
                armed(d)
                d.rollback = RollbackRecord(reason=reason, by="watcher")
                d.stamp("rollback_started", time.time())

            self.g.transition({st.APPLYING}, st.ROLLING_BACK, taken_back, stamp="armed")
            log_applied()
            self.log(f"rolling back at once: {reason}")
            run_rollback(self.g, log=self.log)
            return False
        self.g.transition({st.APPLYING}, st.ARMED, armed, stamp="armed")
        log_applied()
        self.log(f"armed: rollback at {st.fmt_time(deadline)} unless confirmed")
        return True

    def _run_tool(self, argv: list[str], timeout: float) -> tuple[int, str, str]:
        """Run the one transaction; its pid is recorded first, so a watcher that takes over
        after this one died knows whether the tool may still be running."""
        try:
            p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 env=ovsdb.tool_env(), stdin=subprocess.DEVNULL)
        except FileNotFoundError:
            return 127, "", f"{argv[0]} not found"
        tool = ToolRecord(pid=p.pid, started=round(time.time(), 3))
        self.g.update(lambda d: setattr(d, "tool", tool))
        try:
            o, e = p.communicate(timeout=timeout + 5)
        except subprocess.TimeoutExpired:
            p.kill()
            p.communicate()
            return 124, "", f"{argv[0]} did not finish within {timeout + 5:g}s"
        return p.returncode, o.decode(errors="replace"), e.decode(errors="replace")

    def _read_back(self, remote: str, schema: ovsdb.DbSchema) -> ovsdb.Rows | None:
        deadline = time.monotonic() + READBACK_TIMEOUT
        while True:
            try:
                return ovsdb.select_all(remote, schema)
            except ovsdb.Unreachable as e:
                if time.monotonic() >= deadline:
                    self.log(f"cannot read {schema.name} back: {e}")
                    return None
                time.sleep(0.2)

    # --- watch --------------------------------------------------------------------------

    def watch(self) -> None:
        state = self.g.read()
        settings = state.settings
        probes = [Probe.from_json(p.model_dump()) for p in state.probes]
        ctx = ProbeContext(state.probe_netns, state.nb_remote, state.sb_remote,
                           state.probe_cold)
        interval = settings.probe_interval
        threshold = settings.probe_failures
        auto = settings.auto_confirm_after
        applied, deadline = self._window(state)
        failures = {p.spec: 0 for p in probes}
        passed: set[str] = set()
        last: dict[str, ProbeResult] = {}
        rounds = 0
        pending: dict[Future[ProbeResult], Probe] = {}
        next_round = 0.0
        pool = ThreadPoolExecutor(max_workers=max(1, len(probes)))
        try:
            while True:
                doc = self.g.read()
                status = doc.status
                if status != st.ARMED:
                    self.log(f"guard is {status}; watcher done")
                    return
                if doc.request is not None:
                    self.rollback("requested by `ovnguard rollback`", force=doc.request.force)
                    return
                now = self.clock.boot()
                if now >= deadline:
                    self.rollback(f"not confirmed within {settings.confirm_within:g}s")
                    return
                if (auto is not None and now >= applied + float(auto) and probes
                        and passed == set(failures) and not any(failures.values())):
                    self.auto_confirm(float(auto))
                    return
                if probes and not pending and now >= next_round:
                    rounds += 1
                    next_round = now + interval
                    for p in probes:
                        pending[pool.submit(run_probe, p, ctx)] = p
                if pending:
                    done, _ = wait(list(pending), timeout=TICK, return_when=FIRST_COMPLETED)
                else:
                    done = set()
                    time.sleep(TICK)
                for fut in done:
                    p = pending.pop(fut)
                    r = fut.result()
                    last[p.spec] = r
                    if r.ok:
                        failures[p.spec] = 0
                        passed.add(p.spec)
                        continue
                    failures[p.spec] += 1
                    self.log(f"probe {p.spec} failed ({failures[p.spec]}/{threshold}): "
                             f"{r.detail}")
                    if failures[p.spec] >= threshold:
                        self.rollback(f"probe {p.spec} failed: {r.detail}", failed=r)
                        return
                if done and not pending:
                    self._record_round(rounds, last)
        finally:
            pool.shutdown(wait=False, cancel_futures=True)

    def _window(self, state: GuardState) -> tuple[float, float]:
        """(applied, deadline) on the boottime clock. A guard armed in an earlier boot (the
        machine rebooted during the window) is past its deadline."""
        c = state.clock
        if c is None or c.boot_id != self.clock.boot_id():
            return -1.0, -1.0
        return c.applied, c.deadline

    def _record_round(self, rounds: int, last: dict[str, ProbeResult]) -> None:
        def upd(d: GuardState) -> None:
            p = d.probing or ProbingRecord()
            p.rounds, p.last = rounds, [result_record(r) for r in last.values()]
            d.probing = p

        self.g.update(upd)

    def auto_confirm(self, after: float) -> None:
        moved, _ = self.g.transition(
            {st.ARMED}, st.CONFIRMED,
            lambda d: setattr(d, "confirmed_by", f"auto: every probe passed for {after:g}s"),
            stamp="confirmed")
        if moved:
            state = self.g.read()
            st.release(self.g.root, state.database, state.remote, self.g.id)
            self.log(f"auto-confirmed: every probe passed for {after:g}s after the change")

    def rollback(self, reason: str, *, failed: ProbeResult | None = None,
                 force: bool = False) -> None:
        def start(d: GuardState) -> None:
            d.rollback = RollbackRecord(reason=reason, by="watcher")
            d.request = None
            if failed is not None:
                p = d.probing or ProbingRecord()
                p.first_failure = result_record(failed)
                d.probing = p
                d.stamp("first_probe_failure", failed.finished)

        moved, doc = self.g.transition({st.ARMED}, st.ROLLING_BACK, start,
                                       stamp="rollback_started")
        if not moved:
            self.log(f"not rolling back ({reason}): guard is already {doc.status}")
            return
        run_rollback(self.g, log=self.log, force=force)


def _reason(reason: str) -> Callable[[GuardState], None]:
    def fn(d: GuardState) -> None:
        d.rb().reason = reason

    return fn


def _compare(predicted: list[dict[str, str]], edits: list[RowEdit]) -> list[str]:
    """What the what-if predicted vs what the real tool changed (by table, kind and name)."""
    if not predicted:
        return []
    want = {(p["table"], p["kind"], p["label"]) for p in predicted}
    got = {(e.table, e.kind, e.label) for e in edits}
    notes = []
    extra = sorted(got - want)
    missing = sorted(want - got)
    if extra:
        notes.append("changed although the what-if did not predict it (a concurrent edit, or "
                     "something ovnguard does not model; rolled back with the rest): "
                     + ", ".join(f"{t} {k}: {lbl}" for t, k, lbl in extra))
    if missing:
        notes.append("predicted but not changed: "
                     + ", ".join(f"{t} {k}: {lbl}" for t, k, lbl in missing))
    return notes


def reserve_size(backup: Path) -> int:
    """What the records written after the apply can take: edits.json and inverse.json hold
    at most every row twice (before/after) in JSON, guard.json the rest: three times the
    backup, plus 1 MiB."""
    return RESERVE_FACTOR * backup.stat().st_size + RESERVE_EXTRA
