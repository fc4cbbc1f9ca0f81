"""The files ovnguard keeps between runs, in $XDG_CACHE_HOME/ovnguard (~/.cache/ovnguard).

Each is only a shortcut, never the answer: the tools' versions (change/tools.py) and the
compiled methods of the value classes (record.py). So a file here is read whole or not at all
and written whole (a temporary file renamed over it: runs at the same time never see half of
one); one that cannot be read or written, or that someone else could have written (not ours,
writable by others, a symbolic link, in a directory others can write), is only not used, and
the work it would have saved is done again.

Who could have written a file is decided by ownership.py, as for the guard's state: the
cache directory and every directory above it, then the file.

Imported by record.py, before nearly everything else: os and pathlib only at import.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from ovnguard import ownership


def cache_dir() -> Path | None:
    """None where there is no home to put it under (no $HOME, no passwd entry)."""
    base = os.environ.get("XDG_CACHE_HOME")
    if not base:
        try:
            base = str(Path.home() / ".cache")
        except RuntimeError:
            return None
    return Path(base) / "ovnguard"


def _own_dir() -> Path | None:
    """The cache directory where only this user can have put what is in it."""
    d = cache_dir()
    if d is None:
        return None
    try:
        ownership.check_tree(d)
    except (ownership.Untrusted, OSError):
        return None
    return d


def read(name: str, limit: int = 16 << 20) -> bytes | None:
    """The file's bytes; None when it is missing, unreadable, larger than `limit`, or could
    have been written by someone else (ownership.py: its contents may be compiled code)."""
    d = _own_dir()
    if d is None:
        return None
    try:
        fd = ownership.open_file(d / name, os.O_RDONLY | os.O_NONBLOCK)
    except (ownership.Untrusted, OSError):
        return None
    with os.fdopen(fd, "rb") as f:
        try:
            data = f.read(limit + 1)
        except OSError:
            return None
    return data if len(data) <= limit else None


def write(name: str, data: bytes) -> None:
    """Replace the file with `data`, whole; nothing when the directory cannot be written."""
    import tempfile  # only when something new is remembered: ~2 ms of every start otherwise

    d = cache_dir()
    if d is None:
        return
    try:
        d.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError:
        return
    if _own_dir() is None:
        return  # someone else's, or open to others: what is written there is not read
    try:
        fd, tmp = tempfile.mkstemp(dir=d, prefix=f".{name}.")
    except OSError:
        return
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, d / name)  # whole or not at all, whoever else writes it
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
