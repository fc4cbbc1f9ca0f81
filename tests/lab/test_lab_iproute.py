"""The synthesized `ip -j` JSON has the shape real iproute2 prints on this machine."""

from __future__ import annotations

import json
import shutil
import subprocess
from typing import Any

import pytest

from ovnguard.lab import parse_topology, seed_topology
from ovnguard.lab.iproute import LabInterface, addr_json, devices, link_json, route_json

SEED_OVS = [
    LabInterface("br-ex", "internal", "br-ex", "06:e4:25:9a:40:41", 1500),
    LabInterface("enp6s18", "", "br-ex", "aa:55:aa:55:00:0e", 1500),
    LabInterface("patch-provnet-x-to-br-int", "patch", "br-ex"),
    LabInterface("br-int", "internal", "br-int", "2a:21:99:ad:1e:40", 1500),
    LabInterface("ovn-networ-0", "geneve", "br-int"),
    LabInterface("ovn-contro-0", "geneve", "br-int"),
    LabInterface("tap9a8b7c6d-5e", "internal", "br-int", "c2:11:22:33:44:55", 1500),
]


def _ip(*args: str) -> Any:
    if shutil.which("ip") is None:
        pytest.skip("iproute2 not installed")
    out = subprocess.run(["ip", "-j", *args], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def _compute1() -> Any:
    topo = seed_topology(3)
    return topo.host("compute1")


def test_loopback_is_exactly_what_the_kernel_prints() -> None:
    host = _compute1()
    ours = addr_json(devices(host, SEED_OVS))[0]
    real = _ip("addr", "show", "lo")[0]
    assert ours == real


def test_link_entries_have_real_keys_in_real_order() -> None:
    real = {e["ifname"]: e for e in _ip("-d", "link", "show")}
    ours = link_json(devices(_compute1(), SEED_OVS))
    assert list(ours[0]) == list(real["lo"])
    ether_real = next(e for e in real.values() if e.get("link_type") == "ether")
    real_keys = set().union(*(set(e) for e in real.values())) | {"master"}
    for entry in ours:
        assert set(entry) <= real_keys, entry["ifname"]
        order = [k for k in ether_real if k in entry]
        assert [k for k in entry if k in ether_real] == order


def test_addr_entries_have_real_keys() -> None:
    real = _ip("addr", "show")
    real_keys = set().union(*(set(e) for e in real)) | {"master"}
    real_info_keys = set().union(*(set(a) for e in real for a in e["addr_info"]))
    for entry in addr_json(devices(_compute1(), SEED_OVS)):
        assert set(entry) <= real_keys
        for info in entry["addr_info"]:
            assert set(info) <= real_info_keys


def test_management_address_default_route_and_connected_route() -> None:
    host = _compute1()
    devs = devices(host, SEED_OVS)
    addrs = {e["ifname"]: e for e in addr_json(devs)}
    inet = [a for a in addrs["br-ex"]["addr_info"] if a["family"] == "inet"]
    assert inet == [
        {
            "family": "inet",
            "local": "10.10.0.23",
            "prefixlen": 24,
            "broadcast": "10.10.0.255",
            "scope": "global",
            "label": "br-ex",
            "valid_life_time": 4294967295,
            "preferred_life_time": 4294967295,
        }
    ]
    assert addrs["enp6s18"]["master"] == "ovs-system"
    routes = route_json(host, devs)
    assert routes[0] == {"dst": "default", "gateway": "10.10.0.1", "dev": "br-ex", "flags": []}
    assert {
        "dst": "10.10.0.0/24",
        "dev": "br-ex",
        "protocol": "kernel",
        "scope": "link",
        "prefsrc": "10.10.0.23",
        "flags": [],
    } in routes


def test_routes_use_real_keys_and_loopback_routes_match_the_kernel() -> None:
    real = _ip("route", "show", "table", "all")
    real_keys = set().union(*(set(r) for r in real))
    ours = route_json(_compute1(), devices(_compute1(), SEED_OVS))
    for r in ours:
        assert set(r) <= real_keys
    real_lo = [r for r in real if r.get("dev") == "lo" and r.get("table") == "local"]
    ours_lo = [r for r in ours if r.get("dev") == "lo"]
    for r in ours_lo:
        assert r in real_lo


def test_kernel_devices_follow_the_ovs_kernel_datapath() -> None:
    names = [d.ifname for d in devices(_compute1(), SEED_OVS)]
    # Patch ports have no kernel device; all geneve ports share one.
    assert names == [
        "lo",
        "enp6s18",
        "ovs-system",
        "br-ex",
        "br-int",
        "genev_sys_6081",
        "tap9a8b7c6d-5e",
    ]
    link = {e["ifname"]: e for e in link_json(devices(_compute1(), SEED_OVS))}
    assert link["enp6s18"]["linkinfo"] == {"info_slave_kind": "openvswitch"}
    assert link["br-ex"]["linkinfo"] == {"info_kind": "openvswitch"}
    assert link["br-ex"]["operstate"] == "UNKNOWN"  # up: it holds the address
    assert link["br-int"]["operstate"] == "DOWN"


def test_nic_macs_are_unique_per_host_and_stable() -> None:
    topo = seed_topology(3)
    macs = [
        {e["ifname"]: e["address"] for e in addr_json(devices(h, SEED_OVS))}["enp6s18"]
        for h in topo.hosts
    ]
    assert len(set(macs)) == 3
    again = addr_json(devices(topo.hosts[0], SEED_OVS))
    assert {e["ifname"]: e["address"] for e in again}["enp6s18"] == macs[0]


def test_management_on_separate_nic() -> None:
    topo = parse_topology(
        "hosts:\n"
        "  - name: h1\n"
        "    nics: [enp6s18]\n"
        "    bridges: [{name: br-ex, ports: [eth1]}]\n"
        "    management: {address: 192.168.1.10/24, interface: enp6s18}\n"
    )
    host = topo.hosts[0]
    ovs = [
        LabInterface("br-ex", "internal", "br-ex", "06:00:00:00:00:01", 1500),
        LabInterface("eth1", "", "br-ex", "aa:55:aa:55:00:01", 1500),
    ]
    devs = devices(host, ovs)
    addrs = {e["ifname"]: e for e in addr_json(devs)}
    assert "master" not in addrs["enp6s18"]
    assert addrs["eth1"]["master"] == "ovs-system"
    assert [a["local"] for a in addrs["enp6s18"]["addr_info"] if a["family"] == "inet"] == [
        "192.168.1.10"
    ]
    assert route_json(host, devs)[0]["dev"] == "enp6s18"
