"""A plan for people (text) and for programs (JSON, `schema_version` 1.0, docs/plan.md)."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

from ovnguard.i18n import _
from ovnguard.plan.files import plan_text, rollback_text
from ovnguard.plan.model import FindingRef, Part, Plan, Step, Verification, line_text
from ovnguard.record import record

SCHEMA_VERSION = "1.0"


# --------------------------------------------------------------------------- JSON


def _step_json(n: int, s: Step) -> dict[str, Any]:
    return {
        "n": n,
        "title": s.title,
        "why": s.why,
        "commands": [line_text(w) for w in s.commands],
        "inverse": [line_text(w) for w in s.inverse],
        "console_needed": s.console_needed,
        "console_reason": s.console,
        "inverse_warning": s.inverse_warning,
        "fixes": {"rule": s.fixes[0], "key": s.fixes[1]} if s.fixes else None,
    }


def _part_json(p: Part, files: dict[str, str] | None) -> dict[str, Any]:
    return {
        "name": p.name,
        "host": p.host,
        "plan_file": (files or {}).get(p.plan_file, p.plan_file),
        "rollback_file": (files or {}).get(p.rollback_file, p.rollback_file),
        "steps": [_step_json(n, s) for n, s in enumerate(p.steps, 1)],
        "notes": list(p.notes),
    }


def _refs(refs: tuple[FindingRef, ...]) -> list[dict[str, object]]:
    return [r.to_json() for r in refs]


def _verification_json(v: Verification) -> dict[str, Any]:
    return {
        "proven": v.proven,
        "reasons": list(v.reasons),
        "change_verdict": v.change_verdict,
        "end_state": {
            "verdict": v.end_verdict,
            "dangerous": _refs(v.dangerous),
            "resolved": _refs(v.resolved),
            "introduced": _refs(v.introduced),
            "remaining_targets": _refs(v.remaining_targets),
            "findings": _refs(v.left),
        },
        "line_problems": [
            {"file": p.file, "line": p.line, "text": p.text, "outcome": p.outcome,
             "message": p.message} for p in v.line_problems
        ],
        "reached": {r.model: {"ok": r.ok,
                              "hosts": {h: list(ps) for h, ps in sorted(r.problems.items())}}
                    for r in v.reach},
        "realization": v.realization,
        "management": list(v.management),
        "rollback": {"restores": v.rollback.restores,
                     "differences": list(v.rollback.differences)},
        "notes": list(v.notes),
    }


@record
class WrittenPlan:
    """What `ovnguard plan` prints: the plan, and where --out wrote its files (file name ->
    path; None without --out). Rendered through report/formats.py."""

    plan: Plan
    files: dict[str, str] | None = None


def plan_json(plan: Plan, files: dict[str, str] | None = None) -> dict[str, Any]:
    """`files`: file name -> the path it was written to (with --out)."""
    return {
        "schema_version": SCHEMA_VERSION,
        "kind": "plan",
        "plan": plan.kind,
        "bundle": plan.bundle,
        "parameters": plan.parameters,
        "status": plan.status,
        "parts": [_part_json(p, files) for p in plan.parts if p.steps],
        "not_proposed": [
            {"rule": n.rule, "key": n.key, "hosts": list(n.hosts), "summary": n.summary,
             "reason": n.reason} for n in plan.not_proposed
        ],
        "targets": [{"rule": r, "key": k} for r, k in plan.targets],
        "verification": _verification_json(plan.verification) if plan.verification else None,
        "deployment": [d.to_json() for d in plan.deployment],
        "notes": list(plan.notes),
    }


# --------------------------------------------------------------------------- files


def write_files(plan: Plan, out: Path) -> dict[str, str]:
    """`plan-<name>.sh` and `rollback-<name>.sh` for every part with steps."""
    out.mkdir(parents=True, exist_ok=True)
    written: dict[str, str] = {}
    for part in plan.parts:
        if not part.steps:
            continue
        for name, text in ((part.plan_file, plan_text(plan, part)),
                           (part.rollback_file, rollback_text(plan, part))):
            path = out / name
            path.write_text(text, encoding="utf-8")
            written[name] = str(path)
    for k, d in enumerate((d for d in plan.deployment if d.text), 1):
        ext = "sh" if d.tool == "charmed-openstack" else "yaml"
        name = f"deploy-{k}-{d.tool}.{ext}"
        path = out / name
        head = "".join(f"# {line}\n" for line in (
            f"{d.title} for {', '.join(d.hosts)}", f"goes into: {d.where}", *d.notes))
        path.write_text(head + d.text, encoding="utf-8")
        written[name] = str(path)
    return written


# --------------------------------------------------------------------------- text


def _wrap(text: str, indent: str) -> list[str]:
    return textwrap.wrap(text, 100, initial_indent=indent, subsequent_indent=indent + "  ",
                         break_on_hyphens=False, break_long_words=False)


def _ref_line(r: FindingRef) -> str:
    lost = f"; {', '.join(r.loses_management)} lose management" if r.loses_management else ""
    return f"{r.rule} ({r.severity}) on {', '.join(r.hosts) or 'no host'}{lost}"


def _title(plan: Plan) -> str:
    p = plan.parameters
    if plan.kind == "separate-nic":
        return (f"ovnguard plan separate-nic: {p.get('physnet')} -> {p.get('bridge')} "
                f"(uplink {p.get('nic')}) on {plan.bundle}")
    return f"ovnguard plan fix ({p.get('rules')}) on {plan.bundle}"


def _verification_text(v: Verification) -> list[str]:
    out = ["", _("The end state, checked with the what-if (the whole plan applied to the bundle):")]
    bad = [r for r in v.reach if not r.ok]
    if not bad:
        out.append(_(
                "  ovn-controller gets there: yes, step by step and all at once (each host's "
                "patch ports end where they are wanted)"))
    for rc in bad:
        out.append(_("  ovn-controller gets there ({model}): NO").format(model=rc.model))
        for h, probs in sorted(rc.problems.items()):
            for pr in probs:
                out += _wrap(f"{h}: {pr}", "    ")
    if bad:
        out.append(_(
                "  (the findings below judge the ports ovn-controller wants, which it does not "
                "get to)"))
    for label, refs in (("resolved", v.resolved), ("introduced", v.introduced)):
        out += _wrap(f"{label}: " + ("; ".join(_ref_line(r) for r in refs) or _("none")), "  ")
    out += _wrap(_("dangerous findings left: ")
                 + ("; ".join(_ref_line(r) for r in v.dangerous) or _("none")), "  ")
    for d in v.dangerous:
        out += _wrap(d.summary, "    ")
    for cut in v.management:
        out += _wrap(_("management cut: {cut}").format(cut=cut), "  ")
    for t in v.remaining_targets:
        out += _wrap(_("not fixed: {t}: {summary}").format(t=_ref_line(t), summary=t.summary), "  ")
    others = [r for r in v.left if r not in v.dangerous and r.severity in ("high", "medium")]
    extra = f" ({'; '.join(_ref_line(r) for r in others)})" if others else ""
    out += _wrap(_(
            "as a change: {change_verdict}; the end state alone: {end_verdict}{extra}").format(
            change_verdict=v.change_verdict, end_verdict=v.end_verdict, extra=extra), "  ")
    for p in v.line_problems:
        out += _wrap(f"{p.file}:{p.line} {p.outcome}: {p.message}", "  ")
    out.append(_("  rollback restores the bundle's NB and OVS databases: ")
               + (_("yes") if v.rollback.restores else _("NO")))
    for diff in v.rollback.differences[:10]:
        out += _wrap(diff, "    ")
    for n in v.notes:
        out += _wrap(_("note: {n}").format(n=n), "  ")
    return out


def plan_text_report(plan: Plan, files: dict[str, str] | None = None) -> str:
    out = [_title(plan)]
    if plan.empty:
        out.append("")
        out.append(_("nothing to do") + (": " + "; ".join(plan.notes) if plan.notes else ""))
        for skip in plan.not_proposed:
            out += _wrap(_(
                    "not proposed: {rule}: {summary}: {reason}").format(
                    rule=skip.rule, summary=skip.summary, reason=skip.reason), "  ")
        return "\n".join(out) + "\n"
    todo = [p for p in plan.parts if p.steps]
    out.append(_("apply in this order: ") + ", ".join(p.name for p in todo))
    for part in todo:
        where = "" if part.host else _(" (ovn-nbctl, wherever the NB database is reachable)")
        names = f"{part.plan_file} / {part.rollback_file}"
        if files:
            names = f"{files.get(part.plan_file)} / {files.get(part.rollback_file)}"
        out += ["", f"{part.name}{where}  [{names}]"]
        for n, s in enumerate(part.steps, 1):
            mark = _("  [CONSOLE NEEDED]") if s.console_needed else ""
            out.append(f"  {n}. {s.title}{mark}")
            out += [f"       {line_text(w)}" for w in s.commands]
            out += _wrap(_("why: {why}").format(why=s.why), "       ")
            if s.console:
                out += _wrap(_("console: {console}").format(console=s.console), "       ")
            out += [_("       undo: {w}").format(w=line_text(w)) for w in s.inverse]
            if s.inverse_warning:
                out += _wrap(_(
                        "undo warning: {inverse_warning}").format(
                        inverse_warning=s.inverse_warning), "       ")
        for note in part.notes:
            out += _wrap(f"! {note}", "  ")
    if plan.not_proposed:
        out += ["", _("not proposed:")]
        for np in plan.not_proposed:
            out += _wrap(f"{np.rule}: {np.summary}", "  ")
            out += _wrap(_("why not: {reason}").format(reason=np.reason), "    ")
    for note in plan.notes:
        out += _wrap(_("note: {note}").format(note=note), "")
    if plan.deployment:
        out += ["", _(
                "The same change for the deployment tool, so its next run keeps it (not part of "
                "the what-if):")]
        for d in plan.deployment:
            out += _wrap(f"{d.title} -- {', '.join(d.hosts)} -- {d.where}", "  ")
            out += [f"      {ln}" for ln in d.text.splitlines()]
            for dn in d.notes:
                out += _wrap(f"! {dn}", "    ")
    if plan.verification is not None:
        out += _verification_text(plan.verification)
        v = plan.verification
        out.append("")
        if v.proven:
            out.append(_(
                    "PROVEN: the what-if reaches the end state with no dangerous finding, and "
                    "the rollback gets back to the bundle's state"))
        else:
            out.append(_("NOT PROVEN:"))
            for reason in v.reasons:
                out += _wrap(f"- {reason}", "  ")
    if files:
        out += ["", _("written: {values}").format(values=', '.join(sorted(files.values()))),
                _(
                        "check one with `ovnguard check --bundle DIR --change plan-<host>.sh`, "
                        "rehearse it with `ovnguard rehearse --bundle DIR --change "
                        "plan-<host>.sh`")]
    return "\n".join(out) + "\n"


def write_json(data: dict[str, Any]) -> str:
    import json

    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
