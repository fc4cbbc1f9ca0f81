"""The data-plane lab against real daemons and real packets: up, reachability, teardown,
two labs side by side, clean-up after a crash."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from ovnguard.errors import LabError
from ovnguard.lab import netns
from ovnguard.lab.dataplane import DataplaneLab, cleanup_stale, format_matrix, lab_id_for
from ovnguard.lab.process import is_alive, wait_until

pytest_plugins = ("helpers.dataplane_fixtures",)

pytestmark = [pytest.mark.lab, pytest.mark.dataplane]

DataplaneFactory = Callable[..., DataplaneLab]
Leftovers = Callable[[Path], list[str]]

NODES = ["central", "controller", "network", "compute1"]


@pytest.mark.timeout(60)
def test_up_every_node_reaches_every_other_then_down_leaves_nothing(
    dataplane_factory: DataplaneFactory, dp_leftovers: Leftovers
) -> None:
    t0 = time.monotonic()
    dp = dataplane_factory()
    up_s = time.monotonic() - t0
    print(f"up in {up_s:.2f}s")
    assert sorted(dp.namespaces) == sorted(
        netns.namespace_name(dp.lab_id, r) for r in ["lan", *NODES]
    )
    assert {n: str(a) for n, a in dp.hosts.items()} == {
        "controller": "10.10.0.21",
        "network": "10.10.0.22",
        "compute1": "10.10.0.23",
    }
    # The management address really is on br-ex's tap inside the host's namespace, and the
    # host's NIC is a veth that OVS's userspace datapath drives.
    addr = dp.exec("compute1", "ip", "-4", "-o", "addr", "show", "dev", "br-ex")
    assert "10.10.0.23/24" in addr
    assert dp.vsctl("compute1", "get", "Bridge", "br-ex", "datapath_type").strip() == "netdev"
    assert dp.vsctl("compute1", "get", "Bridge", "br-int", "datapath_type").strip() == "netdev"
    assert "netdev@ovs-netdev" in dp.appctl_vswitchd("compute1", "dpctl/show")
    assert "veth" in dp.exec("compute1", "ip", "-d", "link", "show", "enp6s18")
    # Every ovs-vswitchd runs at the storm limit's niceness (nice adds to ours), the other
    # daemons at ours.
    pids, ours = dp.lab.pids(), os.getpriority(os.PRIO_PROCESS, 0)
    for host in dp.host_names:
        vswitchd = os.getpriority(os.PRIO_PROCESS, pids[f"{host}/ovs-vswitchd"])
        assert vswitchd == min(19, ours + dp.state.limits.nice), host
        assert os.getpriority(os.PRIO_PROCESS, pids[f"{host}/ovn-controller"]) == ours
    # Every LAN link is rate-limited at both ends (the storm bound), OVS ports included.
    for node, ifname in (("compute1", "enp6s18"), ("central", "eth0")):
        assert "tbf" in dp.exec(node, "tc", "qdisc", "show", "dev", ifname)
    lan_qdiscs = dp.exec("router", "tc", "qdisc", "show")
    assert lan_qdiscs.count("qdisc tbf") == 4, lan_qdiscs
    # ovn-controller reaches the SB over the management LAN.
    assert dp.vsctl("compute1", "get", "Open_vSwitch", ".", "external_ids:ovn-remote").strip() == (
        '"tcp:10.10.0.10:6642"'
    )
    assert dp.appctl_controller("compute1", "connection-status").strip() == "connected"
    # The seed's realization: the provnet pair on compute1 only (its VIF makes it local).
    assert any(p.startswith("patch-provnet-") for p in dp.chassis_ports("compute1")["br-ex"])
    assert not any(p.startswith("patch-") for p in dp.chassis_ports("controller")["br-ex"])

    icmp = dp.reachability(kind="icmp")
    print(format_matrix(icmp))
    assert len(icmp) == 12 and all(icmp.values())
    tcp = dp.reachability(kind="tcp", cold=False)
    print(format_matrix(tcp))
    assert len(tcp) == 12 and all(tcp.values())
    assert dp.ping("compute1", "router")
    assert dp.ping("central", "10.10.0.23", count=2)
    assert dp.tcp_probe("controller", "compute1")
    # Nothing listens there, and nothing answers outside the lab's LAN.
    assert not dp.tcp_probe("controller", "compute1", port=23)
    assert not dp.ping("compute1", "10.10.0.99", timeout=0.5)

    run_dir = dp.run_dir
    t0 = time.monotonic()
    dp.down()
    print(f"down in {time.monotonic() - t0:.2f}s")
    assert dp_leftovers(run_dir) == []
    assert not any(f"-{dp.lab_id}-" in n for n in netns.list_namespaces())


@pytest.mark.timeout(60)
def test_two_labs_side_by_side_do_not_see_each_other(
    dataplane_factory: DataplaneFactory,
) -> None:
    """Same addresses, same interface names, different namespaces: no cross talk."""
    a = dataplane_factory(name="a")
    b = dataplane_factory(name="b", control="local")
    assert a.lab_id != b.lab_id
    assert not set(a.namespaces) & set(b.namespaces)
    assert all(a.reachability(cold=False).values())
    assert all(b.reachability(cold=False).values())
    # Different MACs answer for 10.10.0.23 in each lab: each LAN only knows its own hosts.
    mac_a, mac_b = a.mac_of("compute1"), b.mac_of("compute1")
    assert mac_a != mac_b
    assert mac_a in a.lan_mac_table() and mac_a not in b.lan_mac_table()
    b.down()
    assert all(a.reachability(cold=True).values())


@pytest.mark.timeout(90)
def test_crashed_lab_is_cleaned_up(tmp_path: Path, dp_leftovers: Leftovers) -> None:
    """A process that started a lab is killed with SIGKILL: daemons and namespaces live on.
    (1) Its daemons die too (kill -9): `up` in the same run dir finds the namespaces by
    their prefix and starts over. (2) Its run dir is deleted (pytest prunes old tmp dirs):
    `cleanup_stale()` removes everything."""
    if netns.why_unavailable():
        pytest.skip(netns.why_unavailable() or "")
    run_dir = tmp_path / "crash"
    code = (
        "import os, signal, sys\n"
        "from ovnguard.lab.dataplane import DataplaneLab\n"
        "DataplaneLab.up(None, sys.argv[1])\n"
        "print('up', flush=True)\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )

    def crash() -> list[str]:
        proc = subprocess.run(
            [sys.executable, "-c", code, str(run_dir)], capture_output=True, timeout=60
        )
        assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()[-2000:]
        prefix = netns.namespace_name(lab_id_for(run_dir), "")
        names = netns.list_namespaces(prefix)
        assert len(names) == 5
        return names

    # (1) owner and daemons killed.
    crash()
    daemons = _pids_mentioning(run_dir)
    assert daemons, "the lab's daemons should outlive their starter"
    for p in daemons:
        os.kill(p, signal.SIGKILL)
    assert wait_until(lambda: not any(is_alive(p) for p in daemons), 10)
    dp = DataplaneLab.up(None, run_dir)
    try:
        assert all(dp.reachability().values())
    finally:
        dp.down()
    assert dp_leftovers(run_dir) == []

    # (2) owner killed, run dir deleted while the daemons still run.
    names = crash()
    shutil.rmtree(run_dir)
    removed = cleanup_stale()
    assert set(names) <= set(removed)
    assert dp_leftovers(run_dir) == []


def _pids_mentioning(path: Path) -> list[int]:
    token = (str(path) + os.sep).encode()
    out = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                if token in Path(f"/proc/{entry.name}/cmdline").read_bytes():
                    out.append(int(entry.name))
            except OSError:
                pass
    return [p for p in out if is_alive(p)]


def test_a_running_lab_in_the_run_dir_is_an_error(
    dataplane_factory: DataplaneFactory, tmp_path: Path
) -> None:
    dataplane_factory(name="busy", control="local")
    with pytest.raises(LabError, match="already running"):
        DataplaneLab.up(None, tmp_path / "busy")
