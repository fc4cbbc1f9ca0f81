"""Report assembly (report/assemble.py): what each line of the change did."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from ovnguard.change.parse import MAX_CHAINED
from ovnguard.cli.demo import example_dir

OVNGUARD = str(Path(sys.executable).parent / "ovnguard")


def test_a_problem_the_reader_found_is_said_once(tmp_path: Path) -> None:
    # the executor hands the reader's problems on in its result: the line said it twice
    change = tmp_path / "c.sh"
    change.write_text("ovn-nbctl ls-add a" + "".join(f" -- ls-add b{i}"
                                                     for i in range(MAX_CHAINED)) + "\n")
    p = subprocess.run([OVNGUARD, "check", "-b", str(example_dir() / "bundle"), "--change",
                        str(change), "-f", "json", "--lang", "en"],
                       capture_output=True, text=True, timeout=120)
    line = json.loads(p.stdout)["change_lines"][0]
    assert line["outcome"] == "unsupported"
    assert line["message"].count("`--`-chained commands in one line") == 1, line["message"]
