"""The terminal report answers first: verdict, per host what changes and who loses
management, the one thing to do; then detail. Never hard-wrapped; --quiet is one line."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

from ovnguard.cli.demo import example_dir
from ovnguard.report.schema import HostRealizationOut, Report
from ovnguard.report.text import render_text

EX = example_dir()
OVNGUARD = str(Path(sys.executable).parent / "ovnguard")


def check(*extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([OVNGUARD, "check", "-b", str(EX / "bundle"), "--change",
                           str(EX / "change-corrected.sh"), *extra],
                          capture_output=True, text=True, timeout=120)


def test_first_screen_answers_what_to_whom_and_what_to_do() -> None:
    p = check()
    assert p.returncode == 1, p.stderr
    lines = p.stdout.splitlines()
    first = "\n".join(lines[:10])
    assert lines[0].lstrip().startswith("DANGEROUS")
    loses = next(line for line in lines[:10] if "LOSES MANAGEMENT" in line)
    assert loses.split()[0] == "compute1" and "+ patch-ln-physnet2-to-br-int on br-ex" in loses
    assert "controller, network" in first and "no OVS port changes" in first
    assert "What to do:" in first and "ovn-nbctl lsp-del ln-physnet2" in first
    # Each event of the chain once: patch.c's link and the simulation's are one event.
    chain = p.stdout[p.stdout.index("How it unfolds"):]
    assert chain.count("creates patch-ln-physnet2-to-br-int") == 1
    # Pre-existing findings: one line per rule.
    tail = p.stdout[p.stdout.index("Already there"):]
    assert tail.count("bridge-hwaddr-unpinned") == 1
    # Piped: never hard-wrapped (the longest line is longer than any terminal default).
    assert max(len(line) for line in lines) > 200
    assert "\x1b[" not in p.stdout


def test_quiet_is_the_verdict_line_only() -> None:
    p = check("--quiet")
    assert p.returncode == 1 and p.stdout.count("\n") == 1
    assert p.stdout.lstrip().startswith("DANGEROUS")


def test_verbose_lists_every_line_and_every_pre_existing_finding() -> None:
    p = check("--verbose")
    assert "What each line of the change does" in p.stdout
    assert p.stdout.count("ovn-nbctl lsp-set-type ln-physnet2 localnet") >= 2
    tail = p.stdout[p.stdout.index("Already there"):]
    assert tail.count("bridge-hwaddr-unpinned") == 3


def test_a_thousand_alike_hosts_are_one_line() -> None:
    p = check("-f", "json")
    data = json.loads(p.stdout)
    report = Report.model_validate(data)
    many = {f"compute{i:04d}": HostRealizationOut() for i in range(1000)}
    big = report.model_copy(update={"realization": {**report.realization, **many}})
    out = io.StringIO()
    render_text(big, out)
    text = out.getvalue()
    assert "compute0000, compute0001 … compute0999 (1000 hosts)" in text
    assert len(text.splitlines()) < 80


def test_a_finding_on_a_thousand_hosts_is_one_block() -> None:
    """The same rule found on 1,000 hosts (one finding per host, as the bridge rules key
    them) prints as one block with the hosts folded and a count; --verbose prints each."""
    report = Report.model_validate(json.loads(check("-f", "json").stdout))
    intro = next(f for f in report.findings if f.status == "introduced")
    same = [intro.model_copy(update={"hosts": [f"compute{i:04d}"],
                                     "summary": f"compute{i:04d}: {intro.summary}"})
            for i in range(1000)]
    big = report.model_copy(update={"findings": [*same, *report.findings]})
    out = io.StringIO()
    render_text(big, out)
    text = out.getvalue()
    assert len(text.splitlines()) < 80
    block = next(line for line in text.splitlines()
                 if intro.rule in line and "hosts:" in line)
    hosts = sorted({h for f in big.findings if f.rule == intro.rule
                    and f.status == "introduced" for h in f.hosts})
    assert len(hosts) > 1000
    assert f"on {len(hosts)} hosts: compute0000, compute0001 … {hosts[-1]}" in block
    assert text.count("compute0500") == 0
    out = io.StringIO()
    render_text(big, out, verbose=True)
    assert out.getvalue().count(f"compute0500: {intro.summary}") == 1


def test_colour_on_a_terminal_and_none_with_no_color() -> None:
    """Colour only where a terminal shows it (FORCE_COLOR stands in for one here), and never
    with NO_COLOR (no-color.org: no colour; bold and dim are not colour)."""
    import os
    import re

    def first_lines(**env: str) -> str:
        p = subprocess.run([OVNGUARD, "check", "-b", str(EX / "bundle"), "--change",
                            str(EX / "change-corrected.sh"), "--lang", "en"],
                           capture_output=True, text=True, timeout=120,
                           env={**{k: v for k, v in os.environ.items()
                                   if k not in ("NO_COLOR", "FORCE_COLOR")}, **env})
        assert p.returncode == 1, p.stderr
        return "\n".join(p.stdout.splitlines()[:8])

    colour = re.compile(r"\x1b\[(?:\d+;)*(?:3[0-9]|4[0-9]|9[0-7]|10[0-7])(?:;\d+)*m")
    assert "\x1b[" not in first_lines()  # piped
    assert colour.search(first_lines(FORCE_COLOR="1"))
    plain = first_lines(FORCE_COLOR="1", NO_COLOR="1")
    assert not colour.search(plain) and "DANGEROUS" in plain
