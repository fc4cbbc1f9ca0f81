"""The `ip -j` readers against real iproute2 output: the captures in tests/fixtures/iproute/
(README there has the commands) and, live, a namespace built here and read back through
netlink by pyroute2 as an independent oracle."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from ovnguard.errors import InputError
from ovnguard.sources.iproute import (
    parse_addresses,
    parse_links,
    parse_routes,
    read_addresses,
    read_links,
    read_routes,
)

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "iproute"


def test_addresses_of_a_bridged_management_nic() -> None:
    addrs = read_addresses(FIX / "netns-addr.json")
    by_if: dict[str, set[tuple[str, int, str, str]]] = {}
    for a in addrs:
        by_if.setdefault(a.ifname, set()).add((a.address, a.prefixlen, a.family, a.scope))
    # From the capture commands: the address sits on br-ex, not on the enslaved NIC.
    assert ("10.10.0.21", 24, "inet", "global") in by_if["br-ex"]
    assert ("fd10::21", 64, "inet6", "global") in by_if["br-ex"]
    assert {f for _, _, f, s in by_if["enp6s18"] if s != "link"} == set()
    assert ("127.0.0.1", 8, "inet", "host") in by_if["lo"]
    assert ("172.24.4.5", 24, "inet", "global") in by_if["eth1"]
    assert "tap0" not in by_if  # no address at all: nothing to report
    assert next(a for a in addrs if a.address == "10.10.0.21").cidr == "10.10.0.21/24"


def test_routes_tables_default_multipath_blackhole() -> None:
    routes = read_routes(FIX / "netns-route.json")
    defaults = {(r.table, r.gateway, r.dev) for r in routes if r.dst == "default"}
    assert defaults == {("main", "10.10.0.1", "br-ex"), ("main", "fd10::1", "br-ex"),
                        ("100", "172.24.4.1", "eth1")}
    assert {r.dst for r in routes if r.table == "100"} == {"default", "192.168.50.0/24"}
    multi = {(r.gateway, r.dev) for r in routes if r.dst == "10.30.0.0/16"}
    assert multi == {("10.10.0.1", "br-ex"), ("172.24.4.1", "eth1")}
    (bh,) = (r for r in routes if r.dst == "10.99.0.0/16")
    assert (bh.type, bh.dev, bh.gateway) == ("blackhole", None, None)
    (static,) = (r for r in routes if r.dst == "10.20.0.0/16")
    assert (static.protocol, static.prefsrc, static.gateway) == (
        "static", "10.10.0.21", "10.10.0.254")
    local = [r for r in routes if r.table == "local"]
    assert local and all(r.type in ("local", "broadcast", "multicast") for r in local)
    kernel = next(r for r in routes if r.dst == "10.10.0.0/24")
    assert (kernel.scope, kernel.protocol, kernel.type) == ("link", "kernel", "unicast")


def test_links_kind_and_master() -> None:
    links = {lk.ifname: lk for lk in read_links(FIX / "netns-link.json")}
    assert (links["enp6s18"].kind, links["enp6s18"].master) == ("veth", "br-ex")
    assert (links["br-ex"].kind, links["br-ex"].master) == ("bridge", None)
    assert links["tap0"].kind == "tun" and links["vx0"].kind == "vxlan"
    assert links["lo"].kind is None
    # A bridge takes the MAC of its port (the mechanism behind a changing br-ex MAC).
    assert links["br-ex"].address == links["enp6s18"].address
    assert links["br-ex"].mtu == 1500 and links["br-ex"].operstate == "UP"


def test_host_capture() -> None:
    addrs = read_addresses(FIX / "host-addr.json")
    routes = read_routes(FIX / "host-route.json")
    links = read_links(FIX / "host-link.json")
    names = {lk.ifname for lk in links}
    assert {a.ifname for a in addrs} <= names
    assert {r.dev for r in routes if r.dev} <= names
    assert {r.table for r in routes} == {"main", "local"}
    assert any(a.family == "inet6" and a.scope == "global" for a in addrs)


def _mutate(name: str, fn: object) -> bytes:
    doc = json.loads((FIX / name).read_text())
    for entry in doc:
        fn(entry)  # type: ignore[operator]
    return json.dumps(doc, indent=2).encode()


def test_table_as_json_number() -> None:
    # iproute2 6.1 prints the table number as a string; others print an integer.
    def numeric(e: dict[str, object]) -> None:
        if e.get("table") == "100":
            e["table"] = 100

    raw = _mutate("netns-route.json", numeric)
    assert b'"table": 100' in raw
    assert {r.dst for r in parse_routes(raw, "r.json") if r.table == "100"} == {
        "default", "192.168.50.0/24"}


def test_optional_keys_may_be_missing() -> None:
    def strip(e: dict[str, object]) -> None:
        for k in list(e):
            if k not in ("dst", "ifname", "addr_info"):
                del e[k]
        for a in e.get("addr_info", []):  # type: ignore[attr-defined]
            for k in list(a):
                if k != "local":
                    del a[k]

    routes = parse_routes(_mutate("netns-route.json", strip), "r.json")
    assert all((r.table, r.type, r.dev) == ("main", "unicast", None) for r in routes)
    addrs = parse_addresses(_mutate("netns-addr.json", strip), "a.json")
    a = next(x for x in addrs if x.address == "fd10::21")
    assert (a.family, a.prefixlen, a.scope) == ("inet6", 128, "global")
    links = parse_links(_mutate("netns-link.json", strip), "l.json")
    assert all(lk.kind is None and lk.master is None for lk in links)


def test_link_show_without_details_has_no_kind() -> None:
    raw = subprocess.run(["ip", "-j", "link", "show"], capture_output=True, check=True).stdout
    links = parse_links(raw, "link.json")
    assert links and all(lk.kind is None for lk in links)


def test_pretty_printed_output_is_the_same() -> None:
    raw = (FIX / "netns-route.json").read_bytes()
    pretty = json.dumps(json.loads(raw), indent=4).encode()
    assert parse_routes(pretty, "p") == parse_routes(raw, "r")


@pytest.mark.parametrize(
    ("parser", "raw", "line", "fragment"),
    [
        (parse_addresses, b"", None, "empty file: expected the output of `ip -j addr show`"),
        (parse_addresses, b"1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536\n", 1, "not valid JSON"),
        (parse_routes, b'[{"dst": "default"},\n{"dst": }]', 2, "not valid JSON"),
        (parse_routes, b'{"dst": "default"}', 1, "expected a JSON array"),
        (parse_routes, b'[{"dev": "eth0"}]', None, "route entry 0 has no 'dst'"),
        (parse_links, b'[{"ifname": "lo"}, 3]', None, "entry 1 is int"),
        (parse_links, b'[{"mtu": 1500}]', None, "entry 0 has no 'ifname'"),
        (parse_addresses, b'[{"ifname": "eth0", "addr_info": [{"local": "10.1"}]}]', None,
         "'local' '10.1' is not an IP address"),
        (parse_addresses, b'[{"ifname": "eth0", "addr_info": {}}]', None,
         "'addr_info' is not a list"),
        (parse_routes, b'[{"dst": ["default"]}]', None, "'dst' is list"),
    ],
)
def test_malformed(parser: object, raw: bytes, line: int | None, fragment: str) -> None:
    with pytest.raises(InputError) as ei:
        parser(raw, "hosts/c1/x.json")  # type: ignore[operator]
    assert ei.value.path == "hosts/c1/x.json" and ei.value.line == line
    assert fragment in str(ei.value) and "\n" not in str(ei.value)


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        read_routes(tmp_path / "route.json")


# --- live: a namespace of our own, read by `ip -j` and by netlink (pyroute2) -------------

@pytest.fixture
def netns() -> Iterator[str]:
    name = f"ovng-iproute-{os.getpid()}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        for cmd in (
            "link set lo up",
            "link add br-ex type bridge",
            "link add enp6s18 type veth peer name uplink",
            "link set enp6s18 master br-ex",
            "link set enp6s18 up", "link set uplink up", "link set br-ex up",
            "addr add 10.77.0.21/24 dev br-ex",
            "-6 addr add fd77::21/64 dev br-ex nodad",
            "route add default via 10.77.0.1 dev br-ex",
            "route add 10.78.0.0/16 via 10.77.0.254 table 100",
            "route add blackhole 10.79.0.0/16",
        ):
            subprocess.run(["ip", "-n", name, *cmd.split()], check=True)
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], check=False)


def _ip(ns: str, *args: str) -> bytes:
    return subprocess.run(["ip", "-n", ns, "-j", *args], capture_output=True,
                          check=True).stdout


@pytest.mark.dataplane
def test_live_namespace_matches_netlink(netns: str) -> None:
    pyroute2 = pytest.importorskip("pyroute2")
    addrs = parse_addresses(_ip(netns, "addr", "show"), "addr.json")
    routes = parse_routes(_ip(netns, "route", "show", "table", "all"), "route.json")
    links = parse_links(_ip(netns, "-d", "link", "show"), "link.json")

    with pyroute2.NetNS(netns) as ns:
        nl_links = list(ns.get_links())
        nl_addrs = list(ns.get_addr())
        nl_routes = list(ns.route("dump"))
    names = {lk["index"]: lk.get_attr("IFLA_IFNAME") for lk in nl_links}

    def kind(lk: object) -> str | None:
        info = lk.get_attr("IFLA_LINKINFO")  # type: ignore[attr-defined]
        return info.get_attr("IFLA_INFO_KIND") if info else None

    assert {(lk.ifname, lk.kind, lk.master, lk.address, lk.mtu) for lk in links} == {
        (lk.get_attr("IFLA_IFNAME"), kind(lk), names.get(lk.get_attr("IFLA_MASTER")),
         lk.get_attr("IFLA_ADDRESS"), lk.get_attr("IFLA_MTU")) for lk in nl_links}

    fam = {2: "inet", 10: "inet6"}
    assert {(a.ifname, a.address, a.prefixlen, a.family) for a in addrs} == {
        (names[a["index"]], a.get_attr("IFA_LOCAL") or a.get_attr("IFA_ADDRESS"),
         a["prefixlen"], fam[a["family"]]) for a in nl_addrs}

    tables = {254: "main", 255: "local"}
    types = {1: "unicast", 2: "local", 3: "broadcast", 5: "multicast", 6: "blackhole"}

    def dst(r: object) -> str:
        n = r["dst_len"]  # type: ignore[index]
        if n == 0:
            return "default"
        d = r.get_attr("RTA_DST")  # type: ignore[attr-defined]
        return d if n == (32 if r["family"] == 2 else 128) else f"{d}/{n}"  # type: ignore[index]

    assert {(r.table, r.dst, r.gateway, r.dev, r.type) for r in routes} == {
        (tables.get(r.get_attr("RTA_TABLE"), str(r.get_attr("RTA_TABLE"))), dst(r),
         r.get_attr("RTA_GATEWAY"), names.get(r.get_attr("RTA_OIF")), types[r["type"]])
        for r in nl_routes}
    # And the facts the namespace was built with:
    assert ("br-ex", "10.77.0.21", 24, "inet") in {
        (a.ifname, a.address, a.prefixlen, a.family) for a in addrs}
    assert any(r.table == "100" and r.dst == "10.78.0.0/16" and r.gateway == "10.77.0.254"
               for r in routes)
    assert {lk.ifname: lk.master for lk in links}["enp6s18"] == "br-ex"
