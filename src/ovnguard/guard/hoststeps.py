"""A host change (`ip` lines and `ovs-vsctl` lines of one host) as ONE guarded change.

`ovnguard apply` run on a host, for a change whose `# host:` section holds `ip addr|link|route`
lines (and maybe `ovs-vsctl` lines for the same host): the watcher backs up the host's links,
addresses and routes (hoststate.py) and its Open_vSwitch database (as for any host change),
runs the lines in the order written -- each `ip` line as its argv, never through a shell,
each `ovs-vsctl` line as its own transaction -- and on a failed probe, the deadline, or a
line that fails, restores the OVS rows and then the host's state, and verifies both.

Why the order written and not one transaction: the steps of a host change depend on their
order to keep the host reachable (add the address on the NIC before deleting it from the
bridge); there is no transaction over netlink and OVSDB together, so the guard's backup and
verified restore stand in for one.

`apply --host-state FILE` adds a netplan file: written first (`writes`, backed up as
`files`), then the file's difference to the live state as steps of the same kinds
(change/hoststate.py computes it, as for the what-if). `netplan apply` is not run.

`host.json` in the guard's directory holds the steps; the watcher runs only what it holds,
validated here (`ip` or `ovs-vsctl --db=<the guard's remote>` and nothing else).
"""

from __future__ import annotations

import base64
import shutil
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, field_validator

from ovnguard.change.model import Change
from ovnguard.errors import InputError
from ovnguard.guard import hoststate
from ovnguard.guard import state as st
from ovnguard.guard.chain import OVS, Target, command_words, one_host
from ovnguard.i18n import _
from ovnguard.record import record

Log = Callable[[str], None]
HOST_FILE = "host.json"
BACKUP_FILE = "host-backup.json"
STEP_TIMEOUT = 30.0

# iproute2's objects and the verbs of each that change state (iproute2 accepts any unique
# prefix of an object; these are the spellings operators use).
_OBJECTS = {
    "address": "addr", "addr": "addr", "a": "addr",
    "link": "link", "l": "link",
    "route": "route", "ro": "route", "r": "route",
}
_VERBS = {
    "addr": {"add", "del", "delete", "change", "replace"},
    "link": {"set"},
    "route": {"add", "del", "delete", "change", "replace", "append"},
}
_IP_GLOBAL = {"-4", "-6", "-d", "-details", "-s", "-stats", "-j", "-json", "-p", "-pretty"}


class HostStep(BaseModel):
    model_config = ConfigDict(extra="forbid")

    line: int
    text: str
    argv: list[str]

    @field_validator("argv")
    @classmethod
    def _tool(cls, v: list[str]) -> list[str]:
        if not v or v[0] not in ("ip", "ovs-vsctl"):
            raise ValueError("a host step runs `ip` or `ovs-vsctl`, nothing else")
        if v[0] == "ovs-vsctl" and (len(v) < 2 or not v[1].startswith("--db=")):
            raise ValueError("an ovs-vsctl step names its database (--db=) first")
        return v


class FileWrite(BaseModel):
    """A file the change installs (`apply --host-state`: the netplan file), written before
    the steps run; backed up first, restored (or removed) by the rollback."""

    model_config = ConfigDict(extra="forbid")

    path: str
    content: str  # base64
    mode: int = 0o600  # netplan warns about (and newer ones refuse) more open files

    def describe(self) -> str:
        return f"write {self.path}"


class HostPlan(BaseModel):
    """`host.json`: what the watcher runs, in order."""

    model_config = ConfigDict(extra="forbid")

    schema_version: Literal[1] = 1
    host: str | None
    steps: list[HostStep]
    files: list[str] = []  # files the change writes (backed up, restored)
    writes: list[FileWrite] = []  # what it writes there, before the steps


@record
class StepRun:
    line: int
    text: str
    exit: int
    stderr: str
    took: float


def ip_argv(words: Sequence[str], where: str, line: int) -> list[str]:
    """The argv of an `ip` line (words after `ip`, as the change parser expanded them),
    checked to be a change the guard can restore: `ip addr|link|route` changes (creating or
    deleting devices is not: a guard cannot re-create a NIC)."""
    rest = list(words)
    opts = []
    while rest and rest[0].startswith("-"):
        if rest[0] not in _IP_GLOBAL:
            raise InputError(_(
                "ip option {value} is not applied by the guard (only {names})").format(
                value=rest[0], names=', '.join(sorted(_IP_GLOBAL))), where, line)
        opts.append(rest.pop(0))
    if len(rest) < 2 or rest[0] not in _OBJECTS:
        raise InputError(_(
            "the guard applies `ip addr|link|route` changes only: {names}").format(
            names=repr(' '.join(['ip', *words]))), where, line)
    obj = _OBJECTS[rest[0]]
    if obj == "link" and rest[1] in ("add", "del", "delete"):
        raise InputError(_(
            "`ip link {value}` is not applied by the guard: it cannot re-create a device it "
            "deleted, nor know what a new one is for; create or delete devices from a console "
            "(or with netplan/nmstate)").format(
            value=rest[1]), where, line)
    if rest[1] not in _VERBS[obj]:
        raise InputError(_(
            "`ip {value} {value2}` is not a change the guard can restore (it applies ip {obj} "
            "{names})").format(
            value=rest[0], value2=rest[1], obj=obj, names='/'.join(sorted(_VERBS[obj]))),
                         where, line)
    return ["ip", *opts, *rest]


def host_target(change: Change, default_host: str | None, remote_for: Callable[[], str],
                timeout: float, host_state: bool = False) -> tuple[Target, HostPlan] | None:
    """For a change with `ip` lines (or a host-state file: `host_state`): the host it acts
    on and its steps in order; None for a change without them (the guard's OVSDB-only
    path). InputError when the change cannot be applied as one host change."""
    where = change.path
    ips = [inv for inv in change.invocations if inv.tool == "ip"]
    if not ips and not host_state:
        return None
    tools = {inv.tool for inv in change.invocations} - {"ip", "ovs-vsctl"}
    if tools:
        raise InputError(
            _(
            "the change mixes host lines (ip) with {names} lines: a host change is applied on "
            "its host, an NB change on the NB host; split it").format(
            names=', '.join(sorted(tools))), where)
    # A host-state file alone has no lines: the host is then the default (--host, or this
    # host), with no line to point at when there is none.
    host = one_host(
        [(inv.host or default_host, inv.location.line) for inv in change.invocations]
        or [(default_host, None)], where,
        _("a host change acts on one host: say which with a '# host: NAME' line above it or "
          "--host NAME"),
        _("the change has lines for several hosts ({names}): the guard applies a host change "
          "on its host; split it per host"))
    remote = remote_for()
    secs = max(1, int(timeout + 0.999))
    steps = []
    for inv in change.invocations:
        line = inv.location.line
        if inv.tool == "ip":
            if inv.ip is not None and inv.ip.error:
                raise InputError(_(
                    "ip would refuse this line: {error}").format(
                    error=inv.ip.error), where, line)
            if inv.ip is not None and inv.ip.read_only:
                raise InputError(_(
                    "this ip line changes nothing: there is nothing to guard"),
                                 where, line)
            steps.append(HostStep(line=line, text=inv.text,
                                  argv=ip_argv(inv.argv, where, line)))
            continue
        if inv.syntax_error:
            raise InputError(f"{inv.tool}: {inv.syntax_error}", where, line)
        if inv.dry_run or not inv.commands:
            raise InputError(_(
                "a line that changes nothing (--dry-run, no command)"), where,
                             line)
        words: list[str] = []
        for cmd in inv.commands:
            words += ["--", *command_words(cmd)]
        steps.append(HostStep(line=line, text=inv.text, argv=[
            "ovs-vsctl", f"--db={remote}", f"--timeout={secs}", "--no-wait", *words]))
    return Target(OVS, "ovs-vsctl", host), HostPlan(host=host, steps=steps)


def netplan_write(source: Path, netplan_dir: Path) -> FileWrite:
    """The netplan file `source` installed as `netplan_dir`/its name, as netplan reads it."""
    from ovnguard.sources import safeio

    if not source.name.endswith(".yaml"):
        raise InputError(_(
            "netplan reads only *.yaml files: name the file NN-name.yaml"),
                         str(source))
    if not netplan_dir.is_dir():
        raise InputError(_(
            "no such directory (--netplan-dir)"), str(netplan_dir))
    dest = netplan_dir.resolve() / source.name
    if dest == source.resolve():
        raise InputError(
            _(
            "this is the file the guard would replace: give the proposed file from elsewhere "
            "(say /root/{name}); the guard backs up {dest} as it is now, writes the new one "
            "there, and restores the old one on rollback").format(
            name=source.name, dest=dest), str(source))
    raw = safeio.read_bytes(source)
    return FileWrite(path=str(dest), content=base64.b64encode(raw).decode("ascii"))


def write_files(plan: HostPlan, log: Log) -> str | None:
    """Install the plan's files (mode as given, owner: this user); the error, or None."""
    for w in plan.writes:
        try:
            hoststate.write_file(w.path, base64.b64decode(w.content), w.mode, None)
        except OSError as e:
            log(f"{w.describe()}: FAILED: {e.strerror}")
            return f"{w.describe()}: {e.strerror}"
        log(f"{w.describe()} ({len(base64.b64decode(w.content))} bytes, mode {w.mode:04o})")
    return None


def record_argv(plan: HostPlan, remote: str, timeout: float) -> list[str]:
    """guard.json's `argv` for a host change: the chained `ovs-vsctl` lines if any (what the
    OVS part would be as one transaction), else the bare head. The watcher runs host.json's
    steps, in order, instead."""
    secs = max(1, int(timeout + 0.999))
    head = ["ovs-vsctl", f"--db={remote}", f"--timeout={secs}", "--no-wait"]
    for s in plan.steps:
        if s.argv[0] == "ovs-vsctl":
            head += s.argv[4:]
    return head


def load(g: st.GuardDir) -> HostPlan | None:
    """The guard's host steps, or None for an OVSDB-only guard."""
    path = g.file(HOST_FILE)
    if not path.exists():
        return None
    plan, _raw = st.read_model(path, HostPlan)
    return plan


def write(g: st.GuardDir, plan: HostPlan) -> None:
    st.write_json(g.file(HOST_FILE), plan.model_dump(mode="json"))


def read_backup(g: st.GuardDir) -> hoststate.HostBackup | None:
    path = g.file(BACKUP_FILE)
    if not path.exists():
        return None
    return hoststate.HostBackup.from_json(st.read_json(path))


def backup(g: st.GuardDir, plan: HostPlan) -> hoststate.HostBackup:
    """Take the host backup and record it (and `ip -j` output, bundle-style) in the guard."""
    b = hoststate.capture(plan.files)
    st.write_json(g.file(BACKUP_FILE), b.to_json())
    return b


def run_steps(plan: HostPlan, remote: str, log: Log,
              timeout: float = STEP_TIMEOUT) -> tuple[int, str, str, list[StepRun]]:
    """Run every step in order; stop at the first that fails. (exit, stdout, stderr,
    steps run) like the one tool of an OVSDB guard."""
    runs: list[StepRun] = []
    out_all: list[str] = []
    err = write_files(plan, log)
    if err is not None:
        runs.append(StepRun(0, "install the host-state file", 1, err, 0.0))
        return 1, "", err, runs
    for s in plan.steps:
        if s.argv[0] == "ovs-vsctl" and s.argv[1] != f"--db={remote}":
            return 2, "", f"line {s.line}: not the guard's database", runs
        exe = shutil.which(s.argv[0])
        t0 = time.monotonic()
        if exe is None:
            runs.append(StepRun(s.line, s.text, 127, f"{s.argv[0]} not found", 0.0))
            return 127, "", f"line {s.line}: {s.argv[0]} not found", runs
        try:
            p = subprocess.run([exe, *s.argv[1:]], capture_output=True, text=True,
                               timeout=timeout, check=False, stdin=subprocess.DEVNULL)
            rc, so, se = p.returncode, p.stdout, p.stderr
        except subprocess.TimeoutExpired:
            rc, so, se = 124, "", f"did not finish within {timeout:g}s"
        took = time.monotonic() - t0
        runs.append(StepRun(s.line, s.text, rc, se.strip(), took))
        log(f"line {s.line}: {s.text} (exit {rc}, {took * 1000:.0f} ms)"
            + (f": {se.strip()}" if se.strip() else ""))
        out_all.append(so)
        if rc != 0:
            return rc, "".join(out_all), f"line {s.line}: {s.text}: {se.strip()}", runs
    return 0, "".join(out_all), "", runs


def restore(g: st.GuardDir, *, timeout: float, log: Log) -> dict[str, Any] | None:
    """After the OVS rows are back: the host's links, addresses, routes (and files),
    verified against the backup's `ip -j` output. None for an OVSDB-only guard."""
    b = read_backup(g)
    if b is None:
        return None
    return hoststate.restore_and_verify(b, timeout=timeout, log=log)


def host_changed(g: st.GuardDir) -> list[str]:
    b = read_backup(g)
    return hoststate.changed(b) if b is not None else []


def describe_steps(steps: Sequence[HostStep]) -> str:
    return "; ".join(f"line {s.line}: {s.text}" for s in steps)
