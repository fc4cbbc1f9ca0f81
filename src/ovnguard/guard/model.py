"""The guard's state files, typed: `guard.json`, a lock file, `sentinel.json`.

Every read of a state file is validated against these models (after the file itself passed
`trust`): a file with an unknown key, a status ovnguard never writes, an id that is not an
id, a command line that is not `ovn-nbctl`/`ovs-vsctl --db=<the guard's remote>`, or a probe
whose stored form is not what its spec parses to, is refused (exit 2) instead of being acted
on. The files stay plain JSON (`guard status --format json` prints them), so the on-disk
format is the documented one (docs/guard.md, "The state directory").
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    JsonValue,
    SerializerFunctionWrapHandler,
    ValidationError,
    field_validator,
    model_serializer,
    model_validator,
)

from ovnguard.guard.trust import valid_id

if TYPE_CHECKING:
    from ovnguard.guard.probes import ProbeResult

GuardStatus = Literal["preparing", "applying", "armed", "confirmed", "rolling-back",
                      "rolled-back", "refused", "unchanged", "rollback-conflict",
                      "rollback-failed", "failed"]
SentinelStatus = Literal["starting", "watching", "expired", "stopped", "failed"]
TOOLS = {"OVN_Northbound": "ovn-nbctl", "Open_vSwitch": "ovs-vsctl"}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Open(BaseModel):
    """A record whose members ovnguard adds as it learns them (results, outcomes): typed
    where something acts on them, open otherwise."""

    model_config = ConfigDict(extra="allow")


class _Record(_Strict):
    """A record nested in a state document, written exactly as it always was: every member,
    `null` included (the document's `exclude_none` stops at its members, not inside them)."""

    @model_serializer(mode="wrap")
    def _every_member(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        out: dict[str, Any] = handler(self)
        return {k: out.get(k) for k in type(self).model_fields}


class ProbeResultRecord(_Record):
    """One probe's result (`probes.ProbeResult`)."""

    probe: str
    ok: bool
    detail: str
    started: float
    finished: float


def result_record(r: ProbeResult) -> ProbeResultRecord:
    """A `probes.ProbeResult` as stored (its `to_json`, typed)."""
    return ProbeResultRecord.model_validate(r.to_json())


class DifferenceRecord(_Record):
    """An item that is not what it should be (`inverse.Difference`)."""

    table: str
    row: str
    uuid: str
    column: str | None
    expected: str
    found: str


class HostVerificationRecord(_Strict):
    """A host change's restore and its check (`hoststate.restore_and_verify`)."""

    ok: bool
    actions: list[str] = []
    errors: list[str] = []
    not_restorable: list[str] = []
    differences: list[str] = []
    restored: float | None = None
    verified: float | None = None
    took: float | None = None
    error: str | None = None


class VerificationRecord(_Record):
    """What the check after a rollback found (`rollback.Verification`)."""

    ok: bool
    rows_ok: bool
    differences: list[DifferenceRecord]
    changed_by_others: list[str]
    wait_hv: str | None
    ports_ok: bool | None
    ports: dict[str, str]
    host: HostVerificationRecord | None = None  # host changes only, omitted otherwise

    @model_serializer(mode="wrap")
    def _every_member(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        out: dict[str, Any] = handler(self)
        return {k: out.get(k) for k in type(self).model_fields
                if k != "host" or self.host is not None}


class VerifyErrorRecord(_Strict):
    """The check after a rollback could not run (or stopped before it)."""

    ok: Literal[False]
    error: str
    host: HostVerificationRecord | None = None  # host changes only


class ArmedRecord(_Record):
    """A sentinel armed for this guard (`sentinel.Armed`)."""

    id: str
    host: str | None
    path: str
    pid: int
    until: float
    watching: list[str]
    netns: str | None
    probes: list[str]


class SentinelEvent(_Open):
    """One line of a sentinel's history; an event adds its own members (`ports`, `streak`)."""

    t: float
    event: str
    message: str


class SentinelRound(_Strict):
    """A sentinel's last probe round."""

    t: float
    ok: bool
    results: list[ProbeResultRecord]
    present: list[str]


def _id(v: str) -> str:
    if not valid_id(v):
        raise ValueError(f"not an ovnguard id: {v!r}")
    return v


class ProbeRecord(_Strict):
    kind: Literal["icmp", "tcp", "chassis", "cmd"]
    spec: str
    target: str = ""
    port: int | None = None
    timeout: float = 1.0

    @model_validator(mode="after")
    def _as_parsed(self) -> ProbeRecord:
        # What runs is what the spec says, nothing else (a stored `cmd:` target that is not
        # the spec's command would run something no one asked for).
        from ovnguard.errors import InputError
        from ovnguard.guard.probes import parse_probe

        try:
            p = parse_probe(self.spec, self.timeout)
        except InputError as e:
            raise ValueError(str(e)) from None
        if (p.kind, p.target, p.port) != (self.kind, self.target, self.port):
            raise ValueError(f"probe {self.spec!r}: stored form differs from its spec")
        return self


class Settings(_Strict):
    confirm_within: float
    auto_confirm_after: float | None = None
    probe_interval: float = 1.0
    probe_failures: int = 1
    give_up_after: float = 600.0
    verify_timeout: float = 10.0
    apply_timeout: float = 30.0
    chassis_dbs: dict[str, str] = {}
    repair_ports: bool = False


class BootDeadline(_Strict):
    """The deadline on a clock no one can set: CLOCK_BOOTTIME of this boot (monotonic,
    counts suspend, shared by every process). Wall-clock times in `timeline` are for people."""

    boot_id: str
    applied: float
    deadline: float


class WatcherRecord(_Strict):
    pid: int
    log: str
    generation: int = 1  # 2, 3, ...: a watcher started again for an orphaned guard
    stopped: str | None = None  # why it stopped without deciding (SIGTERM): not restarted


class ToolRecord(_Strict):
    pid: int
    started: float


class KeeperRecord(_Strict):
    pid: int


class ApplyRecord(_Strict):
    exit: int
    stdout: str = ""
    stderr: str = ""


class RequestRecord(_Strict):
    """`ovnguard rollback` asking a live watcher to roll back."""

    rollback: float
    force: bool = False


class ProbingRecord(_Strict):
    rounds: int = 0
    last: list[ProbeResultRecord] = []
    first_failure: ProbeResultRecord | None = None


class RollbackRecord(_Strict):
    """Why and by whom a rollback started, and what it did (rollback.run_rollback)."""

    reason: str | None = None
    by: str | None = None
    attempts: int = 0
    error: str | None = None
    actions: list[str] = []
    already: list[str] = []
    conflicts: list[DifferenceRecord] = []
    overwritten: list[DifferenceRecord] = []
    reinserted: dict[str, str] = {}
    transaction: list[JsonValue] | None = None  # [database, op, ...] as sent (RFC 7047)
    verification: VerificationRecord | VerifyErrorRecord | None = None


class GuardState(_Strict):
    schema_version: Literal[1]
    id: str
    status: GuardStatus
    database: Literal["OVN_Northbound", "Open_vSwitch"]
    remote: str
    host: str | None = None
    change: str
    argv: list[str]
    nb_remote: str | None = None
    sb_remote: str | None = None
    verdict: str | None = None
    summary: str | None = None
    forced: bool = False
    warnings: list[str] = []
    predicted: list[dict[str, str]] = []
    expected_ports: dict[str, dict[str, list[dict[str, str]]]] = {}
    probes: list[ProbeRecord] = []
    dropped_probes: list[dict[str, str]] = []
    probe_netns: str | None = None
    probe_cold: bool = False
    settings: Settings
    timeline: dict[str, float] = {}
    clock: BootDeadline | None = None
    cli: dict[str, int] = {}
    notes: list[str] = []
    watcher: WatcherRecord | None = None
    keeper: KeeperRecord | None = None  # the process that restarts a killed watcher
    tool: ToolRecord | None = None  # the real tool, recorded before it runs
    apply: ApplyRecord | None = None
    edits: list[str] = []
    error: str | None = None
    request: RequestRecord | None = None
    rollback: RollbackRecord | None = None
    probing: ProbingRecord | None = None
    confirmed_by: str | None = None
    sentinels: list[ArmedRecord] = []

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    def stamp(self, key: str, t: float) -> None:
        self.timeline[key] = round(t, 3)

    def rb(self) -> RollbackRecord:
        """The rollback record, created on first use."""
        if self.rollback is None:
            self.rollback = RollbackRecord()
        return self.rollback

    def to_doc(self) -> dict[str, Any]:
        """The JSON document (guard.json, `guard status --format json`): unset optional
        members are left out."""
        return self.model_dump(mode="json", exclude_none=True)

    _check_id = field_validator("id")(_id)

    @model_validator(mode="after")
    def _argv(self) -> GuardState:
        tool = TOOLS[self.database]
        if len(self.argv) < 3 or self.argv[0] != tool or self.argv[1] != f"--db={self.remote}":
            raise ValueError(f"argv must start with {tool} --db={self.remote}")
        return self


class LockRecord(_Strict):
    id: str
    database: str
    remote: str
    pid: int
    created: float

    _check_id = field_validator("id")(_id)


class SentinelState(_Strict):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    schema_version: Literal[1]
    id: str
    status: SentinelStatus
    host: str | None = None
    guard: str | None = None
    db: str
    watch: list[str]
    sb: str | None = None
    probes: list[str] = []
    failures: int
    interval: float
    until: float
    netns: str | None = None
    timeline: dict[str, float] = {}
    events: list[SentinelEvent] = []
    events_dropped: int | None = None  # present once events had to be dropped
    pid: int | None = None
    watching: list[str] = []
    skipped: list[dict[str, str]] = []
    dropped_probes: list[dict[str, str]] = []
    rounds: int = 0
    last: SentinelRound | None = None
    deletion_count: int | None = None  # present once it deleted (absent: it never acted)
    deletions: list[float] | None = None
    error: str | None = None
    exit_code: int | None = None

    _check_id = field_validator("id")(_id)

    @field_validator("guard")
    @classmethod
    def _guard_id(cls, v: str | None) -> str | None:
        return None if v is None else _id(v)

    @field_validator("watch", "watching")
    @classmethod
    def _ports(cls, v: list[str]) -> list[str]:
        for name in v:
            if not name or any(c.isspace() for c in name):
                raise ValueError(f"bad port name {name!r}")
        return v

    @field_validator("probes")
    @classmethod
    def _probes(cls, v: list[str]) -> list[str]:
        from ovnguard.errors import InputError
        from ovnguard.guard.sentinel.checks import parse_check

        for spec in v:
            try:
                parse_check(spec)
            except InputError as e:
                raise ValueError(str(e)) from None
        return v


    def to_doc(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)


def problem(e: ValidationError) -> str:
    """A pydantic error as one line: where and what."""
    first = e.errors()[0]
    where = ".".join(str(x) for x in first["loc"]) or "(top)"
    more = f" (and {e.error_count() - 1} more)" if e.error_count() > 1 else ""
    return f"{where}: {first['msg']}{more}"
