"""`collect` from a lab chassis laid out as each deployment flavor (lab/flavor_root.py)
finds the sockets where that flavor keeps them, with no --ovs/--nb/--sb, says which flavor
it is, and what it collects equals what the lab exports."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ovnguard.lab import Lab, seed_topology
from ovnguard.lab.export import export_bundle
from ovnguard.lab.flavor_root import lay_out
from ovnguard.model.db import Database
from ovnguard.sources.bundle import NB_KEEP, OVS_KEEP, SB_KEEP, load_bundle, read_db_file
from ovnguard.sources.flavors import FLAVORS, bundle_deployments

CLIRUN = Path(__file__).resolve().parents[1] / "helpers" / "cli_run.py"
NEEDED = ("ovsdb-server", "ovsdb-client", "ovs-vswitchd", "ovn-northd", "ovn-controller")
OPENSTACK = {"kolla-ansible", "tripleo-edpm", "openstack-ansible", "charmed-openstack",
             "packages"}

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Lab, Path]]:
    missing = [b for b in NEEDED if shutil.which(b) is None]
    if missing:
        pytest.skip(f"needs {', '.join(missing)}")
    base = tmp_path_factory.mktemp("flv")
    lab = Lab.up(seed_topology(3), base / "lab")
    try:
        yield lab, export_bundle(lab, base / "export")
    finally:
        lab.down()


def same(a: Database | None, b: Database | None) -> bool:
    assert a is not None and b is not None
    return a.schema == b.schema and a.tables == b.tables


@pytest.mark.parametrize("fid", [f.id for f in FLAVORS])
def test_collect_from_a_flavor_laid_out_chassis_equals_the_export(
        lab: tuple[Lab, Path], tmp_path: Path, fid: str) -> None:
    the_lab, exported = lab
    root = lay_out(the_lab, "compute1", fid, tmp_path / "root", central=True)
    out = tmp_path / "b"
    p = subprocess.run([sys.executable, str(CLIRUN), "collect", "--root", str(root), "--out",
                        str(out)], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    # found where the flavor keeps them: the sources name the flavor's own paths
    for rel, name, keep in (("nb.db", "OVN_Northbound", NB_KEEP),
                            ("sb.db", "OVN_Southbound", SB_KEEP),
                            ("hosts/compute1/conf.db", "Open_vSwitch", OVS_KEEP)):
        assert same(read_db_file(exported / rel, name, keep),
                    read_db_file(out / rel, name, keep)), rel
    dets, notes = bundle_deployments(out)
    assert notes == []
    assert dets["compute1"].flavor == fid
    assert dets["compute1"].evidence
    b = load_bundle(out)
    assert not [n for n in b.notes if "deployment.json" in n]
    neutron = dict(b.hosts["compute1"].neutron)
    if fid in OPENSTACK:
        # Neutron's files are read where the flavor keeps them, put where Neutron reads them
        assert "neutron/neutron_ovn_metadata_agent.ini" in neutron, (fid, sorted(neutron))
        assert neutron["neutron/neutron_ovn_metadata_agent.ini"]["ovn"]["ovn_sb_connection"] \
            == the_lab.sb_remote
    else:
        assert neutron == {}
    doc = json.loads((out / "hosts/compute1/deployment.json").read_text())
    assert doc["flavor"] == fid


def test_a_socket_elsewhere_is_not_found_and_said(lab: tuple[Lab, Path], tmp_path: Path) -> None:
    # a MicroOVN root whose sockets are missing: the message names the snap's paths first
    the_lab, _ = lab
    root = lay_out(the_lab, "compute1", "microovn", tmp_path / "root")
    (root / "var/snap/microovn/common/run/switch/db.sock").unlink()
    p = subprocess.run([sys.executable, str(CLIRUN), "collect", "--root", str(root), "--out",
                        str(tmp_path / "b")], capture_output=True, text=True, timeout=60)
    assert p.returncode == 2
    assert ("this host not collected: no Open_vSwitch socket here (looked at "
            "/var/snap/microovn/common/run/switch/db.sock, /var/run/openvswitch/db.sock, ... "
            "for a microovn host)") in p.stderr
    assert "nb.db not collected: no --nb given (nor $OVN_NB_DB) and no OVN_Northbound socket " \
        "here (looked at " \
        "/var/snap/microovn/common/run/ovn/ovnnb_db.sock" in p.stderr


def _shape(bundle: Path) -> dict[str, object]:
    """What a fixture holds, without what differs between two labs (UUIDs, MACs, paths)."""
    snap = load_bundle(bundle)
    out: dict[str, object] = {
        "files": sorted(p.relative_to(bundle).as_posix() for p in bundle.rglob("*")
                        if p.is_file()),
    }
    for h, st in snap.hosts.items():
        assert st.ovs is not None
        out[h] = (st.deployment,
                  sorted((str(b.get("name")), len(b.set("ports"))) for b in st.ovs.rows("Bridge")),
                  {rel: {s: sorted(keys) for s, keys in sec.items()}
                   for rel, sec in st.neutron.items()},
                  json.loads((bundle / "hosts" / h / "deployment.json").read_text())["evidence"])
    return out


def test_the_committed_fixtures_are_what_make_py_makes(tmp_path: Path) -> None:
    if shutil.which("ovn-controller") is None:
        pytest.skip("needs ovn-host")
    fixtures = Path(__file__).resolve().parents[1] / "fixtures" / "flavors"
    p = subprocess.run([sys.executable, str(fixtures / "make.py"), str(tmp_path)],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    for f in FLAVORS:
        assert _shape(tmp_path / f.id) == _shape(fixtures / f.id), f.id
