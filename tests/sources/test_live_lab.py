"""`collect` / `check --live` against real daemons: a lab chassis collected equals what the
lab exports; the live Snapshot equals the one `load_bundle` reads from the written bundle;
nothing is ever written to a database; an ssl: remote with a test CA."""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from helpers.real_db import RealDb
from ovnguard.lab import Lab, seed_topology
from ovnguard.lab.export import export_bundle
from ovnguard.model.db import Database
from ovnguard.model.host import bridges_of
from ovnguard.model.mesh import with_tunnel_mesh
from ovnguard.sources.bundle import NB_KEEP, OVS_KEEP, SB_KEEP, load_bundle, read_db_file
from ovnguard.sources.collected import to_snapshot, write_bundle
from ovnguard.sources.live import LocalOptions, collect_local
from ovnguard.sources.ovsdb_file import parse_database, read_database

CLIRUN = Path(__file__).resolve().parents[1] / "helpers" / "cli_run.py"
NEEDED = ("ovsdb-server", "ovsdb-client", "ovs-vswitchd", "ovn-northd", "ovn-controller",
          "ovn-nbctl", "openssl")

pytestmark = pytest.mark.lab


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(CLIRUN), *args], capture_output=True,
                          text=True, timeout=120, cwd=cwd)


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    missing = [b for b in NEEDED if shutil.which(b) is None]
    if missing:
        pytest.skip(f"needs {', '.join(missing)}")
    lab = Lab.up(seed_topology(3), tmp_path_factory.mktemp("live") / "lab")
    try:
        yield lab
    finally:
        lab.down()


def same(a: Database | None, b: Database | None) -> bool:
    assert a is not None and b is not None
    return a.schema == b.schema and a.tables == b.tables


def test_collect_from_a_lab_chassis_equals_the_lab_export(lab: Lab, tmp_path: Path) -> None:
    exported = export_bundle(lab, tmp_path / "export")
    out = tmp_path / "collected"
    p = cli("collect", "--out", str(out), "--ovs", lab.host_paths("compute1").ovsdb.remote,
            "--nb", lab.nb_remote, "--sb", lab.sb_remote)
    assert p.returncode == 0, p.stderr
    # the host directory is named as ovn-controller registered it (external_ids:hostname)
    assert [d.name for d in (out / "hosts").iterdir()] == ["compute1"]
    for rel, name, keep in (("nb.db", "OVN_Northbound", NB_KEEP),
                            ("sb.db", "OVN_Southbound", SB_KEEP),
                            ("hosts/compute1/conf.db", "Open_vSwitch", OVS_KEEP)):
        # both are real `ovsdb-client backup` files; only the record date differs
        assert same(read_db_file(exported / rel, name, keep), read_db_file(out / rel, name, keep))
        assert (out / rel).read_bytes().startswith(b"OVSDB JSON ")
    a, b = load_bundle(exported), load_bundle(out)
    assert same(a.nb, b.nb) and same(a.sb, b.sb)
    assert same(a.hosts["compute1"].ovs, b.hosts["compute1"].ovs)
    # the collected host is matched to its chassis like the exported one
    assert not [n for n in b.notes if "compute1 matches no SB Chassis" in n]
    # addresses are this machine's (a lab chassis has no kernel of its own), in ip -j shape
    me = json.loads(subprocess.run(["ip", "-j", "addr", "show"], capture_output=True,
                                   check=True).stdout)
    assert {a.address for a in b.hosts["compute1"].addresses or ()} == {
        i["local"] for e in me for i in e["addr_info"]}


def test_live_snapshot_is_the_snapshot_of_the_written_bundle(lab: Lab, tmp_path: Path) -> None:
    collection = collect_local(LocalOptions(
        nb=lab.nb_remote, sb=lab.sb_remote, ovs=lab.host_paths("network").ovsdb.remote),
        need_nb=True)
    live = to_snapshot(collection)
    write_bundle(collection, tmp_path / "b")
    disk = load_bundle(tmp_path / "b")
    assert same(live.nb, disk.nb) and same(live.sb, disk.sb)
    # the chassis not collected are hosts predicted from SB alone, on both paths
    assert set(live.hosts) == set(disk.hosts) == {"compute1", "controller", "network"}
    assert [h for h, s in live.hosts.items() if s.ovs is not None] == ["network"]
    assert [h for h, s in disk.hosts.items() if s.ovs is not None] == ["network"]
    lh, dh = live.hosts["network"], disk.hosts["network"]
    # both hold conf.db without ovn-controller's tunnel ports (model/mesh.py); put back -- from
    # the file, from the bytes collected -- they are the same rows again
    assert dh.ovs is not None and dh.ovs.elided is not None
    assert lh.ovs is not None and lh.ovs.elided is not None and lh.ovs.elided.raw
    assert same(lh.ovs, dh.ovs)
    assert same(with_tunnel_mesh(lh.ovs, parse_database(lh.ovs.elided.raw, "live")),
                with_tunnel_mesh(dh.ovs, read_database(dh.ovs.source)))
    assert bridges_of(lh.ovs) == bridges_of(dh.ovs)  # type: ignore[arg-type]
    assert (lh.addresses, lh.routes, lh.links, dict(lh.neutron)) == (
        dh.addresses, dh.routes, dh.links, dict(dh.neutron))
    # evidence names where each part came from
    assert lh.files["conf.db"] == f"network:{lab.host_paths('network').ovsdb.remote}"
    # `check --live` runs the same pipeline and says what it could not see
    p = cli("check", "--live", "--nb", lab.nb_remote, "--sb", lab.sb_remote, "--ovs",
            lab.host_paths("network").ovsdb.remote, "--format", "json")
    assert p.returncode in (0, 1), p.stderr
    report = json.loads(p.stdout)
    assert report["bundle"] == "live"
    assert "network" in report["topology"]
    assert any("SB Chassis compute1" in n and "predicted from SB alone" in n
               for n in report["notes"])


def test_collect_and_live_check_never_write_a_database(tmp_path: Path) -> None:
    if shutil.which("ovsdb-server") is None:
        pytest.skip("needs openvswitch-switch")
    with RealDb(_dir(tmp_path / "nb") / "nb.db", "nb") as nb, \
            RealDb(_dir(tmp_path / "ovs") / "conf.db", "vswitch") as ovs:
        ovs.run(["set", "Open_vSwitch", ".", "external_ids:hostname=h1"])
        nb.run("ls-add sw0")
        time.sleep(0.05)
        before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in (nb.path, ovs.path)}
        for args in (("collect", "--out", str(tmp_path / "b")),
                     ("check", "--live", "--format", "json")):
            p = cli(*args, "--nb", f"unix:{nb.sock}", "--ovs", f"unix:{ovs.sock}")
            assert p.returncode in (0, 1), p.stderr
        after = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in (nb.path, ovs.path)}
        assert after == before
    assert (tmp_path / "b" / "hosts" / "h1" / "conf.db").is_file()


def _dir(p: Path) -> Path:
    p.mkdir(parents=True, exist_ok=True)
    return p


@dataclass
class SslServer:
    port: int
    dir: Path


def _ca(d: Path) -> None:
    def ossl(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=d, timeout=60)

    ossl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out",
         "ca.pem", "-days", "2", "-subj", "/CN=ovnguard test CA")
    for n in ("server", "client"):
        ossl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{n}.key", "-out",
             f"{n}.csr", "-subj", f"/CN={n}")
        ossl("x509", "-req", "-in", f"{n}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
             "-CAcreateserial", "-out", f"{n}.pem", "-days", "2")
    ossl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "other.key", "-out",
         "other.pem", "-days", "2", "-subj", "/CN=another CA")


@pytest.fixture
def ssl_nb(tmp_path: Path) -> Iterator[SslServer]:
    if shutil.which("openssl") is None or shutil.which("ovsdb-server") is None:
        pytest.skip("needs openssl and openvswitch-switch")
    d = _dir(tmp_path / "ssl")
    _ca(d)
    subprocess.run(["ovsdb-tool", "create", str(d / "nb.db"),
                    "/usr/share/ovn/ovn-nb.ovsschema"], check=True)
    log = d / "ovsdb-server.log"
    proc = subprocess.Popen(
        ["ovsdb-server", str(d / "nb.db"), "--remote=pssl:0:127.0.0.1",
         f"--remote=punix:{d / 'nb.sock'}", f"--private-key={d / 'server.key'}",
         f"--certificate={d / 'server.pem'}", f"--ca-cert={d / 'ca.pem'}",
         f"--unixctl={d / 'ctl'}", f"--log-file={log}", "-vconsole:off"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        port = None
        while port is None:
            assert proc.poll() is None and time.monotonic() < deadline, "ovsdb-server failed"
            m = re.search(r"listening on port (\d+)", log.read_text() if log.exists() else "")
            port = int(m.group(1)) if m else None
            time.sleep(0.01)
        subprocess.run(["ovn-nbctl", f"--db=unix:{d / 'nb.sock'}", "ls-add", "over-ssl"],
                       check=True, capture_output=True, timeout=30)
        yield SslServer(port, d)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)


def test_ssl_remote_with_test_ca(ssl_nb: SslServer, tmp_path: Path) -> None:
    d = ssl_nb.dir
    remote = f"ssl:127.0.0.1:{ssl_nb.port}"
    out = tmp_path / "b"
    p = cli("collect", "--out", str(out), "--no-host", "--nb", remote, "-p",
            str(d / "client.key"), "-c", str(d / "client.pem"), "-C", str(d / "ca.pem"))
    assert p.returncode == 0, p.stderr
    nb = read_db_file(out / "nb.db", "OVN_Northbound", NB_KEEP)
    assert [r.get("name") for r in nb.rows("Logical_Switch")] == ["over-ssl"]
    # the server's certificate is not signed by this CA: refused, one line, exit 2
    p = cli("collect", "--out", str(tmp_path / "c"), "--no-host", "--nb", remote, "-p",
            str(d / "client.key"), "-c", str(d / "client.pem"), "-C", str(d / "other.pem"),
            "--timeout", "3")
    assert p.returncode == 2
    assert p.stderr.startswith(f"ovnguard: error: {remote}: ovsdb-client backup "
                               "OVN_Northbound failed"), p.stderr
    assert len(p.stderr.strip().splitlines()) == 1
    # ssl: without the files is a usage error naming what is missing
    p = cli("check", "--live", "--nb", remote)
    assert p.returncode == 2
    assert "-p/--private-key, -c/--certificate, -C/--ca-cert" in p.stderr
    assert not (tmp_path / "c" / "nb.db").exists()
