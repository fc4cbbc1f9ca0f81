"""Findings the change itself produces, before any simulation: a line ovnguard cannot model,
a line the real tool would refuse. They are change-time rules (`registry.change_rule`): raised
from the problems found reading and applying the change's lines; over a snapshot they find
nothing."""

from __future__ import annotations

from ovnguard.change.model import ChangeProblem
from ovnguard.findings.context import ChangeContext
from ovnguard.findings.finding import Finding, Severity
from ovnguard.findings.registry import RuleSpec, change_rule
from ovnguard.i18n import N_, _
from ovnguard.model.evidence import Evidence

GROUP = N_("The change itself")

UNSUPPORTED_COMMAND = RuleSpec(
    id="unsupported-command",
    severity=Severity.medium,
    group=GROUP,
    title=N_("A line of the change that ovnguard cannot model"),
    why=N_(
        "ovnguard predicts only what it can model. A command it does not know (or shell "
        "syntax such as a pipe or `$(...)`) is not applied to the simulated copy, so the "
        "prediction is incomplete: it is never silently ignored, and it makes the verdict at "
        "least risky."
    ),
    remediation_template=N_(
        "Rewrite the line with a supported command (see docs/change-file.md), or rehearse the "
        "change on a lab replica: `ovnguard rehearse --bundle DIR --change FILE`."
    ),
    example=N_("`ovn-nbctl lb-add lb0 10.0.0.10:80 10.0.0.2:80` -> not modelled."),
    severity_note=N_("medium: the change may be harmless, but nobody can say."),
)

CHANGE_REJECTED = RuleSpec(
    id="change-rejected",
    severity=Severity.medium,
    group=GROUP,
    title=N_("A line the real tool would refuse"),
    why=N_(
        "Each command line is one transaction: when ovn-nbctl or ovs-vsctl refuses one "
        "command (no such switch, port exists, ...) nothing of that line happens, and the "
        "lines after it still run, often against what the failed line was meant to create. "
        "The seed incident's snippet, pasted with its placeholder switch name, would have "
        "failed on every line."
    ),
    remediation_template=N_("{fix}"),
    example=N_(
        "`ovn-nbctl lsp-add neutron-<provider-network-UUID> ln-phynet2` -> "
        "`ovn-nbctl: neutron-<provider-network-UUID>: switch name not found`, did you mean "
        "neutron-2b1f...?"
    ),
    severity_note=N_("medium: the intended change would not happen, and the rest may half-happen."),
)

UNKNOWN_HOST = RuleSpec(
    id="unknown-host",
    severity=Severity.medium,
    group=GROUP,
    title=N_("An ovs-vsctl line for a host the bundle does not have"),
    why=N_(
        "ovs-vsctl acts on one host's own Open_vSwitch database; a line for a host that has "
        "no conf.db in the bundle cannot be simulated."
    ),
    remediation_template=N_(
        "Check the `# host:` comment (hosts known: {hosts}) or add the host to the bundle."
    ),
    example=N_("`# host: compute9` then `ovs-vsctl add-port br-ex eth2`."),
)

UNDEFINED_VARIABLE = RuleSpec(
    id="undefined-variable",
    severity=Severity.medium,
    group=GROUP,
    title=N_("A variable used before it is set"),
    why=N_(
        "The change file is never run by a shell; `VAR=value` lines define variables. A shell "
        "would expand an undefined variable to nothing and run a different command."
    ),
    remediation_template=N_("Define the variable above its first use, or write the value."),
    example=N_("`ovn-nbctl lsp-add ${LS} ln-x` with no `LS=` line."),
)


BY_PROBLEM_KIND = {
    "unsupported-command": UNSUPPORTED_COMMAND,
    "rejected": CHANGE_REJECTED,
    "unknown-host": UNKNOWN_HOST,
    "undefined-variable": UNDEFINED_VARIABLE,
}


@change_rule(UNSUPPORTED_COMMAND, CHANGE_REJECTED, UNKNOWN_HOST, UNDEFINED_VARIABLE)
def change_problems(cc: ChangeContext) -> list[Finding]:
    """One finding per problem of the change's lines, in the order of the lines (the first
    is the verdict's first reason)."""
    hosts = ", ".join(sorted(cc.before.snapshot.hosts)) or "none"
    return [_problem_finding(p, hosts) for p in cc.problems]


def _problem_finding(p: ChangeProblem, hosts: str) -> Finding:
    spec = BY_PROBLEM_KIND[p.kind]
    ev = [Evidence(_("line {line}: {command}").format(line=p.location.line, command=p.command),
        f"change:{p.location.line}")]
    msg = p.message
    if p.suggestions:
        msg += _(" (did you mean: {suggestions}?)").format(suggestions=', '.join(p.suggestions))
    if p.note:
        msg += f"; {p.note}"
    ev.append(Evidence(msg, f"change:{p.location.line}"))
    fix = _("Fix the line.")
    if p.suggestions:
        fix = _(
                "Fix the line: did you mean {suggestions}?").format(
                suggestions=' or '.join(p.suggestions[:3]))
    fix += _(" Nothing of a refused line is applied; check what the lines after it assumed.")
    f = spec.finding(
        key=f"{p.location.path}:{p.location.line}:{p.kind}:{p.message}",
        hosts=(),
        summary=_("line {line}: {msg}").format(line=p.location.line, msg=msg),
        evidence=ev,
        fields={"fix": fix, "hosts": hosts},
    )
    return f.marked("introduced")
