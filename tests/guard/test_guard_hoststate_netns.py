"""The host backup against the real kernel, in a network namespace of its own: capture,
break the host in every way the guard restores (a primary address deleted with its
secondaries, a `noprefixroute` address, a dynamic lifetime, routes through a gateway and
the default route, a link down, enslaved to a Linux bridge, a new MAC and MTU), restore, and
`ip -j addr` / `ip -j route show table main` print what they printed before."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator

import pytest

from ovnguard.lab import netns

pytestmark = [pytest.mark.timeout(120)]

SCRIPT = r"""
import json, subprocess, sys
from ovnguard.guard import hoststate

def ip(*a):
    subprocess.run(["ip", *a], check=True, capture_output=True)

ip("link", "add", "v0", "type", "veth", "peer", "name", "v1")
ip("link", "add", "v2", "type", "veth", "peer", "name", "v3")
ip("link", "add", "lb0", "type", "bridge")
# lb0 keeps a port of its own: an empty Linux bridge whose last port left stays NO-CARRIER
# until it is set down and up (seen here), which is not state the guard restores
ip("link", "set", "v2", "master", "lb0")
for d in ("v0", "v1", "v2", "v3", "lb0"):
    ip("link", "set", d, "up")
ip("addr", "add", "10.77.0.2/24", "dev", "v0")
ip("addr", "add", "10.77.0.3/24", "dev", "v0")             # secondary of .2
ip("addr", "add", "10.78.0.2/24", "dev", "v0", "noprefixroute")
ip("addr", "add", "10.79.0.2/24", "dev", "v0", "valid_lft", "600", "preferred_lft", "300")
ip("route", "add", "default", "via", "10.77.0.1", "dev", "v0")
ip("route", "add", "10.90.0.0/16", "via", "10.77.0.1", "dev", "v0", "metric", "50")
import time
for _ in range(100):  # carrier settles a moment after the links come up: back up after it
    if all(json.loads(subprocess.run(["ip", "-j", "link", "show", d], capture_output=True,
                                     text=True).stdout)[0]["operstate"] in ("UP", "UNKNOWN")
           for d in ("v0", "v1", "v2", "lb0")):
        break
    time.sleep(0.05)
before = hoststate.capture()

ip("addr", "del", "10.77.0.2/24", "dev", "v0")             # takes .3 and both routes along
ip("addr", "del", "10.78.0.2/24", "dev", "v0")
ip("addr", "add", "10.77.0.9/24", "dev", "v1")
ip("route", "add", "10.91.0.0/16", "dev", "v1")
ip("link", "set", "v0", "address", "02:00:00:00:00:99", "mtu", "1400")
ip("link", "set", "v0", "master", "lb0")
ip("link", "set", "v0", "down")
assert hoststate.changed(before)

result = hoststate.restore_and_verify(before, timeout=5, log=lambda m: print(m, file=sys.stderr))
print(json.dumps({"result": result,
                  "equal_addr": hoststate.ip_json("addr", "show") == before.ip_addr,
                  "equal_route": hoststate.ip_json("route", "show", "table", "main")
                  == before.ip_route}))
"""


@pytest.fixture
def ns() -> Iterator[str]:
    reason = netns.why_unavailable()
    if reason:
        pytest.skip(reason)
    name = f"ovng-hg-{uuid.uuid4().hex[:6]}"
    subprocess.run(["ip", "netns", "add", name], check=True, timeout=15)
    try:
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], check=False, timeout=15)


def test_restore_is_byte_for_byte_as_ip_shows_it(ns: str) -> None:
    import json

    p = subprocess.run(["ip", "netns", "exec", ns, sys.executable, "-c", SCRIPT],
                       capture_output=True, text=True, timeout=90,
                       env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    print(p.stderr)
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout.strip().splitlines()[-1])
    r = doc["result"]
    assert r["ok"], r
    assert r["differences"] == [] and r["errors"] == []
    # Not just equal modulo the documented exclusions: equal as printed (the dynamic
    # address's remaining lifetime aside, which counts down each second).
    assert doc["equal_route"]
    actions = " | ".join(r["actions"])
    for want in ("nomaster", "address 4e", "mtu 1500", "ip link set v0 up",
                 "ip addr add 10.77.0.2/24 dev v0", "ip addr add 10.77.0.3/24 dev v0",
                 "ip addr del 10.77.0.9/24 dev v1",  # (10.91/16 dev v1 goes with it)
                 "ip route replace default via 10.77.0.1 dev v0"):
        if want == "address 4e":
            assert "ip link set v0 address" in actions, actions
            continue
        assert want in actions, (want, actions)
