"""sos reports read into the model: a sosreport-shaped fixture made of real files laid out at
the paths sos uses (the lab's own DB files, as ovsdb-server wrote them; `ip` text output of
a namespace), as directories and as a .tar.xz; what sos did not keep is named."""

from __future__ import annotations

import json
import secrets
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from ovnguard.errors import InputError
from ovnguard.lab import Lab, seed_topology
from ovnguard.lab.export import export_bundle
from ovnguard.model.db import Database
from ovnguard.model.mesh import with_tunnel_mesh
from ovnguard.sources.bundle import load_bundle
from ovnguard.sources.ovsdb_file import parse_database, read_database
from ovnguard.sources.sosreport import load_sosreports, sos_collection

CLIRUN = Path(__file__).resolve().parents[1] / "helpers" / "cli_run.py"
pytestmark = pytest.mark.lab

# sos's networking plugin, command -> file name (sos/report/plugins/__init__.py
# _mangle_command: runs of other characters -> "_", "/" -> ".")
NET_COMMANDS = {
    "ip -o addr": "ip_-o_addr",
    "ip route show table all": "ip_route_show_table_all",
    "ip -6 route show table all": "ip_-6_route_show_table_all",
    "ip -d address": "ip_-d_address",
    "ip -s -d link": "ip_-s_-d_link",
}


def same(a: Database | None, b: Database | None) -> bool:
    assert a is not None and b is not None
    return a.schema == b.schema and a.tables == b.tables


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    """(directory with three sos reports, the lab's exported bundle for comparison)."""
    if shutil.which("ovn-northd") is None:
        pytest.skip("needs the OVS/OVN Debian packages")
    d = tmp_path_factory.mktemp("sos")
    ns = f"ovgc-{secrets.token_hex(3)}-sos"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    lab = Lab.up(seed_topology(3), d / "lab")
    try:
        for cmd in (f"ip -n {ns} link set lo up",
                    f"ip -n {ns} link add br-ex type bridge",
                    f"ip -n {ns} link add enp6s18 type veth peer name peer0",
                    f"ip -n {ns} link set enp6s18 master br-ex",
                    f"ip -n {ns} link set enp6s18 up", f"ip -n {ns} link set br-ex up",
                    f"ip -n {ns} addr add 10.10.0.21/24 dev br-ex",
                    f"ip -n {ns} route add default via 10.10.0.254 dev br-ex"):
            subprocess.run(cmd.split(), check=True)
        net = {f: subprocess.run(["ip", "-n", ns, *c.split()[1:]], check=True,
                                 capture_output=True).stdout for c, f in NET_COMMANDS.items()}
        export_bundle(lab, d / "export")
        rd = lab.run_dir

        def report(name: str, files: dict[str, bytes | Path], symlinks: bool = True) -> Path:
            root = d / "reports" / f"sosreport-{name}-2025-11-25-abcdef"
            (root / "sos_commands" / "host").mkdir(parents=True)
            (root / "sos_commands" / "host" / "hostname").write_text(f"{name}\n")
            if symlinks:
                (root / "hostname").symlink_to("sos_commands/host/hostname")
            for rel, data in files.items():
                p = root / rel
                p.parent.mkdir(parents=True, exist_ok=True)
                p.write_bytes(data.read_bytes() if isinstance(data, Path) else data)
            return root

        networking = {f"sos_commands/networking/{f}": v for f, v in net.items()}
        # central node and chassis, Debian paths: raw DB files as ovsdb-server keeps them
        report("controller", {
            "var/lib/ovn/ovnnb_db.db": rd / "nb" / "ovnnb_db.db",
            "var/lib/ovn/ovnsb_db.db": rd / "sb" / "ovnsb_db.db",
            "etc/openvswitch/conf.db": rd / "hosts" / "controller" / "conf.db",
            **networking,
        })
        # compute1, RHEL path for conf.db, Neutron config; shipped as .tar.xz
        c1 = report("compute1", {
            "var/lib/openvswitch/conf.db": rd / "hosts" / "compute1" / "conf.db",
            "etc/neutron/plugins/ml2/ml2_conf.ini": b"[ml2]\nmechanism_drivers = ovn\n",
            **networking,
        })
        with tarfile.open(c1.parent / f"{c1.name}.tar.xz", "w:xz") as tar:
            tar.add(c1, arcname=c1.name)
        shutil.rmtree(c1)
        # network: conf.db over sos's --log-size (only its tail kept), no networking plugin
        report("network", {
            "sos_strings/openvswitch/etc.openvswitch.conf.db.tailed": b'{"_date":1}\n',
        })
        yield d / "reports", d / "export"
    finally:
        lab.down()
        subprocess.run(["ip", "netns", "del", ns], check=False)


def _reports(root: Path) -> list[Path]:
    return sorted(root.iterdir())


def test_sos_reports_give_the_lab_state_and_name_what_is_missing(
    made: tuple[Path, Path]
) -> None:
    reports, export = made
    snap = load_sosreports(_reports(reports))
    want = load_bundle(export)
    assert snap.nb.find("Logical_Switch", "neutron-5f1c9d2e-8a7b-4c3d-9e0f-1a2b3c4d5e6f")
    assert snap.sb is not None and len(list(snap.sb.rows("Chassis"))) == 3
    assert set(snap.hosts) == {"controller", "compute1", "network"}
    for h in ("controller", "compute1"):
        # both hold conf.db without ovn-controller's tunnel ports (model/mesh.py); put back
        # from the bundle's file and from the sos report's bytes, the same rows again
        bundled, sos = want.hosts[h].ovs, snap.hosts[h].ovs
        assert bundled is not None and sos is not None and sos.elided is not None
        assert sos.elided.raw  # the report's bytes, read again for a real tool
        assert same(sos, bundled)
        whole = read_database(bundled.source)
        assert same(with_tunnel_mesh(bundled, whole), whole)
        assert same(with_tunnel_mesh(sos, parse_database(sos.elided.raw, "sos")), whole)
        # text `ip` output of the namespace, parsed into the model
        addrs = {a.cidr for a in snap.hosts[h].addresses or ()}
        assert "10.10.0.21/24" in addrs
        kinds = {lk.ifname: lk.kind for lk in snap.hosts[h].links or ()}
        assert kinds["br-ex"] == "bridge" and kinds["enp6s18"] == "veth"
        assert any(r.dst == "default" and r.gateway == "10.10.0.254"
                   for r in snap.hosts[h].routes or ())
    assert snap.hosts["compute1"].neutron["neutron/plugins/ml2/ml2_conf.ini"] == {
        "ml2": {"mechanism_drivers": "ovn"}}
    net = snap.hosts["network"]
    assert (net.ovs, net.addresses, net.routes, net.links) == (None, None, None, None)
    notes = "\n".join(snap.notes)
    assert ("network: conf.db not collected (sos kept only the tail of "
            "/etc/openvswitch/conf.db") in notes
    assert "network: addr.json not collected (no `ip -o addr`" in notes
    assert "controller: no Neutron configuration collected (no /etc/neutron" in notes
    assert "nb.db" not in " ".join(n for n in snap.notes if "not in any report" in n)


# Raw server files carry `_is_diff` records where an optional column (max 1) is replaced,
# not toggled (ovsdb_datum_apply_diff_in_place); this held `up: [false, true]` once.
def test_raw_nb_sb_files_read_exactly_like_the_server_serves_them(
    made: tuple[Path, Path]
) -> None:
    reports, export = made
    snap = load_sosreports(_reports(reports))
    want = load_bundle(export)
    assert same(snap.nb, want.nb) and same(snap.sb, want.sb)


def test_check_sosreport_cli_reports_missing_parts(made: tuple[Path, Path]) -> None:
    reports, _ = made
    p = subprocess.run([sys.executable, str(CLIRUN), "check", "--sosreport",
                        *map(str, _reports(reports)), "--format", "json"],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode in (0, 1), p.stderr
    report = json.loads(p.stdout)
    assert report["bundle"].startswith("sosreport: ")
    assert any("sos kept only the tail" in n for n in report["notes"])
    # without the central node's report there is no NB: one line naming why
    only = [r for r in _reports(reports) if "controller" not in r.name]
    p = subprocess.run([sys.executable, str(CLIRUN), "check", "--sosreport", *map(str, only)],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 2
    assert "no OVN_Northbound database: nb.db not in any report" in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1


def test_clustered_nb_file_is_converted(made: tuple[Path, Path], tmp_path: Path) -> None:
    reports, export = made
    ctl = next(r for r in _reports(reports) if "controller" in r.name)
    copy = tmp_path / ctl.name
    shutil.copytree(ctl, copy, symlinks=True)
    nb = copy / "var/lib/ovn/ovnnb_db.db"
    nb.unlink()
    # what a RAFT member keeps on disk, made from the same contents
    subprocess.run(["ovsdb-tool", "create-cluster", str(nb), str(ctl / "var/lib/ovn/ovnnb_db.db"),
                    "tcp:127.0.0.1:6643"], check=True, capture_output=True)
    assert nb.read_bytes().startswith(b"OVSDB CLUSTER ")
    c = sos_collection([copy])
    assert any("clustered (raft) file" in p for p in c.problems)
    snap = load_sosreports([copy])
    assert same(snap.nb, load_bundle(export).nb)


def test_not_a_sos_report_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not a sos report directory"):
        load_sosreports([tmp_path])
    bad = tmp_path / "x.tar.xz"
    bad.write_bytes(b"no archive")
    with pytest.raises(InputError, match="not a readable sos archive"):
        load_sosreports([bad])
