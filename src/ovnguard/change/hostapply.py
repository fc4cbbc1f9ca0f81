"""What the kernel does with a host edit (change/host.py): the host model after it (pure).

    out = apply_edit(state, edit)   # EditOutcome(state, error, notes)

Linux's own rules, because they are what cuts a host off (net/ipv4/devinet.c,
fib_frontend.c; net/ipv6/addrconf.c), and held against the real kernel in a network
namespace by tests/change/test_change_hostapply_netns.py:

- adding an IPv4 address to an UP link adds its prefix route (`proto kernel scope link src
  ADDR`), unless it is /32, `noprefixroute`, or a secondary (a second address of the same
  subnet on the link); on a DOWN link the route comes when the link goes up;
- deleting an address deletes its prefix route and every route whose `src` it was; deleting
  the LAST IPv4 address of a link flushes every IPv4 route through that link -- the default
  route included (fib_disable_ip). `ip addr del` of br-ex's management address therefore
  also takes the default route with it;
- a link going down flushes every IPv4 route through it (addresses stay); going up brings
  back only the prefix routes of its addresses, never the static ones;
- IPv6 (keep_addr_on_down=0, the default): a link going down loses its IPv6 addresses and
  routes; a link-local address coming back on up is not modelled;
- a route through a gateway needs the gateway on a connected route of its device (unless
  `onlink`); a route's device must exist and be up.

What the model does not carry (the local table, neighbours, the bonding/bridge drivers'
own behaviour) is said in the outcome's notes, never guessed.
"""

from __future__ import annotations

import functools
import ipaddress
from dataclasses import replace

from ovnguard.change.host import (
    AddrAdd,
    AddrDel,
    AddrFlush,
    HostEdit,
    LinkSet,
    OvsCommand,
    RouteAdd,
    RouteDel,
    RouteReplace,
    RouteSpec,
)
from ovnguard.i18n import _
from ovnguard.model.ovs import KERNEL_NIC_TYPES
from ovnguard.model.snapshot import HostState, IpAddress, IpLink, IpRoute
from ovnguard.record import record

# The kernel's answers, as iproute2 6.1 prints them (checked in a namespace).
EEXIST = "RTNETLINK answers: File exists"
EADDRNOTAVAIL = "Error: ipv4: Address not found."
ESRCH = "RTNETLINK answers: No such process"
ENOENT = "RTNETLINK answers: No such file or directory"
EOPNOTSUPP = "RTNETLINK answers: Operation not supported"
NOPREFSRC = "Error: Invalid prefsrc address."
BADGW = "Error: Nexthop has invalid gateway."
NOTUP = "Error: Device for nexthop is not up."
BADPREFIX = "Error: Invalid prefix for given prefix length."
IPV6_DEFAULT_METRIC = 1024
IPV6_KERNEL_METRIC = 256


@record(slots=True)
class EditOutcome:
    state: HostState  # unchanged when `error` or `unknown`
    error: str | None = None  # what `ip` would print and fail with
    unknown: str | None = None  # the model cannot say (a part of the host not collected)
    notes: tuple[str, ...] = ()


def nodev(dev: str) -> str:
    return f'Cannot find device "{dev}"'


def _net(a: IpAddress) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    return _network(a.cidr)


@functools.lru_cache(maxsize=65536)
def _network(cidr: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    # cached: a long change compares every new address with every one on its link
    return ipaddress.ip_network(cidr, strict=False)


def _link(state: HostState, dev: str) -> IpLink | None:
    return next((x for x in state.links or () if x.ifname == dev), None)


def link_up(state: HostState, dev: str) -> bool:
    """Administratively up as far as the model knows (links not collected: assumed up)."""
    link = _link(state, dev)
    return link is None or (link.operstate or "").upper() != "DOWN"


def _missing(state: HostState, dev: str) -> str | None:
    """iproute2's "Cannot find device" when the host's links are known and lack `dev`."""
    if state.links is not None and _link(state, dev) is None:
        return nodev(dev)
    return None


def apply_edit(state: HostState, edit: HostEdit) -> EditOutcome:
    if isinstance(edit, OvsCommand):
        return EditOutcome(state, unknown=_(
            "an ovs-vsctl command is run by the change executor"))
    if state.addresses is None or state.routes is None:
        return EditOutcome(state, unknown=(
            _("the addresses (addr.json) of {host} were not collected: what this line does "
              "to them is unknown (`ovnguard collect` gathers them)")
            if state.addresses is None else
            _("the routes (route.json) of {host} were not collected: what this line does to "
              "them is unknown (`ovnguard collect` gathers them)")).format(host=state.name))
    if isinstance(edit, AddrAdd):
        return _addr_add(state, edit)
    if isinstance(edit, AddrDel):
        return _addr_del(state, edit)
    if isinstance(edit, AddrFlush):
        return _addr_flush(state, edit)
    if isinstance(edit, LinkSet):
        return _link_set(state, edit)
    if isinstance(edit, RouteDel):
        return _route_del(state, edit.route)
    return _route_add(state, edit)


def sync_ovs_links(state: HostState) -> HostState:
    """The kernel devices ovs-vswitchd makes for the Open_vSwitch DB: a bridge's (or
    internal port's) device appears, DOWN, when the row is added, and disappears with its
    addresses and routes when it is deleted (`ovs-vsctl add-br` / `del-br`)."""
    if state.ovs is None or state.links is None:
        return state
    internal = {str(r.get("name", "")) for r in state.ovs.rows("Interface")
                if r.get("type", "") == "internal"}
    links = list(state.links)
    names = {x.ifname for x in links}
    gone = {x.ifname for x in links if x.kind == "openvswitch" and x.ifname != "ovs-system"
            and x.ifname not in internal}
    new = [IpLink(n, "openvswitch", None, None, "DOWN") for n in sorted(internal - names)]
    # a NIC that is an OVS port has the datapath (ovs-system) as its master in the kernel
    ports = {str(r.get("name", "")) for r in state.ovs.rows("Interface")
             if r.get("type", "") in KERNEL_NIC_TYPES}
    moved = {x.ifname: replace(x, master="ovs-system" if x.ifname in ports else None)
             for x in links if x.kind is None and (x.master == "ovs-system") !=
             (x.ifname in ports) and (x.master in (None, "ovs-system"))}
    if not gone and not new and not moved:
        return state
    return replace(
        state,
        links=tuple([moved.get(x.ifname, x) for x in links if x.ifname not in gone] + new),
        addresses=tuple(a for a in state.addresses or () if a.ifname not in gone)
        if state.addresses is not None else None,
        routes=tuple(r for r in state.routes or () if r.dev not in gone)
        if state.routes is not None else None)


# --------------------------------------------------------------------------- addresses


def _prefix_route(a: IpAddress, metric: int | None = None) -> IpRoute | None:
    if a.prefixlen == (32 if a.family == "inet" else 128):
        return None
    if a.family == "inet":
        return IpRoute(str(_net(a)), a.ifname, None, a.address, "main", "kernel", "link",
                       "unicast", metric or None, "inet")
    return IpRoute(str(_net(a)), a.ifname, None, None, "main", "kernel", None, "unicast",
                   metric or IPV6_KERNEL_METRIC, "inet6")


def _same_route(r: IpRoute, other: IpRoute) -> bool:
    return (r.dst, r.dev, r.gateway, r.prefsrc, r.table, r.protocol) == (
        other.dst, other.dev, other.gateway, other.prefsrc, other.table, other.protocol)


def _addr_add(state: HostState, e: AddrAdd) -> EditOutcome:
    if (err := _missing(state, e.dev)) is not None:
        return EditOutcome(state, err)
    addrs = list(state.addresses or ())
    new = IpAddress(e.dev, e.address, e.prefixlen, e.family, e.scope)
    if e.family == "inet":
        same = [a for a in addrs if a.ifname == e.dev and a.address == e.address
                and a.prefixlen == e.prefixlen]
    else:  # IPv6: one address per link, whatever its length (ipv6_add_addr)
        same = [a for a in addrs if a.ifname == e.dev and a.address == e.address]
    if same and e.mode == "add":
        return EditOutcome(state, EEXIST)
    routes = list(state.routes or ())
    if same:  # replace / change: the address stays, its flags and metric change
        return EditOutcome(replace(state, addresses=tuple(a if a is not same[0] else new
                                                           for a in addrs)))
    secondary = e.family == "inet" and any(
        a.ifname == e.dev and a.family == "inet" and a.prefixlen == e.prefixlen
        and _net(a) == _net(new) for a in addrs)
    addrs.append(new)
    notes: list[str] = []
    up = link_up(state, e.dev)
    if not e.noprefixroute and not secondary and (up or e.family == "inet6"):
        r = _prefix_route(new, e.metric)
        if r is not None and not any(_same_route(r, x) for x in routes):
            routes.append(r)
    if not up and e.family == "inet":
        notes.append(_("{dev} is down: {cidr}'s prefix route comes when it goes up").format(
            dev=e.dev, cidr=e.cidr))
    return EditOutcome(replace(state, addresses=tuple(addrs), routes=tuple(routes)),
                       notes=tuple(notes))


def _remove_address(state: HostState, gone: IpAddress) -> HostState:
    """The address and what the kernel removes with it."""
    addrs = [a for a in state.addresses or () if a is not gone]
    routes = list(state.routes or ())
    net = _net(gone)
    if gone.family == "inet":
        # the prefix route goes unless another primary of the subnet stays on the link
        if not any(a.ifname == gone.ifname and a.family == "inet" and _net(a) == net
                   for a in addrs):
            routes = [r for r in routes if not (
                r.dev == gone.ifname and r.dst == str(net) and r.protocol == "kernel")]
        if not any(a.address == gone.address for a in addrs):  # fib_sync_down_addr
            routes = [r for r in routes if r.prefsrc != gone.address]
        if not any(a.ifname == gone.ifname and a.family == "inet" for a in addrs):
            # the link's last IPv4 address: fib_disable_ip flushes its IPv4 routes
            routes = [r for r in routes if not (r.dev == gone.ifname and _family(r) == "inet")]
    else:
        if not any(a.ifname == gone.ifname and a.family == "inet6" and _net(a) == net
                   for a in addrs):
            routes = [r for r in routes if not (
                r.dev == gone.ifname and r.dst == str(net) and r.protocol == "kernel")]
    return replace(state, addresses=tuple(addrs), routes=tuple(routes))


def _family(r: IpRoute) -> str:
    if r.family:
        return r.family
    probe = r.gateway or (r.dst if r.dst != "default" else "")
    return "inet6" if ":" in probe else "inet"


def _addr_del(state: HostState, e: AddrDel) -> EditOutcome:
    if (err := _missing(state, e.dev)) is not None:
        return EditOutcome(state, err)
    gone = next((a for a in state.addresses or () if a.ifname == e.dev
                 and a.address == e.address
                 and (e.prefixlen is None or a.prefixlen == e.prefixlen)), None)
    if gone is None:
        return EditOutcome(state, EADDRNOTAVAIL)
    notes: list[str] = []
    if e.family == "inet":
        secondaries = [a for a in state.addresses or () if a is not gone
                       and a.ifname == e.dev and a.family == "inet"
                       and a.prefixlen == gone.prefixlen and _net(a) == _net(gone)]
        if secondaries:
            notes.append(_(
                "{cidr} was the primary address of its subnet on {dev}: its secondaries "
                "({secondaries}) are deleted too unless net.ipv4.conf.{dev}.promote_secondaries=1 "
                "(not known here; assumed promoted)").format(
                    cidr=gone.cidr, dev=e.dev,
                    secondaries=", ".join(a.cidr for a in secondaries)))
    return EditOutcome(_remove_address(state, gone), notes=tuple(notes))


def _addr_flush(state: HostState, e: AddrFlush) -> EditOutcome:
    if (err := _missing(state, e.dev)) is not None:
        return EditOutcome(state, err)
    for a in [a for a in state.addresses or () if a.ifname == e.dev
              and (e.family is None or a.family == e.family)]:
        state = _remove_address(state, a)
    return EditOutcome(state)


# --------------------------------------------------------------------------- links


def _link_set(state: HostState, e: LinkSet) -> EditOutcome:
    if (err := _missing(state, e.dev)) is not None:
        return EditOutcome(state, err)
    notes: list[str] = []
    link = _link(state, e.dev) or IpLink(e.dev)
    if e.master is not None:
        master = _link(state, e.master)
        if state.links is not None and master is None:
            return EditOutcome(state, f'Error: argument "{e.master}" is wrong: Device does '
                               'not exist\n'.strip())
        if master is not None and master.kind == "openvswitch":
            return EditOutcome(state, EOPNOTSUPP, notes=(
                _("{master} is an Open vSwitch device: the kernel cannot enslave to it; an "
                  "OVS bridge takes a port with `ovs-vsctl add-port {master} {dev}`").format(
                      master=e.master, dev=e.dev),))
        if master is not None and master.kind not in ("bridge", "bond", "team", "vrf"):
            notes.append(_("{master} is of kind {kind}: whether it takes ports is not "
                           "modelled").format(master=e.master, kind=master.kind or "unknown"))
    if e.address is not None:
        link = replace(link, address=e.address)
        if link.kind == "openvswitch":
            notes.append(_("{dev} is an OVS bridge's own port: ovs-vswitchd sets its MAC "
                           "again at its next reconfiguration (vswitchd/bridge.c) unless "
                           "other_config:hwaddr is set on the bridge").format(dev=e.dev))
    if e.mtu is not None:
        link = replace(link, mtu=e.mtu)
    if e.master is not None:
        link = replace(link, master=e.master)
    if e.nomaster:
        link = replace(link, master=None)
    routes = list(state.routes or ())
    addrs = list(state.addresses or ())
    if e.up is False and link_up(state, e.dev):
        link = replace(link, operstate="DOWN")
        routes = [r for r in routes if r.dev != e.dev]
        v6 = [a for a in addrs if a.ifname == e.dev and a.family == "inet6"]
        addrs = [a for a in addrs if a not in v6]
        if v6:
            notes.append(_("{dev} down also removes its IPv6 addresses (net.ipv6.conf."
                           "{dev}.keep_addr_on_down=0, the default)").format(dev=e.dev))
    elif e.up is True and not link_up(state, e.dev):
        link = replace(link, operstate="UP")
        for a in addrs:
            if a.ifname == e.dev and a.family == "inet":
                r = _prefix_route(a)
                secondary = any(b.ifname == e.dev and b.family == "inet" and b is not a
                                and _net(b) == _net(a) and addrs.index(b) < addrs.index(a)
                                for b in addrs)
                if r is not None and not secondary and not any(_same_route(r, x)
                                                               for x in routes):
                    routes.append(r)
        notes.append(_("{dev} up brings back the prefix routes of its addresses, not the "
                       "static routes it lost when it went down; its IPv6 link-local address "
                       "is not modelled").format(dev=e.dev))
    links = [x for x in state.links or () if x.ifname != e.dev]
    links.append(link)
    return EditOutcome(replace(state, links=tuple(links), addresses=tuple(addrs),
                               routes=tuple(routes)), notes=tuple(notes))


# --------------------------------------------------------------------------- routes


def _route_key(r: IpRoute | RouteSpec) -> tuple[str, str, int]:
    fam = r.family or (_family(r) if isinstance(r, IpRoute) else "inet")
    metric = r.metric or (0 if fam == "inet" else IPV6_DEFAULT_METRIC)
    return r.dst, r.table, metric


def _to_route(s: RouteSpec, dev: str) -> IpRoute:
    scope = s.scope if s.scope not in (None, "global") else None
    if s.family == "inet" and s.scope is None and s.gateway is None:
        scope = "link"
    if s.family == "inet6":
        scope = None
    protocol = None if s.protocol in (None, "boot") else s.protocol
    metric = s.metric if s.metric else None
    if s.family == "inet6":
        metric = s.metric if s.metric is not None else IPV6_DEFAULT_METRIC
    return IpRoute(s.dst, dev, s.gateway, s.prefsrc, "main", protocol, scope, s.type, metric,
                   s.family)


def _gateway_dev(state: HostState, s: RouteSpec) -> tuple[str | None, str | None]:
    """(the device carrying the gateway, error): fib_check_nh for a gateway route."""
    assert s.gateway is not None
    gw = ipaddress.ip_address(s.gateway)
    if s.onlink:
        return s.dev, None if s.dev else "Error: Device for nexthop is not up."
    if gw.version == 6 and gw.is_link_local:
        return (s.dev, None) if s.dev else (None, BADGW)
    best: tuple[int, IpRoute] | None = None
    for r in state.routes or ():
        if r.table not in ("main", "254") or r.gateway is not None or r.dev is None:
            continue
        if s.dev is not None and r.dev != s.dev:
            continue
        if r.dst == "default":
            continue
        try:
            net = ipaddress.ip_network(r.dst, strict=False)
        except ValueError:
            continue
        if net.version == gw.version and gw in net and (best is None or net.prefixlen >
                                                        best[0]):
            best = (net.prefixlen, r)
    if best is None:
        return None, BADGW
    return best[1].dev, None


def _route_add(state: HostState, e: RouteAdd | RouteReplace) -> EditOutcome:
    s = e.route
    if s.dev is not None and (err := _missing(state, s.dev)) is not None:
        return EditOutcome(state, err)
    if s.dst != "default":
        net = ipaddress.ip_network(s.dst, strict=False)
        if str(net) != s.dst:
            return EditOutcome(state, BADPREFIX)
    dev = s.dev
    if s.gateway is not None:
        dev, err = _gateway_dev(state, s)
        if err is not None:
            return EditOutcome(state, err)
    if dev is None:
        return EditOutcome(state, unknown=_("a route without a device or gateway is not "
                                           "modelled"))
    if not link_up(state, dev):
        return EditOutcome(state, NOTUP)
    if s.prefsrc is not None and s.family == "inet" and not any(
            a.address == s.prefsrc for a in state.addresses or ()):
        return EditOutcome(state, NOPREFSRC)
    new = _to_route(s, dev)
    routes = list(state.routes or ())
    key = _route_key(new)
    same = [r for r in routes if r.table in ("main", "254") and _family(r) == s.family
            and _route_key(r) == key]
    if isinstance(e, RouteReplace):
        if not same and not e.create:
            return EditOutcome(state, ENOENT)
        if same:
            routes[routes.index(same[0])] = new
        else:
            routes.append(new)
    elif same and (e.mode == "add" or any(_same_route(new, r) for r in same)):
        return EditOutcome(state, EEXIST)
    elif e.mode == "prepend" and same:
        routes.insert(routes.index(same[0]), new)
    else:
        routes.append(new)
    return EditOutcome(replace(state, routes=tuple(routes)))


def _route_del(state: HostState, s: RouteSpec) -> EditOutcome:
    if s.dev is not None and (err := _missing(state, s.dev)) is not None:
        return EditOutcome(state, err)
    for r in state.routes or ():
        if r.table not in ("main", "254") or _family(r) != s.family or r.dst != s.dst:
            continue
        if s.metric is not None and (r.metric or 0) != s.metric:
            continue
        if s.dev is not None and r.dev != s.dev:
            continue
        if s.gateway is not None and r.gateway != s.gateway:
            continue
        if s.prefsrc is not None and r.prefsrc != s.prefsrc:
            continue
        if s.protocol is not None and (r.protocol or "boot") != s.protocol:
            continue
        if s.scope is not None and (r.scope or "global") != s.scope:
            continue
        return EditOutcome(replace(state, routes=tuple(x for x in state.routes or ()
                                                       if x is not r)))
    return EditOutcome(state, ESRCH)


__all__ = ["EditOutcome", "apply_edit", "link_up", "nodev", "sync_ovs_links"]
