"""What a rehearsal reports: one record per command, log line, trace and host, and the
versioned JSON they are written as (docs/rehearse.md).
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from ovnguard.record import record
from ovnguard.simulation.types import HostDelta

SCHEMA_VERSION = "1.0"
Status = Literal["ok", "failed", "skipped", "not-rehearsed"]
Verdict = Literal["safe", "risky", "dangerous"]


# --- what the result holds -------------------------------------------------------------


@record
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
            "ran": [" ".join(shell_quote(a) for a in argv) for argv in self.ran],
            "exit_code": self.exit_code,
            "error": self.error or None,
            "output": self.output or None,
        }


@record
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


@record
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


@record
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


@record
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


def shell_quote(word: str) -> str:
    from ovnguard.change.shell import quote_words

    return quote_words([word])
