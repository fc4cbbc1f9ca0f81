"""ovn-controller's tunnel mesh held as counts (model/mesh.py), on the seed's conf.db files --
written by a real ovs-vswitchd and ovn-controller 23.03, each with a geneve port to each of
the two other chassis."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ovnguard.model.db import Database, Edit, diff
from ovnguard.model.host import bridges_of
from ovnguard.model.mesh import elide_tunnel_mesh, tunnel_counts, tunnel_rows, with_tunnel_mesh
from ovnguard.simulation.hostconfig import read_interfaces
from ovnguard.sources.bundle import OVS_NAME, read_conf_db, read_db_file

SEED = Path(__file__).resolve().parents[2] / "src/ovnguard/examples/seed/bundle/hosts"


@pytest.fixture(params=["compute1", "controller", "network"])
def whole(request: pytest.FixtureRequest) -> Database:
    return read_db_file(SEED / request.param / "conf.db", OVS_NAME, None)


def _names(db: Database, table: str) -> set[str]:
    return {r.name for r in db.rows(table)}


def test_the_tunnel_ports_and_their_interfaces_are_left_out(whole: Database) -> None:
    held = elide_tunnel_mesh(whole)
    tunnels = {n for n in _names(whole, "Port") if n.startswith("ovn-")}
    assert len(tunnels) == 2  # one per other chassis
    assert _names(held, "Port") == _names(whole, "Port") - tunnels
    assert _names(held, "Interface") == _names(whole, "Interface") - tunnels
    def br_int_ports(db: Database) -> set[str]:
        br = db.find_one("Bridge", "br-int")
        assert br is not None
        return {db.row("Port", str(u)).name for u in br.set("ports")}  # type: ignore[union-attr]

    # the bridge names no port that is not held
    assert br_int_ports(held) == br_int_ports(whole) - tunnels
    assert held.elided is not None and dict(held.elided.counts) == {"br-int": 2}
    # nothing else changed: every other table is the same object
    for t in whole.tables:
        if t not in ("Bridge", "Port", "Interface"):
            assert held.tables[t] is whole.tables[t]


def test_views_are_the_same_held_whole_or_not(whole: Database) -> None:
    held = elide_tunnel_mesh(whole)
    assert tunnel_counts(held) == tunnel_counts(whole) == {"br-int": 2}
    a, b = bridges_of(whole), bridges_of(held)
    assert a.keys() == b.keys()
    for name in a:
        assert a[name].ports == b[name].ports
        assert a[name].tunnel_ports == b[name].tunnel_ports
    assert not any(p.name.startswith("ovn-") for p in a["br-int"].ports)
    assert a["br-int"].tunnel_ports == 2
    # what ovn-controller's binding.c / patch.c read: the same without the tunnels
    assert read_interfaces(whole) == read_interfaces(held)


def test_putting_them_back_gives_the_file(whole: Database) -> None:
    held = elide_tunnel_mesh(whole)
    back = with_tunnel_mesh(held, whole)
    assert back.elided is None
    assert not diff(whole, back)
    for t in ("Bridge", "Port", "Interface"):
        assert {u: r.data for u, r in whole.tables[t].items()} == \
            {u: r.data for u, r in back.tables[t].items()}


def test_put_back_only_onto_bridges_that_still_exist(whole: Database) -> None:
    held = elide_tunnel_mesh(whole)
    e = Edit(held)
    br_int = held.find_one("Bridge", "br-int")
    ovs_row = next(held.rows("Open_vSwitch"))
    assert br_int is not None
    e.update("Open_vSwitch", str(ovs_row.uuid),
             {"bridges": tuple(u for u in ovs_row.set("bridges") if u != br_int.uuid)})
    gone = e.commit()  # del-br br-int, in the model
    back = with_tunnel_mesh(gone, whole)
    assert back.find_one("Bridge", "br-int") is None
    assert not {n for n in _names(back, "Port") if n.startswith("ovn-")}


def test_a_port_that_only_claims_to_be_a_tunnel_stays(whole: Database) -> None:
    # ovn-chassis-id on a port whose interface is not a tunnel: not encaps.c's, kept
    e = Edit(whole)
    tunnel = next(p for p in whole.rows("Port") if p.name.startswith("ovn-"))
    iface = whole.row("Interface", str(tunnel.set("interfaces")[0]))
    assert iface is not None
    e.update("Interface", str(iface.uuid), {"type": "internal"})
    edited = e.commit()
    held = elide_tunnel_mesh(edited)
    assert tunnel.name in _names(held, "Port")
    assert held.elided is not None and dict(held.elided.counts) == {"br-int": 1}


def test_a_database_without_tunnels_is_returned_as_is(whole: Database) -> None:
    held = elide_tunnel_mesh(whole)
    assert elide_tunnel_mesh(held) is held
    assert with_tunnel_mesh(whole, whole) is whole  # nothing was left out of it


def test_diff_reports_what_a_tool_did_to_rows_left_out(whole: Database) -> None:
    held = elide_tunnel_mesh(whole)
    # what realtools does after a line: the tool's whole database after it, held again
    e = Edit(whole)
    br_int = whole.find_one("Bridge", "br-int")
    assert br_int is not None
    tunnel = next(p for p in whole.rows("Port") if p.name.startswith("ovn-"))
    e.update("Bridge", str(br_int.uuid),
             {"ports": tuple(u for u in br_int.set("ports") if u != tunnel.uuid)})
    whole_after = e.commit()  # del-port br-int <tunnel>
    line = diff(whole, whole_after)
    after = elide_tunnel_mesh(whole_after, held, line)
    assert after.elided is not None and dict(after.elided.counts) == {"br-int": 1}
    got = {(c.table, c.kind, (c.before or c.after).name) for c in diff(held, after)}  # type: ignore[union-attr]
    assert got == {("Port", "delete", tunnel.name), ("Interface", "delete", tunnel.name)}
    # the next line's difference does not repeat it
    assert not diff(after, elide_tunnel_mesh(whole_after, after, ()))


@pytest.mark.parametrize("big", [True, False])
def test_a_bundle_reads_them_unconverted_to_the_same_model(
        whole: Database, monkeypatch: pytest.MonkeyPatch, big: bool) -> None:
    # read_conf_db leaves the tunnel rows unread (sources.ovsdb_file leave_out; in a file of
    # at least SPLIT_AT bytes): the model is the one eliding a whole read gives
    from ovnguard.sources import ovsdb_file

    if big:
        monkeypatch.setattr(ovsdb_file, "SPLIT_AT", 0)
    read = read_conf_db(Path(whole.source))
    held = elide_tunnel_mesh(whole)
    assert read.tables == held.tables
    assert read.elided == held.elided


def test_tunnel_rows_as_written() -> None:
    tables = {
        "Port": {"p1": {"name": "ovn-a-0", "interfaces": ["uuid", "i1"],
                        "external_ids": ["map", [["ovn-chassis-id", "a@10.0.0.1"]]]},
                 "p2": {"name": "vif", "interfaces": ["uuid", "i2"],
                        "external_ids": ["map", [["ovn-chassis-id", "b@10.0.0.2"]]]},
                 "p3": {"name": "ovn-c-0", "interfaces": ["set", [["uuid", "i3"]]],
                        "external_ids": ["map", []]}},
        "Interface": {"i1": {"type": "geneve"}, "i2": {"type": "internal"},
                      "i3": {"type": "vxlan"}},
    }
    texts = {t: json.dumps(rows).encode() for t, rows in tables.items()}
    # only a port that names its chassis and whose every interface is a tunnel
    assert tunnel_rows(texts) == {"p1", "i1"}
    assert tunnel_rows({"Port": texts["Port"]}) == set()
    # text that is not what ovsdb writes: nothing left out (the reader reads it and says)
    assert tunnel_rows({**texts, "Interface": b'{"i1": [1,'}) == set()
