"""Fidelity: simulation predictions against real ovn-controller 23.03 (`ovnguard.lab`)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from helpers.lab_check import LabCheck, patch_ports, settle
from ovnguard.lab import Lab, parse_topology
from ovnguard.simulation import realize

pytestmark = pytest.mark.lab

HOST = """
  - name: {n}
    bridges: [{{name: br-ex, ports: [enp6s18]}}, {{name: br-public, ports: [eth2]}}]
    bridge_mappings: physnet1:br-ex,physnet2:br-public"""


def topology(hosts: tuple[str, ...], logical: str) -> str:
    return "hosts:" + "".join(HOST.format(n=h) for h in hosts) + "\nlogical:\n" + logical


PROVIDER = """
  switches: [{name: pub}]
  ports:
    - {switch: pub, name: provnet-1, type: localnet, addresses: [unknown],
       options: {network_name: physnet2}}
    - {switch: pub, name: vm1, addresses: ["fa:16:3e:00:00:01 10.0.0.5"], bound_to: hv1,
       iface: tapvm1}
"""

ROUTED = """
  switches: [{name: public}, {name: private}]
  ports:
    - {switch: public, name: provnet-1, type: localnet, addresses: [unknown],
       options: {network_name: physnet2}}
    - {switch: private, name: vm1, addresses: ["fa:16:3e:00:00:20 192.168.100.20"],
       bound_to: hv1, iface: tapvm1}
  routers:
    - name: r1
      ports:
        - {name: lrp-pub, mac: "fa:16:3e:aa:00:01", networks: [203.0.113.5/24],
           switch: public, gateway_chassis: [[hv3, 2], [hv4, 1]]}
        - {name: lrp-priv, mac: "fa:16:3e:aa:00:02", networks: [192.168.100.1/24],
           switch: private}
      nat:
        - {type: snat, external_ip: 203.0.113.5, logical_ip: 192.168.100.0/24}
"""

LOCALNET = ["lsp-add", "pub", "ln-physnet2", "--", "lsp-set-type", "ln-physnet2", "localnet",
            "--", "lsp-set-options", "ln-physnet2", "network_name=physnet2"]


@pytest.fixture
def lab_dir(tmp_path: Path) -> Iterator[Path]:
    for b in ("ovsdb-server", "ovs-vswitchd", "ovn-northd", "ovn-controller"):
        if shutil.which(b) is None:
            pytest.skip(f"{b} not installed")
    yield tmp_path / "lab"
    Lab.down_dir(tmp_path / "lab")


def start(lab_dir: Path, text: str) -> LabCheck:
    lab = Lab.up(parse_topology(text), lab_dir)
    return LabCheck(lab, lab_dir.parent / "work")


def test_incident_duplicate_localnet_then_stale_then_recompute(lab_dir: Path) -> None:
    chk = start(lab_dir, topology(("hv1", "hv2", "hv3"), PROVIDER))
    # The incident: a second localnet port on the provider switch.
    out = chk.step(nb=[LOCALNET])
    out.assert_matches()
    assert {p[2] for p in out.real_added} == {"patch-br-int-to-ln-physnet2",
                                              "patch-ln-physnet2-to-br-int"}
    (ev,) = [e for e in realize(chk.snapshot()).hosts["hv1"].events if e.level == "WARN"]
    assert ev.message in chk.log("hv1")
    chk.step(nb=[["lsp-del", "ln-physnet2"]]).assert_matches()
    # The last VIF goes: the provnet pair stays (no recompute) ...
    out = chk.step(ovs={"hv1": [["del-port", "br-int", "tapvm1"]]})
    out.assert_matches()
    assert len(out.pred_stale) == 2 and not out.real_removed
    # ... until another chassis' mapping change rewrites SB Chassis: all recompute.
    out = chk.step(ovs={"hv3": [["set", "open_vswitch", ".",
                                 'external_ids:ovn-bridge-mappings="physnet2:br-public"']]})
    out.assert_matches()
    assert {p[0] for p in out.real_removed} == {"hv1"}
    assert out.deltas["hv1"].recompute


def test_gateway_move_in_three_transactions(lab_dir: Path) -> None:
    chk = start(lab_dir, topology(("hv1", "hv2", "hv3", "hv4"), ROUTED))
    assert {p[0] for p in settle(chk.lab)} == {"hv3", "hv4"}
    # Between the 2nd and 3rd command the port is no gateway at all: the provider switch is
    # local wherever r1 is (hv1 too), and some of those ports stay stale.
    out = chk.step(nb=[["lrp-del-gateway-chassis", "lrp-pub", "hv3"],
                       ["lrp-del-gateway-chassis", "lrp-pub", "hv4"],
                       ["lrp-set-gateway-chassis", "lrp-pub", "hv2", "5"]])
    out.assert_matches()
    assert out.pred_stale


def test_distributed_fip_and_gateway_router(lab_dir: Path) -> None:
    chk = start(lab_dir, topology(("hv1", "hv2", "hv3", "hv4"), ROUTED))
    chk.step(nb=[["lr-nat-add", "r1", "dnat_and_snat", "203.0.113.9", "192.168.100.20",
                  "vm1", "fa:16:3e:00:00:99"]]).assert_matches()
    chk.step(nb=[["lrp-del-gateway-chassis", "lrp-pub", "hv3"],
                 ["lrp-del-gateway-chassis", "lrp-pub", "hv4"],
                 ["set", "logical_router", "r1", "options:chassis=hv2"]]).assert_matches()
    chk.step(nb=[["lsp-del", "provnet-1"]]).assert_matches()


def test_mapping_moved_to_another_bridge_fails_the_transaction(lab_dir: Path) -> None:
    chk = start(lab_dir, topology(("hv1", "hv2"), PROVIDER))
    out = chk.step(ovs={"hv1": [["set", "open_vswitch", ".",
                                 'external_ids:ovn-bridge-mappings="physnet2:br-ex"']]})
    out.assert_matches(stale=False)
    assert not out.real_added and not out.real_removed
    assert any("transaction error" in n for n in out.deltas["hv1"].notes)
    hr = realize(chk.snapshot()).hosts["hv1"]
    (ev,) = [e for e in hr.events if e.message.startswith("transaction error")]
    assert "constraint violation" in chk.log("hv1")
    assert "patch-provnet-1-to-br-int" in ev.message


def test_realize_matches_real_controller_on_mixed_ports(lab_dir: Path) -> None:
    nets = ("physnet1", "physnet2", "physnet1", "physnet2", "physnet1", "nomap")
    logical = "  switches: [" + ", ".join(f"{{name: s{i}}}" for i in range(1, 7)) + "]\n"
    logical += "  ports:\n" + "".join(
        f"    - {{switch: s{i}, name: ln{i}, type: localnet, addresses: [unknown], "
        f"options: {{network_name: {n}}}}}\n" for i, n in enumerate(nets, start=1))
    chk = start(lab_dir, topology(("hv1", "hv2", "hv3"), logical))
    lab = chk.lab
    nb = [
        ["lsp-add", "s1", "vm1"], ["lsp-add", "s2", "child1", "vm1", "10"],
        ["lsp-add", "s3", "vm3", "--", "lsp-set-options", "vm3", "requested-chassis=hv2"],
        ["lsp-add", "s4", "meta4", "--", "lsp-set-type", "meta4", "localport"],
        ["lsp-add", "s5", "l2gw5", "--", "lsp-set-type", "l2gw5", "l2gateway", "--",
         "lsp-set-options", "l2gw5", "network_name=physnet2", "l2gateway-chassis=hv2"],
        ["lsp-add", "s6", "vm6"],
        ["lsp-add", "s4", "odd4", "--", "set", "logical_switch_port", "odd4", "type=weird"],
        ["lr-add", "gw", "--", "set", "logical_router", "gw", "options:chassis=hv3"],
        ["lrp-add", "gw", "gw-s1", "00:00:00:00:aa:01", "10.1.0.1/24"],
        ["lsp-add", "s1", "s1-gw", "--", "lsp-set-type", "s1-gw", "router", "--",
         "lsp-set-options", "s1-gw", "router-port=gw-s1"],
    ]
    for c in nb:
        lab.nbctl(*c)
    for host, iface, lsp in (("hv1", "tap1", "vm1"), ("hv1", "tap3", "vm3"),
                             ("hv3", "tapm4", "meta4"), ("hv2", "tap6", "vm6"),
                             ("hv2", "tapodd", "odd4")):
        lab.vsctl(host, "add-port", "br-int", iface, "--", "set", "interface", iface,
                  f"external_ids:iface-id={lsp}")
    real = settle(lab)
    r = realize(chk.snapshot())
    assert {(h, p.bridge, p.port) for h, hr in r.hosts.items() for p in hr.patch_ports} == real
    for h, hr in r.hosts.items():
        for ev in hr.events:
            if ev.logged and ev.daemon == "ovn-controller":
                assert ev.message in chk.log(h), (h, ev.message)
    assert set(r.hosts["hv1"].local_datapaths) == {"s1", "s2"}
    assert set(r.hosts["hv2"].local_datapaths) == {"s4", "s5", "s6"}
    assert set(r.hosts["hv3"].local_datapaths) == {"gw", "s1"}  # not s4 (localport)
    assert r.hosts["hv2"].events and patch_ports(lab) == real
