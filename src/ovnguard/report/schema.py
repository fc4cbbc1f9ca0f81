"""The `--format json` output: a documented, versioned schema (docs/json.md).

pydantic models so the schema can be exported (`ovnguard schema`) and checked in tests; every
renderer (text, JSON, SARIF, HTML) renders this one object, so they can never disagree.

Versioning: `schema_version` is MAJOR.MINOR. MINOR grows when fields are added; MAJOR when a
field is removed or changes meaning. Consumers should ignore unknown fields.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION = "1.1"

Verdict = Literal["safe", "risky", "dangerous"]
SeverityName = Literal["critical", "high", "medium", "low", "info"]
VERDICT_ORDER: dict[str, int] = {"safe": 0, "risky": 1, "dangerous": 2}


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EvidenceOut(_Model):
    fact: str
    source: str = Field(description="file path, `change:LINE`, or remote the fact was read from")
    table: str | None = None
    row: str | None = None
    host: str | None = None


class FindingOut(_Model):
    rule: str = Field(description="stable rule id, see docs/rules.md")
    severity: SeverityName
    hosts: list[str] = Field(description="affected hostnames, sorted")
    summary: str
    evidence: list[EvidenceOut]
    remediation: str
    introduced_by_change: bool
    status: Literal["present", "introduced", "resolved", "pre-existing"] = "present"
    key: str = Field(default="", description="identity of the hazard across before/after")
    loses_management: list[str] = Field(
        default=[], description="hosts predicted to lose management reachability"
    )
    hosts_added: list[str] = Field(
        default=[], description="hosts an existing hazard newly reaches because of the change"
    )
    change_lines: list[int] = Field(
        default=[], description="introduced findings: the change file's lines that cause it"
    )


class PatchPortOut(_Model):
    bridge: str
    port: str


class HostRealizationOut(_Model):
    added: list[PatchPortOut] = []
    removed: list[PatchPortOut] = []
    stale_until_recompute: list[PatchPortOut] = Field(
        default=[],
        description="no longer wanted, but ovn-controller 23.03 keeps them until a full recompute",
    )


class ChangeLineOut(_Model):
    line: int
    text: str
    host: str | None = None
    outcome: Literal["applied", "rejected", "unsupported", "skipped"]
    message: str | None = None
    suggestions: list[str] = []


class HostTopologyOut(_Model):
    """Enough of a host to draw it: bridges with their ports, and where management lives."""

    management: str | None = Field(default=None, description="management address/prefix")
    management_interface: str | None = None
    management_bridge: str | None = Field(
        default=None, description="the OVS bridge whose L2 domain carries management, if any"
    )
    bridges: dict[str, list[str]] = {}
    bridge_mappings: str | None = None
    known_from: Literal["host", "sb", "none"] = Field(
        default="host",
        description="where bridges and mappings come from: the host's own files; 'sb': only "
                    "its SB Chassis row (bridge_mappings as reported; bridges and management "
                    "unknown, not empty); 'none': neither",
    )


class LocalnetOut(_Model):
    """A localnet port, so a picture can say which switch a patch pair bridges in."""

    switch: str
    network_name: str | None = None
    tag: int | None = None


class Report(_Model):
    schema_version: str = SCHEMA_VERSION
    tool: dict[str, str]
    bundle: str
    change: str | None = None
    verdict: Verdict
    summary: str = Field(description="one sentence an operator reads first")
    findings: list[FindingOut]
    realization: dict[str, HostRealizationOut] = Field(
        description="per host: patch ports ovn-controller is predicted to add/remove",
    )
    blast_radius: dict[str, list[str]] = Field(
        default={}, description="host -> rule ids of introduced findings that reach it"
    )
    chain: list[EvidenceOut] = Field(
        default=[], description="the flow of events the change sets off, in order"
    )
    change_lines: list[ChangeLineOut] = []
    notes: list[str] = Field(default=[], description="what could not be checked, and why")
    topology: dict[str, HostTopologyOut] = Field(
        default={}, description="per host, bridges and management (for pictures)"
    )
    localnets: dict[str, LocalnetOut] = Field(
        default={}, description="localnet port -> its switch and physnet, after the change "
        "(for pictures)"
    )


def json_schema() -> dict[str, object]:
    """The JSON Schema of the report (docs/report.schema.json is generated from this)."""
    schema = Report.model_json_schema()
    schema["$id"] = f"https://ovnguard.invalid/report-{SCHEMA_VERSION}.schema.json"
    return schema


if __name__ == "__main__":
    import json
    import sys

    json.dump(json_schema(), sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")
