"""ownership.py: what only this user could have written, each rule on its own.

The guard's messages for each rule are held in tests/guard/test_guard_trust.py, the cache's
use of them in tests/test_cachefile.py."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ovnguard import ownership

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="chown to another uid needs root")
NOBODY = 65534


def _why(fn: object, *args: object) -> str:
    with pytest.raises(ownership.Untrusted) as e:
        fn(*args)  # type: ignore[operator]
    return e.value.why


def test_a_directory_of_ours_passes(tmp_path: Path) -> None:
    d = tmp_path / "a" / "b"
    d.mkdir(parents=True, mode=0o700)
    ownership.check_tree(d)
    fd = ownership.open_file(d / "f", os.O_WRONLY | os.O_CREAT)
    os.close(fd)
    assert (d / "f").stat().st_mode & 0o777 == 0o600


def test_each_rule_of_the_directory_itself(tmp_path: Path) -> None:
    d = tmp_path / "d"
    d.mkdir(mode=0o700)
    (tmp_path / "link").symlink_to(d)
    (tmp_path / "file").write_text("")
    assert _why(ownership.check_dir, tmp_path / "link") == "symlink"
    assert _why(ownership.check_dir, tmp_path / "file") == "not-dir"
    d.chmod(0o770)
    assert _why(ownership.check_dir, d) == "mode"
    with pytest.raises(FileNotFoundError):
        ownership.check_dir(tmp_path / "missing")


def test_each_rule_of_the_directories_above(tmp_path: Path) -> None:
    top = tmp_path / "top"
    (top / "d").mkdir(parents=True)
    top.chmod(0o757)
    assert _why(ownership.check_ancestors, top / "d") == "ancestor-mode"
    top.chmod(0o1757)  # sticky, as /tmp
    ownership.check_ancestors(top / "d")
    top.chmod(0o755)
    ownership.check_ancestors(top / "missing" / "deeper")  # made later, checked then
    (tmp_path / "f").write_text("")
    assert _why(ownership.check_ancestors, tmp_path / "f" / "x") == "ancestor-not-dir"


def test_each_rule_of_a_file(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    (tmp_path / "link").symlink_to(tmp_path / "f")
    (tmp_path / "sub").mkdir()
    os.mkfifo(tmp_path / "fifo")
    assert _why(ownership.open_file, tmp_path / "link", os.O_RDONLY) == "symlink"
    assert _why(ownership.open_file, tmp_path / "fifo", os.O_RDONLY | os.O_NONBLOCK) == (
        "not-regular")
    (tmp_path / "f").chmod(0o602)
    with pytest.raises(ownership.Untrusted) as u:
        ownership.open_file(tmp_path / "f", os.O_RDONLY)
    assert u.value.why == "mode" and u.value.st is not None
    assert u.value.st.st_mode & 0o777 == 0o602


@needs_root
def test_owned_by_someone_else(tmp_path: Path) -> None:
    (tmp_path / "theirs").mkdir(mode=0o700)
    (tmp_path / "f").write_text("x")
    os.chown(tmp_path / "theirs", NOBODY, -1)
    os.chown(tmp_path / "f", NOBODY, -1)
    assert _why(ownership.check_dir, tmp_path / "theirs") == "owner"
    assert _why(ownership.check_ancestors, tmp_path / "theirs" / "x") == "ancestor-owner"
    assert _why(ownership.open_file, tmp_path / "f", os.O_RDONLY) == "owner"
    link = tmp_path / "their-link"
    link.symlink_to(tmp_path)
    os.chown(link, NOBODY, -1, follow_symlinks=False)
    assert _why(ownership.check_ancestors, link / "x") == "ancestor-symlink"
