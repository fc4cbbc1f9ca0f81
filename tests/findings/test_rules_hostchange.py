"""Host changes in the what-if, on the seed bundle (the incident's cluster): the line after
which a host is cut off, the default route, the bridge MAC, enslaved links, the SB route
(host-state files: tests/change/test_change_hoststate.py)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

import ovnguard
from ovnguard.assess import assess
from ovnguard.change import parse_change
from ovnguard.change.executor import ModelExecutor, default_executor
from ovnguard.model.snapshot import IpLink, Snapshot
from ovnguard.report.schema import Report
from ovnguard.sources.bundle import load_bundle

SEED = Path(ovnguard.__file__).parent / "examples" / "seed" / "bundle"
NAIVE = """# host: compute1
ip addr del 10.10.0.23/24 dev br-ex
ip addr add 10.10.0.23/24 dev enp6s18
ip route add default via 10.10.0.1 dev enp6s18
ovs-vsctl del-port br-ex enp6s18
"""
# the same move, each step keeping compute1 reachable: the MAC pinned first, then the NIC out
# of br-ex, the address and the default route on it and off br-ex in one line
GOOD = """# host: compute1
ovs-vsctl set bridge br-ex other_config:hwaddr=7a:56:08:da:4d:4d
ovs-vsctl del-port br-ex enp6s18 && ip addr add 10.10.0.23/24 dev enp6s18 && \\
  ip route replace default via 10.10.0.1 dev enp6s18 && ip addr del 10.10.0.23/24 dev br-ex
"""


@pytest.fixture(scope="module")
def seed() -> Snapshot:
    return load_bundle(SEED)


def introduced(report: Report, rule: str) -> list:  # type: ignore[type-arg]
    return [f for f in report.findings if f.rule == rule and f.introduced_by_change]


@pytest.mark.parametrize("operator", [None, "10.10.0.5", "192.0.2.7"])
def test_naive_host_fix_is_dangerous_at_the_right_line(seed: Snapshot,
                                                       operator: str | None) -> None:
    report = assess(seed, parse_change(NAIVE, "fix.sh"), operator=operator).report
    assert report.verdict == "dangerous"
    (cut,) = introduced(report, "host-cut-off")
    assert cut.hosts == ["compute1"] and cut.change_lines == [2]
    assert "compute1" in cut.loses_management
    assert "10.10.0.23 is no longer on any interface" in cut.summary
    (gw,) = introduced(report, "default-route-lost")
    assert gw.change_lines == [2] and "line 4 adds one back" in gw.summary


def test_make_before_break_in_one_line_is_safe(seed: Snapshot) -> None:
    w = assess(seed, parse_change(GOOD, "fix.sh"), operator="192.0.2.7")
    assert w.report.verdict == "safe", [f.summary for f in w.report.findings
                                         if f.introduced_by_change]
    after = w.change_result.snapshot.hosts["compute1"]  # type: ignore[union-attr]
    assert [(a.ifname, a.cidr) for a in after.addresses or () if a.scope == "global"] == \
        [("enp6s18", "10.10.0.23/24")]
    assert any(r.dst == "default" and r.dev == "enp6s18" for r in after.routes or ())
    # the rules see the moved address: br-ex no longer carries the SB route
    resolved = {f.rule for f in w.report.findings if f.status == "resolved"}
    assert {"control-plane-via-provider-bridge", "mgmt-bridge-localnet"} <= resolved


def test_removing_the_nic_moves_the_bridge_mac_and_strands_the_address(seed: Snapshot) -> None:
    ch = parse_change("# host: compute1\novs-vsctl del-port br-ex enp6s18\n", "c.sh")
    report = assess(seed, ch).report
    (mac,) = introduced(report, "bridge-mac-moves")
    assert mac.change_lines == [2]
    # br-ex shows 7a:56:08:da:4d:4d (what the LAN knows); with no NIC left vswitchd picks a
    # random one
    assert "from 7a:56:08:da:4d:4d to a random local MAC" in mac.summary
    (cut,) = introduced(report, "host-cut-off")
    assert "no longer has a NIC" in cut.summary and cut.change_lines == [2]


def test_link_down_and_route_away_from_the_operator(seed: Snapshot) -> None:
    down = assess(seed, parse_change("# host: network\nip link set br-ex down\n", "c.sh"))
    (cut,) = introduced(down.report, "host-cut-off")
    assert cut.hosts == ["network"] and "br-ex is down" in cut.summary
    # the operator is off-subnet: deleting the default route cuts the host off from them
    ch = parse_change("# host: controller\n\nip r d default\n", "c.sh")
    far = assess(seed, ch, operator="192.0.2.7").report
    (cut,) = introduced(far, "host-cut-off")
    assert cut.change_lines == [3] and "no route back to 192.0.2.7" in cut.summary
    near = assess(seed, ch, operator="10.10.0.5").report  # on the management subnet
    assert not introduced(near, "host-cut-off")
    assert introduced(near, "default-route-lost")


def test_sb_route_moved_onto_the_provider_bridge(seed: Snapshot) -> None:
    moved = assess(seed, parse_change(GOOD, "fix.sh")).change_result
    assert moved is not None
    ch = parse_change("# host: compute1\nip route add 10.10.0.10/32 dev br-ex\n", "c.sh")
    report = assess(moved.snapshot, ch).report
    (f,) = introduced(report, "control-plane-via-provider-bridge")
    assert f.hosts == ["compute1"] and "leaves through br-ex" in f.summary


def test_enslaved_link_that_keeps_the_management_address(seed: Snapshot) -> None:
    moved = assess(seed, parse_change(GOOD, "fix.sh")).change_result
    assert moved is not None
    host = moved.snapshot.hosts["compute1"]
    with_br = moved.snapshot.with_host(replace(host, links=(
        *(host.links or ()), IpLink("br0", "bridge", None, "02:00:00:00:00:01", "UP"))))
    ch = parse_change("# host: compute1\nip link set enp6s18 master br0\n", "c.sh")
    report = assess(with_br, ch).report
    (f,) = introduced(report, "ip-on-enslaved-link")
    assert "enslaved to br0" in f.summary and f.loses_management == ["compute1"]
    (cut,) = introduced(report, "host-cut-off")
    assert cut.change_lines == [2]


def test_ip_lines_need_a_host_and_say_what_the_kernel_says(seed: Snapshot) -> None:
    ch = parse_change("ip a a 10.0.0.1/24 dev eth0\n# host: compute1\n"
                      "ip a a 10.0.0.1/24 dev nosuch0\nip r a 10.9.0.0/24 via 10.99.0.1\n"
                      "ip nexthop add id 1 dev br-ex\n", "c.sh")
    for ex in (ModelExecutor(), default_executor()):
        r = ex.apply(seed, ch)
        kinds = [(p.location.line, p.kind, p.message) for p in r.problems]
        assert kinds[0][:2] == (1, "unknown-host")
        assert kinds[1] == (3, "rejected", 'Cannot find device "nosuch0"')
        assert kinds[2] == (4, "rejected", "Error: Nexthop has invalid gateway.")
        assert kinds[3][:2] == (5, "unsupported-command")


def test_a_nic_joining_with_a_lower_mac_moves_the_bridge_mac(seed: Snapshot) -> None:
    host = seed.hosts["compute1"]
    nic = IpLink("enp7s0", None, None, "bc:24:11:00:00:01", "UP")
    with_nic = seed.with_host(replace(host, links=(*(host.links or ()), nic)))
    ch = parse_change("# host: compute1\n\novs-vsctl add-port br-ex enp7s0\n", "c.sh")
    report = assess(with_nic, ch).report
    (mac,) = introduced(report, "bridge-mac-moves")
    assert mac.change_lines == [3]
    assert "from 7a:56:08:da:4d:4d to bc:24:11:00:00:01" in mac.summary
    # pinned first (other_config:hwaddr), the same line moves nothing
    pinned = parse_change("# host: compute1\novs-vsctl set bridge br-ex "
                          "other_config:hwaddr=7a:56:08:da:4d:4d\n"
                          "ovs-vsctl add-port br-ex enp7s0\n", "c.sh")
    assert not introduced(assess(with_nic, pinned).report, "bridge-mac-moves")
    # a higher MAC joining moves nothing either
    high = seed.with_host(replace(host, links=(*(host.links or ()),
                                                replace(nic, address="bc:24:11:ff:00:01"))))
    assert not introduced(assess(high, ch).report, "bridge-mac-moves")


def test_ipv6_default_route_lost(seed: Snapshot) -> None:
    ch = parse_change("# host: network\nip -6 addr add fd00:10::22/64 dev br-ex nodad\n"
                      "ip -6 route add default via fd00:10::1 dev br-ex\n", "c.sh")
    added = assess(seed, ch).change_result
    assert added is not None
    lose = parse_change("# host: network\nip -6 r del default\n", "c.sh")
    (f,) = introduced(assess(added.snapshot, lose).report, "default-route-lost")
    assert "IPv6 default route (via fd00:10::1 dev br-ex) after line 2" in f.summary


def test_nic_that_holds_the_address_joining_ovs_cuts_at_its_line(seed: Snapshot) -> None:
    moved = assess(seed, parse_change(GOOD, "fix.sh")).change_result
    assert moved is not None
    ch = parse_change("# host: compute1\novs-vsctl set bridge br-ex other_config:hwaddr="
                      "7a:56:08:da:4d:4d\novs-vsctl add-port br-ex enp6s18\n", "c.sh")
    report = assess(moved.snapshot, ch, operator="10.10.0.5").report
    (cut,) = introduced(report, "host-cut-off")
    assert cut.change_lines == [3] and "port of OVS bridge br-ex" in cut.summary
    assert introduced(report, "ip-on-ovs-port")
    link = next(x for x in report_host_links(moved.snapshot, ch) if x.ifname == "enp6s18")
    assert link.master == "ovs-system"  # the kernel's view follows the Open_vSwitch DB


def report_host_links(snapshot: Snapshot, ch: object) -> tuple[IpLink, ...]:
    r = ModelExecutor().apply(snapshot, ch)  # type: ignore[arg-type]
    return r.snapshot.hosts["compute1"].links or ()


def test_host_without_collected_addresses_is_unknown(seed: Snapshot) -> None:
    bare = seed.with_host(replace(seed.hosts["compute1"], addresses=None, routes=None))
    r = ModelExecutor().apply(bare, parse_change(
        "# host: compute1\nip addr del 10.10.0.23/24 dev br-ex\n", "c.sh"))
    (p,) = r.problems
    assert p.kind == "unsupported-command" and "were not collected" in p.message
    assert r.applied[0].status == "unsupported"


def test_pinning_to_another_mac_than_the_bridge_shows_is_a_move(seed: Snapshot) -> None:
    # the MAC the host shows is the one the LAN knows, even where vswitchd's rule would
    # compute another (the NIC's): pinning the NIC's MAC moves it
    ch = parse_change("# host: compute1\novs-vsctl set bridge br-ex "
                      "other_config:hwaddr=bc:24:11:d8:07:71\n", "c.sh")
    (mac,) = introduced(assess(seed, ch).report, "bridge-mac-moves")
    assert "from 7a:56:08:da:4d:4d to bc:24:11:d8:07:71 after line 2" in mac.summary
