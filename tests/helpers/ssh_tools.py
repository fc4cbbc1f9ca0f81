"""Helpers: hosts made of network namespaces, each running a real OpenSSH `sshd` on its own
address, and a real `ovsdb-server` with an Open_vSwitch database per host.

The fixtures using them are in ssh_fixtures.py (a pytest plugin, not a conftest.py: tests/lab
imports `conftest` by name).

Layout (every address exists only inside namespaces made here):

    ovgc-<id>-lan   bridge br0 10.77.0.1/24      <- the collector runs here
      |-- v<i> --veth-- eth0 10.77.0.<10+i>/24 in ovgc-<id>-<host>  (sshd :22)

Host kinds: "ok" (sshd, wrapper logging each command), "down" (address, no sshd),
"hang" (sshd whose ForceCommand sleeps), "unknown-key" (sshd, but its key is not in
known_hosts).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from helpers.real_db import RealDb
from ovnguard.lab import netns

SSHD = "/usr/sbin/sshd"
CLIRUN = Path(__file__).with_name("cli_run.py")
PREFIX = "ovgc-"

# A ForceCommand wrapper: logs when each command of a connection starts and ends (to
# measure concurrency from the server side), then runs what the client asked for.
WRAPPER = """#!/bin/sh
port=$(echo "$SSH_CONNECTION" | cut -d' ' -f2)
echo "$(date +%s.%N) start {host} $port" >> {log}
sleep {delay}
sh -c "$SSH_ORIGINAL_COMMAND"
rc=$?
echo "$(date +%s.%N) end {host} $port" >> {log}
exit $rc
"""


def require_sshd() -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root (network namespaces, sshd)")
    missing = [b for b in (SSHD, "ssh-keygen", "ovsdb-server", "ovs-vsctl")
               if shutil.which(b) is None and not Path(b).exists()]
    if missing:
        pytest.skip(f"needs {', '.join(missing)} (Debian openssh-server, openvswitch-switch)")


@dataclass
class Keys:
    dir: Path
    client: Path  # private key; .pub beside it
    host: Path  # sshd host key


def make_keys(d: Path) -> Keys:
    d.mkdir(parents=True, exist_ok=True)
    client, host = d / "id_ed25519", d / "host_ed25519"
    for k in (client, host):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(k)],
                       check=True, timeout=30)
    (d / "authorized_keys").write_text(Path(str(client) + ".pub").read_text())
    return Keys(d, client, host)


def known_hosts_line(address: str, host_key: Path) -> str:
    kind, blob = Path(str(host_key) + ".pub").read_text().split()[:2]
    return f"{address} {kind} {blob}\n"


@dataclass
class NsHost:
    name: str
    ns: str
    address: str
    kind: str
    ovs_sock: Path | None = None
    proc: subprocess.Popen[bytes] | None = None


@dataclass
class SshCluster:
    id: str
    lan: str
    dir: Path
    keys: Keys
    hosts: list[NsHost]
    known_hosts: Path
    log: Path
    nb_sock: Path | None = None
    dbs: list[RealDb] = field(default_factory=list)

    def host(self, name: str) -> NsHost:
        return next(h for h in self.hosts if h.name == name)

    def run_cli(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """`ovnguard ARGS` run inside the LAN namespace (where 10.77.0.0/24 is)."""
        return subprocess.run(
            ["ip", "netns", "exec", self.lan, sys.executable, str(CLIRUN), *args],
            capture_output=True, text=True, timeout=timeout,
        )

    def ssh_args(self) -> list[str]:
        return ["--identity", str(self.keys.client), "--known-hosts", str(self.known_hosts),
                "--user", "root"]


def _sshd_config(d: Path, h: NsHost, keys: Keys, force: str | None) -> Path:
    cfg = d / f"sshd-{h.name}.conf"
    lines = [
        f"ListenAddress {h.address}",
        "Port 22",
        f"HostKey {keys.host}",
        f"PidFile {d / f'sshd-{h.name}.pid'}",
        f"AuthorizedKeysFile {keys.dir / 'authorized_keys'}",
        # tmp_path lives under /tmp (world-writable): StrictModes would refuse the keys
        "StrictModes no",
        "UsePAM no",
        "PermitRootLogin prohibit-password",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "MaxSessions 32",
        "MaxStartups 200:30:400",
        "PrintMotd no",
        "LogLevel INFO",
    ]
    if force:
        lines.append(f"ForceCommand {force}")
    cfg.write_text("\n".join(lines) + "\n")
    return cfg


def start_sshd(ns: str | None, cfg: Path, what: str) -> subprocess.Popen[bytes]:
    """sshd -D -e in namespace `ns` (None: this one); returns once it listens."""
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # privilege separation dir
    argv = [SSHD, "-D", "-e", "-f", str(cfg)]
    if ns:
        argv = ["ip", "netns", "exec", ns, *argv]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert proc.stderr is not None
    os.set_blocking(proc.stderr.fileno(), False)
    buf = b""
    deadline = time.monotonic() + 10
    while b"Server listening" not in buf:
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"sshd for {what} did not start: {buf.decode(errors='replace')}")
        with contextlib.suppress(BlockingIOError, TypeError):
            chunk = proc.stderr.read()
            if chunk:
                buf += chunk
        time.sleep(0.01)
    return proc


def stop(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def build_cluster(d: Path, kinds: dict[str, str], delay: float = 0.0) -> SshCluster:
    """Namespaces + sshd + ovsdb-server per host (see module doc). Call `teardown` after."""
    cid = secrets.token_hex(3)
    lan = f"{PREFIX}{cid}-lan"
    keys = make_keys(d / "keys")
    log = d / "commands.log"
    log.touch()
    cluster = SshCluster(cid, lan, d, keys, [], d / "known_hosts", log)
    try:
        netns.add(lan)
        netns.add_bridge(lan, "br0")
        netns.ip(lan, "addr", "add", "10.77.0.1/24", "dev", "br0")
        kh = []
        for i, (name, kind) in enumerate(kinds.items(), start=1):
            h = NsHost(name, f"{PREFIX}{cid}-{name}", f"10.77.0.{10 + i}", kind)
            cluster.hosts.append(h)
            netns.add(h.ns)
            netns.add_veth(lan, f"v{i}", h.ns, "eth0")
            netns.set_master(lan, f"v{i}", "br0")
            netns.set_up(lan, f"v{i}")
            netns.ip(h.ns, "addr", "add", f"{h.address}/24", "dev", "eth0")
            netns.set_up(h.ns, "eth0")
            netns.ip(h.ns, "route", "add", "default", "via", "10.77.0.1")
            if kind != "unknown-key":
                kh.append(known_hosts_line(h.address, keys.host))
            if kind in ("ok", "hang", "unknown-key"):
                hd = d / "hosts" / name
                hd.mkdir(parents=True)
                db = RealDb(hd / "conf.db", "vswitch")
                db.__enter__()
                cluster.dbs.append(db)
                db.run(["set", "Open_vSwitch", ".", f"external_ids:hostname={name}",
                        f"external_ids:system-id=chassis-{name}",
                        "external_ids:ovn-bridge-mappings=physnet1:br-ex"])
                db.run(["add-br", "br-ex", "--", "add-br", "br-int"])
                h.ovs_sock = db.sock
                if kind == "hang":
                    force = "sleep 60"
                else:
                    wrapper = d / f"wrapper-{name}.sh"
                    wrapper.write_text(WRAPPER.format(host=name, log=log, delay=delay))
                    wrapper.chmod(0o755)
                    force = str(wrapper)
                h.proc = start_sshd(h.ns, _sshd_config(d, h, keys, force), name)
        cluster.known_hosts.write_text("".join(kh))
    except BaseException:
        teardown(cluster)
        raise
    return cluster


def teardown(cluster: SshCluster) -> None:
    for h in cluster.hosts:
        stop(h.proc)
    for h in cluster.hosts:
        if netns.exists(h.ns):
            netns.delete(h.ns)
    if netns.exists(cluster.lan):
        netns.delete(cluster.lan)
    for db in cluster.dbs:
        db.__exit__(None, None, None)


def write_inventory(cluster: SshCluster, path: Path, extra: dict[str, str] | None = None
                    ) -> Path:
    lines = ["hosts:"]
    for h in cluster.hosts:
        lines.append(f"  {h.name}:")
        lines.append(f"    address: {h.address}")
        if h.ovs_sock is not None:
            lines.append(f"    ovs: unix:{h.ovs_sock}")
        for line in (extra or {}).get(h.name, "").splitlines():
            lines.append(f"    {line}")
    path.write_text("\n".join(lines) + "\n")
    return path
