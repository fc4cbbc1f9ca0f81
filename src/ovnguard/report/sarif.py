"""SARIF 2.1.0 output, so CI systems (GitHub code scanning, GitLab) show findings on the change
file's lines."""

from __future__ import annotations

from typing import Any

from ovnguard import __version__
from ovnguard.report.schema import FindingOut, Report

LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}


def _location(f: FindingOut, report: Report) -> list[dict[str, Any]]:
    for e in f.evidence:
        if e.source.startswith("change:") and report.change:
            try:
                line = int(e.source.split(":", 1)[1])
            except ValueError:
                continue
            return [{"physicalLocation": {"artifactLocation": {"uri": report.change},
                                          "region": {"startLine": line}}}]
    for e in f.evidence:
        if e.source and not e.source.startswith("change:"):
            return [{"physicalLocation": {"artifactLocation": {"uri": e.source.split(":")[0]}}}]
    return []


def render_sarif(report: Report) -> dict[str, Any]:
    rules: dict[str, dict[str, Any]] = {}
    results = []
    for f in report.findings:
        if f.status == "resolved":
            continue
        rules.setdefault(f.rule, {
            "id": f.rule,
            "shortDescription": {"text": f.rule},
            "helpUri": "docs/rules.md#" + f.rule,
        })
        results.append({
            "ruleId": f.rule,
            "level": LEVEL[f.severity],
            "message": {
                "text": f"{f.summary} (hosts: {', '.join(f.hosts) or '-'}). {f.remediation}"
            },
            "locations": _location(f, report),
            "properties": {"severity": f.severity, "hosts": f.hosts,
                           "introduced_by_change": f.introduced_by_change,
                           "evidence": [e.model_dump(exclude_none=True) for e in f.evidence]},
        })
    return {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "ovnguard", "version": __version__,
                                "rules": list(rules.values())}},
            "results": results,
            "properties": {"verdict": report.verdict},
        }],
    }
