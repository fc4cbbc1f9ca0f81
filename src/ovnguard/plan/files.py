"""A plan part as change files: `plan-<host>.sh` (the steps in order) and
`rollback-<host>.sh` (each step's inverse, last step first).

Both are change files (docs/change-file.md): comments, a `# host:` line for ovs-vsctl, one
command line per transaction. `ovnguard check --change`, `ovnguard rehearse --change` (and
the guarded apply) read them as they are; a shell could run them too.
"""

from __future__ import annotations

import re
import textwrap

from ovnguard.plan.model import Part, Plan, Step, line_text

_WIDTH = 96
# A comment line the change parser reads as a host section (change/shell.py).
_HOST_LIKE = re.compile(r"#\s*host\s*:")


def _comment(prefix: str, text: str) -> list[str]:
    lines = textwrap.wrap(text, _WIDTH, initial_indent=f"# {prefix}",
                          subsequent_indent="#   ", break_on_hyphens=False,
                          break_long_words=False)
    # A wrapped line that happens to start with "host:" would switch the host section.
    return [("#:" + ln[1:]) if _HOST_LIKE.match(ln) else ln for ln in lines]


def _header(plan: Plan, part: Part, what: str) -> list[str]:
    where = f"host {part.host}" if part.host else "the OVN northbound database (ovn-nbctl)"
    out = [f"# ovnguard plan {plan.kind}: {what} for {where}",
           f"# bundle: {plan.bundle}"]
    params = ", ".join(f"{k}={v}" for k, v in plan.parameters.items() if v not in (None, ""))
    if params:
        out.append(f"# parameters: {params}")
    v = plan.verification
    if v is not None:
        state = "PROVEN by the what-if" if v.proven else "NOT proven by the what-if"
        out.append(f"# whole plan: {state}; as a change: {v.change_verdict}; "
                   f"end state: {v.end_verdict}")
    out.append("# Never executed by ovnguard itself; check it with `ovnguard check --change`.")
    for n in part.notes:
        out += _comment("note: ", n)
    out.append("")
    if part.host:
        out.append(f"# host: {part.host}")
    return out


def _step_lines(n: int, step: Step, *, undo: bool) -> list[str]:
    out = [""]
    if undo:
        out += _comment(f"undo step {n}, which was: ", step.title)
    else:
        out += _comment(f"step {n}: ", step.title)
        out += _comment("why: ", step.why)
    if undo and step.inverse_warning:
        out += _comment("WARNING: ", step.inverse_warning)
    elif step.console and not undo:
        out += _comment("CONSOLE NEEDED: ", step.console)
    words = step.inverse if undo else step.commands
    out += [line_text(w) for w in words]
    return out


def plan_text(plan: Plan, part: Part) -> str:
    lines = _header(plan, part, "the steps, in order")
    for n, step in enumerate(part.steps, 1):
        lines += _step_lines(n, step, undo=False)
    return "\n".join(lines) + "\n"


def rollback_text(plan: Plan, part: Part) -> str:
    lines = _header(plan, part, f"the rollback of {part.plan_file}, last step first")
    for n, step in reversed(list(enumerate(part.steps, 1))):
        lines += _step_lines(n, step, undo=True)
    return "\n".join(lines) + "\n"
