"""Starting, recognising and stopping OVS/OVN daemons (ideas from ovsdbapp's venv.py).

Daemons run with --detach and their own --pidfile/--log-file, so they outlive the Python
process that started them (the CLI's `lab up` returns while the lab keeps running). A
process is only ever signalled when /proc says it is one of our daemon binaries *and* its
command line mentions the lab's run dir: pidfiles go stale and pids get reused.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import field
from pathlib import Path

from ovnguard.errors import LabError
from ovnguard.i18n import _
from ovnguard.record import record

DAEMON_BINARIES = frozenset({"ovsdb-server", "ovs-vswitchd", "ovn-northd", "ovn-controller"})

# Flags every OVS/OVN daemon understands; --detach returns once the daemon is initialised
# (ovsdb-server listening, vswitchd configured), so no sleeping is needed after it.
COMMON_DAEMON_FLAGS = ("--detach", "--no-chdir", "-vconsole:off", "-vfile:info")


# Variables that would point our ctl commands at someone else's daemons or run dirs.
_FOREIGN_ENV_PREFIXES = ("OVS_", "OVN_")


def clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """os.environ without OVS_*/OVN_* (e.g. OVN_NB_DAEMON, OVS_RUNDIR), plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_FOREIGN_ENV_PREFIXES)}
    if extra:
        env.update(extra)
    return env


def _short(argv: Sequence[str]) -> str:
    text = " ".join(argv)
    return text if len(text) <= 400 else text[:400] + " ..."


def run(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    timeout: float = 30.0,
    input: bytes | None = None,
    netns: str | None = None,
) -> str:
    """Run a command to completion; any failure is a LabError with the command and stderr."""
    full = [*netns_prefix(netns), *argv]
    try:
        proc = subprocess.run(
            full,
            check=False,
            capture_output=True,
            timeout=timeout,
            env=clean_env(env),
            input=input,
        )
    except FileNotFoundError:
        raise LabError(
            _(
            "{value} not found: install the Debian packages openvswitch-switch, ovn-central "
            "and ovn-host").format(
            value=full[0])
        ) from None
    except subprocess.TimeoutExpired:
        raise LabError(_(
            "timed out after {timeout:g}s: {value}").format(
            timeout=timeout, value=_short(full))) from None
    if proc.returncode != 0:
        err = (
            proc.stderr.decode(errors="replace").strip()
            or proc.stdout.decode(errors="replace").strip()
        )
        how = (
            f"killed by signal {-proc.returncode}"
            if proc.returncode < 0
            else f"exit {proc.returncode}"
        )
        raise LabError(_(
            "command failed ({how}): {value}: {value2}").format(
            how=how, value=_short(full), value2=err[-2000:]))
    return proc.stdout.decode(errors="replace")


def run_bytes(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    timeout: float = 30.0,
    netns: str | None = None,
) -> bytes:
    full = [*netns_prefix(netns), *argv]
    try:
        proc = subprocess.run(
            full, check=False, capture_output=True, timeout=timeout, env=clean_env(env)
        )
    except FileNotFoundError:
        raise LabError(_(
            "{value} not found").format(
            value=full[0])) from None
    except subprocess.TimeoutExpired:
        raise LabError(_(
            "timed out after {timeout:g}s: {value}").format(
            timeout=timeout, value=_short(full))) from None
    if proc.returncode != 0:
        err = proc.stderr.decode(errors="replace").strip()
        raise LabError(_(
            "command failed (exit {returncode}): {value}: {value2}").format(
            returncode=proc.returncode, value=_short(full), value2=err[-2000:]))
    return proc.stdout


def netns_prefix(netns: str | None) -> list[str]:
    """Run inside a network namespace (for the later data-plane mode)."""
    return ["ip", "netns", "exec", netns] if netns else []


@record
class DaemonSpec:
    """How to start one daemon. `args` excludes the common flags, pidfile and log file."""

    name: str
    binary: str
    args: tuple[str, ...]
    pidfile: Path
    logfile: Path
    env: Mapping[str, str] = field(default_factory=dict)
    netns: str | None = None

    def argv(self) -> list[str]:
        return [
            self.binary,
            *COMMON_DAEMON_FLAGS,
            f"--pidfile={self.pidfile}",
            f"--log-file={self.logfile}",
            *self.args,
        ]


def start_daemon(spec: DaemonSpec, *, timeout: float = 30.0, nice: int | None = None) -> int:
    """Start a daemon, return its pid. On failure the LabError carries the log's tail.
    `nice`: start it under that niceness, so the whole process and every thread it will
    create has it (a data-plane lab's ovs-vswitchd, which a broadcast storm keeps busy)."""
    argv = spec.argv()
    if nice:
        argv = ["nice", "-n", str(nice), *argv]
    try:
        run(argv, env=spec.env, timeout=timeout, netns=spec.netns)
    except LabError as e:
        raise LabError(_(
            "{name} did not start: {e}{value}").format(
            name=spec.name, e=e, value=log_tail_text(spec.logfile))) from None
    pid = read_pidfile(spec.pidfile)
    if pid is None:
        raise LabError(
            _(
            "{name} started but wrote no pidfile {pidfile}{value}").format(
            name=spec.name, pidfile=spec.pidfile, value=log_tail_text(spec.logfile))
        )
    return pid


# --- /proc -----------------------------------------------------------------------------


def read_pidfile(path: Path) -> int | None:
    try:
        text = path.read_text().strip()
    except (OSError, UnicodeDecodeError):
        return None
    return int(text) if text.isdigit() else None


def proc_state(pid: int) -> str | None:
    """The state letter from /proc/<pid>/stat (R, S, Z, ...), or None if there is no such pid."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (OSError, UnicodeDecodeError):
        return None
    # comm is in parentheses and may itself contain ')' or spaces.
    rest = stat[stat.rfind(")") + 2 :]
    return rest[:1] or None


def is_alive(pid: int) -> bool:
    """Running or sleeping. Zombies count as dead: PID 1 here reaps them seconds late."""
    state = proc_state(pid)
    return state is not None and state not in ("Z", "X", "x")


def cmdline(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [a.decode(errors="replace") for a in raw.split(b"\0") if a]


def is_ours(pid: int, token: str) -> bool:
    """True if `pid` is a live OVS/OVN daemon whose command line mentions `token` (the run dir)."""
    if pid <= 1 or pid == os.getpid() or not is_alive(pid):
        return False
    args = cmdline(pid)
    if not args or os.path.basename(args[0]) not in DAEMON_BINARIES:
        return False
    return any(token in a for a in args[1:])


def scan_our_daemons(token: str) -> list[int]:
    """Every live daemon of ours found in /proc, pidfile or not (a pidfile can be deleted
    while its daemon lives on)."""
    found = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit() and is_ours(int(entry.name), token):
            found.append(int(entry.name))
    return sorted(found)


def vm_hwm_kib(pid: int) -> int:
    """Peak resident set size of a process, from /proc/<pid>/status (0 if unknown)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def wait_until(predicate: Callable[[], bool], timeout: float, interval: float = 0.02) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def stop_pids(
    pids: Iterable[int], token: str, *, term_timeout: float = 5.0, kill_timeout: float = 3.0
) -> list[int]:
    """TERM all of our pids at once, KILL what is left; return pids that still live."""
    ours = sorted({p for p in pids if is_ours(p, token)})
    for sig, timeout in ((signal.SIGTERM, term_timeout), (signal.SIGKILL, kill_timeout)):
        alive = [p for p in ours if is_ours(p, token)]
        if not alive:
            return []
        for p in alive:
            with contextlib.suppress(ProcessLookupError):
                os.kill(p, sig)
        wait_until(_all_dead(alive), timeout)
    return [p for p in ours if is_alive(p)]


def _all_dead(pids: list[int]) -> Callable[[], bool]:
    return lambda: not any(is_alive(p) for p in pids)


def log_tail(path: Path, lines: int = 12) -> str:
    try:
        with path.open("rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - 16384))
            data = f.read().decode(errors="replace")
    except OSError:
        return ""
    return "\n".join(data.splitlines()[-lines:])


def log_tail_text(path: Path, lines: int = 12) -> str:
    tail = log_tail(path, lines)
    if not tail:
        return f" (no log at {path})"
    return f"\n--- last lines of {path} ---\n{tail}"
