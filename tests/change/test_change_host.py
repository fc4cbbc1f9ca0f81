"""`ip` lines read by iproute2's grammar (change/host.py): every form, its abbreviations,
and iproute2's own refusals, each with the line it came from."""

from __future__ import annotations

import pytest

from ovnguard.change import parse_change
from ovnguard.change.host import (
    AddrAdd,
    AddrDel,
    AddrFlush,
    LinkSet,
    RouteAdd,
    RouteDel,
    RouteReplace,
    RouteSpec,
    parse_ip,
)


def one(line: str) -> object:
    cmd = parse_ip(line.split())
    assert cmd.error is None and cmd.unknown is None, cmd
    (edit,) = cmd.edits
    return edit


@pytest.mark.parametrize("line", [
    "addr add 10.0.0.1/24 dev eth0", "address add 10.0.0.1/24 dev eth0",
    "a a 10.0.0.1/24 dev eth0", "a add local 10.0.0.1/24 dev eth0",
    "ad ad dev eth0 10.0.0.1/24", "-4 a a 10.0.0.1/255.255.255.0 dev eth0",
    "a a 10.0.0.1/24 brd + dev eth0 label eth0:1",
])
def test_addr_add_forms(line: str) -> None:
    e = one(line)
    assert isinstance(e, AddrAdd)
    assert (e.dev, e.cidr, e.family, e.mode) == ("eth0", "10.0.0.1/24", "inet", "add")


def test_addr_variants() -> None:
    assert one("a a 10.0.0.1 dev eth0") == AddrAdd("eth0", "10.0.0.1", 32, "inet")
    assert one("-6 addr add fd00::1/64 dev eth0 nodad").family == "inet6"  # type: ignore[attr-defined]
    assert one("a replace 10.0.0.1/24 dev eth0").mode == "replace"  # type: ignore[attr-defined]
    assert one("a chg 10.0.0.1/24 dev eth0").mode == "change"  # type: ignore[attr-defined]
    assert one("a a 10.0.0.1/24 dev e noprefixroute").noprefixroute  # type: ignore[attr-defined]
    assert one("a a fe80::1/64 dev e").scope == "link"  # type: ignore[attr-defined]
    assert one("a del 10.0.0.1/24 dev eth0") == AddrDel("eth0", "10.0.0.1", 24, "inet")
    # IPv4 without a length: iproute2's wildcard deletion (any length)
    assert one("a d 10.0.0.1 dev eth0") == AddrDel("eth0", "10.0.0.1", None, "inet")
    assert one("-6 a flush dev eth0") == AddrFlush("eth0", "inet6")
    assert one("a flush eth0") == AddrFlush("eth0", None)


def test_route_forms() -> None:
    default = RouteSpec("default", "inet", "eth0", "10.0.0.254", protocol="boot")
    for line in ("route add default via 10.0.0.254 dev eth0", "r a default via 10.0.0.254 "
                 "dev eth0", "ro add to default via 10.0.0.254 oif eth0",
                 "r a 0.0.0.0/0 via 10.0.0.254 dev eth0"):
        assert one(line) == RouteAdd(default), line
    assert one("r rep default via 10.0.0.254 dev eth0 metric 100 proto static") == \
        RouteReplace(RouteSpec("default", "inet", "eth0", "10.0.0.254", metric=100,
                               protocol="static"))
    assert one("r change 10.1.0.0/24 dev eth0") == RouteReplace(
        RouteSpec("10.1.0.0/24", "inet", "eth0", protocol="boot"), create=False)
    assert one("r d default") == RouteDel(RouteSpec("default", "inet"))
    assert one("-6 r add default via fd00::1 dev eth0").route.family == "inet6"  # type: ignore[attr-defined]
    assert one("-6 r del default").route.family == "inet6"  # type: ignore[attr-defined]
    assert one("r append 10.1.0.5 dev eth0").route.dst == "10.1.0.5/32"  # type: ignore[attr-defined]
    assert one("r a 10.1.0.0/24 dev eth0 mtu lock 1400 src 10.0.0.1").route.prefsrc == \
        "10.0.0.1"  # type: ignore[attr-defined]
    assert one("r a 10.1.0.0/24 via 10.0.0.2 dev e onlink").route.onlink  # type: ignore[attr-defined]


def test_link_forms() -> None:
    assert one("link set eth0 up") == LinkSet("eth0", up=True)
    assert one("l s dev eth0 down") == LinkSet("eth0", up=False)
    assert one("link set eth0 master br0") == LinkSet("eth0", master="br0")
    assert one("l s eth0 m br0") == LinkSet("eth0", master="br0")  # `m` is master
    assert one("l s eth0 nomaster") == LinkSet("eth0", nomaster=True)
    assert one("link set eth0 address 2:0:0:0:0:AA") == LinkSet("eth0", address="02:00:00:00:00:aa")
    assert one("link set eth0 addr 02:00:00:00:00:01 mtu 9000 up") == LinkSet(
        "eth0", up=True, address="02:00:00:00:00:01", mtu=9000)


@pytest.mark.parametrize("line", ["a", "addr show", "a s dev eth0", "r", "-6 r",
                                  "route get 10.0.0.1", "l", "link show eth0", "-j a",
                                  "-br -c a"])
def test_read_only(line: str) -> None:
    cmd = parse_ip(line.split())
    assert cmd.read_only and not cmd.edits and cmd.error is None


@pytest.mark.parametrize(("line", "error"), [
    ("a a 10.0.0.1/24", 'Not enough information: "dev" argument is required.'),
    ("-6 a a 10.0.0.1/24 dev x", 'Error: inet6 prefix is expected rather than "10.0.0.1/24".'),
    ("a a 10.0.0.1/24 dev", 'Command line is not complete. Try option "help"'),
    ("a bogus", 'Command "bogus" is unknown, try "ip address help".'),
    ("bogus", 'Object "bogus" is unknown, try "ip help".'),
    ("-q a", 'Option "-q" is unknown, try "ip -help".'),
    ("r a default via 10.0.0.1 via 10.0.0.2", 'use nexthop syntax to specify multiple via'),
    ("r a 10.0.0.0/24 10.1.0.0/24", 'Error: either "to" is duplicate, or "10.1.0.0/24" is a '
                                    "garbage."),
    ("l s eth0 address zz:00", '"zz" is invalid lladdr.'),
    ("a a nonsense dev x", 'Error: any valid address is expected rather than "nonsense".'),
])
def test_iproute2_refusals(line: str, error: str) -> None:
    cmd = parse_ip(line.split())
    assert cmd.error is not None and error in cmd.error
    assert not cmd.edits


@pytest.mark.parametrize("line", ["r a 10.0.0.0/24 nexthop via 1.1.1.1", "r flush dev x",
                                  "-n other a a 10.0.0.1/24 dev x", "link add br0 type bridge",
                                  "r a 10.0.0.0/24 dev x table 100", "l s x promisc on",
                                  "neigh add 10.0.0.1 lladdr 02:00:00:00:00:01 dev x",
                                  "r a blackhole 10.0.0.0/24", "-batch f"])
def test_unmodelled_is_unknown_not_rejected(line: str) -> None:
    cmd = parse_ip(line.split())
    assert cmd.unknown and cmd.error is None and not cmd.edits


def test_iproute2_refuses_the_same_lines() -> None:
    """The refusals above are the installed ip's: it refuses before touching the kernel."""
    import shutil
    import subprocess

    if shutil.which("ip") is None or shutil.which("unshare") is None:
        pytest.skip("no ip / unshare")
    # in a network namespace of its own (unshare): nothing here may touch the host's
    for line in ("a a 10.0.0.1/24", "-6 a a 10.0.0.1/24 dev lo", "a bogus", "bogus",
                 "-q a", "l s lo address zz:00"):
        r = subprocess.run(["unshare", "--net", "ip", *line.split()], capture_output=True,
                           text=True, check=False, timeout=10)
        assert r.returncode != 0
        assert (parse_ip(line.split()).error or "").strip() in r.stderr, (line, r.stderr)


def test_change_file_sections_and_locations() -> None:
    text = ("# host: compute1\nsudo ip a d 10.10.0.23/24 dev br-ex\n"
            "ip addr add 10.10.0.23/24 dev enp6s18 && ip r a default via 10.10.0.1 dev \\\n"
            "  enp6s18\n# host: compute2\nip link set eth9 up\nip a a 1.2.3.4/24\n")
    ch = parse_change(text, "fix.sh")
    hosts = [(i.location.line, i.host, i.tool) for i in ch.invocations]
    assert hosts == [(2, "compute1", "ip"), (3, "compute1", "ip"), (3, "compute1", "ip"),
                     (6, "compute2", "ip"), (7, "compute2", "ip")]
    assert ch.invocations[2].after == "&&"
    assert isinstance(ch.invocations[2].ip.edits[0], RouteAdd)  # type: ignore[union-attr]
    assert ch.invocations[4].ip.error == 'Not enough information: "dev" argument is required.'  # type: ignore[union-attr]
    assert ch.invocations[0].ip.edits[0].source.location.line == 2  # type: ignore[union-attr]


# --------------------------------------------------------------------------- never a traceback

_WORDS = ["ip", "a", "addr", "r", "route", "l", "link", "set", "add", "del", "replace",
          "change", "append", "flush", "show", "dev", "via", "src", "metric", "table", "up",
          "down", "master", "nomaster", "address", "mtu", "default", "to", "onlink", "-4",
          "-6", "-f", "inet6", "br-ex", "enp6s18", "10.10.0.23/24", "10.10.0.1", "fd00::1",
          "0.0.0.0/0", "255.255.255.0", "1500", "lock", "peer", "brd", "+", "nexthop", "",
          "-", "--", "/", "10.0.0.1/99", "zz:zz", "02:00:00:00:00:01", "local", "unicast",
          "blackhole", "help", "\x00", "é", "999999999999999999999"]


def test_parse_and_apply_never_raise() -> None:
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from ovnguard.change.hostapply import apply_edit
    from ovnguard.model.snapshot import HostState, IpAddress, IpLink, IpRoute

    state = HostState(
        "compute1",
        addresses=(IpAddress("br-ex", "10.10.0.23", 24, "inet"),),
        routes=(IpRoute("default", "br-ex", "10.10.0.1", family="inet"),
                IpRoute("10.10.0.0/24", "br-ex", None, "10.10.0.23", protocol="kernel",
                        scope="link", family="inet")),
        links=(IpLink("br-ex", "openvswitch", operstate="UNKNOWN"),
               IpLink("enp6s18", None, "ovs-system", "bc:24:11:d8:07:71", "UP")))

    @settings(max_examples=400, deadline=None)
    @given(st.lists(st.sampled_from(_WORDS) | st.text(max_size=8), max_size=12))
    def check(words: list[str]) -> None:
        cmd = parse_ip(words)
        assert sum(x is not None for x in (cmd.error, cmd.unknown)) <= 1
        for edit in cmd.edits:
            out = apply_edit(state, edit)
            assert out.error is None or isinstance(out.error, str)

    check()
