"""Apply a parsed change to a copy of the model: `apply_change(snapshot, change)` (pure).

Semantics are the real tools': each invocation is one transaction; if any of its commands
fails, none of them applies and the problem carries the tool's own error text; later
invocations still run against the database as it then is (an operator pasting four lines
whose first fails gets exactly that). An invocation after `&&` runs only if the one before it
succeeded, as in sh. An invocation ovnguard cannot simulate is reported and not applied.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Protocol

from ovnguard.change.batch import attribute, plan_groups
from ovnguard.change.model import (
    AppliedInvocation,
    Change,
    ChangeProblem,
    ChangeResult,
    Command,
    Invocation,
    InvocationStatus,
)
from ovnguard.change.neutron import Ml2Config, UnsupportedNeutron, ml2_config, network_create
from ovnguard.change.suggest import suggest, suggest_host
from ovnguard.change.txn import CtlError, Txn
from ovnguard.i18n import _
from ovnguard.model.db import Database, RowChange, diff
from ovnguard.model.snapshot import Snapshot
from ovnguard.record import record

if TYPE_CHECKING:
    from ovnguard.change.executor import Executor

DATABASE_OF = {"ovs-vsctl": "Open_vSwitch", "ovn-sbctl": "OVN_Southbound",
               "ovn-nbctl": "OVN_Northbound", "openstack": "OVN_Northbound",
               "ip": "host"}  # "host": the host model's addresses, routes and links

GENERIC = ("set", "add", "remove", "clear", "create", "destroy", "get", "list", "find", "comment")
# What each verb would have created, to explain a later "not found".
_CREATES = {
    "ls-add": ("Logical_Switch", 0),
    "lr-add": ("Logical_Router", 0),
    "lsp-add": ("Logical_Switch_Port", 1),
    "lrp-add": ("Logical_Router_Port", 1),
    "add-br": ("Bridge", 0),
    "add-port": ("Port", 1),
    "add-bond": ("Port", 1),
}


def supported_verbs(tool: str) -> tuple[str, ...]:
    """What the model executor simulates (the real tools run every verb they have)."""
    verbs = _verbs(tool) if tool in ("ovn-nbctl", "ovs-vsctl") else None
    return tuple(verbs) + GENERIC if verbs is not None else ("network create",)


def _verbs(tool: str) -> dict[str, Callable[[Txn, Command], None]]:
    """The model's own verbs of `tool` (ovn-nbctl or ovs-vsctl). Their modules are loaded
    when the model executor first needs them: where the real tools are installed, a check
    never does (~6 ms of its start otherwise)."""
    from ovnguard.change import nbctl, vsctl

    return nbctl.VERBS if tool == "ovn-nbctl" else vsctl.VERBS


# Where an invocation acts: ("nb",), ("sb",) or ("host", name).
DbKey = tuple[str, ...]


@record
class Outcome:
    """What running one invocation against one database gave."""

    after: Database | None = None  # None: failed or not run
    changes: tuple[RowChange, ...] | None = None  # None: diff(before, after)
    error: str | None = None  # the tool's message, without the "prog: " prefix
    missing: tuple[str, str] | None = None  # (table, name) the tool did not find
    unsupported: str | None = None  # why it could not be run at all


class Backend(Protocol):
    """Runs one invocation as one transaction (the executor's engine)."""

    name: str
    # Lines the backend cannot know and that must not be called wrong: only the model says so.
    checks_syntax: bool
    # Whether it has `execute_group(invs, db, key) -> Outcome` (batch.py): lines chained.
    runs_groups: bool

    def unsupported(self, inv: Invocation) -> str | None: ...

    def execute(self, inv: Invocation, db: Database, key: DbKey, seed: str,
                ml2: Ml2Config) -> Outcome: ...


class ModelBackend:
    """The pure-Python re-implementation of the verbs in nbctl.py / vsctl.py / dbctl.py."""

    name = "model"
    checks_syntax = True
    runs_groups = False  # per line already costs it no more than a chained line would

    def unsupported(self, inv: Invocation) -> str | None:
        if inv.tool == "ovn-sbctl":
            return _("`ovn-sbctl` is not simulated by the model executor (the real tools are "
                     "not installed): what this line does to the Southbound DB is unknown")
        if inv.tool == "openstack":
            return _openstack_unsupported(inv)
        simulated = supported_verbs(inv.tool)
        for c in inv.commands:
            if c.verb not in simulated:
                return _(
                    "`{tool} {verb}` is not simulated, so what this line does to the database "
                    "is unknown (the real {tool} is not installed here, or not used; "
                    "simulated: {simulated})").format(
                        tool=inv.tool, verb=c.verb,
                        simulated=", ".join(sorted(simulated)))
        return None

    def execute(self, inv: Invocation, db: Database, key: DbKey, seed: str,
                ml2: Ml2Config) -> Outcome:
        out = model_outcome(db, inv, seed, ml2)
        return replace(out, after=db) if inv.dry_run and out.after is not None else out


def model_outcome(db: Database, inv: Invocation, seed: str, ml2: Ml2Config) -> Outcome:
    """`inv` as one transaction of the model on `db`: the database after it, or the tool's
    error / why it cannot be modelled. The model executor runs every line so; the real-tool
    executor only what Neutron writes (`openstack network create`)."""
    try:
        after = _transact(db, inv, seed, ml2)
    except UnsupportedNeutron as e:
        return Outcome(unsupported=str(e))
    except CtlError as e:
        return Outcome(error=e.message, missing=e.missing)
    return Outcome(after=after)


def _openstack_unsupported(inv: Invocation) -> str | None:
    if inv.argv[:2] != ("network", "create"):
        what = " ".join(inv.argv[:2]) or "(nothing)"
        return _(
            "`openstack {what}` is not simulated; only `openstack network create` is "
            "(what Neutron would write to the Northbound DB is otherwise unknown)").format(
                what=what)
    return None


def apply_change(snapshot: Snapshot, change: Change, executor: Executor | None = None
                 ) -> ChangeResult:
    """Apply `change` to a copy of `snapshot` with `executor` (default: `default_executor()`,
    the real tools where they are installed, else the model)."""
    from ovnguard.change.executor import default_executor

    return (executor or default_executor()).apply(snapshot, change)


# At most this many intermediate snapshots are kept (and simulated): each is a whole model
# of the cluster, so keeping one per line made a long change quadratic in time and memory.
MAX_STEPS = 64


def run_change(snapshot: Snapshot, change: Change, backend: Backend) -> ChangeResult:
    state = _State(snapshot, change, backend)
    # Each command line is its own transaction, and ovn-controller may see each one: keep the
    # snapshot after every line that changed something (simulation.realization_steps) -- or,
    # in a change of more than MAX_STEPS lines, after every k-th line and the last.
    n = len(change.invocations)
    every = -(-n // MAX_STEPS) if n > MAX_STEPS else 1
    steps: list[Snapshot] = []
    step_invocations: list[int] = []
    groups = (plan_groups(change.invocations, every) if backend.runs_groups
              else [[inv] for inv in change.invocations])
    for group in groups:
        if len(group) == 1:
            state.run(group[0])
        else:
            state.run_group(group)
        k = group[-1].index
        if (k % every == every - 1 or k == n - 1) and \
                state.snapshot is not (steps[-1] if steps else snapshot):
            steps.append(state.snapshot)
            step_invocations.append(k)
    if every > 1:
        state.notes.append(_(
            "the change has {n} command lines: the states ovn-controller sees in between "
            "were checked after every {every}th line (and the last), not after each "
            "one").format(n=n, every=every))
    if any(len(g) > 1 for g in groups):
        state.notes.append(_(
            "to keep a long change fast, consecutive lines were run chained with `--` as one "
            "transaction of the real tool between the checked states (a line that fails is "
            "still run and reported on its own); the rows each of those lines changed are "
            "the rows it names, plus those no line names"))
    problems = sorted(
        [*change.problems, *state.problems], key=lambda p: (p.location.line, p.invocation or 0)
    )
    return ChangeResult(snapshot, state.snapshot, tuple(problems), tuple(state.applied),
                        tuple(steps), backend.name, tuple(dict.fromkeys(state.notes)),
                        tuple(step_invocations))


class _State:
    def __init__(self, snapshot: Snapshot, change: Change, backend: Backend) -> None:
        self.snapshot = snapshot
        self.change = change
        self.backend = backend
        self.problems: list[ChangeProblem] = []
        self.applied: list[AppliedInvocation] = []
        self.notes: list[str] = []
        self.last: InvocationStatus | None = None
        self.failed_creates: dict[tuple[str, str], int] = {}  # (table, name) -> line
        neutron: dict[str, dict[str, dict[str, str]]] = {}
        for h in snapshot.hosts.values():
            for path, sections in h.neutron.items():
                neutron.setdefault(path, {k: dict(v) for k, v in sections.items()})
        self.ml2 = ml2_config(neutron)

    # -- bookkeeping ----------------------------------------------------------------------

    def _record(
        self,
        inv: Invocation,
        status: InvocationStatus,
        database: str,
        changes: tuple[RowChange, ...] = (),
    ) -> None:
        if status == "applied" and not changes and inv.tool != "ip":
            status = "unchanged"
        self.applied.append(
            AppliedInvocation(inv.index, inv.location, inv.tool, inv.host, database, status,
                              changes)
        )
        self.last = status
        if status == "failed":
            for c in inv.commands:
                made = _CREATES.get(c.verb)
                if made and len(c.args) > made[1]:
                    self.failed_creates.setdefault((made[0], c.args[made[1]]), inv.location.line)

    def _problem(
        self,
        kind: str,
        inv: Invocation,
        message: str,
        suggestions: tuple[str, ...] = (),
        note: str = "",
    ) -> None:
        self.problems.append(
            ChangeProblem(kind, inv.location, inv.expanded, message, suggestions,  # type: ignore[arg-type]
                          inv.index, note)
        )

    # -- one invocation -------------------------------------------------------------------

    def run(self, inv: Invocation) -> None:
        database = DATABASE_OF[inv.tool]
        if inv.after == "&&" and self.last not in ("applied", "unchanged"):
            self._record(inv, "skipped", database)
            return
        if inv.tool == "ip":
            self._run_ip(inv)
            return
        if inv.syntax_error is not None and self.backend.checks_syntax:
            self._problem("rejected", inv, f"{inv.tool}: {inv.syntax_error}")
            self._record(inv, "failed", database)
            return
        unsupported = self.backend.unsupported(inv)
        if unsupported:
            self._problem("unsupported-command", inv, unsupported)
            self._record(inv, "unsupported", database)
            return
        if inv.tool == "ovs-vsctl":
            self._run_vsctl(inv)
        elif inv.tool == "ovn-sbctl":
            if self.snapshot.sb is None:
                self._problem("unknown-host", inv,
                              "ovn-sbctl acts on the Southbound DB, and sb.db was not collected")
                self._record(inv, "unsupported", database)
                return
            self._run_db(inv, self.snapshot.sb, database, ("sb",))
        else:  # ovn-nbctl, and Neutron, which writes the Northbound DB
            self._run_db(inv, self.snapshot.nb, database, ("nb",))

    def run_group(self, group: list[Invocation]) -> None:
        """Lines `batch.groupable` as one transaction; split in halves when it fails, so a
        failing line is run -- and reported -- on its own, after the lines before it."""
        if group[0].after == "&&" and self.last not in ("applied", "unchanged"):
            self.run(group[0])  # skipped, as sh would
            group = group[1:]
        if len(group) <= 1:
            for inv in group:
                self.run(inv)
            return
        target = self._target(group[0])
        if target is None:
            for inv in group:
                self.run(inv)
            return
        db, database, key = target
        out = self.backend.execute_group(group, db, key)  # type: ignore[attr-defined]
        if out.after is None:
            half = len(group) // 2
            self.run_group(group[:half])
            self.run_group(group[half:])
            return
        changes = out.changes if out.changes is not None else tuple(diff(db, out.after))
        self._commit(key, out.after)
        for inv, mine in zip(group, attribute(group, changes), strict=True):
            self._record(inv, "applied", database, mine)

    def _target(self, inv: Invocation) -> tuple[Database, str, DbKey] | None:
        """The database a grouped line acts on, or None to run it alone (which says why)."""
        if inv.tool == "ovn-nbctl":
            return self.snapshot.nb, "OVN_Northbound", ("nb",)
        name = inv.host
        host = self.snapshot.hosts.get(name) if name is not None else None
        if inv.tool == "ovs-vsctl" and name is not None and host is not None and \
                host.ovs is not None:
            return host.ovs, "Open_vSwitch", ("host", name)
        return None

    def _commit(self, key: DbKey, after: Database) -> None:
        if key == ("nb",):
            self.snapshot = self.snapshot.with_nb(after)
        elif key == ("sb",):
            self.snapshot = self.snapshot.with_sb(after)
        else:
            from ovnguard.change.hostapply import sync_ovs_links

            # the bridge devices vswitchd adds or removes, with their addresses and routes
            self.snapshot = self.snapshot.with_host(
                sync_ovs_links(replace(self.snapshot.hosts[key[1]], ovs=after)))

    def _run_ip(self, inv: Invocation) -> None:
        """A host line: the host model's addresses, routes and links (change/hostrun.py)."""
        from ovnguard.change.hostrun import run_ip

        out = run_ip(self.snapshot, inv)
        for p in out.problems:
            self._problem(p.kind, inv, p.message, p.suggestions, p.note)
        self.notes.extend(out.notes)
        self.snapshot = out.snapshot
        self._record(inv, out.status, "host")

    def _run_vsctl(self, inv: Invocation) -> None:
        hosts = self.snapshot.hosts
        if inv.host is None:
            self._problem(
                "unknown-host", inv,
                _("ovs-vsctl acts on one host's Open_vSwitch database: say which with a "
                  "'# host: NAME' line above it or --host NAME"),
                tuple(sorted(hosts))[:5],
            )
            self._record(inv, "unsupported", "Open_vSwitch")
            return
        host = hosts.get(inv.host)
        if host is None or host.ovs is None:
            msg = (_("host {host} is not in the bundle") if host is None else
                   _("the Open_vSwitch database of host {host} was not collected")).format(
                       host=inv.host)
            self._problem("unknown-host", inv, msg,
                          suggest_host(sorted(hosts), inv.host) if host is None else ())
            self._record(inv, "unsupported", "Open_vSwitch")
            return
        self._run_db(inv, host.ovs, "Open_vSwitch", ("host", inv.host))

    def _run_db(self, inv: Invocation, db: Database, database: str, key: DbKey) -> None:
        seed = f"{self.change.path}:{inv.index}"
        out = self.backend.execute(inv, db, key, seed, self.ml2)
        if out.unsupported is not None:
            self._problem("unsupported-command", inv, out.unsupported)
            self._record(inv, "unsupported", database)
            return
        if out.after is None:
            prefix = "openstack network create" if inv.tool == "openstack" else inv.tool
            suggestions: tuple[str, ...] = ()
            note = ""
            if out.missing is not None:
                table, name = out.missing
                suggestions = suggest(db, table, name)
                line = self.failed_creates.get((table, name))
                if line is not None:
                    note = _("{name} would have been created by line {line}, which "
                             "failed").format(name=name, line=line)
            self._problem("rejected", inv, f"{prefix}: {out.error}", suggestions, note)
            self._record(inv, "failed", database)
            return
        after = out.after
        changes = out.changes if out.changes is not None else tuple(diff(db, after))
        self._commit(key, after)
        if key == ("sb",) and changes:
            self.notes.append(_(
                "line {line}: a hand edit of the Southbound DB lasts only until ovn-northd's "
                "next run: northd overwrites what it owns there (port bindings' types and "
                "options, datapaths, logical flows)").format(line=inv.location.line))
        self._record(inv, "applied", database, changes)


def _transact(db: Database, inv: Invocation, seed: str, ml2: Ml2Config) -> Database:
    """Run one invocation as one transaction; CtlError if the real tool would fail."""
    txn = Txn(db, seed)
    gopts = dict(inv.global_options)
    if inv.tool == "openstack":
        network_create(txn, inv.commands[0], ml2)
        return txn.commit()
    if not inv.commands:  # --help, --version: prints and exits
        return db
    root = "NB_Global" if inv.tool == "ovn-nbctl" else "Open_vSwitch"
    if next(iter(txn.rows(root)), None) is None:
        txn.insert(root, {})  # nbctl_pre_execute() / do_vsctl() create the root row
    from ovnguard.change import dbctl  # (loaded with the verbs, `_verbs`)

    verbs = _verbs(inv.tool)
    for cmd in inv.commands:
        if cmd.verb in GENERIC and cmd.verb not in verbs:
            dbctl.pre_generic(txn, cmd)
    last = len(inv.commands) - 1
    for k, cmd in enumerate(inv.commands):
        txn.last_command = k == last
        if cmd.verb in verbs:
            verbs[cmd.verb](txn, cmd)
        else:
            dbctl.run_generic(txn, inv.tool, cmd)
    for name in txn.symbols:
        if name not in txn.created_symbols:
            raise CtlError(
                f'row id "{name}" is referenced but never created (e.g. with "-- --id={name} '
                'create ...")'
            )
    if txn.touched or txn.deleted:
        bump = (
            gopts.get("--wait") in ("sb", "hv")
            if inv.tool == "ovn-nbctl"
            else "--no-wait" not in gopts
        )
        if bump:
            column = "nb_cfg" if inv.tool == "ovn-nbctl" else "next_cfg"
            row = next(iter(txn.rows(root)))
            txn.update(root, row.uuid, {column: int(row.get(column, 0)) + 1})
    return txn.commit()
