"""The what-if pipeline, fork-and-diff: snapshot -> (change -> snapshot') -> realization of
both -> findings of both -> differential verdict -> Report.

Pure: it takes what the sources already read and returns the report object every renderer
uses. `ovnguard check`, `ovnguard demo` and the guard all call `assess`.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from ovnguard.change.model import Change, ChangeResult
from ovnguard.findings.context import ChangeContext, RuleContext
from ovnguard.findings.registry import run_change_rules
from ovnguard.findings.rules.hostchange import host_step_findings
from ovnguard.findings.verdict import Assessment, evaluate
from ovnguard.gcpause import gc_paused
from ovnguard.i18n import _
from ovnguard.model.evidence import Evidence
from ovnguard.model.snapshot import Snapshot
from ovnguard.record import record
from ovnguard.report.assemble import build_report
from ovnguard.report.schema import Report
from ovnguard.simulation.realize import realization_delta, realization_steps, realize
from ovnguard.simulation.types import EventKind, HostDelta, Realization

if TYPE_CHECKING:  # a check without a change file needs no executor: imported with one
    from ovnguard.change.executor import Executor


@record
class Baseline:
    """A loaded model: a snapshot, what ovn-controller realizes on it and the rules' view of
    it (whose findings are computed once). Every what-if on the same snapshot reuses it, so
    only the change's side is computed again (`assess(..., baseline=w.baseline)`)."""

    snapshot: Snapshot
    realization: Realization
    context: RuleContext

    @classmethod
    def of(cls, snapshot: Snapshot) -> Baseline:
        r = realize(snapshot)
        return cls(snapshot, r, RuleContext.build(snapshot, r, label="before"))


@record
class WhatIf:
    """Everything one assessment computed, for callers that need more than the report."""

    report: Report
    assessment: Assessment
    before: Realization
    after: Realization | None
    change_result: ChangeResult | None
    deltas: dict[str, HostDelta]
    baseline: Baseline | None = None  # the loaded model, for the next what-if


def assess(snapshot: Snapshot, change: Change | None = None,
           executor: Executor | None = None, *, baseline: Baseline | None = None,
           operator: str | None = None) -> WhatIf:
    """Judge `snapshot`, or what `change` does to it. `baseline`: a previous WhatIf's
    `baseline` of the same snapshot (ignored when it is of another one). `executor` applies
    the change (default: `default_executor()`, the real tools where installed, else the
    model). `operator`: the address the change is typed from (`check --from`, $SSH_CLIENT):
    host lines are checked for the line after which a host no longer reaches it."""
    # a whole cluster's realization and findings are built at once and none of it is garbage
    # until the report is out: the collector would only re-walk it (ovnguard.gcpause)
    with gc_paused():
        fresh = baseline is None or baseline.snapshot is not snapshot
        if change is None:
            base = Baseline.of(snapshot) if fresh or baseline is None else baseline
            return replace(_assess(base, None, None, None), baseline=base)
        if executor is None:
            from ovnguard.change.executor import default_executor

            executor = default_executor()
        if fresh or baseline is None:
            from concurrent.futures import ThreadPoolExecutor

            # The real-tool executor mostly waits for its servers and tools: let it run while
            # the state before is simulated (both only read the immutable snapshot).
            with ThreadPoolExecutor(1) as pool:
                pending = pool.submit(executor.apply, snapshot, change)
                base = Baseline.of(snapshot)
                result = pending.result()
        else:
            base = baseline
            result = executor.apply(snapshot, change)
        return replace(_assess(base, change, result, executor, operator), baseline=base)


def _assess(base: Baseline, change: Change | None, result: ChangeResult | None,
            executor: Executor | None, operator: str | None = None) -> WhatIf:
    snapshot, before_r, ctx0 = base.snapshot, base.realization, base.context
    if change is None or result is None:
        assessment = evaluate(ctx0)
        report = build_report(snapshot, None, assessment, {}, None,
                              semantics=before_r.semantics, index=ctx0.nb,
                              views=ctx0.hosts)
        return WhatIf(report, assessment, before_r, None, None, {})
    after_r = realize(result.snapshot, since=before_r)  # only hosts the change touches
    ctx1 = RuleContext.build(result.snapshot, _reached(after_r, before_r), label="after",
                             since=ctx0)
    if len(result.steps) > 1:
        # Line by line, as ovn-controller sees them: an intermediate state can leave ports
        # stale that a single transaction would not (e.g. gateway chassis moved in two lines).
        mids: list[Realization | None] = [None] * (len(result.steps) - 1)
        deltas = realization_steps([snapshot, *result.steps], [before_r, *mids, after_r])
    else:
        deltas = realization_delta(snapshot, result.snapshot, before_r, after_r)
    extra = run_change_rules(ChangeContext(change, result, ctx0))
    extra += host_step_findings(change, result, operator)  # host lines, in their order
    assessment = evaluate(ctx0, ctx1, extra, change_line_evidence(change, result))
    from ovnguard.change.executor import RealToolExecutor

    tools = executor.tools.versions() if isinstance(executor, RealToolExecutor) else {}
    report = build_report(result.snapshot, change, assessment, deltas, result, tools,
                          semantics=after_r.semantics, memo=ctx0.memo, index=ctx1.nb,
                          views=ctx1.hosts)
    return WhatIf(report, assessment, before_r, after_r, result, deltas)


def _reached(after_r: Realization, before_r: Realization) -> Realization:
    """The ports each host will really have: where ovn-controller's own OVS transaction is
    predicted to fail (a patch-port name clash), the host keeps what it had, so the rules
    judge that -- not the ports ovn-controller wants but cannot create."""
    hosts = dict(after_r.hosts)
    for h, hr in after_r.hosts.items():
        stuck = any(e.kind is EventKind.ovs_transaction_fails for e in hr.events)
        if stuck and h in before_r.hosts:
            b = before_r.hosts[h]
            hosts[h] = replace(hr, patch_ports=b.patch_ports, why=b.why,
                               local_datapaths=b.local_datapaths)
    return replace(after_r, hosts=hosts)


def change_line_evidence(change: Change, result: ChangeResult) -> list[Evidence]:
    """One fact per applied line, naming the rows it touches: the first link of each chain."""
    by_inv = {a.invocation: a for a in result.applied}
    out: list[Evidence] = []
    for inv in change.invocations:
        a = by_inv.get(inv.index)
        if a is None or a.status != "applied":
            continue
        touched = [c for c in a.changes if c.table not in ("NB_Global", "Open_vSwitch")]
        first = touched[0] if touched else None
        row = None
        if first is not None:
            r = first.after or first.before
            row = (r.name if r is not None else "") or str(first.uuid)[:8]
        where = _(" on {host}").format(host=inv.host) if inv.host else ""
        out.append(
            Evidence(
                _(
                        "line {line}{where}: {expanded}").format(
                        line=inv.location.line, where=where, expanded=inv.expanded),
                f"change:{inv.location.line}",
                table=first.table if first else None,
                row=row,
                host=inv.host,
            )
        )
    return out
