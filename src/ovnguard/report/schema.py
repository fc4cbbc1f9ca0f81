"""The `--format json` output: a documented, versioned schema (docs/json.md).

Every renderer (text, JSON, SARIF, HTML) renders this one object, so they can never disagree.
The models are frozen standard-library dataclasses, not pydantic models: building pydantic
models costs ~0.1-0.2 s at import, which every `ovnguard check` would pay (docs/performance.md).
pydantic is still what exports the JSON Schema (`python -m ovnguard.report.schema`, checked in
tests) and validates a report read back (`Report.model_validate`); it is imported only then.
The methods keep pydantic's names (`model_dump`, `model_copy`, ...) so callers did not change.

Versioning: `schema_version` is MAJOR.MINOR. MINOR grows when fields are added; MAJOR when a
field is removed or changes meaning. Consumers should ignore unknown fields.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar, Literal, TypeVar, dataclass_transform

from ovnguard.record import record

SCHEMA_VERSION = "2.0"

Verdict = Literal["safe", "risky", "dangerous"]
SeverityName = Literal["critical", "high", "medium", "low", "info"]
VERDICT_ORDER: dict[str, int] = {"safe": 0, "risky": 1, "dangerous": 2}

M = TypeVar("M", bound="_Model")
_MISSING: Any = dataclasses.MISSING


def Field(default: Any = _MISSING, *, description: str = "") -> Any:
    """A field with a description for the JSON Schema (pydantic's spelling)."""
    meta = {"description": description} if description else {}
    if isinstance(default, (list, dict)):
        return dataclasses.field(default_factory=lambda: type(default)(default),
                                 metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


@dataclass_transform(kw_only_default=True, frozen_default=True, field_specifiers=(Field,))
class _Model:
    """Base of the report models: subclasses become frozen, keyword-only dataclasses."""

    # pydantic reads this when it builds the schema / validates: unknown fields are errors
    __pydantic_config__: ClassVar[dict[str, Any]] = {"extra": "forbid"}

    def __init_subclass__(cls, **kw: Any) -> None:
        super().__init_subclass__(**kw)
        record(kw_only=True)(cls)

    def model_dump(self, mode: str = "python", exclude_none: bool = False,
                   exclude_defaults: bool = False) -> dict[str, Any]:
        """Plain dicts/lists (JSON-ready either way: every value is str/int/bool/None)."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            v = getattr(self, f.name)
            if exclude_none and v is None:
                continue
            if exclude_defaults and _is_default(f, v):
                continue
            out[f.name] = _dump(v, mode, exclude_none, exclude_defaults)
        return out

    def model_copy(self: M, update: dict[str, Any] | None = None) -> M:
        return dataclasses.replace(self, **(update or {}))  # type: ignore[type-var]

    @classmethod
    def model_validate(cls: type[M], data: Any) -> M:
        from pydantic import TypeAdapter

        return TypeAdapter(cls).validate_python(data)

    @classmethod
    def model_json_schema(cls) -> dict[str, Any]:
        from pydantic import TypeAdapter

        schema: dict[str, Any] = TypeAdapter(cls).json_schema()
        _describe(schema, cls)
        models = {m.__name__: m for m in _Model.__subclasses__()}
        for d in schema.get("$defs", {}).values():
            model = models.get(d.get("title", ""))
            if model is not None:
                _describe(d, model)
        return schema


def _is_default(f: dataclasses.Field[Any], v: Any) -> bool:
    if f.default is not dataclasses.MISSING:
        return bool(v == f.default)
    if f.default_factory is not dataclasses.MISSING:
        return bool(v == f.default_factory())
    return False


def _dump(v: Any, mode: str, exclude_none: bool, exclude_defaults: bool) -> Any:
    if isinstance(v, _Model):
        return v.model_dump(mode, exclude_none, exclude_defaults)
    if isinstance(v, list):
        return [_dump(x, mode, exclude_none, exclude_defaults) for x in v]
    if isinstance(v, dict):
        return {k: _dump(x, mode, exclude_none, exclude_defaults) for k, x in v.items()}
    return v


def _describe(schema: dict[str, Any], model: type) -> None:
    props = schema.get("properties", {})
    for f in dataclasses.fields(model):
        if f.name not in props:
            continue
        desc = f.metadata.get("description")
        if desc:
            props[f.name]["description"] = desc
        if f.default_factory is not dataclasses.MISSING:
            props[f.name]["default"] = f.default_factory()  # as pydantic shows `= []`


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
    added: list[PatchPortOut] = Field(default=[])
    removed: list[PatchPortOut] = Field(default=[])
    stale_until_recompute: list[PatchPortOut] = Field(
        default=[],
        description="no longer wanted, but ovn-controller (OVN 23.03 semantics) keeps them "
        "until a full recompute",
    )


class ChangeLineOut(_Model):
    line: int
    text: str
    host: str | None = None
    outcome: Literal["applied", "rejected", "unsupported", "skipped"]
    message: str | None = None
    suggestions: list[str] = Field(default=[])


class HostTopologyOut(_Model):
    """Enough of a host to draw it: bridges with their ports, and where management lives."""

    management: str | None = Field(default=None, description="management address/prefix")
    management_interface: str | None = None
    management_bridge: str | None = Field(
        default=None, description="the OVS bridge whose L2 domain carries management, if any"
    )
    bridges: dict[str, list[str]] = Field(
        default={}, description="bridge -> its ports (but the bridge's own and "
                                "ovn-controller's tunnel ports, counted in tunnel_ports)")
    tunnel_ports: int = Field(
        default=0, description="ovn-controller's tunnel ports to other chassis (one per "
                               "remote chassis and encap), counted, not listed")
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


class ClusterVersionsOut(_Model):
    nb_schema: str | None = None
    sb_schema: str | None = None
    northd: str | None = Field(
        default=None,
        description="OVN version of ovn-northd (NB/SB_Global northd_internal_version)")
    ovn_controller: dict[str, str] = Field(
        default={}, description="host -> ovn-controller version, where its Chassis row says")
    ovs: dict[str, str] = Field(default={}, description="host -> ovs_version of its conf.db")


class VersionsOut(_Model):
    """Which releases were involved: predicted with, run by the cluster, used to apply."""

    semantics: dict[str, str] = Field(
        description="releases whose behaviour the prediction implements, e.g. {ovn: 23.03}")
    executor: Literal["real-tools", "model"] | None = Field(
        default=None, description="what applied the change: the real ovn-nbctl/ovs-vsctl on "
        "copies of the databases, or ovnguard's model of them (where the tools are absent)")
    tools: dict[str, str] = Field(
        default={}, description="tool -> version of the binaries that applied the change")
    cluster: ClusterVersionsOut = ClusterVersionsOut()


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
    change_lines: list[ChangeLineOut] = Field(default=[])
    notes: list[str] = Field(default=[], description="what could not be checked, and why")
    topology: dict[str, HostTopologyOut] = Field(
        default={}, description="per host, bridges and management (for pictures)"
    )
    localnets: dict[str, LocalnetOut] = Field(
        default={}, description="localnet port -> its switch and physnet, after the change "
        "(for pictures)"
    )
    versions: VersionsOut | None = Field(
        default=None, description="OVN/OVS releases: semantics used, cluster, tools (since 1.2)")


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
