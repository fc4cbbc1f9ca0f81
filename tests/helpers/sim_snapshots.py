"""Build `Snapshot`s for the simulation tests from real databases.

NB is written with ovn-nbctl, SB is filled by a real ovn-northd (plus `ovn-sbctl
chassis-add` for the chassis, as ovn-controller would register them), and each host's
Open_vSwitch DB is written with ovs-vsctl. Files are read back with the production reader.
A `Cluster` keeps the servers running, so a test can take a "before" snapshot, run the
change's commands, and take an "after" one.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path
from types import TracebackType

from helpers.real_db import RealDb
from ovnguard.model.snapshot import HostState, Snapshot
from ovnguard.sources.bundle import read_conf_db
from ovnguard.sources.ovsdb_file import read_database


class _Db(RealDb):
    """RealDb whose commands retry while the server's socket exists but is not listening
    yet (RealDb waits for the socket file only: bind() happens before listen())."""

    def run(self, line: str | list[str]) -> str:
        for attempt in range(200):
            try:
                return super().run(line)
            except RuntimeError as e:
                if "Connection refused" not in str(e) or attempt == 199:
                    raise
                time.sleep(0.01)
        raise AssertionError("unreachable")


def host_setup(system_id: str, hostname: str, mappings: str | None, ip: str,
               bridges: tuple[str, ...] = ("br-ex",)) -> list[str]:
    """ovs-vsctl lines that make a chassis the way ovn_attach / a deployment would."""
    ext = [f"external_ids:system-id={system_id}", f"external_ids:hostname={hostname}",
           "external_ids:ovn-encap-type=geneve", f"external_ids:ovn-encap-ip={ip}",
           "external_ids:ovn-remote=unix:/nonexistent/sb.sock"]
    if mappings is not None:
        ext.append(f'external_ids:ovn-bridge-mappings="{mappings}"')
    cmds = ["set open_vswitch . " + " ".join(ext),
            "add-br br-int -- set bridge br-int fail_mode=secure"]
    cmds += [f"add-br {b}" for b in bridges]
    return cmds


def vif(name: str, lsp: str, bridge: str = "br-int") -> str:
    return f"add-port {bridge} {name} -- set interface {name} external_ids:iface-id={lsp}"


class Cluster:
    """NB + SB (+ ovn-northd) + one Open_vSwitch ovsdb-server per host, in `tmp`."""

    def __init__(self, tmp: Path, hosts: dict[str, list[str]], northd: bool = True,
                 sb: tuple[str, ...] = ()) -> None:
        self.tmp = tmp
        self.sb_cmds = sb
        self.host_cmds = hosts
        self.use_northd = northd
        self.nb = _Db(tmp / "nb.db", "nb")
        self.sb = _Db(tmp / "sb.db", "sb")
        self.hosts: dict[str, _Db] = {}
        for h in hosts:
            (tmp / "hosts" / h).mkdir(parents=True, exist_ok=True)
            self.hosts[h] = _Db(tmp / "hosts" / h / "live.db", "vswitch")
        self.northd: subprocess.Popen[bytes] | None = None
        self._n = 0

    def __enter__(self) -> Cluster:
        try:
            self.nb.__enter__()
            self.sb.__enter__()
            for c in self.sb_cmds:
                self.sb.run(c)
            for h, db in self.hosts.items():
                db.__enter__()
                for c in self.host_cmds[h]:
                    db.run(c)
            if self.use_northd:
                rundir = self.tmp / "northd"
                rundir.mkdir(exist_ok=True)
                env = dict(os.environ, OVN_RUNDIR=str(rundir), OVS_RUNDIR=str(rundir))
                self.northd = subprocess.Popen(
                    ["ovn-northd", f"--ovnnb-db=unix:{self.nb.sock}",
                     f"--ovnsb-db=unix:{self.sb.sock}", f"--pidfile={rundir}/northd.pid",
                     f"--log-file={rundir}/northd.log", f"--unixctl={rundir}/northd.ctl"],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def nbctl(self, *lines: str) -> None:
        for line in lines:
            self.nb.run(line)

    def sbctl(self, *lines: str) -> None:
        for line in lines:
            self.sb.run(line)

    def vsctl(self, host: str, *lines: str) -> None:
        for line in lines:
            self.hosts[host].run(line)

    def materialize(self, host: str, ports: object, key: str = "ovn-localnet-port") -> None:
        """Create patch ports the way ovn-controller's create_patch_port() does (Port
        external_ids:<key>=<lport>, Interface type=patch options:peer=<other end>), so a
        "before" snapshot holds what a running ovn-controller would already have made."""
        from ovnguard.simulation.types import PatchPort

        assert isinstance(ports, (set, frozenset, list, tuple))
        by_lport: dict[str, list[PatchPort]] = {}
        for p in ports:
            assert isinstance(p, PatchPort)
            by_lport.setdefault(p.lport, []).append(p)
        for lport, pair in by_lport.items():
            assert len(pair) == 2, pair
            for me, other in ((pair[0], pair[1]), (pair[1], pair[0])):
                self.vsctl(host, f"add-port {me.bridge} {me.port} -- set interface {me.port} "
                                 f"type=patch options:peer={other.port} -- set port {me.port} "
                                 f"external_ids:{key}={lport}")

    def sync(self) -> None:
        """Wait until ovn-northd has caught up with NB (`ovn-nbctl --wait=sb sync`)."""
        if self.northd is not None:
            self.nb.run(["--wait=sb", "--timeout=20", "sync"])

    def northd_log(self) -> str:
        p = self.tmp / "northd" / "northd.log"
        return p.read_text() if p.exists() else ""

    def snapshot(self, tag: str | None = None) -> Snapshot:
        """Back every database up (`ovsdb-client backup`) into a bundle dir and read it."""
        self.sync()
        self._n += 1
        d = self.tmp / f"bundle-{tag or self._n}"
        (d / "hosts").mkdir(parents=True, exist_ok=True)
        nb = read_database(self.nb.backup(d / "nb.db"))
        sb = read_database(self.sb.backup(d / "sb.db"))
        hosts = {}
        for h, db in self.hosts.items():
            (d / "hosts" / h).mkdir(exist_ok=True)
            ovs = read_conf_db(db.backup(d / "hosts" / h / "conf.db"))
            hosts[h] = HostState(h, ovs=ovs, files={"conf.db": ovs.source})
        return Snapshot(nb, sb, hosts, source=str(d))

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self.northd is not None:
            self.northd.send_signal(signal.SIGTERM)
            try:
                self.northd.wait(5)
            except subprocess.TimeoutExpired:
                self.northd.kill()
                self.northd.wait()
            self.northd = None
        for db in (*self.hosts.values(), self.sb, self.nb):
            if db.proc is not None:
                db.__exit__(None, None, None)
                db.proc = None


def wait_for(pred: object, timeout: float = 5.0) -> None:
    assert callable(pred)
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not reached")
        time.sleep(0.01)


THREE_HOSTS = ("compute1", "compute2", "compute3")


def three_chassis(tmp: Path) -> Cluster:
    """compute1-3 as chassis ch1-3 (physnet1 on br-ex, encap 10.0.0.1-3), registered in SB:
    the cluster the incremental-realization tests change step by step."""
    hosts = {h: host_setup(f"ch{i}", h, "physnet1:br-ex", f"10.0.0.{i}")
             for i, h in enumerate(THREE_HOSTS, start=1)}
    sb = []
    for i, h in enumerate(THREE_HOSTS, start=1):
        sb += [f"chassis-add ch{i} geneve 10.0.0.{i}", f"set chassis ch{i} hostname={h}"]
    return Cluster(tmp, hosts, sb=tuple(sb))
