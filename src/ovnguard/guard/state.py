"""The guard's state directory: one sub-directory per guarded change, one lock per database.

    STATE_DIR/                       mode 0700
      locks/<database>-<remote>.json one per database: which guard holds it
      <guard id>/                    mode 0700, files 0600
        guard.json                   the state file (status, timeline, probes, results)
        guard.lock                   flock(2) around every read-modify-write of guard.json
        change.sh                    the change file as given
        whatif.json                  the what-if report (`check --format json` schema)
        backup.db                    `ovsdb-client backup` of the whole database, before
        edits.json                   the rows the change touched, before and after
        inverse.json                 the rollback transaction as planned at apply time
                                     (`ovsdb-client transact REMOTE "$(cat inverse.json)"`)
        watcher.log                  the detached watcher's log

Every status change goes through `transition()` under the flock, so `confirm` and a watcher
about to roll back can never both win.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import secrets
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from ovnguard.errors import InputError, OvnguardError
from ovnguard.guard import trust
from ovnguard.guard.model import GuardState, LockRecord, problem
from ovnguard.i18n import _
from ovnguard.record import record

M = TypeVar("M", bound=BaseModel)
SCHEMA_VERSION = 1
SYSTEM_DIR = Path("/var/lib/ovnguard/guard")
STATE_DIR_ENV = "OVNGUARD_GUARD_DIR"

# Statuses. The lock is held from "preparing" until a terminal one.
PREPARING = "preparing"  # the CLI wrote the plan; the watcher is starting
APPLYING = "applying"  # the watcher runs the tool
ARMED = "armed"  # applied; rollback at the deadline unless confirmed
ROLLING_BACK = "rolling-back"
ROLLED_BACK = "rolled-back"  # terminal
CONFIRMED = "confirmed"  # terminal
REFUSED = "refused"  # terminal: the tool refused the change, nothing applied
UNCHANGED = "unchanged"  # terminal: the change left the database as it was
CONFLICT = "rollback-conflict"  # stopped: someone else changed a touched item
GAVE_UP = "rollback-failed"  # stopped: database unreachable until the give-up time
FAILED = "failed"  # terminal: the watcher could not start or apply
TERMINAL = frozenset({ROLLED_BACK, CONFIRMED, REFUSED, UNCHANGED, FAILED})
ACTIVE = frozenset({PREPARING, APPLYING, ARMED, ROLLING_BACK, CONFLICT, GAVE_UP})


class GuardError(OvnguardError):
    """A guard operation could not be done; `exit_code` is the CLI's."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def default_state_dir() -> Path:
    """$OVNGUARD_GUARD_DIR, else /var/lib/ovnguard/guard for root (if writable), else
    $XDG_STATE_HOME/ovnguard/guard (~/.local/state/ovnguard/guard)."""
    env = os.environ.get(STATE_DIR_ENV)
    if env:
        return Path(env)
    if os.geteuid() == 0:
        parent = SYSTEM_DIR
        while not parent.exists():
            parent = parent.parent
        if os.access(parent, os.W_OK):
            return SYSTEM_DIR
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "ovnguard" / "guard"


def ensure_dir(path: Path) -> Path:
    """Create (mode 0700) or check a directory of the state dir (see trust.py)."""
    try:
        return trust.ensure_dir(path)
    except trust.UntrustedState as e:
        raise GuardError(str(e), 2) from None


def normalize_remote(remote: str) -> str:
    """`unix:relative/path` -> absolute, so one database has one lock whatever the cwd;
    each of a clustered database's comma-separated remotes."""
    return ",".join("unix:" + os.path.abspath(r[5:]) if r.startswith("unix:") else r
                    for r in (x.strip() for x in remote.split(",")) if r)


def lock_key(database: str, remote: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", remote).strip("_")[-60:]
    digest = hashlib.sha1(remote.encode()).hexdigest()[:8]
    return f"{database}-{slug}-{digest}"


def new_guard_id(database: str) -> str:
    short = {"OVN_Northbound": "nb", "Open_vSwitch": "ovs"}.get(database, "db")
    now = time.time()
    # Milliseconds: ids sort in creation order (listings and "the last guard" rely on it).
    stamp = time.strftime("%Y%m%dT%H%M%S", time.localtime(now)) + f".{int(now % 1 * 1000):03d}"
    return f"{stamp}-{short}-{secrets.token_hex(2)}"


def write_json(path: Path, doc: Any) -> None:
    """Write-then-rename, mode 0600, never through a symlink: readers never see half a
    file."""
    trust.write_bytes(path, (json.dumps(doc, indent=2, sort_keys=False) + "\n").encode())


def read_json(path: Path) -> Any:
    """A state file's JSON, only if it is a regular file of ours (trust.py)."""
    try:
        return json.loads(trust.read_bytes(path))
    except FileNotFoundError:
        raise GuardError(_(
            "{path}: no such file").format(
            path=path), 2) from None
    except trust.UntrustedState as e:
        raise GuardError(str(e), 2) from None
    except (OSError, ValueError) as e:
        raise GuardError(_(
            "{path}: unreadable ({e})").format(
            path=path, e=e), 2) from None


def read_model(path: Path, model: type[M]) -> tuple[M, dict[str, Any]]:
    """A state file validated against its model (model.py): (typed, raw)."""
    doc = read_json(path)
    try:
        return model.model_validate(doc), doc
    except ValidationError as e:
        raise GuardError(_(
            "{path}: not a state file ovnguard wrote ({value}); refusing to act on it").format(
            path=path, value=problem(e)), 2) from None


@record
class GuardDir:
    root: Path  # the state dir
    id: str

    @property
    def path(self) -> Path:
        return self.root / self.id

    def file(self, name: str) -> Path:
        return self.path / name

    @property
    def state_file(self) -> Path:
        return self.file("guard.json")

    def read(self) -> GuardState:
        """guard.json, validated and typed (model.GuardState)."""
        return read_model(self.state_file, GuardState)[0]

    def write(self, state: GuardState) -> None:
        write_json(self.state_file, state.to_doc())

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        try:
            fd = trust.open_file(self.file("guard.lock"), os.O_RDWR | os.O_CREAT)
        except trust.UntrustedState as e:
            raise GuardError(str(e), 2) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def update(self, fn: Callable[[GuardState], None]) -> GuardState:
        """Read-modify-write guard.json under the flock; returns the new state."""
        with self.locked():
            state = self.read()
            fn(state)
            self.write(state)
            return state

    def transition(
        self, allowed: frozenset[str] | set[str], new: str,
        fn: Callable[[GuardState], None] | None = None, stamp: str | None = None,
    ) -> tuple[bool, GuardState]:
        """Move to `new` if the status is one of `allowed` (atomically). Returns (moved,
        state)."""
        with self.locked():
            state = self.read()
            if state.status not in allowed:
                return False, state
            state.status = new  # type: ignore[assignment]  # validated on assignment
            if stamp:
                state.stamp(stamp, time.time())
            if fn is not None:
                fn(state)
            self.write(state)
            return True, state


def create_guard_dir(root: Path, guard_id: str) -> GuardDir:
    ensure_dir(root)
    g = GuardDir(root, trust.check_id(guard_id))
    g.path.mkdir(mode=0o700)
    ensure_dir(g.path)
    return g


def list_guards(root: Path) -> list[GuardDir]:
    """The guards in a (trusted) state dir; entries that are not ovnguard ids, symlinks
    and non-directories are not guards."""
    if not os.path.lexists(root):
        return []
    ensure_dir(root)
    return sorted(
        (GuardDir(root, p.name) for p in root.iterdir()
         if trust.valid_id(p.name) and not p.is_symlink() and p.is_dir()
         and (p / "guard.json").exists()),
        key=lambda g: g.id,
    )


# --- one guard per database ---------------------------------------------------------------


def _lock_path(root: Path, database: str, remote: str) -> Path:
    return root / "locks" / f"{lock_key(database, remote)}.json"


def holder(root: Path, database: str, remote: str) -> GuardDir | None:
    """The guard that holds this database's lock, if its state says it is still active.
    A lock left by a guard that finished (or never got going) is removed."""
    lock = read_lock(_lock_path(root, database, remote))
    if lock is None:
        return None
    path = _lock_path(root, database, remote)
    g = GuardDir(root, lock.id)
    try:
        state: GuardState | None = g.read()
    except GuardError:
        state = None
    status = state.status if state is not None else None
    if state is not None and status == PREPARING and not pid_alive(state.cli.get("pid")):
        # The apply that prepared it died before its watcher took over: nothing was applied
        # (a watcher starting right now finds the guard failed and does nothing).
        g.transition({PREPARING}, FAILED, set_error(
            "the ovnguard apply that prepared it died before its watcher started; nothing "
            "was applied"))
        status = g.read().status
    if status in ACTIVE:
        return g
    with contextlib.suppress(OSError):
        path.unlink()
    return None


def read_lock(path: Path) -> LockRecord | None:
    """A lock file (validated: its `id` names a guard directory), or None if absent."""
    try:
        return read_model(path, LockRecord)[0]
    except GuardError:
        if not os.path.lexists(path):
            return None
        raise


def acquire(root: Path, database: str, remote: str, guard_id: str) -> None:
    """Take the database's lock for `guard_id`, or raise naming the guard that holds it."""
    ensure_dir(root)
    ensure_dir(root / "locks")
    path = _lock_path(root, database, remote)
    record = LockRecord(id=trust.check_id(guard_id), database=database, remote=remote,
                        pid=os.getpid(), created=round(time.time(), 3))
    # Written whole under a temporary name, then linked into place: link(2) fails if the
    # lock exists, so taking it and its content are one step (no reader sees it empty).
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    write_json(tmp, record.model_dump())
    try:
        for _attempt in range(3):
            try:
                os.link(tmp, path)
            except FileExistsError:
                held = holder(root, database, remote)
                if held is not None:
                    raise GuardError(locked_message(held), 4) from None
                continue
            return
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()
    raise GuardError(_(
        "could not take the lock {path}").format(
        path=path), 3)


def release(root: Path, database: str, remote: str, guard_id: str) -> None:
    path = _lock_path(root, database, remote)
    trust.release_reserve(root / guard_id)  # the guard is done: its records are written
    try:
        lock = read_lock(path)
    except GuardError:
        return
    if lock is not None and lock.id == guard_id:
        with contextlib.suppress(OSError):
            path.unlink()


def set_error(error: str) -> Callable[[GuardState], None]:
    def fn(s: GuardState) -> None:
        s.error = error

    return fn


def locked_message(g: GuardDir) -> str:
    try:
        s = g.read()
    except GuardError:
        return f"guard {g.id} holds this database (its state is unreadable: {g.state_file})"
    where = f"--state-dir {g.root} " if g.root != default_state_dir() else ""
    deadline = s.timeline.get("deadline")
    when = ""
    if s.status == ARMED and deadline:
        left = deadline - time.time()
        when = (f", rollback at {fmt_time(deadline)} (in {left:.0f}s)" if left > 0
                else f", deadline {fmt_time(deadline)} passed")
    return (
        f"another guard is {s.status} on {s.database} at {s.remote}: "
        f"{g.id} (change {s.change}{when}); `ovnguard confirm {where}--id {g.id}` "
        f"keeps it, `ovnguard rollback {where}--id {g.id}` undoes it"
    )


def fmt_time(t: float | None) -> str:
    if t is None:
        return "-"
    return time.strftime("%H:%M:%S", time.localtime(t)) + f".{int((t % 1) * 1000):03d}"


def find_guard(root: Path, guard_id: str | None, active_only: bool = True) -> GuardDir:
    """The guard named by --id, or the only active one (the newest if `active_only` is
    False and none is active)."""
    guards = list_guards(root)
    if guard_id is not None:
        try:
            trust.check_id(guard_id)
        except trust.UntrustedState as e:
            raise GuardError(str(e), 2) from None
        for g in guards:
            if g.id == guard_id:
                return g
        raise GuardError(_(
            "no guard {guard_id} in {root}").format(
            guard_id=repr(guard_id), root=root), 2)
    active = []
    for g in guards:
        with contextlib.suppress(GuardError):
            if g.read().status in ACTIVE:
                active.append(g)
    if len(active) == 1:
        return active[0]
    if len(active) > 1:
        raise GuardError(
            _(
            "several guards are active; name one with --id: {names}").format(
            names=', '.join(g.id for g in active)),
            2,
        )
    if not active_only and guards:
        return guards[-1]
    raise GuardError(_(
        "no active guard in {root}").format(
        root=root), 2)


def validate_state_dir(path: Path) -> Path:
    """The state dir, refused (exit 2) unless only this user could have written it."""
    if path.exists() and not path.is_symlink() and not path.is_dir():
        raise InputError(_(
            "not a directory"), str(path))
    try:
        if os.path.lexists(path):
            trust.trusted_dir(path)
        else:
            trust.check_ancestors(path)
    except trust.UntrustedState as e:
        raise GuardError(str(e), 2) from None
    return path


def pid_alive(pid: int | None, marker: str | None = None) -> bool:
    """A live (non-zombie) process; with `marker`, one whose command line mentions it."""
    if not pid or pid <= 1:
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    if stat[stat.rfind(")") + 2:][:1] in ("Z", "X", "x", ""):
        return False
    if marker is None:
        return True
    try:
        return marker.encode() in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def watcher_alive(g: GuardDir, state: GuardState | None = None) -> bool:
    s = state if state is not None else g.read()
    return s.watcher is not None and pid_alive(s.watcher.pid, str(g.path))
