"""change/tools.py: which tools, and their versions, remembered per binary."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from ovnguard.change import tools
from ovnguard.change.tools import find_tools, tool_version


def _fake_tool(d: Path, version: str) -> Path:
    """An `ovn-nbctl` that prints `version` and counts its runs in d/runs."""
    exe = d / "ovn-nbctl"
    exe.write_text(f"#!/bin/sh\necho run >> {d / 'runs'}\necho 'ovn-nbctl {version}'\n")
    exe.chmod(0o755)
    return exe


def _runs(d: Path) -> int:
    f = d / "runs"
    return len(f.read_text().splitlines()) if f.exists() else 0


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    tool_version.cache_clear()
    tools._remembered.cache_clear()
    yield tmp_path / "cache" / "ovnguard" / "tool-versions.json"
    tool_version.cache_clear()
    tools._remembered.cache_clear()


def _new_process() -> None:
    """What a new ovnguard process knows: only the file."""
    tool_version.cache_clear()
    tools._remembered.cache_clear()


def test_a_version_is_run_once_per_binary(tmp_path: Path, cache: Path) -> None:
    exe = _fake_tool(tmp_path, "23.03.1")
    assert tool_version(str(exe)) == "23.03.1"
    assert _runs(tmp_path) == 1 and cache.is_file()
    _new_process()
    assert find_tools(tmp_path).versions()["ovn-nbctl"] == "23.03.1"
    assert _runs(tmp_path) == 1  # remembered across processes


def test_a_binary_replaced_is_run_again(tmp_path: Path, cache: Path) -> None:
    exe = _fake_tool(tmp_path, "23.03.1")
    assert tool_version(str(exe)) == "23.03.1"
    _new_process()
    exe.unlink()
    exe = _fake_tool(tmp_path, "24.03.2")  # a new file: another inode, size and time
    assert tool_version(str(exe)) == "24.03.2"
    assert _runs(tmp_path) == 2


def test_a_cache_that_cannot_be_used_is_only_not_used(tmp_path: Path, cache: Path) -> None:
    exe = _fake_tool(tmp_path, "23.03.1")
    cache.parent.mkdir(parents=True)
    cache.write_text("{not json")
    assert tool_version(str(exe)) == "23.03.1"
    assert json.loads(cache.read_text())  # written again, whole
    _new_process()
    cache.unlink()
    cache.parent.chmod(0o500)  # not writable (root writes anyway: then it is simply kept)
    try:
        assert tool_version(str(exe)) == "23.03.1"
    finally:
        cache.parent.chmod(0o700)
    assert not [p for p in cache.parent.iterdir() if p.name.startswith(".tool-versions.")]


def test_the_file_keeps_a_bounded_number_of_binaries(tmp_path: Path, cache: Path) -> None:
    exe = _fake_tool(tmp_path, "23.03.1")
    for i in range(tools._KEEP + 5):
        os.utime(exe, ns=(i, i))  # as if rebuilt each time
        tool_version.cache_clear()
        assert tool_version(str(exe)) == "23.03.1"
    assert len(json.loads(cache.read_text())) == tools._KEEP
