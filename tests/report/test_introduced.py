"""`check --introduced`: only what the change introduces, in every format; the verdict and
the exit code are the change's either way (report/introduced.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from ovnguard.cli.demo import example_dir

EX = example_dir()
OVNGUARD = str(Path(sys.executable).parent / "ovnguard")


def check(*extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([OVNGUARD, "check", "-b", str(EX / "bundle"), *extra],
                          capture_output=True, text=True, timeout=120)


def test_only_the_changes_findings_and_hosts_in_json_and_text() -> None:
    change = ("--change", str(EX / "change-corrected.sh"))
    whole = check(*change, "-f", "json")
    cut = check(*change, "-f", "json", "--introduced")
    assert whole.returncode == cut.returncode == 1, cut.stderr
    a, b = json.loads(whole.stdout), json.loads(cut.stdout)
    assert a["verdict"] == b["verdict"] == "dangerous" and a["summary"] == b["summary"]
    kept = [f for f in a["findings"] if f["status"] == "introduced" or f["hosts_added"]]
    assert kept and len(kept) < len(a["findings"])
    assert b["findings"] == kept
    left = len(a["findings"]) - len(kept)
    assert f"--introduced: {left} findings the change does not introduce are left out" in \
        " ".join(b["notes"])
    # every host the change reaches stays; here all three are on the looped LAN
    assert set(b["realization"]) == {h for f in kept for h in f["hosts"]}
    assert b["realization"]["compute1"] == a["realization"]["compute1"]
    text = check(*change, "--introduced")
    assert "Already there before the change" not in text.stdout
    assert "Introduced by the change (3)" in text.stdout
    sarif = json.loads(check(*change, "-f", "sarif", "--introduced").stdout)
    assert len(sarif["runs"][0]["results"]) == len(kept)


def test_without_a_change_it_is_a_one_line_error() -> None:
    p = check("--introduced")
    assert p.returncode == 2
    assert p.stderr.strip().count("\n") == 0 and "--introduced needs --change" in p.stderr
