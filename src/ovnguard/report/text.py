"""Terminal report: what an operator wants to read before pressing enter.

Order: the verdict and why in one line; what each pasted line would do; how it unfolds (the
chain of events, as in the incident note's "동작 흐름"); what each host realizes; the findings
with their evidence and what to do; what could not be checked. Colours only on a TTY (rich
decides; NO_COLOR is honoured).
"""

from __future__ import annotations

from typing import TextIO

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from ovnguard.report.safe import visible_model
from ovnguard.report.schema import EvidenceOut, FindingOut, Report

VERDICT_STYLE = {"safe": "bold green", "risky": "bold yellow", "dangerous": "bold white on red"}
SEVERITY_STYLE = {
    "critical": "bold red",
    "high": "red",
    "medium": "yellow",
    "low": "cyan",
    "info": "dim",
}
OUTCOME_STYLE = {"applied": "green", "rejected": "red", "unsupported": "yellow", "skipped": "dim"}


def _src(e: EvidenceOut) -> str:
    where = e.source
    if e.table:
        where += f", {e.table}"
        if e.row:
            where += f" {e.row}"
    return where


def render_text(
    report: Report, out: TextIO | None = None, width: int | None = None, verbose: bool = False
) -> None:
    """Render for a terminal. Without `verbose`, evidence is shown once, as the chain of events,
    and pre-existing findings are one line each; JSON always has everything."""
    console = Console(file=out, width=width, highlight=False, soft_wrap=False)
    # Names in the report come from data others write: no escape sequence reaches the terminal.
    report = visible_model(report)
    v = report.verdict
    head = Text()
    head.append(f" {v.upper()} ", style=VERDICT_STYLE[v])
    head.append("  " + report.summary)
    console.print(head)
    where = f"bundle: {report.bundle}" + (f"   change: {report.change}" if report.change else "")
    console.print(Text(where, style="dim"))

    if report.change_lines:
        console.print()
        t = Table(title="What each line of the change does", title_justify="left", show_lines=False)
        t.add_column("line", justify="right", style="dim")
        t.add_column("command", overflow="fold")
        t.add_column("outcome")
        for cl in report.change_lines:
            outcome = Text(cl.outcome, style=OUTCOME_STYLE[cl.outcome])
            cmd = Text(cl.text)
            if cl.host:
                cmd = Text(f"[{cl.host}] ", style="dim") + cmd
            if cl.message:
                cmd.append("\n  " + cl.message, style=OUTCOME_STYLE[cl.outcome])
            if cl.suggestions:
                cmd.append("\n  did you mean: " + ", ".join(cl.suggestions), style="cyan")
            t.add_row(str(cl.line), cmd, outcome)
        console.print(t)

    if report.chain:
        console.print()
        console.print(Text("How it unfolds", style="bold"))
        chain: list[EvidenceOut] = []
        for e in report.chain:
            if all(e.fact != c.fact for c in chain):
                chain.append(e)
        for i, e in enumerate(chain):
            arrow = "  " if i == 0 else "→ "
            line = Text(arrow + e.fact)
            line.append(f"   [{_src(e)}]", style="dim")
            console.print(line)

    if report.realization:
        console.print()
        t = Table(
            title="What ovn-controller is predicted to do, per host",
            title_justify="left",
        )
        t.add_column("host")
        t.add_column("adds", overflow="fold")
        t.add_column("removes", overflow="fold")
        for host, r in sorted(report.realization.items()):
            adds = "\n".join(f"{p.port} on {p.bridge}" for p in r.added) or "-"
            rem = [f"{p.port} on {p.bridge}" for p in r.removed]
            rem += [f"{p.port} on {p.bridge} (at next recompute)" for p in r.stale_until_recompute]
            t.add_row(host, adds, "\n".join(rem) or "-")
        console.print(t)

    if report.findings:
        console.print()
        order = {"introduced": 0, "present": 1, "pre-existing": 2, "resolved": 3}
        sev = {"critical": 0, "high": 1, "medium": 2, "low": 3, "info": 4}
        findings = sorted(report.findings, key=lambda f: (order[f.status], sev[f.severity], f.rule))
        console.print(Text("Findings", style="bold"))
        for f in findings:
            detailed = verbose or (f.status in ("introduced", "present") and not report.chain)
            console.print(_finding_tree(f, detailed))
        if not verbose and any(f.evidence for f in findings):
            console.print(Text("(evidence of every finding: --verbose, or --format json)",
                               style="dim"))

    if report.notes:
        console.print()
        console.print(Panel(Group(*[Text("• " + n) for n in report.notes]),
                            title="Not checked", title_align="left", border_style="dim"))


def _finding_tree(f: FindingOut, detailed: bool) -> Tree:
    label = Text()
    label.append(f"{f.severity.upper():8}", style=SEVERITY_STYLE[f.severity])
    label.append(f" {f.rule}", style="bold")
    if f.status != "present":
        label.append(f" ({f.status})", style="dim" if f.status != "introduced" else "bold")
    label.append(f"  {f.summary}")
    if f.hosts:
        label.append(f"  hosts: {', '.join(f.hosts)}", style="dim")
    tree = Tree(label)
    if detailed:
        for e in f.evidence:
            tree.add(Text(e.fact) + Text(f"   [{_src(e)}]", style="dim"))
    if f.remediation and (detailed or f.status != "resolved"):
        tree.add(Text("what to do: ", style="bold") + Text(f.remediation))
    return tree
