"""`ovnguard demo` (cli/demo.py): every act tells its part, and piped it is not hard-wrapped
(a command split over two lines cannot be pasted)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

OVNGUARD = str(Path(sys.executable).parent / "ovnguard")


def run(*args: str, columns: int = 80) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": str(columns)}
    return subprocess.run([OVNGUARD, *args], capture_output=True, text=True, timeout=120,
                          env=env)


@pytest.mark.parametrize("act", ["state", "verbatim", "typo", "corrected", "fix"])
def test_demo_acts(act: str) -> None:
    p = run("demo", "--act", act)
    assert p.returncode == 0, p.stderr
    expected = {"state": "RISKY", "verbatim": "RISKY", "typo": "RISKY", "corrected": "DANGEROUS",
                "fix": "PROVEN"}
    assert expected[act] in p.stdout


def test_demo_piped_is_not_hard_wrapped() -> None:
    """The same text at 40 and 200 columns but for the rules (section titles, drawn to the
    width): each line is whole."""
    def lines(columns: int) -> list[str]:
        p = run("demo", "--lang", "en", columns=columns)
        assert p.returncode == 0, p.stderr
        return [line for line in p.stdout.splitlines() if not line.startswith("─")]

    narrow, wide = lines(40), lines(200)
    assert narrow == wide
    # the plan's commands, each on one line, as they would be pasted
    assert any(re.fullmatch(r"  \[compute1\] \d+\. ovs-vsctl .*ovn-bridge-mappings.*", line)
               for line in wide)
