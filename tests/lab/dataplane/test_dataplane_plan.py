"""The data-plane plan (pure): namespaces, segments, veths and addresses from a topology."""

from __future__ import annotations

import ipaddress

import pytest

from ovnguard.errors import InputError
from ovnguard.lab.dataplane import format_matrix, lab_id_for, plan_dataplane
from ovnguard.lab.topology import Bridge, Host, Management, Topology, parse_topology, seed_topology


def test_seed_plan_layout() -> None:
    plan = plan_dataplane(seed_topology(3), "ab12cd")
    assert plan.lan_netns == "ovng-ab12cd-lan"
    assert plan.namespaces() == [
        "ovng-ab12cd-lan",
        "ovng-ab12cd-central",
        "ovng-ab12cd-controller",
        "ovng-ab12cd-network",
        "ovng-ab12cd-compute1",
    ]
    assert plan.subnet == ipaddress.IPv4Network("10.10.0.0/24")
    # The hosts' default gateway is the LAN's router; central takes the first free .10+.
    assert str(plan.router.address) == "10.10.0.1/24"
    assert plan.router.netns == plan.lan_netns
    assert str(plan.central.address) == "10.10.0.10/24"
    assert {h.name: str(h.address) for h in plan.hosts} == {
        "controller": "10.10.0.21/24",
        "network": "10.10.0.22/24",
        "compute1": "10.10.0.23/24",
    }
    assert {h.interface for h in plan.hosts} == {"br-ex"}
    assert [s.name for s in plan.segments] == ["management"]
    assert [(lk.node, lk.ifname, lk.lan_ifname, lk.in_ovs) for lk in plan.links] == [
        ("central", "eth0", "c0", False),
        ("controller", "enp6s18", "h0n0", True),
        ("network", "enp6s18", "h1n0", True),
        ("compute1", "enp6s18", "h2n0", True),
    ]
    # Interface names inside the LAN namespace fit IFNAMSIZ.
    assert all(len(lk.lan_ifname) <= 15 for lk in plan.links)


def test_nic_separation_gets_its_own_segments() -> None:
    """The operator's fix: management NIC outside OVS, physnets on their own NICs. Each NIC
    name is its own segment, the management NICs share the management segment."""
    topo = parse_topology(
        """
hosts:
  - name: compute1
    bridges:
      - {name: br-ex, ports: [eth1]}
      - {name: br-public, ports: [eth2]}
    nics: [enp6s18]
    bridge_mappings: "physnet1:br-ex,physnet2:br-public"
    management: {address: 10.10.0.23/24, interface: enp6s18}
  - name: network
    bridges: [{name: br-ex, ports: [enp6s18]}]
    management: {address: 10.10.0.22/24, interface: br-ex}
"""
    )
    plan = plan_dataplane(topo, "000001")
    assert [(s.name, s.bridge) for s in plan.segments] == [
        ("management", "lan0"),
        ("eth1", "lan1"),
        ("eth2", "lan2"),
    ]
    c1 = {lk.ifname: (lk.segment, lk.in_ovs) for lk in plan.links if lk.node == "compute1"}
    assert c1 == {
        "eth1": ("eth1", True),
        "eth2": ("eth2", True),
        "enp6s18": ("management", False),
    }
    assert plan.node("compute1").interface == "enp6s18"
    assert plan.node("network").interface == "br-ex"


def _host(name: str, address: str, interface: str = "br-ex", **kw: object) -> Host:
    return Host(
        name=name,
        bridges=[Bridge(name="br-ex", ports=["enp6s18"])],
        management=Management(address=ipaddress.IPv4Interface(address), interface=interface),
        **kw,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    ("hosts", "message"),
    [
        (
            [_host("a", "10.10.0.21/24"), _host("b", "10.20.0.22/24")],
            "not in 10.10.0.0/24",
        ),
        (
            [_host("a", "10.10.0.21/24", interface="enp6s18")],
            "a port of an OVS bridge",
        ),
        ([_host("central", "10.10.0.21/24")], "reserved"),
        (
            [_host("a", "10.10.0.21/24"), _host("b", "10.10.0.21/24")],
            "also used by a",
        ),
        (
            [
                Host(
                    name="a",
                    bridges=[Bridge(name="br-ex")],
                    management=Management(
                        address=ipaddress.IPv4Interface("10.10.0.21/24"), interface="br-ex"
                    ),
                )
            ],
            "has no NIC",
        ),
        ([Host(name="a", bridges=[Bridge(name="br-ex", ports=["e0"])])], "no management"),
        (
            [
                _host("a", "10.10.0.21/24"),
                Host(name="b", bridges=[Bridge(name="br-ex", ports=["e0"])]),
            ],
            "host 'b' has no management",
        ),
    ],
)
def test_topologies_the_data_plane_cannot_build(hosts: list[Host], message: str) -> None:
    with pytest.raises(InputError) as e:
        plan_dataplane(Topology(hosts=hosts), "000001")
    assert message in str(e.value)
    assert str(e.value).startswith("<topology>: data-plane mode: ")


def test_gateway_that_is_a_host_is_refused() -> None:
    hosts = [
        _host("a", "10.10.0.1/24"),
        _host("b", "10.10.0.2/24"),
    ]
    # a's default gateway would be .2, which is b's address.
    with pytest.raises(InputError, match="cannot be the LAN's router"):
        plan_dataplane(Topology(hosts=hosts), "000001")


def test_lab_id_is_stable_per_run_dir() -> None:
    assert lab_id_for("/tmp/x/lab") == lab_id_for("/tmp/x/../x/lab")
    assert lab_id_for("/tmp/x/lab") != lab_id_for("/tmp/y/lab")
    assert len(lab_id_for("/tmp/x/lab")) == 6


def test_format_matrix() -> None:
    text = format_matrix({("central", "compute1"): False, ("compute1", "central"): True})
    assert text.splitlines() == [
        "          central compute1",
        "central         -     FAIL",
        "compute1       ok        -",
    ]
