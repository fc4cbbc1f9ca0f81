"""A finding: one hazard, on some hosts, with the chain of evidence that shows it."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import IntEnum

from ovnguard.model.evidence import Evidence


class Severity(IntEnum):
    info = 0
    low = 1
    medium = 2
    high = 3
    critical = 4


@dataclass(frozen=True, slots=True)
class Finding:
    rule: str  # stable id, e.g. "l2-loop"
    severity: Severity
    hosts: tuple[str, ...]  # sorted hostnames affected (blast radius)
    summary: str
    evidence: tuple[Evidence, ...] = ()
    remediation: str = ""
    # Identity across before/after: same rule + same key == same hazard. Rules choose a key
    # that survives unrelated edits (e.g. "neutron-abc/physnet2@br-ex"), not the summary text.
    key: str = ""
    # Set by the differential step, not by rules.
    introduced_by_change: bool = False
    status: str = "present"  # "present" | "introduced" | "resolved" | "pre-existing"
    # The flow of events, in order (change -> NB -> SB -> ovn-controller -> bridge -> host).
    chain: tuple[Evidence, ...] = field(default=())

    def marked(self, status: str) -> Finding:
        return replace(self, status=status, introduced_by_change=status == "introduced")
