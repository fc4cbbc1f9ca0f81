"""The cut-off prediction held against real packets: a host and an operator in network
namespaces of their own on one LAN (a Linux bridge in the operator's namespace stands in for
the switch); after every line of a host change, the operator pings the host's management
address, and the ping answers exactly when the model says the host is not cut off."""

from __future__ import annotations

import os
import shlex
import subprocess
from collections.abc import Iterator

import pytest

from ovnguard.change.host import parse_ip
from ovnguard.change.hostapply import apply_edit
from ovnguard.findings.rules.hostchange import cut_off_reason
from ovnguard.lab import netns
from ovnguard.model.host import HostView
from ovnguard.model.snapshot import HostState
from ovnguard.sources.iproute import parse_addresses, parse_links, parse_routes

pytestmark = pytest.mark.dataplane

HOST = f"ovnghc{os.getpid()}h"
OPER = f"ovnghc{os.getpid()}o"
MGMT = "10.10.0.23"
OPERATOR = "10.10.0.5"


def _ip(ns: str, line: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", "-n", ns, *shlex.split(line)], capture_output=True,
                          text=True, timeout=15, check=False)


@pytest.fixture()
def lan() -> Iterator[None]:
    if netns.why_unavailable():
        pytest.skip(netns.why_unavailable() or "")
    for ns in (HOST, OPER):
        subprocess.run(["ip", "netns", "add", ns], check=True, timeout=15)
    try:
        setup = [
            (OPER, "link add lan0 type bridge"), (OPER, "link set lan0 up"),
            (OPER, f"link add pbr type veth peer name br-ex netns {HOST}"),
            (OPER, f"link add p6 type veth peer name enp6s18 netns {HOST}"),
            (OPER, "link set pbr master lan0"), (OPER, "link set p6 master lan0"),
            (OPER, "link set pbr up"), (OPER, "link set p6 up"),
            (OPER, f"addr add {OPERATOR}/24 dev lan0"),
            (HOST, "link set br-ex up"), (HOST, "link set enp6s18 up"),
            (HOST, f"addr add {MGMT}/24 dev br-ex"),
            (HOST, "route add default via 10.10.0.1 dev br-ex"),
        ]
        for ns, line in setup:
            r = _ip(ns, line)
            assert r.returncode == 0, (line, r.stderr)
        yield
    finally:
        for ns in (HOST, OPER):
            subprocess.run(["ip", "netns", "del", ns], check=False, timeout=15)


def _state() -> HostState:
    def j(*a: str) -> bytes:
        return _ip(HOST, "-j " + " ".join(a)).stdout.encode()

    return HostState("compute1", addresses=parse_addresses(j("addr", "show"), "a"),
                     routes=parse_routes(j("route", "show", "table", "all"), "r"),
                     links=parse_links(j("-d", "link", "show"), "l"))


def _answers() -> bool:
    _ip(OPER, "neigh flush all")
    r = subprocess.run(["ip", "netns", "exec", OPER, "ping", "-c1", "-W1", MGMT],
                       capture_output=True, timeout=15, check=False)
    return r.returncode == 0


LINES = [
    "ip addr add 10.10.0.23/24 dev enp6s18",     # on both links: still reachable
    "ip addr del 10.10.0.23/24 dev enp6s18",
    "ip addr del 10.10.0.23/24 dev br-ex",       # the incident's naive first line: cut off
    "ip addr add 10.10.0.23/24 dev enp6s18",     # back (the session would be gone by now)
    "ip link set enp6s18 down",                  # cut off again
    "ip link set enp6s18 up",                    # the prefix route comes back with it
]


def test_ping_answers_exactly_when_not_cut_off(lan: None) -> None:
    assert _answers()
    state = _state()
    seen = []
    for line in LINES:
        words = shlex.split(line)[1:]
        assert _ip(HOST, " ".join(words)).returncode == 0, line
        for edit in parse_ip(words).edits:
            state = apply_edit(state, edit).state
        predicted_cut = cut_off_reason(HostView(state), MGMT, OPERATOR)
        answers = _answers()
        assert answers == (predicted_cut is None), (line, predicted_cut)
        seen.append(answers)
    assert seen == [True, True, False, True, False, True]
