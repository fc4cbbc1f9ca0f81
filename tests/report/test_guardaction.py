"""The guard's action verbs render through the one table (report/guardaction.py via
report/formats.py): what apply, confirm, rollback and the sentinels print, in text and JSON,
from the state documents the guard writes. (tests/guard runs the verbs against real OVN.)"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ovnguard.cli.guard import rollback_exit_code
from ovnguard.report import guardaction as ga
from ovnguard.report.formats import RenderOptions, emit, formats_of, renderer

OVNGUARD = str(Path(sys.executable).parent / "ovnguard")
T0 = 1_764_892_800.0


def doc(status: str, **extra: Any) -> dict[str, Any]:
    return {"id": "g1", "status": status, "edits": ["NB Logical_Switch_Port ln-physnet2 +"],
            "timeline": {"applied": T0, "deadline": T0 + 60, "confirmed": T0 + 12.5,
                         "restored": T0 + 3}, **extra}


def text(result: object) -> str:
    out = io.StringIO()
    renderer(type(result).__name__, "text")(result, out, RenderOptions())
    return out.getvalue()


def as_json(result: object) -> Any:
    out = io.StringIO()
    renderer(type(result).__name__, "json")(result, out, RenderOptions())
    return json.loads(out.getvalue())


@pytest.mark.parametrize("kind", ["GuardApplied", "GuardRefused", "SentinelPlans",
                                  "GuardConfirmed", "GuardRolledBack", "SentinelArmed",
                                  "SentinelStatus"])
def test_every_guard_result_has_text_and_json(kind: str) -> None:
    assert [f.value for f in formats_of(kind)] == ["text", "json"]


def test_applied_and_armed_says_how_to_keep_undo_and_watch() -> None:
    out = text(ga.GuardApplied(doc("armed", notes=["one note"]), "/tmp/st"))
    assert "as one transaction (1 row change(s)): NB Logical_Switch_Port ln-physnet2 +" in out
    assert "note: one note" in out and "guard g1 armed: rollback at" in out
    for verb in ("ovnguard confirm --state-dir /tmp/st", "ovnguard rollback --state-dir /tmp/st",
                 "ovnguard guard status --state-dir /tmp/st"):
        assert verb in out
    # taken back at once: no advice to keep it
    out = text(ga.GuardApplied(doc("rolled-back", rollback={"reason": "probe failed"})))
    assert "guard g1 is already rolled-back: probe failed" in out and "confirm" not in out
    assert as_json(ga.GuardApplied(doc("armed"))) == doc("armed")


def test_refused_and_the_tool_refusing() -> None:
    r = ga.GuardRefused("the what-if says DANGEROUS", ["l2-loop on compute1"])
    assert text(r) == "REFUSED: the what-if says DANGEROUS\n  → l2-loop on compute1\n"
    assert as_json(r) == {"status": "refused", "message": "the what-if says DANGEROUS",
                          "details": ["l2-loop on compute1"]}
    out = text(ga.GuardApplied(doc("refused", apply={"stderr": "ovn-nbctl: no switch\n"})))
    assert out == "the tool refused the change; nothing applied: ovn-nbctl: no switch\n"


def test_rollback_text_and_exit_codes() -> None:
    ok = doc("rolled-back", rollback={"reason": "deadline", "actions": ["deleted ln-physnet2"],
                                      "verification": {"ok": True}})
    assert text(ga.GuardRolledBack(ok)).startswith("rolled back guard g1 (deadline): restored")
    assert rollback_exit_code(ok) == 0
    unverified = doc("rolled-back", rollback={"verification": {"ok": False,
                                                               "error": "compute1 lags"}})
    assert "  compute1 lags" in text(ga.GuardRolledBack(unverified))
    assert rollback_exit_code(unverified) == 1
    conflict = doc("rollback-conflict", rollback={"conflicts": [
        {"table": "Logical_Switch_Port", "row": "ln-physnet2", "uuid": "0123456789abcdef",
         "column": "options", "expected": "{}", "found": "{a=b}"}]})
    out = text(ga.GuardRolledBack(conflict))
    assert "STOPPED, nothing written" in out and "[01234567] column options" in out
    assert rollback_exit_code(conflict) == 1
    assert rollback_exit_code(doc("rollback-failed", rollback={"error": "gone"})) == 3
    assert as_json(ga.GuardRolledBack(ok))["status"] == "rolled-back"


def test_confirmed_names_the_sentinels_it_stopped() -> None:
    r = ga.GuardConfirmed(doc("confirmed", sentinels=[{"host": "compute1"}]), ["compute1"])
    out = text(r)
    assert "confirmed guard g1 at" in out and "(12.5s after the apply)" in out
    assert "stopped the sentinel of compute1" in out
    assert as_json(r)["stopped_sentinels"] == ["compute1"]


def test_names_from_state_files_are_shown_not_run() -> None:
    out = text(ga.GuardApplied(doc("failed", error="\x1b[2Jboom")))
    assert "\x1b" not in out and "\\x1b[2Jboom" in out
    buf = io.StringIO()
    sys_stdout = sys.stdout
    try:
        sys.stdout = buf
        emit(ga.SentinelStatus("/st", []), "text")
    finally:
        sys.stdout = sys_stdout
    assert buf.getvalue() == "no sentinel in /st\n"


@pytest.mark.parametrize("verb", [["apply", "--change", "/dev/null"], ["confirm"],
                                  ["rollback"], ["guard", "sentinel", "--watch", "p"],
                                  ["guard", "sentinel-status"]])
def test_a_wrong_format_is_one_line_naming_the_formats(verb: list[str], tmp_path: Path) -> None:
    p = subprocess.run([OVNGUARD, *verb, "--state-dir", str(tmp_path), "--format", "xml"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 2, p.stdout + p.stderr
    assert p.stderr.strip().endswith("--format must be text or json, not 'xml'"), p.stderr
    assert len(p.stderr.strip().splitlines()) == 1 and p.stdout == ""
