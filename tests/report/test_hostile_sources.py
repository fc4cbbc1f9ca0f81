"""Hostile names from every place a name can come from, written by the real tools (OVN rows
by ovn-nbctl and OVS rows by ovs-vsctl through a real ovsdb-server, host directory names,
inventory keys, .ini values, change text and the change file's name), through every verb
that prints them: shown in every format, never acted on."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from helpers.real_db import RealDb
from ovnguard.cli.demo import example_dir

EX = example_dir()
OVNGUARD = str(Path(sys.executable).parent / "ovnguard")
pytestmark = pytest.mark.realdb

# No "/" (it is also a host directory name); each part is a different attack.
EVIL = "<img src=x onerror=alert(1)><script>alert(2)\x1b[2J\x1b]0;owned\x07\x9b31m"
RAW = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e]")
SWITCH = "neutron-5f1c9d2e-8a7b-4c3d-9e0f-1a2b3c4d5e6f"


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    if shutil.which("ovsdb-server") is None:
        pytest.skip("needs the OVS/OVN Debian packages")
    d = tmp_path_factory.mktemp("hostile")
    b = d / "bundle"
    shutil.copytree(EX / "bundle", b)
    work = d / "work"
    work.mkdir()
    nb = work / "nb.db"
    shutil.copy(b / "nb.db", nb)
    with RealDb(nb, "nb") as db:
        db.run(["ls-add", EVIL])
        db.run(["lsp-add", EVIL, f"port-{EVIL}"])
        db.run(["set", "Logical_Switch", SWITCH, f'external_ids:"neutron:network_name"={EVIL}'])
        db.run(["lsp-add", SWITCH, f"ln-{EVIL}", "--", "lsp-set-type", f"ln-{EVIL}",
                "localnet", "--", "lsp-set-options", f"ln-{EVIL}", f"network_name={EVIL}"])
        db.backup(b / "nb.db")
    conf = work / "conf.db"
    shutil.copy(b / "hosts" / "compute1" / "conf.db", conf)
    with RealDb(conf, "vswitch") as db:
        db.run(["add-br", f"br-{EVIL}"])
        db.run(["set", "Open_vSwitch", ".",
                f'external_ids:ovn-bridge-mappings="physnet2:br-ex,{EVIL}:br-{EVIL}"'])
        db.backup(b / "hosts" / "compute1" / "conf.db")
    (b / "hosts" / "network").rename(b / "hosts" / EVIL)
    with (b / "inventory.yaml").open("a") as f:
        f.write(f"  {json.dumps(EVIL)}: 10.10.0.99\n")
    ini = next((b / "hosts" / "compute1" / "etc").rglob("*.ini"))
    with ini.open("a") as f:
        f.write(f"\n[evil]\nbridge_mappings = {EVIL}:br-ex\n")
    change = d / f"change-{EVIL}.sh"
    change.write_text(f"ovn-nbctl ls-add '{EVIL}'\n"
                      f"ovn-nbctl lsp-add {SWITCH} 'p-{EVIL}' -- lsp-set-type 'p-{EVIL}' "
                      f"localnet -- lsp-set-options 'p-{EVIL}' 'network_name={EVIL}'\n"
                      f"# host: compute1\novs-vsctl add-br 'x-{EVIL}'\n")
    return b, change


def _strings(v: object) -> list[str]:
    if isinstance(v, str):
        return [v]
    if isinstance(v, dict):
        return [s for k, x in v.items() for s in (*_strings(k), *_strings(x))]
    if isinstance(v, list):
        return [s for x in v for s in _strings(x)]
    return []


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([OVNGUARD, *args], capture_output=True, text=True, timeout=120)


def _shown_not_run(p: subprocess.CompletedProcess[str]) -> None:
    assert p.returncode in (0, 1), p.stderr
    for text in (p.stdout, p.stderr):
        assert not RAW.search(text), RAW.search(text)


def test_check_every_format(hostile: tuple[Path, Path]) -> None:
    b, change = hostile
    for fmt in ("text", "json", "sarif", "html"):
        p = _run("check", "-b", str(b), "--change", str(change), "-f", fmt, "-v")
        _shown_not_run(p)
        if fmt == "html":
            low = p.stdout.lower()
            assert "<script" not in low and "<img" not in low
            assert "&lt;script&gt;alert(2)" in p.stdout  # shown, escaped
        elif fmt == "text":
            assert "\\x1b[2J" in p.stdout  # shown, written out
        else:
            # the names survive, exact, for programs
            assert any(EVIL in x for x in _strings(json.loads(p.stdout)))


def test_the_hostile_names_reached_the_report(hostile: tuple[Path, Path]) -> None:
    b, change = hostile
    doc = json.loads(_run("check", "-b", str(b), "--change", str(change), "-f", "json",
                          "-v").stdout)
    text = "\n".join(_strings(doc))
    for where in (f"ln-{EVIL}", f"br-{EVIL}", f"p-{EVIL}", f"change-{EVIL}.sh"):
        assert where in text, where


def test_plan_and_errors(hostile: tuple[Path, Path]) -> None:
    b, _ = hostile
    for fmt in ("text", "json"):
        p = _run("plan", "separate-nic", "-b", str(b), "--physnet", "physnet2", "--bridge",
                 "br-public", "--nic", "eth2", "--format", fmt)
        _shown_not_run(p)
        if fmt == "json":
            json.loads(p.stdout)
    # an error naming a hostile file: one line, written out
    p = _run("check", "-b", str(b), "--change", str(b / f"missing-{EVIL}.sh"))
    assert p.returncode == 2
    assert not RAW.search(p.stderr) and len(p.stderr.strip().splitlines()) == 1
    assert "\\x1b[2J" in p.stderr
