"""The host model's predictions held against the real kernel: each `ip` line is applied to
the model (change/hostapply.py) and, for real, with the installed `ip` in a network
namespace of its own; after every line the outcome (applied, or iproute2's error text) and
the main table's routes and the addresses must be the same."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
from collections.abc import Iterator

import pytest

from ovnguard.change.host import Source, parse_ip
from ovnguard.change.hostapply import apply_edit
from ovnguard.change.model import Location
from ovnguard.lab import netns
from ovnguard.model.host import HostView
from ovnguard.model.snapshot import HostState
from ovnguard.sources.iproute import parse_addresses, parse_links, parse_routes

pytestmark = pytest.mark.dataplane

# Not `ovng-`: that prefix is the lab's, whose clean-up removes namespaces it does not know.
NS = f"ovnghw{os.getpid()}"

# A host shaped like the incident's compute1: the management address on br-ex (a veth
# stands in for the OVS bridge's own port: the kernel routes over both alike; each peer is
# up so the links have carrier).
SETUP = [
    "link add enp6s18 address bc:24:11:d8:07:71 type veth peer name p6",
    "link add enp7s0 address bc:24:11:d8:07:72 type veth peer name p7",
    "link add br-ex address 7a:56:08:da:4d:4d type veth peer name pbr",
    "link set p6 up", "link set p7 up", "link set pbr up",
    "link set enp6s18 up", "link set br-ex up",
    "addr add 10.10.0.23/24 dev br-ex",
    "route add default via 10.10.0.1 dev br-ex",
    "-6 addr add fd00:10::23/64 dev br-ex nodad",
    "link add br0 type bridge", "link set br0 up",
]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", "-n", NS, *args], capture_output=True, text=True,
                          timeout=15, check=False)


@pytest.fixture()
def ns() -> Iterator[str]:
    if netns.why_unavailable():
        pytest.skip(netns.why_unavailable() or "")
    subprocess.run(["ip", "netns", "add", NS], check=True, timeout=15)
    try:
        for line in SETUP:
            r = _run(*shlex.split(line))
            assert r.returncode == 0, (line, r.stderr)
        yield NS
    finally:
        subprocess.run(["ip", "netns", "del", NS], check=False, timeout=15)


def _real_state() -> HostState:
    addrs = parse_addresses(_run("-j", "addr", "show").stdout.encode(), "addr")
    routes = parse_routes(_run("-j", "route", "show", "table", "all").stdout.encode(),
                          "route")
    links = parse_links(_run("-j", "-d", "link", "show").stdout.encode(), "link")
    return HostState("compute1", addresses=addrs, routes=routes, links=links)


def _comparable(s: HostState) -> tuple[set[tuple[object, ...]], set[tuple[object, ...]]]:
    """Global addresses and main-table unicast routes: what reachability depends on
    (link-local addresses and the local table are the kernel's bookkeeping)."""
    addrs = {(a.ifname, a.cidr) for a in s.addresses or () if a.scope == "global"}
    routes = {(r.dst, r.dev, r.gateway, r.prefsrc, r.protocol, r.scope, r.metric)
              for r in s.routes or () if r.table in ("main", "254") and r.type == "unicast"
              and not r.dst.startswith("fe80:")}
    return addrs, routes


# an operator on the management subnet, one behind its gateway, one on the other subnet
TARGETS = ("10.10.0.5", "192.0.2.7", "10.20.0.9")

LINES = [
    # the incident's naive host fix, in the naive order: the address leaves br-ex first
    "ip addr del 10.10.0.23/24 dev br-ex",
    "ip addr add 10.10.0.23/24 dev enp6s18",
    "ip route add default via 10.10.0.1 dev br-ex",      # br-ex has no subnet any more
    "ip r a default via 10.10.0.1 dev enp6s18",
    "ip route add default via 10.10.0.1 dev enp6s18",    # exists
    "ip a a 10.10.0.24/24 dev enp6s18",                  # a secondary: no new prefix route
    "ip a d 10.10.0.24/24 dev enp6s18",
    "ip addr del 10.10.0.99/24 dev enp6s18",             # not there
    "ip addr add 10.20.0.5/24 dev enp7s0",               # enp7s0 is down: no prefix route
    "ip route add 10.30.0.0/24 via 10.20.0.1 dev enp7s0",  # gateway not reachable yet
    "ip link set enp7s0 up",                             # the prefix route comes
    "ip route add 10.30.0.0/24 via 10.20.0.1 dev enp7s0",
    "ip route add 10.31.0.0/24 via 10.20.0.1",           # the device found by the gateway
    "ip route replace 10.30.0.0/24 via 10.20.0.1 dev enp7s0 metric 5",
    "ip route change 10.32.0.0/24 via 10.20.0.1 dev enp7s0",  # absent
    "ip route add 10.33.0.1/24 dev enp7s0",              # host bits set
    "ip route add 10.34.0.0/24 dev enp7s0 src 10.99.0.1",  # not a local address
    "ip link set enp7s0 down",                           # its routes go, addresses stay
    "ip link set enp7s0 up",                             # only the prefix route comes back
    "ip route del 10.31.0.0/24",                         # already flushed
    "ip route del default",
    "ip -6 route add default via fd00:10::1 dev br-ex",
    "ip -6 r add 2001:db8::/64 dev enp6s18",
    "ip -6 addr add fd00:20::5/64 dev enp6s18 nodad",
    "ip addr flush dev enp6s18",
    "ip link set enp6s18 address 02:00:00:00:00:aa",
    "ip link set br-ex down",
    "ip route add 10.40.0.0/24 dev br-ex",               # device down
    "ip addr add 10.10.0.23/24 dev nosuch0",
    "ip link set br-ex up",                              # IPv4 back, its IPv6 address not
    "ip -6 a a fd00:30::5/64 dev enp7s0 nodad",
    "ip -6 route add fd00:31::/64 via fd00:30::1 dev enp7s0",
    "ip -6 route add fd00:31::/64 via fd00:30::2 dev enp7s0",  # same metric: exists
    "ip -6 route del fd00:31::/64",
    "ip -6 addr del fd00:30::5/64 dev enp7s0",
    "ip link set enp7s0 master br0",
    "ip l s enp7s0 nomaster",
    "ip link set enp7s0 master nosuch1",
    "ip link set enp7s0 mtu 9000",
    "ip -4 addr add 10.50.0.1/32 dev enp7s0",            # a /32: no prefix route
    "ip addr add 10.51.0.1/24 dev enp7s0 noprefixroute",
    "ip link set enp7s0 down",
]


def test_model_follows_the_kernel_line_by_line(ns: str) -> None:
    state = _real_state()
    for n, line in enumerate(LINES, 1):
        words = shlex.split(line)[1:]
        cmd = parse_ip(words, Source(Location("t.sh", n), line))
        assert cmd.error is None and cmd.unknown is None, (line, cmd)
        real = _run(*words)
        predicted = state
        for edit in cmd.edits:
            out = apply_edit(predicted, edit)
            assert out.unknown is None, (line, out)
            if out.error is not None:
                assert real.returncode != 0, f"{line}: predicted {out.error!r}, ip succeeded"
                assert out.error in real.stderr, (line, out.error, real.stderr)
                break
            predicted = out.state
        else:
            assert real.returncode == 0, f"{line}: predicted success, ip said {real.stderr}"
        after = _real_state()
        assert _comparable(predicted) == _comparable(after), line
        # the route the host would answer an operator by: what host-cut-off relies on
        view = HostView(predicted)
        for target in TARGETS:
            m = view.route_to(target)
            got = _run("-j", "route", "get", target)
            real_dev = json.loads(got.stdout)[0].get("dev") if got.returncode == 0 else None
            assert (m.dev if m is not None else None) == real_dev, (line, target, got.stderr)
        # carry the kernel's own state on: one wrong line must not fail all after it
        state = predicted if _comparable(predicted) == _comparable(after) else after
