"""Typed views of one host: its OVS bridges, its OVN chassis settings, its addresses and routes,
and the one fact every rule needs -- which address operators reach it by, and whether that
address rides an OVS bridge that ovn-controller may patch a logical switch into.

Derived, never stored: a view is computed from `HostState` (pure, no I/O), so the Snapshot
stays the single source of truth and a change only has to edit the Open_vSwitch database.
Every derived fact carries `Evidence` naming the file (conf.db / addr.json / route.json), the
table and the row it was read from.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable, Mapping
from dataclasses import field
from functools import cached_property, lru_cache
from typing import Any, TypeVar, cast

from ovnguard.i18n import _, current_language
from ovnguard.model.db import Database, Row
from ovnguard.model.evidence import Evidence
from ovnguard.model.logical import SbChassis, chassis_by_host, read_chassis
from ovnguard.model.mesh import is_tunnel_port, tunnel_counts
from ovnguard.model.ovs import (
    INTEGRATION_BRIDGE,
    OvsBridge,
    OvsInterface,
    OvsPort,
    frozen_smap,
    remote_targets,
    smap,
)
from ovnguard.model.snapshot import HostState, IpAddress, IpRoute, Snapshot
from ovnguard.record import record

# The one faithful ovn-bridge-mappings parser (a pure module with no ovnguard imports).
from ovnguard.simulation.mappings import BridgeMappings, parse_bridge_mappings

T = TypeVar("T")

IpNet = ipaddress.IPv4Network | ipaddress.IPv6Network
IpAddr = ipaddress.IPv4Address | ipaddress.IPv6Address

DEFAULT_INTEGRATION_BRIDGE = INTEGRATION_BRIDGE
# What to run to learn what only a host knows (its bridges' NICs, addresses, routes): named
# wherever a prediction had to do without them.
COLLECT_HOSTS = "ovnguard collect --inventory hosts.yaml --out BUNDLE"


def _s(v: object) -> str:
    return v if isinstance(v, str) else ""


# --------------------------------------------------------------------------- OVS bridges


def bridges_of(ovs: Database) -> dict[str, OvsBridge]:
    """Every Bridge of an Open_vSwitch database, by name (built once per database)."""
    return dict(ovs.memo("model.host.bridges_of", _bridges_of))


def _bridges_of(ovs: Database) -> dict[str, OvsBridge]:
    out: dict[str, OvsBridge] = {}
    tunnels = tunnel_counts(ovs)
    for br in ovs.rows("Bridge"):
        ports: list[OvsPort] = []
        for pu in br.set("ports"):
            prow = ovs.row("Port", str(pu))
            if prow is None:
                continue
            if tunnels and is_tunnel_port(prow, (ovs.row("Interface", str(iu))
                                                 for iu in prow.set("interfaces"))):
                continue  # counted in tunnel_ports (model/mesh.py)
            ifaces: list[OvsInterface] = []
            for iu in prow.set("interfaces"):
                irow = ovs.row("Interface", str(iu))
                if irow is None:
                    continue
                ext = frozen_smap(irow, "external_ids")
                mac = irow.opt("mac_in_use")
                ifaces.append(
                    OvsInterface(
                        name=irow.name,
                        type=_s(irow.get("type", "")),
                        options=frozen_smap(irow, "options"),
                        iface_id=ext.get("iface-id"),
                        mac_in_use=str(mac) if mac else None,
                        uuid=str(irow.uuid),
                    )
                )
            tag = prow.opt("tag")
            ports.append(
                OvsPort(
                    name=prow.name,
                    interfaces=tuple(sorted(ifaces, key=lambda i: i.name)),
                    tag=tag if isinstance(tag, int) and not isinstance(tag, bool) else None,
                    external_ids=frozen_smap(prow, "external_ids"),
                    uuid=str(prow.uuid),
                )
            )
        controllers: list[str] = []
        for cu in br.set("controller"):
            crow = ovs.row("Controller", str(cu))
            if crow is not None:
                controllers.append(_s(crow.get("target", "")))
        fail_mode = br.opt("fail_mode")
        out[br.name] = OvsBridge(
            name=br.name,
            ports=tuple(sorted(ports, key=lambda p: p.name)),
            fail_mode=str(fail_mode) if fail_mode else None,
            controllers=tuple(sorted(controllers)),
            other_config=frozen_smap(br, "other_config"),
            external_ids=frozen_smap(br, "external_ids"),
            datapath_type=_s(br.get("datapath_type", "")),
            uuid=str(br.uuid),
            tunnel_ports=tunnels.get(br.name, 0),
        )
    return dict(sorted(out.items()))


# --------------------------------------------------------------------------- addresses, routes


@record(slots=True)
class Carrier:
    """How an L3 interface of the host reaches the wire, as far as OVS is concerned."""

    ifname: str
    # "bridge": the bridge's own internal port (br-ex); "internal-port": another internal
    # port of a bridge; "ovs-nic": a NIC that is itself an OVS port (its IP is dead, OVS FAQ);
    # "outside-ovs": not in OVS; "unknown": conf.db not collected.
    kind: str
    bridge: str | None = None
    nics: tuple[str, ...] = ()  # the bridge's NICs: the L2 path out of the host
    evidence: tuple[Evidence, ...] = ()

    @property
    def in_ovs(self) -> bool:
        return self.bridge is not None


@record(slots=True)
class RouteMatch:
    target: str  # the destination IP asked about
    route: IpRoute | None  # None: the target is one of the host's own addresses
    source: IpAddress | None  # the address the host sends from
    evidence: tuple[Evidence, ...] = ()

    @property
    def dev(self) -> str | None:
        if self.route is not None:
            return self.route.dev
        return self.source.ifname if self.source else None


@record(slots=True)
class Management:
    """The address operators (and the cluster) reach this host by."""

    address: str
    prefixlen: int | None
    ifname: str | None
    how: str  # "inventory" | "route-to-ovn-remote" | "default-route"
    carrier: Carrier | None
    evidence: tuple[Evidence, ...] = ()

    @property
    def network(self) -> IpNet | None:
        if self.prefixlen is None:
            return None
        return _network(self.address, self.prefixlen)

    @property
    def cidr(self) -> str:
        return f"{self.address}/{self.prefixlen}" if self.prefixlen is not None else self.address

    @property
    def bridge(self) -> str | None:
        return self.carrier.bridge if self.carrier else None


def _ip(text: str | None) -> IpAddr | None:
    if not text:
        return None
    try:
        return ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None


def _route_net(r: IpRoute) -> IpNet | None:
    if r.dst == "default":
        gw = _ip(r.gateway)
        return ipaddress.ip_network("::/0" if gw is not None and gw.version == 6 else "0.0.0.0/0")
    try:
        return ipaddress.ip_network(r.dst, strict=False)
    except ValueError:
        return None


def parse_remote_targets(remote: str | None) -> tuple[tuple[str, str | None], ...]:
    """`tcp:10.0.0.5:6642,ssl:[fd00::5]:6642,unix:/x` -> ((target, ip-or-None), ...).

    A host name cannot be resolved without I/O: its IP is None and rules say so.
    """
    out: list[tuple[str, str | None]] = []
    for t in remote_targets(remote):
        ip = _ip(t.host) if t.host is not None else None
        out.append((t.text, str(ip) if ip is not None else None))
    return tuple(out)


# --------------------------------------------------------------------------- the host view


@record
class HostView:
    """Everything a rule asks about one host, derived from its HostState -- and, when its
    Open_vSwitch DB was not collected (a check run on the control node with NB and SB only),
    from what its ovn-controller reported in SB: Chassis hostname and ovn-bridge-mappings.
    SB does not say which NICs or addresses sit on a bridge, nor the integration bridge's
    name (assumed br-int, as ovn-controller defaults); those stay unknown, never empty."""

    state: HostState
    chassis: SbChassis | None = None  # stands in for the OVS DB; only set when ovs is None
    sb_source: str = ""  # the SB file or remote `chassis` was read from

    def memo(self, key: str, derive: Callable[[HostView], T]) -> T:
        """`derive(self)`, once per view (as `Database.memo` per database): for what is a
        function of this host alone (a per-host rule's findings, its report topology).
        `host_views` shares a view between the states before and after a change that did
        not touch the host, so a what-if derives it again only for the hosts it changes."""
        memo: dict[str, Any] = self.__dict__.setdefault("_memo", {})
        try:
            return cast(T, memo[key])
        except KeyError:
            v = memo[key] = derive(self)
            return v

    # -- sources, for evidence
    @property
    def name(self) -> str:
        return self.state.name

    @property
    def based_on(self) -> str:
        """"ovs": the host's Open_vSwitch DB; "sb": SB Chassis stands in; "none"."""
        if self.state.ovs is not None:
            return "ovs"
        return "sb" if self.chassis is not None else "none"

    @property
    def bridges_known(self) -> bool:
        """False when nothing says which bridges exist and what they hold."""
        return self.state.ovs is not None

    def _file(self, key: str) -> str:
        f = self.state.files.get(key)
        if f:
            return f
        if key == "conf.db" and self.state.ovs is not None and self.state.ovs.source:
            return self.state.ovs.source
        return f"hosts/{self.name}/{key}"

    def ovs_evidence(self, fact: str, table: str | None = None, row: str | None = None) -> Evidence:
        return Evidence(fact, self._file("conf.db"), table, row, self.name)

    def addr_evidence(self, fact: str, ifname: str | None = None) -> Evidence:
        return Evidence(fact, self._file("addr.json"), None, ifname, self.name)

    def route_evidence(self, fact: str, dst: str | None = None) -> Evidence:
        return Evidence(fact, self._file("route.json"), None, dst, self.name)

    def neutron_evidence(self, fact: str, relpath: str, key: str | None = None) -> Evidence:
        src = self.state.files.get(f"etc/{relpath}") or f"hosts/{self.name}/etc/{relpath}"
        return Evidence(fact, src, None, key, self.name)

    # -- Open_vSwitch
    @cached_property
    def _ovs_row(self) -> Row | None:
        if self.state.ovs is None:
            return None
        return next(self.state.ovs.rows("Open_vSwitch"), None)

    @cached_property
    def external_ids(self) -> Mapping[str, str]:
        return smap(self._ovs_row, "external_ids") if self._ovs_row is not None else {}

    @property
    def system_id(self) -> str | None:
        if self.based_on == "sb" and self.chassis is not None:
            return self.chassis.name
        return self.external_ids.get("system-id") or None

    def chassis_option(self, key: str) -> str | None:
        """`external_ids:<key>-<system-id>` overrides `<key>` (ovn-controller(8), 22.09+)."""
        sid = self.system_id
        if sid and f"{key}-{sid}" in self.external_ids:
            return self.external_ids[f"{key}-{sid}"]
        return self.external_ids.get(key)

    @property
    def hostname(self) -> str:
        if self.based_on == "sb" and self.chassis is not None:
            return self.chassis.hostname or self.name
        return self.chassis_option("hostname") or self.name

    @property
    def ovn_remote(self) -> str | None:
        return self.chassis_option("ovn-remote") or None

    @property
    def integration_bridge(self) -> str:
        """external_ids:ovn-bridge, else br-int; without a conf.db br-int is an assumption
        (SB does not record it): `integration_bridge_assumed`."""
        return self.chassis_option("ovn-bridge") or DEFAULT_INTEGRATION_BRIDGE

    @property
    def integration_bridge_assumed(self) -> bool:
        return self.state.ovs is None

    @cached_property
    def bridges(self) -> Mapping[str, OvsBridge]:
        return bridges_of(self.state.ovs) if self.state.ovs is not None else {}

    @property
    def mappings_key(self) -> str:
        """The external_ids key ovn-bridge-mappings is read from (`-<system-id>` first, as
        the simulation reads it)."""
        sid = self.system_id
        key = "ovn-bridge-mappings"
        return f"{key}-{sid}" if sid and f"{key}-{sid}" in self.external_ids else key

    @property
    def mappings_raw(self) -> str | None:
        """The raw ovn-bridge-mappings (None: not set, or not known). Parsing it the way
        ovn-controller does is the simulation's job (`ovnguard.simulation.mappings`), so the
        rules and the realization can never read it differently. Without a conf.db: the
        copy the chassis reported in SB."""
        if self.based_on == "sb" and self.chassis is not None:
            return self.chassis.bridge_mappings
        return self.external_ids.get(self.mappings_key)

    @property
    def mappings_known(self) -> bool:
        return self.based_on != "none"

    @cached_property
    def bridge_mappings(self) -> BridgeMappings:
        """ovn-bridge-mappings as ovn-controller reads them (the simulation's parser: one
        reading for the realization and the rules), against the bridges that exist when
        they are known. Cached on the view, which a what-if shares for untouched hosts."""
        return parse_bridge_mappings(self.mappings_raw,
                                     frozenset(self.bridges) if self.bridges_known else None,
                                     self.mappings_key)

    @cached_property
    def provider_bridges(self) -> Mapping[str, tuple[str, ...]]:
        """bridge -> physnets effectively mapped to it."""
        out: dict[str, list[str]] = {}
        for physnet, bridge in self.bridge_mappings.mappings.items():
            out.setdefault(bridge, []).append(physnet)
        return {b: tuple(sorted(p)) for b, p in sorted(out.items())}

    def mappings_evidence(self) -> Evidence:
        """Where this host's ovn-bridge-mappings were read: once per view (several rules
        ask, `unmapped-physnet` of every host)."""
        return self.memo("mappings-evidence", HostView._mappings_evidence)

    def _mappings_evidence(self) -> Evidence:
        if self.based_on == "sb" and self.chassis is not None:
            col = self.chassis.bridge_mappings_column or "other_config"
            return Evidence(
                _(
                        "SB Chassis {name} {col}:ovn-bridge-mappings=\"{value}\" (what {name2}'s "
                        "ovn-controller reported; no Open_vSwitch DB of it here)").format(
                        name=self.chassis.name, col=col, value=self.mappings_raw or '',
                        name2=self.name),
                self.sb_source or "sb.db", "Chassis", self.chassis.name, self.name)
        return self.ovs_evidence(
            _(
                    "Open_vSwitch external_ids:{mappings_key}=\"{value}\"").format(
                    mappings_key=self.mappings_key, value=self.mappings_raw or ''),
            "Open_vSwitch", f"external_ids:{self.mappings_key}",
        )

    def assumed_evidence(self) -> Evidence:
        """What a prediction for a host without its Open_vSwitch DB takes for granted."""
        return Evidence(
            _(
                    "no Open_vSwitch DB of {name}: its integration bridge is assumed to be "
                    "{DEFAULT_INTEGRATION_BRIDGE} (ovn-controller's default) and every mapped "
                    "bridge to exist").format(
                    name=self.name, DEFAULT_INTEGRATION_BRIDGE=DEFAULT_INTEGRATION_BRIDGE),
                        "assumption", "Open_vSwitch", None, self.name)

    def unknown_bridge_evidence(self, bridge: str) -> Evidence:
        """Why nothing is said about what `bridge` holds: the host files are missing."""
        if self.state.addresses is None:
            what, files = "which NIC and which addresses sit", "conf.db / addr.json"
        else:
            what, files = "which NIC sits", "conf.db"
        return Evidence(
            _(
                    "unknown: {what} on {bridge} of {name} (no {files} of {name}; "
                    "`{COLLECT_HOSTS}` collects them)").format(
                    what=what, bridge=bridge, name=self.name, files=files,
                    COLLECT_HOSTS=COLLECT_HOSTS), "not collected", "Bridge", bridge, self.name)

    def bridge_of_interface(self, ifname: str) -> tuple[OvsBridge, OvsInterface] | None:
        for br in self.bridges.values():
            i = br.interface(ifname)
            if i is not None:
                return br, i
        return None

    # -- addresses and routes
    @property
    def addresses(self) -> tuple[IpAddress, ...]:
        return self.state.addresses or ()

    def global_addresses(self) -> tuple[IpAddress, ...]:
        return tuple(a for a in self.addresses if a.scope == "global")

    def addresses_on(self, ifname: str) -> tuple[IpAddress, ...]:
        return tuple(a for a in self.global_addresses() if a.ifname == ifname)

    def carrier(self, ifname: str) -> Carrier:
        if self.state.ovs is None:
            return self._carrier_without_ovs(ifname)
        found = self.bridge_of_interface(ifname)
        if found is None:
            return Carrier(
                ifname, "outside-ovs",
                evidence=(self.ovs_evidence(_(
                        "{ifname} is not an OVS interface").format(
                        ifname=ifname), "Interface"),),
            )
        br, iface = found
        nics = tuple(n.name for n in br.nics)
        nic_text = ", ".join(nics) if nics else "no NIC"
        ev_nics = self.ovs_evidence(_(
                "{name} holds {nic_text}").format(
                name=br.name, nic_text=nic_text), "Bridge", br.name)
        if iface.is_internal and iface.name == br.name:
            kind = "bridge"
            ev = self.ovs_evidence(_(
                    "{ifname} is the internal port of OVS bridge {name}").format(
                    ifname=ifname, name=br.name),
                                   "Interface", ifname)
        elif iface.is_internal:
            kind = "internal-port"
            ev = self.ovs_evidence(_(
                    "{ifname} is an internal port of OVS bridge {name}").format(
                    ifname=ifname, name=br.name),
                                   "Interface", ifname)
        elif iface.is_nic:
            kind = "ovs-nic"
            ev = self.ovs_evidence(
                f"{ifname} is a NIC and a port of OVS bridge {br.name}"
                + (f" (type {iface.type})" if iface.type else ""),
                "Interface", ifname,
            )
        else:
            kind = f"ovs-{iface.type}"
            ev = self.ovs_evidence(_(
                    "{ifname} is an OVS {type} interface on {name}").format(
                    ifname=ifname, type=iface.type, name=br.name),
                                   "Interface", ifname)
        return Carrier(ifname, kind, br.name, nics, (ev, ev_nics))

    def _carrier_without_ovs(self, ifname: str) -> Carrier:
        """Without conf.db, an address on a device named like a bridge the chassis maps a
        physnet to (SB) is on that bridge's own internal port -- `ovs-vsctl add-br` names it
        so -- unless link.json says the device is not an OVS one. Its NICs stay unknown."""
        bridges = set(parse_bridge_mappings(self.mappings_raw, None).mappings.values())
        if self.chassis is None or ifname not in bridges:
            return Carrier(ifname, "unknown")
        link = next((x for x in self.state.links or () if x.ifname == ifname), None)
        if link is not None and link.kind != "openvswitch":
            return Carrier(ifname, "unknown")
        how = ("link.json: kind openvswitch" if link is not None
               else "no link.json to confirm it")
        ev = Evidence(_(
                "{ifname} is the internal port of OVS bridge {ifname}, which ovn-bridge-mappings "
                "names (no conf.db; {how})").format(
                ifname=ifname, how=how),
                      self._file("link.json") if link is not None else "assumption",
                      None, ifname, self.name)
        return Carrier(ifname, "bridge", ifname, (), (self.mappings_evidence(), ev))

    def bridge_interfaces(self, bridge: str) -> frozenset[str]:
        """Names under which the host's IP stack sees `bridge`: its internal ports and its
        NICs (an address on either sits on the bridge's L2 segment)."""
        br = self.bridges.get(bridge)
        if br is None:
            return frozenset()
        return frozenset(i.name for i in br.interfaces if i.is_internal or i.is_nic)

    def addresses_on_bridge(self, bridge: str) -> tuple[IpAddress, ...]:
        names = self.bridge_interfaces(bridge)
        return tuple(a for a in self.global_addresses() if a.ifname in names)

    def address_evidence(self, a: IpAddress) -> Evidence:
        return self.addr_evidence(_(
                "{cidr} is on {ifname}").format(
                cidr=a.cidr, ifname=a.ifname), a.ifname)

    def main_routes(self) -> tuple[IpRoute, ...]:
        return tuple(
            r for r in (self.state.routes or ())
            if r.table in ("main", "254") and r.type == "unicast"
        )

    def _source_for(self, route: IpRoute, target: IpAddr) -> IpAddress | None:
        if route.prefsrc:
            for a in self.addresses:
                if a.address == route.prefsrc:
                    return a
            return IpAddress(route.dev or "", route.prefsrc, target.max_prefixlen,
                             "inet6" if target.version == 6 else "inet")
        fam = "inet6" if target.version == 6 else "inet"
        cands = [a for a in self.global_addresses() if a.ifname == route.dev and a.family == fam]
        near = _ip(route.gateway) or target
        for a in cands:
            if near in ipaddress.ip_network(a.cidr, strict=False):
                return a
        return cands[0] if cands else None

    def route_to(self, target: str) -> RouteMatch | None:
        """The main-table route the kernel would pick for `target` (longest prefix; policy
        routing is not modelled) and the source address it would use."""
        ip = _ip(target)
        if ip is None or (self.state.routes is None and self.state.addresses is None):
            return None
        for a in self.global_addresses():
            if _ip(a.address) == ip:
                return RouteMatch(target, None, a, (self.address_evidence(a),))
        best: tuple[int, IpRoute] | None = None
        for r in self.main_routes():
            net = _route_net(r)
            if net is None or net.version != ip.version or ip not in net:
                continue
            if best is None or net.prefixlen > best[0]:
                best = (net.prefixlen, r)
        if best is None:
            return None
        route = best[1]
        src = self._source_for(route, ip)
        via = f" via {route.gateway}" if route.gateway else ""
        evs = [self.route_evidence(_(
                "route to {target}: {dst}{via} dev {dev}").format(
                target=target, dst=route.dst, via=via, dev=route.dev),
                                   route.dst)]
        if src is not None:
            how = "prefsrc" if route.prefsrc else f"address on {route.dev}"
            evs.append(self.addr_evidence(_(
                    "source {cidr} ({how})").format(
                    cidr=src.cidr, how=how), src.ifname))
        return RouteMatch(target, route, src, tuple(evs))

    def ovn_remote_targets(self) -> tuple[tuple[str, str | None], ...]:
        return parse_remote_targets(self.ovn_remote)

    @cached_property
    def management(self) -> Management | None:
        return _management(self)


def _management(v: HostView) -> Management | None:
    inv = v.state.inventory_address
    if inv:
        ev = Evidence(_("inventory: {name} is managed at {inv}").format(name=v.name, inv=inv),
            "inventory.yaml", None, v.name,
                      v.name)
        for a in v.global_addresses():
            if a.address == inv:
                return Management(a.address, a.prefixlen, a.ifname, "inventory",
                                  v.carrier(a.ifname), (ev, v.address_evidence(a)))
        found = v.route_to(inv) if _ip(inv) is not None else None
        note = Evidence(_(
                "{inv} is not among {name}'s addresses (NAT, VIP or stale inventory)").format(
                inv=inv, name=v.name),
                        v._file("addr.json"), None, None, v.name)
        if found and found.source is not None:
            s = found.source
            return Management(inv, None, s.ifname, "inventory", v.carrier(s.ifname),
                              (ev, note, *found.evidence))
        return Management(inv, None, None, "inventory", None, (ev, note))
    for target, ip in v.ovn_remote_targets():
        if ip is None:
            continue
        m = v.route_to(ip)
        if m is None or m.source is None:
            continue
        s = m.source
        ev = v.ovs_evidence(_("ovn-remote is {target}").format(target=target), "Open_vSwitch",
            "external_ids:ovn-remote")
        return Management(s.address, s.prefixlen, s.ifname, "route-to-ovn-remote",
                          v.carrier(s.ifname), (ev, *m.evidence))
    for r in v.main_routes():
        if r.dst != "default":
            continue
        gw = _ip(r.gateway)
        probe = gw or ipaddress.ip_address("0.0.0.0")
        src = v._source_for(r, probe)
        if src is None:
            continue
        via = f" via {r.gateway}" if r.gateway else ""
        evs = (v.route_evidence(_("default route{via} dev {dev}").format(via=via, dev=r.dev),
            "default"),
               v.addr_evidence(_(
                       "source {cidr} on {ifname}").format(
                       cidr=src.cidr, ifname=src.ifname), src.ifname))
        return Management(src.address, src.prefixlen, src.ifname, "default-route",
                          v.carrier(src.ifname), evs)
    return None


@lru_cache(maxsize=1 << 14)
def _network(address: str, prefixlen: int) -> IpNet:
    """The subnet of a management address (rules ask it of every host, several times: an
    ipaddress parse each time was most of their cost at a thousand hosts)."""
    return ipaddress.ip_network(f"{address}/{prefixlen}", strict=False)


def host_view(state: HostState) -> HostView:
    return HostView(state)


def host_views(snapshot: Snapshot) -> dict[str, HostView]:
    """Every host of `snapshot`, sorted; a host without its Open_vSwitch DB gets its SB
    Chassis (matched by hostname, then name, as the simulation matches it) to stand in."""
    sb = snapshot.sb
    if sb is None:
        return {name: HostView(snapshot.hosts[name]) for name in sorted(snapshot.hosts)}
    # A view is a pure function of its host's (immutable) state, the SB chassis standing in
    # and the language its evidence is written in; what it derives (management address,
    # routes, bridges) is cached on it. The states before and after a change share every
    # host the change does not touch (and their SB), so their views are shared too: a
    # loaded model's what-if re-derives only the hosts it changes.
    by_host = sb.memo("host.chassis_by_host", lambda db: chassis_by_host(read_chassis(db)))
    known: dict[tuple[str, str], HostView] = sb.memo("host.views", lambda db: {})
    lang = current_language()
    out = {}
    for name in sorted(snapshot.hosts):
        state = snapshot.hosts[name]
        chassis = by_host.get(name) if state.ovs is None else None
        v = known.get((name, lang))
        if v is None or v.state is not state or v.chassis is not chassis:
            v = HostView(state, chassis, sb.source)
            known.setdefault((name, lang), v)  # the first (a loaded model's) stays
        out[name] = v
    return out


# --------------------------------------------------------------------------- L2 segments


@record(slots=True)
class L2Segment:
    """Hosts whose management addresses share one subnet: one broadcast domain. A storm or
    an ARP/MAC flip in it reaches all of them (and anything else on that LAN)."""

    subnet: str
    hosts: tuple[str, ...]
    evidence: tuple[Evidence, ...] = field(default=())

    @property
    def network(self) -> IpNet:
        return ipaddress.ip_network(self.subnet)


def l2_segments(views: Iterable[HostView]) -> tuple[L2Segment, ...]:
    by_net: dict[IpNet, list[tuple[HostView, Management]]] = {}
    for v in views:
        m = v.management
        if m is None or m.network is None:
            continue
        by_net.setdefault(m.network, []).append((v, m))
    out: list[L2Segment] = []
    for net, members in sorted(by_net.items(), key=lambda kv: (kv[0].version, kv[0])):
        members.sort(key=lambda vm: vm[0].name)
        evs = tuple(
            v.addr_evidence(_(
                    "{name} is managed at {cidr} on {ifname}").format(
                    name=v.name, cidr=m.cidr, ifname=m.ifname), m.ifname)
            for v, m in members
        )
        out.append(L2Segment(str(net), tuple(v.name for v, _ in members), evs))
    return tuple(out)


def hosts_in(views: Iterable[HostView], nets: Iterable[IpNet]) -> tuple[str, ...]:
    """Hosts whose management address lies in any of `nets` (sorted)."""
    nets = tuple(nets)
    out = set()
    for v in views:
        m = v.management
        ip = _ip(m.address) if m else None
        if ip is not None and any(ip.version == n.version and ip in n for n in nets):
            out.add(v.name)
    return tuple(sorted(out))


def address_network(a: IpAddress) -> IpNet:
    return ipaddress.ip_network(a.cidr, strict=False)
