"""What the simulation predicts ovn-controller does on each chassis (the contract between the
simulation, the rules and the report). Names match real ovn-controller's, so a prediction can
be held against a real run (`ovnguard rehearse`, the lab tests)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum

from ovnguard.model.evidence import Evidence
from ovnguard.record import record
from ovnguard.versions import SEMANTICS, OvnSemantics

# Evidence.source for facts derived from OVN's behaviour rather than read from a file: the
# source file of ovn-org/ovn (tag v23.03.1) whose code decides it, and our measurements.
OVN_SRC = "ovn v23.03.1 "
LAB_NOTES = "docs/measurements.md (measured with OVS 3.1 / OVN 23.03)"


@dataclass(frozen=True, slots=True, order=True)
class PatchPort:
    bridge: str  # "br-ex" or "br-int"
    port: str  # "patch-ln-physnet2-to-br-int" / "patch-br-int-to-ln-physnet2"
    lport: str = ""  # the logical port (localnet / l2gateway) it realizes
    network_name: str = ""  # the physnet it is mapped through

    def to_json(self) -> dict[str, str]:
        return {"bridge": self.bridge, "port": self.port}


class EventKind(Enum):
    """What an event means for the rest of the pipeline (its message is for people)."""

    log = "log"  # a line the daemon logs (or a silent effect); nothing else follows from it
    # ovn-controller's own OVS transaction is rejected (a patch port name clash): it retries
    # and fails on every loop, so the host keeps the ports it had
    ovs_transaction_fails = "ovs-transaction-fails"


@record(slots=True)
class ControllerEvent:
    """A log line ovn-controller (or northd) would emit, e.g. a skipped localnet port."""

    level: str  # "INFO" | "WARN" | "ERR"
    message: str  # the real log text where known
    lport: str = ""
    evidence: tuple[Evidence, ...] = ()
    daemon: str = "ovn-controller"  # or "ovn-northd"
    # False: the daemon logs nothing; the event describes a silent effect (e.g. entries after
    # an empty one in ovn-bridge-mappings are ignored without a word).
    logged: bool = True
    # Where the real code emits it (for the reader; e.g. "controller/patch.c").
    where: str = ""
    kind: EventKind = EventKind.log

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {"level": self.level, "message": self.message,
                                  "daemon": self.daemon, "logged": self.logged}
        if self.lport:
            out["lport"] = self.lport
        if self.where:
            out["where"] = self.where
        out["evidence"] = [e.to_json() for e in self.evidence]
        return out


@record(slots=True)
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
    # --- extensions (simulation internals other parts may read) ---
    integration_bridge: str = "br-int"
    # network -> bridge, as ovn-controller uses them (after parsing and bridge checks)
    bridge_mappings: Mapping[str, str] = field(default_factory=dict)
    # Logical ports this chassis binds/claims (VIF, container, l2/l3gateway, chassisredirect,
    # external), each with why.
    bound_ports: Mapping[str, tuple[Evidence, ...]] = field(default_factory=dict)
    # NB uuids of the local datapaths (names in `local_datapaths` need not be unique).
    local_datapath_uuids: frozenset[str] = frozenset()
    # "ovs" (the host's Open_vSwitch DB), "sb" (fallback: SB Chassis/Port_Binding), "none"
    based_on: str = "ovs"
    notes: tuple[str, ...] = ()  # what was assumed (fallbacks, unknowns)


@record(slots=True)
class Realization:
    hosts: Mapping[str, HostRealization]
    # whose ovn-northd / ovn-controller / OVS behaviour predicted it (ovnguard.versions)
    semantics: OvnSemantics = SEMANTICS
    # What ovn-northd logs for this NB (unknown port types, bad MACs, ...); not per host.
    northd_events: tuple[ControllerEvent, ...] = ()
    # What it was computed from (snapshot, predicted SB, each host's prediction), so a later
    # realization or delta of a changed snapshot recomputes only the hosts the change
    # touches (simulation.realize). Not part of the result: not compared, not shown.
    basis: object = field(default=None, compare=False, repr=False)

    @property
    def ovn_version(self) -> str:
        return self.semantics.ovn


@record(slots=True)
class HostDelta:
    """What changes on one host when the change lands (the JSON `realization` contract)."""

    added: tuple[PatchPort, ...] = ()
    removed: tuple[PatchPort, ...] = ()  # removed at once by ovn-controller
    # No longer wanted, but real ovn-controller 23.03 leaves them until a full recompute
    # (docs/measurements.md: stale patch ports after the last local VIF goes away).
    stale: tuple[PatchPort, ...] = ()
    # Why each added/removed/stale port is predicted (extension).
    why: Mapping[PatchPort, tuple[Evidence, ...]] = field(default_factory=dict)
    # Why ovn-controller on this host recomputes its local datapaths (then nothing is
    # stale); empty when it only processes the change incrementally.
    recompute: tuple[Evidence, ...] = ()
    notes: tuple[str, ...] = ()

    def to_json(self) -> dict[str, list[dict[str, str]]]:
        out = {
            "added": [p.to_json() for p in self.added],
            "removed": [p.to_json() for p in self.removed],
        }
        if self.stale:
            out["stale_until_recompute"] = [p.to_json() for p in self.stale]
        return out
