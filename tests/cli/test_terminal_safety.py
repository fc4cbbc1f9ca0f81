"""Every verb's terminal output shows names from the data, never acts on them: the shared
`echo` (guard, apply, confirm, rollback, collect, plan, lab), the rehearsal report and the
lab status table (rich markup in a name is text)."""

from __future__ import annotations

import re

import pytest

from ovnguard.cli.out import echo, echo_json
from ovnguard.lab.rehearse import CommandRun, HostOutcome, LogLine, RehearsalResult
from ovnguard.lab.state import ChassisStatus, DaemonStatus, LabStatus
from ovnguard.report.formats import emit
from ovnguard.report.rehearsal import render_text
from ovnguard.simulation.types import HostDelta, PatchPort

EVIL = "<script>x</script>\x1b[2J\x1b]0;owned\x07\x9b31m\u202e"
RAW = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e]")


def test_echo_writes_control_characters_out(capsys: pytest.CaptureFixture[str]) -> None:
    echo(f"guard {EVIL} armed\n  keep it: ovnguard confirm")
    echo_json('{"name": "' + EVIL.replace("\x1b", "\\u001b").replace("\x07", "\\u0007") + '"}')
    out = capsys.readouterr().out
    assert not RAW.search(out)
    assert "\\x1b[2J" in out and "\\u202e" in out and "\n  keep it" in out


def test_rehearsal_report(capsys: pytest.CaptureFixture[str]) -> None:
    pp = PatchPort(f"br-{EVIL}", f"patch-{EVIL}")
    host = HostOutcome(EVIL, EVIL, {}, {}, HostDelta(added=(pp,)),
                       logs=(LogLine("ovn-controller", "t", EVIL, "WARN", EVIL),))
    result = RehearsalResult(
        bundle=EVIL, change=EVIL, run_dir=EVIL, kept=True,
        commands=(CommandRun(1, EVIL, "ovn-nbctl", EVIL, f"ovn-nbctl ls-add {EVIL}", "failed",
                             error=f"ovn-nbctl: {EVIL}\nsecond line"),),
        hosts={EVIL: host}, notes=(EVIL,), synced=False, sync_error=EVIL)
    for color in (False, None):
        text = render_text(result, color=color)
        if color is False:
            assert not RAW.search(text)
        else:  # styles are ours (ESC [ ... m); nothing else
            assert not RAW.search(re.sub(r"\x1b\[[0-9;]*m", "", text))
        assert "\\x1b[2J" in text


def test_lab_status_table(capsys: pytest.CaptureFixture[str]) -> None:
    d = DaemonStatus(name=f"[link=http://evil]{EVIL}", pid=1, running=False, log=EVIL)
    st = LabStatus(
        running=True, run_dir=f"[blink]{EVIL}", created_at=EVIL, nb_remote=EVIL,
        sb_remote=EVIL, central=[d], sb_reachable=True,
        chassis=[ChassisStatus(name=EVIL, registered=True, running=True, daemons=[d],
                               encap_ip=EVIL, management=EVIL, bridge_mappings=EVIL, dir=EVIL)])
    emit(st, "text")
    out = capsys.readouterr().out
    assert not RAW.search(out)
    assert "[link=http://evil]" in out and "[blink]" in out  # markup shown as text
