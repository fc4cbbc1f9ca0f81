"""The differential verdict: run every rule on the snapshot before and after a change, match
findings by (rule, key), and judge the change by what it introduces -- not by what was
already wrong (that is reported, as pre-existing, but does not make a change dangerous).

Semantics (also in docs/rules.md, "Verdict"):
- with a change, a finding is `introduced` (new key, or an existing hazard the change brings
  to more hosts -- `hosts_added` -- or makes more severe), `pre-existing` or `resolved`;
  without one, every finding is `present` and all of them count;
- `dangerous`: a counted finding is critical, or predicts some host losing management
  reachability (`Finding.loses_management`);
- `risky`: a counted finding is high or medium, or the change has findings of its own
  (`extra_findings`: a rejected or unsupported command means the prediction is incomplete);
- `safe`: otherwise (low and info findings are reported, never decisive).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from ovnguard.findings.context import RuleContext
from ovnguard.findings.finding import Finding, Severity
from ovnguard.i18n import _
from ovnguard.model.db import Database, RowChange, diff
from ovnguard.model.evidence import Evidence
from ovnguard.model.hostnames import few_hosts
from ovnguard.record import record

VERDICTS = ("safe", "risky", "dangerous")
_STATUS_ORDER = {"introduced": 0, "present": 1, "pre-existing": 2, "resolved": 3}


@record(slots=True)
class HostImpact:
    host: str
    loses_management: bool
    severity: Severity
    rules: tuple[str, ...]  # rule ids of the counted findings that reach this host


@record
class Assessment:
    verdict: str  # "safe" | "risky" | "dangerous"
    reasons: tuple[str, ...]  # why, one line per deciding finding
    findings: tuple[Finding, ...]  # introduced, present, pre-existing, then resolved
    blast_radius: Mapping[str, HostImpact]  # host -> impact of the counted findings
    chain: tuple[Evidence, ...]  # flow of events of the worst counted finding
    has_change: bool
    notes: tuple[str, ...] = ()  # what could not be checked

    @property
    def counted(self) -> tuple[Finding, ...]:
        """The findings the verdict is made of."""
        return tuple(f for f in self.findings if f.status in ("introduced", "present"))

    def by_status(self, status: str) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.status == status)

    @property
    def hosts_losing_management(self) -> tuple[str, ...]:
        return tuple(sorted(h for h, i in self.blast_radius.items() if i.loses_management))


def evaluate(
    before: RuleContext,
    after: RuleContext | None = None,
    extra_findings: Iterable[Finding] = (),
    change_lines: Sequence[Evidence] = (),
) -> Assessment:
    """Judge a snapshot (after=None) or a change (before -> after).

    `extra_findings` come from outside the rules (e.g. the change parser's
    `unsupported-command` / rejected commands) and always belong to the change.
    `change_lines` are Evidence for the change's lines (source "change:LINE", table/row of
    what each touches); they start the chain of the findings they explain.
    """
    extras = list(extra_findings)
    if after is None:
        findings = [*before.findings, *extras]
        notes = before.notes
    else:
        marked = diff_findings(list(before.findings), list(after.findings), before.memo)
        facts = _ByRow(change_facts(before, after))
        lines = _ByRow(change_lines)
        findings = [
            _with_chain(f, lines, facts) if f.status == "introduced" else f
            for f in marked
        ]
        extras = [e.marked("introduced") if e.status == "present" else e for e in extras]
        findings += extras
        notes = tuple(dict.fromkeys((*after.notes, *before.notes)))
    findings.sort(key=lambda f: (_STATUS_ORDER.get(f.status, 9), -f.severity, f.rule, f.key))
    counted = [f for f in findings if f.status in ("introduced", "present")]
    verdict, reasons = _judge(counted, extras)
    worst = sorted(counted, key=lambda f: (not f.loses_management, -f.severity))
    chain = next((f.chain or f.evidence for f in worst if f.chain or f.evidence), ())
    return Assessment(
        verdict=verdict,
        reasons=tuple(reasons),
        findings=tuple(findings),
        blast_radius=_blast(counted),
        chain=tuple(chain),
        has_change=after is not None,
        notes=notes,
    )


def diff_findings(before: Iterable[Finding], after: Iterable[Finding],
                  memo: dict[str, Any] | None = None) -> list[Finding]:
    """Mark findings by (rule, key): introduced / pre-existing / resolved. `memo`: the state
    before's (RuleContext.memo), where a finding of the state after that is the state
    before's own object (a host rule's, on a host the change left alone) is marked once
    for every change judged against it."""
    kept: dict[int, Finding] = memo.setdefault("pre-existing", {}) if memo is not None else {}
    b: dict[tuple[str, str], Finding] | None = memo.get("by-key") if memo is not None else None
    if b is None:
        b = {(f.rule, f.key): f for f in before}
        if memo is not None:
            memo["by-key"] = b  # (the state before's findings never change)
    a = {(f.rule, f.key): f for f in after}
    out: list[Finding] = []
    for k, f in a.items():
        old = b.get(k)
        if old is None:
            out.append(f.marked("introduced"))
            continue
        if f is old:
            # keyed by the id of a finding the state before holds (as long as the memo)
            g = kept.get(id(f))
            if g is None:
                g = kept[id(f)] = f.marked("pre-existing")
            out.append(g)
            continue
        added = tuple(sorted(set(f.hosts) - set(old.hosts)))
        newly_lost = set(f.loses_management) - set(old.loses_management)
        if added or newly_lost or f.severity > old.severity:
            reach = tuple(sorted(set(added) | newly_lost))
            g = replace(f.marked("introduced"), hosts_added=reach)
            if reach:
                g = replace(g, summary=_("{summary} (the change extends it to {hosts})").format(
                    summary=g.summary, hosts=few_hosts(reach)))
            out.append(g)
        else:
            out.append(f.marked("pre-existing"))
    for k, f in b.items():
        if k not in a:
            out.append(f.marked("resolved"))
    return out


def _judge(counted: list[Finding], extras: list[Finding]) -> tuple[str, list[str]]:
    def line(f: Finding) -> str:
        lost = ("; " + _("loses management: {hosts}").format(
            hosts=few_hosts(f.loses_management)) if f.loses_management else "")
        hosts = (" " + _("on {hosts}").format(hosts=few_hosts(f.hosts))) if f.hosts else ""
        return f"{f.rule} ({f.severity.name}){hosts}{lost}"

    danger = [f for f in counted if f.severity >= Severity.critical or f.loses_management]
    if danger:
        return "dangerous", [line(f) for f in danger]
    risky = [f for f in counted if f.severity >= Severity.medium]
    risky += [e for e in extras if e not in risky and e.status in ("introduced", "present")]
    if risky:
        return "risky", [line(f) for f in risky]
    return "safe", []


def _blast(counted: Iterable[Finding]) -> dict[str, HostImpact]:
    acc: dict[str, tuple[bool, Severity, list[str]]] = {}
    for f in counted:
        for h in f.hosts:
            lost, sev, rules = acc.get(h, (False, Severity.info, []))
            if f.rule not in rules:
                rules = [*rules, f.rule]
            acc[h] = (lost or h in f.loses_management, max(sev, f.severity), rules)
        for h in f.loses_management:
            if h not in f.hosts:
                lost, sev, rules = acc.get(h, (False, Severity.info, []))
                acc[h] = (True, max(sev, f.severity), [*rules, f.rule])
    return {
        h: HostImpact(h, lost, sev, tuple(rules)) for h, (lost, sev, rules) in sorted(acc.items())
    }


# --------------------------------------------------------------------------- chain of events

_DETAIL_COLUMNS = ("type", "options", "addresses", "tag_request", "tag", "networks",
                   "external_ip", "fail_mode", "other_config", "external_ids")


def _row_label(c: RowChange) -> str:
    row = c.after if c.after is not None else c.before
    return (row.name if row is not None and row.name else str(c.uuid)) or str(c.uuid)


def _describe(c: RowChange, db_label: str) -> str:
    name = _row_label(c)
    if c.kind == "insert" and c.after is not None:
        details: list[str] = []
        for col in _DETAIL_COLUMNS:
            v = c.after.get(col)
            if v in (None, "", (), {}):
                continue
            if isinstance(v, dict):
                details.extend(f"{col}:{k}={x}" for k, x in sorted(v.items()))
            elif isinstance(v, tuple):
                details.append(f"{col}={' '.join(str(x) for x in v)}")
            else:
                details.append(f"{col}={v}")
        more = f" ({', '.join(details)})" if details else ""
        return _("the change adds {db} {table} {name}{details}").format(
            db=db_label, table=c.table, name=name, details=more)
    if c.kind == "delete":
        return _("the change deletes {db} {table} {name}").format(
            db=db_label, table=c.table, name=name)
    return _("the change sets {columns} of {db} {table} {name}").format(
        columns=", ".join(c.columns), db=db_label, table=c.table, name=name)


def _db_changes(before: Database | None, after: Database | None) -> list[RowChange]:
    if before is None or after is None or before is after:
        return []
    return diff(before, after)


def change_facts(before: RuleContext, after: RuleContext) -> list[Evidence]:
    """What the change does to NB and to each host's Open_vSwitch DB, as Evidence."""
    out: list[Evidence] = []
    b, a = before.snapshot, after.snapshot
    for c in _db_changes(b.nb, a.nb):
        out.append(Evidence(_describe(c, "NB"), "change", c.table, _row_label(c)))
    for host in sorted(set(b.hosts) & set(a.hosts)):
        for c in _db_changes(b.hosts[host].ovs, a.hosts[host].ovs):
            out.append(Evidence(_describe(c, _("{host}'s OVS").format(host=host)), "change",
                                c.table,
                                _row_label(c), host))
    return out


# A chain names at most this many change lines; the rest are counted in one more fact (10,000
# lines adding ports to one switch all touch that switch: every port's chain would name them
# all, and the report would grow with the square of the change).
CHAIN_LINES = 8


class _ByRow:
    """Evidence grouped by the row it names, in its original order: each introduced finding
    looks up only the rows its own evidence stands on (a scan of every line and fact per
    finding made a long change quadratic)."""

    def __init__(self, items: Sequence[Evidence]) -> None:
        self.rows: dict[str, list[tuple[int, Evidence]]] = {}
        self.hosts: dict[str, Counter[str | None]] = {}
        for i, e in enumerate(items):
            if e.row:
                self.rows.setdefault(e.row, []).append((i, e))
                self.hosts.setdefault(e.row, Counter())[e.host] += 1

    def pick(self, rows: set[str], hosts: set[str], limit: int | None = None
             ) -> tuple[list[Evidence], int]:
        """The evidence naming one of `rows` on one of `hosts` (or on none), in order, at
        most `limit` of them -- those of the rows the fewest name first (a port's own line
        before the lines that only share its switch) --; and how many there are in all."""
        total = sum(n for r in rows for h, n in self.hosts.get(r, {}).items()
                    if h is None or h in hosts)
        picked: dict[int, Evidence] = {}
        for r in sorted(rows, key=lambda r: (len(self.rows.get(r, ())), r)):
            for i, e in self.rows.get(r, ()):
                if limit is not None and len(picked) >= limit:
                    break
                if e.host is None or e.host in hosts:
                    picked[i] = e
        return [picked[i] for i in sorted(picked)], total


def _with_chain(f: Finding, lines: _ByRow, facts: _ByRow) -> Finding:
    body = f.chain or f.evidence
    rows = {e.row for e in (*f.evidence, *f.chain) if e.row}
    hosts = set(f.hosts) | {e.host for e in (*f.evidence, *f.chain) if e.host}
    # a fact or line is relevant when it names a row of the finding's evidence (on one of its
    # hosts, or on no host at all)
    picked, n_lines = lines.pick(rows, hosts, CHAIN_LINES)
    if n_lines > len(picked):
        more = n_lines - len(picked)
        picked.append(Evidence(f"... and {more} more line{'s' if more > 1 else ''} of the "
                               "change touching the same rows", "change"))
    prefix = [*picked, *facts.pick(rows, hosts)[0]]
    if not prefix:
        return f
    seen: set[Evidence] = set()
    chain: list[Evidence] = []
    for e in (*prefix, *body):
        if e not in seen:
            seen.add(e)
            chain.append(e)
    return replace(f, chain=tuple(chain))
