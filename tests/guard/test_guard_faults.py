"""Guard faults at every step, against real OVN: nothing is lost.

kill -9 of the WATCHER after the backup, after the apply, while probing and while rolling
back; a full state dir; the wall clock jumping; the NB leader of a clustered NB dying
mid-guard. In each the end state is the change confirmed or exactly the backup, and
`ovnguard guard status` says which (`outcome`). The watcher is stopped at a step with a
fault point (`OVNGUARD_GUARD_PAUSE`, faultpoints.py), then killed there.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from helpers.guard_tools import (
    SEED_CHANGE,
    GuardEnv,
    cli_subprocess,
    keeper_pid,
    kill_ours,
    nb_rows,
    stop_watchers,
)
from ovnguard.guard import faultpoints, trust
from ovnguard.guard import state as st
from ovnguard.lab.process import is_alive

pytest_plugins = ("helpers.guard_fixtures",)

pytestmark = [pytest.mark.lab, pytest.mark.timeout(90)]


def _apply_bg(genv: GuardEnv, *extra: str) -> subprocess.Popen[bytes]:
    """`ovnguard apply` in its own process (it waits for the watcher, which we stop)."""
    return cli_subprocess(["apply", "--change", str(genv.change(SEED_CHANGE)), "--nb", genv.nb,
                           "--bundle", str(genv.bundle), "--state-dir", str(genv.state_dir),
                           "--force", *extra])


def _paused_at(genv: GuardEnv, point: str, wait_for: Callable[..., bool]) -> int:
    assert wait_for(lambda: f"fault point {point}: pausing" in genv.log(), timeout=30), (
        genv.log(), genv.state() if genv.guards() else "no guard")
    pid = int(genv.state()["watcher"]["pid"])
    assert is_alive(pid)
    return pid


def _kill(pid: int, wait_for: Callable[..., bool]) -> None:
    os.kill(pid, signal.SIGKILL)
    assert wait_for(lambda: not is_alive(pid), timeout=5)


def _status(genv: GuardEnv) -> str:
    res = genv.run("guard", "status", "--state-dir", str(genv.state_dir))
    assert res.exit_code == 0, res.output
    return res.output


def _finish(proc: subprocess.Popen[bytes]) -> str:
    try:
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    return (out + err).decode()


@pytest.fixture
def paused(monkeypatch: pytest.MonkeyPatch) -> Callable[[str], None]:
    def set_points(spec: str) -> None:
        monkeypatch.setenv(faultpoints.ENV, spec)

    return set_points


def test_watcher_killed_after_the_backup_nothing_applied(
    genv: GuardEnv, wait_for: Callable[..., bool], paused: Callable[[str], None]
) -> None:
    before = nb_rows(genv.nb)
    paused("after-backup:60")
    proc = _apply_bg(genv, "--probe", "none", "--confirm-within", "30")
    try:
        _kill(_paused_at(genv, "after-backup", wait_for), wait_for)
        doc = genv.wait_status("failed", timeout=20)
    finally:
        out = _finish(proc)
    assert "nothing applied" in doc["error"] and "exactly as in the backup" in doc["error"]
    assert doc["watcher"]["generation"] == 2
    assert nb_rows(genv.nb) == before
    assert "outcome  nothing applied" in _status(genv)
    assert "failed" in out
    assert not list((genv.state_dir / "locks").iterdir())  # the database is free again


def test_watcher_killed_after_the_apply_the_change_is_undone(
    genv: GuardEnv, wait_for: Callable[..., bool], paused: Callable[[str], None]
) -> None:
    before = nb_rows(genv.nb)
    paused("after-apply:60")
    proc = _apply_bg(genv, "--probe", "none", "--confirm-within", "30")
    try:
        pid = _paused_at(genv, "after-apply", wait_for)
        assert "ln-physnet2" in genv.lab.nbctl("--bare", "--columns=name", "list",
                                               "Logical_Switch_Port")  # applied, not armed
        _kill(pid, wait_for)
        killed = time.time()
        doc = genv.wait_status("rolled-back", timeout=20)
    finally:
        _finish(proc)
    print(f"\nwatcher killed after the apply -> NB restored: "
          f"{doc['timeline']['restored'] - killed:.3f}s")
    assert doc["rollback"]["reason"].startswith("the watcher died while applying")
    assert doc["rollback"]["verification"]["rows_ok"]
    assert doc["watcher"]["generation"] == 2
    assert nb_rows(genv.nb) == before
    assert "outcome  undone: every item the change touched is as in the backup" in _status(genv)


def test_watcher_killed_while_probing_the_next_generation_watches_on(
    genv: GuardEnv, wait_for: Callable[..., bool]
) -> None:
    before = nb_rows(genv.nb)
    flag = genv.tmp / "cut-off"
    res = genv.apply(genv.change(SEED_CHANGE), "--force", "--confirm-within", "30",
                     "--probe", f"cmd:sleep 0.1; test ! -e {flag}", "--probe-interval", "0.1")
    assert res.exit_code == 0, res.output
    assert wait_for(lambda: genv.state().get("probing", {}).get("rounds", 0) >= 2)
    first = genv.state()
    _kill(first["watcher"]["pid"], wait_for)
    killed = time.monotonic()
    assert wait_for(lambda: genv.state()["watcher"]["generation"] == 2
                    and st.pid_alive(genv.state()["watcher"]["pid"]), timeout=5), genv.log()
    print(f"\nwatcher killed while probing -> generation 2 watching: "
          f"{time.monotonic() - killed:.3f}s")
    doc = genv.state()
    assert doc["status"] == "armed" and doc["clock"] == first["clock"]  # same deadline
    assert "outcome  open (armed)" in _status(genv)
    flag.touch()  # the probe now fails: the second generation must act on it
    doc = genv.wait_status("rolled-back", timeout=10)
    assert doc["rollback"]["reason"].startswith("probe cmd:sleep 0.1")
    assert doc["timeline"]["restored"] < doc["timeline"]["deadline"]
    assert nb_rows(genv.nb) == before


def test_watcher_killed_while_rolling_back_the_rollback_is_finished(
    genv: GuardEnv, wait_for: Callable[..., bool], paused: Callable[[str], None]
) -> None:
    before = nb_rows(genv.nb)
    paused("rollback-started:60")
    res = genv.apply(genv.change(SEED_CHANGE), "--force", "--confirm-within", "1",
                     "--probe", "none")
    assert res.exit_code == 0, res.output
    _kill(_paused_at(genv, "rollback-started", wait_for), wait_for)
    doc = genv.wait_status("rolled-back", timeout=20)
    assert doc["watcher"]["generation"] == 2
    assert doc["rollback"]["reason"] == "not confirmed within 1s"
    assert doc["rollback"]["verification"]["rows_ok"]
    assert nb_rows(genv.nb) == before


def test_watcher_and_keeper_killed_guard_recover_takes_over(
    genv: GuardEnv, wait_for: Callable[..., bool]
) -> None:
    before = nb_rows(genv.nb)
    res = genv.apply(genv.change(SEED_CHANGE), "--force", "--confirm-within", "3",
                     "--probe", "none")
    assert res.exit_code == 0, res.output
    g = genv.guards()[-1]
    keeper = keeper_pid(genv)
    assert kill_ours(keeper, g)
    assert wait_for(lambda: not is_alive(keeper))
    _kill(genv.state()["watcher"]["pid"], wait_for)
    text = _status(genv)
    assert "outcome  ORPHANED (armed): no watcher runs" in text
    res = genv.run("guard", "recover", "--state-dir", str(genv.state_dir))
    assert res.exit_code == 0 and "watcher generation 2" in res.output, res.output
    doc = genv.wait_status("rolled-back", timeout=10)
    assert doc["rollback"]["reason"] == "not confirmed within 3s"
    # The deadline stayed the first watcher's: not restarted from the recovery.
    assert doc["timeline"]["restored"] - doc["timeline"]["deadline"] < 1.0
    assert nb_rows(genv.nb) == before
    res = genv.run("guard", "recover", "--state-dir", str(genv.state_dir))
    assert "nothing to recover" in res.output


# --- the wall clock jumps -----------------------------------------------------------------


def _take_over_in_process(genv: GuardEnv, wait_for: Callable[..., bool]) -> threading.Thread:
    """Stop the detached watcher and its keeper; continue the guard in this process (where
    the test controls time.time)."""
    from ovnguard.guard.recover import resume
    from ovnguard.guard.run import Watcher

    g = genv.guards()[-1]
    keeper = keeper_pid(genv)
    assert kill_ours(keeper, g)
    assert wait_for(lambda: not is_alive(keeper))
    _kill(genv.state()["watcher"]["pid"], wait_for)
    w = Watcher.at(g)
    t = threading.Thread(target=resume, args=(w,), daemon=True)
    t.start()
    return t


@pytest.mark.parametrize("jump", [3600.0, -3600.0], ids=["forward", "backward"])
def test_the_wall_clock_jumping_neither_fires_the_deadline_early_nor_never(
    genv: GuardEnv, wait_for: Callable[..., bool], monkeypatch: pytest.MonkeyPatch,
    jump: float,
) -> None:
    before = nb_rows(genv.nb)
    res = genv.apply(genv.change(SEED_CHANGE), "--force", "--confirm-within", "5",
                     "--probe", "none", "--verify-timeout", "2")
    assert res.exit_code == 0, res.output
    applied_boot = genv.state()["clock"]["applied"]
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + jump)  # someone set the clock
    t = _take_over_in_process(genv, wait_for)
    # A deadline kept on the wall clock fires at once (+1 h) or in an hour (-1 h).
    time.sleep(1.0)
    assert genv.state()["status"] == "armed"
    t.join(timeout=15)
    assert not t.is_alive()
    monkeypatch.setattr(time, "time", real)
    doc = genv.state()
    assert doc["status"] == "rolled-back", genv.log()
    restored_boot = doc["timeline"]["restored"] - jump - (real() - time.clock_gettime(
        time.CLOCK_BOOTTIME))
    print(f"\nwall clock {jump:+g}s: restored {restored_boot - applied_boot:.3f}s after the "
          "apply (window 5s)")
    assert 5.0 <= restored_boot - applied_boot < 7.0
    assert nb_rows(genv.nb) == before


# --- a full state dir ---------------------------------------------------------------------


@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[Path]:
    """A 1.5 MiB tmpfs (root only; skipped otherwise)."""
    mnt = tmp_path / "small"
    mnt.mkdir()
    p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1536k,mode=700", "tmpfs",
                        str(mnt)], capture_output=True, text=True)
    if p.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {p.stderr.strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_a_full_state_dir_is_refused_before_anything_is_applied(
    genv: GuardEnv, small_fs: Path, wait_for: Callable[..., bool],
    paused: Callable[[str], None],
) -> None:
    before = nb_rows(genv.nb)
    state = small_fs / "state"
    # 1. Too small for the records from the start: `apply` refuses, nothing is written.
    filler = small_fs / "filler"
    filler.write_bytes(b"\0" * (1024 * 1024))
    res = genv.run("apply", "--change", str(genv.change(SEED_CHANGE)), "--nb", genv.nb,
                   "--bundle", str(genv.bundle), "--state-dir", str(state), "--force",
                   "--probe", "none")
    assert res.exit_code == 3, res.output
    assert "bytes free; the guard needs about" in res.output and "nothing applied" in res.output
    assert not state.exists()
    filler.unlink()
    # 2. The disk fills between the check and the watcher: the watcher refuses, unapplied.
    # (This guard's state dir is not the fixture's: stop its keeper here, pass or fail; it
    # would leave by itself within a keeper tick of the guard closing.)
    try:
        paused("started:3")
        proc = cli_subprocess(["apply", "--change", str(genv.change(SEED_CHANGE)), "--nb",
                               genv.nb, "--bundle", str(genv.bundle), "--state-dir", str(state),
                               "--force", "--probe", "none"])
        assert wait_for(lambda: (state / "locks").exists() and any(
            "fault point started" in (g / "watcher.log").read_text()
            for g in state.iterdir() if (g / "watcher.log").exists()), timeout=30)
        free = os.statvfs(small_fs).f_bavail * os.statvfs(small_fs).f_frsize
        filler.write_bytes(b"\0" * (free - 200 * 1024))  # the backup fits, the records do not
        [g] = [g for g in state.iterdir() if (g / "guard.json").exists()]
        out = _finish(proc)
        doc = _wait_file_status(g, {"failed"}, wait_for)
        assert doc["error"].startswith("not enough space in the state dir"), out
        assert doc["error"].endswith("nothing applied")
        assert "apply_started" not in doc["timeline"]  # the tool never ran
        assert nb_rows(genv.nb) == before
    finally:
        stop_watchers(state)


def _wait_file_status(g: Path, statuses: set[str], wait_for: Callable[..., bool]) -> dict:
    import json

    assert wait_for(lambda: json.loads((g / "guard.json").read_text())["status"] in statuses,
                    timeout=20), (g / "watcher.log").read_text()
    doc: dict = json.loads((g / "guard.json").read_text())
    return doc


def test_records_written_on_a_full_disk_use_the_reserved_space(small_fs: Path) -> None:
    d = small_fs / "g"
    st.ensure_dir(d)
    trust.reserve(d, 512 * 1024)
    free = os.statvfs(small_fs).f_bavail * os.statvfs(small_fs).f_frsize
    (d / "filler").write_bytes(b"\0" * free)
    with pytest.raises(OSError):
        (d / "other").write_bytes(b"\0" * 4096)  # really full
    st.write_json(d / "edits.json", {"rows": ["x" * 200] * 1000})  # ~200 KB
    assert len((d / "edits.json").read_bytes()) > 200_000
    assert not (d / trust.RESERVE).exists()
