"""A finding: one hazard, on some hosts, with the chain of evidence that shows it."""

from __future__ import annotations

from dataclasses import field, replace
from enum import IntEnum

from ovnguard.model.evidence import Evidence
from ovnguard.record import record


class Severity(IntEnum):
    info = 0
    low = 1
    medium = 2
    high = 3
    critical = 4


@record(slots=True)
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
    # Hosts predicted to lose management reachability because of this hazard (a subset of
    # `hosts`); any such host makes the verdict "dangerous" when the finding counts.
    loses_management: tuple[str, ...] = ()
    # Set by the differential step: hosts an existing hazard newly reaches after the change
    # (then the finding counts as introduced: the change brings it to those hosts).
    hosts_added: tuple[str, ...] = ()

    def marked(self, status: str) -> Finding:
        return replace(self, status=status, introduced_by_change=status == "introduced")

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {
            "rule": self.rule,
            "severity": self.severity.name,
            "hosts": list(self.hosts),
            "summary": self.summary,
            "evidence": [e.to_json() for e in self.evidence],
            "remediation": self.remediation,
            "introduced_by_change": self.introduced_by_change,
            "status": self.status,
            "key": self.key,
        }
        if self.loses_management:
            out["loses_management"] = list(self.loses_management)
        if self.hosts_added:
            out["hosts_added"] = list(self.hosts_added)
        if self.chain:
            out["chain"] = [e.to_json() for e in self.chain]
        return out
