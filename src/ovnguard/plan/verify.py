"""Prove a plan with the what-if: apply all of it to the bundle's snapshot and judge the end
state; check that ovn-controller really gets there; check that the rollback gets back.

Three questions, because the what-if's findings alone answer only the first:

1. **The end state** (`assess(snapshot, whole plan)`): which findings the plan resolves and
   introduces, and which dangerous ones (critical, or a host losing management) are left.
   The rules judge the patch ports ovn-controller *wants* in the end state.
2. **Does ovn-controller get there?** What it wants is not always what it can do: moving a
   physnet to another bridge while the old provider-side patch port still exists makes every
   ovn-controller transaction fail (a name clash, measured in the lab; see
   simulation/patchrun.py), and the ports stay where they were. So the plan is replayed
   transaction by transaction, each host's patch ports settled after each one as
   ovn-controller leaves them (`settle`), and also all at once (ovn-controller may see only
   the end if the steps come quickly) -- in both the ports must end where they are wanted.
3. **The rollback**: from the settled end state, every inverse in reverse order (again
   settled after each), and the NB and every host's Open_vSwitch DB must be back to the
   bundle's content (`compare.db_differences`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from ovnguard.assess import Baseline, assess
from ovnguard.change.apply import apply_change
from ovnguard.change.executor import Executor
from ovnguard.change.parse import parse_change
from ovnguard.findings.context import RuleContext
from ovnguard.findings.finding import Finding, Severity
from ovnguard.findings.verdict import evaluate
from ovnguard.model.host import HostView
from ovnguard.model.ovs import LOCALNET_KEYS
from ovnguard.model.snapshot import Snapshot
from ovnguard.plan.compare import db_differences
from ovnguard.plan.files import plan_text
from ovnguard.plan.model import (
    FindingRef,
    LineProblem,
    Part,
    Plan,
    Reach,
    RollbackCheck,
    Verification,
    Words,
    line_text,
)
from ovnguard.plan.settle import settle
from ovnguard.record import record
from ovnguard.simulation.realize import realize
from ovnguard.simulation.types import HostDelta


def finding_ref(f: Finding) -> FindingRef:
    return FindingRef(f.rule, f.severity.name, f.hosts, f.summary, f.loses_management, f.key)


def is_dangerous(f: Finding) -> bool:
    return f.severity >= Severity.critical or bool(f.loses_management)


@record
class _Combined:
    text: str
    origin: list[tuple[str, int]]  # per line of `text` (0-based): (file, line in that file)


def combined_plan(plan: Plan) -> _Combined:
    """Every part's plan file, one after the other (the northbound part first)."""
    lines: list[str] = []
    origin: list[tuple[str, int]] = []
    for part in plan.parts:
        if not part.steps:
            continue
        for i, ln in enumerate(plan_text(plan, part).splitlines(), 1):
            lines.append(ln)
            origin.append((part.plan_file, i))
    return _Combined("\n".join(lines) + "\n", origin)


def _apply_line(snapshot: Snapshot, host: str | None, words: Words,
                where: str) -> tuple[Snapshot, list[str]]:
    text = (f"# host: {host}\n" if host else "") + line_text(words) + "\n"
    result = apply_change(snapshot, parse_change(text, where))
    return result.snapshot, [str(p) for p in result.problems]


@dataclass
class _Replay:
    snapshot: Snapshot
    notes: dict[str, list[str]]
    problems: list[str]


def _only(s: Snapshot, host: str) -> Snapshot:
    return replace(s, hosts={host: s.hosts[host]})


def _replay(start: Snapshot, lines: Iterable[tuple[str | None, Words, str]]) -> _Replay:
    """Apply each command line as its own transaction and let ovn-controller react before
    the next one.

    An ovs-vsctl line is settled on its own host only: what ovn-controller wants on a host
    depends on NB/SB and that host's own OVS database, so no other host's ports move. (Its
    changed SB Chassis row makes every ovn-controller recompute, which can drop ports that
    were already stale elsewhere; the all-at-once check settles every host.) This keeps a
    plan for hundreds of hosts linear in its length."""
    s = start
    notes: dict[str, list[str]] = {}
    problems: list[str] = []
    for host, words, where in lines:
        after, probs = _apply_line(s, host, words, where)
        problems += probs
        if host is not None and host in after.hosts:
            settled = settle(_only(s, host), _only(after, host))
            s = after.with_host(settled.snapshot.hosts[host])
        else:
            settled = settle(s, after)
            s = settled.snapshot
        problems += settled.problems
        _collect(notes, settled.deltas)
    return _Replay(s, notes, problems)


def _collect(notes: dict[str, list[str]], deltas: dict[str, HostDelta]) -> None:
    for h, d in deltas.items():
        seen = notes.setdefault(h, [])
        seen.extend(n for n in d.notes if n not in seen)


def _ovn_ports(snapshot: Snapshot, host: str) -> set[tuple[str, str]]:
    state = snapshot.hosts[host]
    v = HostView(state)
    out = set()
    for br in v.bridges.values():
        for p in br.ports:
            if any(k in p.external_ids for k in LOCALNET_KEYS):
                out.add((br.name, p.name))
    return out


def reach_problems(final: Snapshot, notes: dict[str, list[str]]) -> dict[str, tuple[str, ...]]:
    """Per host: wanted patch ports that are not there (or are on another bridge), and
    ovn-controller ports left over where nothing wants them."""
    wanted_r = realize(final)
    out: dict[str, tuple[str, ...]] = {}
    for h, state in sorted(final.hosts.items()):
        hr = wanted_r.hosts.get(h)
        if state.ovs is None or hr is None:
            continue
        have = _ovn_ports(final, h)
        want = {(p.bridge, p.port) for p in hr.patch_ports}
        where = {name: br for br, name in have}
        probs: list[str] = []
        for br, name in sorted(want - have):
            if name in where:
                probs.append(f"{name} stays on {where[name]}; ovn-controller wants it on {br}")
            else:
                probs.append(f"{name} is not created on {br}")
        wanted_names = {n for _, n in want}
        for br, name in sorted(have - want):
            if name not in wanted_names:
                probs.append(f"{name} stays on {br}, where ovn-controller no longer wants it")
        if probs:
            why = [n for n in notes.get(h, []) if "transaction error" in n]
            probs += [f"because: {n}" for n in why[:1]]
        out[h] = tuple(probs)
    return out


def _plan_lines(plan: Plan) -> list[tuple[str | None, Words, str]]:
    return [(part.host, w, part.plan_file)
            for part in plan.parts for step in part.steps for w in step.commands]


def _rollback_lines(parts: Sequence[Part]) -> list[tuple[str | None, Words, str]]:
    return [(part.host, w, part.rollback_file)
            for part in reversed(parts) for step in reversed(part.steps) for w in step.inverse]


def rollback_differences(base: Snapshot, final: Snapshot) -> list[str]:
    out = [f"NB: {d}" for d in db_differences(base.nb, final.nb)]
    for h, state in sorted(base.hosts.items()):
        other = final.hosts.get(h)
        if state.ovs is None or other is None or other.ovs is None:
            continue
        out += [f"{h}: {d}" for d in db_differences(state.ovs, other.ovs)]
    return out


def management_cut(before: Snapshot, after: Snapshot) -> list[str]:
    """Hosts whose management address rides a bridge that had an uplink NIC before and has
    none after: the address is still there, but nothing carries it off the host."""
    out = []
    for h, state in sorted(before.hosts.items()):
        other = after.hosts.get(h)
        if state.ovs is None or other is None or other.ovs is None:
            continue
        m0 = HostView(state).management
        m1 = HostView(other).management
        if m0 is None or m0.carrier is None or not m0.carrier.nics or m1 is None:
            continue
        c1 = m1.carrier
        if c1 is not None and c1.bridge is not None and not c1.nics:
            out.append(f"{h}: its management address {m0.cidr} stays on {c1.bridge}, which "
                       f"has no uplink after the plan ({', '.join(m0.carrier.nics)} left it): "
                       f"{h} is cut off until the address moves (by hand, from a console)")
    return out


def verify(snapshot: Snapshot, plan: Plan, baseline: Baseline | None = None,
           executor: Executor | None = None) -> Verification:
    """`baseline`: the model of `snapshot` already loaded and judged (assess's), if any;
    `executor`: the one its what-ifs ran on (its copies kept), if any."""
    combined = combined_plan(plan)
    change = parse_change(combined.text, "plan")
    wi = assess(snapshot, change, executor, baseline=baseline)
    a = wi.assessment

    line_problems = []
    for cl in wi.report.change_lines:
        if cl.outcome == "applied":
            continue
        file, line = combined.origin[cl.line - 1] if 0 < cl.line <= len(combined.origin) \
            else ("plan", cl.line)
        line_problems.append(LineProblem(file, line, cl.text, cl.outcome, cl.message or ""))

    targets = set(plan.targets)
    end = [f for f in a.findings if f.status in ("introduced", "pre-existing")]
    dangerous = tuple(finding_ref(f) for f in end if is_dangerous(f))
    remaining = tuple(finding_ref(f) for f in end if (f.rule, f.key) in targets)
    resolved = tuple(finding_ref(f) for f in a.findings if f.status == "resolved")
    introduced = tuple(finding_ref(f) for f in a.findings if f.status == "introduced")
    end_snapshot = wi.change_result.snapshot if wi.change_result else snapshot
    # The end state judged alone (no change): its own findings all count.
    end_verdict = evaluate(RuleContext.build(end_snapshot, wi.after)).verdict

    # The bundle is taken as ovn-controller left it; settle it first so that what the plan
    # changes is not mixed up with what the hosts had not done yet.
    base_settled = settle(snapshot, snapshot)
    base = base_settled.snapshot
    notes: list[str] = []
    unsettled = rollback_differences(snapshot, base)
    if unsettled:
        notes.append("the bundle's patch ports are not all where ovn-controller wants them; "
                     "the checks start from where it would put them: " + "; ".join(unsettled[:3]))

    stepwise = _replay(base, _plan_lines(plan))
    at_once = settle(base, apply_change(base, change).snapshot)
    once_notes: dict[str, list[str]] = {}
    _collect(once_notes, at_once.deltas)
    reach = (
        Reach("step-by-step", reach_problems(stepwise.snapshot, stepwise.notes)),
        Reach("at-once", reach_problems(at_once.snapshot, once_notes)),
    )

    notes += [f"step-by-step replay: {p}" for p in stepwise.problems]
    notes += [f"all-at-once: {p}" for p in at_once.problems]

    back = _replay(stepwise.snapshot, _rollback_lines(plan.parts))
    diffs = [f"rollback line refused: {p}" for p in back.problems]
    diffs += rollback_differences(base, back.snapshot)
    want0 = {h: hr.patch_ports for h, hr in realize(base).hosts.items()}
    want1 = {h: hr.patch_ports for h, hr in realize(back.snapshot).hosts.items()}
    for h in sorted(set(want0) | set(want1)):
        if want0.get(h) != want1.get(h):
            diffs.append(f"{h}: ovn-controller would want other patch ports after the rollback")

    realization = {h: r.model_dump(exclude_defaults=False)
                   for h, r in wi.report.realization.items()}
    return Verification(
        change_verdict=a.verdict,
        end_verdict=end_verdict,
        dangerous=dangerous,
        resolved=resolved,
        introduced=introduced,
        remaining_targets=remaining,
        left=tuple(finding_ref(f) for f in end),
        line_problems=tuple(line_problems),
        reach=reach,
        realization=realization,
        rollback=RollbackCheck(not diffs, tuple(diffs)),
        management=tuple(management_cut(snapshot, end_snapshot)),
        notes=tuple(notes),
    )
