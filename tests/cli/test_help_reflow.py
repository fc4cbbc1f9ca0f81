"""--help paragraphs are reflowed for the terminal (cli.reflow): typer's rich help keeps a
paragraph's line breaks, and source text wrapped at 90 columns came out as half-lines on an
80-column terminal."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from ovnguard.cli import reflow

OVNGUARD = str(Path(sys.executable).parent / "ovnguard")


def test_paragraphs_join_examples_and_lists_keep_their_lines() -> None:
    text = ("First line.\n\nA paragraph wrapped\nin the source.\n\nExample:\n\n"
            "  ovnguard check -b bundle/\n  --change c.sh\n\n- one\n- two")
    assert reflow(text) == ("First line.\n\nA paragraph wrapped in the source.\n\nExample:\n\n"
                            "  ovnguard check -b bundle/\n  --change c.sh\n\n- one\n- two")
    assert reflow(reflow(text)) == reflow(text)


def test_plan_help_on_80_columns_has_no_ragged_half_lines() -> None:
    env = {**os.environ, "COLUMNS": "80", "LANG": "C.UTF-8"}
    env.pop("OVNGUARD_LANG", None)
    p = subprocess.run([OVNGUARD, "plan", "separate-nic", "--help"], capture_output=True,
                       text=True, timeout=60, env=env)
    assert p.returncode == 0, p.stderr
    head = p.stdout.split("Example:")[0]
    # the source breaks this paragraph after "map --physnet to it,": reflowed, the words
    # after it follow on the same terminal line
    assert "--physnet to it, deleting the old" in head.replace("\n ", " ") or \
        "(2) map --physnet to it, deleting" in head
    lines = [ln.strip() for ln in head.splitlines() if ln.strip()]
    # a ragged column: a paragraph line much shorter than the terminal, mid-paragraph
    short = [ln for ln in lines[1:-1] if len(ln) < 40 and not ln.endswith(".")]
    assert not short, short
