"""Rules as data (after hotsos' scenarios): each hazard is a `RuleSpec` -- stable id, severity,
title, why it matters, a remediation template and an example -- plus one pure check function.

The spec is what docs/rules.md is generated from (`python -m ovnguard.findings.docs`), so the
documentation cannot drift from the code; the check is what runs. A check never does I/O: it
reads the `RuleContext` (snapshot, realization, host views) and returns findings.

A few hazards are seen in the change's own lines rather than in a snapshot (a line the tool
refuses, a physnet named only by a refused line): their check is a `change_rule` over a
`ChangeContext`, registered here the same way and run by `run_change_rules`.
"""

from __future__ import annotations

import string
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING

from ovnguard.findings.finding import Finding, Severity
from ovnguard.i18n import _
from ovnguard.model.evidence import Evidence
from ovnguard.record import record

if TYPE_CHECKING:
    from ovnguard.findings.context import ChangeContext, RuleContext
    from ovnguard.model.host import HostView


@record(slots=True)
class RuleSpec:
    id: str  # stable; never renamed once released
    severity: Severity  # the usual severity; a check may raise or lower it per finding
    title: str
    why: str  # the mechanism, with its source (ovn/ovs code, docs/measurements.md)
    remediation_template: str  # str.format fields filled by the check
    example: str  # a situation that triggers it and the summary it produces
    group: str = ""  # docs section
    severity_note: str = ""  # why this severity (docs)

    def fields(self) -> tuple[str, ...]:
        return tuple(
            f for _t, f, _s, _c in string.Formatter().parse(self.remediation_template) if f
        )

    def finding(
        self,
        *,
        key: str,
        hosts: Iterable[str],
        summary: str,
        evidence: Iterable[Evidence] = (),
        chain: Iterable[Evidence] = (),
        fields: Mapping[str, object] | None = None,
        severity: Severity | None = None,
        loses_management: Iterable[str] = (),
    ) -> Finding:
        return Finding(
            rule=self.id,
            severity=self.severity if severity is None else severity,
            hosts=tuple(sorted(set(hosts))),
            summary=summary,
            evidence=_dedup(evidence),
            # the template is marked N_() where the rule is defined; shown translated
            remediation=_(self.remediation_template).format(**(fields or {})),
            key=key,
            chain=_dedup(chain),
            loses_management=tuple(sorted(set(loses_management))),
        )


Check = Callable[["RuleContext"], list[Finding]]
HostCheck = Callable[["HostView"], list[Finding]]


@record(slots=True)
class Rule:
    spec: RuleSpec
    check: Check
    # a check that reads one host's view and nothing else (`host_rule`)
    per_host: HostCheck | None = None

    @property
    def id(self) -> str:
        return self.spec.id


ChangeCheck = Callable[["ChangeContext"], list[Finding]]


@record(slots=True)
class ChangeRule:
    """A check over a change's lines; the findings it returns are of `specs`."""

    specs: tuple[RuleSpec, ...]
    check: ChangeCheck


_REGISTRY: dict[str, Rule] = {}
_CHANGE_RULES: list[ChangeRule] = []


def rule(spec: RuleSpec) -> Callable[[Check], Check]:
    """Register `check` under `spec` (decorator). Ids are unique."""

    def deco(check: Check) -> Check:
        if spec.id in _REGISTRY:
            raise ValueError(f"duplicate rule id {spec.id}")
        _REGISTRY[spec.id] = Rule(spec, check)
        return check

    return deco


def host_rule(spec: RuleSpec) -> Callable[[HostCheck], HostCheck]:
    """Register `check(view)` under `spec` (decorator): a check of one host that reads its
    view only. Its findings are kept on the view (`HostView.memo`), which the states before
    and after a change share for every host the change leaves alone: a what-if checks again
    only the hosts it changes."""

    def deco(check: HostCheck) -> HostCheck:
        if spec.id in _REGISTRY:
            raise ValueError(f"duplicate rule id {spec.id}")
        key = f"rule.{spec.id}"

        def once(v: HostView) -> tuple[Finding, ...]:
            return tuple(check(v))

        def every_host(ctx: RuleContext) -> list[Finding]:
            return [f for v in ctx.views() for f in v.memo(key, once)]

        _REGISTRY[spec.id] = Rule(spec, every_host, check)
        return check

    return deco


def no_snapshot_hazard(ctx: RuleContext) -> list[Finding]:
    return []


def change_rule(*specs: RuleSpec) -> Callable[[ChangeCheck], ChangeCheck]:
    """Register `check` as a change-time check raising findings of `specs` (decorator).
    A spec not registered yet by `rule` is registered with a snapshot check that finds
    nothing: its id, docs and severity are the registry's like every rule's."""

    def deco(check: ChangeCheck) -> ChangeCheck:
        for spec in specs:
            if spec.id not in _REGISTRY:
                _REGISTRY[spec.id] = Rule(spec, no_snapshot_hazard)
        _CHANGE_RULES.append(ChangeRule(tuple(specs), check))
        return check

    return deco


def run_change_rules(cc: ChangeContext) -> list[Finding]:
    """Every change-time check's findings, in registration order; they belong to the change
    (`introduced`)."""
    all_rules()
    out: list[Finding] = []
    for r in _CHANGE_RULES:
        ids = {s.id for s in r.specs}
        for f in r.check(cc):
            if f.rule not in ids:
                raise AssertionError(f"change rule of {sorted(ids)} returned a finding of {f.rule}")
            out.append(f.marked("introduced"))
    return out


def checked_on_change(rule_id: str) -> bool:
    """Whether a change-time check raises findings of `rule_id` (docs)."""
    all_rules()
    return any(s.id == rule_id for r in _CHANGE_RULES for s in r.specs)


def all_rules() -> tuple[Rule, ...]:
    """Every registered rule, in registration order (grouped as the modules define them)."""
    import ovnguard.findings.rules  # noqa: F401  (registers on import)

    return tuple(_REGISTRY.values())


def get_rule(rule_id: str) -> Rule:
    all_rules()
    return _REGISTRY[rule_id]


def run_rules(ctx: RuleContext, rules: Iterable[Rule] | None = None) -> list[Finding]:
    out: list[Finding] = []
    for r in all_rules() if rules is None else rules:
        for f in r.check(ctx):
            if f.rule != r.id:
                raise AssertionError(f"rule {r.id} returned a finding of {f.rule}")
            out.append(f)
    return sorted(out, key=lambda f: (-f.severity, f.rule, f.key))


def _dedup(evs: Iterable[Evidence]) -> tuple[Evidence, ...]:
    seen: set[Evidence] = set()
    out: list[Evidence] = []
    for e in evs:
        if e not in seen:
            seen.add(e)
            out.append(e)
    return tuple(out)
