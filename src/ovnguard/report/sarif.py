"""SARIF 2.1.0 output, so CI systems (GitHub code scanning, GitLab) show findings where they
come from: an introduced finding on the change file's lines that cause it, a pre-existing one
on the bundle file it was read from.

Rule metadata carries the whole rule documentation (title, why, what to do) so a consumer
needs no link back to this repository.

Paths under the directory ovnguard ran in (a CI job's checkout) are written relative to it,
with `uriBaseId` "SRCROOT" and the run's `originalUriBaseIds` saying where that was: GitHub
code scanning and other consumers map such a URI onto the file in the repository, whether
the change file was given as `changes/fix.sh` or as `$GITHUB_WORKSPACE/changes/fix.sh`.
Paths elsewhere stay absolute `file:` URIs. tests/report/test_sarif.py validates the output against
the official SARIF 2.1.0 JSON schema.
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any
from urllib.parse import quote

from ovnguard import __version__
from ovnguard.i18n import _
from ovnguard.report.schema import FindingOut, Report

LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}
SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


SRCROOT = "SRCROOT"


def _artifact(path: str, root: str | None) -> dict[str, str]:
    """An artifactLocation: relative to `root` (uriBaseId SRCROOT) when the file is under
    it or given relative (to the directory ovnguard ran in), else an absolute file URI."""
    p = PurePosixPath(path)
    if not p.is_absolute():
        return {"uri": quote(path), "uriBaseId": SRCROOT} if root else {"uri": quote(path)}
    if root is not None and p.is_relative_to(root):
        return {"uri": quote(str(p.relative_to(root))), "uriBaseId": SRCROOT}
    return {"uri": p.as_uri()}


def _runs(lines: list[int]) -> list[tuple[int, int]]:
    """[5, 6, 7, 9] -> [(5, 7), (9, 9)]: contiguous lines become one region."""
    out: list[tuple[int, int]] = []
    for n in sorted(set(lines)):
        if out and n == out[-1][1] + 1:
            out[-1] = (out[-1][0], n)
        else:
            out.append((n, n))
    return out


def _region_location(artifact: dict[str, str], start: int, end: int,
                     i: int | None = None) -> dict[str, Any]:
    loc: dict[str, Any] = {"physicalLocation": {
        "artifactLocation": artifact,
        "region": {"startLine": start, "endLine": end},
    }}
    if i is not None:
        loc["id"] = i
    return loc


def _bundle_file(f: FindingOut, report: Report) -> str:
    """The first file of the bundle the finding's evidence was read from (else the bundle)."""
    root = report.bundle.rstrip("/")
    for e in f.evidence:
        if e.source.startswith(root + "/"):
            return e.source
    return root


def _locations(f: FindingOut, report: Report, root: str | None,
               ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    if f.status == "introduced" and f.change_lines and report.change:
        where = _artifact(report.change, root)
        runs = _runs(f.change_lines)
        first = [_region_location(where, *runs[0])]
        related = [_region_location(where, s, e, i) for i, (s, e) in enumerate(runs[1:], 1)]
        return first, related
    return [{"physicalLocation": {"artifactLocation": _artifact(_bundle_file(f, report),
                                                                 root)}}], []


def _rule_metadata(rule_id: str, severity: str) -> dict[str, Any]:
    from ovnguard.findings.registry import all_rules

    spec = next((r.spec for r in all_rules() if r.id == rule_id), None)
    meta: dict[str, Any] = {"id": rule_id, "name": rule_id,
                            "defaultConfiguration": {"level": LEVEL[severity]}}
    if spec is None:
        meta["shortDescription"] = {"text": rule_id}
        return meta
    todo = _(spec.remediation_template)
    title, why = _(spec.title), _(spec.why)
    meta.update({
        "shortDescription": {"text": title},
        "fullDescription": {"text": why},
        "help": {
            "text": _("{title}\n\nWhy: {why}\n\nWhat to do: {todo}").format(
                title=title, why=why, todo=todo),
            "markdown": _("**{title}**\n\n**Why.** {why}\n\n**What to do.** {todo}").format(
                title=title, why=why, todo=todo),
        },
        "properties": {"severity": spec.severity.name, "tags": ["ovn", spec.group or "ovnguard"]},
    })
    return meta


def render_sarif(report: Report, root: str | None = None) -> dict[str, Any]:
    """The SARIF log of `report`. `root`: the absolute directory paths are made relative to
    (the working directory ovnguard ran in; None: every path as it is)."""
    root = str(PurePosixPath(root)) if root else None
    rules: dict[str, dict[str, Any]] = {}
    results = []
    for f in report.findings:
        if f.status == "resolved":
            continue
        if f.rule not in rules:
            rules[f.rule] = _rule_metadata(f.rule, f.severity)
        locations, related = _locations(f, report, root)
        result: dict[str, Any] = {
            "ruleId": f.rule,
            "ruleIndex": list(rules).index(f.rule),
            "level": LEVEL[f.severity],
            "message": {
                "text": f"{f.summary} (hosts: {', '.join(f.hosts) or '-'}). {f.remediation}"
            },
            "locations": locations,
            "partialFingerprints": {"ovnguardKey/v1": f"{f.rule}:{f.key}"},
            "properties": {"severity": f.severity, "status": f.status, "hosts": f.hosts,
                           "introduced_by_change": f.introduced_by_change,
                           "evidence": [e.model_dump(exclude_none=True) for e in f.evidence]},
        }
        if related:
            result["relatedLocations"] = related
        results.append(result)
    run: dict[str, Any] = {
        "tool": {"driver": {"name": "ovnguard", "version": __version__,
                            "rules": list(rules.values())}},
        "results": results,
        "properties": {"verdict": report.verdict},
    }
    if root is not None:
        # a base URI ends with a slash (SARIF 3.14.14); "/" itself already does
        run["originalUriBaseIds"] = {SRCROOT: {"uri": PurePosixPath(root).as_uri().rstrip("/")
                                               + "/"}}
    return {"$schema": SCHEMA, "version": "2.1.0", "runs": [run]}
