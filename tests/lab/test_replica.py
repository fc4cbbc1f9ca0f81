"""A replica built from an exported bundle realizes what the original lab realized."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from helpers.lab_tools import Exported, export_lab
from helpers.proc_tools import processes_mentioning
from ovnguard.cli import app
from ovnguard.errors import InputError
from ovnguard.lab import Host, Lab, Topology, load_topology
from ovnguard.lab.replica import lab_from_bundle, plan_replica, start_replica
from ovnguard.lab.topology import validate_topology

# The bundle fixtures (seed_bundle, router_bundle, uuid_bundle, copy_bundle).
pytest_plugins = ("helpers.lab_fixtures",)

DATA = Path(__file__).parent / "rehearse" / "data"  # the rehearsal tests share it
GW_UUID = "3c1f2e4d-aaaa-4bbb-8ccc-0123456789ab"


def db_version(db: Path) -> str:
    """The schema version a database file was written with (`ovsdb-tool db-version`)."""
    return subprocess.run(["ovsdb-tool", "db-version", str(db)], capture_output=True,
                          text=True, check=True).stdout.strip()


def patch_ports(ports: dict[str, list[str]]) -> dict[str, list[str]]:
    return {b: [p for p in ps if p.startswith("patch-")] for b, ps in ports.items()}


def replica_ports(bundle: Path, run_dir: Path) -> dict[str, dict[str, list[str]]]:
    lab = lab_from_bundle(bundle, run_dir)
    try:
        assert lab.status().healthy
        return {h: lab.chassis_ports(h) for h in lab.host_names()}
    finally:
        lab.down()
        assert processes_mentioning(run_dir) == []


@pytest.mark.lab
@pytest.mark.parametrize("which", ["seed_bundle", "router_bundle"])
def test_replica_realizes_the_same_patch_ports(
    which: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    original: Exported = request.getfixturevalue(which)
    got = replica_ports(original.bundle, tmp_path / "replica")
    assert sorted(got) == sorted(original.ports)
    for host, ports in original.ports.items():
        assert patch_ports(got[host]) == patch_ports(ports), host
    # The VIFs, NICs and (same chassis names) tunnels come back too.
    assert got == original.ports
    # Something was realized at all, or the comparison proves nothing.
    assert any(patch_ports(p)["br-ex"] for p in got.values())


@pytest.mark.lab
def test_uuid_system_id_bonds_tags_and_hand_made_patches_are_replicated(
    tmp_path: Path,
) -> None:
    def prepare(lab: Lab) -> None:
        lab.vsctl(
            "gw",
            "add-port",
            "br-ex",
            "vlan10",
            "tag=10",
            "--",
            "set",
            "Interface",
            "vlan10",
            "type=internal",
        )
        lab.vsctl("gw", "add-bond", "br-ex", "bond0", "eth3", "eth4", "bond_mode=active-backup")
        lab.vsctl(
            "gw",
            "add-port",
            "br-ex",
            "patch-ex-pub",
            "--",
            "set",
            "Interface",
            "patch-ex-pub",
            "type=patch",
            "options:peer=patch-pub-ex",
            "--",
            "add-port",
            "br-public",
            "patch-pub-ex",
            "--",
            "set",
            "Interface",
            "patch-pub-ex",
            "type=patch",
            "options:peer=patch-ex-pub",
        )
        lab.vsctl(
            "gw",
            "add-port",
            "br-ex",
            "vx0",
            "--",
            "set",
            "Interface",
            "vx0",
            "type=vxlan",
            "options:remote_ip=192.0.2.1",
        )
        lab.vsctl("gw", "set-controller", "br-public", f"punix:{tmp_path / 'ctl.sock'}")

    original = export_lab(load_topology(DATA / "gateway-uuid.yaml"), tmp_path / "bundle", prepare)
    plan = plan_replica(original.bundle)
    gw = next(h for h in plan.hosts if h.name == "gw")
    assert gw.chassis == GW_UUID
    notes = " ".join(gw.notes)
    assert "vx0 (remote_ip 192.0.2.1)" in notes and "controller not replicated" in notes

    lab = start_replica(plan, tmp_path / "replica")
    try:
        assert lab.registered_chassis() == {GW_UUID, "compute1"}
        got = lab.chassis_ports("gw")
        want = {b: [p for p in ps if p != "vx0"] for b, ps in original.ports["gw"].items()}
        assert got == want
        # The gateway chassis in the NB names the UUID: the provnet pair is on gw's
        # br-public, as in the original lab.
        assert "patch-provnet-pub-to-br-int" in got["br-public"]
        assert lab.vsctl("gw", "get", "Port", "vlan10", "tag").strip() == "10"
        assert lab.vsctl("gw", "get", "Port", "bond0", "bond_mode").strip() == "active-backup"
        assert (
            lab.vsctl("gw", "get", "Interface", "patch-ex-pub", "options:peer").strip()
            == "patch-pub-ex"
        )
        assert (
            lab.vsctl("gw", "get", "Bridge", "br-ex", "other_config:hwaddr").strip()
            == '"bc:24:11:00:00:01"'
        )
        assert lab.vsctl("gw", "get", "Bridge", "br-public", "controller").strip() == "[]"
        ext = lab.vsctl("gw", "--format=json", "--columns=external_ids", "list", "Open_vSwitch")
        ids = dict(json.loads(ext)["data"][0][0][1])
        assert ids["system-id"] == GW_UUID
        assert ids["ovn-cms-options"] == "enable-chassis-as-gw"
        assert ids["ovn-bridge-mappings"] == "physnet1:br-ex,physnet2:br-public"
        assert ids["ovn-remote"] == lab.sb_remote
        assert ids["ovn-encap-ip"].startswith("127.")
    finally:
        lab.down()


@pytest.mark.lab
def test_host_without_conf_db_is_rebuilt_from_sb(
    seed_bundle: Exported, copy_bundle: Callable[[Exported], Path], tmp_path: Path
) -> None:
    bundle = copy_bundle(seed_bundle)
    (bundle / "hosts" / "compute1" / "conf.db").unlink()
    plan = plan_replica(bundle)
    c1 = next(h for h in plan.hosts if h.name == "compute1")
    assert c1.based_on == "sb.db"
    assert any("rebuilt from SB Chassis compute1" in n for n in c1.notes)
    got = replica_ports(bundle, tmp_path / "replica")
    # compute1's VIF comes from SB Port_Binding.chassis, its br-ex from the mappings
    # (without the NIC, which only conf.db names); real ovn-controller then makes the same
    # provnet patch pair as in the original.
    assert patch_ports(got["compute1"]) == patch_ports(seed_bundle.ports["compute1"])
    assert "enp6s18" not in got["compute1"]["br-ex"]
    assert got["controller"] == seed_bundle.ports["controller"]


@pytest.mark.lab
def test_lab_up_from_bundle_cli(seed_bundle: Exported, tmp_path: Path) -> None:
    run_dir = tmp_path / "cli-replica"
    runner = CliRunner()
    up = runner.invoke(
        app, ["lab", "up", "--from-bundle", str(seed_bundle.bundle), "--run-dir", str(run_dir)]
    )
    try:
        assert up.exit_code == 0, up.output
        assert "3 chassis registered" in up.output and "replica" in up.output
        status = runner.invoke(
            app, ["lab", "status", "--run-dir", str(run_dir), "--format", "json"]
        )
        assert status.exit_code == 0
        st = json.loads(status.output)
        assert {c["name"] for c in st["chassis"]} == {"controller", "network", "compute1"}
        assert all(c["registered"] for c in st["chassis"])
    finally:
        down = runner.invoke(app, ["lab", "down", "--run-dir", str(run_dir)])
    assert down.exit_code == 0
    assert processes_mentioning(run_dir) == []


def test_lab_up_from_bundle_with_chassis_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        ["lab", "up", "--from-bundle", str(tmp_path), "-n", "3", "--run-dir", str(tmp_path / "x")],
    )
    assert result.exit_code == 2
    assert "--from-bundle" in result.output and "Traceback" not in result.output


def test_bad_bundles_are_input_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such bundle directory"):
        plan_replica(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match=r"nb\.db missing"):
        plan_replica(tmp_path / "empty")


@pytest.mark.lab
def test_bundle_without_hosts_is_an_input_error(
    seed_bundle: Exported, copy_bundle: Callable[[Exported], Path]
) -> None:
    bundle = copy_bundle(seed_bundle)
    for d in (bundle / "hosts").iterdir():
        for f in d.iterdir():
            f.unlink()
        d.rmdir()
    with pytest.raises(InputError, match="no hosts/<host>/ directory"):
        plan_replica(bundle)


def test_a_system_id_may_not_repeat_another_chassis_name() -> None:
    topo = Topology(hosts=[Host(name="a"), Host(name="b", system_id="a")])
    with pytest.raises(InputError, match=r"duplicate chassis name \(system-id\) 'a'"):
        validate_topology(topo)


@pytest.mark.lab
def test_nb_from_another_schema_version_is_converted(
    seed_bundle: Exported, copy_bundle: Callable[[Exported], Path], tmp_path: Path
) -> None:
    """A bundle from an older OVN: its nb.db is in an older NB schema (here: the installed
    one without Logical_Switch.copp, version 6.3.0); the replica converts it."""
    installed = Path("/usr/share/ovn/ovn-nb.ovsschema")
    if not installed.is_file():
        pytest.skip("needs the ovn-central schema")
    schema = json.loads(installed.read_text())
    schema["version"] = "6.3.0"
    del schema["tables"]["Logical_Switch"]["columns"]["copp"]
    old_schema = tmp_path / "old-nb.ovsschema"
    old_schema.write_text(json.dumps(schema))
    bundle = copy_bundle(seed_bundle)
    older = tmp_path / "older-nb.db"
    subprocess.run(
        ["ovsdb-tool", "convert", str(bundle / "nb.db"), str(old_schema), str(older)], check=True
    )
    shutil.copyfile(older, bundle / "nb.db")
    assert db_version(bundle / "nb.db") == "6.3.0"
    got = replica_ports(bundle, tmp_path / "replica")
    assert got == seed_bundle.ports
    # The bundle itself is left as it was.
    assert db_version(bundle / "nb.db") == "6.3.0"
