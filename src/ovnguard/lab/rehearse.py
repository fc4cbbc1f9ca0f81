"""`ovnguard rehearse`: run a change for real against a replica of the cluster in a bundle.

    result = rehearse("bundle/", read_change("change.sh"))
    result.to_json(); result.exit_code

The replica (replica.py) is started, each chassis' ports and L2 behaviour are recorded, every
line of the change runs as the real tool (`ovn-nbctl` against the lab NB, `ovs-vsctl`
against the `# host:` chassis' own database), `ovn-nbctl --wait=hv sync` waits until every
chassis caught up, and what really happened is read back: patch ports real ovn-controller
added or removed, what the daemons logged meanwhile, commands that failed with the tool's
own error, and L2 loops found by `ofproto/trace` of a broadcast entering each provider
bridge from each NIC and each localnet patch port. The lab is then stopped, whatever
happened, unless asked to keep it.

Pure parts (trace and log parsing, the Neutron translation, the result) are plain functions
of their inputs; the orchestration in `rehearse()` is the only place that runs daemons.
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ovnguard.change.model import Change, ChangeProblem, Invocation
from ovnguard.change.neutron import UnsupportedNeutron, ml2_config, network_create
from ovnguard.change.syntax import strip_global_options as _strip
from ovnguard.change.txn import CtlError, Txn
from ovnguard.errors import LabError
from ovnguard.lab.lab import Lab
from ovnguard.lab.process import clean_env, run_bytes
from ovnguard.lab.replica import ReplicaPlan, plan_replica, start_replica
from ovnguard.lab.vsctl_json import json_tables, list_args, uuids
from ovnguard.model.db import ColumnType, Database, RowChange, Uuid, Value, diff
from ovnguard.simulation.types import HostDelta, PatchPort
from ovnguard.sources.ovsdb_file import parse_database

SCHEMA_VERSION = "1.0"
COMMAND_TIMEOUT = 10.0  # seconds for one command of the change
SYNC_TIMEOUT = 10.0  # seconds for every chassis to catch up after the change

Status = Literal["ok", "failed", "skipped", "not-rehearsed"]
Verdict = Literal["safe", "risky", "dangerous"]


# --- what the result holds -------------------------------------------------------------


@dataclass(frozen=True)
class CommandRun:
    """One line of the change and what running it for real gave."""

    line: int
    path: str
    tool: str  # "ovn-nbctl" | "ovs-vsctl" | "openstack" | "" (a line that is no command)
    host: str | None
    command: str  # as written, variables expanded
    status: Status
    ran: tuple[tuple[str, ...], ...] = ()  # the argv really run (against the lab)
    exit_code: int | None = None
    error: str = ""  # the tool's own stderr, or why it was not rehearsed
    output: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "line": self.line,
            "location": f"{self.path}:{self.line}",
            "tool": self.tool or None,
            "host": self.host,
            "command": self.command,
            "status": self.status,
            "ran": [" ".join(_shell_quote(a) for a in argv) for argv in self.ran],
            "exit_code": self.exit_code,
            "error": self.error or None,
            "output": self.output or None,
        }


@dataclass(frozen=True)
class LogLine:
    daemon: str  # "ovn-controller" | "ovs-vswitchd" | "ovn-northd"
    time: str
    module: str
    level: str  # "INFO" | "WARN" | "ERR" | "EMER" | "DBG"
    message: str

    def to_json(self) -> dict[str, str]:
        return {
            "daemon": self.daemon,
            "time": self.time,
            "module": self.module,
            "level": self.level,
            "message": self.message,
        }


@dataclass(frozen=True)
class TraceResult:
    """`ofproto/trace` of one broadcast entering one port of a provider bridge."""

    bridge: str
    entry: str  # the port the broadcast enters on
    entry_kind: str  # "nic" | "localnet-patch"
    vlan: int | None
    loop: bool
    depth_exceeded: bool
    copies: Mapping[str, int]  # datapath output port (name) -> copies of the one packet
    path: tuple[str, ...]  # the first bridges it crosses, in order
    evidence: str  # the trace's own words
    introduced_by_change: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "bridge": self.bridge,
            "entry": self.entry,
            "entry_kind": self.entry_kind,
            "vlan": self.vlan,
            "loop": self.loop,
            "depth_exceeded": self.depth_exceeded,
            "copies": dict(sorted(self.copies.items())),
            "path": list(self.path),
            "evidence": self.evidence,
            "introduced_by_change": self.introduced_by_change,
        }


@dataclass(frozen=True)
class HostOutcome:
    host: str
    chassis: str
    ports_before: Mapping[str, tuple[str, ...]]
    ports_after: Mapping[str, tuple[str, ...]]
    delta: HostDelta
    logs: tuple[LogLine, ...] = ()
    traces: tuple[TraceResult, ...] = ()
    dead_daemons: tuple[str, ...] = ()

    @property
    def loops(self) -> tuple[TraceResult, ...]:
        return tuple(t for t in self.traces if t.loop)


@dataclass(frozen=True)
class RehearsalResult:
    bundle: str
    change: str
    run_dir: str
    kept: bool
    commands: tuple[CommandRun, ...]
    hosts: Mapping[str, HostOutcome]
    central_logs: tuple[LogLine, ...] = ()
    synced: bool = True
    sync_error: str = ""
    sync_seconds: float = 0.0
    dead_central: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    seconds: float = 0.0

    @property
    def loops(self) -> list[tuple[str, TraceResult]]:
        return [(h, t) for h, o in sorted(self.hosts.items()) for t in o.loops]

    @property
    def dangers(self) -> list[str]:
        """One sentence per piece of dangerous evidence (one per looped bridge)."""
        out = []
        groups: dict[tuple[str, str], list[TraceResult]] = {}
        for host, t in self.loops:
            groups.setdefault((host, t.bridge), []).append(t)
        for (host, bridge), ts in groups.items():
            first = next((t for t in ts if t.entry_kind == "nic"), ts[0])
            entries = ", ".join(t.entry for t in ts)
            new = any(t.introduced_by_change for t in ts)
            when = "created by the change" if new else "already there before the change"
            out.append(
                f"L2 loop on {host}, bridge {bridge}: a broadcast entering from "
                f"{entries} comes back ({first.evidence}); {when}"
            )
        if not self.synced:
            out.append(
                f"not every chassis caught up with the NB after the change: {self.sync_error}"
            )
        for host, o in sorted(self.hosts.items()):
            for d in o.dead_daemons:
                out.append(f"{d} on {host} exited during the change")
        for d in self.dead_central:
            out.append(f"{d} exited during the change")
        return out

    @property
    def verdict(self) -> Verdict:
        if self.dangers:
            return "dangerous"
        noisy = any(
            ln.level in ("WARN", "ERR", "EMER") for o in self.hosts.values() for ln in o.logs
        )
        noisy = noisy or any(ln.level in ("WARN", "ERR", "EMER") for ln in self.central_logs)
        if noisy or any(c.status != "ok" for c in self.commands):
            return "risky"
        return "safe"

    @property
    def exit_code(self) -> int:
        return 1 if self.verdict == "dangerous" else 0

    def realization(self) -> dict[str, dict[str, list[dict[str, str]]]]:
        return {h: o.delta.to_json() for h, o in sorted(self.hosts.items())}

    def to_json(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "kind": "rehearsal",
            "bundle": self.bundle,
            "change": self.change,
            "verdict": self.verdict,
            "dangers": self.dangers,
            "commands": [c.to_json() for c in self.commands],
            "sync": {
                "ok": self.synced,
                "seconds": round(self.sync_seconds, 3),
                "error": self.sync_error or None,
            },
            "realization": self.realization(),
            "logs": {h: [ln.to_json() for ln in o.logs] for h, o in sorted(self.hosts.items())},
            "central_logs": [ln.to_json() for ln in self.central_logs],
            "loops": [{"host": h, **t.to_json()} for h, t in self.loops],
            "traces": {h: [t.to_json() for t in o.traces] for h, o in sorted(self.hosts.items())},
            "dead_daemons": [
                *self.dead_central,
                *(f"{h}/{d}" for h, o in sorted(self.hosts.items()) for d in o.dead_daemons),
            ],
            "hosts": {
                h: {
                    "chassis": o.chassis,
                    "ports_before": {b: list(p) for b, p in o.ports_before.items()},
                    "ports_after": {b: list(p) for b, p in o.ports_after.items()},
                }
                for h, o in sorted(self.hosts.items())
            },
            "notes": list(self.notes),
            "lab": {"run_dir": self.run_dir, "kept": self.kept},
            "seconds": round(self.seconds, 3),
        }


# --- rehearsing ------------------------------------------------------------------------


def rehearse(
    bundle_dir: str | Path,
    change: Change,
    *,
    run_dir: str | Path | None = None,
    keep_lab: bool = False,
    timeout: float = 60.0,
    sync_timeout: float = SYNC_TIMEOUT,
    command_timeout: float = COMMAND_TIMEOUT,
    plan: ReplicaPlan | None = None,
) -> RehearsalResult:
    """Rehearse `change` on a replica of the bundle's cluster (see the module docstring).

    InputError for a bad bundle, LabError when the lab cannot start or be read. The lab is
    stopped before returning or raising unless `keep_lab`; a temporary run dir (no
    `run_dir`) is then deleted too.
    """
    started = time.monotonic()
    plan = plan or plan_replica(bundle_dir)
    temp_dir = None
    if run_dir is None:
        temp_dir = Path(tempfile.mkdtemp(prefix="ovnguard-rehearse-"))
        run_dir = temp_dir
    lab: Lab | None = None
    try:
        lab = start_replica(plan, run_dir, timeout=timeout)
        outcome = _Rehearsal(lab, plan, change, sync_timeout, command_timeout).run()
        result = _finish(outcome, plan, change, lab, keep_lab, time.monotonic() - started)
    except BaseException:
        if not keep_lab:
            with contextlib.suppress(LabError):  # the first error is the one to report
                _teardown(lab, temp_dir)
        raise
    if not keep_lab:
        _teardown(lab, temp_dir)
    return result


def _teardown(lab: Lab | None, temp_dir: Path | None) -> None:
    # Lab.up stops what it started when it fails; a lab already running in a given run dir
    # (the reason it failed) is someone else's and stays untouched.
    try:
        if lab is not None:
            lab.down()
    finally:
        if temp_dir is not None:
            shutil.rmtree(temp_dir, ignore_errors=True)


def _finish(
    r: _Outcome, plan: ReplicaPlan, change: Change, lab: Lab, kept: bool, seconds: float
) -> RehearsalResult:
    notes = [*plan.notes, *(n for h in plan.hosts for n in h.notes)]
    return RehearsalResult(
        bundle=str(plan.bundle),
        change=change.path,
        run_dir=str(lab.run_dir),
        kept=kept,
        commands=r.commands,
        hosts=r.hosts,
        central_logs=r.central_logs,
        synced=r.synced,
        sync_error=r.sync_error,
        sync_seconds=r.sync_seconds,
        dead_central=r.dead_central,
        notes=tuple(notes),
        seconds=seconds,
    )


@dataclass
class _Outcome:
    commands: tuple[CommandRun, ...]
    hosts: dict[str, HostOutcome]
    central_logs: tuple[LogLine, ...]
    synced: bool
    sync_error: str
    sync_seconds: float
    dead_central: tuple[str, ...]


@dataclass
class _HostSnapshot:
    ovs: HostOvs
    traces: list[TraceResult]


class _Rehearsal:
    def __init__(
        self,
        lab: Lab,
        plan: ReplicaPlan,
        change: Change,
        sync_timeout: float,
        command_timeout: float,
    ) -> None:
        self.lab = lab
        self.plan = plan
        self.change = change
        self.sync_timeout = sync_timeout
        self.command_timeout = command_timeout
        self.hosts = lab.host_names()
        self.chassis = {h.name: h.chassis for h in plan.hosts}

    def _each_host(self, fn: Callable[[str], Any]) -> dict[str, Any]:
        with ThreadPoolExecutor(max_workers=min(8, max(1, len(self.hosts)))) as pool:
            futures = {h: pool.submit(fn, h) for h in self.hosts}
            return {h: f.result() for h, f in futures.items()}

    def _snapshot(self, host: str) -> _HostSnapshot:
        ovs = read_host(self.lab, host)
        return _HostSnapshot(ovs, trace_host(self.lab, host, ovs))

    def run(self) -> _Outcome:
        before: dict[str, _HostSnapshot] = self._each_host(self._snapshot)
        logs = _log_files(self.lab)
        offsets = {key: _size(p) for key, p in logs.items()}
        pids_before = self.lab.pids()

        commands = apply_for_real(self.lab, self.change, self.plan, self.command_timeout)

        t0 = time.monotonic()
        synced, sync_error = True, ""
        try:
            self.lab.wait_hv(timeout=self.sync_timeout)
        except LabError as e:
            synced, sync_error = False, str(e)
        sync_seconds = time.monotonic() - t0

        # Logs are cut here: what follows (traces, the recompute) is the rehearsal's own doing.
        new_logs = {key: parse_log(_read_from(p, offsets[key]), key[1]) for key, p in logs.items()}
        pids_after = self.lab.pids()
        after: dict[str, _HostSnapshot] = self._each_host(self._snapshot)

        # Ports no longer wanted may stay until a full recompute (ovn-controller 23.03 keeps
        # a patch pair after the last local VIF goes away); one recompute tells them apart.
        recomputed: dict[str, HostOvs] = {}
        if synced:
            for h in self.hosts:
                with contextlib.suppress(LabError):
                    self.lab.appctl_controller(h, "recompute")
            with contextlib.suppress(LabError):
                self.lab.wait_hv(timeout=self.sync_timeout)
            recomputed = self._each_host(lambda h: read_host(self.lab, h))

        hosts: dict[str, HostOutcome] = {}
        for h in self.hosts:
            b, a = before[h], after[h]
            traces = mark_introduced(b.traces, a.traces)
            r = recomputed.get(h)
            delta = patch_delta(b.ovs.ports, a.ovs.ports, r.ports if r else None)
            dead = tuple(
                sorted(
                    k.split("/", 1)[1]
                    for k in pids_before
                    if k.startswith(h + "/") and k not in pids_after
                )
            )
            host_logs = tuple(
                ln for (who, _), lines in new_logs.items() if who == h for ln in lines
            )
            hosts[h] = HostOutcome(
                host=h,
                chassis=self.chassis.get(h, h),
                ports_before=bridge_ports(b.ovs.ports),
                ports_after=bridge_ports(a.ovs.ports),
                delta=delta,
                logs=tuple(sorted(host_logs, key=lambda ln: ln.time)),
                traces=tuple(traces),
                dead_daemons=dead,
            )
        central = tuple(ln for (who, _), lines in new_logs.items() if who == "" for ln in lines)
        dead_central = tuple(sorted(k for k in pids_before if "/" not in k and k not in pids_after))
        return _Outcome(commands, hosts, central, synced, sync_error, sync_seconds, dead_central)


# --- a chassis' ports ------------------------------------------------------------------


@dataclass(frozen=True)
class OvsPort:
    bridge: str
    name: str
    type: str  # of its (first) interface
    external_ids: Mapping[str, str] = field(default_factory=dict)  # the Port's

    @property
    def is_patch(self) -> bool:
        return self.type == "patch"

    @property
    def localnet(self) -> str | None:
        return self.external_ids.get("ovn-localnet-port") or self.external_ids.get(
            "ovn-l2gateway-port"
        )

    @property
    def is_nic(self) -> bool:
        return self.type in ("", "system", "dummy", "dummy-pmd", "afxdp", "afxdp-nonpmd")


@dataclass(frozen=True)
class HostOvs:
    ports: tuple[OvsPort, ...]
    external_ids: Mapping[str, str]  # of the Open_vSwitch row

    @property
    def integration_bridge(self) -> str:
        return self.external_ids.get("ovn-bridge") or "br-int"

    def provider_bridges(self) -> list[str]:
        """Bridges in ovn-bridge-mappings and bridges holding a localnet patch port,
        except the integration bridge."""
        raw = self.external_ids.get("ovn-bridge-mappings", "")
        names = {e.partition(":")[2].strip() for e in raw.split(",") if ":" in e}
        names |= {p.bridge for p in self.ports if p.localnet}
        present = {p.bridge for p in self.ports}
        return sorted(n for n in names if n in present and n != self.integration_bridge)


def read_host(lab: Lab, host: str) -> HostOvs:
    """Every port of every bridge of a chassis (the bridge's local port excluded), and the
    Open_vSwitch external_ids."""
    out = lab.vsctl(host, *list_args(("Bridge", "name,ports"),
                                     ("Port", "_uuid,name,interfaces,external_ids"),
                                     ("Interface", "_uuid,type"),
                                     ("Open_vSwitch", "external_ids")))
    bridges, ports, ifaces, root = json_tables(out)
    itype = {row[0][1]: row[1] for row in ifaces["data"]}
    port_rows = {row[0][1]: row for row in ports["data"]}
    result = []
    for br_name, port_set in bridges["data"]:
        for u in uuids(port_set):
            row = port_rows.get(u)
            if row is None or row[1] == br_name:
                continue
            _, name, iface_set, ext = row
            first = uuids(iface_set)
            typ = itype.get(first[0], "") if first else ""
            result.append(OvsPort(br_name, name, typ, dict(_ovsdb_map(ext))))
    ext_ids = dict(_ovsdb_map(root["data"][0][0])) if root["data"] else {}
    return HostOvs(tuple(sorted(result, key=lambda p: (p.bridge, p.name))), ext_ids)


def bridge_ports(ports: Iterable[OvsPort]) -> dict[str, tuple[str, ...]]:
    out: dict[str, list[str]] = {}
    for p in ports:
        out.setdefault(p.bridge, []).append(p.name)
    return {b: tuple(sorted(ps)) for b, ps in sorted(out.items())}


def patch_delta(
    before: Iterable[OvsPort], after: Iterable[OvsPort], recomputed: Iterable[OvsPort] | None
) -> HostDelta:
    """Patch ports added / removed by the change, and those only a recompute removes."""
    b = {PatchPort(p.bridge, p.name) for p in before if p.is_patch}
    a = {PatchPort(p.bridge, p.name) for p in after if p.is_patch}
    stale: set[PatchPort] = set()
    if recomputed is not None:
        r = {PatchPort(p.bridge, p.name) for p in recomputed if p.is_patch}
        stale = (a & b) - r
    return HostDelta(
        added=tuple(sorted(a - b)), removed=tuple(sorted(b - a)), stale=tuple(sorted(stale))
    )






def _ovsdb_map(value: Any) -> list[tuple[str, str]]:
    if isinstance(value, list) and len(value) == 2 and value[0] == "map":
        return [(str(k), str(v)) for k, v in value[1]]
    return []


# --- L2 loops: ofproto/trace -----------------------------------------------------------

# An ARP request from a documentation MAC/IP (RFC 7042, RFC 5737): a broadcast nothing in a
# real cluster answers, so OVN floods it like any unknown broadcast.
BROADCAST = (
    "dl_src=00:00:5e:00:53:01,dl_dst=ff:ff:ff:ff:ff:ff,arp,arp_op=1,"
    "arp_spa=192.0.2.1,arp_tpa=192.0.2.2"
)


def trace_host(lab: Lab, host: str, ovs: HostOvs) -> list[TraceResult]:
    """A broadcast into every NIC and every localnet patch port of every provider bridge."""
    bridges = ovs.provider_bridges()
    if not bridges:
        return []
    names = dp_port_names(lab.appctl_vswitchd(host, "dpif/show"))
    out = []
    for br in bridges:
        for p in ovs.ports:
            if p.bridge != br or not (p.is_nic or (p.is_patch and p.localnet)):
                continue
            kind = "nic" if p.is_nic else "localnet-patch"
            text = lab.appctl_vswitchd(host, "ofproto/trace", br, f"in_port={p.name},{BROADCAST}")
            out.append(parse_trace(text, br, p.name, kind, None, names))
    return out


_DP_PORT = re.compile(r"^\s{4}(\S+) (\S+)/(\d+):")


def dp_port_names(dpif_show: str) -> dict[str, str]:
    """Datapath port number -> interface name, from `ovs-appctl dpif/show`."""
    out = {}
    for line in dpif_show.splitlines():
        m = _DP_PORT.match(line)
        if m:
            out[m.group(3)] = m.group(1)
    return out


_DEPTH = re.compile(r"over max translation depth( \d+)?")
_BRIDGE = re.compile(r'^\s*bridge\("([^"]+)"\)')


def parse_trace(
    text: str,
    bridge: str,
    entry: str,
    kind: str,
    vlan: int | None,
    dp_names: Mapping[str, str],
) -> TraceResult:
    """Is there a loop in this `ofproto/trace` output? Yes when translation ran out of depth
    (the packet keeps going round the bridges) or the one packet leaves the same datapath
    port more than once."""
    depth = _DEPTH.search(text)
    copies: Counter[str] = Counter()
    for line in text.splitlines():
        if line.startswith("Datapath actions:"):
            for action in _split_actions(line.partition(":")[2]):
                if action.isdigit():
                    copies[dp_names.get(action, f"dp port {action}")] += 1
    path = tuple(m.group(1) for m in map(_BRIDGE.match, text.splitlines()) if m)[:6]
    repeated = {p: n for p, n in copies.items() if n > 1}
    loop = depth is not None or bool(repeated)
    words = []
    if depth is not None:
        words.append(depth.group(0).strip())
    if repeated:
        words.append(", ".join(f"{n} copies out {p}" for p, n in sorted(repeated.items())))
    if not words:
        outs = ", ".join(sorted(copies)) or "nothing"
        words.append(f"delivered once to each of: {outs}")
    return TraceResult(
        bridge, entry, kind, vlan, loop, depth is not None, dict(copies), path, "; ".join(words)
    )


def _split_actions(text: str) -> list[str]:
    """Split datapath actions at the commas that are not inside parentheses."""
    out: list[str] = []
    cur: list[str] = []
    depth = 0
    for ch in text.strip():
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            out.append("".join(cur).strip())
            cur = []
        else:
            cur.append(ch)
    if cur:
        out.append("".join(cur).strip())
    return out


def mark_introduced(
    before: Sequence[TraceResult], after: Sequence[TraceResult]
) -> list[TraceResult]:
    looped = {(t.bridge, t.entry, t.vlan) for t in before if t.loop}
    out = []
    for t in after:
        new = t.loop and (t.bridge, t.entry, t.vlan) not in looped
        out.append(
            TraceResult(
                t.bridge,
                t.entry,
                t.entry_kind,
                t.vlan,
                t.loop,
                t.depth_exceeded,
                t.copies,
                t.path,
                t.evidence,
                new,
            )
        )
    return out


# --- logs ------------------------------------------------------------------------------

# Worth reporting although logged at INFO: the lines that say why something was not
# realized, and binding moves.
NOTABLE_INFO = (
    "bridge not found for localnet port",
    "Claiming lport",
    "Releasing lport",
    "Changing chassis for lport",
)
_LOG = re.compile(r"^(\S+)\|\d+\|([^|]+)\|([A-Z]+)\|(.*)$")


def parse_log(text: str, daemon: str) -> list[LogLine]:
    """Warnings, errors and notable INFO lines of an OVS/OVN log file fragment."""
    out = []
    for line in text.splitlines():
        m = _LOG.match(line)
        if not m:
            continue
        ts, module, level, message = m.groups()
        if level in ("WARN", "ERR", "EMER") or (
            level == "INFO" and any(p in message for p in NOTABLE_INFO)
        ):
            out.append(LogLine(daemon, ts, module, level, message))
    return out


def _log_files(lab: Lab) -> dict[tuple[str, str], Path]:
    files: dict[tuple[str, str], Path] = {
        ("", "ovn-northd"): lab.layout.northd_dir / "ovn-northd.log",
    }
    for h in lab.host_names():
        hp = lab.host_paths(h)
        files[(h, "ovn-controller")] = hp.controller_log
        files[(h, "ovs-vswitchd")] = hp.vswitchd_log
    return files


def _size(p: Path) -> int:
    try:
        return p.stat().st_size
    except OSError:
        return 0


def _read_from(p: Path, offset: int) -> str:
    try:
        with p.open("rb") as f:
            f.seek(offset)
            return f.read().decode(errors="replace")
    except OSError:
        return ""


# --- running the change ----------------------------------------------------------------

# Global options that would point the tool somewhere else or change how it runs as a
# process; the rehearsal sets --db and --timeout itself.
_DROP = frozenset(
    {
        "db",
        "timeout",
        "t",
        "unixctl",
        "u",
        "detach",
        "no-chdir",
        "no-self-confinement",
        "pidfile",
        "overwrite-pidfile",
        "monitor",
        "user",
        "log-file",
        "syslog-method",
        "syslog-target",
        "private-key",
        "p",
        "certificate",
        "c",
        "ca-cert",
        "C",
        "bootstrap-ca-cert",
        "peer-ca-cert",
        "ssl-protocols",
        "ssl-ciphers",
        "no-syslog",
    }
)
# ovs-vsctl words that would make a lab daemon connect to (or listen on) something outside
# the lab: a rehearsal never touches the network.
_REMOTE = re.compile(r'(^|[=\s"\[,{])p?(tcp|ssl|unix):')
_REMOTE_VERBS = frozenset({"set-manager", "set-controller", "set-ssl"})


def strip_global_options(argv: Sequence[str]) -> list[str]:
    """The invocation's words without the global options the rehearsal replaces."""
    return _strip(list(argv), _DROP)


def apply_for_real(
    lab: Lab, change: Change, plan: ReplicaPlan, timeout: float
) -> tuple[CommandRun, ...]:
    """Run every invocation of the change against the lab, in order, like a shell would
    (an `&&` after a failure skips), and the parser's problems as not-rehearsed lines."""
    runs: list[CommandRun] = []
    last_ok = True
    ml2 = _ml2(plan)
    for inv in change.invocations:
        if inv.after == "&&" and not last_ok:
            r = _run(inv, "skipped", error="skipped: the command before `&&` failed")
        elif inv.tool == "ovn-nbctl":
            r = _exec(
                inv,
                [
                    [
                        "ovn-nbctl",
                        f"--db={lab.nb_remote}",
                        f"--timeout={_secs(timeout)}",
                        *strip_global_options(inv.argv),
                    ]
                ],
                {},
                timeout,
            )
        elif inv.tool == "ovs-vsctl":
            r = _vsctl(lab, inv, timeout)
        else:
            r = _openstack(lab, inv, ml2, timeout)
        last_ok = r.status == "ok"
        runs.append(r)
    runs += [_problem_run(p) for p in change.problems]
    return tuple(sorted(runs, key=lambda r: r.line))


def _vsctl(lab: Lab, inv: Invocation, timeout: float) -> CommandRun:
    hosts = lab.host_names()
    host = inv.host
    if host is not None and host not in hosts:
        # `# host:` may name the chassis (system-id) instead of the hostname.
        host = next((h.name for h in lab.topology.hosts if h.chassis_name == host), host)
    if host is None:
        return _run(
            inv,
            "not-rehearsed",
            error=(
                "ovs-vsctl acts on one host's Open_vSwitch database: say which with a "
                f"'# host: NAME' line above it (hosts: {', '.join(hosts)})"
            ),
        )
    if host not in hosts:
        return _run(
            inv,
            "not-rehearsed",
            error=(f"host {host} is not in the replica (hosts: {', '.join(hosts)})"),
        )
    words = list(inv.argv)
    verbs = {c.verb for c in inv.commands}
    if verbs & _REMOTE_VERBS or any(_REMOTE.search(w) or "ovn-remote" in w for w in words):
        return _run(
            inv,
            "not-rehearsed",
            error=(
                "not run: it would point a daemon of the lab at a connection target (managers, "
                "controllers, SSL, ovn-remote); a rehearsal never connects outside the lab"
            ),
        )
    hp = lab.host_paths(host)
    argv = [
        "ovs-vsctl",
        f"--db={hp.ovsdb.remote}",
        f"--timeout={_secs(timeout)}",
        *strip_global_options(words),
    ]
    return _exec(inv, [argv], hp.env(), timeout)


def _openstack(lab: Lab, inv: Invocation, ml2: Any, timeout: float) -> CommandRun:
    if inv.argv[:2] != ("network", "create") or not inv.commands:
        what = " ".join(inv.argv[:2]) or "(nothing)"
        return _run(
            inv,
            "not-rehearsed",
            error=(
                f"`openstack {what}` is not rehearsable: there is no Neutron in the lab, and only "
                "`openstack network create` has a known translation to NB operations"
            ),
        )
    nb = lab_nb(lab)
    try:
        cmds = neutron_nbctl_commands(nb, inv.commands[0], ml2, seed=f"rehearse:{inv.index}")
    except UnsupportedNeutron as e:
        return _run(inv, "not-rehearsed", error=f"not rehearsable: {e}")
    except CtlError as e:
        return _run(
            inv,
            "failed",
            exit_code=1,
            error=(
                f"openstack network create: {e.message} (Neutron's validation as ovnguard models "
                "it; no real Neutron runs in the lab)"
            ),
        )
    argv = ["ovn-nbctl", f"--db={lab.nb_remote}", f"--timeout={_secs(timeout)}"]
    for c in cmds:
        argv += ["--", *c]
    return _exec(inv, [argv], {}, timeout)


def lab_nb(lab: Lab) -> Database:
    raw = run_bytes(
        ["ovsdb-client", "--timeout=10", "backup", lab.nb_remote, "OVN_Northbound"], timeout=15
    )
    return parse_database(raw, lab.nb_remote)


def _ml2(plan: ReplicaPlan) -> Any:
    merged: dict[str, dict[str, dict[str, str]]] = {}
    for h in plan.snapshot.hosts.values():
        for path, sections in h.neutron.items():
            merged.setdefault(path, {k: dict(v) for k, v in sections.items()})
    return ml2_config(merged)


def _exec(
    inv: Invocation, argvs: list[list[str]], env: Mapping[str, str], timeout: float
) -> CommandRun:
    out_text, err_text, code = "", "", 0
    for argv in argvs:
        try:
            proc = subprocess.run(
                argv, capture_output=True, timeout=timeout + 5, env=clean_env(env), check=False
            )
        except subprocess.TimeoutExpired:
            return _run(inv, "failed", ran=argvs, error=f"timed out after {timeout:g}s")
        except FileNotFoundError:
            raise LabError(f"{argv[0]} not found: install the OVS/OVN Debian packages") from None
        out_text += proc.stdout.decode(errors="replace")
        err_text += proc.stderr.decode(errors="replace")
        code = proc.returncode
        if code != 0:
            break
    return _run(
        inv,
        "ok" if code == 0 else "failed",
        ran=argvs,
        exit_code=code,
        error=err_text.strip(),
        output=out_text.strip()[-4000:],
    )


def _run(
    inv: Invocation,
    status: Status,
    *,
    ran: Sequence[Sequence[str]] = (),
    exit_code: int | None = None,
    error: str = "",
    output: str = "",
) -> CommandRun:
    return CommandRun(
        inv.location.line,
        inv.location.path,
        inv.tool,
        inv.host,
        inv.expanded,
        status,
        tuple(tuple(a) for a in ran),
        exit_code,
        error,
        output,
    )


def _problem_run(p: ChangeProblem) -> CommandRun:
    return CommandRun(
        p.location.line,
        p.location.path,
        "",
        None,
        p.command,
        "not-rehearsed",
        error=f"{p.kind}: {p.message}",
    )


def _secs(t: float) -> int:
    return max(1, int(t + 0.999))


def _shell_quote(word: str) -> str:
    from ovnguard.change.shell import quote_words

    return quote_words([word])


# --- `openstack network create` as ovn-nbctl commands ----------------------------------


def neutron_nbctl_commands(nb: Database, command: Any, ml2: Any, *, seed: str) -> list[list[str]]:
    """What Neutron would write for `openstack network create` (change.neutron's model of
    ML2/OVN), as generic ovn-nbctl commands for one transaction."""
    txn = Txn(nb, seed)
    network_create(txn, command, ml2)
    return nbctl_for_changes(nb, diff(nb, txn.commit()))


def nbctl_for_changes(db: Database, changes: Sequence[RowChange]) -> list[list[str]]:
    """`create` / `set` / `destroy` commands that make the same row changes; rows inserted
    together reference each other through `--id=@name` symbols."""
    inserted = {c.uuid: f"@row{i}" for i, c in enumerate(c for c in changes if c.kind == "insert")}
    out: list[list[str]] = []
    for c in _referenced_first([c for c in changes if c.kind == "insert"], inserted):
        assert c.after is not None
        cols = [
            f"{col}={_datum(db.schema.column(c.table, col), v, inserted)}"
            for col, v in sorted(c.after.data.items())
            if v != db.schema.column(c.table, col).default()
        ]
        out.append([f"--id={inserted[c.uuid]}", "create", c.table, *cols])
    for c in changes:
        if c.kind == "update":
            assert c.after is not None
            cols = [
                f"{col}={_datum(db.schema.column(c.table, col), c.after.get(col), inserted)}"
                for col in c.columns
            ]
            out.append(["set", c.table, str(c.uuid), *cols])
        elif c.kind == "delete":
            out.append(["destroy", c.table, str(c.uuid)])
    return out


def _referenced_first(rows: list[RowChange], names: Mapping[Uuid, str]) -> list[RowChange]:
    """Inserted rows ordered so that a row comes after the rows it references (ovsdb-ctl
    symbols must be defined before use)."""
    by_uuid = {c.uuid: c for c in rows}
    done: list[RowChange] = []
    seen: set[Uuid] = set()

    def visit(c: RowChange) -> None:
        if c.uuid in seen:
            return
        seen.add(c.uuid)
        assert c.after is not None
        for v in c.after.data.values():
            for atom in _atoms(v):
                if isinstance(atom, Uuid) and atom in by_uuid:
                    visit(by_uuid[atom])
        done.append(c)

    for c in rows:
        visit(c)
    return done


def _atoms(v: Value) -> list[Any]:
    if isinstance(v, dict):
        return [*v.keys(), *v.values()]
    if isinstance(v, tuple):
        return list(v)
    return [v]


def _datum(ctype: ColumnType, v: Value, names: Mapping[Uuid, str]) -> str:
    def atom(a: Any) -> str:
        if isinstance(a, Uuid):
            return names.get(a, str(a))
        if isinstance(a, bool):
            return "true" if a else "false"
        if isinstance(a, int | float):
            return str(a)
        return json.dumps(str(a), ensure_ascii=False)

    if isinstance(v, dict):
        return "{" + ",".join(f"{atom(k)}={atom(x)}" for k, x in sorted(v.items())) + "}"
    if isinstance(v, tuple):
        return "[" + ",".join(atom(a) for a in v) + "]"
    if v is None:
        return "[]"
    return atom(v)


__all__ = [
    "CommandRun",
    "HostOutcome",
    "LogLine",
    "RehearsalResult",
    "TraceResult",
    "apply_for_real",
    "nbctl_for_changes",
    "parse_log",
    "parse_trace",
    "rehearse",
    "strip_global_options",
]
