"""Probes: "can I still reach it?", asked before the change and every few seconds after.

Spec forms (`--probe SPEC`, repeatable):

    icmp:ADDR            one `ping -c 1` answered within the timeout (default 1 s)
    tcp:ADDR[:PORT]      a TCP connection accepted (default port 22; IPv6 as [ADDR]:PORT)
    chassis[:SECONDS]    every chassis catches up with NB within SECONDS (default 10):
                         `ovn-nbctl --wait=hv sync`, i.e. SB Chassis_Private.nb_cfg of every
                         chassis reaches the bumped NB_Global.nb_cfg
    cmd:SHELL COMMAND    `sh -c COMMAND` exits 0 within the timeout (default 10 s)

ICMP and TCP probes run inside a network namespace when one is given (`--probe-netns`).
"""

from __future__ import annotations

import ipaddress
import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from ovnguard.errors import InputError
from ovnguard.i18n import _
from ovnguard.record import record

ProbeKind = Literal["icmp", "tcp", "chassis", "cmd"]
DEFAULT_TIMEOUT: Mapping[str, float] = {"icmp": 1.0, "tcp": 1.0, "chassis": 10.0, "cmd": 10.0}
DEFAULT_TCP_PORT = 22

_TCP_SNIPPET = (
    "import socket,sys\n"
    "try:\n"
    "    socket.create_connection((sys.argv[1], int(sys.argv[2])), float(sys.argv[3])).close()\n"
    "except OSError as e:\n"
    "    print(e.strerror or e, file=sys.stderr); sys.exit(1)\n"
)


@record
class Probe:
    kind: ProbeKind
    spec: str  # as the operator wrote it (and as state files and messages show it)
    target: str = ""  # address, or the shell command
    port: int | None = None
    timeout: float = 1.0

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "spec": self.spec, "target": self.target, "port": self.port,
                "timeout": self.timeout}

    @staticmethod
    def from_json(d: Mapping[str, Any]) -> Probe:
        return Probe(d["kind"], d["spec"], d.get("target", ""), d.get("port"),
                     float(d.get("timeout", 1.0)))


@record
class ProbeResult:
    probe: str  # the spec
    ok: bool
    detail: str
    started: float  # time.time()
    finished: float

    def to_json(self) -> dict[str, Any]:
        return {"probe": self.probe, "ok": self.ok, "detail": self.detail,
                "started": round(self.started, 3), "finished": round(self.finished, 3)}


def _address(text: str, spec: str) -> str:
    if not text:
        raise InputError(_(
            "probe {spec}: no address").format(
            spec=repr(spec)))
    if any(c.isspace() for c in text):
        raise InputError(_(
            "probe {spec}: bad address {text}").format(
            spec=repr(spec), text=repr(text)))
    return text


def parse_probe(spec: str, timeout: float | None = None) -> Probe:
    """One `--probe` value; a bad one is an InputError quoting it."""
    kind, sep, rest = spec.partition(":")
    kind = kind.strip().lower()
    if kind == "icmp":
        return Probe("icmp", spec, _address(rest.strip(), spec),
                     timeout=timeout or DEFAULT_TIMEOUT["icmp"])
    if kind == "tcp":
        rest = rest.strip()
        port = DEFAULT_TCP_PORT
        if rest.startswith("["):
            addr, _sep, tail = rest[1:].partition("]")
            if tail:
                if not tail.startswith(":"):
                    raise InputError(_(
                        "probe {spec}: expected tcp:[ADDR]:PORT").format(
                        spec=repr(spec)))
                port = _port(tail[1:], spec)
        elif rest.count(":") == 1:
            addr, p = rest.split(":")
            port = _port(p, spec)
        else:
            addr = rest  # a bare IPv6 address (more than one colon) or a name
        return Probe("tcp", spec, _address(addr, spec), port,
                     timeout or DEFAULT_TIMEOUT["tcp"])
    if kind == "chassis":
        secs = DEFAULT_TIMEOUT["chassis"]
        if sep:
            try:
                secs = float(rest)
            except ValueError:
                raise InputError(
                    _(
                    "probe {spec}: expected chassis or chassis:SECONDS").format(
                    spec=repr(spec))) from None
            if secs <= 0:
                raise InputError(_(
                    "probe {spec}: SECONDS must be positive").format(
                    spec=repr(spec)))
        return Probe("chassis", spec, "", None, secs)
    if kind == "cmd":
        if not rest.strip():
            raise InputError(_(
                "probe {spec}: no command after cmd:").format(
                spec=repr(spec)))
        return Probe("cmd", spec, rest.strip(), None, timeout or DEFAULT_TIMEOUT["cmd"])
    raise InputError(
        _(
        "probe {spec}: unknown kind {kind}; use icmp:ADDR, tcp:ADDR[:PORT], chassis[:SECONDS] "
        "or cmd:COMMAND").format(
        spec=repr(spec), kind=repr(kind))
    )


def _port(text: str, spec: str) -> int:
    return port_number(text, _("probe {spec}: bad port {text}"), spec=repr(spec))


def port_number(text: str, bad_port: str, **fields: str) -> int:
    """A TCP port as written in a spec (decimal, 1-65535). Otherwise an InputError: the
    caller's `bad_port` message with its {text} (the port, quoted) and `fields` filled in --
    the caller's, as a probe spec and an --sb remote are named differently."""
    # ASCII digits only: "²".isdigit() is true and int("²") a ValueError (was a traceback)
    if not (text.isascii() and text.isdigit()) or not 0 < int(text) < 65536:
        raise InputError(bad_port.format(text=repr(text), **fields))
    return int(text)


def default_probes(addresses: Mapping[str, str | None]) -> list[Probe]:
    """ICMP and TCP/22 to every host's management address (host -> address)."""
    out: list[Probe] = []
    seen: set[str] = set()
    for _host, addr in sorted(addresses.items()):
        if not addr or addr in seen:
            continue
        seen.add(addr)
        shown = f"[{addr}]" if ":" in addr else addr
        out.append(parse_probe(f"icmp:{addr}"))
        out.append(parse_probe(f"tcp:{shown}:{DEFAULT_TCP_PORT}"))
    return out


@record
class ProbeContext:
    """Where probes run from and what they talk to."""

    netns: str | None = None
    nb_remote: str | None = None  # for `chassis`
    sb_remote: str | None = None  # for naming the chassis that lag behind
    # Forget the target's neighbour (ARP) entry before each icmp/tcp probe, so every probe
    # starts with a broadcast: an L2 loop breaks broadcasts (and MAC learning) first, and a
    # probe riding a warm ARP cache can keep passing for many seconds while the next ARP
    # of any real client would fail (measured in the data-plane lab, docs/dataplane.md).
    cold: bool = False


def _netns(ctx: ProbeContext) -> list[str]:
    return ["ip", "netns", "exec", ctx.netns] if ctx.netns else []


def _run(argv: Sequence[str], timeout: float) -> tuple[int, str]:
    try:
        p = subprocess.run(argv, capture_output=True, timeout=timeout, check=False,
                           stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return 124, f"no answer within {timeout:g}s"
    except FileNotFoundError:
        return 127, f"{argv[0]} not found"
    text = (p.stderr or p.stdout).decode(errors="replace").strip().splitlines()
    return p.returncode, text[-1] if text else ""


def run_probe(probe: Probe, ctx: ProbeContext) -> ProbeResult:
    started = time.time()
    ok, detail = _dispatch(probe, ctx)
    return ProbeResult(probe.spec, ok, detail, started, time.time())


def _forget_neighbour(addr: str, ctx: ProbeContext) -> None:
    # Best effort: without CAP_NET_ADMIN the probe simply runs warm.
    _run([*_netns(ctx), "ip", "neigh", "flush", "to", addr], 3)


_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


def _target_lock(addr: str) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault(addr, threading.Lock())


def _dispatch(probe: Probe, ctx: ProbeContext) -> tuple[bool, str]:
    if ctx.cold and probe.kind in ("icmp", "tcp"):
        # One probe per address at a time: forgetting the entry while the other probe of
        # the same address is resolving it fails that probe (measured: 3 of 360 on a
        # healthy lab).
        with _target_lock(probe.target):
            _forget_neighbour(probe.target, ctx)
            return _probe(probe, ctx)
    return _probe(probe, ctx)


def _probe(probe: Probe, ctx: ProbeContext) -> tuple[bool, str]:
    if probe.kind == "icmp":
        six = _is_v6(probe.target)
        argv = [*_netns(ctx), "ping", "-n", "-q", "-c", "1", "-W", f"{probe.timeout:g}",
                *(["-6"] if six else []), probe.target]
        rc, err = _run(argv, probe.timeout + 2)
        return (True, "answered") if rc == 0 else (False, err or f"no reply (ping exit {rc})")
    if probe.kind == "tcp":
        assert probe.port is not None
        if ctx.netns:
            argv = [*_netns(ctx), sys.executable, "-c", _TCP_SNIPPET, probe.target,
                    str(probe.port), str(probe.timeout)]
            rc, err = _run(argv, probe.timeout + 5)
            return (True, "connected") if rc == 0 else (False, err or f"exit {rc}")
        try:
            socket.create_connection((probe.target, probe.port), probe.timeout).close()
        except OSError as e:
            return False, str(e.strerror or e)
        return True, "connected"
    if probe.kind == "chassis":
        return _chassis(probe, ctx)
    rc, err = _run(["/bin/sh", "-c", probe.target], probe.timeout)
    if rc == 0:
        return True, "exit 0"
    return False, f"exit {rc}" + (f": {err}" if err else "")


def _is_v6(addr: str) -> bool:
    try:
        return ipaddress.ip_address(addr).version == 6
    except ValueError:
        return False


def _chassis(probe: Probe, ctx: ProbeContext) -> tuple[bool, str]:
    if not ctx.nb_remote:
        return False, "needs the NB database (--nb)"
    secs = max(1, int(probe.timeout + 0.999))
    argv = ["ovn-nbctl", f"--db={ctx.nb_remote}", f"--timeout={secs}", "--wait=hv", "sync"]
    from ovnguard.guard.ovsdb import tool_env

    try:
        p = subprocess.run(argv, capture_output=True, timeout=secs + 5, check=False,
                           env=tool_env(), stdin=subprocess.DEVNULL)
        rc = p.returncode
        err = p.stderr.decode(errors="replace").strip()
    except subprocess.TimeoutExpired:
        rc, err = 124, ""
    except FileNotFoundError:
        return False, "ovn-nbctl not found"
    if rc == 0:
        return True, "every chassis caught up"
    behind = lagging_chassis(ctx.nb_remote, ctx.sb_remote) if ctx.sb_remote else []
    who = f" (behind: {', '.join(behind)})" if behind else ""
    return False, f"not every chassis caught up within {probe.timeout:g}s{who}" + (
        f": {err.splitlines()[-1]}" if err and rc != 124 and "timeout" not in err.lower()
        else "")


def lagging_chassis(nb_remote: str, sb_remote: str) -> list[str]:
    """Chassis whose Chassis_Private.nb_cfg is behind NB_Global.nb_cfg."""
    from ovnguard.guard.ovsdb import OvnguardError, query

    try:
        nb = query(nb_remote, "OVN_Northbound",
                   [{"op": "select", "table": "NB_Global", "where": [], "columns": ["nb_cfg"]}],
                   timeout=3)
        want = max((r["nb_cfg"] for r in nb[0]["rows"]), default=0)
        sb = query(sb_remote, "OVN_Southbound",
                   [{"op": "select", "table": "Chassis_Private", "where": [],
                     "columns": ["name", "nb_cfg"]}], timeout=3)
    except (OvnguardError, KeyError, ValueError, json.JSONDecodeError):
        return []
    return sorted(r["name"] for r in sb[0]["rows"] if r["nb_cfg"] < want)
