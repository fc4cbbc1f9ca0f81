"""The lab's topology file: which hosts, bridges, NICs and logical objects to build.

Pure data: pydantic models, a YAML loader that maps every error back to a file line, and
the built-in seed-like topology used when no file is given.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from ovnguard.errors import InputError
from ovnguard.i18n import _
from ovnguard.sources import safeio

# Host names become directory names, chassis names and ovsdb-ctl record names: keep them to
# what a hostname may hold so none of those needs quoting.
_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$"
# Interface names: what Linux accepts (IFNAMSIZ 16 incl. NUL) and ovs-vsctl needs no quoting for.
_IFNAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,14}$"

HostName = Annotated[str, Field(pattern=_NAME_PATTERN)]
IfName = Annotated[str, Field(pattern=_IFNAME_PATTERN)]
OvsName = Annotated[str, Field(min_length=1, max_length=200)]

INTEGRATION_BRIDGE = "br-int"
MANAGED_EXTERNAL_IDS = frozenset({"system-id", "hostname", "ovn-remote"})


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Bridge(_Strict):
    """An OVS bridge on a host. `ports` are NIC names (dummy netdevs in the lab)."""

    name: IfName
    ports: list[IfName] = []
    other_config: dict[str, str] = {}
    external_ids: dict[str, str] = {}
    fail_mode: Literal["secure", "standalone"] | None = None


class Management(_Strict):
    """The address operators SSH to, and the interface (NIC or bridge) that holds it."""

    address: ipaddress.IPv4Interface
    interface: IfName
    # Default: the first host address of the subnet (or the second, if that is our own).
    gateway: ipaddress.IPv4Address | None = None

    @field_validator("address")
    @classmethod
    def _has_prefix(cls, v: ipaddress.IPv4Interface) -> ipaddress.IPv4Interface:
        if v.network.prefixlen == 32:
            raise ValueError("address needs a prefix length, e.g. 10.10.0.21/24")
        return v

    @property
    def effective_gateway(self) -> ipaddress.IPv4Address:
        if self.gateway is not None:
            return self.gateway
        hosts = self.address.network.hosts()
        first = next(hosts)
        if first == self.address.ip:
            return next(hosts, first)
        return first


class Host(_Strict):
    """One chassis: its hostname is also its system-id and its SB Chassis name, unless
    `system_id` names the chassis differently (a replica of a real host whose system-id is a
    UUID, see replica.py)."""

    name: HostName
    system_id: HostName | None = None
    bridges: list[Bridge] = []
    # NICs outside OVS (e.g. a management NIC after NIC separation). They exist only in the
    # exported addr/link JSON: in the lab there is no kernel NIC to create.
    nics: list[IfName] = []
    bridge_mappings: str = ""
    management: Management | None = None
    encap_ip: ipaddress.IPv4Address | None = None
    external_ids: dict[str, str] = {}

    @property
    def chassis_name(self) -> str:
        """external_ids:system-id, i.e. the SB Chassis name."""
        return self.system_id or self.name

    def bridge(self, name: str) -> Bridge | None:
        return next((b for b in self.bridges if b.name == name), None)

    def bridges_with_integration(self) -> list[Bridge]:
        """The declared bridges plus br-int as ovn-macros.at configures it, unless declared."""
        if self.bridge(INTEGRATION_BRIDGE) is not None:
            return list(self.bridges)
        br_int = Bridge(
            name=INTEGRATION_BRIDGE,
            fail_mode="secure",
            other_config={"disable-in-band": "true"},
        )
        return [*self.bridges, br_int]

    def ovs_nics(self) -> list[str]:
        return [p for b in self.bridges for p in b.ports]

    def all_nics(self) -> list[str]:
        return [*self.ovs_nics(), *self.nics]


class Switch(_Strict):
    name: OvsName
    external_ids: dict[str, str] = {}
    other_config: dict[str, str] = {}


class SwitchPort(_Strict):
    """A Logical_Switch_Port. `bound_to` plugs a VIF for it into that host's br-int."""

    switch: OvsName
    name: OvsName
    type: str = ""
    addresses: list[str] = []
    options: dict[str, str] = {}
    external_ids: dict[str, str] = {}
    tag_request: int | None = Field(default=None, ge=0, le=4095)
    bound_to: HostName | None = None
    # The OVS interface name of the bound VIF; default `tap` + the first 11 characters of the
    # port name, the way Neutron names tap devices after the port UUID.
    iface: IfName | None = None

    @property
    def iface_name(self) -> str:
        if self.iface:
            return self.iface
        return "tap" + self.name[:11]


class RouterPort(_Strict):
    name: OvsName
    mac: str = Field(pattern=r"^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$")
    networks: list[str] = Field(min_length=1)
    # The switch this port plugs into (a router-type LSP is created there).
    switch: OvsName | None = None
    # Name of that LSP; default: the router port name without Neutron's `lrp-` prefix.
    switch_port: OvsName | None = None
    # [[host, priority], ...]: makes this a distributed gateway port.
    gateway_chassis: list[tuple[HostName, int]] = []

    @property
    def switch_port_name(self) -> str:
        if self.switch_port:
            return self.switch_port
        if self.name.startswith("lrp-") and len(self.name) > 4:
            return self.name[4:]
        return "rp-" + self.name


class Nat(_Strict):
    type: Literal["snat", "dnat", "dnat_and_snat"]
    external_ip: ipaddress.IPv4Address
    logical_ip: str
    logical_port: str | None = None
    external_mac: str | None = None

    @model_validator(mode="after")
    def _port_needs_mac(self) -> Nat:
        # ovn-nbctl lr-nat-add takes LOGICAL_PORT and EXTERNAL_MAC together or not at all.
        if (self.logical_port is None) != (self.external_mac is None):
            raise ValueError("logical_port and external_mac go together (distributed NAT)")
        if self.logical_port is not None and self.type != "dnat_and_snat":
            raise ValueError("logical_port/external_mac need type dnat_and_snat")
        return self


class StaticRoute(_Strict):
    prefix: str
    nexthop: str


class Router(_Strict):
    name: OvsName
    external_ids: dict[str, str] = {}
    ports: list[RouterPort] = []
    nat: list[Nat] = []
    routes: list[StaticRoute] = []


class Logical(_Strict):
    switches: list[Switch] = []
    ports: list[SwitchPort] = []
    routers: list[Router] = []


class Topology(_Strict):
    """A whole lab. `nic_type` is the OVS Interface type given to NICs: `system` (the empty
    type, as on a real host; ovs-vswitchd --enable-dummy=override makes it a dummy netdev)
    or `dummy` (explicit)."""

    hosts: list[Host] = Field(min_length=1)
    logical: Logical = Logical()
    nic_type: Literal["system", "dummy"] = "system"

    def host(self, name: str) -> Host:
        for h in self.hosts:
            if h.name == name:
                return h
        raise KeyError(name)

    def host_names(self) -> list[str]:
        return [h.name for h in self.hosts]

    def encap_ips(self) -> dict[str, ipaddress.IPv4Address]:
        """Each host's encap IP: explicit, or the next free 127.0.0.x starting at .2."""
        taken = {h.encap_ip for h in self.hosts if h.encap_ip is not None}
        result: dict[str, ipaddress.IPv4Address] = {}
        candidate = ipaddress.IPv4Address("127.0.0.2")
        for h in self.hosts:
            if h.encap_ip is not None:
                result[h.name] = h.encap_ip
                continue
            while candidate in taken:
                candidate += 1
            result[h.name] = candidate
            taken.add(candidate)
        return result


# --- semantic checks (cross references); each problem carries its YAML path -------------

Loc = tuple[str | int, ...]


def semantic_problems(topo: Topology) -> list[tuple[Loc, str]]:
    """Cross-reference errors pydantic cannot see, each with the path of the offending value."""
    problems: list[tuple[Loc, str]] = []

    def dupes(items: Iterable[tuple[Loc, str]], what: str) -> None:
        seen: set[str] = set()
        for loc, name in items:
            if name in seen:
                problems.append((loc, f"duplicate {what} {name!r}"))
            seen.add(name)

    dupes(((("hosts", i, "name"), h.name) for i, h in enumerate(topo.hosts)), "host")
    dupes(
        (
            (("hosts", i, "system_id" if h.system_id else "name"), h.chassis_name)
            for i, h in enumerate(topo.hosts)
        ),
        "chassis name (system-id)",
    )
    hosts = set(topo.host_names())
    for i, h in enumerate(topo.hosts):
        base: Loc = ("hosts", i)
        dupes(
            ((((*base, "bridges", j, "name")), b.name) for j, b in enumerate(h.bridges)),
            "bridge",
        )
        nic_locs: list[tuple[Loc, str]] = [
            ((*base, "bridges", j, "ports", k), p)
            for j, b in enumerate(h.bridges)
            for k, p in enumerate(b.ports)
        ]
        nic_locs += [((*base, "nics", k), n) for k, n in enumerate(h.nics)]
        dupes(nic_locs, "NIC (a NIC can be in one place only)")
        bridge_names = {b.name for b in h.bridges_with_integration()}
        for loc, nic in nic_locs:
            if nic in bridge_names:
                problems.append((loc, f"NIC {nic!r} has the name of a bridge"))
        for key in sorted(MANAGED_EXTERNAL_IDS & h.external_ids.keys()):
            problems.append(
                (
                    (*base, "external_ids", key),
                    f"external_ids:{key} is set by the lab (system-id and hostname are the "
                    "host name, ovn-remote is the lab's SB)",
                )
            )
        if h.management is not None:
            iface = h.management.interface
            known = bridge_names | set(h.all_nics())
            if iface not in known:
                problems.append(
                    (
                        (*base, "management", "interface"),
                        f"management interface {iface!r} is neither a bridge nor a NIC of "
                        f"host {h.name!r} (declare it under bridges[].ports or nics)",
                    )
                )
    encaps = topo.encap_ips()
    dupes(
        ((("hosts", i, "encap_ip"), str(encaps[h.name])) for i, h in enumerate(topo.hosts)),
        "encap_ip",
    )

    lg = topo.logical
    dupes(
        ((("logical", "switches", i, "name"), s.name) for i, s in enumerate(lg.switches)),
        "switch",
    )
    dupes(
        ((("logical", "routers", i, "name"), r.name) for i, r in enumerate(lg.routers)),
        "router",
    )
    switches = {s.name for s in lg.switches}
    lsp_names: list[tuple[Loc, str]] = []
    ifaces: dict[tuple[str, str], Loc] = {}
    for i, p in enumerate(lg.ports):
        ploc: Loc = ("logical", "ports", i)
        lsp_names.append(((*ploc, "name"), p.name))
        if p.switch not in switches:
            problems.append(((*ploc, "switch"), f"unknown switch {p.switch!r}"))
        if p.bound_to is not None:
            if p.bound_to not in hosts:
                problems.append(((*ploc, "bound_to"), f"unknown host {p.bound_to!r}"))
            iface_key = (p.bound_to, p.iface_name)
            if iface_key in ifaces:
                problems.append(
                    ((*ploc, "iface"), f"interface {p.iface_name!r} already used on {p.bound_to}")
                )
            ifaces[iface_key] = ploc
    lrp_names: list[tuple[Loc, str]] = []
    for i, r in enumerate(lg.routers):
        for j, rp in enumerate(r.ports):
            rloc: Loc = ("logical", "routers", i, "ports", j)
            lrp_names.append(((*rloc, "name"), rp.name))
            if rp.switch is not None:
                if rp.switch not in switches:
                    problems.append(((*rloc, "switch"), f"unknown switch {rp.switch!r}"))
                lsp_names.append(((*rloc, "switch_port"), rp.switch_port_name))
            for k, (gw, _prio) in enumerate(rp.gateway_chassis):
                if gw not in hosts:
                    problems.append(
                        ((*rloc, "gateway_chassis", k), f"unknown gateway chassis host {gw!r}")
                    )
    dupes(lsp_names, "logical switch port")
    dupes(lrp_names, "logical router port")
    return problems


# --- loading ---------------------------------------------------------------------------


def _line_of(root: yaml.Node | None, loc: Sequence[str | int]) -> int | None:
    """1-based line of the YAML node at `loc` (or of its deepest existing ancestor)."""
    node = root
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        nxt: yaml.Node | None = None
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.value == str(part):
                    nxt = value
                    break
        elif (
            isinstance(node, yaml.SequenceNode)
            and isinstance(part, int)
            and 0 <= part < len(node.value)
        ):
            nxt = node.value[part]
        if nxt is None:
            break
        node = nxt
        line = node.start_mark.line + 1
    return line


def _loc_text(loc: Sequence[str | int]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def parse_topology(text: str, path: str = "<topology>") -> Topology:
    """Parse and validate YAML text. Any fault => InputError naming `path` and the line."""
    root = safeio.compose_yaml(text, path)
    data: Any = safeio.load_yaml(text, path)
    if not isinstance(data, dict):
        raise InputError(_(
            "expected a mapping with a `hosts:` list at the top"), path, 1)
    try:
        topo = Topology.model_validate(data)
    except ValidationError as e:
        err = e.errors()[0]
        loc = tuple(p for p in err["loc"] if isinstance(p, str | int))
        # pydantic appends the union member / tuple index to loc; the line lookup stops at
        # the deepest part that exists in the YAML, which is what we want.
        more = f" (and {len(e.errors()) - 1} more)" if len(e.errors()) > 1 else ""
        raise InputError(
            f"{_loc_text(loc)}: {err['msg']}{more}", path, _line_of(root, loc)
        ) from None
    problems = semantic_problems(topo)
    if problems:
        loc, msg = problems[0]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise InputError(f"{_loc_text(loc)}: {msg}{more}", path, _line_of(root, loc))
    return topo


def load_topology(path: str | Path) -> Topology:
    p = Path(path)
    return parse_topology(safeio.read_text(p, what="topology file"), str(p))


def validate_topology(topo: Topology) -> Topology:
    """Run the cross-reference checks on a topology built in code (no file, no line)."""
    problems = semantic_problems(topo)
    if problems:
        loc, msg = problems[0]
        raise InputError(f"{_loc_text(loc)}: {msg}", "<topology>")
    return topo


# --- the built-in topology -------------------------------------------------------------

# Stable made-up UUIDs so the seed topology (and bundles exported from it) are reproducible.
SEED_NETWORK_ID = "5f1c9d2e-8a7b-4c3d-9e0f-1a2b3c4d5e6f"
SEED_SEGMENT_ID = "0b7e4f1a-2c3d-4e5f-8a9b-c0d1e2f3a4b5"
SEED_VM_PORT_ID = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"
SEED_PROJECT_ID = "3f2e1d0c9b8a47f6a5e4d3c2b1a09f8e"


def host_names_for(n: int) -> list[str]:
    """controller, network, compute1 .. compute(n-2)."""
    if n < 1:
        raise InputError(_(
            "--chassis must be at least 1"))
    names = ["controller", "network"][:n]
    names += [f"compute{i}" for i in range(1, n - 1)]
    return names


def seed_host(name: str, index: int, n: int) -> Host:
    """A node as in the incident: br-ex holds enp6s18 and the management address."""
    if n <= 200:
        address = ipaddress.IPv4Interface(f"10.10.0.{21 + index}/24")
    else:
        base = ipaddress.IPv4Address("10.10.1.0") + index
        address = ipaddress.IPv4Interface(f"{base}/16")
    return Host(
        name=name,
        bridges=[Bridge(name="br-ex", ports=["enp6s18"])],
        bridge_mappings="physnet2:br-ex",
        management=Management(address=address, interface="br-ex"),
    )


def seed_logical(hosts: Sequence[str]) -> Logical:
    """Neutron's provider network `public` on physnet2, and a VM port on compute1."""
    switch = f"neutron-{SEED_NETWORK_ID}"
    switches = [
        Switch(
            name=switch,
            external_ids={
                "neutron:network_name": "public",
                "neutron:mtu": "1500",
                "neutron:revision_number": "2",
                "neutron:availability_zone_hints": "",
            },
            other_config={"mcast_snoop": "false", "mcast_flood_unregistered": "false"},
        )
    ]
    ports = [
        SwitchPort(
            switch=switch,
            name=f"provnet-{SEED_SEGMENT_ID}",
            type="localnet",
            addresses=["unknown"],
            options={
                "network_name": "physnet2",
                "mcast_flood": "false",
                "mcast_flood_reports": "true",
            },
            external_ids={"neutron:provnet-physical-network": "physnet2"},
        )
    ]
    if "compute1" in hosts:
        ports.append(
            SwitchPort(
                switch=switch,
                name=SEED_VM_PORT_ID,
                addresses=["fa:16:3e:5d:7a:10 203.0.113.10"],
                external_ids={
                    "neutron:cidrs": "203.0.113.10/24",
                    "neutron:device_owner": "compute:nova",
                    "neutron:network_name": switch,
                    "neutron:port_name": "",
                    "neutron:project_id": SEED_PROJECT_ID,
                    "neutron:revision_number": "4",
                },
                bound_to="compute1",
            )
        )
    return Logical(switches=switches, ports=ports)


def seed_topology(n: int = 3) -> Topology:
    """The seed cluster with `n` chassis (3 = controller, network, compute1)."""
    names = host_names_for(n)
    hosts = [seed_host(name, i, n) for i, name in enumerate(names)]
    return validate_topology(Topology(hosts=hosts, logical=seed_logical(names)))
