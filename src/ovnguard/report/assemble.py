"""The report of one assessment: what `assess` computed, assembled into the `Report` every
renderer renders (report/schema.py) -- findings with the lines that cause them, each host's
patch-port changes, topology, localnets, the summary line, notes and versions. Pure."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ovnguard import __version__
from ovnguard.change.model import Change, ChangeProblem, ChangeResult
from ovnguard.findings.context import NbIndex
from ovnguard.findings.finding import Finding
from ovnguard.findings.verdict import Assessment
from ovnguard.i18n import _
from ovnguard.model.db import Row
from ovnguard.model.evidence import Evidence
from ovnguard.model.host import HostView, host_views
from ovnguard.model.hostnames import few_hosts
from ovnguard.model.snapshot import Snapshot
from ovnguard.report.schema import (
    ChangeLineOut,
    ClusterVersionsOut,
    EvidenceOut,
    FindingOut,
    HostRealizationOut,
    HostTopologyOut,
    LocalnetOut,
    PatchPortOut,
    Report,
    VersionsOut,
)
from ovnguard.simulation.types import HostDelta
from ovnguard.versions import SEMANTICS, OvnSemantics, cluster_versions, version_notes


def _ev(e: Evidence) -> EvidenceOut:
    return EvidenceOut(fact=e.fact, source=e.source, table=e.table, row=e.row, host=e.host)


# Tables with one row per database: evidence names a column of it, not a row.
_SINGLETONS = frozenset({"Open_vSwitch", "NB_Global", "SB_Global"})


# (table, row name or uuid or its 8-char prefix) -> (line, host) of applied lines that touched
# it; singleton tables by table alone (name ""). Built once per report: per finding it was a
# scan of every row change of every line (quadratic in a long change).
RowIndex = dict[tuple[str, str], list[tuple[int, str | None]]]


def touched_rows(result: ChangeResult) -> RowIndex:
    index: RowIndex = {}
    for a in result.applied:
        if a.status != "applied":
            continue
        for c in a.changes:
            row = c.after or c.before
            keys = ({""} if c.table in _SINGLETONS else
                    {str(c.uuid), str(c.uuid)[:8], (row.name if row is not None else "") or ""})
            for k in keys:
                index.setdefault((c.table, k), []).append((a.location.line, a.host))
    return index


# At most this many lines are named per finding: 10,000 lines adding ports to one switch
# all touch that switch, and naming every one for each of their 10,000 findings made the
# report grow with the square of the change.
CAUSE_LINES = 64


def causing_lines(f: Finding, change: Change, result: ChangeResult,
                  index: RowIndex | None = None) -> list[int]:
    """The change file's lines that cause an introduced finding: lines its evidence names
    (`change:N`), and applied lines that touched a row its evidence stands on. A finding the
    change introduced without touching any row of its evidence (e.g. a host newly reached by
    an existing hazard) is caused by the change as a whole: every applied line. At most
    CAUSE_LINES: the lines of the rows the fewest lines touched come first (the port a line
    added before the switch every line added a port to)."""
    index = touched_rows(result) if index is None else index
    lines = {int(e.source[7:]) for e in f.evidence
             if e.source.startswith("change:") and e.source[7:].isdigit()}
    wanted = {(e.table, e.row, e.host) for e in f.evidence if e.table and e.row}
    hits = sorted(((index.get((table, "" if table in _SINGLETONS else name), []), host)
                   for table, name, host in wanted), key=lambda x: len(x[0]))
    for touched, host in hits:
        for line, line_host in touched:
            if len(lines) >= CAUSE_LINES:
                break
            if not (line_host and host and host != line_host):
                lines.add(line)
    if not lines:
        for a in result.applied:
            if len(lines) >= CAUSE_LINES:
                break
            if a.status == "applied":
                lines.add(a.location.line)
    return sorted(lines)


def _finding_out(f: Finding, lines: list[int] | None = None) -> FindingOut:
    return FindingOut(
        rule=f.rule,
        severity=f.severity.name,  # type: ignore[arg-type]
        hosts=list(f.hosts),
        summary=f.summary,
        evidence=[_ev(e) for e in f.evidence],
        remediation=f.remediation,
        introduced_by_change=f.introduced_by_change,
        status=f.status,  # type: ignore[arg-type]
        key=f.key,
        loses_management=list(f.loses_management),
        hosts_added=list(f.hosts_added),
        change_lines=lines or [],
    )


def _change_lines(change: Change, result: ChangeResult) -> list[ChangeLineOut]:
    by_inv = {a.invocation: a for a in result.applied}
    problems: dict[int, list[ChangeProblem]] = {}
    # An executor passes the reader's problems on in its result (a line it could not run):
    # the same problem once, not "message; message".
    for p in dict.fromkeys((*change.problems, *result.problems)):
        problems.setdefault(p.location.line, []).append(p)
    out: list[ChangeLineOut] = []
    seen_lines: set[int] = set()
    for inv in change.invocations:
        a = by_inv.get(inv.index)
        status = a.status if a is not None else "skipped"
        outcome = {
            "applied": "applied",
            "unchanged": "applied",
            "failed": "rejected",
            "unsupported": "unsupported",
        }.get(status, "skipped")
        ps = [p for p in problems.get(inv.location.line, []) if p.invocation in (None, inv.index)]
        msg = "; ".join(p.message for p in ps) or (
            _("no effect (already so)") if status == "unchanged" else None
        )
        sugg = [s for p in ps for s in p.suggestions]
        out.append(
            ChangeLineOut(
                line=inv.location.line,
                text=inv.expanded,
                host=inv.host,
                outcome=outcome,  # type: ignore[arg-type]
                message=msg,
                suggestions=list(dict.fromkeys(sugg)),
            )
        )
        seen_lines.add(inv.location.line)
    # Problems found while reading (shell syntax, variables) have no invocation.
    for line, ps in sorted(problems.items()):
        if line in seen_lines:
            continue
        p = ps[0]
        out.append(
            ChangeLineOut(
                line=line,
                text=p.command,
                outcome="unsupported" if p.kind == "unsupported-command" else "rejected",
                message="; ".join(q.message for q in ps),
                suggestions=list(dict.fromkeys(s for q in ps for s in q.suggestions)),
            )
        )
    return sorted(out, key=lambda c: c.line)


def _topology(views: Mapping[str, HostView]) -> dict[str, HostTopologyOut]:
    # a function of each host's view: once per view, shared by every what-if on a loaded
    # model for the hosts it does not touch
    return {name: v.memo("report.topology", _host_topology) for name, v in views.items()}


def _host_topology(v: HostView) -> HostTopologyOut:
    m = v.management
    bridges = {b.name: sorted(p.name for p in b.ports if p.name != b.name)
               for b in v.bridges.values()}
    return HostTopologyOut(
        management=m.cidr if m else None,
        management_interface=m.ifname if m else None,
        management_bridge=(m.carrier.bridge if m and m.carrier else None),
        bridges=bridges,
        tunnel_ports=sum(b.tunnel_ports for b in v.bridges.values()),
        bridge_mappings=v.mappings_raw,
        known_from=("host" if v.based_on == "ovs" else "sb" if v.based_on == "sb"
                    else "none"),
    )


def _localnets(snapshot: Snapshot, index: NbIndex | None = None) -> dict[str, LocalnetOut]:
    """Every localnet port of NB by name, with the (last) switch holding it. From the rules'
    index of the same NB where every switch port has a name of its own and a switch holding
    it (then its localnet and l2gateway ports are the same ports with the same switches, and
    in a what-if it is derived from the state before's): else from every switch port."""
    nb = snapshot.nb
    ports: list[tuple[Row, str]]
    if index is not None and index.db is nb and \
            len(index.lsps) == nb.count("Logical_Switch_Port") == len(index.lsp_switch):
        ports = [(p, ls.name) for p, ls in index.bridged_ports()
                 if p.get("type") == "localnet"]
    else:
        localnets = [p for p in nb.rows("Logical_Switch_Port") if p.get("type") == "localnet"]
        wanted = {p.uuid for p in localnets}
        switch_of: dict[str, str] = {}  # of the localnet ports only: a cloud has few
        for ls in nb.rows("Logical_Switch") if wanted else ():
            for u in wanted.intersection(ls.set("ports")):
                switch_of[str(u)] = str(ls.get("name", ""))  # the last switch holding it
        ports = [(p, switch_of.get(str(p.uuid), "")) for p in localnets]
    out: dict[str, LocalnetOut] = {}
    for p, switch in ports:
        tag = p.opt("tag")
        out[str(p.get("name", ""))] = LocalnetOut(
            switch=switch,
            network_name=p.map("options").get("network_name"),  # type: ignore[arg-type]
            tag=int(tag) if isinstance(tag, int) else None,
        )
    return dict(sorted(out.items()))


def _from_sb_alone(all_views: Mapping[str, HostView]) -> str:
    """The summary's clause for hosts predicted without their files ("" when none)."""
    views = [v for v in all_views.values() if v.based_on == "sb"]
    if not views:
        return ""
    blind = all(v.state.addresses is None for v in views)
    what = ("which NIC and management address sit on their bridges"
            if any(v.state.addresses is None for v in views) else
            "which NIC sits on their bridges")
    return (f"predicted from SB alone ({'no host files' if blind else 'no conf.db'}): "
            f"{few_hosts([v.name for v in views])}; unknown there: {what}")


def _summary(a: Assessment, deltas: dict[str, HostDelta], change: Change | None,
             unknown: str = "") -> str:
    if a.reasons:
        head = a.reasons[0]
    elif change is not None:
        head = _("the change introduces no hazard ovnguard knows of")
    else:
        head = _("no hazard found in the current state")
    lost = a.hosts_losing_management
    touched = sorted(h for h, d in deltas.items() if d.added or d.removed)
    parts = [head]
    # the head names them already when its finding loses management (verdict._judge's words)
    if lost and _("loses management: {hosts}").partition("{")[0] not in head:
        parts.append(_("hosts predicted to lose management: {hosts}").format(
            hosts=few_hosts(lost)))
    if change is not None and not deltas:
        # Nothing to predict for: saying "nothing changes" would be a guess.
        parts.append(_("which hosts' OVS ports change is unknown: no chassis known (no sb.db, "
                       "no host files)"))
    elif change is not None:
        parts.append(
            _("ovn-controller changes ports on: {hosts}").format(hosts=few_hosts(touched))
            if touched else _("no host's OVS ports change")
        )
    if unknown:
        parts.append(unknown)
    return "; ".join(parts)


def _delta_notes(deltas: dict[str, HostDelta]) -> list[str]:
    """Each host's simulation notes, one line per note shared by several hosts ("a, b, c:
    ... the host ..."): a control-node check predicts hundreds of chassis from SB, each with
    the same assumptions, and a list of hundreds of identical lines hides the one that
    differs."""
    groups: dict[str, list[str]] = {}
    for h, d in sorted(deltas.items()):
        own = rf"(?<![\w.-]){re.escape(h)}(?![\w.-])"
        for n in d.notes:
            groups.setdefault(re.sub(own, "{host}", n) if h in n else n, []).append(h)
    out = []
    for text, hosts in groups.items():
        if len(hosts) == 1:
            out.append(f"{hosts[0]}: {text.replace('{host}', hosts[0])}")
        else:
            out.append(f"{', '.join(hosts)}: {text.replace('{host}', 'the host')}")
    return out


def build_report(
    snapshot: Snapshot,
    change: Change | None,
    a: Assessment,
    deltas: dict[str, HostDelta],
    result: ChangeResult | None,
    tools: dict[str, str] | None = None,
    semantics: OvnSemantics = SEMANTICS,
    memo: dict[str, Any] | None = None,
    index: NbIndex | None = None,
    views: Mapping[str, HostView] | None = None,
) -> Report:
    """`semantics`: the releases whose behaviour the realization predicted
    (`Realization.semantics`). `memo`: the state before's (RuleContext.memo), where a
    pre-existing finding that is the same object as in the last report judged against it
    (verdict.diff_findings keeps them) keeps its rendering: it reads nothing of the change.
    `index`, `views`: the rules' index of `snapshot.nb` and views of its hosts
    (RuleContext.nb, .hosts), which the report reads where it can instead of every switch
    port, and instead of making the views again."""
    if views is None:
        views = host_views(snapshot)
    touched = touched_rows(result) if result is not None else {}
    last = memo.get("findings-out", {}) if memo is not None else {}
    now: dict[int, tuple[Finding, FindingOut]] = {}  # what the next report may keep

    def finding_out(f: Finding) -> FindingOut:
        if f.status != "pre-existing":
            return _finding_out(f, causing_lines(f, change, result, touched)
                                if change and result and f.status == "introduced" else None)
        got = last.get(id(f))  # (its finding holds the id: never another's)
        if got is None or got[0] is not f:
            got = (f, _finding_out(f))
        now[id(f)] = got
        return got[1]

    realization = {
        h: HostRealizationOut(
            added=[PatchPortOut(bridge=p.bridge, port=p.port) for p in d.added],
            removed=[PatchPortOut(bridge=p.bridge, port=p.port) for p in d.removed],
            stale_until_recompute=[PatchPortOut(bridge=p.bridge, port=p.port) for p in d.stale],
        )
        for h, d in sorted(deltas.items())
        if d.added or d.removed or d.stale
    }
    if change is not None:
        # Every host appears, so "nothing happens on compute2" is stated, not implied.
        for h in snapshot.hosts:
            realization.setdefault(h, HostRealizationOut())
        realization = dict(sorted(realization.items()))
    cluster = cluster_versions(snapshot)
    report = Report(
        tool={"name": "ovnguard", "version": __version__, "ovn_semantics": semantics.ovn},
        bundle=snapshot.source,
        change=change.path if change is not None else None,
        verdict=a.verdict,  # type: ignore[arg-type]
        summary=_summary(a, deltas, change, _from_sb_alone(views)),
        findings=[finding_out(f) for f in a.findings],
        realization=realization,
        blast_radius={h: list(i.rules) for h, i in sorted(a.blast_radius.items())},
        chain=[_ev(e) for e in a.chain],
        change_lines=_change_lines(change, result) if change and result else [],
        notes=list(dict.fromkeys([*snapshot.notes, *a.notes,
                                  *(result.notes if result is not None else ()),
                                  *version_notes(cluster, tools or {}),
                                  *_delta_notes(deltas)])),
        topology=_topology(views),
        localnets=_localnets(snapshot, index),
        versions=VersionsOut(
            semantics={"ovn": semantics.ovn, "ovs": semantics.ovs},
            executor=result.executor if result is not None else None,  # type: ignore[arg-type]
            tools=tools or {},
            cluster=ClusterVersionsOut(
                nb_schema=cluster.nb_schema, sb_schema=cluster.sb_schema, northd=cluster.northd,
                ovn_controller=dict(cluster.ovn_controller), ovs=dict(cluster.ovs)),
        ),
    )
    if memo is not None:
        memo["findings-out"] = now  # only this report's: the memo never outgrows one
    return report
