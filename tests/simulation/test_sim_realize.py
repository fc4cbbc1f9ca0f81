"""realize(): local datapaths, patch ports and events per chassis, on real DB files."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers.sim_snapshots import Cluster, host_setup, vif
from ovnguard.model.snapshot import Snapshot
from ovnguard.simulation import realize
from ovnguard.simulation.types import HostRealization

pytestmark = pytest.mark.realdb

PHYS = "physnet1:br-ex,physnet2:br-public"
LOCALNET = ("lsp-add {ls} {p} -- lsp-set-type {p} localnet -- lsp-set-addresses {p} unknown "
            "-- lsp-set-options {p} network_name={net}")


def ln(ls: str, port: str, net: str) -> str:
    return LOCALNET.format(ls=ls, p=port, net=net)


def cluster(tmp: Path, mappings: dict[str, str | None] | None = None,
            bridges: tuple[str, ...] = ("br-ex", "br-public")) -> Cluster:
    mappings = mappings or {f"compute{i}": PHYS for i in (1, 2, 3)}
    hosts = {h: host_setup(f"ch{h[-1]}", h, m, f"10.0.0.{h[-1]}", bridges)
             for h, m in mappings.items()}
    sb = []
    for h in mappings:
        sb += [f"chassis-add ch{h[-1]} geneve 10.0.0.{h[-1]}",
               f"set chassis ch{h[-1]} hostname={h}"]
    return Cluster(tmp, hosts, sb=tuple(sb))


def ports(hr: HostRealization) -> set[tuple[str, str]]:
    return {(p.bridge, p.port) for p in hr.patch_ports}


def pair(lport: str, bridge: str) -> set[tuple[str, str]]:
    return {("br-int", f"patch-br-int-to-{lport}"), (bridge, f"patch-{lport}-to-br-int")}


def provider(c: Cluster, vm_host: str | None = "compute1") -> Snapshot:
    c.nbctl("ls-add neutron-aaa", ln("neutron-aaa", "provnet-123", "physnet2"),
            "lsp-add neutron-aaa vm1")
    if vm_host:
        c.vsctl(vm_host, vif("tap1", "vm1"))
    return c.snapshot()


def test_vif_makes_localnet_realized_only_on_its_chassis(tmp_path: Path) -> None:
    with cluster(tmp_path) as c:
        s = provider(c)
    r = realize(s)
    assert r.ovn_version == "23.03"
    h1 = r.hosts["compute1"]
    assert h1.chassis == "ch1"
    assert ports(h1) == pair("provnet-123", "br-public")
    assert set(h1.local_datapaths) == {"neutron-aaa"}
    assert set(h1.bound_ports) == {"vm1"}
    assert h1.events == ()
    for h in ("compute2", "compute3"):
        assert r.hosts[h].patch_ports == frozenset() and not r.hosts[h].local_datapaths
    # The chain names its sources: the host's conf.db, NB, and the mapping.
    (pp,) = [p for p in h1.patch_ports if p.bridge == "br-public"]
    assert (pp.lport, pp.network_name) == ("provnet-123", "physnet2")
    chain = h1.why[pp]
    conf = s.hosts["compute1"].files["conf.db"]
    assert (chain[0].source, chain[0].table, chain[0].row) == (conf, "Interface", "tap1")
    assert "external_ids:iface-id=vm1" in chain[0].fact
    assert any(e.table == "Logical_Switch_Port" and e.row == "provnet-123"
               and e.source == s.nb.source and "network_name physnet2" in e.fact
               for e in chain)
    assert any(e.row == "external_ids:ovn-bridge-mappings" and e.source == conf
               and "maps physnet2 to br-public" in e.fact for e in chain)
    assert "patch-provnet-123-to-br-int on br-public" in chain[-1].fact
    assert h1.local_datapaths["neutron-aaa"][0] == chain[0]


def test_no_vif_means_nothing_anywhere(tmp_path: Path) -> None:
    with cluster(tmp_path) as c:
        s = provider(c, vm_host=None)
    r = realize(s)
    for hr in r.hosts.values():
        assert hr.patch_ports == frozenset() and hr.events == () and not hr.local_datapaths


def test_unmapped_network_name_logs_once_and_creates_nothing(tmp_path: Path) -> None:
    with cluster(tmp_path) as c:
        provider(c)
        c.nbctl(ln("neutron-aaa", "ln-phynet2", "phynet2"))
        s = c.snapshot()
    h1 = realize(s).hosts["compute1"]
    assert ports(h1) == pair("provnet-123", "br-public")
    (ev,) = h1.events
    assert (ev.level, ev.lport) == ("INFO", "ln-phynet2")
    assert ev.message == ("bridge not found for localnet port 'ln-phynet2' with network name "
                          "'phynet2'; skipping")
    # Hosts where the switch is not local log nothing (patch.c skips non-local datapaths).
    assert realize(s).hosts["compute2"].events == ()


def test_mapping_to_missing_bridge(tmp_path: Path) -> None:
    m = "physnet1:br-ex,physnet2:br-public"
    with cluster(tmp_path, {"compute1": m}, bridges=("br-ex",)) as c:
        s = provider(c)
    h1 = realize(s).hosts["compute1"]
    assert h1.patch_ports == frozenset()
    assert dict(h1.bridge_mappings) == {"physnet1": "br-ex"}
    msgs = [(e.level, e.message) for e in h1.events]
    assert msgs == [
        ("WARN", "Bridge 'br-public' not found for network 'physnet2'"),
        ("INFO", "bridge not found for localnet port 'provnet-123' with network name "
                 "'physnet2'; skipping"),
    ]


def test_malformed_mapping_makes_later_entries_ignored(tmp_path: Path) -> None:
    m = "physnet1:br-ex,physnet9,physnet2:br-public"
    with cluster(tmp_path, {"compute1": m}) as c:
        c.nbctl("ls-add sw1", ln("sw1", "ln-p1", "physnet1"), "lsp-add sw1 vm2")
        c.vsctl("compute1", vif("tap2", "vm2"))
        s = provider(c)
    h1 = realize(s).hosts["compute1"]
    assert ports(h1) == pair("ln-p1", "br-ex")  # physnet2 came after the bad entry
    err = [e for e in h1.events if e.level == "ERR"]
    assert [e.message for e in err] == [f"Invalid ovn-bridge-mappings configuration: '{m}'"]
    assert any(e.lport == "provnet-123" and "network name 'physnet2'" in e.message
               for e in h1.events)


def test_duplicate_localnet_creates_both_pairs_and_warns(tmp_path: Path) -> None:
    with cluster(tmp_path) as c:
        provider(c)
        c.nbctl(ln("neutron-aaa", "ln-physnet2", "physnet2"))
        s = c.snapshot()
    assert s.sb is not None
    key = next(int(d["tunnel_key"]) for d in s.sb.rows("Datapath_Binding"))
    h1 = realize(s).hosts["compute1"]
    assert ports(h1) == pair("provnet-123", "br-public") | pair("ln-physnet2", "br-public")
    (ev,) = h1.events
    assert ev.level == "WARN" and ev.lport == "ln-physnet2"
    assert ev.message == (f"localnet port 'provnet-123' already set for datapath '{key}', "
                          "skipping the new port 'ln-physnet2'.")


def routed(c: Cluster, gateway: str | None = None, nat: bool = False) -> None:
    """public (provider, localnet physnet1) -- router r1 -- internal (vm1 on compute1)."""
    c.nbctl("ls-add public", ln("public", "ln-public", "physnet1"),
            "ls-add internal", "lsp-add internal vm1",
            "lr-add r1",
            "lrp-add r1 lrp-int 00:00:00:00:01:01 192.168.1.1/24",
            "lrp-add r1 lrp-pub 00:00:00:00:02:01 172.24.4.1/24",
            "lsp-add internal int-r1 -- lsp-set-type int-r1 router -- "
            "lsp-set-addresses int-r1 router -- lsp-set-options int-r1 router-port=lrp-int",
            "lsp-add public pub-r1 -- lsp-set-type pub-r1 router -- "
            "lsp-set-addresses pub-r1 router -- lsp-set-options pub-r1 router-port=lrp-pub")
    if gateway == "dgp":
        c.nbctl("lrp-set-gateway-chassis lrp-pub ch2 20",
                "lrp-set-gateway-chassis lrp-pub ch3 10",
                "lr-nat-add r1 snat 172.24.4.1 192.168.1.0/24")
    elif gateway == "l3gw":
        c.nbctl("set logical_router r1 options:chassis=ch2")
    if nat:
        c.nbctl("lsp-add internal vm9",
                "lr-nat-add r1 dnat_and_snat 172.24.4.9 192.168.1.9 vm9 00:00:00:00:09:09")
    c.vsctl("compute1", vif("tap1", "vm1"))


def test_router_peer_pulls_provider_switch_local(tmp_path: Path) -> None:
    with cluster(tmp_path) as c:
        routed(c)
        s = c.snapshot()
    r = realize(s)
    h1 = r.hosts["compute1"]
    assert set(h1.local_datapaths) == {"internal", "r1", "public"}
    assert ports(h1) == pair("ln-public", "br-ex")
    chain = h1.local_datapaths["public"]
    assert chain[0].row == "tap1" and chain[1].row == "vm1"
    assert any("reaches r1 through int-r1" in e.fact for e in chain)
    assert any("reaches public through lrp-pub" in e.fact for e in chain)
    assert r.hosts["compute2"].patch_ports == frozenset()


def test_dgp_switch_local_only_on_gateway_chassis(tmp_path: Path) -> None:
    with cluster(tmp_path) as c:
        routed(c, gateway="dgp")
        s = c.snapshot()
    r = realize(s)
    h1 = r.hosts["compute1"]
    # 23.03: the VM's chassis has the router (internal's router port is a plain patch) but
    # not the provider switch (cr-lrp-pub has always-redirect and ch1 is not in its group).
    assert set(h1.local_datapaths) == {"internal", "r1"}
    assert h1.patch_ports == frozenset()
    for h in ("compute2", "compute3"):
        hr = r.hosts[h]
        assert set(hr.local_datapaths) == {"internal", "r1", "public"}, h
        assert ports(hr) == pair("ln-public", "br-ex")
        assert "cr-lrp-pub" in hr.bound_ports
        chain = hr.local_datapaths["public"]
        assert any(e.table == "Gateway_Chassis" and e.row == f"lrp-pub-ch{h[-1]}"
                   for e in chain)
        assert any("always-redirect=true" in e.fact for e in chain)


def test_dgp_with_distributed_fip_makes_switch_local_on_vm_chassis(tmp_path: Path) -> None:
    with cluster(tmp_path) as c:
        routed(c, gateway="dgp", nat=True)
        s = c.snapshot()
    r = realize(s)
    h1 = r.hosts["compute1"]
    assert set(h1.local_datapaths) == {"internal", "r1", "public"}
    assert ports(h1) == pair("ln-public", "br-ex")
    assert any(e.table == "NAT" for e in h1.local_datapaths["public"])


def test_l3_gateway_router(tmp_path: Path) -> None:
    with cluster(tmp_path) as c:
        routed(c, gateway="l3gw")
        s = c.snapshot()
    r = realize(s)
    h1, h2 = r.hosts["compute1"], r.hosts["compute2"]
    assert set(h1.local_datapaths) == {"internal"} and h1.patch_ports == frozenset()
    assert set(h2.local_datapaths) == {"internal", "r1", "public"}
    assert ports(h2) == pair("ln-public", "br-ex")
    assert {"lrp-pub", "lrp-int", "pub-r1", "int-r1"} <= set(h2.bound_ports)
    assert r.hosts["compute3"].local_datapaths == {}


def test_localport_does_not_make_datapath_local(tmp_path: Path) -> None:
    with cluster(tmp_path) as c:
        provider(c, vm_host=None)
        c.nbctl("lsp-add neutron-aaa meta -- lsp-set-type meta localport")
        c.vsctl("compute3", vif("tapmeta", "meta"))
        s = c.snapshot()
    h3 = realize(s).hosts["compute3"]
    assert h3.local_datapaths == {} and h3.patch_ports == frozenset() and h3.bound_ports == {}


def test_l2gateway_port_on_its_chassis(tmp_path: Path) -> None:
    with cluster(tmp_path) as c:
        provider(c, vm_host=None)
        c.nbctl("lsp-add neutron-aaa l2gw -- lsp-set-type l2gw l2gateway -- "
                "lsp-set-options l2gw network_name=physnet1 l2gateway-chassis=ch2")
        s = c.snapshot()
    r = realize(s)
    h2 = r.hosts["compute2"]
    assert set(h2.local_datapaths) == {"neutron-aaa"}
    assert ports(h2) == pair("l2gw", "br-ex") | pair("provnet-123", "br-public")
    for h in ("compute1", "compute3"):
        assert r.hosts[h].patch_ports == frozenset()


def test_external_port_is_local_on_ha_group_members(tmp_path: Path) -> None:
    with cluster(tmp_path) as c:
        provider(c, vm_host=None)
        c.nbctl("ha-chassis-group-add grp", "ha-chassis-group-add-chassis grp ch3 30",
                "lsp-add neutron-aaa bm1 -- lsp-set-type bm1 external")
        grp = c.nb.run("--bare --columns=_uuid find ha_chassis_group name=grp").strip()
        c.nbctl(f"set logical_switch_port bm1 ha_chassis_group={grp}")
        s = c.snapshot()
    r = realize(s)
    assert ports(r.hosts["compute3"]) == pair("provnet-123", "br-public")
    assert r.hosts["compute1"].patch_ports == frozenset()


def test_requested_chassis_elsewhere_means_not_bound(tmp_path: Path) -> None:
    with cluster(tmp_path) as c:
        provider(c)
        c.nbctl("lsp-set-options vm1 requested-chassis=compute2")
        s = c.snapshot()
    h1 = realize(s).hosts["compute1"]
    assert h1.patch_ports == frozenset() and h1.bound_ports == {}
    (ev,) = h1.events
    assert ev.message == ("Not claiming lport vm1, chassis ch1 requested-chassis compute2 "
                          "pb->chassis ")


def test_container_port_binds_with_its_parent(tmp_path: Path) -> None:
    with cluster(tmp_path) as c:
        provider(c)
        c.nbctl("ls-add trunk-net", ln("trunk-net", "ln-trunk", "physnet1"),
                "lsp-add trunk-net sub1 vm1 101")
        s = c.snapshot()
    h1 = realize(s).hosts["compute1"]
    assert set(h1.bound_ports) == {"vm1", "sub1"}
    assert ports(h1) == pair("provnet-123", "br-public") | pair("ln-trunk", "br-ex")


def test_one_iface_id_on_two_interfaces_warns(tmp_path: Path) -> None:
    with cluster(tmp_path) as c:
        provider(c)
        c.vsctl("compute1", vif("tap1b", "vm1"))
        s = c.snapshot()
    h1 = realize(s).hosts["compute1"]
    assert ports(h1) == pair("provnet-123", "br-public")
    (ev,) = h1.events
    assert ev.level == "WARN" and ev.message.startswith(
        "Invalid configuration: iface-id is configured on interfaces : [")


def test_missing_system_id_realizes_nothing(tmp_path: Path) -> None:
    with cluster(tmp_path) as c:
        provider(c)
        c.vsctl("compute1", "remove open_vswitch . external_ids system-id")
        s = c.snapshot()
    h1 = realize(s).hosts["compute1"]
    assert h1.chassis is None and h1.patch_ports == frozenset()
    assert [e.message for e in h1.events] == ["'system-id' in Open_vSwitch database is missing."]


def test_host_without_ovs_db_falls_back_to_sb(tmp_path: Path) -> None:
    with cluster(tmp_path) as c:
        provider(c, vm_host=None)
        c.sbctl("lsp-bind vm1 ch2",
                'set chassis ch2 other_config:ovn-bridge-mappings="physnet2:br-public"')
        s = c.snapshot()
    hosts = dict(s.hosts)
    hosts["compute2"] = type(hosts["compute2"])("compute2")  # no conf.db collected
    s = Snapshot(s.nb, s.sb, hosts, s.source)
    h2 = realize(s).hosts["compute2"]
    assert h2.based_on == "sb"
    assert ports(h2) == pair("provnet-123", "br-public")
    assert any("SB" in n for n in h2.notes)
    assert h2.bound_ports["vm1"][0].table == "Port_Binding"
