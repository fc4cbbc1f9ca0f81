"""cachefile.py: the files kept between runs are the user's own, read and written whole."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ovnguard import cachefile


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    return tmp_path / "ovnguard"


def test_written_whole_and_read_back(cache: Path) -> None:
    assert cachefile.read("x") is None
    cachefile.write("x", b"one")
    cachefile.write("x", b"two")
    assert cachefile.read("x") == b"two"
    assert sorted(p.name for p in cache.iterdir()) == ["x"]  # no temporary file left
    assert (cache.stat().st_mode & 0o777) == 0o700


def test_a_file_someone_else_could_have_written_is_not_read(cache: Path) -> None:
    cachefile.write("x", b"code")
    (cache / "x").chmod(0o620)
    assert cachefile.read("x") is None  # group-writable
    (cache / "x").chmod(0o600)
    if os.geteuid() == 0:
        os.chown(cache / "x", 65534, -1)
        assert cachefile.read("x") is None  # another user's
        os.chown(cache / "x", 0, -1)
    assert cachefile.read("x") == b"code"


def test_what_is_not_a_bounded_regular_file_is_not_read(cache: Path) -> None:
    cache.mkdir()
    os.mkfifo(cache / "fifo")  # would block a reader forever
    (cache / "dir").mkdir()
    (cache / "big").write_bytes(b"x" * 11)
    assert cachefile.read("fifo") is None
    assert cachefile.read("dir") is None
    assert cachefile.read("big", limit=10) is None
    assert cachefile.read("big", limit=11) == b"x" * 11


def test_a_directory_that_cannot_be_written_is_only_not_used(cache: Path,
                                                              tmp_path: Path) -> None:
    cache.write_text("a file where the directory should be")
    cachefile.write("x", b"y")  # nothing raised
    assert cachefile.read("x") is None
    assert [p.name for p in tmp_path.iterdir()] == ["ovnguard"]


def test_no_home_means_no_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)

    def no_home() -> Path:
        raise RuntimeError("Could not determine home directory.")

    monkeypatch.setattr(Path, "home", no_home)
    assert cachefile.cache_dir() is None
    assert cachefile.read("x") is None
    cachefile.write("x", b"y")  # nothing raised, nothing written


def test_a_link_or_a_directory_others_can_write_is_not_used(cache: Path,
                                                            tmp_path: Path) -> None:
    """A directory someone else can write into (XDG_CACHE_HOME on a shared path, or made
    first by another user): a link there to a file of ours would make its bytes our
    compiled code. Neither the link nor anything else there is read, nor written."""
    mine = tmp_path / "downloaded.bin"
    mine.write_bytes(b"someone's bytes")
    cache.mkdir(mode=0o700)
    (cache / "x").symlink_to(mine)
    assert cachefile.read("x") is None  # a link, even in our own directory
    (cache / "x").unlink()
    cachefile.write("x", b"ours")
    cache.chmod(0o777)
    assert cachefile.read("x") is None
    cachefile.write("y", b"not written")
    assert not (cache / "y").exists()
    cache.chmod(0o700)
    assert cachefile.read("x") == b"ours"


def test_a_cache_under_a_directory_others_can_write_is_not_used(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The rules the guard's state follows (ownership.py): whoever can write a directory
    above the cache (not sticky, as /tmp is) can rename the cache away and put their own,
    with their code, in its place between the check and the read."""
    shared = tmp_path / "shared"
    shared.mkdir()
    monkeypatch.setenv("XDG_CACHE_HOME", str(shared / "cache"))
    cachefile.write("x", b"ours")
    assert cachefile.read("x") == b"ours"
    shared.chmod(0o777)
    assert cachefile.read("x") is None
    shared.chmod(0o777 | 0o1000)  # sticky: only the owner renames what is in it
    assert cachefile.read("x") == b"ours"
    shared.chmod(0o755)
    real, d = tmp_path / "real", shared / "cache" / "ovnguard"
    d.rename(real)
    d.symlink_to(real)  # the cache directory itself reached by a link
    assert cachefile.read("x") is None
    d.unlink()
    real.rename(d)
    assert cachefile.read("x") == b"ours"
