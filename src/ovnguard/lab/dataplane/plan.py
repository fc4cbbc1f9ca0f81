"""What a data-plane lab is made of (pure): nodes, segments, LAN links, storm limits,
and the reachability matrix they are probed into."""

from __future__ import annotations

import hashlib
import ipaddress
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from ovnguard.errors import InputError, LabError
from ovnguard.i18n import _
from ovnguard.lab import netns
from ovnguard.lab.topology import Host, Topology

CENTRAL = "central"
ROUTER = "router"
MANAGEMENT_SEGMENT = "management"
# What the TCP probe connects to: a stand-in for sshd on every node's management address.
PROBE_PORT = 22
NB_PORT = 6641
SB_PORT = 6642
Control = Literal["management", "local"]
Kind = Literal["icmp", "tcp"]
Matrix = dict[tuple[str, str], bool]

# --- the plan (pure) --------------------------------------------------------------------


class StormLimits(BaseModel):
    """What keeps a broadcast storm in the lab from eating the machine.

    `rate`/`burst`/`latency`: a tc token bucket (tbf) on both ends of every LAN link, so no
    node sends or receives more than `rate`. `cpus`: CPU time for all ovs-vswitchd of the
    lab together (a cpu cgroup; None = no cgroup). `nice`: niceness of each ovs-vswitchd.
    """

    rate: str = "4mbit"
    burst: str = "64kb"
    latency: str = "50ms"
    cpus: float | None = 0.5
    nice: int = 10


class Node(BaseModel):
    """Something with a management address: the central node, a host or the LAN's router."""

    name: str
    kind: Literal["central", "host", "router"]
    netns: str
    address: ipaddress.IPv4Interface
    # The device holding the address inside `netns` (br-ex's tap on a seed host).
    interface: str


class Segment(BaseModel):
    """One L2 segment: a Linux bridge in the LAN namespace. Management NICs of all hosts
    share the `management` segment; any other NIC joins the segment named after it."""

    name: str
    bridge: str


class LanLink(BaseModel):
    """A veth: `ifname` in the node's namespace, `lan_ifname` a port of the segment bridge."""

    node: str
    netns: str
    ifname: str
    lan_ifname: str
    segment: str
    # The node end is an OVS port (read by the userspace datapath with AF_PACKET).
    in_ovs: bool


class DataplanePlan(BaseModel):
    lab_id: str
    lan_netns: str
    subnet: ipaddress.IPv4Network
    router: Node
    central: Node
    hosts: list[Node]
    segments: list[Segment]
    links: list[LanLink]

    def nodes(self) -> dict[str, Node]:
        return {self.central.name: self.central, **{h.name: h for h in self.hosts}}

    def node(self, name: str) -> Node:
        if name == self.router.name:
            return self.router
        found = self.nodes().get(name)
        if found is None:
            known = ", ".join([*self.nodes(), self.router.name])
            raise LabError(_(
                "no node {name} in the data-plane lab (nodes: {known})").format(
                name=repr(name), known=known))
        return found

    def namespaces(self) -> list[str]:
        return [self.lan_netns, self.central.netns, *(h.netns for h in self.hosts)]

    def segment_bridge(self, segment: str) -> str:
        return next(s.bridge for s in self.segments if s.name == segment)


def lab_id_for(run_dir: str | Path) -> str:
    """Six hex digits derived from the absolute run dir: the same run dir always gets the
    same namespaces (so a crashed run's are found again), two run dirs get different ones."""
    return hashlib.sha256(str(Path(os.path.abspath(run_dir))).encode()).hexdigest()[:6]


def _bad(message: str) -> InputError:
    return InputError(_(
        "data-plane mode: {message}").format(
        message=message), "<topology>")


def _management_nic(host: Host) -> str:
    mgmt = host.management
    if mgmt is None:
        raise _bad(f"host {host.name!r} has no management address (probes need one)")
    bridge = host.bridge(mgmt.interface)
    if bridge is not None:
        if not bridge.ports:
            raise _bad(
                f"host {host.name!r}: management bridge {bridge.name!r} has no NIC, "
                "so nothing connects it to the LAN"
            )
        return bridge.ports[0]
    if mgmt.interface in host.nics:
        return mgmt.interface
    if mgmt.interface in host.ovs_nics():
        raise _bad(
            f"host {host.name!r}: management address on {mgmt.interface!r}, a port of an OVS "
            "bridge; not supported (on a real host that address receives nothing)"
        )
    raise _bad(f"host {host.name!r}: management interface {mgmt.interface!r} not found")


def plan_dataplane(topo: Topology, lab_id: str) -> DataplanePlan:
    """Namespaces, segments, links and addresses for a topology (pure; InputError when the
    topology cannot be built as a data plane)."""
    reserved = {CENTRAL, ROUTER}
    first = topo.hosts[0].management
    if first is None:
        raise _bad(f"host {topo.hosts[0].name!r} has no management address (probes need one)")
    subnet = first.address.network
    router_ip = first.effective_gateway
    used: dict[ipaddress.IPv4Address, str] = {}
    hosts: list[Node] = []
    links: list[LanLink] = []
    segments: dict[str, Segment] = {
        MANAGEMENT_SEGMENT: Segment(name=MANAGEMENT_SEGMENT, bridge="lan0")
    }
    for i, h in enumerate(topo.hosts):
        if h.name in reserved:
            raise _bad(f"host name {h.name!r} is reserved")
        mgmt_nic = _management_nic(h)
        assert h.management is not None
        addr = h.management.address
        if addr.network != subnet:
            raise _bad(
                f"host {h.name!r}: management address {addr} is not in {subnet} (the first "
                "host's subnet); all management addresses must share one LAN"
            )
        if addr.ip in used:
            raise _bad(
                f"host {h.name!r}: management address {addr.ip} also used by {used[addr.ip]}"
            )
        used[addr.ip] = h.name
        ns = netns.namespace_name(lab_id, h.name)
        hosts.append(
            Node(name=h.name, kind="host", netns=ns, address=addr, interface=h.management.interface)
        )
        ovs_nics = set(h.ovs_nics())
        for k, nic in enumerate(h.all_nics()):
            seg = MANAGEMENT_SEGMENT if nic == mgmt_nic else nic
            if seg not in segments:
                segments[seg] = Segment(name=seg, bridge=f"lan{len(segments)}")
            links.append(
                LanLink(
                    node=h.name,
                    netns=ns,
                    ifname=nic,
                    lan_ifname=f"h{i}n{k}",
                    segment=seg,
                    in_ovs=nic in ovs_nics,
                )
            )
    if (
        router_ip in used
        or router_ip not in subnet
        or router_ip
        in (
            subnet.network_address,
            subnet.broadcast_address,
        )
    ):
        raise _bad(f"gateway {router_ip} cannot be the LAN's router address in {subnet}")
    used[router_ip] = ROUTER
    central_ip = next(
        (a for a in subnet.hosts() if a not in used and int(a) >= int(subnet.network_address) + 10),
        None,
    ) or next((a for a in subnet.hosts() if a not in used), None)
    if central_ip is None:
        raise _bad(f"no free address for the central node in {subnet}")
    lan_ns = netns.namespace_name(lab_id, "lan")
    central_ns = netns.namespace_name(lab_id, CENTRAL)
    links.insert(
        0,
        LanLink(
            node=CENTRAL,
            netns=central_ns,
            ifname="eth0",
            lan_ifname="c0",
            segment=MANAGEMENT_SEGMENT,
            in_ovs=False,
        ),
    )
    return DataplanePlan(
        lab_id=lab_id,
        lan_netns=lan_ns,
        subnet=subnet,
        router=Node(
            name=ROUTER,
            kind="router",
            netns=lan_ns,
            address=ipaddress.IPv4Interface(f"{router_ip}/{subnet.prefixlen}"),
            interface="lan0",
        ),
        central=Node(
            name=CENTRAL,
            kind="central",
            netns=central_ns,
            address=ipaddress.IPv4Interface(f"{central_ip}/{subnet.prefixlen}"),
            interface="eth0",
        ),
        hosts=hosts,
        segments=list(segments.values()),
        links=links,
    )


def format_matrix(matrix: Mapping[tuple[str, str], bool]) -> str:
    """A reachability matrix as a table: rows are sources, columns destinations."""
    names: list[str] = []
    for src, dst in matrix:
        for n in (src, dst):
            if n not in names:
                names.append(n)
    width = max([len(n) for n in names] + [4])
    lines = [" " * width + " " + " ".join(n.rjust(width) for n in names)]
    for src in names:
        cells = []
        for dst in names:
            ok = matrix.get((src, dst))
            cells.append(("-" if ok is None else "ok" if ok else "FAIL").rjust(width))
        lines.append(src.ljust(width) + " " + " ".join(cells))
    return "\n".join(lines)


