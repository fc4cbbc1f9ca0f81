"""`ovnguard lab ...` from the command line: errors are one line, verbs work across processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import runtime_leftovers
from helpers.proc_tools import processes_mentioning
from ovnguard.cli import app
from ovnguard.lab.topology import SEED_NETWORK_ID

OVNGUARD = str(Path(sys.executable).parent / "ovnguard")


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [OVNGUARD, "lab", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


def test_help_teaches_where_things_are() -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["lab", "up", "--help"])
    assert result.exit_code == 0
    assert "ovn-northd" in result.output and "hosts/<name>" in result.output
    for verb in ("status", "down", "export", "env"):
        assert runner.invoke(app, ["lab", verb, "--help"]).exit_code == 0


def test_both_chassis_and_topology_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["lab", "up", "-n", "3", "--topology", "x.yaml", "--run-dir", str(tmp_path)]
    )
    assert result.exit_code == 2
    assert "either --chassis or --topology" in result.output
    assert "Traceback" not in result.output


def test_bad_topology_file_is_one_line_with_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("hosts:\n  - name: h1\n    brigdes: []\n")
    result = CliRunner().invoke(
        app, ["lab", "up", "--topology", str(bad), "--run-dir", str(tmp_path / "lab")]
    )
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1
    assert f"{bad}:3:" in lines[0] and "brigdes" in lines[0]
    assert not (tmp_path / "lab").exists()


def test_status_without_a_lab(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["lab", "status", "--run-dir", str(tmp_path)])
    assert result.exit_code == 3
    assert "no lab" in result.output


@pytest.mark.lab
def test_cli_life_cycle_across_processes(tmp_path: Path) -> None:
    run_dir = tmp_path / "lab"
    env = {"OVNGUARD_LAB_DIR": str(run_dir)}
    try:
        up = _cli("up", "--chassis", "4", env=env)
        assert up.returncode == 0, up.stderr
        assert "4 chassis registered" in up.stdout
        assert str(run_dir) in up.stdout

        status = _cli("status", "--format", "json", env=env)
        assert status.returncode == 0, status.stderr
        data = json.loads(status.stdout)
        assert [c["name"] for c in data["chassis"]] == [
            "controller", "network", "compute1", "compute2"
        ]  # fmt: skip
        assert all(c["registered"] for c in data["chassis"])
        assert data["running"] is True

        text = _cli("status", "--run-dir", str(run_dir))
        assert text.returncode == 0 and "compute2" in text.stdout

        exports = _cli("env", "--host", "compute1", env=env).stdout
        shell = subprocess.run(
            ["bash", "-c", exports + "\novs-vsctl list-br && ovn-nbctl ls-list"],
            capture_output=True, text=True, timeout=30,
        )  # fmt: skip
        assert shell.returncode == 0, shell.stderr
        assert "br-ex" in shell.stdout and f"neutron-{SEED_NETWORK_ID}" in shell.stdout

        bundle = tmp_path / "bundle"
        exp = _cli("export", str(bundle), env=env)
        assert exp.returncode == 0, exp.stderr
        assert (bundle / "hosts" / "compute2" / "conf.db").is_file()
        assert (bundle / "inventory.yaml").is_file()

        again = _cli("up", env=env)
        assert again.returncode == 3 and "already running" in again.stderr
    finally:
        down = _cli("down", env=env)
    assert down.returncode == 0 and "stopped" in down.stdout
    assert processes_mentioning(run_dir) == []
    assert runtime_leftovers(run_dir) == []
    second = _cli("down", env=env)
    assert second.returncode == 0 and "nothing to stop" in second.stdout
    gone = _cli("status", env=env)
    assert gone.returncode == 3
