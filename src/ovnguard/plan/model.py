"""What a remediation plan is: per host (or for the central NB), ordered steps, each with the
command lines that do it and the ones that undo it, and what the what-if says about the
state the plan ends in.

A step's command lines are change-file lines (`ovs-vsctl ...` / `ovn-nbctl ...`), one
transaction each, so the plan is checked, rehearsed and applied by the same machinery as any
other change (`ovnguard check --change`, `ovnguard rehearse --change`).
"""

from __future__ import annotations

from dataclasses import field

from ovnguard.change.shell import quote_words
from ovnguard.record import record

# The part of a plan that runs against the central OVN_Northbound (ovn-nbctl), not a host.
NORTHBOUND = "northbound"

Words = tuple[str, ...]  # one command line: the tool, then its arguments ("--" chains)


# A word of a Words that is the shell's `&&` between two commands of one typed line (the
# what-if checks such a line as one unit: plan/mgmtmove.py).
AND = "&&"


def line_text(words: Words) -> str:
    parts: list[list[str]] = [[]]
    for w in words:
        if w == AND:
            parts.append([])
        else:
            parts[-1].append(w)
    return " && ".join(quote_words(p) for p in parts)


@record(slots=True)
class Step:
    title: str  # what it does, in a few words
    why: str  # why this step, and why at this place in the order
    commands: tuple[Words, ...]  # one transaction each, in order
    inverse: tuple[Words, ...]  # undoes this step (run after the later steps' inverses)
    # Set when the step cuts this host's own management path: it has to be run from a
    # console (IPMI/BMC, hypervisor), not over SSH to the management address.
    console: str | None = None
    fixes: tuple[str, str] | None = None  # (rule id, finding key) this step fixes
    # What running the inverse means beyond undoing (e.g. it re-creates the L2 loop).
    inverse_warning: str | None = None

    @property
    def console_needed(self) -> bool:
        return self.console is not None


@record(slots=True)
class Part:
    """The steps for one host (its Open_vSwitch DB) or for the northbound DB."""

    name: str  # host name, or NORTHBOUND
    host: str | None  # None for the northbound part
    steps: tuple[Step, ...]
    notes: tuple[str, ...] = ()  # preconditions and warnings for this host

    @property
    def plan_file(self) -> str:
        return f"plan-{self.name}.sh"

    @property
    def rollback_file(self) -> str:
        return f"rollback-{self.name}.sh"


@record(slots=True)
class NotProposed:
    """A hazard the planner looked at and deliberately gives no steps for."""

    rule: str
    key: str
    hosts: tuple[str, ...]
    summary: str
    reason: str


@record(slots=True)
class FindingRef:
    rule: str
    severity: str
    hosts: tuple[str, ...]
    summary: str
    loses_management: tuple[str, ...] = ()
    key: str = ""

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {
            "rule": self.rule,
            "severity": self.severity,
            "hosts": list(self.hosts),
            "summary": self.summary,
            "key": self.key,
        }
        if self.loses_management:
            out["loses_management"] = list(self.loses_management)
        return out


@record(slots=True)
class LineProblem:
    file: str
    line: int
    text: str
    outcome: str  # "rejected" | "unsupported" | "skipped"
    message: str


@record(slots=True)
class Reach:
    """Does ovn-controller end with the patch ports it wants, under one timing model?"""

    model: str  # "step-by-step" | "at-once"
    problems: dict[str, tuple[str, ...]]  # host -> what is not as wanted, and why

    @property
    def ok(self) -> bool:
        return not any(self.problems.values())


@record(slots=True)
class RollbackCheck:
    restores: bool
    differences: tuple[str, ...] = ()


@record
class Verification:
    change_verdict: str  # the plan judged as a change (ovnguard check --change)
    end_verdict: str  # the state the plan ends in, judged alone
    dangerous: tuple[FindingRef, ...]  # left in the end state: critical or cuts management
    resolved: tuple[FindingRef, ...]
    introduced: tuple[FindingRef, ...]
    remaining_targets: tuple[FindingRef, ...]  # what the plan was meant to fix, still there
    left: tuple[FindingRef, ...]  # every finding of the end state
    line_problems: tuple[LineProblem, ...]
    reach: tuple[Reach, ...]
    realization: dict[str, dict[str, list[dict[str, str]]]]
    rollback: RollbackCheck
    # Hosts whose management address is left without a way out (its bridge lost its last
    # uplink): something the rules do not see, since addresses never move in a change file.
    management: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def reasons(self) -> tuple[str, ...]:
        """Why the plan is not proven (empty: proven)."""
        out: list[str] = []
        for p in self.line_problems:
            out.append(f"{p.file}:{p.line} is {p.outcome}: {p.message}")
        for r in self.reach:
            for host, probs in sorted(r.problems.items()):
                for pr in probs:
                    out.append(f"{host} ({r.model}): {pr}")
        out += list(self.management)
        if self.change_verdict == "dangerous":
            out.append("the plan itself is dangerous as a change (see introduced findings)")
        for f in self.dangerous:
            out.append(f"dangerous finding left: {f.rule} ({f.severity}) on "
                       f"{', '.join(f.hosts) or 'no host'}")
        for f in self.remaining_targets:
            out.append(f"not fixed: {f.rule} on {', '.join(f.hosts) or 'no host'}")
        if not self.rollback.restores:
            out.append("the rollback does not restore the bundle's state: "
                       + "; ".join(self.rollback.differences[:3]))
        return tuple(out)

    @property
    def proven(self) -> bool:
        return not self.reasons


@record(slots=True)
class DeployChange:
    """The plan's end state said in a deployment tool's terms (plan/deploy.py), so that the
    tool's next run keeps it instead of undoing the ovs-vsctl steps."""

    tool: str  # a flavor id (kolla-ansible, ...), "netplan" or "os-net-config"
    title: str
    where: str  # the file (or command) it goes into
    text: str  # YAML (or a command line) to merge there; empty when only notes apply
    hosts: tuple[str, ...]
    notes: tuple[str, ...] = ()

    def to_json(self) -> dict[str, object]:
        return {"tool": self.tool, "title": self.title, "where": self.where,
                "text": self.text, "hosts": list(self.hosts), "notes": list(self.notes)}


@record
class Plan:
    kind: str  # "separate-nic" | "fix"
    bundle: str
    parameters: dict[str, object]
    parts: tuple[Part, ...]
    not_proposed: tuple[NotProposed, ...] = ()
    notes: tuple[str, ...] = ()
    verification: Verification | None = None
    targets: tuple[tuple[str, str], ...] = field(default=())  # (rule, key) meant to go away
    # The same change for each host's deployment tool (plan/deploy.py); not part of the
    # what-if, which proves the ovs-vsctl / ovn-nbctl steps.
    deployment: tuple[DeployChange, ...] = field(default=())

    @property
    def empty(self) -> bool:
        return not any(p.steps for p in self.parts)

    @property
    def status(self) -> str:
        """"nothing-to-do" | "proven" | "not-proven"."""
        if self.empty:
            return "nothing-to-do"
        if self.verification is not None and self.verification.proven:
            return "proven"
        return "not-proven"

    def part(self, name: str) -> Part | None:
        return next((p for p in self.parts if p.name == name), None)
