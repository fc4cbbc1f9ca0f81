"""What only this user could have written: the one test for the files ovnguard reads back
of its own and acts on.

Two kinds of file are read back and acted on: the guard's state (guard/trust.py: its command
lines are run, the ports it names deleted) and the cache (cachefile.py: compiled code that
is executed). Each is trusted only as far as the place it sits in:

* a directory is a real directory (never reached through a symbolic link), owned by this
  user and writable by nobody else;
* every directory above it is owned by root or this user and not writable by others unless
  sticky (/tmp), or someone else could rename it away and put their own in its place; a
  symbolic link among them is followed only when root or this user owns it;
* a file is opened with `O_NOFOLLOW` and is a regular file owned by this user, writable by
  nobody else.

Each check raises `Untrusted` saying which rule failed, where, and with the file's stat;
OSError passes through. The callers decide what a failure means: the guard refuses with a
message (exit 2), the cache does without the file.

os and stat only: record.py reads its cache through this before nearly anything else is
imported.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

WRITABLE_BY_OTHERS = stat.S_IWGRP | stat.S_IWOTH


class Untrusted(Exception):
    """`path` could have been written by someone else. `why`, one of:
    symlink, not-dir, not-regular, owner, mode (`path` itself) and ancestor-symlink,
    ancestor-not-dir, ancestor-owner, ancestor-mode (a directory above it, `path`);
    `st` is what was found there (None for a symbolic link refused by `O_NOFOLLOW`)."""

    def __init__(self, why: str, path: Path, st: os.stat_result | None = None) -> None:
        super().__init__(why, str(path))
        self.why, self.path, self.st = why, path, st


def check_ancestors(path: Path) -> None:
    """Every directory above `path` (made absolute): owned by root or this user, not
    writable by others unless sticky; a symbolic link among them owned by root or this user.
    Stops at the first that does not exist (whoever creates it checks it then)."""
    me = os.geteuid()
    parts = Path(os.path.abspath(path)).parts
    cur = Path(parts[0])
    for name in parts[1:-1]:
        cur = cur / name
        try:
            s = os.lstat(cur)
        except FileNotFoundError:
            return
        if stat.S_ISLNK(s.st_mode):
            if s.st_uid not in (0, me):
                raise Untrusted("ancestor-symlink", cur, s)
            s = os.stat(cur)
        if not stat.S_ISDIR(s.st_mode):
            raise Untrusted("ancestor-not-dir", cur, s)
        if s.st_uid not in (0, me):
            raise Untrusted("ancestor-owner", cur, s)
        if s.st_mode & WRITABLE_BY_OTHERS and not s.st_mode & stat.S_ISVTX:
            raise Untrusted("ancestor-mode", cur, s)


def check_dir(path: Path) -> None:
    """`path` itself: a real directory (not a symbolic link), ours, writable by nobody else."""
    s = os.lstat(path)
    if stat.S_ISLNK(s.st_mode):
        raise Untrusted("symlink", path, s)
    if not stat.S_ISDIR(s.st_mode):
        raise Untrusted("not-dir", path, s)
    _ours(path, s)


def check_tree(path: Path) -> None:
    """`check_ancestors` and `check_dir`: a directory where only this user can have put
    what is in it."""
    check_ancestors(path)
    check_dir(path)


def open_file(path: Path, flags: int, mode: int = 0o600) -> int:
    """`os.open(path, flags, mode)` never through a symbolic link; what it opens (or
    creates) must be a regular file of ours, writable by nobody else. The fd, which the
    caller closes."""
    try:
        fd = os.open(path, flags | os.O_NOFOLLOW | os.O_CLOEXEC, mode)
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise Untrusted("symlink", path) from None
        raise
    try:
        s = os.fstat(fd)
        if not stat.S_ISREG(s.st_mode):
            raise Untrusted("not-regular", path, s)
        _ours(path, s)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _ours(path: Path, s: os.stat_result) -> None:
    if s.st_uid != os.geteuid():
        raise Untrusted("owner", path, s)
    if s.st_mode & WRITABLE_BY_OTHERS:
        raise Untrusted("mode", path, s)
