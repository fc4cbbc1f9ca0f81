"""bench/check_scale.py: it runs (a tiny size, not timed: a smoke test, never a timing), and
whatever happens it stops every daemon it started and removes its directory."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from helpers.proc_tools import processes_mentioning

pytestmark = pytest.mark.realdb

BENCH = Path(__file__).resolve().parents[2] / "bench" / "check_scale.py"


def _run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TMPDIR": str(tmp_path)}  # the bench's mkdtemp lands here
    return subprocess.run([sys.executable, str(BENCH), *args], capture_output=True, text=True,
                          env=env, timeout=600)


def _left_behind(tmp_path: Path) -> tuple[list[int], list[str]]:
    return processes_mentioning(tmp_path), [p.name for p in tmp_path.iterdir()]


def test_smoke_tiny_cloud_prints_the_verdict(tmp_path: Path) -> None:
    p = _run(tmp_path, "6", "3", "--no-time")
    assert p.returncode == 0, p.stderr
    assert "hosts=6 vifs/host=3 ports=18" in p.stdout
    # the change bridges the provider network into br-ex, the management bridge
    assert "verdict dangerous" in p.stdout
    assert _left_behind(tmp_path) == ([], [])


@pytest.mark.parametrize("stage", ["build", "cold", "live"])
def test_forced_failure_stops_everything(tmp_path: Path, stage: str) -> None:
    p = _run(tmp_path, "4", "2", "--fail-at", stage)
    assert p.returncode != 0
    assert f"ForcedFailure: --fail-at {stage}" in p.stderr
    assert _left_behind(tmp_path) == ([], [])


def test_sigterm_while_building_stops_everything(tmp_path: Path) -> None:
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    proc = subprocess.Popen([sys.executable, str(BENCH), "30", "20", "--no-time"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    deadline = time.monotonic() + 60
    # wait until its ovsdb-servers are up, then stop it the way `timeout` or a CI job does
    while not any(tmp_path.glob("ovnguard-bench-*/nb.sock")):
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=60)
    assert proc.returncode == 143
    assert _left_behind(tmp_path) == ([], [])
