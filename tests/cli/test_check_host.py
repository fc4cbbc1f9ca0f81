"""`check --from` and `--host-state` at the command line: the cut-off line in JSON, the
operator taken from $SSH_CLIENT, and one-line errors with exit 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import ovnguard

OVNGUARD = str(Path(sys.executable).parent / "ovnguard")
SEED = Path(ovnguard.__file__).parent / "examples" / "seed" / "bundle"
NAIVE = "# host: compute1\nip addr del 10.10.0.23/24 dev br-ex\nip a a 10.10.0.23/24 dev enp6s18\n"


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([OVNGUARD, "check", "--bundle", str(SEED), *args],
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, **(env or {})})


def test_cut_off_line_in_json_and_operator_from_ssh_client(tmp_path: Path) -> None:
    f = tmp_path / "fix.sh"
    f.write_text(NAIVE + "ip route add default via 10.10.0.1 dev enp6s18\n")
    p = run("--change", str(f), "--format", "json", env={"SSH_CLIENT": "192.0.2.7 5100 22"})
    assert p.returncode == 1, p.stderr  # dangerous >= the default --fail-on
    report = json.loads(p.stdout)
    (cut,) = [x for x in report["findings"] if x["rule"] == "host-cut-off"]
    assert cut["change_lines"] == [2] and "192.0.2.7" in cut["summary"]
    sarif = json.loads(run("--change", str(f), "--format", "sarif", "--from",
                           "10.10.0.5").stdout)
    results = [r for r in sarif["runs"][0]["results"] if r["ruleId"] == "host-cut-off"]
    lines = {loc["physicalLocation"]["region"]["startLine"]
             for r in results for loc in r.get("locations", [])}
    assert 2 in lines


def test_bad_input_is_one_line_and_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "np.yaml"
    bad.write_text("interfaces:\n- name: eth0\n  ipv4:\n    address:\n    - ip: nonsense\n"
                   "      prefix-length: 24\n")
    for args, where in ((["--host-state", f"compute1={bad}"], f"{bad}:5"),
                        (["--host-state", "compute1"], "--host-state"),
                        (["--host-state", f"nosuch={bad}"], "--host-state"),
                        (["--from", "not-an-ip", "--host-state", f"compute1={bad}"],
                         "--from")):
        p = run(*args)
        assert p.returncode == 2, (args, p.stdout, p.stderr)
        assert where in p.stderr and "Traceback" not in p.stderr
        assert len(p.stderr.strip().splitlines()) == 1, p.stderr
