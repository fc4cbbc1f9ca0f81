"""Deployment flavor detection (sources/flavors.py) and the commands collection builds for
each flavor (sources/remote.py).

Containers cannot run on this machine, so `docker`/`podman` are stand-ins here: small
scripts on a private PATH that answer `ps`/`inspect` and turn `exec CONTAINER
ovsdb-client ...` into the real ovsdb-client against a real ovsdb-server, recording the
argv they were given. That checks the shell the collector sends (which client it picks,
the exact `docker exec` line) end to end; it does not check a real container runtime.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from helpers.real_db import RealDb
from ovnguard.errors import InputError
from ovnguard.sources.bundle import read_db_file
from ovnguard.sources.flavor_shell import deployment_cmd
from ovnguard.sources.flavors import (
    ALL_OVS_SOCKETS,
    BY_ID,
    Detection,
    bundle_deployments,
    detect,
    detect_host,
    detect_listing,
    read_detection,
)
from ovnguard.sources.remote import Target, _backup_cmd, commands

CLIRUN = Path(__file__).resolve().parents[1] / "helpers" / "cli_run.py"


def test_detect_picks_the_flavor_with_most_evidence() -> None:
    assert detect(()).flavor == "packages"
    d = detect({"/etc/kolla/ovn-controller"}, {"openvswitch_db": "podman",
                                                "ovn_controller": "podman"})
    assert (d.flavor, d.runtime) == ("kolla-ansible", "podman")
    assert "container openvswitch_db (podman)" in d.evidence
    # ovn_controller alone in podman, with EDPM's config dir: EDPM, not kolla
    d = detect({"/var/lib/openstack/configs/ovn"}, {"ovn_controller": "podman"})
    assert d.flavor == "tripleo-edpm"
    assert detect((), snaps=["microovn", "core22"]).flavor == "microovn"
    assert detect({"/var/run/ovn-kubernetes"}).flavor == "ovn-kubernetes"


def test_detect_host_reads_markers_under_a_root(tmp_path: Path) -> None:
    (tmp_path / "openstack/venvs/neutron-28.1.0").mkdir(parents=True)
    (tmp_path / "etc/openstack_deploy").mkdir(parents=True)
    calls: list[tuple[str, ...]] = []

    def runner(argv: object) -> str | None:
        calls.append(tuple(argv))  # type: ignore[arg-type]
        return None

    d = detect_host(tmp_path, runner)
    assert d.flavor == "openstack-ansible"
    assert set(d.evidence) == {"/openstack/venvs/neutron-*", "/etc/openstack_deploy"}
    # the runtimes and snap were asked, through the runner given
    assert ("docker", "ps", "--format", "{{.Names}}") in calls and ("snap", "list") in calls
    # a root that is not / asks no command unless given a runner
    assert detect_host(tmp_path).flavor == "openstack-ansible"


def test_container_listing_through_a_fake_runner(tmp_path: Path) -> None:
    def runner(argv: object) -> str | None:
        a = tuple(argv)  # type: ignore[arg-type]
        if a[:2] == ("docker", "ps"):
            return "openvswitch_vswitchd\nopenvswitch_db\novn_controller\nkolla_toolbox\n"
        return None

    d = detect_host(tmp_path, runner)
    assert (d.flavor, d.runtime) == ("kolla-ansible", "docker")
    assert d.ovsdb_client("ovs") == ("docker", "exec", "openvswitch_db", "ovsdb-client")
    assert d.ovsdb_client("nb") == ("docker", "exec", "ovn_nb_db", "ovsdb-client")
    assert Detection("microovn").ovsdb_client() == ("microovn.ovsdb-client",)
    assert Detection("packages").ovsdb_client() is None


def test_detected_flavor_sockets_come_first() -> None:
    mo = Detection("microovn").ovs_sockets()
    assert mo[0] == "/var/snap/microovn/common/run/switch/db.sock"
    assert set(mo) == set(ALL_OVS_SOCKETS)
    assert Detection("tripleo-edpm").nb_sockets()[0] == "/var/lib/openvswitch/ovn/ovnnb_db.sock"


def test_deployment_json_round_trip_and_errors(tmp_path: Path) -> None:
    d = Detection("kolla-ansible", ("x",), "docker", ("openvswitch_db",))
    assert read_detection(d.to_json(), "f") == d
    with pytest.raises(InputError, match="unknown flavor 'kola'"):
        read_detection(b'{"flavor": "kola"}', "f")
    with pytest.raises(InputError, match="not valid JSON"):
        read_detection(b"{", "f")
    # in a bundle it is optional: a bad one is a note
    h = tmp_path / "hosts" / "h1"
    h.mkdir(parents=True)
    (h / "deployment.json").write_text("[]")
    dets, notes = bundle_deployments(tmp_path)
    assert dets == {} and len(notes) == 1 and "deployment.json not used" in notes[0]


def test_every_flavor_names_its_sockets_and_markers() -> None:
    for f in BY_ID.values():
        assert f.ovs_sockets and all(s.startswith("/") for s in f.ovs_sockets)
        assert f.id == "packages" or f.markers, f.id


# --------------------------------------------------------------------------- over SSH


def _fake_bin(d: Path, record: Path) -> Path:
    """A PATH with sh's helpers, no ovsdb-client, and a `docker` stand-in."""
    d.mkdir()
    for tool in ("grep", "sed", "awk", "cat", "env"):
        real = shutil.which(tool)
        assert real is not None
        (d / tool).symlink_to(real)
    real_client = shutil.which("ovsdb-client")
    assert real_client is not None
    (d / "docker").write_text(
        "#!/bin/sh\n"
        f'echo "$*" >> {record}\n'
        'case "$1" in\n'
        '  ps) printf "openvswitch_vswitchd\\nopenvswitch_db\\novn_controller\\n" ;;\n'
        '  inspect) echo true ;;\n'
        f'  exec) shift 2; shift; exec {real_client} "$@" ;;\n'
        "esac\n")
    (d / "docker").chmod(0o755)
    return d


@pytest.mark.skipif(shutil.which("ovsdb-server") is None, reason="needs openvswitch-switch")
def test_backup_runs_through_docker_exec_when_the_host_has_no_client(tmp_path: Path) -> None:
    record = tmp_path / "docker.argv"
    path = _fake_bin(tmp_path / "bin", record)
    (tmp_path / "ovs").mkdir()
    with RealDb(tmp_path / "ovs" / "conf.db", "vswitch") as ovs:
        ovs.run(["add-br", "br-ex"])
        cmd = _backup_cmd(None, [str(tmp_path / "nowhere.sock"), str(ovs.sock)],
                          "Open_vSwitch", 5, container="openvswitch_db")
        env = {"PATH": str(path), "LC_ALL": "C"}
        p = subprocess.run(["/bin/sh", "-c", cmd], capture_output=True, env=env, timeout=30)
        assert p.returncode == 0, p.stderr
        out = tmp_path / "conf.db"
        out.write_bytes(p.stdout)
        db = read_db_file(out, "Open_vSwitch", {"Bridge": ("name",)})
        assert [r.get("name") for r in db.rows("Bridge")] == ["br-ex"]
    lines = record.read_text().splitlines()
    assert lines[0] == "inspect --format {{.State.Running}} openvswitch_db"
    assert lines[1] == ("exec openvswitch_db ovsdb-client --timeout=5 backup "
                        f"unix:{ovs.sock} Open_vSwitch")
    # the script said why when there is no client at all
    os.remove(path / "docker")
    p = subprocess.run(["/bin/sh", "-c", cmd], capture_output=True, text=True,
                       env={"PATH": str(path)}, timeout=30)
    assert p.returncode == 3
    assert "no ovsdb-client here (nor microovn.ovsdb-client, nor a running openvswitch_db" \
        in p.stderr


@pytest.mark.skipif(shutil.which("ovsdb-server") is None, reason="needs openvswitch-switch")
def test_backup_uses_microovn_client(tmp_path: Path) -> None:
    path = tmp_path / "bin"
    path.mkdir()
    (path / "microovn.ovsdb-client").symlink_to(shutil.which("ovsdb-client") or "")
    (tmp_path / "ovs").mkdir()
    with RealDb(tmp_path / "ovs" / "conf.db", "vswitch") as ovs:
        cmd = _backup_cmd(f"unix:{ovs.sock}", [], "Open_vSwitch", 5)
        p = subprocess.run(["/bin/sh", "-c", cmd], capture_output=True,
                           env={"PATH": str(path)}, timeout=30)
        assert p.returncode == 0, p.stderr
        assert p.stdout.startswith(b"OVSDB JSON ")


def test_an_inventory_client_is_used_as_given() -> None:
    t = Target("k1", "10.0.0.1", ovsdb_client="docker exec openvswitch_db ovsdb-client")
    cmd = commands(t, 5)["conf.db"]
    assert cmd.startswith("for s in ") and "exec docker exec openvswitch_db ovsdb-client" in cmd
    assert "command -v" not in cmd


def test_deployment_listing_through_the_fake_docker(tmp_path: Path) -> None:
    path = _fake_bin(tmp_path / "bin", tmp_path / "rec")
    p = subprocess.run(["/bin/sh", "-c", deployment_cmd()], capture_output=True, text=True,
                       env={"PATH": str(path)}, timeout=30)
    assert p.returncode == 0, p.stderr
    assert "container docker openvswitch_db" in p.stdout.splitlines()
    d = detect_listing(p.stdout)
    assert (d.flavor, d.runtime) == ("kolla-ansible", "docker")
    # path lines map to the marker they match (globs included)
    d = detect_listing("path /var/snap/microovn/common\nsnap microovn\nnoise\n")
    assert d.flavor == "microovn" and len(d.evidence) == 2
    assert detect_listing("path /openstack/venvs/neutron-abc\n").evidence == (
        "/openstack/venvs/neutron-*",)


def test_sos_report_flavor_from_the_containers_it_listed(tmp_path: Path) -> None:
    from ovnguard.sources.sosreport import sos_collection

    sos = tmp_path / "sosreport-cmp1-2026-01-01-abcdef"
    (sos / "sos_commands" / "podman").mkdir(parents=True)
    (sos / "sos_commands" / "host").mkdir(parents=True)
    (sos / "sos_commands" / "host" / "hostname").write_text("cmp1\n")
    # `podman ps` as sos keeps it (sos_commands/podman/podman_ps): NAMES is the last column
    (sos / "sos_commands" / "podman" / "podman_ps").write_text(
        "CONTAINER ID  IMAGE                                   COMMAND     CREATED  STATUS  "
        "PORTS  NAMES\n"
        "1a2b3c4d5e6f  quay.io/podified/ovn-controller:x     kolla_start 2 days   Up 2 days"
        "         ovn_controller\n"
        "2b3c4d5e6f7a  quay.io/podified/neutron-metadata:x   kolla_start 2 days   Up 2 days"
        "         ovn_metadata_agent\n")
    (sos / "var/lib/config-data/puppet-generated/neutron/etc/neutron").mkdir(parents=True)
    (sos / "var/lib/config-data/puppet-generated/neutron/etc/neutron/neutron.conf").write_text(
        "[DEFAULT]\n")
    c = sos_collection([sos])
    [h] = c.hosts
    d = read_detection(h.files["deployment.json"], "x")
    assert (d.flavor, d.runtime) == ("tripleo-edpm", "podman")
    assert "container ovn_controller (podman)" in d.evidence
    assert "/var/lib/config-data/puppet-generated" in d.evidence


def test_an_unknown_flavor_is_one_line(tmp_path: Path) -> None:
    p = subprocess.run([sys.executable, str(CLIRUN), "collect", "--flavor", "kola",
                        "--out", str(tmp_path / "b")], capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 2
    assert len(p.stderr.strip().splitlines()) == 1
    assert "unknown deployment flavor 'kola' (expected one of kolla-ansible," in p.stderr


@pytest.mark.skipif(shutil.which("ovsdb-server") is None, reason="needs openvswitch-switch")
def test_collect_on_a_kolla_host_without_ovsdb_client_goes_through_docker(
        tmp_path: Path) -> None:
    # this "host" has no ovsdb-client on PATH, only (a stand-in for) docker with kolla's
    # containers: collect detects kolla-ansible and backs up through `docker exec`
    record = tmp_path / "docker.argv"
    path = _fake_bin(tmp_path / "bin", record)
    (tmp_path / "ovs").mkdir()
    with RealDb(tmp_path / "ovs" / "conf.db", "vswitch") as ovs:
        ovs.run("set Open_vSwitch . external_ids:hostname=kolla1")
        p = subprocess.run([sys.executable, str(CLIRUN), "collect", "--ovs",
                            f"unix:{ovs.sock}", "--out", str(tmp_path / "b")],
                           capture_output=True, text=True, timeout=120,
                           env={"PATH": str(path), "HOME": str(tmp_path)})
    assert p.returncode == 0, p.stderr
    assert read_db_file(tmp_path / "b/hosts/kolla1/conf.db", "Open_vSwitch",
                        {"Open_vSwitch": ("external_ids",)}) is not None
    d = read_detection((tmp_path / "b/hosts/kolla1/deployment.json").read_bytes(), "d")
    assert (d.flavor, d.runtime) == ("kolla-ansible", "docker")
    calls = record.read_text().splitlines()
    assert calls[0] == "ps --format {{.Names}}"
    assert (f"exec openvswitch_db ovsdb-client --timeout=30 backup unix:{ovs.sock} "
            "Open_vSwitch") in calls
