"""Trusting the state directory: only what this user wrote is ever read back and acted on.

The watcher runs the command line stored in `guard.json` and its `cmd:` probes; a sentinel
deletes ports named in `sentinel.json`; a lock file names the guard directory to read. So
a state file is as dangerous as the directory it sits in is open. Before anything under a
state dir is read or written (the rules are ownership.py's, which the cache shares; here
each failure becomes a message saying what to do):

* the state dir and every directory below it must be real directories (never reached
  through a symlink: `lstat`, `O_NOFOLLOW`), owned by the running user, and writable by
  nobody else (mode 0700 when created here);
* every directory above it must be owned by root or the running user and not writable by
  others, unless sticky (/tmp): otherwise someone else could swap the state dir itself;
  a symlink among them is followed only when root or the running user owns it;
* every file is opened with `O_NOFOLLOW` and must be a regular file owned by the running
  user, not writable by group or others, and of a bounded size.

A state dir that fails any of this is refused with one line naming the path and what to do
(exit 2); nothing in it is read, run or deleted. Ids that become path components (a lock's
`id`, `--id`) must match the shape ovnguard gives them.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import stat
from pathlib import Path

from ovnguard import ownership
from ovnguard.errors import InputError, OvnguardError
from ovnguard.i18n import _
from ovnguard.sources import safeio

MAX_STATE_FILE = safeio.MAX_STATE_BYTES  # guard.json with 500 events is < 200 KiB
# <YYYYMMDDTHHMMSS.mmm>-<nb|ovs|db|sentinel>-<4 hex>, as new_guard_id / new_sentinel_id
ID_RE = re.compile(r"\d{8}T\d{6}\.\d{3}-(?:nb|ovs|db|sentinel)-[0-9a-f]{4}")


class UntrustedState(OvnguardError):
    """The state dir (or a file in it) could have been written by someone else."""

    exit_code = 2


def valid_id(text: str) -> bool:
    return ID_RE.fullmatch(text) is not None


def check_id(text: str, what: str = "guard id") -> str:
    if not valid_id(text):
        raise UntrustedState(_(
            "{what} {text} is not an id ovnguard makes (YYYYMMDDTHHMMSS.mmm-KIND-xxxx); "
            "refusing to use it as a path").format(
            what=what, text=repr(text)))
    return text


def _uid() -> int:
    return os.geteuid()


def _fix(path: Path) -> str:
    return _("use a directory only you can write (`--state-dir`, OVNGUARD_GUARD_DIR, "
             "XDG_STATE_HOME), or fix {path} (chown to uid {uid}, chmod 700)").format(
                 path=path, uid=_uid())


def _refused(u: ownership.Untrusted, state_dir: Path) -> UntrustedState:
    """The guard's one line for a rule of ownership.py that `state_dir` (or a file in it)
    fails, with what to do."""
    cur, s = u.path, u.st
    mode = stat.S_IMODE(s.st_mode) if s is not None else 0
    uid = s.st_uid if s is not None else -1
    if u.why == "ancestor-symlink":
        return UntrustedState(_(
            "{cur} is a symlink owned by uid {st_uid}: the state dir {path} is reached "
            "through it; {value}").format(
            cur=cur, st_uid=uid, path=state_dir, value=_fix(state_dir)))
    if u.why in ("ancestor-not-dir", "not-dir"):
        return UntrustedState(_(
            "{cur} is not a directory").format(
            cur=cur))
    if u.why == "ancestor-owner":
        return UntrustedState(_(
            "{cur} (above the state dir {path}) is owned by uid {st_uid}, who could "
            "replace the state dir; {value}").format(
            cur=cur, path=state_dir, st_uid=uid, value=_fix(state_dir)))
    if u.why == "ancestor-mode":
        return UntrustedState(_(
            "{cur} (above the state dir {path}) is writable by others (mode {value:o}); "
            "{value2}").format(
            cur=cur, path=state_dir, value=mode, value2=_fix(state_dir)))
    if u.why == "symlink":
        return UntrustedState(_(
            "{path} is a symlink: a state dir is never followed through one; {value}").format(
            path=cur, value=_fix(state_dir)))
    if u.why == "owner":
        return UntrustedState(_(
            "{path} is owned by uid {st_uid}, not by you (uid {value}): refusing to read or "
            "run what it holds; {value2}").format(
            path=cur, st_uid=uid, value=_uid(), value2=_fix(state_dir)))
    return UntrustedState(_(  # mode
        "{path} is writable by others (mode {value:o}); {value2}").format(
        path=cur, value=mode, value2=_fix(state_dir)))


def check_ancestors(path: Path) -> None:
    """Every directory above `path` (absolute) must be owned by root or us and not writable
    by others unless sticky; a symlink among them must be owned by root or us."""
    try:
        ownership.check_ancestors(path)
    except ownership.Untrusted as u:
        raise _refused(u, path) from None
    except OSError as e:
        raise UntrustedState(f"{e.filename}: {e.strerror}; {_fix(path)}") from None


def check_dir(path: Path) -> None:
    """`path` itself: a real directory (not a symlink), ours, writable by nobody else."""
    try:
        ownership.check_dir(path)
    except ownership.Untrusted as u:
        raise _refused(u, path) from None
    except OSError as e:
        raise UntrustedState(f"{path}: {e.strerror}") from None


def trusted_dir(path: Path) -> Path:
    """Check an existing state dir and what is above it (nothing is created)."""
    check_ancestors(path)
    check_dir(path)
    return path


def ensure_dir(path: Path) -> Path:
    """Create `path` (and missing parents) mode 0700, then check it as `trusted_dir`."""
    check_ancestors(path)
    missing = []
    p = Path(os.path.abspath(path))
    while not os.path.lexists(p):
        missing.append(p)
        p = p.parent
    for d in reversed(missing):
        # A concurrent ovnguard may have made it; it is checked below like any other.
        with contextlib.suppress(FileExistsError):
            os.mkdir(d, 0o700)
    check_dir(path)
    return path


def open_file(path: Path, flags: int, mode: int = 0o600) -> int:
    """os.open with O_NOFOLLOW; an existing file must be a regular file of ours, not
    writable by others. Returns the fd."""
    try:
        return ownership.open_file(path, flags, mode)
    except ownership.Untrusted as u:
        if u.why == "symlink":
            raise UntrustedState(_(
                "{path} is a symlink; state files are never followed through one").format(
                path=path)) from None
        if u.why == "not-regular":
            raise UntrustedState(_(
                "{path} is not a regular file").format(
                path=path)) from None
        if u.why == "owner":
            raise UntrustedState(_(
                "{path} is owned by uid {st_uid}, not by you: refusing to use it").format(
                path=path, st_uid=u.st.st_uid if u.st else -1)) from None
        raise UntrustedState(_(
            "{path} is writable by others (mode {value:o}): refusing to use it").format(
            path=path, value=stat.S_IMODE(u.st.st_mode) if u.st else 0)) from None


def read_bytes(path: Path, limit: int = MAX_STATE_FILE) -> bytes:
    fd = open_file(path, os.O_RDONLY)
    with os.fdopen(fd, "rb") as f:
        try:
            return safeio.read_capped(f, str(path), limit, "state file")
        except InputError as e:
            raise UntrustedState(_(
                "{e}: not a state file of ours").format(
                e=e)) from None


def write_bytes(path: Path, data: bytes) -> None:
    """Write-then-rename, mode 0600, never through a symlink: readers never see half a
    file. On ENOSPC the space reserved for the guard (`reserve`) is given back and the write
    tried once more."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    for attempt in (0, 1):
        try:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            fd = open_file(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
            return
        except OSError as e:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            if e.errno == errno.ENOSPC and attempt == 0 and release_reserve(path.parent):
                continue
            raise


# --- space kept for the guard's own records -----------------------------------------------

RESERVE = ".reserve"


def reserve(directory: Path, size: int) -> None:
    """Claim `size` bytes in `directory` now (posix_fallocate: the blocks are really taken),
    so the records written after the change is applied (edits, inverse, status) cannot fail
    for lack of space. Raises OSError (ENOSPC) when the space is not there."""
    fd = open_file(directory / RESERVE, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    try:
        os.posix_fallocate(fd, 0, max(1, size))
    except OSError:
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(directory / RESERVE)
        raise
    os.close(fd)


def release_reserve(directory: Path) -> bool:
    """Give the reserved space back (True if there was some)."""
    try:
        os.unlink(directory / RESERVE)
    except OSError:
        return False
    return True


def append_line(path: Path, line: str) -> None:
    """Append to a log of the state dir (never through a symlink)."""
    fd = open_file(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    with os.fdopen(fd, "a", encoding="utf-8") as f:
        f.write(line)
