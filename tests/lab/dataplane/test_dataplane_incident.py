"""The seed incident with real packets: a duplicate localnet port on Neutron's provider
switch loops compute1's br-ex through br-int, and management reachability goes with it.

What is asserted is what was measured on this machine (OVS 3.1 userspace datapath, OVN
23.03; docs/dataplane.md has the numbers). Probes are "cold" (ARP caches flushed first):
the loop only bites once a broadcast crosses compute1's br-ex, and a cold probe is such a
broadcast, as any ARP after a cache timeout on a real LAN is.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from ovnguard.lab.dataplane import DataplaneLab, Matrix, format_matrix
from ovnguard.lab.process import wait_until
from ovnguard.lab.topology import (
    SEED_NETWORK_ID,
    Bridge,
    Host,
    Logical,
    Management,
    SwitchPort,
    Topology,
    seed_logical,
    seed_topology,
)

pytest_plugins = ("helpers.dataplane_fixtures",)

pytestmark = [pytest.mark.lab, pytest.mark.dataplane]

DataplaneFactory = Callable[..., DataplaneLab]

SWITCH = f"neutron-{SEED_NETWORK_ID}"
DUPLICATE = "ln-physnet2"
# The seed's commands with the typo fixed (`phynet2` would match no mapping and do nothing).
ADD_DUPLICATE = [
    "lsp-add", SWITCH, DUPLICATE,
    "--", "lsp-set-type", DUPLICATE, "localnet",
    "--", "lsp-set-addresses", DUPLICATE, "unknown",
    "--", "lsp-set-options", DUPLICATE, "network_name=physnet2",
]  # fmt: skip
BREX_PATCH = f"patch-{DUPLICATE}-to-br-int"
BRINT_PATCH = f"patch-br-int-to-{DUPLICATE}"


def _involving(m: Matrix, host: str) -> dict[tuple[str, str], bool]:
    return {k: v for k, v in m.items() if host in k}


def _cut_off(m: Matrix, host: str) -> bool:
    return not any(_involving(m, host).values())


def _failed(m: Matrix) -> set[tuple[str, str]]:
    return {k for k, ok in m.items() if not ok}


def _vswitchd_cpu(dp: DataplaneLab) -> float:
    return sum(v for k, v in dp.cpu_seconds().items() if k.endswith("/ovs-vswitchd"))


def _rounds(
    dp: DataplaneLab, until: Callable[[Matrix], bool], timeout: float
) -> tuple[float, list[Matrix]]:
    """Cold reachability rounds until `until(matrix)` or timeout: (seconds, every matrix)."""
    t0 = time.monotonic()
    seen: list[Matrix] = []
    while True:
        m = dp.reachability()
        seen.append(m)
        if until(m) or time.monotonic() - t0 > timeout:
            return time.monotonic() - t0, seen


@contextmanager
def _duplicate(dp: DataplaneLab) -> Iterator[None]:
    """The duplicate exists only inside the block; whatever happens, it and the loop it
    made are gone afterwards (NB row, and compute1's patch port through the console)."""
    dp.nbctl(*ADD_DUPLICATE)
    try:
        yield
    finally:
        dp.nbctl("--if-exists", "lsp-del", DUPLICATE)
        for host in dp.host_names:
            dp.vsctl(host, "--if-exists", "del-port", "br-ex", BREX_PATCH)


@pytest.mark.timeout(90)
def test_seed_incident_in_band_lsp_del_cannot_reach_the_looped_host(
    dataplane_factory: DataplaneFactory,
) -> None:
    """ovn-controller talks to the SB over the management LAN (as in the seed cluster).
    The duplicate cuts compute1 off, its SB session dies with it, and `lsp-del` then never
    reaches compute1's ovn-controller, so its loop stays; deleting the patch port on
    compute1 itself (the console) ends it."""
    t_start = time.monotonic()
    dp = dataplane_factory(control="management")
    before = dp.reachability()
    print("before:\n" + format_matrix(before))
    assert all(before.values())
    cpu0, t0 = _vswitchd_cpu(dp), time.monotonic()
    collateral: set[tuple[str, str]] = set()

    def sb_session() -> str:
        return dp.appctl_controller("compute1", "connection-status").strip()

    with _duplicate(dp):
        # Real ovn-controller realizes both localnet ports on compute1's br-ex.
        assert wait_until(lambda: BREX_PATCH in dp.chassis_ports("compute1")["br-ex"], 5)
        ports = dp.chassis_ports("compute1")["br-ex"]
        assert len([p for p in ports if p.startswith("patch-")]) == 2, ports

        took, seen = _rounds(dp, lambda m: _cut_off(m, "compute1"), timeout=15)
        print(f"compute1 cut off {took:.1f}s after the duplicate:\n" + format_matrix(seen[-1]))
        assert _cut_off(seen[-1], "compute1")

        # Why: br-ex learned a management MAC on a patch port (the looped broadcast came
        # back in through patch B), so unicast to that MAC goes into br-int.
        macs = {dp.mac_of(n): n for n in ("central", "controller", "network", "compute1")}
        wrong = {
            (port, macs[mac])
            for port, _, mac in dp.mac_table("compute1")
            if mac in macs and port.startswith("patch-")
        }
        print("compute1 br-ex learned on patch ports:", sorted(wrong))
        assert wrong

        # ovn-controller's SB session over that LAN dies too (its inactivity probe: ~10 s).
        # Before that, an lsp-del may still get through (seen once in a few runs).
        more, seen2 = _rounds(dp, lambda m: sb_session() != "connected", timeout=25)
        print(f"compute1's SB session lost {took + more:.1f}s after the duplicate")
        assert sb_session() == "not connected"
        for m in seen + seen2:
            collateral |= {k for k in _failed(m) if "compute1" not in k}

        dp.nbctl("lsp-del", DUPLICATE)
        t_del = time.monotonic()
        assert DUPLICATE not in dp.nbctl("lsp-list", SWITCH)
        _, after_del = _rounds(dp, lambda m: False, timeout=8)
        print(f"{time.monotonic() - t_del:.1f}s after lsp-del:\n" + format_matrix(after_del[-1]))
        # The fix never arrived: compute1's ovn-controller is cut off from the SB by the
        # very loop it should remove.
        assert BREX_PATCH in dp.chassis_ports("compute1")["br-ex"]
        assert _cut_off(after_del[-1], "compute1")
        assert sb_session() == "not connected"
        for m in after_del:
            collateral |= {k for k in _failed(m) if "compute1" not in k}

        # The console (compute1's own OVSDB over its unix socket) breaks the loop.
        dp.vsctl("compute1", "del-port", "br-ex", BREX_PATCH)
        t_fix = time.monotonic()
        took, seen = _rounds(dp, lambda m: all(m.values()), timeout=15)
        print(f"all reachable {took:.1f}s after the console fix")
        assert all(seen[-1].values()), (
            format_matrix(seen[-1]) + f"\ncompute1 ports {dp.chassis_ports('compute1')}, "
            f"SB session {sb_session()}"
        )
    cpu = _vswitchd_cpu(dp) - cpu0
    window = time.monotonic() - t0

    # Once connected again, compute1's ovn-controller gets the lsp-del and removes the
    # br-int half of the pair it could not remove before.
    assert wait_until(lambda: sb_session() == "connected", 20)
    assert wait_until(lambda: BRINT_PATCH not in dp.chassis_ports("compute1")["br-int"], 10)
    print(f"SB reconnected {time.monotonic() - t_fix:.1f}s after the console fix")
    print("collateral failures between other nodes:", sorted(collateral))
    print(f"vswitchd CPU {cpu:.2f}s over {window:.1f}s; cgroup {dp.cgroup_stat()}")
    if dp.state.cgroup:
        assert dp.state.limits.cpus is not None
        assert cpu <= dp.state.limits.cpus * window + 0.5
    total = time.monotonic() - t_start
    print(f"test wall time {total:.1f}s")
    assert total < 60


@pytest.mark.timeout(60)
def test_seed_incident_out_of_band_control_lsp_del_recovers(
    dataplane_factory: DataplaneFactory,
) -> None:
    """Same incident with ovn-controller reaching the SB over a path the loop cannot cut
    (a separate control network; here the SB's unix socket): `lsp-del` alone recovers."""
    t_start = time.monotonic()
    dp = dataplane_factory(control="local")
    assert all(dp.reachability().values())
    with _duplicate(dp):
        took, seen = _rounds(dp, lambda m: _cut_off(m, "compute1"), timeout=15)
        print(f"compute1 cut off {took:.1f}s after the duplicate:\n" + format_matrix(seen[-1]))
        assert _cut_off(seen[-1], "compute1")
        dp.nbctl("lsp-del", DUPLICATE)
        t_del = time.monotonic()
        # ovn-controller removes the pair within moments, the LAN relearns with the next
        # packets.
        assert wait_until(lambda: BREX_PATCH not in dp.chassis_ports("compute1")["br-ex"], 5)
        took, seen = _rounds(dp, lambda m: all(m.values()), timeout=10)
        print(
            f"patch gone; all reachable {time.monotonic() - t_del:.1f}s after lsp-del:\n"
            + format_matrix(seen[-1])
        )
        assert all(seen[-1].values())
    total = time.monotonic() - t_start
    print(f"test wall time {total:.1f}s")
    assert total < 45


def _two_looped_hosts() -> Topology:
    """The seed plus a VM port on `network`: the provider switch is then local on two
    hosts, and the duplicate loops both."""
    seed = seed_topology(3)
    vm2 = SwitchPort(
        switch=SWITCH,
        name="vm2-port",
        addresses=["fa:16:3e:00:00:22 203.0.113.22"],
        bound_to="network",
    )
    logical = Logical(switches=seed.logical.switches, ports=[*seed.logical.ports, vm2])
    return Topology(hosts=seed.hosts, logical=logical)


@pytest.mark.timeout(60)
def test_storm_between_two_looped_hosts_is_bounded(
    dataplane_factory: DataplaneFactory,
) -> None:
    """Two looped hosts on one LAN feed each other: a self-sustaining broadcast storm from
    ovn-controller's own GARPs, no probe needed. The lab's limits hold it: the lab's
    ovs-vswitchd together get `limits.cpus` CPUs (cgroup), every LAN link a token bucket;
    `lsp-del` (control plane out of band) ends it."""
    t_start = time.monotonic()
    dp = dataplane_factory(_two_looped_hosts(), control="local")
    assert all(dp.reachability().values())

    def lan_packets() -> int:
        return sum(c["from_node_packets"] for c in dp.lan_counters().values())

    def lan_drops() -> int:
        return sum(c["dropped_to_node"] for c in dp.lan_counters().values())

    loop_before = _cpu_loop()
    throttled0 = dp.cgroup_stat().get("nr_throttled", 0)
    drops0 = lan_drops()
    samples: list[tuple[float, float, float]] = []  # (t, packets/s, vswitchd CPUs)
    with _duplicate(dp):
        t0, p0, c0 = time.monotonic(), lan_packets(), _vswitchd_cpu(dp)
        last = (t0, p0, c0)
        while time.monotonic() - t0 < 4.0:
            time.sleep(0.5)
            now = (time.monotonic(), lan_packets(), _vswitchd_cpu(dp))
            dt = now[0] - last[0]
            samples.append((now[0] - t0, (now[1] - last[1]) / dt, (now[2] - last[2]) / dt))
            last = now
        window, cpu = last[0] - t0, last[2] - c0
        slow = _cpu_loop() / loop_before
        for t, pps, cpus in samples:
            print(f"t={t:4.1f}s LAN {pps:8.0f} packets/s  vswitchd {cpus:.2f} CPUs")
        during = dp.reachability()
        print("during the storm:\n" + format_matrix(during))
        dp.nbctl("lsp-del", DUPLICATE)
        t_del = time.monotonic()
        quiet = wait_until(lambda: _pps(lan_packets, 0.5) < 200, 5, 0.1)
        print(f"storm over {time.monotonic() - t_del:.1f}s after lsp-del: {quiet}")
        assert quiet
    took, seen = _rounds(dp, lambda m: all(m.values()), timeout=10)
    assert all(seen[-1].values()), format_matrix(seen[-1])
    print(f"all reachable again {took:.1f}s after the storm ended")

    peak = max(pps for _, pps, _ in samples)
    throttled = dp.cgroup_stat().get("nr_throttled", 0) - throttled0
    print(
        f"peak {peak:.0f} packets/s; vswitchd {cpu:.2f} CPU-s in {window:.1f}s "
        f"(limit {dp.state.limits.cpus}); cgroup throttled {throttled} periods; "
        f"token buckets dropped {lan_drops() - drops0} packets"
    )
    # A real storm (idle LAN: a few packets/s), that really was held by the limits.
    assert peak > 2000
    assert not all(during.values())
    # Whichever limit binds first holds it: the token buckets drop what exceeds the rate,
    # or the cgroup throttles ovs-vswitchd before the storm reaches the rate (a clean-clone
    # CI run: 16k packets/s at peak, 57 throttled periods, no packet dropped).
    assert lan_drops() - drops0 > 0 or throttled > 0
    if dp.state.cgroup:
        assert dp.state.limits.cpus is not None
        assert cpu <= dp.state.limits.cpus * window * 1.2 + 0.2
    # The machine stayed usable: the same pure-Python loop, before and during the storm.
    print(f"a CPU-bound loop took {slow:.2f}x as long during the storm")
    assert slow < 4
    total = time.monotonic() - t_start
    print(f"test wall time {total:.1f}s")
    assert total < 60


def _cpu_loop() -> float:
    """Seconds a fixed bit of pure-Python work takes (best of 3)."""
    best = float("inf")
    for _ in range(3):
        t = time.perf_counter()
        sum(i * i for i in range(200_000))
        best = min(best, time.perf_counter() - t)
    return best


def _pps(counter: Callable[[], int], interval: float) -> float:
    a = counter()
    time.sleep(interval)
    return (counter() - a) / interval


def _nic_separated() -> Topology:
    """The operator's fix from the seed: management NIC enp6s18 outside OVS, physnet1 on
    br-ex (eth1), physnet2 on br-public (eth2); same logical topology."""
    names = ["controller", "network", "compute1"]
    hosts = [
        Host(
            name=n,
            bridges=[
                Bridge(name="br-ex", ports=["eth1"]),
                Bridge(name="br-public", ports=["eth2"]),
            ],
            nics=["enp6s18"],
            bridge_mappings="physnet1:br-ex,physnet2:br-public",
            management=Management(
                address=ipaddress.IPv4Interface(f"10.10.0.{21 + i}/24"), interface="enp6s18"
            ),
        )
        for i, n in enumerate(names)
    ]
    return Topology(hosts=hosts, logical=seed_logical(names))


@pytest.mark.timeout(60)
def test_nic_separation_keeps_management_when_the_duplicate_loops(
    dataplane_factory: DataplaneFactory,
) -> None:
    """Same mistake after NIC separation: the loop is on br-public's segment, management
    reachability (and the SB session over it) is untouched."""
    dp = dataplane_factory(_nic_separated(), control="management")
    assert all(dp.reachability().values())

    def public_packets() -> int:
        return dp.lan_counters()["compute1/eth2"]["from_node_packets"]

    p0 = public_packets()
    with _duplicate(dp):
        dp.lab.wait_hv(timeout=10)
        ports = dp.chassis_ports("compute1")["br-public"]
        assert BREX_PATCH in ports and len([p for p in ports if p.startswith("patch-")]) == 2
        # The loop is real: one broadcast (ovn-controller's GARP for the VM) crossing
        # compute1's br-public comes out of eth2 64 times (OVS's translation depth).
        assert wait_until(lambda: public_packets() - p0 >= 64, 10, 0.1)
        rounds = [dp.reachability() for _ in range(3)]
        print(f"{public_packets() - p0} packets from compute1 into the public segment")
        print(format_matrix(rounds[-1]))
        assert all(all(m.values()) for m in rounds)
        assert dp.appctl_controller("compute1", "connection-status").strip() == "connected"
        dp.nbctl("lsp-del", DUPLICATE)
        assert wait_until(lambda: BREX_PATCH not in dp.chassis_ports("compute1")["br-public"], 5)
