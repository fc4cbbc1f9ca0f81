"""What a change file is once read, and what applying it to a snapshot gives.

One command line (`ovn-nbctl a -- b`) is one *invocation*: one OVSDB transaction, all of its
`--`-chained commands succeed or none does, exactly like the real tool. Each command keeps its
location so a problem can name the line an operator has to fix.
"""

from __future__ import annotations

from dataclasses import field
from typing import TYPE_CHECKING, Literal

from ovnguard.change.shell import quote_words
from ovnguard.model.db import RowChange
from ovnguard.model.snapshot import Snapshot
from ovnguard.record import record

if TYPE_CHECKING:
    from ovnguard.change.host import IpCommand

# "ip": iproute2 on the host of its `# host:` section (change/host.py, change/hostapply.py)
Tool = Literal["ovn-nbctl", "ovs-vsctl", "ovn-sbctl", "openstack", "ip"]
ProblemKind = Literal["unsupported-command", "rejected", "unknown-host", "undefined-variable"]
Options = tuple[tuple[str, str | None], ...]


@record(slots=True)
class Location:
    path: str
    line: int  # 1-based; the first physical line of a continued logical line

    def __str__(self) -> str:
        return f"{self.path}:{self.line}"


@record(slots=True)
class Command:
    """One command of an invocation: `lsp-add sw p1` of `ovn-nbctl ls-add sw -- lsp-add sw p1`."""

    location: Location
    tool: Tool
    verb: str
    args: tuple[str, ...]
    options: Options = ()  # the command's own options (`--may-exist`, `--if-exists`, `--id=@x`)
    global_options: Options = ()  # the invocation's (`--db=`, `--wait=hv`, `-t 10`)
    host: str | None = None  # ovs-vsctl: the host whose Open_vSwitch DB it acts on
    invocation: int = 0  # index into Change.invocations
    index: int = 0  # position within its invocation

    def option(self, name: str) -> bool:
        return any(k == name for k, _ in self.options)

    def option_value(self, name: str) -> str | None:
        return next((v for k, v in self.options if k == name), None)

    @property
    def text(self) -> str:
        opts = [k if v is None else f"{k}={v}" for k, v in self.options]
        return quote_words([self.tool, *opts, self.verb, *self.args])


@record(slots=True)
class ChangeProblem:
    kind: ProblemKind
    location: Location
    command: str  # the expanded command text (what would really run)
    # For `rejected`: the real tool's error text, e.g. "ovn-nbctl: x: port name not found".
    message: str
    suggestions: tuple[str, ...] = ()
    invocation: int | None = None
    # More than the tool says, when ovnguard knows it ("created by line 4, which failed").
    note: str = ""

    def __str__(self) -> str:
        hint = f" (did you mean: {', '.join(self.suggestions)}?)" if self.suggestions else ""
        note = f"; {self.note}" if self.note else ""
        return f"{self.location}: {self.kind}: {self.message}{hint}{note}"


@record(slots=True)
class Invocation:
    """One command line as the operator would run it: one process, one transaction."""

    index: int
    location: Location
    tool: Tool
    text: str  # the logical line as written (continuations joined), for a later real run
    argv: tuple[str, ...]  # expanded words after the program name
    host: str | None = None
    global_options: Options = ()
    commands: tuple[Command, ...] = ()
    # Why the real tool would refuse the command line before touching the database
    # (unknown command, wrong argument count, bad option): its error text.
    syntax_error: str | None = None
    # Why ovnguard cannot simulate it; the invocation is then not applied.
    unsupported: str | None = None
    after: Literal["", "&&", ";"] = ""  # how it was joined to the previous one on its line
    # tool "ip": the parsed line (its host edits, iproute2's own refusal, or why unknown)
    ip: IpCommand | None = None

    @property
    def expanded(self) -> str:
        return quote_words([self.tool, *self.argv])

    @property
    def dry_run(self) -> bool:
        return any(k == "--dry-run" for k, _ in self.global_options)


@record(slots=True)
class Change:
    path: str
    invocations: tuple[Invocation, ...]
    problems: tuple[ChangeProblem, ...] = ()  # found while reading (unsupported shell, variables)
    variables: tuple[tuple[str, str], ...] = ()  # the final assignments, for reports

    @property
    def commands(self) -> tuple[Command, ...]:
        return tuple(c for inv in self.invocations for c in inv.commands)


InvocationStatus = Literal["applied", "unchanged", "failed", "unsupported", "skipped"]


@record(slots=True)
class AppliedInvocation:
    invocation: int
    location: Location
    tool: Tool
    host: str | None  # ovs-vsctl: the host; otherwise None (the central NB)
    database: str  # "OVN_Northbound", "OVN_Southbound" or "Open_vSwitch"
    status: InvocationStatus
    changes: tuple[RowChange, ...] = ()  # what it touched, `model.db.diff` of before/after


@record(slots=True)
class ChangeResult:
    before: Snapshot
    snapshot: Snapshot  # after the change
    problems: tuple[ChangeProblem, ...] = ()
    applied: tuple[AppliedInvocation, ...] = field(default_factory=tuple)
    # The snapshot after each transaction that changed something, in order (the last one is
    # `snapshot`); ovn-controller may act on every one of them.
    steps: tuple[Snapshot, ...] = ()
    executor: str = "model"  # which engine ran the lines: "real-tools" or "model"
    notes: tuple[str, ...] = ()  # what the report should say about how lines were run
    # For each of `steps`: the index of the invocation after which it was taken (so a
    # finding about an intermediate state can name its line).
    step_invocations: tuple[int, ...] = ()

    @property
    def failed_invocations(self) -> tuple[int, ...]:
        return tuple(a.invocation for a in self.applied if a.status == "failed")
