"""What the simulation predicts ovn-controller does on each chassis (the contract between the
simulation, the rules and the report). Names match real ovn-controller's, so a prediction can
be held against a real run (`ovnguard rehearse`, the lab tests)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from ovnguard.model.evidence import Evidence


@dataclass(frozen=True, slots=True, order=True)
class PatchPort:
    bridge: str  # "br-ex" or "br-int"
    port: str  # "patch-ln-physnet2-to-br-int" / "patch-br-int-to-ln-physnet2"
    lport: str = ""  # the logical port (localnet / l2gateway) it realizes
    network_name: str = ""  # the physnet it is mapped through

    def to_json(self) -> dict[str, str]:
        return {"bridge": self.bridge, "port": self.port}


@dataclass(frozen=True, slots=True)
class ControllerEvent:
    """A log line ovn-controller (or northd) would emit, e.g. a skipped localnet port."""

    level: str  # "INFO" | "WARN" | "ERR"
    message: str  # the real log text where known
    lport: str = ""
    evidence: tuple[Evidence, ...] = ()


@dataclass(frozen=True, slots=True)
class HostRealization:
    host: str  # hostname (bundle host dir / lab host name)
    chassis: str | None  # SB Chassis name (system-id); None if the host is no chassis
    # Patch ports ovn-controller wants on this chassis in this snapshot.
    patch_ports: frozenset[PatchPort] = frozenset()
    # Datapaths (logical switch / router names) local to this chassis, each with the chain of
    # evidence that makes it local (VIF bound here, router peer, gateway chassis, ...).
    local_datapaths: Mapping[str, tuple[Evidence, ...]] = field(default_factory=dict)
    # Why each patch port exists (localnet port, its network_name, the mapping, the bridge).
    why: Mapping[PatchPort, tuple[Evidence, ...]] = field(default_factory=dict)
    events: tuple[ControllerEvent, ...] = ()


@dataclass(frozen=True, slots=True)
class Realization:
    hosts: Mapping[str, HostRealization]
    ovn_version: str = "23.03"  # whose ovn-controller semantics are implemented


@dataclass(frozen=True, slots=True)
class HostDelta:
    """What changes on one host when the change lands (the JSON `realization` contract)."""

    added: tuple[PatchPort, ...] = ()
    removed: tuple[PatchPort, ...] = ()  # removed at once by ovn-controller
    # No longer wanted, but real ovn-controller 23.03 leaves them until a full recompute
    # (LAB-NOTES: stale patch ports after the last local VIF goes away).
    stale: tuple[PatchPort, ...] = ()

    def to_json(self) -> dict[str, list[dict[str, str]]]:
        out = {
            "added": [p.to_json() for p in self.added],
            "removed": [p.to_json() for p in self.removed],
        }
        if self.stale:
            out["stale_until_recompute"] = [p.to_json() for p in self.stale]
        return out
