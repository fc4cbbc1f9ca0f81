"""Terminal report: the answer first, the detail after.

The first screen answers "what does this change do, to whom, and what do I do?": the verdict
line; per host what ovn-controller changes and who loses management (hosts with the same
outcome folded into one line, so 1,000 hosts stay one screen); the one thing to do. Then what
each pasted line does (in full only when some line does not apply), the findings the change
introduces or resolves, the chain of events (each event once), and the findings that were
already there, one line per rule. `verbose` shows every finding's evidence; `quiet` only the
verdict line.

Colours only on a terminal (rich decides; NO_COLOR is honoured). Lines are never hard-wrapped:
piped output keeps one record per line for grep, and a terminal wraps by itself.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TextIO

from rich.cells import cell_len
from rich.console import Console
from rich.text import Text

from ovnguard.i18n import _, ngettext
from ovnguard.model.hostnames import host_range
from ovnguard.report.labels import outcome_label, pad, severity_label, verdict_label
from ovnguard.report.safe import visible_model
from ovnguard.report.schema import EvidenceOut, FindingOut, HostRealizationOut, Report

VERDICT_STYLE = {"safe": "bold green", "risky": "bold yellow", "dangerous": "bold white on red"}
SEVERITY_STYLE = {
    "critical": "bold red",
    "high": "red",
    "medium": "yellow",
    "low": "cyan",
    "info": "dim",
}
OUTCOME_STYLE = {"applied": "green", "rejected": "red", "unsupported": "yellow", "skipped": "dim"}
SEV_ORDER = {"critical": 0, "high": 1, "medium": 2, "low": 3, "info": 4}
# Hosts with the same outcome are listed one by one up to this many, then folded.
FOLD_AT = 4


def _src(e: EvidenceOut) -> str:
    where = e.source
    if e.table:
        where += f", {e.table}"
        if e.row:
            where += f" {e.row}"
    return where


def render_text(
    report: Report,
    out: TextIO | None = None,
    width: int | None = None,
    verbose: bool = False,
    quiet: bool = False,
) -> None:
    """Render for a terminal (or a file/pipe: then no colour and no wrapping)."""
    console = Console(file=out, width=width, highlight=False, soft_wrap=True)
    # Names in the report come from data others write: no escape sequence reaches the terminal.
    report = visible_model(report)
    v = report.verdict
    head = Text()
    head.append(f" {verdict_label(v)} ", style=VERDICT_STYLE[v])
    head.append("  " + report.summary)
    console.print(head)
    if quiet:
        return
    where = _("bundle: {bundle}").format(bundle=report.bundle) + (
        "   " + _("change: {change}").format(change=report.change) if report.change else "")
    console.print(Text(where, style="dim"))

    introduced = _sorted(f for f in report.findings if f.status == "introduced")
    if report.change is not None:
        _per_host(console, report, introduced)
    todo = _first_thing_to_do(report, introduced)
    if todo is not None:
        console.print()
        console.print(Text(_("What to do: "), style="bold") + Text(todo))

    if report.change_lines:
        _lines(console, report, verbose)

    present = _sorted(f for f in report.findings if f.status in ("introduced", "present"))
    resolved = _sorted(f for f in report.findings if f.status == "resolved")
    earlier = _sorted(f for f in report.findings if f.status == "pre-existing")
    if present:
        console.print()
        title = (_("Introduced by the change ({count})") if report.change is not None
                 else _("Findings ({count})"))
        console.print(Text(title.format(count=len(present)), style="bold"))
        for group in _groups(present, verbose):
            _finding_group(console, group, detailed=verbose or not report.chain, todo=todo)
    if resolved:
        console.print()
        console.print(Text(_("Resolved by the change ({count})").format(count=len(resolved)),
                           style="bold"))
        for group in _groups(resolved, verbose):
            _finding_group(console, group, detailed=verbose, todo=None, remediation=False)

    if report.chain:
        console.print()
        console.print(Text(_("How it unfolds"), style="bold"))
        for i, e in enumerate(_unique_events(report.chain)):
            line = Text(("  " if i == 0 else "→ ") + e.fact)
            line.append(f"   [{_src(e)}]", style="dim")
            console.print(line)

    if earlier:
        console.print()
        console.print(Text(_("Already there before the change (not counted in the verdict)"),
                           style="bold"))
        if verbose:
            for f in earlier:
                _finding(console, f, detailed=True)
        else:
            for rule, fs in _by_rule(earlier):
                hosts = sorted({h for f in fs for h in f.hosts})
                line = Text("  ")
                line.append(pad(severity_label(fs[0].severity), 8),
                            style=SEVERITY_STYLE[fs[0].severity])
                line.append(f" {rule}", style="bold")
                line.append(f"  {_fold(hosts) or '-'}", style="dim")
                if len(fs) == 1:
                    line.append(f"  {fs[0].summary}")
                console.print(line)
    if not verbose and any(f.evidence for f in report.findings):
        console.print(Text(_("(every finding's evidence: --verbose, or --format json)"),
                           style="dim"))

    if report.notes:
        console.print()
        console.print(Text(_("Not checked"), style="bold"))
        for n in report.notes:
            console.print(Text("  • " + n))


def _sorted(fs: Iterable[FindingOut]) -> list[FindingOut]:
    return sorted(fs, key=lambda f: (SEV_ORDER[f.severity], f.rule, f.hosts))


def _by_rule(fs: list[FindingOut]) -> list[tuple[str, list[FindingOut]]]:
    groups: dict[str, list[FindingOut]] = {}
    for f in fs:
        groups.setdefault(f.rule, []).append(f)
    return sorted(groups.items(), key=lambda kv: (SEV_ORDER[kv[1][0].severity], kv[0]))


def _fold(hosts: list[str]) -> str:
    return host_range(hosts, FOLD_AT)


def _no_port_changes() -> str:
    return _("no OVS port changes")


def _ports(r: HostRealizationOut | None) -> str:
    if r is None:
        return _no_port_changes()
    parts = ["+ " + _("{port} on {bridge}").format(port=p.port, bridge=p.bridge)
             for p in r.added]
    parts += ["- " + _("{port} on {bridge}").format(port=p.port, bridge=p.bridge)
              for p in r.removed]
    parts += ["~ " + _("{port} on {bridge} stays until a recompute").format(
        port=p.port, bridge=p.bridge) for p in r.stale_until_recompute]
    return ", ".join(parts) or _no_port_changes()


def _per_host(console: Console, report: Report, introduced: list[FindingOut]) -> None:
    lost = {h for f in introduced for h in f.loses_management}
    hosts = sorted(set(report.realization) | set(report.blast_radius))
    if not hosts:
        return
    # Hosts with the same outcome share one line: a fleet reads as a handful of shapes.
    shapes: dict[tuple[str, bool, tuple[str, ...]], list[str]] = {}
    for h in hosts:
        key = (_ports(report.realization.get(h)), h in lost,
               tuple(sorted(report.blast_radius.get(h, []))))
        shapes.setdefault(key, []).append(h)
    console.print()
    console.print(Text(_("What the change does, per host"), style="bold"))
    width = min(28, max(cell_len(_fold(hs)) for hs in shapes.values()))
    order = sorted(shapes.items(), key=lambda kv: (not kv[0][1], not kv[0][2],
                                                   kv[0][0] == _no_port_changes(), kv[1][0]))
    for (ports, loses, rules), hs in order:
        line = Text("  " + pad(_fold(hs), width) + "  ")
        if loses:
            line.append(_("LOSES MANAGEMENT"), style="bold white on red")
            line.append("  ")
        line.append(ports, style="dim" if ports == _no_port_changes() else "")
        if rules:
            line.append("   " + _("hit by: {rules}").format(rules=", ".join(rules)),
                        style="yellow")
        console.print(line)


def _first_thing_to_do(report: Report, introduced: list[FindingOut]) -> str | None:
    counted = introduced or ([] if report.change is not None else _sorted(
        f for f in report.findings if f.status == "present"))
    for f in counted:
        if f.remediation and f.severity in ("critical", "high", "medium"):
            return f.remediation
    if any(c.outcome != "applied" for c in report.change_lines):
        return _("fix the lines marked rejected or unsupported below, then check again.")
    return None


def _lines(console: Console, report: Report, verbose: bool) -> None:
    lines = report.change_lines
    console.print()
    if not verbose and all(c.outcome == "applied" and not c.message for c in lines):
        nums = [c.line for c in lines]
        span = (_("line {line}").format(line=nums[0]) if len(nums) == 1
                else _("lines {first}–{last}").format(first=nums[0], last=nums[-1]))
        console.print(Text(ngettext(
            "The change: {span}, {count} command, applied to a copy (--verbose lists it)",
            "The change: {span}, {count} commands, all applied to a copy (--verbose lists "
            "them)", len(lines)).format(span=span, count=len(lines)), style="dim"))
        return
    console.print(Text(_("What each line of the change does"), style="bold"))
    for cl in lines:
        line = Text(f"  {cl.line:>4}  ")
        line.append(pad(outcome_label(cl.outcome), 11), style=OUTCOME_STYLE[cl.outcome])
        if cl.host:
            line.append(f"[{cl.host}] ", style="dim")
        line.append(cl.text)
        console.print(line)
        if cl.message:
            console.print(Text(f"              {cl.message}", style=OUTCOME_STYLE[cl.outcome]))
        if cl.suggestions:
            console.print(Text("              " + _("did you mean: {names}").format(
                names=", ".join(cl.suggestions)), style="cyan"))


def _groups(fs: list[FindingOut], verbose: bool) -> list[list[FindingOut]]:
    """Findings as they are printed: one by one, except a rule found on more than FOLD_AT
    hosts one finding per host (a fleet: 998 computes with the same unpinned bridge), which
    is one block with the hosts folded; --verbose prints each."""
    if verbose:
        return [[f] for f in fs]
    by_rule: dict[tuple[str, str], list[FindingOut]] = {}
    for f in fs:
        by_rule.setdefault((f.rule, f.severity), []).append(f)
    out: list[list[FindingOut]] = []
    seen: set[tuple[str, str]] = set()
    for f in fs:
        key = (f.rule, f.severity)
        group = by_rule[key]
        if len(group) <= FOLD_AT:
            out.append([f])
        elif key not in seen:
            seen.add(key)
            out.append(group)
    return out


def _finding_group(console: Console, fs: list[FindingOut], detailed: bool, todo: str | None,
                   remediation: bool = True) -> None:
    if len(fs) == 1:
        _finding(console, fs[0], detailed, remediation and fs[0].remediation != todo)
        return
    f = fs[0]
    hosts = sorted({h for g in fs for h in g.hosts})
    label = Text("  ")
    label.append(pad(severity_label(f.severity), 8), style=SEVERITY_STYLE[f.severity])
    label.append(f" {f.rule}", style="bold")
    label.append("  " + ngettext("on {count} host: {hosts}", "on {count} hosts: {hosts}",
                                 len(hosts)).format(count=len(hosts), hosts=_fold(hosts)))
    console.print(label)
    console.print(Text("      " + _("e.g. {summary}").format(summary=f.summary), style="dim"))
    if remediation and f.remediation and f.remediation != todo:
        console.print(Text("      " + _("what to do: "), style="bold") + Text(f.remediation))
    console.print(Text("      " + _("(each of them: --verbose, or --format json)"), style="dim"))


def _finding(console: Console, f: FindingOut, detailed: bool, remediation: bool = True) -> None:
    label = Text("  ")
    label.append(pad(severity_label(f.severity), 8), style=SEVERITY_STYLE[f.severity])
    label.append(f" {f.rule}", style="bold")
    label.append(f"  {f.summary}")
    if f.hosts:
        label.append(f"  [{_fold(f.hosts)}]", style="dim")
    console.print(label)
    if detailed:
        for e in f.evidence:
            console.print(Text(f"      · {e.fact}") + Text(f"   [{_src(e)}]", style="dim"))
    if remediation and f.remediation:
        console.print(Text("      " + _("what to do: "), style="bold") + Text(f.remediation))


# ASCII only: in Korean a particle follows the name without a space ("patch-x을(를)")
_PATCH = re.compile(r"\bpatch-[A-Za-z0-9_.:@/-]+")
_TAIL = re.compile(r"\s*\([^()]*\)\s*$")


def _event_key(e: EvidenceOut) -> object:
    """Two wordings of one event share a key: the same patch ports created on the same host
    (patch.c's link and the simulation's), or the same sentence with a "so" or a cited
    function added."""
    ports = frozenset(_PATCH.findall(e.fact))
    # TRANSLATORS: the verb of "ovn-controller creates PORT on BRIDGE", as the catalog
    # writes it in those sentences (it tells the two wordings of one event apart).
    if ports and ("creates" in e.fact or _("creates") in e.fact):
        return ("creates", e.host, ports)
    # TRANSLATORS: the "so " that starts a consequence ("so X is a local datapath on H"),
    # as the catalog writes it at the start of those sentences
    s = e.fact.removeprefix("so ").removeprefix(_("so "))
    return _TAIL.sub("", s).strip().lower()


def _unique_events(chain: list[EvidenceOut]) -> list[EvidenceOut]:
    seen: set[object] = set()
    out = []
    for e in chain:
        k = _event_key(e)
        if k not in seen:
            seen.add(k)
            out.append(e)
    return out
