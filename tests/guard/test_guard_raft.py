"""The guard on a clustered NB (3-server raft, as OpenStack and MicroOVN deploy it): the NB
leader dies mid-guard, and the rollback still lands, on the new leader, exactly.

The guard is given every server (`--nb unix:s1,unix:s2,unix:s3`, as ovn-nbctl takes them);
the real ovsdb-client and ovn-nbctl find the leader. Between leaders every server answers
"no servers were available" for about the election timer (1 s): the guard retries, as for
a restarting server.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from helpers.guard_tools import NEEDED, cli, nb_rows, stop_watchers
from helpers.proc_tools import processes_mentioning
from ovnguard.lab.process import clean_env, is_alive, read_pidfile

pytest_plugins = ("helpers.guard_fixtures",)

pytestmark = [pytest.mark.lab, pytest.mark.timeout(90)]

NB_SCHEMA = "/usr/share/ovn/ovn-nb.ovsschema"


@dataclass
class Cluster:
    dir: Path
    n: int = 3

    def sock(self, i: int) -> str:
        return f"unix:{self.dir}/s{i}.sock"

    @property
    def remote(self) -> str:
        return ",".join(self.sock(i) for i in range(1, self.n + 1))

    def pid(self, i: int) -> int | None:
        return read_pidfile(self.dir / f"s{i}.pid")

    def start(self, i: int) -> None:
        subprocess.run(
            ["ovsdb-server", "--detach", "--no-chdir", f"--pidfile={self.dir}/s{i}.pid",
             f"--log-file={self.dir}/s{i}.log", f"--unixctl={self.dir}/s{i}.ctl",
             f"--remote=punix:{self.dir}/s{i}.sock", f"{self.dir}/s{i}.db"],
            check=True, env=clean_env(), capture_output=True, timeout=20)

    def role(self, i: int) -> str | None:
        p = subprocess.run(["ovs-appctl", "-t", f"{self.dir}/s{i}.ctl", "cluster/status",
                            "OVN_Northbound"], capture_output=True, text=True, timeout=5,
                           env=clean_env())
        for line in p.stdout.splitlines():
            if line.startswith("Role:"):
                return line.split(":", 1)[1].strip()
        return None

    def leader(self) -> int | None:
        return next((i for i in range(1, self.n + 1) if self.role(i) == "leader"), None)

    def nbctl(self, *args: str) -> str:
        return subprocess.run(["ovn-nbctl", f"--db={self.remote}", "--timeout=10", *args],
                              check=True, capture_output=True, text=True, env=clean_env(),
                              timeout=20).stdout


@pytest.fixture
def cluster(tmp_path: Path, wait_for: Callable[..., bool]) -> Iterator[Cluster]:
    missing = [b for b in (*NEEDED, "ovs-appctl") if not __import__("shutil").which(b)]
    if missing or not Path(NB_SCHEMA).exists():
        pytest.skip(f"needs the OVS/OVN Debian packages ({', '.join(missing) or NB_SCHEMA})")
    c = Cluster(tmp_path / "raft")
    c.dir.mkdir()
    try:
        subprocess.run(["ovsdb-tool", "create-cluster", f"{c.dir}/s1.db", NB_SCHEMA,
                        f"unix:{c.dir}/r1.raft"], check=True, capture_output=True, timeout=20)
        c.start(1)
        for i in range(2, c.n + 1):
            subprocess.run(["ovsdb-tool", "join-cluster", f"{c.dir}/s{i}.db", "OVN_Northbound",
                            f"unix:{c.dir}/r{i}.raft", f"unix:{c.dir}/r1.raft"], check=True,
                           capture_output=True, timeout=20)
            c.start(i)
        assert wait_for(lambda: all(c.role(i) in ("leader", "follower")
                                    for i in range(1, c.n + 1)), timeout=20)
        yield c
    finally:
        stop_watchers(tmp_path / "state")
        for i in range(1, c.n + 1):
            pid = c.pid(i)
            if pid and is_alive(pid):
                os.kill(pid, signal.SIGKILL)
    assert wait_for(lambda: processes_mentioning(tmp_path) == [], timeout=5), \
        processes_mentioning(tmp_path)


CHANGE = """ovn-nbctl ls-add sw-new
ovn-nbctl lsp-add sw0 p-new
ovn-nbctl lsp-set-addresses p-new "00:00:00:00:00:0a 10.0.0.10"
ovn-nbctl set Logical_Switch sw0 other_config:subnet=10.0.0.0/24
"""


def _apply(cluster: Cluster, tmp_path: Path, *extra: str) -> dict[str, object]:
    change = tmp_path / "c.sh"
    change.write_text(CHANGE)
    res = CliRunner().invoke(cli(), [
        "apply", "--change", str(change), "--nb", cluster.remote, "--state-dir",
        str(tmp_path / "state"), "--probe", "none", "--verify-timeout", "1", *extra])
    assert res.exit_code == 0, res.output
    return _state(tmp_path)


def _state(tmp_path: Path) -> dict[str, object]:
    [g] = [p for p in (tmp_path / "state").iterdir() if (p / "guard.json").exists()]
    doc: dict[str, object] = json.loads((g / "guard.json").read_text())
    return doc


def _log(tmp_path: Path) -> str:
    [g] = [p for p in (tmp_path / "state").iterdir() if (p / "guard.json").exists()]
    return (g / "watcher.log").read_text()


@pytest.mark.parametrize("when", ["armed", "rollback"])
def test_nb_leader_killed_mid_guard_rollback_lands_on_the_new_leader(
    cluster: Cluster, tmp_path: Path, wait_for: Callable[..., bool],
    monkeypatch: pytest.MonkeyPatch, when: str,
) -> None:
    cluster.nbctl("ls-add", "sw0")
    cluster.nbctl("lsp-add", "sw0", "p-old")
    before = nb_rows(cluster.remote)
    if when == "rollback":
        # Stop the watcher right as it starts rolling back, kill the leader then.
        monkeypatch.setenv("OVNGUARD_GUARD_PAUSE", "rollback-started:0.5")
    doc = _apply(cluster, tmp_path, "--confirm-within", "2")
    assert doc["status"] == "armed"
    assert "p-new" in cluster.nbctl("--bare", "--columns=name", "list", "Logical_Switch_Port")
    leader = cluster.leader()
    assert leader is not None
    if when == "rollback":
        assert wait_for(lambda: "fault point rollback-started" in _log(tmp_path), timeout=10)
    pid = cluster.pid(leader)
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    killed = time.time()
    assert wait_for(lambda: _state(tmp_path)["status"] not in ("armed", "rolling-back"),
                    timeout=30), _log(tmp_path)
    doc = _state(tmp_path)
    assert doc["status"] == "rolled-back", _log(tmp_path)
    rb = doc["rollback"]
    assert isinstance(rb, dict) and rb["verification"]["rows_ok"]
    new = cluster.leader()
    assert new is not None and new != leader
    assert nb_rows(cluster.remote) == before
    tl = doc["timeline"]
    assert isinstance(tl, dict)
    print(f"\nleader s{leader} killed; restored on s{new} "
          f"{tl['restored'] - killed:.3f}s later, after {rb['attempts']} attempt(s)")
    # The killed server comes back and catches up: the cluster agrees on the backup.
    cluster.start(leader)
    assert wait_for(lambda: cluster.role(leader) == "follower", timeout=20)
    assert wait_for(lambda: nb_rows(f"unix:{cluster.dir}/s{leader}.sock") == before,
                    timeout=20)
