"""netlink (pyroute2) -> `ip -j` JSON, and iproute2 text -> `ip -j` JSON, both held against
real `ip -j` output of a namespace shaped like a compute node (the one the captures in
tests/fixtures/iproute/ come from: bridge holding the management address, a second NIC with
its own table, tap, vxlan, blackhole, multipath, a route with `src`, IPv6)."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from ovnguard.sources.iproute import parse_addresses, parse_links, parse_routes
from ovnguard.sources.iptext import parse_addr_oneline, parse_link_text, parse_route_text
from ovnguard.sources.netlink import read_ip_json

SETUP = """
ip -n {ns} link set lo up
ip -n {ns} link add br-ex type bridge
ip -n {ns} link add enp6s18 type veth peer name cap0
ip -n {ns} link set enp6s18 master br-ex
ip -n {ns} link set enp6s18 up
ip -n {ns} link set cap0 up
ip -n {ns} link set br-ex up
ip -n {ns} addr add 10.10.0.21/24 dev br-ex
ip -n {ns} -6 addr add fd10::21/64 dev br-ex nodad
ip -n {ns} route add default via 10.10.0.1 dev br-ex
ip -n {ns} -6 route add default via fd10::1 dev br-ex
ip -n {ns} tuntap add dev tap0 mode tap
ip -n {ns} link add vx0 type vxlan id 5 dstport 4789 local 10.10.0.21
ip -n {ns} link add eth1 type veth peer name eth1-peer
ip -n {ns} link set eth1 up
ip -n {ns} link set eth1-peer up
ip -n {ns} addr add 172.24.4.5/24 brd + dev eth1
ip -n {ns} addr add 172.24.4.6/24 dev eth1 label eth1:vip
ip -n {ns} route add 192.168.50.0/24 via 172.24.4.1 dev eth1 table 100
ip -n {ns} route add default via 172.24.4.1 dev eth1 table 100 metric 50
ip -n {ns} link set tap0 up
ip -n {ns} route add blackhole 10.99.0.0/16
ip -n {ns} route add 10.20.0.0/16 proto static via 10.10.0.254 src 10.10.0.21
ip -n {ns} route add 10.40.0.0/16 via 10.10.0.1 mtu 1400
ip -n {ns} link set vx0 up
ip -n {ns} route add 10.30.0.0/16 nexthop via 10.10.0.1 dev br-ex nexthop via 172.24.4.1 dev eth1
"""


@pytest.fixture(scope="module")
def compute_ns() -> Iterator[str]:
    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.skip("needs root and iproute2 (network namespaces)")
    ns = f"ovgc-{secrets.token_hex(3)}-cap"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        for line in SETUP.format(ns=ns).strip().splitlines():
            subprocess.run(line.split(), check=True, capture_output=True)
        yield ns
    finally:
        subprocess.run(["ip", "netns", "del", ns], check=True)


def ip(ns: str, *args: str) -> bytes:
    return subprocess.run(["ip", "-n", ns, *args], check=True, capture_output=True).stdout


def ip_j(ns: str, *args: str) -> list[dict[str, Any]]:
    return json.loads(ip(ns, "-j", *args))


def _same_keys_and_values(ours: list[dict[str, Any]], real: list[dict[str, Any]],
                          must: set[str]) -> None:
    assert len(ours) == len(real)
    for o, r in zip(ours, real, strict=True):
        # no invented key; every key we write has ip's exact value
        assert set(o) <= set(r), (o.get("ifname") or o.get("dst"), set(o) - set(r))
        for k, v in o.items():
            if k == "linkinfo":
                # info_data / info_slave_data are left out on purpose (module doc)
                assert v == {kk: r[k][kk] for kk in v}, (o.get("ifname"), v, r[k])
            else:
                assert v == r[k], (o.get("ifname") or o.get("dst"), k, v, r[k])
        assert must & set(r) <= set(o), (must & set(r)) - set(o)


def test_netlink_writes_exactly_what_ip_j_writes(compute_ns: str) -> None:
    ours = read_ip_json(compute_ns)
    addr, route, link = (ip_j(compute_ns, "addr", "show"),
                         ip_j(compute_ns, "route", "show", "table", "all"),
                         ip_j(compute_ns, "-d", "link", "show"))
    # `ip -j addr show` and `route show table all` are reproduced whole
    assert ours.addr == addr
    assert ours.route == route
    # `-d link` too, except kind-specific details; every key the bundle reader uses is there
    _same_keys_and_values(ours.link, link, {"ifname", "linkinfo", "master", "address",
                                            "operstate", "mtu", "flags", "link_type"})
    assert {lk["ifname"]: lk.get("linkinfo", {}).get("info_kind") for lk in ours.link} == {
        "lo": None, "br-ex": "bridge", "cap0": "veth", "enp6s18": "veth", "eth1": "veth",
        "eth1-peer": "veth", "tap0": "tun", "vx0": "vxlan"}
    # and the model read from both is the same
    files = ours.files()
    assert parse_addresses(files["addr.json"], "ours") == parse_addresses(
        orjson.dumps(addr), "ip")
    assert parse_routes(files["route.json"], "ours") == parse_routes(orjson.dumps(route), "ip")
    assert parse_links(files["link.json"], "ours") == parse_links(orjson.dumps(link), "ip")


def test_netlink_in_this_namespace_matches_ip_j() -> None:
    if shutil.which("ip") is None:
        pytest.skip("needs iproute2")
    ours = read_ip_json()
    real = json.loads(subprocess.run(["ip", "-j", "addr", "show"], check=True,
                                     capture_output=True).stdout)
    assert parse_addresses(ours.files()["addr.json"], "ours") == parse_addresses(
        orjson.dumps(real), "ip")


def test_text_forms_sos_keeps_give_the_same_model_as_ip_j(compute_ns: str) -> None:
    addr_j = orjson.dumps(ip_j(compute_ns, "addr", "show"))
    route_j = orjson.dumps(ip_j(compute_ns, "route", "show", "table", "all"))
    link_j = orjson.dumps(ip_j(compute_ns, "-d", "link", "show"))
    want_addr = parse_addresses(addr_j, "j")
    want_links = parse_links(link_j, "j")
    # sos: `ip -o addr`
    got = parse_addr_oneline(ip(compute_ns, "-o", "addr").decode(), "ip_-o_addr")
    assert parse_addresses(orjson.dumps(got), "t") == want_addr
    assert {i["label"] for e in got for i in e["addr_info"] if i["family"] == "inet"} >= {
        "eth1:vip", "br-ex"}
    # sos: `ip route show table all` (both families)
    got = parse_route_text(ip(compute_ns, "route", "show", "table", "all").decode(), "r")
    assert parse_routes(orjson.dumps(got), "t") == parse_routes(route_j, "j")
    # sos: `ip -s -d link` and `ip -d address` (links and addresses in one)
    links, _ = parse_link_text(ip(compute_ns, "-s", "-d", "link").decode(), "l")
    assert parse_links(orjson.dumps(links), "t") == want_links
    links, addrs = parse_link_text(ip(compute_ns, "-d", "address").decode(), "a")
    assert parse_links(orjson.dumps(links), "t") == want_links
    assert parse_addresses(orjson.dumps(addrs), "t") == want_addr


def test_text_parse_errors_name_the_file_and_line() -> None:
    from ovnguard.errors import InputError

    with pytest.raises(InputError, match=r"^r:2: unknown route attribute 'bogus'"):
        parse_route_text("default via 10.0.0.1 dev eth0\n10.0.0.0/8 bogus 1\n", "r")
    with pytest.raises(InputError, match=r"^a:1: not a line of `ip -o addr`"):
        parse_addr_oneline("hello world\n", "a")
    with pytest.raises(InputError, match=r"^l:1: not `ip link`/`ip address` output"):
        parse_link_text("    link/ether 00:11:22:33:44:55\n", "l")
