"""OVN's conventions on every verb, as an operator types them (subprocess): $OVN_NB_DB /
$OVN_SB_DB, ovn-nbctl's -p/-c/-C, --change spelled out, and a closed pipe that is not a
verdict."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from helpers.real_db import RealDb
from ovnguard.cli.demo import example_dir

EX = example_dir()
BUNDLE = EX / "bundle"
CHANGE = EX / "change-corrected.sh"
OVNGUARD = str(Path(sys.executable).parent / "ovnguard")


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    e = {k: v for k, v in os.environ.items() if k not in ("OVN_NB_DB", "OVN_SB_DB")}
    e.update(env or {})
    return subprocess.run([OVNGUARD, *args], capture_output=True, text=True, timeout=120,
                          env=e)


# --- $OVN_NB_DB / $OVN_SB_DB --------------------------------------------------------------

@pytest.fixture
def central(tmp_path: Path):  # type: ignore[no-untyped-def]
    with RealDb(tmp_path / "nb.db", "nb") as nb, RealDb(tmp_path / "sb.db", "sb") as sb:
        nb.run("ls-add public -- lsp-add public provnet-1 -- lsp-set-type provnet-1 localnet "
               "-- lsp-set-options provnet-1 network_name=physnet1")
        yield nb, sb


@pytest.mark.realdb
def test_check_live_takes_the_databases_from_the_environment(central, tmp_path: Path) -> None:
    nb, sb = central
    change = tmp_path / "change.sh"
    change.write_text("ovn-nbctl lsp-add public vm1\n")
    env = {"OVN_NB_DB": f"unix:{nb.sock}", "OVN_SB_DB": f"unix:{sb.sock}"}
    p = run("check", "--live", "--change", str(change), "--format", "json", "--fail-on",
            "never", env=env)
    assert (p.returncode, p.stderr) == (0, ""), p.stderr
    report = json.loads(p.stdout)
    # the switch exists only in that NB: the line applies, so NB came from $OVN_NB_DB
    assert [c["outcome"] for c in report["change_lines"]] == ["applied"]
    assert not any("sb.db not collected" in n for n in report["notes"]), report["notes"]
    # without them: the same one-line error as before, now naming the variable
    p = run("check", "--live", "--change", str(change))
    assert p.returncode == 2 and "$OVN_NB_DB" in p.stderr and "\n" not in p.stderr.strip()
    # an explicit --nb wins over the environment, as for ovn-nbctl --db
    p = run("check", "--live", "--nb", f"unix:{tmp_path}/nowhere.sock", "--change",
            str(change), env=env)
    assert p.returncode == 2 and "nowhere.sock" in p.stderr


@pytest.mark.realdb
def test_collect_takes_the_databases_from_the_environment(central, tmp_path: Path) -> None:
    nb, sb = central
    out = tmp_path / "bundle"
    p = run("collect", "--out", str(out), "--no-host",
            env={"OVN_NB_DB": f"unix:{nb.sock}", "OVN_SB_DB": f"unix:{sb.sock}"})
    assert p.returncode == 0, p.stderr
    assert f"nb.db    from unix:{nb.sock}" in p.stderr
    assert (out / "nb.db").is_file() and (out / "sb.db").is_file()


def test_help_names_the_variables() -> None:
    for verb in ("check", "collect", "apply"):
        p = run(verb, "--help", env={"COLUMNS": "200"})
        assert "OVN_NB_DB" in p.stdout and "OVN_SB_DB" in p.stdout, verb


# --- -p/-c/-C and --change -------------------------------------------------------------------

def test_check_c_with_a_change_file_says_to_use_change() -> None:
    p = run("check", "-b", str(BUNDLE), "-c", str(CHANGE))
    assert p.returncode == 2 and p.stdout == ""
    assert p.stderr.count("\n") == 1
    assert f"use --change {CHANGE}" in p.stderr and "-c is --certificate" in p.stderr


@pytest.mark.parametrize("verb", ["apply", "rehearse"])
def test_verbs_without_ssl_refuse_c_with_the_spelling(verb: str) -> None:
    p = run(verb, "-b", str(BUNDLE), "-c", str(CHANGE))
    assert p.returncode == 2 and p.stderr.count("\n") == 1, p.stderr
    assert f"the change file is --change {CHANGE}" in p.stderr


def test_c_is_the_certificate_as_in_ovn_nbctl(tmp_path: Path) -> None:
    cert = tmp_path / "cert.pem"
    cert.write_text("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
    p = run("check", "-b", str(BUNDLE), "-c", str(cert), "--change", str(CHANGE), "-f", "json")
    assert (p.returncode, p.stderr) == (1, "")
    assert json.loads(p.stdout)["verdict"] == "dangerous"
    p = run("collect", "--out", str(tmp_path / "b"), "--nb", "ssl:127.0.0.1:1", "-c",
            str(cert), "--no-host", "--timeout", "1")
    # -c reached the SSL check: the other two files are named as missing, as ovn-nbctl would
    assert p.returncode == 2 and "-p/--private-key, -C/--ca-cert" in p.stderr


# --- a closed pipe is not a verdict ------------------------------------------------------

def closed_pipe(*args: str) -> tuple[int, bytes]:
    """Run with stdout a pipe whose reader is gone before anything is written (what
    `| head -1` does to a long report): exit code and stderr."""
    r, w = os.pipe()
    os.close(r)
    try:
        p = subprocess.run([OVNGUARD, *args], stdout=w, stderr=subprocess.PIPE, timeout=120)
    finally:
        os.close(w)
    return p.returncode, p.stderr


CASES = [
    *[("check", "-b", str(BUNDLE), "-f", f, "--fail-on", "dangerous")
      for f in ("text", "json", "sarif", "html")],
    *[("check", "-b", str(BUNDLE), "--change", str(CHANGE), "-f", f)
      for f in ("text", "json", "sarif", "html")],
    ("check", "-b", str(BUNDLE), "-v", "--fail-on", "dangerous"),
    ("plan", "fix", "-b", str(BUNDLE)),
    ("plan", "fix", "-b", str(BUNDLE), "-f", "json"),
    ("demo",),
    ("check", "--help"),
    ("--version",),
]


@pytest.mark.parametrize("args", CASES, ids=[" ".join(Path(x).name if x.startswith("/") else x
                                                      for x in a) for a in CASES])
def test_closed_pipe_keeps_the_exit_code_and_says_nothing(args: tuple[str, ...]) -> None:
    expected = run(*args).returncode
    rc, err = closed_pipe(*args)
    assert (rc, err) == (expected, b"")


def test_head_of_a_safe_verdict_exits_0() -> None:
    # the issue's own reproducer: a SAFE (here: below --fail-on) verdict through `head -1`
    p = subprocess.run(f"set -o pipefail; {OVNGUARD} check -b {BUNDLE} -v --fail-on "
                       "dangerous | head -1", shell=True, executable="/bin/bash",
                       capture_output=True, text=True, timeout=120)
    assert (p.returncode, p.stderr) == (0, "")
    assert p.stdout.count("\n") == 1


# --- a bad --inventory: one line naming the file and the line ------------------------------

@pytest.mark.parametrize("verb", [("check", "--live"), ("collect", "--out", "OUT")])
def test_bad_inventory_is_one_line_with_file_and_line(tmp_path: Path,
                                                      verb: tuple[str, ...]) -> None:
    inv = tmp_path / "multinode"
    inv.write_text("[control]\ncontrol01\n\n[compute]\ncompute01 ansible_host=10.1.0.999\n")
    args = [str(tmp_path / "out") if a == "OUT" else a for a in verb]
    p = run(*args, "--inventory", str(inv), "--nb", "unix:/nonexistent.sock")
    assert p.returncode == 2 and p.stdout == ""
    assert p.stderr == (f"ovnguard: error: {inv}:5: address of host 'compute01' is not an IP "
                        "address or a DNS name: '10.1.0.999'\n")


def test_limit_needs_an_inventory_and_a_match(tmp_path: Path) -> None:
    p = run("collect", "--out", str(tmp_path / "b"), "--limit", "compute")
    assert (p.returncode, p.stderr) == (2, "ovnguard: error: --limit: --limit needs "
                                           "--inventory\n")
    inv = tmp_path / "multinode"
    inv.write_text("[control]\nctl01 ansible_host=10.1.0.11\n")
    p = run("check", "--live", "--inventory", str(inv), "--limit", "compute")
    assert (p.returncode, p.stderr) == (2, f"ovnguard: error: {inv}: --limit compute matches "
                                           "no host of this inventory\n")


def test_apply_without_change_is_one_line() -> None:
    p = run("apply")
    assert (p.returncode, p.stderr) == (2, "ovnguard apply: missing --change FILE (or "
                                           "--host-state FILE): the change to apply\n")
