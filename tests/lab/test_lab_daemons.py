"""The lab against real daemons: start, status, realization, stale dirs, export, stop."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from conftest import EXAMPLES, LabFactory, runtime_leftovers
from helpers.proc_tools import processes_mentioning
from ovnguard.errors import LabError
from ovnguard.lab import Lab, Topology, load_topology, seed_topology
from ovnguard.lab.export import export_bundle
from ovnguard.lab.process import is_alive, wait_until
from ovnguard.lab.topology import SEED_NETWORK_ID, SEED_SEGMENT_ID, SEED_VM_PORT_ID

pytestmark = pytest.mark.lab

PROVNET = f"provnet-{SEED_SEGMENT_ID}"
PUBLIC = f"neutron-{SEED_NETWORK_ID}"


def _patch_ports(lab: Lab, host: str) -> dict[str, list[str]]:
    return {
        br: [p for p in ports if p.startswith("patch-")]
        for br, ports in lab.chassis_ports(host).items()
    }


def _settled_patch_ports(
    lab: Lab, host: str, expected: dict[str, list[str]], timeout: float = 5.0
) -> dict[str, list[str]]:
    """The host's patch ports once they equal `expected` (or whatever they are at timeout):
    --wait=hv already waited for ovn-controller, this only absorbs scheduling jitter."""
    wait_until(lambda: _patch_ports(lab, host) == expected, timeout, interval=0.05)
    return _patch_ports(lab, host)


def test_up_status_down_leaves_nothing(lab_factory: LabFactory) -> None:
    lab = lab_factory()
    st = lab.status()
    assert st.running and st.sb_reachable and st.healthy
    assert [c.name for c in st.chassis] == ["controller", "network", "compute1"]
    assert all(c.registered for c in st.chassis)
    assert lab.registered_chassis() == {"controller", "network", "compute1"}
    pids = list(lab.pids().values())
    assert len(pids) == 3 + 3 * 3
    assert sorted(processes_mentioning(lab.run_dir)) == sorted(pids)
    # Each chassis is configured the way ovn-controller expects.
    ext = lab.vsctl("compute1", "get", "Open_vSwitch", ".", "external_ids")
    for expected in (
        "system-id=compute1",
        "hostname=compute1",
        "ovn-encap-type=geneve",
        '"ovn-bridge-mappings"="physnet2:br-ex"',
    ):
        assert expected.replace('"', "") in ext.replace('"', "")
    assert lab.appctl_controller("compute1", "version").startswith("ovn-controller")

    lab.down()
    assert processes_mentioning(lab.run_dir) == []
    assert runtime_leftovers(lab.run_dir) == []
    assert not (lab.run_dir / "lab.json").exists()
    # Logs stay for post-mortems.
    assert (lab.run_dir / "hosts" / "compute1" / "ovn-controller.log").exists()
    with pytest.raises(LabError, match="no lab"):
        Lab.attach(lab.run_dir)


def test_attach_from_state_file(seed_lab: Lab) -> None:
    again = Lab.attach(seed_lab.run_dir)
    assert again.topology == seed_lab.topology
    assert again.status().healthy
    assert again.host_dir("compute1") == seed_lab.run_dir / "hosts" / "compute1"
    with pytest.raises(LabError, match="no host 'compute7'"):
        again.host_dir("compute7")


def test_seed_vif_realizes_provnet_patch_on_compute1_only(seed_lab: Lab) -> None:
    """Real ovn-controller: the localnet port is realized only where its switch is local."""
    pair = {"br-ex": [f"patch-{PROVNET}-to-br-int"], "br-int": [f"patch-br-int-to-{PROVNET}"]}
    assert _settled_patch_ports(seed_lab, "compute1", pair) == pair
    for host in ("controller", "network"):
        assert _patch_ports(seed_lab, host) == {"br-ex": [], "br-int": []}, host
    # The VIF is claimed by compute1 in SB.
    chassis = seed_lab.sbctl(
        "--bare", "--columns=chassis", "find", "Port_Binding", f"logical_port={SEED_VM_PORT_ID}"
    ).strip()
    name = seed_lab.sbctl("--bare", "--columns=name", "list", "Chassis", chassis).strip()
    assert name == "compute1"
    # Neutron-style external_ids with colons in keys went through ovn-nbctl intact.
    net = seed_lab.nbctl("get", "Logical_Switch", PUBLIC, 'external_ids:"neutron:network_name"')
    assert net.strip() == "public"


def test_router_gateway_chassis_also_gets_the_patch(lab_factory: LabFactory) -> None:
    lab = lab_factory(load_topology(EXAMPLES / "seed-router.yaml"))
    pair = {"br-ex": [f"patch-{PROVNET}-to-br-int"], "br-int": [f"patch-br-int-to-{PROVNET}"]}
    assert _settled_patch_ports(lab, "network", pair) == pair
    assert _settled_patch_ports(lab, "compute1", pair) == pair
    assert _patch_ports(lab, "controller") == {"br-ex": [], "br-int": []}
    cr = lab.sbctl(
        "--bare",
        "--columns=chassis",
        "find",
        "Port_Binding",
        "logical_port=cr-lrp-2a3b4c5d-6e7f-4809-9a1b-2c3d4e5f6a7b",
    ).strip()
    assert lab.sbctl("--bare", "--columns=name", "list", "Chassis", cr).strip() == "network"


def test_duplicate_localnet_is_realized_and_removed_promptly(seed_lab: Lab) -> None:
    """The incident's command on a real lab; lsp-del is reflected without the ~10 s startup
    delay because the lab calls debug/ignore-startup-delay."""
    seed_lab.nbctl(
        "--", "lsp-add", PUBLIC, "ln-physnet2",
        "--", "lsp-set-type", "ln-physnet2", "localnet",
        "--", "lsp-set-options", "ln-physnet2", "network_name=physnet2",
        "--", "lsp-set-addresses", "ln-physnet2", "unknown",
    )  # fmt: skip
    seed_lab.wait_hv(timeout=10)
    both = {
        "br-ex": ["patch-ln-physnet2-to-br-int", f"patch-{PROVNET}-to-br-int"],
        "br-int": ["patch-br-int-to-ln-physnet2", f"patch-br-int-to-{PROVNET}"],
    }
    assert _settled_patch_ports(seed_lab, "compute1", both) == both
    assert _patch_ports(seed_lab, "network") == {"br-ex": [], "br-int": []}
    seed_lab.nbctl("lsp-del", "ln-physnet2")
    seed_lab.wait_hv(timeout=10)
    started = time.monotonic()
    one = {"br-ex": [f"patch-{PROVNET}-to-br-int"], "br-int": [f"patch-br-int-to-{PROVNET}"]}
    assert _settled_patch_ports(seed_lab, "compute1", one) == one
    # Well inside ovn-controller's ~10 s startup delay for deletions.
    assert time.monotonic() - started < 5


def test_up_refuses_a_running_lab(seed_lab: Lab) -> None:
    with pytest.raises(LabError, match="already running"):
        Lab.up(seed_topology(3), seed_lab.run_dir)
    assert seed_lab.status().healthy


def test_up_refuses_a_directory_that_is_not_a_lab(tmp_path: Path) -> None:
    d = tmp_path / "precious"
    d.mkdir()
    (d / "notes.txt").write_text("keep me")
    with pytest.raises(LabError, match="refusing"):
        Lab.up(seed_topology(1), d)
    assert (d / "notes.txt").read_text() == "keep me"
    assert sorted(os.listdir(d)) == ["notes.txt"]


def test_stale_run_dir_of_a_killed_lab_is_cleaned(lab_factory: LabFactory, tmp_path: Path) -> None:
    lab = lab_factory(seed_topology(2))
    run_dir = lab.run_dir
    pids = list(lab.pids().values())
    for p in pids:
        os.kill(p, signal.SIGKILL)
    assert wait_until(lambda: not any(is_alive(p) for p in pids), 5)
    # SIGKILL leaves the state file, pidfiles and sockets behind.
    assert (run_dir / "lab.json").exists()
    assert any(p.is_socket() for p in runtime_leftovers(run_dir))
    assert any(p.suffix == ".pid" for p in runtime_leftovers(run_dir))

    # A live process that is *not* ours, named by a stale pidfile: it must survive.
    bystander = subprocess.Popen(["sleep", "60"])
    try:
        (run_dir / "nb" / "ovsdb-server.pid").write_text(f"{bystander.pid}\n")
        state = json.loads((run_dir / "lab.json").read_text())
        state["central"][0]["pid"] = bystander.pid
        (run_dir / "lab.json").write_text(json.dumps(state))
        # `status` of the dead lab says so.
        st = Lab.attach(run_dir).status()
        assert not st.running and not st.healthy

        fresh = lab_factory(seed_topology(2))
        assert fresh.run_dir == run_dir
        assert fresh.status().healthy
        assert bystander.poll() is None, "a process that is not ours was killed"
        assert not set(pids) & set(fresh.pids().values())
    finally:
        bystander.kill()
        bystander.wait()


def test_failed_chassis_is_reported_and_nothing_is_left(tmp_path: Path) -> None:
    topo = seed_topology(2)
    bad = topo.hosts[1].model_copy(update={"external_ids": {"ovn-encap-type": "bogus"}})
    broken = Topology(hosts=[topo.hosts[0], bad], logical=topo.logical)
    run_dir = tmp_path / "lab"
    started = time.monotonic()
    with pytest.raises(LabError) as info:
        Lab.up(broken, run_dir, timeout=2)
    assert time.monotonic() - started < 15
    message = str(info.value)
    assert "network" in message and "did not register" in message
    assert "ovn-controller.log" in message and "bogus" in message
    assert processes_mentioning(run_dir) == []
    assert runtime_leftovers(run_dir) == []


def test_export_bundle_parses_and_matches_the_lab(seed_lab: Lab, tmp_path: Path) -> None:
    out = export_bundle(seed_lab, tmp_path / "bundle")

    def tool(*args: str) -> str:
        return subprocess.run(
            ["ovsdb-tool", *args], check=True, capture_output=True, text=True
        ).stdout

    assert tool("db-name", str(out / "nb.db")).strip() == "OVN_Northbound"
    assert tool("db-name", str(out / "sb.db")).strip() == "OVN_Southbound"
    assert "produced by" in tool("show-log", str(out / "nb.db"))
    localnet = json.loads(
        tool(
            "query",
            str(out / "nb.db"),
            json.dumps(
                ["OVN_Northbound",
                 {"op": "select", "table": "Logical_Switch_Port",
                  "where": [["type", "==", "localnet"]], "columns": ["name"]}]
            ),
        )
    )  # fmt: skip
    assert [r["name"] for r in localnet[0]["rows"]] == [PROVNET]

    for host in ("controller", "network", "compute1"):
        hdir = out / "hosts" / host
        conf = hdir / "conf.db"
        assert tool("db-name", str(conf)).strip() == "Open_vSwitch"
        ports = json.loads(
            tool(
                "query",
                str(conf),
                json.dumps(
                    ["Open_vSwitch",
                     {"op": "select", "table": "Interface", "where": [], "columns": ["name"]}]
                ),
            )
        )  # fmt: skip
        names = {r["name"] for r in ports[0]["rows"]}
        lab_names = {p for ps in seed_lab.chassis_ports(host).values() for p in ps}
        assert lab_names <= names
        addr = json.loads((hdir / "addr.json").read_text())
        assert addr[0]["ifname"] == "lo"
        by_name = {e["ifname"]: e for e in addr}
        mgmt = seed_lab.topology.host(host).management
        assert mgmt is not None
        inet = [a for a in by_name["br-ex"]["addr_info"] if a["family"] == "inet"]
        assert [(a["local"], a["prefixlen"]) for a in inet] == [(str(mgmt.address.ip), 24)]
        routes = json.loads((hdir / "route.json").read_text())
        assert routes[0] == {
            "dst": "default", "gateway": "10.10.0.1", "dev": "br-ex", "flags": []
        }  # fmt: skip
        link = json.loads((hdir / "link.json").read_text())
        assert [e["ifname"] for e in link] == [e["ifname"] for e in addr]

    compute1_links = json.loads((out / "hosts" / "compute1" / "link.json").read_text())
    assert "tap9a8b7c6d-5e" in [e["ifname"] for e in compute1_links]
    inventory = yaml.safe_load((out / "inventory.yaml").read_text())
    assert inventory == {
        "hosts": {
            "controller": {"address": "10.10.0.21"},
            "network": {"address": "10.10.0.22"},
            "compute1": {"address": "10.10.0.23"},
        }
    }
    with pytest.raises(LabError, match="not empty"):
        export_bundle(seed_lab, out)


def test_exported_nb_restores_into_a_fresh_server(
    seed_lab: Lab, lab_factory: LabFactory, tmp_path: Path
) -> None:
    """`ovsdb-client restore` accepts the bundle's nb.db (it is a real backup)."""
    out = export_bundle(seed_lab, tmp_path / "bundle")
    other = lab_factory(Topology(hosts=[seed_topology(1).hosts[0]]), name="other")
    assert PROVNET not in other.nbctl("--bare", "--columns=name", "list", "Logical_Switch_Port")
    with (out / "nb.db").open("rb") as f:
        subprocess.run(
            ["ovsdb-client", "restore", other.nb_remote],
            stdin=f, check=True, capture_output=True, timeout=30,
        )  # fmt: skip
    assert PROVNET in other.nbctl("--bare", "--columns=name", "list", "Logical_Switch_Port")


def test_two_labs_side_by_side(lab_factory: LabFactory) -> None:
    a = lab_factory(seed_topology(1), name="a")
    b = lab_factory(seed_topology(2), name="b")
    assert a.registered_chassis() == {"controller"}
    assert b.registered_chassis() == {"controller", "network"}
    a.down()
    assert b.status().healthy
