"""Changes as Neutron ML2/OVN makes them, predicted and held against real ovn-controller 23.03:
a router whose gateway port uses an HA chassis group, SNAT only, a distributed floating IP,
a VLAN provider network, a metadata localport. Names follow Neutron's (`neutron-<uuid>`
switches and routers, `provnet-<segment>`, `lrp-<port>`)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from helpers.lab_check import LabCheck, patch_ports, settle
from ovnguard.lab import Lab, parse_topology
from ovnguard.simulation import realize

pytestmark = pytest.mark.lab

NET = "neutron-6b1f7d1e-0a5c-4d41-9a3e-3f2a0c1d2e01"  # the provider network
PRIV = "neutron-0c9e7e55-2f5b-4c7e-8d0e-5c4b3a291102"  # a tenant network
ROUTER = "neutron-2d3a3c6f-7e8b-4f90-a1b2-c3d4e5f60703"
PROVNET = "provnet-9f0e1d2c-3b4a-5968-7a6b-5c4d3e2f1004"
GW_LRP = "lrp-5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f70805"
VM_PORT = "7a8b9c0d-1e2f-4a3b-8c4d-5e6f7a8b9006"

TOPOLOGY = """
hosts:
""" + "".join(f"""
  - name: {h}
    bridges: [{{name: br-ex, ports: [enp6s18]}}]
    bridge_mappings: physnet1:br-ex""" for h in ("hv1", "hv2", "hv3", "hv4")) + f"""
logical:
  switches:
    - {{name: {NET}, external_ids: {{"neutron:network_name": public}}}}
    - {{name: {PRIV}, external_ids: {{"neutron:network_name": private}}}}
  ports:
    - {{switch: {NET}, name: {PROVNET}, type: localnet, addresses: [unknown],
       options: {{network_name: physnet1}},
       external_ids: {{"neutron:provnet-physical-network": physnet1}}}}
    - {{switch: {PRIV}, name: {VM_PORT}, addresses: ["fa:16:3e:11:22:33 10.0.0.10"],
       bound_to: hv1}}
    - {{switch: {PRIV}, name: ovnmeta-priv, type: localport,
       addresses: ["fa:16:3e:11:22:02 10.0.0.2"], bound_to: hv2, iface: tapmeta}}
  routers:
    - name: {ROUTER}
      ports:
        - {{name: {GW_LRP}, mac: "fa:16:3e:aa:00:01", networks: [172.24.4.10/24],
           switch: {NET}}}
        - {{name: lrp-priv, mac: "fa:16:3e:aa:00:02", networks: [10.0.0.1/24],
           switch: {PRIV}}}
"""

# Neutron (ovn_router_ha_chassis_group) names the group after the router and gives the
# chassis descending priorities.
HA_GROUP = [
    ["ha-chassis-group-add", ROUTER],
    ["ha-chassis-group-add-chassis", ROUTER, "hv3", "32767"],
    ["ha-chassis-group-add-chassis", ROUTER, "hv4", "32766"],
]


@pytest.fixture
def chk(tmp_path: Path) -> Iterator[LabCheck]:
    for b in ("ovsdb-server", "ovs-vswitchd", "ovn-northd", "ovn-controller"):
        if shutil.which(b) is None:
            pytest.skip(f"{b} not installed")
    lab = Lab.up(parse_topology(TOPOLOGY), tmp_path / "lab")
    try:
        for c in HA_GROUP:
            lab.nbctl(*c)
        group = lab.nbctl("--bare", "--columns=_uuid", "find", "HA_Chassis_Group",
                          f"name={ROUTER}").strip()
        lab.nbctl("set", "Logical_Router_Port", GW_LRP, f"ha_chassis_group={group}")
        yield LabCheck(lab, tmp_path / "work")
    finally:
        lab.down()


def hosts_with(ports: set[tuple[str, str, str]], lport: str) -> set[str]:
    return {h for h, _br, p in ports if p == f"patch-{lport}-to-br-int"}


def test_snat_only_gateway_on_ha_chassis_group_then_distributed_fip(chk: LabCheck) -> None:
    # SNAT only: northd sets always-redirect, the provider switch is local on the HA group's
    # chassis only (both, whatever the priority), not on hv1 where the VM is.
    out = chk.step(nb=[["lr-nat-add", ROUTER, "snat", "172.24.4.10", "10.0.0.0/24"]])
    out.assert_matches()
    real = settle(chk.lab)
    assert hosts_with(real, PROVNET) == {"hv3", "hv4"}
    r = realize(chk.snapshot())
    assert {h for h, hr in r.hosts.items()
            if any(p.lport == PROVNET for p in hr.patch_ports)} == {"hv3", "hv4"}
    assert "cr-" + GW_LRP in r.hosts["hv4"].bound_ports  # a standby member binds it too

    # A distributed floating IP for the VM: the provider switch becomes local wherever the
    # router is, so hv1 (the VM's chassis) gets the provider patch ports.
    out = chk.step(nb=[["lr-nat-add", ROUTER, "dnat_and_snat", "172.24.4.50", "10.0.0.10",
                        VM_PORT, "fa:16:3e:99:00:01"]])
    out.assert_matches()
    assert {(h, p) for h, _b, p in out.real_added} == {
        ("hv1", f"patch-{PROVNET}-to-br-int"), ("hv1", f"patch-br-int-to-{PROVNET}")}
    # hv2 only has the metadata localport: it never makes the tenant network local there.
    assert "hv2" not in hosts_with(settle(chk.lab), PROVNET)

    # The FIP goes: always-redirect again; hv1's pair stays until a recompute.
    out = chk.step(nb=[["lr-nat-del", ROUTER, "dnat_and_snat", "172.24.4.50"]])
    out.assert_matches()
    assert hosts_with(out.pred_stale, PROVNET) == {"hv1"} and not out.real_removed


def test_ha_chassis_group_membership_moves_the_provider_network(chk: LabCheck) -> None:
    chk.step(nb=[["lr-nat-add", ROUTER, "snat", "172.24.4.10", "10.0.0.0/24"]]
             ).assert_matches()
    # A new member at the lowest priority is local at once. A member that leaves loses its
    # ports at once too: the group's BFD sessions change, bfd_run() rewrites the tunnel
    # interfaces, and that non-VIF change makes ovn-controller recompute.
    out = chk.step(nb=[["ha-chassis-group-add-chassis", ROUTER, "hv2", "1"],
                       ["ha-chassis-group-remove-chassis", ROUTER, "hv4"]])
    out.assert_matches()
    assert hosts_with(out.real_added, PROVNET) == {"hv2"}
    assert hosts_with(out.real_removed, PROVNET) == {"hv4"}
    assert any("BFD" in e.fact for e in out.deltas["hv4"].recompute)
    # Gateway_Chassis rows next to the group are ignored by northd (the group wins).
    out = chk.step(nb=[["lrp-set-gateway-chassis", GW_LRP, "hv1", "50"]])
    out.assert_matches()
    assert not out.real_added


def test_vlan_provider_network_as_neutron_creates_it(chk: LabCheck) -> None:
    vlan_net, seg = "neutron-4e5f6a7b-8c9d-4e0f-a1b2-c3d4e5f6a708", "provnet-vlan-101"
    out = chk.step(nb=[
        ["ls-add", vlan_net, "--", "set", "Logical_Switch", vlan_net,
         "external_ids:neutron\\:network_name=vlan101"],
        ["lsp-add", vlan_net, seg, "--", "lsp-set-addresses", seg, "unknown", "--",
         "lsp-set-type", seg, "localnet", "--", "lsp-set-options", seg,
         "network_name=physnet1", "--", "set", "Logical_Switch_Port", seg, "tag=101"],
        ["lsp-add", vlan_net, "vm-vlan", "--", "lsp-set-addresses", "vm-vlan",
         "fa:16:3e:44:55:66 10.1.0.5"]],
        ovs={"hv2": [["add-port", "br-int", "tapvlan", "--", "set", "Interface", "tapvlan",
                      "external_ids:iface-id=vm-vlan"]]})
    out.assert_matches()
    # The VLAN tag changes flows, not where the patch pair is: only the VM's chassis.
    assert hosts_with(out.real_added, seg) == {"hv2"}
    assert hosts_with(patch_ports(chk.lab), seg) == {"hv2"}
