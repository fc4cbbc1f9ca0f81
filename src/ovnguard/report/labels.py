"""The words a reader sees for the report's fixed values (verdict, severity, line outcome,
finding status), in the current language. The values themselves (JSON, SARIF, exit codes)
never change with the language; only these labels do."""

from __future__ import annotations

from rich.cells import cell_len

from ovnguard.i18n import N_, _

_VERDICT = {"safe": N_("SAFE"), "risky": N_("RISKY"), "dangerous": N_("DANGEROUS")}
_SEVERITY = {"critical": N_("CRITICAL"), "high": N_("HIGH"), "medium": N_("MEDIUM"),
             "low": N_("LOW"), "info": N_("INFO")}
_OUTCOME = {"applied": N_("applied"), "rejected": N_("rejected"),
            "unsupported": N_("unsupported"), "skipped": N_("skipped")}
_STATUS = {"introduced": N_("introduced"), "pre-existing": N_("pre-existing"),
           "resolved": N_("resolved"), "present": N_("present")}

_PLAN = {"proven": N_("PROVEN"), "not-proven": N_("NOT PROVEN"),
         "nothing-to-do": N_("NOTHING TO DO")}


def plan_status_label(status: str) -> str:
    return _(_PLAN[status]) if status in _PLAN else status.upper()


def verdict_label(verdict: str) -> str:
    return _(_VERDICT[verdict]) if verdict in _VERDICT else verdict.upper()


def severity_label(severity: str) -> str:
    return _(_SEVERITY[severity]) if severity in _SEVERITY else severity.upper()


def outcome_label(outcome: str) -> str:
    return _(_OUTCOME[outcome]) if outcome in _OUTCOME else outcome


def status_label(status: str) -> str:
    return _(_STATUS[status]) if status in _STATUS else status


def pad(text: str, width: int) -> str:
    """`text` padded to `width` terminal cells (a Hangul syllable takes two)."""
    return text + " " * max(0, width - cell_len(text))
