"""Issues 5 and 13 with real packets: `plan separate-nic` computed on the bundle of a running
seed cluster -- the physnet's own bridge and NIC, br-ex's MAC pinned, the management address
and default route moved from br-ex to its NIC -- then applied host by host through the guard
run ON each host (in its namespace, against its own Open_vSwitch socket), keeps every host
reachable after every host's part and moves compute1's provider patch port onto the new
bridge.

The data-plane lab is the seed cluster (br-ex = enp6s18 + the management address,
physnet2:br-ex, the provider switch's localnet port, a VIF on compute1) plus a second NIC
`eth2` on every host, wired to its own segment (the "public" network) and in no bridge yet:
the cable the operator connects before running the plan.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from helpers.guard_tools import NEEDED, SEED_PROVNET, GuardEnv, stop_watchers
from helpers.proc_tools import processes_mentioning
from ovnguard.lab import netns
from ovnguard.lab.dataplane import DataplaneLab, format_matrix, lab_id_for
from ovnguard.lab.export import export_bundle
from ovnguard.lab.process import wait_until
from ovnguard.lab.topology import Topology, seed_topology
from ovnguard.plan import load_for_plan, plan_separate_nic, write_files

pytestmark = [pytest.mark.lab, pytest.mark.dataplane, pytest.mark.timeout(150)]

PHYSNET = "physnet2"
NEW_BRIDGE = "br-public"
NIC = "eth2"
PROVNET_PATCH = f"patch-{SEED_PROVNET}-to-br-int"
# What ovn-controller logs when the naive ordering leaves its patch port on br-ex
# (docs/plan.md): the one failure the plan's step 2 exists to avoid.
CLASH = ("constraint violation", "identical values", "transaction error")


def _seed_with_spare_nic() -> Topology:
    """The seed cluster, each host with an unused NIC on a second segment (plan_dataplane
    gives every NIC outside the management one a segment named after it)."""
    topo = seed_topology(3)
    hosts = [h.model_copy(update={"nics": [*h.nics, NIC]}) for h in topo.hosts]
    return topo.model_copy(update={"hosts": hosts})


def _reachable(dp: DataplaneLab, label: str) -> None:
    m = dp.reachability()
    print(f"\n{label}:\n{format_matrix(m)}")
    assert all(m.values()), f"{label}: unreachable pairs {[k for k, ok in m.items() if not ok]}"


def test_separate_nic_plan_applied_with_the_guard_keeps_every_host_reachable(
    tmp_path: Path,
) -> None:
    reason = netns.why_unavailable()
    if reason:
        pytest.skip(reason)
    missing = [b for b in (*NEEDED, "ping") if shutil.which(b) is None]
    if missing:
        pytest.skip(f"needs the OVS/OVN/iputils Debian packages ({', '.join(missing)} missing)")
    run_dir = tmp_path / "dp"
    state_dir = tmp_path / "state"
    t0 = time.monotonic()
    try:
        # ovn-controller reaches the SB over the management LAN, as in the seed cluster: a
        # step that broke that LAN would also cut the control plane.
        dp = DataplaneLab.up(_seed_with_spare_nic(), run_dir, control="management")
        print(f"\nlab up in {time.monotonic() - t0:.1f}s (control=management)")
        _run(dp, tmp_path, state_dir)
    finally:
        stop_watchers(state_dir)
        DataplaneLab.down_dir(run_dir)
    assert processes_mentioning(tmp_path) == []
    names = os.listdir("/run/netns") if os.path.isdir("/run/netns") else []
    assert not [n for n in names if f"-{lab_id_for(run_dir)}-" in n]
    print(f"total {time.monotonic() - t0:.1f}s")


def _run(dp: DataplaneLab, tmp_path: Path, state_dir: Path) -> None:
    for h in dp.host_names:
        ports = dp.chassis_ports(h)
        assert NIC not in {p for ps in ports.values() for p in ps}, ports
    assert PROVNET_PATCH in dp.chassis_ports("compute1")["br-ex"]
    # The lab keeps a NIC inside OVS from answering ARP (arp_ignore=8: on the userspace
    # datapath the kernel still sees its frames, a real host's kernel datapath takes them).
    # The plan takes enp6s18 OUT of OVS, after which a real NIC answers for the address it
    # then holds: arp_ignore=1 (answer only for an address on this NIC) is both, faithfully.
    for h in dp.host_names:
        netns.sysctl(dp.netns_of(h), {"net/ipv4/conf/enp6s18/arp_ignore": "1"})
    _reachable(dp, "before the plan")

    bundle = export_bundle(dp.lab, tmp_path / "bundle")
    plan = plan_separate_nic(load_for_plan(bundle), PHYSNET, NEW_BRIDGE, NIC)
    assert plan.status == "proven", plan.verification.reasons if plan.verification else None
    written = write_files(plan, tmp_path / "plan")
    order = [p.host for p in plan.parts if p.steps]
    assert sorted(h for h in order if h) == sorted(dp.host_names)
    print(f"plan order: {order}")

    genv = GuardEnv(dp.lab, tmp_path, state_dir, bundle)
    probes = [a for addr in dp.hosts.values() for a in ("--probe", f"icmp:{addr}")]
    router = str(dp.plan.router.address.ip)
    macs = {h: dp.mac_of(h) for h in dp.host_names}
    for host in order:
        assert host is not None
        change = Path(written[f"plan-{host}.sh"])
        text = change.read_text()
        # The whole sequence: the physnet's bridge, the MAC pin, the address move.
        assert "other_config:hwaddr=" in text and f"ip addr add {dp.hosts[host]}/" in text
        t = time.monotonic()
        # On the host, as over SSH: the plan's ip lines act on the host's own links, so the
        # guard runs in the host's network namespace (its OVS socket is a file).
        res = subprocess.run([
            "ip", "netns", "exec", dp.netns_of(host), str(Path(sys.executable).parent /
                                                         "ovnguard"),
            "apply", "--change", str(change), "--db", genv.chassis_db(host), "--host", host,
            "--bundle", str(bundle), "--state-dir", str(state_dir), "--from", router,
            *probes, "--probe-netns", dp.netns_of("router"), "--probe-cold",
            "--probe-interval", "0.3", "--confirm-within", "20",
        ], capture_output=True, text=True, timeout=120)  # fmt: skip
        output = res.stdout + res.stderr
        print(f"--- apply {change.name} (exit {res.returncode}, {time.monotonic() - t:.2f}s)\n"
              f"{output}")
        assert res.returncode == 0, output
        for addr in dp.hosts.values():
            assert f"probe icmp:{addr}: passes now, watched" in output
        doc = genv.wait_status("armed", "rolled-back", "rolling-back", timeout=10)
        assert doc["status"] == "armed", doc
        assert doc["host"] == host and doc["database"] == "Open_vSwitch"
        assert NIC in dp.chassis_ports(host).get(NEW_BRIDGE, []), dp.chassis_ports(host)
        if host == "compute1":
            assert wait_until(
                lambda: PROVNET_PATCH in dp.chassis_ports("compute1").get(NEW_BRIDGE, []), 10
            ), dp.chassis_ports("compute1")
        # A few probe rounds of the guard's own run over the changed host.
        time.sleep(1.5)
        _reachable(dp, f"after {host}'s part")
        doc = genv.state()
        assert doc["status"] == "armed", (doc.get("rollback"), genv.log())
        assert doc["probing"]["rounds"] >= 3
        assert all(r["ok"] for r in doc["probing"]["last"]), doc["probing"]
        # The management address moved to its NIC, the default route with it, and br-ex
        # kept the MAC it had (pinned before the NIC left).
        addrs = netns.ip_json(dp.netns_of(host), "addr", "show", "enp6s18")
        assert [a["local"] for a in addrs[0]["addr_info"] if a["family"] == "inet"] == [
            str(dp.hosts[host])]
        routes = netns.ip_json(dp.netns_of(host), "route", "show", "default")
        assert [r.get("dev") for r in routes] == ["enp6s18"], routes
        pinned = dp.vsctl(host, "get", "Bridge", "br-ex", "other_config:hwaddr")
        assert pinned.strip().strip('"') == macs[host], (pinned, macs[host])
        assert "enp6s18" not in dp.chassis_ports(host).get("br-ex", [])
        res = genv.run("confirm", "--state-dir", str(state_dir))
        assert res.exit_code == 0, res.output
        doc = genv.state()
        assert doc["status"] == "confirmed", doc
        assert doc.get("rollback") in (None, {}), doc["rollback"]
        print(
            f"{host}: applied, probed {doc['probing']['rounds']} rounds, confirmed "
            f"({time.monotonic() - t:.2f}s)"
        )

    ports = dp.chassis_ports("compute1")
    print(f"compute1 bridges at the end: {ports}")
    assert PROVNET_PATCH in ports[NEW_BRIDGE]
    assert PROVNET_PATCH not in ports["br-ex"]
    assert "enp6s18" not in ports["br-ex"] and NIC in ports[NEW_BRIDGE]
    for h in dp.host_names:
        mappings = dp.vsctl(h, "get", "Open_vSwitch", ".", "external_ids:ovn-bridge-mappings")
        assert mappings.strip().strip('"') == f"{PHYSNET}:{NEW_BRIDGE}", (h, mappings)
    assert [g for g in genv.guards() if genv.state(g)["status"] != "confirmed"] == []
    for h in dp.host_names:
        log = dp.lab.host_paths(h).controller_log.read_text(errors="replace")
        assert not [ln for ln in log.splitlines() if any(c in ln for c in CLASH)], h
    _reachable(dp, "after the whole plan")
