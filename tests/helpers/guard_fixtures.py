"""Fixtures for the guard tests: a real seed lab per test with its bundle and a state dir,
always torn down (watchers included), pass or fail.

Not a conftest.py (tests/lab's modules import `conftest` by name); test modules load this
one with `pytest_plugins = ("helpers.guard_fixtures",)`.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from helpers.guard_tools import NEEDED, GuardEnv, stop_watchers
from helpers.proc_tools import processes_mentioning
from ovnguard.lab import Lab, seed_topology
from ovnguard.lab.dataplane import DataplaneLab, lab_id_for
from ovnguard.lab.export import export_bundle


def _require_binaries() -> None:
    missing = [b for b in NEEDED if shutil.which(b) is None]
    if missing:
        pytest.skip(f"needs the OVS/OVN Debian packages ({', '.join(missing)} missing)")


def _nothing_left(tmp_path: Path, state_dir: Path) -> None:
    """Nothing the test started outlives it. A keeper its watcher launched without waiting
    for it (guard/recover.start_keeper) can come up after the sweep of the teardown: it
    exits by itself within a tick once its guard is closed, and is swept again if the
    guard was left open. A lab daemon still there fails the test."""
    deadline = time.monotonic() + 2.0
    while processes_mentioning(tmp_path) and time.monotonic() < deadline:
        time.sleep(0.05)
    stop_watchers(state_dir)
    left = processes_mentioning(tmp_path)
    assert left == [], f"processes left running for {tmp_path}: {left}"


@pytest.fixture
def genv(tmp_path: Path) -> Iterator[GuardEnv]:
    """The seed cluster (controller, network, compute1) as a real lab, its bundle, and a
    state dir. Watchers and daemons are stopped at teardown, pass or fail."""
    _require_binaries()
    run_dir = tmp_path / "lab"
    state_dir = tmp_path / "state"
    lab = Lab.up(seed_topology(3), run_dir)
    try:
        bundle = export_bundle(lab, tmp_path / "bundle")
        yield GuardEnv(lab, tmp_path, state_dir, bundle)
    finally:
        stop_watchers(state_dir)
        Lab.down_dir(run_dir)
    _nothing_left(tmp_path, state_dir)


@pytest.fixture
def wait_for() -> Callable[..., bool]:
    def wait(pred: Callable[[], bool], timeout: float = 10.0, interval: float = 0.05) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if pred():
                return True
            time.sleep(interval)
        return pred()

    return wait


@pytest.fixture
def dp_genv(tmp_path: Path) -> Iterator[tuple[GuardEnv, DataplaneLab]]:
    """The seed cluster as a data-plane lab (a network namespace per host, real packets;
    ovn-controller reaches SB over a unix socket, control="local"), its bundle and a state
    dir; everything, watchers and namespaces included, is gone at teardown."""
    from ovnguard.lab import netns

    reason = netns.why_unavailable()
    if reason:
        pytest.skip(reason)
    _require_binaries()
    run_dir = tmp_path / "dp"
    state_dir = tmp_path / "state"
    dp = DataplaneLab.up(None, run_dir, control="local")
    try:
        bundle = export_bundle(dp.lab, tmp_path / "bundle")
        yield GuardEnv(dp.lab, tmp_path, state_dir, bundle), dp
    finally:
        stop_watchers(state_dir)
        DataplaneLab.down_dir(run_dir)
    _nothing_left(tmp_path, state_dir)
    names = os.listdir("/run/netns") if os.path.isdir("/run/netns") else []
    assert not [n for n in names if f"-{lab_id_for(run_dir)}-" in n]
