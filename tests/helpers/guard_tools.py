"""Helpers for the guard tests: the guard CLI on a throwaway Typer app, reading the live NB
independently of the code under test, and stopping detached watchers."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer
from typer.testing import CliRunner, Result

from ovnguard.cli.guard import ROLLED_BACK_AT_ONCE, apply, confirm, guard_app, rollback
from ovnguard.lab import Lab
from ovnguard.lab.process import is_alive

SEED_SWITCH = "neutron-5f1c9d2e-8a7b-4c3d-9e0f-1a2b3c4d5e6f"
SEED_PROVNET = "provnet-0b7e4f1a-2c3d-4e5f-8a9b-c0d1e2f3a4b5"
PATCH = "patch-ln-physnet2-to-br-int"
# `apply` of a change whose probe fails fast: exit 0 when the CLI saw the guard armed before
# the first failed probe, 5 when the watcher had already begun the rollback. Which one is a
# race between the probe and the CLI's poll; the tests then check the rollback itself.
ARMED_OR_TAKEN_BACK = (0, ROLLED_BACK_AT_ONCE)
NEEDED = ("ovsdb-server", "ovsdb-tool", "ovs-vswitchd", "ovn-northd", "ovn-controller",
          "ovn-nbctl", "ovsdb-client")

# The incident's snippet with the real switch name and the physnet the chassis map.
SEED_CHANGE = f"""LS_NAME="{SEED_SWITCH}"
PHYSNET="physnet2"

ovn-nbctl lsp-add ${{LS_NAME}} ln-${{PHYSNET}}
ovn-nbctl lsp-set-type ln-${{PHYSNET}} localnet
ovn-nbctl lsp-set-options ln-${{PHYSNET}} network_name=${{PHYSNET}}
ovn-nbctl lsp-set-addresses ln-${{PHYSNET}} "unknown"
"""

# Columns ovn-northd or `--wait=hv` move on their own; everything else must be identical.
VOLATILE = {"NB_Global": {"nb_cfg", "sb_cfg", "hv_cfg", "nb_cfg_timestamp",
                          "sb_cfg_timestamp", "hv_cfg_timestamp"},
            "Logical_Switch_Port": {"up"}}


def cli() -> typer.Typer:
    app = typer.Typer()
    app.command("apply")(apply)
    app.command("confirm")(confirm)
    app.command("rollback")(rollback)
    app.add_typer(guard_app, name="guard")
    return app


def nb_rows(remote: str) -> dict[str, dict[str, dict[str, Any]]]:
    """Every row of every NB table as ovsdb-server returns it (one read-only transaction),
    without `_version` and the volatile columns. Independent of the code under test."""
    schema = json.loads(subprocess.run(
        ["ovsdb-client", "get-schema", remote, "OVN_Northbound"],
        capture_output=True, check=True, timeout=10).stdout)
    tables = sorted(schema["tables"])
    ops = [{"op": "select", "table": t, "where": []} for t in tables]
    out = subprocess.run(
        ["ovsdb-client", "query", remote, json.dumps(["OVN_Northbound", *ops])],
        capture_output=True, check=True, timeout=10).stdout
    result: dict[str, dict[str, dict[str, Any]]] = {}
    for t, res in zip(tables, json.loads(out), strict=True):
        rows = {}
        for r in res["rows"]:
            u = r.pop("_uuid")[1]
            r.pop("_version", None)
            for c in VOLATILE.get(t, ()):
                r.pop(c, None)
            rows[u] = _canon(r)
        result[t] = rows
    return result


def _canon(v: Any) -> Any:
    """Sets and maps in a stable order (the server's order is not part of the value)."""
    if isinstance(v, dict):
        return {k: _canon(x) for k, x in v.items()}
    if isinstance(v, list) and len(v) == 2 and v[0] in ("set", "map"):
        return [v[0], sorted((_canon(x) for x in v[1]), key=json.dumps)]
    return v


@dataclass
class GuardEnv:
    lab: Lab
    tmp: Path
    state_dir: Path
    bundle: Path

    @property
    def nb(self) -> str:
        return self.lab.nb_remote

    def chassis_db(self, host: str) -> str:
        return self.lab.host_paths(host).ovsdb.remote

    def change(self, text: str, name: str = "change.sh") -> Path:
        p = self.tmp / name
        p.write_text(text)
        return p

    def run(self, *args: str) -> Result:
        res = CliRunner().invoke(cli(), list(args))
        if res.exception is not None and not isinstance(res.exception, SystemExit):
            raise res.exception
        return res

    def apply(self, change: Path, *extra: str, bundle: bool = True) -> Result:
        args = ["apply", "--change", str(change), "--nb", self.nb, "--state-dir",
                str(self.state_dir)]
        if bundle:
            args += ["--bundle", str(self.bundle)]
        return self.run(*args, *extra)

    def guards(self) -> list[Path]:
        if not self.state_dir.is_dir():
            return []
        return sorted(p for p in self.state_dir.iterdir() if (p / "guard.json").exists())

    def state(self, guard: Path | None = None) -> dict[str, Any]:
        g = guard or self.guards()[-1]
        doc: dict[str, Any] = json.loads((g / "guard.json").read_text())
        return doc

    def wait_status(self, *statuses: str, timeout: float = 10.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            with contextlib.suppress(IndexError, ValueError, FileNotFoundError):
                doc = self.state()
                if doc["status"] in statuses:
                    return doc
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"guard not {statuses} after {timeout}s: {self.state().get('status')}; "
                    f"log:\n{self.log()}")
            time.sleep(0.02)

    def log(self) -> str:
        """The newest guard's watcher log; "" before it exists (the guard's directory is
        made first, and a test polling for a line may look in between)."""
        gs = self.guards()
        f = gs[-1] / "watcher.log" if gs else None
        return f.read_text() if f is not None and f.exists() else ""

    def ports(self, host: str) -> set[str]:
        return {p for ps in self.lab.chassis_ports(host).values() for p in ps}




def latest_guard_dir(state_dir: Path) -> Path | None:
    """The newest guard's directory in `state_dir` (one with a guard.json: the state dir also
    holds `locks/`, and a directory listing has no order), None when there is none yet."""
    dirs = sorted(p for p in state_dir.iterdir() if (p / "guard.json").is_file()) \
        if state_dir.is_dir() else []
    return dirs[-1] if dirs else None


def latest_guard(state_dir: Path) -> dict[str, Any] | None:
    """The newest guard's state document in `state_dir`, None when there is none yet (or it
    is caught mid-rename)."""
    d = latest_guard_dir(state_dir)
    if d is None:
        return None
    try:
        doc: dict[str, Any] = json.loads((d / "guard.json").read_text())
    except ValueError:
        return None
    return doc


def latest_guard_log(state_dir: Path) -> str:
    """The newest guard's watcher.log."""
    d = latest_guard_dir(state_dir)
    assert d is not None, f"no guard in {state_dir}"
    return (d / "watcher.log").read_text()


def stop_watchers(state_dir: Path) -> list[int]:
    """SIGKILL every keeper, then every watcher recorded in the state dir that is still ours
    (its command line names its guard dir; the keeper first, or it would start the next
    generation). Returns the pids that had to be killed."""
    killed: list[int] = []
    if not state_dir.is_dir():
        return killed
    for role in ("keeper", "watcher", "watcher"):
        for g in state_dir.iterdir():
            f = g / "guard.json"
            if not f.exists():
                continue
            with contextlib.suppress(ValueError, OSError):
                pid = (json.loads(f.read_text()).get(role) or {}).get("pid")
                if kill_ours(pid, g):
                    killed.append(pid)
        time.sleep(0.05)
    # A keeper that had not recorded itself yet, and whatever it started: every process of
    # the watcher module naming this state dir, keepers first, until none is left.
    from helpers.proc_tools import processes_mentioning

    token = str(state_dir.absolute()).encode()
    for _ in range(50):
        procs = []
        for pid in processes_mentioning(state_dir):
            with contextlib.suppress(OSError):
                raw = Path(f"/proc/{pid}/cmdline").read_bytes()
                if b"ovnguard.guard.watcher" in raw and token in raw:
                    procs.append((b"--keeper" not in raw, pid))
        if not procs:
            break
        for _, pid in sorted(procs):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
        time.sleep(0.05)
    return killed


def kill_ours(pid: int | None, guard_dir: Path) -> bool:
    """SIGKILL `pid` if it runs with `guard_dir` on its command line (a watcher or keeper of
    that guard, not a recycled pid)."""
    try:
        if pid and is_alive(pid) and str(guard_dir).encode() in Path(
                f"/proc/{pid}/cmdline").read_bytes():
            os.kill(pid, signal.SIGKILL)
            return True
    except OSError:
        pass
    return False


def keeper_pid(genv: GuardEnv, timeout: float = 10.0) -> int:
    """The guard's keeper, once it has recorded itself (it is started without waiting)."""
    deadline = time.monotonic() + timeout
    while (k := genv.state().get("keeper")) is None:
        assert time.monotonic() < deadline, f"no keeper recorded:\n{genv.log()}"
        time.sleep(0.02)
    return int(k["pid"])


def cli_subprocess(args: list[str]) -> subprocess.Popen[bytes]:
    """The guard CLI in its own process (to kill -9 it)."""
    tests = str(Path(__file__).resolve().parents[1])
    code = (f"import sys; sys.path.insert(0, {tests!r}); "
            "from helpers.guard_tools import cli; cli()()")
    return subprocess.Popen([sys.executable, "-c", code, *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
