"""apply_model(): transaction and line semantics, hosts, unsupported commands, Neutron."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from helpers.change_oracle import canonical
from helpers.real_db import RealDb, make_db
from ovnguard.change import Change, ChangeResult, ModelExecutor, parse_change
from ovnguard.model.snapshot import HostState, Snapshot
from ovnguard.sources.ovsdb_file import read_database


def apply_model(snapshot: Snapshot, change: Change) -> ChangeResult:
    """These tests are about the model executor (the fallback without the real tools)."""
    return ModelExecutor().apply(snapshot, change)

pytestmark = pytest.mark.realdb

PUBLIC = "neutron-6f1d43a0-5a4e-4f0b-9d1c-2b7e8f6a9c01"


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory: pytest.TempPathFactory) -> Snapshot:
    d = tmp_path_factory.mktemp("apply")
    nb = make_db(d / "nb.db", "nb", [
        ["ls-add", PUBLIC, "--", "set", "Logical_Switch", PUBLIC,
         'external_ids:"neutron:network_name"=public',
         'external_ids:"neutron:provnet-network-type"=flat'],
        f"lsp-add {PUBLIC} provnet-1a2b -- lsp-set-type provnet-1a2b localnet -- "
        "lsp-set-options provnet-1a2b network_name=physnet2 -- "
        "lsp-set-addresses provnet-1a2b unknown",
    ])
    ovs = make_db(d / "conf.db", "vswitch", [
        "add-br br-int", "add-br br-ex -- add-port br-ex enp6s18",
        "set Open_vSwitch . external_ids:ovn-bridge-mappings=physnet2:br-ex",
    ])
    conf = read_database(ovs)
    return Snapshot(
        read_database(nb),
        None,
        {
            "compute1": HostState("compute1", ovs=conf),
            "compute2": HostState("compute2", ovs=conf),
            "net1": HostState("net1", ovs=None),
        },
    )


def _statuses(snapshot: Snapshot, text: str, host: str | None = None) -> list[str]:
    result = apply_model(snapshot, parse_change(text, "c.sh", default_host=host))
    return [a.status for a in result.applied]


def test_each_line_is_a_transaction_and_later_lines_still_run(snapshot: Snapshot) -> None:
    text = (
        "ovn-nbctl ls-add a -- lsp-add a pa -- lsp-add nosuch pb\n"  # fails: nothing applies
        "ovn-nbctl ls-add b\n"
        "ovn-nbctl ls-add b\n"
    )
    result = apply_model(snapshot, parse_change(text, "c.sh"))
    assert [a.status for a in result.applied] == ["failed", "applied", "failed"]
    names = {r.name for r in result.snapshot.nb.rows("Logical_Switch")}
    assert names == {PUBLIC, "b"}
    assert result.failed_invocations == (0, 2)
    assert [p.message for p in result.problems] == [
        "ovn-nbctl: nosuch: switch name not found",
        "ovn-nbctl: b: a switch with this name already exists",
    ]
    (change,) = result.applied[1].changes
    assert (change.table, change.kind, change.after.name) == ("Logical_Switch", "insert", "b")


def test_and_and_skips_after_a_failure_semicolon_does_not(snapshot: Snapshot) -> None:
    text = (
        "ovn-nbctl lsp-add nosuch p && ovn-nbctl ls-add skipped\n"
        "ovn-nbctl lsp-add nosuch p ; ovn-nbctl ls-add ran\n"
        "ovn-nbctl ls-add first && ovn-nbctl ls-add second\n"
    )
    result = apply_model(snapshot, parse_change(text, "c.sh"))
    assert [a.status for a in result.applied] == [
        "failed", "skipped", "failed", "applied", "applied", "applied"
    ]
    names = {r.name for r in result.snapshot.nb.rows("Logical_Switch")} - {PUBLIC}
    assert names == {"ran", "first", "second"}


def test_unsupported_verb_is_reported_and_not_applied(snapshot: Snapshot) -> None:
    text = "ovn-nbctl ls-add x -- acl-add x to-lport 1000 ip drop\novn-nbctl ls-add y\n"
    result = apply_model(snapshot, parse_change(text, "c.sh"))
    assert [a.status for a in result.applied] == ["unsupported", "applied"]
    (problem,) = result.problems
    assert problem.kind == "unsupported-command"
    assert problem.location.line == 1
    assert "`ovn-nbctl acl-add` is not simulated" in problem.message
    assert "lsp-add" in problem.message and "lrp-set-gateway-chassis" in problem.message
    assert {r.name for r in result.snapshot.nb.rows("Logical_Switch")} == {PUBLIC, "y"}


def test_ovs_vsctl_needs_a_known_host(snapshot: Snapshot) -> None:
    text = (
        "ovs-vsctl add-br br-public\n"
        "# host: compute3\novs-vsctl add-br br-public\n"
        "# host: net1\novs-vsctl add-br br-public\n"
        "# host: compute2\novs-vsctl --no-wait add-br br-public\n"
    )
    result = apply_model(snapshot, parse_change(text, "c.sh"))
    kinds = [(p.kind, p.location.line) for p in result.problems]
    assert kinds == [("unknown-host", 1), ("unknown-host", 3), ("unknown-host", 5)]
    assert result.problems[1].message == "host compute3 is not in the bundle"
    assert result.problems[1].suggestions == ("compute1", "compute2")
    assert "was not collected" in result.problems[2].message
    assert [a.status for a in result.applied] == [
        "unsupported", "unsupported", "unsupported", "applied"
    ]
    after = result.snapshot.hosts["compute2"].ovs
    assert after is not None
    assert {r.name for r in after.rows("Bridge")} == {"br-int", "br-ex", "br-public"}
    untouched = result.snapshot.hosts["compute1"].ovs
    assert untouched is snapshot.hosts["compute1"].ovs


def test_apply_is_pure_and_deterministic(snapshot: Snapshot) -> None:
    text = "ovn-nbctl lsp-add " + PUBLIC + " ln-x -- lsp-set-type ln-x localnet\n"
    change = parse_change(text, "c.sh")
    before = canonical(snapshot.nb)
    a = apply_model(snapshot, change)
    b = apply_model(snapshot, change)
    assert canonical(snapshot.nb) == before
    assert a.snapshot.nb.tables == b.snapshot.nb.tables  # same uuids too
    assert a.before is snapshot


def test_dry_run_changes_nothing_but_still_checks(snapshot: Snapshot) -> None:
    text = "ovn-nbctl --dry-run ls-add d\novn-nbctl --dry-run lsp-del nosuch\n"
    result = apply_model(snapshot, parse_change(text, "c.sh"))
    assert [a.status for a in result.applied] == ["unchanged", "failed"]
    assert result.snapshot.nb is snapshot.nb


def test_waiting_bumps_the_config_counters_like_the_real_tools(
    snapshot: Snapshot, tmp_path: Path
) -> None:
    # Without --no-wait ovs-vsctl increments next_cfg in its transaction, and --wait=sb makes
    # ovn-nbctl increment nb_cfg; then they wait for the daemons. With no daemon here, the
    # real tools are stopped by --timeout after the commit, so the databases show the bump.
    text = "# host: compute1\novs-vsctl add-br br-w\novn-nbctl --wait=sb ls-add w\n"
    result = apply_model(snapshot, parse_change(text, "c.sh"))
    ours_ovs = result.snapshot.hosts["compute1"].ovs
    assert ours_ovs is not None
    (ovs_row,) = ours_ovs.rows("Open_vSwitch")
    (nb_row,) = result.snapshot.nb.rows("NB_Global")
    for kind, prog, argv, column, ours in (
        ("vswitch", "ovs-vsctl", ["add-br", "br-w"], "next_cfg", ovs_row["next_cfg"]),
        ("nb", "ovn-nbctl", ["--wait=sb", "ls-add", "w"], "nb_cfg", nb_row["nb_cfg"]),
    ):
        src = Path(snapshot.nb.source if kind == "nb" else snapshot.hosts["compute1"].ovs.source)
        copy = tmp_path / f"{kind}.db"
        copy.write_bytes(src.read_bytes())
        with RealDb(copy, kind) as db:
            before = read_database(db.backup(tmp_path / f"{kind}-before.db"))
            (row,) = before.rows("Open_vSwitch" if kind == "vswitch" else "NB_Global")
            subprocess.run([prog, f"--db=unix:{db.sock}", "--timeout=1", *argv],
                           capture_output=True, timeout=30)
            after = read_database(db.backup(tmp_path / f"{kind}-after.db"))
        (real_row,) = after.rows("Open_vSwitch" if kind == "vswitch" else "NB_Global")
        assert real_row[column] == row[column] + 1
        assert ours == real_row[column]


def test_openstack_flat_network_is_a_switch_with_a_provnet_port(snapshot: Snapshot) -> None:
    text = (
        "openstack network create --provider-network-type flat "
        "--provider-physical-network physnet1 --external --share public1\n"
    )
    result = apply_model(snapshot, parse_change(text, "c.sh"))
    assert not result.problems
    (sw,) = [r for r in result.snapshot.nb.rows("Logical_Switch") if r.name != PUBLIC]
    assert sw.name.startswith("neutron-")
    assert sw["external_ids"]["neutron:network_name"] == "public1"
    assert sw["external_ids"]["neutron:provnet-physical-network"] == "physnet1"
    assert sw["other_config"]["broadcast-arps-to-all-routers"] == "true"
    (port_uuid,) = sw["ports"]
    port = result.snapshot.nb.row("Logical_Switch_Port", port_uuid)
    assert port is not None
    assert port.name.startswith("provnet-")
    assert port["type"] == "localnet"
    assert port["addresses"] == ("unknown",)
    assert port["tag_request"] == ()
    assert port["options"] == {
        "network_name": "physnet1", "mcast_flood": "false", "mcast_flood_reports": "true",
        "localnet_learn_fdb": "false",
    }
    assert port["external_ids"] == {"neutron:provnet-physical-network": "physnet1"}


def test_openstack_vlan_network_and_neutron_refusals(snapshot: Snapshot) -> None:
    text = (
        "openstack network create --provider-network-type vlan "
        "--provider-physical-network physnet2 --provider-segment 100 v100\n"
        "openstack network create --provider-network-type vlan "
        "--provider-physical-network physnet2 --provider-segment 100 v100b\n"
        "openstack network create --provider-network-type flat "
        "--provider-physical-network physnet2 public-again\n"
        "openstack network create --provider-network-type flat "
        "--provider-physical-network physnet9 --provider-segment 3 bad\n"
        "openstack network create --provider-network-type flat --bogus x\n"
        "openstack subnet create --network v100 --subnet-range 10.9.0.0/24 s1\n"
    )
    result = apply_model(snapshot, parse_change(text, "c.sh"))
    assert [a.status for a in result.applied] == [
        "applied", "failed", "failed", "failed", "failed", "unsupported"
    ]
    assert [p.message for p in result.problems[:4]] == [
        "openstack network create: Unable to create the network. The VLAN 100 on physical "
        "network physnet2 is in use.",
        "openstack network create: Unable to create the flat network. Physical network "
        "physnet2 is in use.",
        "openstack network create: Invalid input for operation: segmentation_id prohibited "
        "for flat provider network.",
        "openstack network create: error: unrecognized arguments: --bogus",
    ]
    assert result.problems[4].kind == "unsupported-command"
    vlan_ports = [p for p in result.snapshot.nb.rows("Logical_Switch_Port")
                  if p["tag_request"] == (100,)]
    assert len(vlan_ports) == 1 and vlan_ports[0]["type"] == "localnet"


def test_openstack_checks_ml2_config_when_the_bundle_has_it(snapshot: Snapshot) -> None:
    ml2 = {"neutron/plugins/ml2/ml2_conf.ini": {
        "ml2_type_flat": {"flat_networks": "physnet1,physnet2"},
        "ml2_type_vlan": {"network_vlan_ranges": "physnet2:100:102"},
    }}
    with_conf = snapshot.with_host(HostState("net1", neutron=ml2))
    text = (
        "openstack network create --provider-network-type flat "
        "--provider-physical-network phynet2 typo\n"
        "openstack network create --provider-network-type vlan "
        "--provider-physical-network physnet2 auto\n"
    )
    result = apply_model(with_conf, parse_change(text, "c.sh"))
    assert [p.message for p in result.problems] == [
        "openstack network create: Invalid input for operation: physical_network 'phynet2' "
        "unknown for flat provider network.",
    ]
    tags = [p["tag_request"] for p in result.snapshot.nb.rows("Logical_Switch_Port")]
    assert (100,) in tags
