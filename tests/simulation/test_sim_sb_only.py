"""What the control node alone knows: the shipped seed bundle (exported from a real lab) with
host files removed -- all of them, or some -- is predicted from SB Chassis and port bindings,
and the verdict says what stays unknown. The same prediction is held against real
ovn-controller in test_sim_sb_only_lab.py."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from helpers.real_db import RealDb
from ovnguard.assess import assess
from ovnguard.change.parse import read_change
from ovnguard.cli.demo import example_dir
from ovnguard.model.host import COLLECT_HOSTS, host_views
from ovnguard.report.schema import Report
from ovnguard.simulation import realize
from ovnguard.sources.bundle import load_bundle

pytestmark = pytest.mark.realdb

EX = example_dir()
CHANGE = EX / "change-corrected.sh"
SWITCH = "neutron-5f1c9d2e-8a7b-4c3d-9e0f-1a2b3c4d5e6f"
INCIDENT_PORTS = {("compute1", "br-ex", "patch-ln-physnet2-to-br-int"),
                  ("compute1", "br-int", "patch-br-int-to-ln-physnet2")}


def bundle_without(tmp: Path, hosts: tuple[str, ...] | None, inventory: bool = True) -> Path:
    """The seed bundle with hosts/<h> removed for each h in `hosts` (None: hosts/ itself)."""
    b = tmp / "bundle"
    shutil.copytree(EX / "bundle", b)
    if hosts is None:
        shutil.rmtree(b / "hosts")
    for h in hosts or ():
        shutil.rmtree(b / "hosts" / h)
    if not inventory:
        (b / "inventory.yaml").unlink()
    return b


def added(r: Report) -> set[tuple[str, str, str]]:
    return {(h, p.bridge, p.port) for h, d in r.realization.items() for p in d.added}


def removed(r: Report) -> set[tuple[str, str, str]]:
    return {(h, p.bridge, p.port) for h, d in r.realization.items() for p in d.removed}


def test_full_bundle_prediction_is_the_reference() -> None:
    r = assess(load_bundle(EX / "bundle"), read_change(CHANGE)).report
    assert r.verdict == "dangerous"
    assert added(r) == INCIDENT_PORTS and not removed(r)


@pytest.mark.parametrize("inventory", [True, False])
def test_incident_change_without_any_host_file_is_dangerous(tmp_path: Path,
                                                            inventory: bool) -> None:
    snap = load_bundle(bundle_without(tmp_path, None, inventory))
    assert set(snap.hosts) == {"compute1", "controller", "network"}
    r = assess(snap, read_change(CHANGE)).report
    assert r.verdict == "dangerous"
    assert added(r) == INCIDENT_PORTS and not removed(r)
    assert set(r.realization) == {"compute1", "controller", "network"}
    (loop,) = [f for f in r.findings if f.rule == "l2-loop"]
    assert (loop.severity, loop.status, loop.hosts) == ("critical", "introduced", ["compute1"])
    # Nothing host-side is claimed: no NIC name, no management loss, and the unknown is named
    # with the command that collects it.
    assert not loop.loses_management
    assert "enp6s18" not in loop.summary and COLLECT_HOSTS in loop.summary
    assert any(e.source == "not collected" and e.row == "br-ex" for e in loop.evidence)
    # compute1's mapping is SB's copy, cited as such -- never a conf.db that is not there.
    maps = [e for e in loop.evidence if "ovn-bridge-mappings" in e.fact]
    assert maps and all(e.table == "Chassis" and e.source.endswith("sb.db") for e in maps)
    assert not any("conf.db" in e.source for e in loop.evidence)
    assert any("br-int (ovn-controller's default)" in e.fact for e in loop.evidence)
    assert "predicted from SB alone (no host files): compute1, controller, network" in r.summary
    assert any(n.startswith("compute1, controller, network: no conf.db: predicted from SB")
               and COLLECT_HOSTS in n for n in r.notes)
    # the simulation's assumptions, one line for all the hosts sharing them
    assert ("compute1, controller, network: no Open_vSwitch DB for the host before the "
            "change: its patch ports are assumed to be the ones predicted for the before "
            "state") in r.notes
    assert not any(n.startswith("compute1: no Open_vSwitch DB") for n in r.notes)
    assert r.topology["compute1"].bridge_mappings == "physnet2:br-ex"
    assert {t.known_from for t in r.topology.values()} == {"sb"}


@pytest.mark.parametrize("missing", [("compute1",), ("controller", "network")])
def test_incident_change_with_some_host_files(tmp_path: Path, missing: tuple[str, ...]) -> None:
    snap = load_bundle(bundle_without(tmp_path, missing))
    views = host_views(snap)
    assert {h for h, v in views.items() if v.based_on == "sb"} == set(missing)
    r = assess(snap, read_change(CHANGE)).report
    assert {h for h, t in r.topology.items() if t.known_from == "sb"} == set(missing)
    assert r.verdict == "dangerous"
    assert added(r) == INCIDENT_PORTS and not removed(r)
    (loop,) = [f for f in r.findings if f.rule == "l2-loop"]
    assert loop.severity == "critical"
    if "compute1" in missing:
        assert not loop.loses_management and COLLECT_HOSTS in loop.summary
    else:
        # compute1's own files say br-ex holds enp6s18 and its management address.
        assert loop.loses_management == ["compute1"] and "enp6s18" in loop.summary
        assert COLLECT_HOSTS not in loop.summary


def test_realization_from_sb_equals_realization_from_host_files(tmp_path: Path) -> None:
    full = realize(load_bundle(EX / "bundle"))
    bare = realize(load_bundle(bundle_without(tmp_path, None)))
    assert set(full.hosts) == set(bare.hosts)
    for h, hr in full.hosts.items():
        assert bare.hosts[h].patch_ports == hr.patch_ports, h
        assert set(bare.hosts[h].local_datapaths) == set(hr.local_datapaths), h
        assert bare.hosts[h].based_on == "sb"


def test_state_only_check_finds_armed_duplicate_localnet_without_host_files(
        tmp_path: Path) -> None:
    b = bundle_without(tmp_path, None)
    # The incident already happened: NB holds the duplicate (real ovn-nbctl on a copy).
    with RealDb(b / "nb.db", "nb") as db:
        db.run(["lsp-add", SWITCH, "ln-physnet2", "--", "lsp-set-type", "ln-physnet2",
                "localnet", "--", "lsp-set-options", "ln-physnet2", "network_name=physnet2"])
    for f in b.glob("nb.*"):
        if f.name != "nb.db":
            f.unlink()
    r = assess(load_bundle(b)).report
    assert r.verdict == "dangerous"
    (loop,) = [f for f in r.findings if f.rule == "l2-loop"]
    assert (loop.status, loop.severity, loop.hosts) == ("present", "critical", ["compute1"])


def test_chassis_of_old_ovn_reports_mappings_in_external_ids(tmp_path: Path) -> None:
    b = bundle_without(tmp_path, None)
    # Before OVN 20.06 ovn-controller wrote the copy to Chassis external_ids.
    with RealDb(b / "sb.db", "sb") as db:
        for ch in ("compute1", "controller", "network"):
            db.run(["remove", "chassis", ch, "other_config", "ovn-bridge-mappings", "--",
                    "set", "chassis", ch, "external_ids:ovn-bridge-mappings=physnet2:br-ex"])
    for f in b.glob("sb.*"):
        if f.name != "sb.db":
            f.unlink()
    r = assess(load_bundle(b), read_change(CHANGE)).report
    assert r.verdict == "dangerous" and added(r) == INCIDENT_PORTS
    (loop,) = [f for f in r.findings if f.rule == "l2-loop"]
    assert any(e.table == "Chassis" and "external_ids:ovn-bridge-mappings" in e.fact
               for e in loop.evidence)


def test_typo_is_unmapped_on_every_chassis_known_from_sb(tmp_path: Path) -> None:
    r = assess(load_bundle(bundle_without(tmp_path, None)),
               read_change(EX / "change-typo.sh")).report
    assert not added(r)
    (typo,) = [f for f in r.findings if f.rule == "unmapped-physnet" and f.introduced_by_change]
    assert "did you mean physnet2?" in typo.summary
    assert {e.row for e in typo.evidence if e.table == "Chassis"} == {
        "compute1", "controller", "network"}


def test_bridge_known_to_hold_no_nic_keeps_the_loop_inside_the_host(tmp_path: Path) -> None:
    b = bundle_without(tmp_path, ())
    conf = b / "hosts" / "compute1" / "conf.db"
    with RealDb(conf, "vswitch") as db:
        db.run("del-port br-ex enp6s18")
    for f in conf.parent.glob("conf.*"):
        if f.name != "conf.db":
            f.unlink()
    r = assess(load_bundle(b), read_change(CHANGE)).report
    assert added(r) == INCIDENT_PORTS
    (loop,) = [f for f in r.findings if f.rule == "l2-loop"]
    assert loop.severity == "high" and not loop.loses_management
    assert "holds no NIC" in loop.summary


def test_nb_alone_does_not_claim_that_nothing_changes(tmp_path: Path) -> None:
    b = bundle_without(tmp_path, None, inventory=False)
    (b / "sb.db").unlink()
    r = assess(load_bundle(b), read_change(CHANGE)).report
    assert r.realization == {}
    assert "no host's OVS ports change" not in r.summary
    assert "which hosts' OVS ports change is unknown" in r.summary


def test_html_picture_says_the_sb_predicted_hosts_are_unknown(tmp_path: Path) -> None:
    from ovnguard.report.html import topology_dot

    r = assess(load_bundle(bundle_without(tmp_path, ("compute1",))), read_change(CHANGE)).report
    source, _ = topology_dot(r)
    (line,) = [x for x in source.splitlines() if "compute1" in x and "label=" in x]
    assert "from SB: NICs and addresses unknown" in line
    assert not [x for x in source.splitlines() if "network" in x and "from SB" in x]


def test_host_dir_without_conf_db_is_read_with_its_sb_chassis(tmp_path: Path) -> None:
    # compute1's addresses and Neutron files were collected, its conf.db was not.
    b = bundle_without(tmp_path, ())
    (b / "hosts" / "compute1" / "conf.db").unlink()
    snap = load_bundle(b)
    assert host_views(snap)["compute1"].based_on == "sb"
    r = assess(snap, read_change(CHANGE)).report
    assert added(r) == INCIDENT_PORTS and r.verdict == "dangerous"
    # its address on br-ex (link.json: an OVS device) is the mapped bridge's own port, so
    # the loop cuts its management, as with its conf.db; only br-ex's NIC is unknown.
    (loop,) = [f for f in r.findings if f.rule == "l2-loop"]
    assert loop.loses_management == ["compute1"]
    assert any("internal port of OVS bridge br-ex" in e.fact for e in loop.evidence)
    assert "whether br-ex of compute1 has an uplink (" in loop.summary
    assert "predicted from SB alone (no conf.db): compute1; unknown there: which NIC" in r.summary
    assert "mgmt-bridge-localnet" in {f.rule for f in r.findings if f.introduced_by_change}
    (drift,) = [f for f in r.findings if f.rule == "neutron-config-drift"
                and f.hosts == ["compute1"]]
    assert ("disagrees with SB Chassis (as the chassis reported) ovn-bridge-mappings, the "
            "effective one (physnet2:br-ex)") in drift.summary
