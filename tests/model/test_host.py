"""The host model: bridges, bridge mappings as ovn-controller parses them, management address
and its carrier, L2 segments -- from real conf.db files and real `ip -j` output."""

from pathlib import Path

import pytest

from helpers.rules_cluster import REMOTE, chassis_ids, host, incident_ovs, separated_ovs
from ovnguard.model.host import HostView, l2_segments, parse_remote_targets

pytestmark = pytest.mark.realdb


def test_incident_host_management_rides_br_ex(tmp_path: Path) -> None:
    v = HostView(host(tmp_path, "compute1", incident_ovs("compute1")))
    assert v.system_id == "compute1" and v.hostname == "compute1"
    assert v.ovn_remote == REMOTE and v.integration_bridge == "br-int"
    br = v.bridges["br-ex"]
    assert [n.name for n in br.nics] == ["enp6s18"]
    internal = br.interface("br-ex")
    assert internal is not None and internal.type == "internal"
    assert v.bridges["br-int"].fail_mode == "secure"
    m = v.management
    assert m is not None
    # No inventory: the route to ovn-remote's 10.10.0.10 is the connected 10.10.0.0/24 on
    # br-ex (longest prefix beats the default route), whose prefsrc is 10.10.0.21.
    assert (m.address, m.prefixlen, m.ifname, m.how) == (
        "10.10.0.21", 24, "br-ex", "route-to-ovn-remote")
    assert m.carrier is not None and m.carrier.kind == "bridge"
    assert m.bridge == "br-ex" and m.carrier.nics == ("enp6s18",)
    sources = {e.source for e in m.evidence}
    assert str(tmp_path / "hosts/compute1/conf.db") in sources
    assert any(s.endswith("compute1/route.json") for s in sources)
    assert v.mappings_raw == "physnet2:br-ex"


def test_management_from_inventory_and_default_route(tmp_path: Path) -> None:
    # Proxmox host: no OVS at all; default route picks vmbr0's address.
    px = HostView(host(tmp_path, "proxmox", None))
    assert px.management is not None
    assert (px.management.address, px.management.how) == ("10.10.0.2", "default-route")
    assert px.management.carrier is not None and px.management.carrier.kind == "unknown"
    # Inventory wins over routes; an inventory address the host does not hold (NAT, VIP) is
    # kept, said to be foreign, and carried by the interface the host answers it from.
    v = HostView(host(tmp_path, "compute3", separated_ovs("compute3"), inventory="10.10.0.31"))
    assert v.management is not None and v.management.how == "inventory"
    assert v.management.carrier is not None and v.management.carrier.kind == "outside-ovs"
    nat = HostView(host(tmp_path, "compute3b", separated_ovs("compute3b"),
                        iproute="compute3", inventory="198.51.100.7"))
    assert nat.management is not None and nat.management.address == "198.51.100.7"
    assert nat.management.ifname == "enp6s18" and nat.management.prefixlen is None
    assert any("not among" in e.fact for e in nat.management.evidence)
    assert any(e.fact.startswith("route to 198.51.100.7: default via 10.10.0.1")
               for e in nat.management.evidence)


def test_longest_prefix_route_to_remote_through_provider_bridge(tmp_path: Path) -> None:
    ovs = ["add-br br-ex -- add-port br-ex eth1",
           chassis_ids("compute6", "physnet1:br-ex", remote="tcp:172.16.0.10:6642")]
    v = HostView(host(tmp_path, "compute6", ovs))
    r = v.route_to("172.16.0.10")
    assert r is not None and r.route is not None
    assert (r.route.dst, r.dev, r.route.gateway) == ("172.16.0.0/16", "br-ex", "192.168.100.1")
    assert r.source is not None and r.source.address == "192.168.100.61"
    assert v.route_to("8.8.8.8").dev == "enp6s18"  # type: ignore[union-attr]
    # The management address is what the SB connection leaves from.
    assert v.management is not None and v.management.address == "192.168.100.61"


def test_ip_on_nic_that_is_an_ovs_port(tmp_path: Path) -> None:
    v = HostView(host(tmp_path, "compute4", ["add-br br-ex -- add-port br-ex enp6s18",
                                              chassis_ids("compute4", "physnet2:br-ex")]))
    m = v.management
    assert m is not None and m.ifname == "enp6s18"
    assert m.carrier is not None and (m.carrier.kind, m.bridge) == ("ovs-nic", "br-ex")


def test_l2_segments_group_hosts_by_management_subnet(tmp_path: Path) -> None:
    views = [
        HostView(host(tmp_path, n, incident_ovs(n))) for n in ("ctl1", "compute1", "compute2")
    ] + [HostView(host(tmp_path, "proxmox", None)),
         HostView(host(tmp_path, "compute6", ["add-br br-ex",
                                               chassis_ids("compute6", None, "unix:/x")]))]
    segs = l2_segments(views)
    assert [(s.subnet, s.hosts) for s in segs] == [
        ("10.10.0.0/24", ("compute1", "compute2", "compute6", "ctl1", "proxmox"))]
    assert all(e.host for e in segs[0].evidence)


def test_remote_targets() -> None:
    assert parse_remote_targets("tcp:10.0.0.5:6642,ssl:[fd00::5]:6642,unix:/run/sb.sock,"
                                "tcp:ctl.example:6642") == (
        ("tcp:10.0.0.5:6642", "10.0.0.5"), ("ssl:[fd00::5]:6642", "fd00::5"),
        ("unix:/run/sb.sock", None), ("tcp:ctl.example:6642", None))


def test_chassis_specific_option_overrides(tmp_path: Path) -> None:
    ovs = [*incident_ovs("compute1"),
           "set open . external_ids:ovn-remote-compute1=tcp:10.10.0.11:6642",
           "set open . external_ids:ovn-bridge-mappings-compute1=physnet1:br-ex"]
    v = HostView(host(tmp_path, "compute1", ovs))
    assert v.ovn_remote == "tcp:10.10.0.11:6642"
    assert (v.mappings_key, v.mappings_raw) == ("ovn-bridge-mappings-compute1",
                                                "physnet1:br-ex")
    assert v.mappings_evidence().row == "external_ids:ovn-bridge-mappings-compute1"


def test_not_collected_is_not_empty(tmp_path: Path) -> None:
    v = HostView(host(tmp_path, "proxmox", None))
    assert v.bridges == {} and v.carrier("vmbr0").kind == "unknown"
    assert v.mappings_raw is None
