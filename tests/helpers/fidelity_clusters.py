"""Random clusters for the fidelity tests (hypothesis): hosts with bridge mappings, provider
networks, VMs, and what changes where a switch is local -- VLAN localnets, localports,
external ports, a router whose gateway port has gateway chassis or an HA chassis group, NAT
(SNAT, centralized and distributed floating IPs), l2gateway ports.

A cluster is a lab topology plus `setup`: ovn-nbctl commands the lab topology has no words
for (HA chassis groups, `tag`), run with the real tool before the state is exported.
A command argument `@hg:NAME` stands for the uuid of HA_Chassis_Group NAME (`resolve`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml
from hypothesis import strategies as st

from ovnguard.lab import Lab

HOSTS = ["controller", "network", "compute1", "compute2"]
PHYSNETS = ["physnet1", "physnet2"]
NETWORK_NAMES = [*PHYSNETS, "phynet2"]  # the seed's typo: mapped nowhere
WEIGHTED_NAMES = ["physnet2", "physnet1", "physnet2", "phynet2"]
Argv = list[str]


@dataclass
class Cluster:
    topology: dict[str, Any]
    setup: list[Argv] = field(default_factory=list)
    # Names the change generators pick from.
    hosts: list[str] = field(default_factory=list)
    switches: list[str] = field(default_factory=list)
    localnets: list[str] = field(default_factory=list)
    bound: list[str] = field(default_factory=list)  # VIFs plugged on some host
    localports: list[str] = field(default_factory=list)
    externals: list[str] = field(default_factory=list)
    lrps: list[str] = field(default_factory=list)
    # VMs behind the router's non-gateway ports: (port, switch index), for distributed FIPs.
    routed_vms: list[tuple[str, int]] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)  # HA chassis groups made by setup
    nat_ips: list[str] = field(default_factory=list)  # external IPs of the NAT rules

    @property
    def ports(self) -> list[dict[str, Any]]:
        ports: list[dict[str, Any]] = self.topology["logical"]["ports"]
        return ports

    @property
    def routers(self) -> list[dict[str, Any]]:
        routers: list[dict[str, Any]] = self.topology["logical"]["routers"]
        return routers

    def dump(self) -> str:
        setup = "".join(f"ovn-nbctl {' '.join(a)}\n" for a in self.setup)
        return f"--- topology ---\n{yaml.safe_dump(self.topology)}--- setup ---\n{setup}"


def resolve(lab: Lab, argv: Argv) -> Argv:
    """`@hg:NAME` -> the uuid of HA_Chassis_Group NAME (as an operator would look it up);
    a group that does not exist stays a name, and the real tool refuses the line."""
    out = []
    for a in argv:
        if "@hg:" in a:
            head, name = a.split("@hg:", 1)
            uuid = lab.nbctl("--bare", "--columns=_uuid", "find", "HA_Chassis_Group",
                             f"name={name}").strip()
            a = head + (uuid or name)
        out.append(a)
    return out


def run_setup(lab: Lab, cluster: Cluster) -> None:
    """Run the setup commands, then make every chassis recompute: the lab creates the
    topology first and the setup after, so a gateway port that gets its HA chassis group
    here was a plain patch port for a moment, and its switch was local everywhere -- ports
    real ovn-controller would keep stale. The state before a change is a settled one."""
    for argv in cluster.setup:
        lab.nbctl(*resolve(lab, argv))
    if cluster.setup:
        lab.wait_hv()
        for h in cluster.hosts:
            lab.appctl_controller(h, "recompute")


def _group(name: str, members: list[tuple[str, int]]) -> list[Argv]:
    cmds = [["ha-chassis-group-add", name]]
    cmds += [["ha-chassis-group-add-chassis", name, h, str(p)] for h, p in members]
    return cmds


_members = st.lists(st.tuples(st.sampled_from(HOSTS), st.integers(1, 30)), min_size=1,
                    max_size=2, unique_by=lambda m: m[0])


@st.composite
def clusters(draw: st.DrawFn) -> Cluster:
    n = draw(st.sampled_from([3, 2, 4]))
    hosts = HOSTS[:n]
    c = Cluster({}, hosts=hosts)
    host_defs = []
    for i, h in enumerate(hosts):
        bridges = [{"name": "br-ex", "ports": ["enp6s18"]}]
        if draw(st.booleans()):
            bridges.append({"name": "br-public", "ports": ["eth2"]})
        entries = []
        if i == 0 or draw(st.booleans()):
            # Like every node of the seed cluster: physnet2 on the management bridge.
            entries.append("physnet2:br-ex")
        for p in PHYSNETS:
            if p == "physnet2" and entries:
                continue
            # Mostly mapped to an existing bridge: an unmapped cluster realizes nothing.
            # (hypothesis tries the first element of sampled_from most: put the common case
            # first, or most generated clusters realize nothing.)
            b = draw(st.sampled_from(["br-ex", "br-public", "br-ex", None, "br-missing"]))
            if b is not None:
                entries.append(f"{p}:{b}")
        if entries and draw(st.integers(0, 9)) == 0:
            # A malformed entry: ovn-controller ignores it and every entry after it.
            entries.insert(draw(st.integers(0, len(entries) - 1)), "garbage")
        host_defs.append({
            "name": h,
            "bridges": bridges,
            "bridge_mappings": ",".join(entries),
            "management": {"address": f"10.10.0.{21 + i}/24", "interface": "br-ex"},
        })
    switches = [f"sw{i}" for i in range(draw(st.integers(1, 3)))]
    c.switches = switches
    members = [m for m in draw(_members) if m[0] in hosts] or [(hosts[0], 1)]
    ports: list[dict[str, Any]] = []
    for si, s in enumerate(switches):
        # sw0 is a provider network with a VM on some host (the seed's public network);
        # the other switches are anything.
        if s == "sw0":
            ports.append({"switch": s, "name": "provnet-0", "type": "localnet",
                          "addresses": ["unknown"], "options": {"network_name": "physnet2"}})
            ports.append({"switch": s, "name": "vm-0", "addresses": ["fa:16:3e:00:ff:00"],
                          "bound_to": draw(st.sampled_from(hosts))})
            c.bound.append("vm-0")
        for k in range(draw(st.sampled_from([1, 2, 0, 1]))):
            name = f"ln-{s}-{k}"
            ports.append({
                "switch": s, "name": name, "type": "localnet", "addresses": ["unknown"],
                "options": {"network_name": draw(st.sampled_from(WEIGHTED_NAMES))},
            })
            if draw(st.integers(0, 2)) == 0:
                # A VLAN provider network, the way Neutron writes it (the `tag` column).
                c.setup.append(["set", "Logical_Switch_Port", name,
                                f"tag={draw(st.integers(1, 4094))}"])
        c.localnets += [p["name"] for p in ports if p["switch"] == s
                        and p.get("type") == "localnet"]
        for k in range(draw(st.sampled_from([1, 2, 0]))):
            name = f"vm-{s}-{k}"
            port: dict[str, Any] = {
                "switch": s, "name": name,
                "addresses": [f"fa:16:3e:00:{si:02x}:{k:02x} 192.168.{si}.{10 + k}"],
            }
            bound = draw(st.sampled_from([*hosts, None]))
            if bound is not None:
                port["bound_to"] = bound
                c.bound.append(name)
            ports.append(port)
            if si > 0:
                c.routed_vms.append((name, si))
        if draw(st.integers(0, 2)) == 0:
            # Neutron's metadata port: a localport with an interface on some chassis.
            name = f"meta-{s}"
            ports.append({"switch": s, "name": name, "type": "localport",
                          "addresses": [f"fa:16:3e:00:{si:02x}:fe 192.168.{si}.2"],
                          "bound_to": draw(st.sampled_from(hosts))})
            c.localports.append(name)
        if draw(st.integers(0, 3)) == 0:
            # A baremetal / SR-IOV port: an `external` port served by an HA chassis group.
            name = f"ext-{s}"
            ports.append({"switch": s, "name": name, "type": "external",
                          "addresses": [f"fa:16:3e:00:{si:02x}:ee"]})
            c.externals.append(name)
            if "hg-ext" not in c.groups:
                c.groups.append("hg-ext")
                c.setup += _group("hg-ext", members)
            c.setup.append(["set", "Logical_Switch_Port", name, "ha_chassis_group=@hg:hg-ext"])
    routers: list[dict[str, Any]] = []
    if len(switches) >= 2 and draw(st.booleans()):
        rports: list[dict[str, Any]] = []
        for j, s in enumerate(switches[:3]):
            rp: dict[str, Any] = {
                "name": f"lrp-{s}", "mac": f"fa:16:3e:aa:00:{j:02x}",
                "networks": [f"192.168.{j}.1/24" if j else "172.24.4.1/24"], "switch": s,
            }
            c.lrps.append(rp["name"])
            if j == 0:
                # The provider side: a distributed gateway port (its switch is local only
                # on the gateway chassis unless a distributed FIP says otherwise), by
                # Gateway_Chassis rows or by an HA chassis group (Neutron's newer way).
                how = draw(st.sampled_from(["gateway_chassis", "ha_chassis_group", None]))
                if how == "gateway_chassis":
                    gws = draw(st.lists(st.sampled_from(hosts), min_size=1, max_size=2,
                                        unique=True))
                    rp["gateway_chassis"] = [[g, 10 - k] for k, g in enumerate(gws)]
                elif how == "ha_chassis_group":
                    gw_members = [m for m in draw(_members) if m[0] in hosts] or [(hosts[-1], 5)]
                    c.groups.append("hg-gw")
                    c.setup += _group("hg-gw", gw_members)
                    c.setup.append(["set", "Logical_Router_Port", rp["name"],
                                    "ha_chassis_group=@hg:hg-gw"])
            rports.append(rp)
        nat: list[dict[str, Any]] = []
        for k in range(draw(st.sampled_from([0, 1, 2]))):
            ip = f"172.24.4.{100 + k}"
            kind = draw(st.sampled_from(["snat", "dnat_and_snat", "distributed"]))
            if kind == "snat":
                nat.append({"type": "snat", "external_ip": ip, "logical_ip": "192.168.0.0/16"})
            elif kind == "distributed" and c.routed_vms:
                vm, si = draw(st.sampled_from(c.routed_vms))
                nat.append({"type": "dnat_and_snat", "external_ip": ip,
                            "logical_ip": f"192.168.{si}.{10 + int(vm[-1])}",
                            "logical_port": vm, "external_mac": f"fa:16:3e:bb:00:{k:02x}"})
            else:
                nat.append({"type": "dnat_and_snat", "external_ip": ip,
                            "logical_ip": f"192.168.1.{50 + k}"})
            c.nat_ips.append(ip)
        routers.append({"name": "r0", "ports": rports, "nat": nat})
    c.topology = {
        "hosts": host_defs,
        "logical": {"switches": [{"name": s} for s in switches], "ports": ports,
                    "routers": routers},
    }
    return c
