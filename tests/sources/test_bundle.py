"""load_bundle against bundles made the way an operator makes them: OVSDB files written by the
real ovsdb-server/ovsdb-client (driven by ovn-nbctl/ovn-sbctl/ovs-vsctl) and real `ip -j`
captures (tests/fixtures/iproute/, see the README there)."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from helpers.real_db import RealDb, make_db
from ovnguard.errors import InputError
from ovnguard.model.db import diff
from ovnguard.sources.bundle import (
    NB_KEEP,
    OVS_KEEP,
    SB_KEEP,
    SB_SKIP,
    load_bundle,
    match_hosts,
)
from ovnguard.sources.ovsdb_file import read_database

pytestmark = pytest.mark.realdb

IPROUTE = Path(__file__).resolve().parents[1] / "fixtures" / "iproute"
COMPUTE2_ID = "6f1d0c5e-93a4-4c7e-8f0b-2f4b1d2a9e11"  # a system-id as Debian/RDO generate

ML2_CONF = """\
[DEFAULT]

[ml2]
type_drivers = local,flat,vlan,geneve
mechanism_drivers = ovn

[ml2_type_flat]
flat_networks = physnet1,physnet2

[ovn]
ovn_nb_connection = tcp:10.10.0.11:6641
"""

# The file the incident's operator edited: not read by anything under ML2/OVN.
OVS_AGENT_INI = """\
[ovs]
bridge_mappings = physnet1:br-ex,physnet2:br-public
"""

METADATA_INI = """\
[DEFAULT]
nova_metadata_host = 10.10.0.11

[ovs]
ovsdb_connection = unix:/var/run/openvswitch/db.sock
"""


def _nb(db: RealDb) -> None:
    db.run(["ls-add", "neutron-net1", "--", "set", "logical_switch", "neutron-net1",
            'external_ids:"neutron:network_name"=public'])
    db.run("lsp-add neutron-net1 provnet-seg1 -- lsp-set-type provnet-seg1 localnet "
           "-- lsp-set-options provnet-seg1 network_name=physnet2 "
           "-- lsp-set-addresses provnet-seg1 unknown")
    db.run(["lsp-add", "neutron-net1", "vm1", "--", "lsp-set-addresses", "vm1",
            "fa:16:3e:00:00:01 172.24.4.10"])
    db.run("lr-add router1 -- lrp-add router1 lrp-gw 00:00:00:00:ff:01 172.24.4.1/24 "
           "-- lrp-set-gateway-chassis lrp-gw compute1 10 "
           "-- lr-nat-add router1 snat 172.24.4.1 192.168.0.0/24 "
           "-- lr-route-add router1 0.0.0.0/0 172.24.4.254")
    db.run("acl-add neutron-net1 to-lport 1000 ip4 allow")  # a table the model skips


def _sb(db: RealDb) -> None:
    db.run("chassis-add compute1 geneve 127.0.0.1 -- set chassis compute1 hostname=compute1 "
           "other_config:ovn-bridge-mappings=physnet2:br-ex")
    db.run(f"chassis-add {COMPUTE2_ID} geneve 127.0.0.2 "
           f"-- set chassis {COMPUTE2_ID} hostname=compute2")


def _ovs(system_id: str, hostname: str) -> list[str]:
    return [
        "add-br br-int -- set bridge br-int fail_mode=secure",
        "add-br br-ex -- add-port br-ex enp6s18",
        f"set Open_vSwitch . external_ids:system-id={system_id} "
        f"external_ids:hostname={hostname} "
        "external_ids:ovn-bridge-mappings=physnet2:br-ex external_ids:ovn-encap-type=geneve",
    ]


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def base_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A complete bundle: compute1 (dir named by hostname) and compute2 (dir named by its
    system-id, raw conf.db instead of a backup). Built once; tests work on copies."""
    work = tmp_path_factory.mktemp("work")
    b = tmp_path_factory.mktemp("bundle")
    with RealDb(work / "nb.db", "nb") as db:
        _nb(db)
        db.backup(b / "nb.db")
    with RealDb(work / "sb.db", "sb") as db:
        _sb(db)
        db.backup(b / "sb.db")
    h1 = b / "hosts" / "compute1"
    h1.mkdir(parents=True)
    with RealDb(work / "c1.db", "vswitch") as db:
        for c in _ovs("compute1", "compute1"):
            db.run(c)
        db.backup(h1 / "conf.db")
    for kind in ("addr", "route", "link"):
        shutil.copy(IPROUTE / f"netns-{kind}.json", h1 / f"{kind}.json")
    _write(h1 / "etc/neutron/plugins/ml2/ml2_conf.ini", ML2_CONF)
    _write(h1 / "etc/neutron/plugins/ml2/openvswitch_agent.ini", OVS_AGENT_INI)

    h2 = b / "hosts" / COMPUTE2_ID
    h2.mkdir(parents=True)
    shutil.copy(make_db(work / "c2.db", "vswitch", _ovs(COMPUTE2_ID, "compute2")),
                h2 / "conf.db")
    for kind in ("addr", "route", "link"):
        shutil.copy(IPROUTE / f"host-{kind}.json", h2 / f"{kind}.json")
    _write(h2 / "etc/neutron/neutron_ovn_metadata_agent.ini", METADATA_INI)
    _write(b / "inventory.yaml",
           "hosts:\n  compute1:\n    address: 10.10.0.21\n  compute2: 192.0.2.2\n")
    return b


@pytest.fixture
def bundle(base_bundle: Path, tmp_path: Path) -> Path:
    dst = tmp_path / "bundle"
    shutil.copytree(base_bundle, dst)
    return dst


def test_complete_bundle(bundle: Path) -> None:
    snap = load_bundle(bundle)
    assert snap.source == str(bundle)
    assert list(snap.hosts) == ["compute1", "compute2"]
    # The only note of a complete bundle: compute2's directory is named by its system-id.
    assert snap.notes == (
        f"hosts/{COMPUTE2_ID} is SB Chassis {COMPUTE2_ID} (matched by name), "
        "hostname compute2",
    )

    nb = snap.nb
    assert nb.name == "OVN_Northbound" and nb.source == str(bundle / "nb.db")
    # Every table a command line can touch is held (the real tools run on a copy of it).
    assert set(NB_KEEP) <= set(nb.schema.tables)
    ln = nb.find_one("Logical_Switch_Port", "provnet-seg1")
    assert ln is not None
    assert (ln["type"], ln["options"], ln["addresses"]) == (
        "localnet", {"network_name": "physnet2"}, ("unknown",))
    sw = nb.find_one("Logical_Switch", "neutron-net1")
    assert sw is not None and sw["external_ids"] == {"neutron:network_name": "public"}
    assert len(sw["ports"]) == 2
    lrp = nb.find_one("Logical_Router_Port", "lrp-gw")
    assert lrp is not None and lrp["networks"] == ("172.24.4.1/24",)
    (gw,) = lrp["gateway_chassis"]
    gwc = nb.row("Gateway_Chassis", gw)
    assert gwc is not None and (gwc["chassis_name"], gwc["priority"]) == ("compute1", 10)
    (nat,) = nb.rows("NAT")
    assert (nat["type"], nat["external_ip"], nat["logical_ip"]) == (
        "snat", "172.24.4.1", "192.168.0.0/24")
    (route,) = nb.rows("Logical_Router_Static_Route")
    assert route["nexthop"] == "172.24.4.254"

    assert snap.sb is not None and snap.sb.name == "OVN_Southbound"
    c1 = snap.sb.find_one("Chassis", "compute1")
    assert c1 is not None
    assert c1.map("other_config")["ovn-bridge-mappings"] == "physnet2:br-ex"
    (enc,) = c1["encaps"]
    e = snap.sb.row("Encap", enc)
    assert e is not None and (e["type"], e["ip"]) == ("geneve", "127.0.0.1")

    h1 = snap.hosts["compute1"]
    assert h1.name == "compute1"
    assert h1.ovs is not None and h1.ovs.name == "Open_vSwitch"
    (ovs_row,) = h1.ovs.rows("Open_vSwitch")
    assert ovs_row.map("external_ids")["ovn-bridge-mappings"] == "physnet2:br-ex"
    br_ex = h1.ovs.find_one("Bridge", "br-ex")
    assert br_ex is not None
    ports = {p.name for u in br_ex["ports"] if (p := h1.ovs.row("Port", u)) is not None}
    assert ports == {"br-ex", "enp6s18"}
    br_int = h1.ovs.find_one("Bridge", "br-int")
    assert br_int is not None and br_int["fail_mode"] == ("secure",)
    assert h1.addresses is not None and h1.routes is not None and h1.links is not None
    assert ("br-ex", "10.10.0.21", 24) in {(a.ifname, a.address, a.prefixlen)
                                          for a in h1.addresses}
    assert any(r.dst == "default" and r.gateway == "10.10.0.1" for r in h1.routes)
    assert {lk.ifname: lk.master for lk in h1.links}["enp6s18"] == "br-ex"
    assert h1.neutron["neutron/plugins/ml2/openvswitch_agent.ini"]["ovs"][
        "bridge_mappings"] == "physnet1:br-ex,physnet2:br-public"
    assert h1.neutron["neutron/plugins/ml2/ml2_conf.ini"]["ml2"]["mechanism_drivers"] == "ovn"
    assert h1.inventory_address == "10.10.0.21"
    assert h1.files["conf.db"] == str(bundle / "hosts/compute1/conf.db")
    assert h1.files["etc/neutron/plugins/ml2/ml2_conf.ini"] == str(
        bundle / "hosts/compute1/etc/neutron/plugins/ml2/ml2_conf.ini")
    assert set(h1.files) == {"conf.db", "addr.json", "route.json", "link.json",
                             "etc/neutron/plugins/ml2/ml2_conf.ini",
                             "etc/neutron/plugins/ml2/openvswitch_agent.ini"}

    h2 = snap.hosts["compute2"]
    assert h2.ovs is not None
    (ovs2,) = h2.ovs.rows("Open_vSwitch")
    assert ovs2.map("external_ids")["system-id"] == COMPUTE2_ID
    assert h2.inventory_address == "192.0.2.2"
    assert h2.neutron["neutron/neutron_ovn_metadata_agent.ini"]["DEFAULT"][
        "nova_metadata_host"] == "10.10.0.11"


def test_every_table_and_column_is_held_but_bulk_sb(bundle: Path) -> None:
    # A change line may touch any table (ACL, Port_Group, Mirror, Port.fake_bridge...): the
    # bundle keeps them all, so the real tools see on the copy what they would on the cluster.
    snap = load_bundle(bundle)
    dbs = [(snap.nb, bundle / "nb.db", ()), (snap.sb, bundle / "sb.db", SB_SKIP)]
    dbs += [(h.ovs, None, ()) for h in snap.hosts.values()]
    for db, path, skip in dbs:
        assert db is not None
        if path is not None:
            full = read_database(path)
            assert set(db.tables) == set(full.tables) - set(skip), db.name
        for table, rows in db.tables.items():
            cols = set(db.schema.tables[table].columns)
            for row in rows.values():
                assert set(row.data) == cols, (db.name, table)


def test_kept_tables_survive_an_edit(bundle: Path) -> None:
    # The keep-sets must not drop a column that holds the only strong reference to a kept
    # non-root row: the garbage collection of any commit would then delete the row.
    snap = load_bundle(bundle)
    dbs = [snap.nb, snap.sb, *(h.ovs for h in snap.hosts.values())]
    for db in dbs:
        assert db is not None
        assert diff(db, db.edit().commit()) == [], db.name
    # The failure this guards against, shown: without Logical_Switch.ports every port goes.
    keep = dict(NB_KEEP)
    keep["Logical_Switch"] = NB_KEEP["Logical_Switch"] - {"ports"}
    starved = read_database(bundle / "nb.db", keep=keep)
    gone = {c.table for c in diff(starved, starved.edit().commit()) if c.kind == "delete"}
    assert gone == {"Logical_Switch_Port"}


@pytest.mark.parametrize(
    ("schema_file", "keep"),
    [
        ("/usr/share/ovn/ovn-nb.ovsschema", NB_KEEP),
        ("/usr/share/ovn/ovn-sb.ovsschema", SB_KEEP),
        ("/usr/share/openvswitch/vswitch.ovsschema", OVS_KEEP),
    ],
)
def test_keep_sets_match_installed_schema(schema_file: str, keep: dict[str, frozenset[str]]
                                          ) -> None:
    schema = json.loads(Path(schema_file).read_text())
    tables = schema["tables"]
    for table, cols in keep.items():
        assert table in tables, table
        assert cols <= set(tables[table]["columns"]), (table, cols - set(tables[table]["columns"]))
    for table, tdoc in tables.items():
        if table not in keep:
            continue
        for col, cdoc in tdoc["columns"].items():
            t = cdoc["type"]
            if not isinstance(t, dict):
                continue
            for part in ("key", "value"):
                base = t.get(part)
                if not isinstance(base, dict) or "refTable" not in base:
                    continue
                target = base["refTable"]
                strong = base.get("refType", "strong") == "strong"
                if strong and target in keep and not tables[target].get("isRoot", False):
                    assert col in keep[table], f"{table}.{col} holds {target} rows"


# --- missing optional files: None in the model, one sentence in the notes ---------------

@pytest.mark.parametrize(
    ("remove", "note"),
    [
        ("hosts/compute1/route.json",
         "hosts/compute1/route.json missing: control-plane path of compute1 not checked"),
        ("hosts/compute1/addr.json",
         "hosts/compute1/addr.json missing: management addresses of compute1 not known"),
        ("hosts/compute1/link.json",
         "hosts/compute1/link.json missing: link types and bridge membership of compute1 "
         "not checked"),
        ("hosts/compute1/conf.db",
         "hosts/compute1/conf.db missing: OVS bridges, ports and bridge mappings of "
         "compute1 not checked"),
        ("hosts/compute1/etc",
         "hosts/compute1/etc/neutron missing: Neutron configuration of compute1 not checked"),
        ("inventory.yaml",
         "inventory.yaml missing: the management address of each host is not known and is "
         "not checked against its addresses and routes"),
    ],
)
def test_missing_optional_file_is_noted(bundle: Path, remove: str, note: str) -> None:
    target = bundle / remove
    if target.is_dir():
        shutil.rmtree(target)
    else:
        target.unlink()
    snap = load_bundle(bundle)
    assert note in snap.notes
    h1 = snap.hosts["compute1"]
    attr = {"route.json": "routes", "addr.json": "addresses", "link.json": "links",
            "conf.db": "ovs"}.get(Path(remove).name)
    if attr is not None:
        assert getattr(h1, attr) is None  # not collected, not "empty"
        assert Path(remove).name not in h1.files
    if remove.endswith("etc"):
        assert h1.neutron == {}
    if remove == "inventory.yaml":
        assert all(h.inventory_address is None for h in snap.hosts.values())
    # Nothing else changed: compute2 is still complete.
    assert snap.hosts["compute2"].routes is not None


def test_missing_sb_keeps_hosts_by_directory_name(bundle: Path) -> None:
    (bundle / "sb.db").unlink()
    snap = load_bundle(bundle)
    assert snap.sb is None
    assert any(n.startswith("sb.db missing:") for n in snap.notes)
    # Without SB the system-id directory cannot be mapped to its hostname, and the
    # inventory's compute2 becomes a host of its own (only its address known).
    assert set(snap.hosts) == {"compute1", COMPUTE2_ID, "compute2"}
    assert "inventory.yaml has no address for " + COMPUTE2_ID + \
        ": its management reachability not checked" in snap.notes
    assert "inventory.yaml names compute2 but hosts/compute2 is missing: only its " \
        "management address is known" in snap.notes
    assert snap.hosts["compute2"].ovs is None
    assert snap.hosts["compute2"].inventory_address == "192.0.2.2"


def test_missing_hosts_dir(bundle: Path) -> None:
    shutil.rmtree(bundle / "hosts")
    (bundle / "inventory.yaml").unlink()
    snap = load_bundle(bundle)
    # Every SB Chassis is still a host, named by hostname, with nothing collected: the
    # simulation predicts it from SB (the check a control node can run with NB and SB only).
    assert set(snap.hosts) == {"compute1", "compute2"}
    assert all(h.ovs is None and h.addresses is None for h in snap.hosts.values())
    assert any(n.startswith("hosts/ missing:") for n in snap.notes)
    assert ("2 SB Chassis, no hosts/ directory for any: compute1, compute2 predicted from SB "
            "alone") in snap.notes


def test_nb_only_bundle(bundle: Path) -> None:
    for p in list(bundle.iterdir()):
        if p.name != "nb.db":
            shutil.rmtree(p) if p.is_dir() else p.unlink()
    snap = load_bundle(bundle)
    assert snap.sb is None and snap.hosts == {}
    assert len(snap.notes) == 3  # sb.db, inventory.yaml, hosts/
    assert snap.nb.find_one("Logical_Switch", "neutron-net1") is not None


def test_missing_nb_is_an_error(bundle: Path) -> None:
    (bundle / "nb.db").unlink()
    with pytest.raises(InputError, match=r"nb\.db missing") as ei:
        load_bundle(bundle)
    assert ei.value.path == str(bundle)
    assert "ovsdb-client backup" in str(ei.value)


def test_bundle_path_not_a_directory(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such bundle directory"):
        load_bundle(tmp_path / "nope")
    f = tmp_path / "bundle.tar"
    f.write_bytes(b"x")
    with pytest.raises(InputError, match="not a directory"):
        load_bundle(f)


def test_unrecognised_entries_are_noted(bundle: Path) -> None:
    (bundle / "inventory.yml").write_text("hosts: {}\n")
    (bundle / "hosts.yaml").write_text("hosts: {}\n")
    (bundle / "hosts/compute1/addrs.json").write_text("[]")
    snap = load_bundle(bundle)
    assert "ignored unrecognised bundle entry hosts.yaml" in snap.notes
    assert "inventory.yml not used: inventory.yaml is the bundle's inventory" in snap.notes
    assert "hosts/compute1: ignored unrecognised entry addrs.json" in snap.notes


def test_non_oslo_conf_file_is_skipped(bundle: Path) -> None:
    _write(bundle / "hosts/compute1/etc/neutron/dnsmasq-neutron.conf",
           "dhcp-option-force=26,1450\n")
    snap = load_bundle(bundle)
    assert ("hosts/compute1/etc/neutron/dnsmasq-neutron.conf has no [section], so it is not "
            "an oslo.config file: ignored") in snap.notes
    assert "neutron/dnsmasq-neutron.conf" not in snap.hosts["compute1"].neutron


# --- malformed files: one line naming the file and the line -----------------------------

@pytest.mark.parametrize(
    ("rel", "content", "line", "fragment"),
    [
        ("hosts/compute1/addr.json", '[{"ifname": "lo",\n  "addr_info": [}\n]', 2,
         "not valid JSON"),
        # `ip route` without -j: text, not JSON
        ("hosts/compute1/route.json", "default via 10.10.0.1 dev br-ex\n", 1,
         "ip -j route show table all"),
        ("hosts/compute1/link.json", '[\n{"ifname": "lo"},\n{"ifname": "eth0",,}\n]', 3,
         "not valid JSON"),
        # (a malformed inventory is not fatal: tests/sources/test_bundle_inventory_forms.py)
        ("hosts/compute1/etc/neutron/plugins/ml2/ml2_conf.ini",
         "[ml2]\ntype_drivers = flat\nmechanism_drivers ovn\n", 3, "not 'key = value'"),
        ("hosts/compute1/etc/neutron/neutron.conf", "core_plugin = ml2\n[DEFAULT]\n", 1,
         "before any [section]"),
        ("nb.db", "this is not a database\n", 1, "not an OVSDB database file"),
    ],
)
def test_malformed_file_is_one_line_error(
    bundle: Path, rel: str, content: str, line: int, fragment: str
) -> None:
    _write(bundle / rel, content)
    with pytest.raises(InputError) as ei:
        load_bundle(bundle)
    msg = str(ei.value)
    assert msg.startswith(f"{bundle / rel}:{line}: "), msg
    assert fragment in msg
    assert "\n" not in msg
    assert (ei.value.path, ei.value.line) == (str(bundle / rel), line)


@pytest.mark.parametrize(
    ("rel", "source", "expected"),
    [
        ("hosts/compute1/conf.db", "sb.db", "OVN_Southbound database, expected Open_vSwitch"),
        ("sb.db", "nb.db", "OVN_Northbound database, expected OVN_Southbound"),
        ("nb.db", f"hosts/{COMPUTE2_ID}/conf.db", "Open_vSwitch database, expected "
         "OVN_Northbound"),
    ],
)
def test_wrong_database_in_place(bundle: Path, rel: str, source: str, expected: str) -> None:
    shutil.copy(bundle / source, bundle / rel)
    with pytest.raises(InputError) as ei:
        load_bundle(bundle)
    msg = str(ei.value)
    assert msg.startswith(f"{bundle / rel}: this file holds the "), msg
    assert expected in msg
    assert "ovsdb-client backup" in msg


def test_clustered_nb_is_converted_by_ovsdb_tool(bundle: Path) -> None:
    # the raft file as ovsdb-server keeps it; the installed ovsdb-tool converts it on read
    # (tests/sources/test_ovsdb_file.py: with a real server writing to it, and without ovsdb-tool)
    nb = bundle / "nb.db"
    nb.unlink()
    subprocess.run(["ovsdb-tool", "create-cluster", str(nb), "/usr/share/ovn/ovn-nb.ovsschema",
                    "tcp:127.0.0.1:6643"], check=True, capture_output=True)
    assert nb.read_bytes().startswith(b"OVSDB CLUSTER ")
    assert load_bundle(bundle).nb.name == "OVN_Northbound"


# --- hosts <-> chassis -----------------------------------------------------------------

def test_dir_named_by_anything_matches_through_conf_db_system_id(bundle: Path) -> None:
    (bundle / "hosts" / COMPUTE2_ID).rename(bundle / "hosts" / "10.10.0.22")
    snap = load_bundle(bundle)
    assert set(snap.hosts) == {"compute1", "compute2"}
    assert snap.hosts["compute2"].files["conf.db"] == str(bundle / "hosts/10.10.0.22/conf.db")
    assert (f"hosts/10.10.0.22 is SB Chassis {COMPUTE2_ID} (matched by conf.db system-id), "
            "hostname compute2") in snap.notes


def test_unmatched_dir_and_chassis_without_dir(bundle: Path) -> None:
    (bundle / "hosts" / COMPUTE2_ID).rename(bundle / "hosts" / "storage1")
    (bundle / "hosts" / "storage1" / "conf.db").unlink()
    snap = load_bundle(bundle)
    # compute2 stays a host through inventory.yaml, with nothing collected but its address.
    assert set(snap.hosts) == {"compute1", "compute2", "storage1"}
    assert snap.hosts["compute2"].ovs is None
    assert snap.hosts["compute2"].inventory_address == "192.0.2.2"
    assert snap.hosts["storage1"].ovs is None and snap.hosts["storage1"].routes is not None
    assert ("hosts/storage1 matches no SB Chassis (by hostname, name or conf.db system-id): "
            "ovn-controller on it is not connected or it is not a chassis") in snap.notes
    assert (f"SB Chassis {COMPUTE2_ID} (hostname compute2) has no hosts/ directory: compute2 "
            "is predicted from SB alone") in snap.notes


def test_two_dirs_for_one_host_is_an_error(bundle: Path) -> None:
    shutil.copytree(bundle / "hosts" / COMPUTE2_ID, bundle / "hosts" / "compute2")
    with pytest.raises(InputError, match=f"hosts/{COMPUTE2_ID} and hosts/compute2 both "
                                         "describe host compute2"):
        load_bundle(bundle)


def test_conf_db_of_another_host_is_noted(bundle: Path) -> None:
    shutil.copy(bundle / "hosts" / COMPUTE2_ID / "conf.db", bundle / "hosts/compute1/conf.db")
    snap = load_bundle(bundle)
    assert (f"hosts/compute1/conf.db has system-id {COMPUTE2_ID} but hosts/compute1 is SB "
            "Chassis compute1 (by hostname): the file may be from another host or the "
            "chassis record is stale") in snap.notes


def test_match_hosts_prefers_hostname_then_name(tmp_path: Path) -> None:
    # A chassis whose *name* is another chassis' *hostname*: hostname wins, as the bundle
    # contract says; and two chassis with one hostname (a stale record) resolve by system-id.
    sb_path = make_db(tmp_path / "sb.db", "sb", [
        "chassis-add nodeA geneve 127.0.0.1 -- set chassis nodeA hostname=nodeB",
        "chassis-add nodeB geneve 127.0.0.2 -- set chassis nodeB hostname=nodeC",
        "chassis-add old-id geneve 127.0.0.3 -- set chassis old-id hostname=nodeD",
        "chassis-add new-id geneve 127.0.0.4 -- set chassis new-id hostname=nodeD",
    ])
    sb = read_database(sb_path, keep=SB_KEEP)
    matches, notes = match_hosts({"nodeB": None, "nodeD": "new-id"}, sb.rows("Chassis"))
    got = {m.dirname: (m.host, m.chassis, m.how) for m in matches}
    assert got == {"nodeB": ("nodeB", "nodeA", "hostname"),
                   "nodeD": ("nodeD", "new-id", "hostname")}
    assert notes == ["hosts/nodeD: 2 SB Chassis have hostname nodeD (new-id, old-id); "
                     "using new-id"]


# --- size --------------------------------------------------------------------------------

def test_large_nb_loads_fast(tmp_path: Path) -> None:
    n = 2000
    args = ["ls-add", "sw0"]
    for i in range(n):
        args += ["--", "lsp-add", "sw0", f"p{i}",
                 "--", "lsp-set-addresses", f"p{i}",
                 f"fa:16:3e:00:{i // 256:02x}:{i % 256:02x} 10.0.{i // 256}.{i % 256}",
                 "--", "set", "logical_switch_port", f"p{i}",
                 f'external_ids:"neutron:port_name"=port{i}']
    b = tmp_path / "bundle"
    b.mkdir()
    with RealDb(tmp_path / "nb.db", "nb") as db:
        db.run(args)
        db.backup(b / "nb.db")
    t0 = time.perf_counter()
    snap = load_bundle(b)
    elapsed = time.perf_counter() - t0
    print(f"load_bundle: NB with {n} ports ({(b / 'nb.db').stat().st_size} bytes) "
          f"in {elapsed:.3f} s")
    assert snap.nb.count("Logical_Switch_Port") == n
    assert snap.nb.find_one("Logical_Switch_Port", f"p{n - 1}") is not None
    assert elapsed < 2.0
