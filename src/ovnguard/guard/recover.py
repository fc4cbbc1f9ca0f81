"""When a watcher dies: the guard is taken over by the next generation, never left open.

A watcher killed (kill -9, the OOM killer) leaves its guard in the step it was in. Three
things notice and start the next generation (`python -m ovnguard.guard.watcher --resume`):

* the **keeper**, a small process the first watcher starts beside itself, looking at the
  watcher every 0.2 s while the guard is open (it is not the watcher's child: killing the
  watcher does not kill it);
* `ovnguard apply` still waiting for the watcher it started;
* `ovnguard guard recover` (by hand, or from a timer), for when the keeper is gone too.

Only one generation takes a guard over: under the guard's flock, a watcher that finds
another one alive leaves. What the next generation does depends on the step:

    applying      the dead watcher may have run the tool, or not: wait for the tool to
                  exit, compare the database with backup.db: equal -> `failed`, nothing
                  applied; different -> roll it back (it was never armed)
    armed         watch on, with the same deadline (boottime clock, clock.py)
    rolling-back  run the rollback again (idempotent: items already back are left alone)

A SIGTERM'd watcher is not restarted (stopping it is a decision someone made); `ovnguard
guard recover` or `ovnguard rollback` then finish the job.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from ovnguard.guard import state as st
from ovnguard.guard.model import GuardState, KeeperRecord, RollbackRecord, WatcherRecord

if TYPE_CHECKING:
    from ovnguard.guard.run import Watcher

KEEPER_TICK = 0.2
MAX_GENERATIONS = 5  # a guard whose watchers keep dying is left to `ovnguard rollback`
OPEN = frozenset({st.APPLYING, st.ARMED, st.ROLLING_BACK})
Say = Callable[[str], None]


def orphaned(g: st.GuardDir, s: GuardState) -> bool:
    """An open guard whose watcher no longer runs."""
    return s.status in OPEN and s.watcher is not None and not st.watcher_alive(g, s)


def take_over(g: st.GuardDir, why: str) -> bool:
    """Start the next generation for an orphaned guard (it claims the guard itself, so two
    callers racing start at most one that stays). True if one was started."""
    from ovnguard.guard.watcher import launch

    s = g.read()
    if not orphaned(g, s) or s.watcher is None:
        return False
    gen = s.watcher.generation
    if gen >= MAX_GENERATIONS:
        return False
    with_log(g)(f"{why} (generation {gen}, pid {s.watcher.pid}): starting "
                f"generation {gen + 1}")
    launch(g.path, "resume")
    end = time.monotonic() + 10
    while time.monotonic() < end:
        if not orphaned(g, g.read()):
            return True
        time.sleep(0.03)
    return False


def recover(root: Path, say: Say) -> list[str]:
    """`ovnguard guard recover`: take over every orphaned guard in the state dir."""
    done = []
    for g in st.list_guards(root):
        try:
            s = g.read()
        except st.GuardError as e:
            say(f"{g.id}: {e}")
            continue
        if orphaned(g, s) and take_over(g, "ovnguard guard recover: the watcher is gone"):
            new = g.read().watcher
            assert new is not None
            say(f"guard {g.id} ({s.status}): its watcher was gone; watcher generation "
                f"{new.generation} (pid {new.pid}) took it over")
            done.append(g.id)
    return done


def with_log(g: st.GuardDir) -> Callable[[str], None]:
    from ovnguard.guard.run import Log

    return Log(g.file("watcher.log"))


def mark_stopped(g: st.GuardDir, why: str) -> None:
    me = os.getpid()

    def mark(d: GuardState) -> None:
        if d.watcher is not None and d.watcher.pid == me:
            d.watcher.stopped = why

    g.update(mark)


# --- the keeper ---------------------------------------------------------------------------


def start_keeper(g: st.GuardDir, log: Callable[[str], None]) -> None:
    from ovnguard.guard.watcher import launch

    try:
        launch(g.path, "keeper", wait=False)
    except st.GuardError as e:  # no keeper: the guard still works, only unkept
        log(f"no keeper: {e}")


def keep(w: Watcher) -> int:
    """The keeper's loop: while the guard is open, a watcher that died is followed by the
    next generation. Exits when the guard is closed or its watcher was stopped."""
    g = w.g
    me = os.getpid()
    g.update(lambda d: setattr(d, "keeper", KeeperRecord(pid=me)))
    w.log(f"keeper (pid {me}) watches the watcher")
    while True:
        time.sleep(KEEPER_TICK)
        try:
            s = g.read()
        except st.GuardError:
            return 0
        if s.status not in (st.PREPARING, *OPEN):
            return 0
        if s.keeper is None or s.keeper.pid != me:
            return 0  # another keeper took over
        if s.watcher is not None and s.watcher.stopped:
            w.log("keeper: the watcher was stopped; not restarting it")
            return 0
        if orphaned(g, s) and not take_over(g, "keeper: the watcher died"):
            w.log("keeper: could not start the next generation; `ovnguard guard recover` "
                  "or `ovnguard rollback` must finish this guard")
            return 1


# --- the next generation ------------------------------------------------------------------


def claim(w: Watcher) -> GuardState | None:
    """Become the guard's watcher, unless another live one is (then None)."""
    g = w.g
    me = os.getpid()
    with g.locked():
        s = g.read()
        old = s.watcher
        if (old is None or old.pid != me) and st.watcher_alive(g, s):
            return None
        gen = (old.generation if old else 0) + 1
        s.watcher = WatcherRecord(pid=me, log=str(g.file("watcher.log")), generation=gen)
        s.notes.append(
            f"watcher generation {gen} took over at {st.fmt_time(time.time())} (the previous "
            f"one, pid {old.pid if old else '-'}, had died while the guard was {s.status})")
        g.write(s)
        return s


def resume(w: Watcher) -> None:
    from ovnguard.guard.rollback import run_rollback

    s = claim(w)
    if s is None or s.watcher is None:
        w.log("another watcher runs this guard; leaving")
        return
    gen = s.watcher.generation
    status = s.status
    w.log(f"watcher generation {gen} (pid {os.getpid()}) takes over guard {w.g.id}, "
          f"{status}")
    if status == st.APPLYING:
        finish_applying(w, s)
    elif status == st.ARMED:
        w.watch()
    elif status == st.ROLLING_BACK:
        run_rollback(w.g, log=w.log)
    else:
        w.log(f"guard is {status}: nothing to take over")


def finish_applying(w: Watcher, s: GuardState) -> None:
    """The watcher died while applying: whatever the tool did is undone (it was never
    armed, so no one ever saw a deadline for it), or the guard ends `failed` when the
    database is exactly as before."""
    from ovnguard.guard import hoststeps, ovsdb
    from ovnguard.guard.inverse import diff_rows, edits_to_json
    from ovnguard.guard.rollback import run_rollback

    g = w.g
    # The tool is not our child: wait until it is gone (its own --timeout bounds it).
    end = time.monotonic() + s.settings.apply_timeout + 10
    while (s.tool is not None and st.pid_alive(s.tool.pid, f"--db={s.remote}")
           and time.monotonic() < end):
        time.sleep(0.05)
    backup = g.file("backup.db")
    if not backup.exists():
        _fail(w, s, "the watcher died before the backup was complete; the tool never ran: "
                      "nothing applied")
        return
    schema, before = ovsdb.read_backup(backup)
    after = w._read_back(s.remote, schema)
    if after is None:
        _fail(w, s, f"the watcher died while applying and {s.database} is unreachable; "
                      f"compare it with {backup} and restore by hand (ovsdb-client restore) "
                      "if the change is there")
        return
    edits = diff_rows(schema, before, after)
    # A host change: its ip lines may have run although no OVS row changed.
    host_diffs = hoststeps.host_changed(g)
    if not edits and not host_diffs:
        _fail(w, s, "the watcher died while applying; the database is exactly as in the "
                      "backup: nothing applied")
        return
    st.write_json(g.file("edits.json"), edits_to_json(schema, edits))
    gen = s.watcher.generation if s.watcher else 2
    reason = (f"the watcher died while applying (generation {gen - 1}); the change was "
              "never armed, so it is undone")

    def start(d: GuardState) -> None:
        d.rollback = RollbackRecord(reason=reason, by=f"watcher generation {gen}")
        d.edits = [e.describe() for e in edits] + [f"host: {x}" for x in host_diffs]

    moved, _ = g.transition({st.APPLYING}, st.ROLLING_BACK, start, stamp="rollback_started")
    if moved:
        w.log(f"{reason}: {len(edits)} row change(s)")
        run_rollback(g, log=w.log)


def _fail(w: Watcher, s: GuardState, error: str) -> None:
    w.log(error)
    moved, _ = w.g.transition({st.APPLYING}, st.FAILED, st.set_error(error), stamp="finished")
    if moved:
        st.release(w.g.root, s.database, s.remote, w.g.id)
