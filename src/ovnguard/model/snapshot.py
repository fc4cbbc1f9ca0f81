"""The whole cluster as ovnguard sees it at one moment: NB, SB and every host.

A Snapshot is immutable. A change produces a new Snapshot (fork-and-diff); nothing in the
model does I/O. Readers in `ovnguard.sources` build it; `ovnguard.change` forks it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import field, replace

from ovnguard.model.db import Database
from ovnguard.record import record


@record(slots=True)
class IpAddress:
    ifname: str
    address: str  # without prefix, e.g. "10.10.0.21"
    prefixlen: int
    family: str  # "inet" | "inet6"
    scope: str = "global"

    @property
    def cidr(self) -> str:
        return f"{self.address}/{self.prefixlen}"


@record(slots=True)
class IpRoute:
    dst: str  # "default", "10.10.0.0/24" or a host address
    dev: str | None = None
    gateway: str | None = None
    prefsrc: str | None = None
    table: str = "main"
    protocol: str | None = None
    scope: str | None = None
    type: str = "unicast"
    metric: int | None = None  # lower wins among equal prefixes
    family: str | None = None  # "inet" | "inet6"; None when nothing in the entry tells


@record(slots=True)
class IpLink:
    ifname: str
    kind: str | None = None  # linkinfo.info_kind: "openvswitch", "veth", "tun", ...
    master: str | None = None
    address: str | None = None  # MAC
    operstate: str | None = None
    mtu: int | None = None


@record(slots=True)
class HostState:
    """One host (an OVN chassis, usually), as collected.

    `None` for a part means "not collected": rules must say what they could not check
    rather than assume it is empty.
    """

    name: str
    ovs: Database | None = None  # Open_vSwitch
    addresses: tuple[IpAddress, ...] | None = None
    routes: tuple[IpRoute, ...] | None = None
    links: tuple[IpLink, ...] | None = None
    # relative path under etc/ (e.g. "neutron/plugins/ml2/openvswitch_agent.ini")
    #   -> section -> key -> value
    neutron: Mapping[str, Mapping[str, Mapping[str, str]]] = field(default_factory=dict)
    inventory_address: str | None = None  # what operators SSH to (inventory.yaml)
    files: Mapping[str, str] = field(default_factory=dict)  # "conf.db"/"addr.json"/... -> path
    # How the host was deployed (sources/flavors.py id: "kolla-ansible", "ovn-kubernetes"
    # ...), from hosts/<host>/deployment.json; None: not known. Rules word by-design layouts
    # by it (ovn-kubernetes' shared gateway puts the node IP on br-ex on purpose).
    deployment: str | None = None


@record(slots=True)
class Snapshot:
    nb: Database
    sb: Database | None
    hosts: Mapping[str, HostState]
    source: str = ""  # the bundle directory or live remote
    notes: tuple[str, ...] = ()  # what could not be read (narrows what can be said)

    def with_nb(self, nb: Database) -> Snapshot:
        return replace(self, nb=nb)

    def with_sb(self, sb: Database | None) -> Snapshot:
        return replace(self, sb=sb)

    def with_host(self, host: HostState) -> Snapshot:
        hosts = dict(self.hosts)
        hosts[host.name] = host
        return replace(self, hosts=hosts)
