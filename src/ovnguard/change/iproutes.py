"""`ip route` lines by iproute2 6.1's grammar (`ip/iproute.c` do_iproute and
iproute_modify, keyword by keyword in its order) -> RouteAdd / RouteReplace / RouteDel
(change/host.py); the rest of `ip` is change/ipgrammar.py."""

from __future__ import annotations

import ipaddress

from ovnguard.change.host import (
    Family,
    IpCommand,
    RouteAdd,
    RouteDel,
    RouteReplace,
    RouteSpec,
    Source,
    matches,
)
from ovnguard.change.ipgrammar import (
    _SCOPES,
    _addr,
    _family_of,
    _next,
    _prefix,
    _Refused,
    _Unknown,
)
from ovnguard.i18n import _

# --------------------------------------------------------------------------- routes


def route_command(rest: list[str], fam: Family | None, source: Source | None) -> IpCommand:
    if not rest:
        return IpCommand(read_only=True)
    verb = rest[0]
    args = rest[1:]
    if matches(verb, "add"):
        return IpCommand((RouteAdd(_route_spec(args, fam, True), "add", source),))
    if matches(verb, "change") or verb == "chg":
        return IpCommand((RouteReplace(_route_spec(args, fam, True), False, source),))
    if matches(verb, "replace"):
        return IpCommand((RouteReplace(_route_spec(args, fam, True), True, source),))
    if matches(verb, "prepend"):
        return IpCommand((RouteAdd(_route_spec(args, fam, True), "prepend", source),))
    if matches(verb, "append"):
        return IpCommand((RouteAdd(_route_spec(args, fam, True), "append", source),))
    if matches(verb, "test"):
        _route_spec(args, fam, True)
        return IpCommand(read_only=True)
    if matches(verb, "delete"):
        return IpCommand((RouteDel(_route_spec(args, fam, False), source),))
    if any(matches(verb, w) for w in ("list", "show", "lst", "get", "save", "showdump",
                                      "help")):
        return IpCommand(read_only=True)
    if matches(verb, "flush"):
        raise _Unknown(_("`ip route flush` is not modelled: which routes its selectors "
                         "remove is unknown here; delete the routes one by one"))
    if matches(verb, "restore"):
        raise _Unknown(_("`ip route restore` reads routes from standard input, which a "
                         "change file does not have"))
    raise _Refused(f'Command "{verb}" is unknown, try "ip route help".')


_RTN_TYPES = ("unicast", "local", "broadcast", "anycast", "multicast", "blackhole",
              "unreachable", "prohibit", "throw", "nat", "xresolve")
# iproute_modify's keywords that take one value, that ovnguard keeps but does not model
# (they do not change which device and gateway carry traffic): (name, exact, may be `lock`)
_ROUTE_METRICS = (("mtu", True, True), ("hoplimit", True, True), ("advmss", True, True),
                  ("reordering", False, True), ("rtt", True, True), ("rto_min", True, False),
                  ("window", False, True), ("cwnd", False, True), ("initcwnd", False, True),
                  ("initrwnd", False, True), ("features", False, False),
                  ("quickack", False, False), ("congctl", False, True),
                  ("rttvar", False, True), ("ssthresh", False, True),
                  ("realms", False, False))


def _route_spec(rest: list[str], fam: Family | None, adding: bool) -> RouteSpec:
    dst: tuple[ipaddress.IPv4Address | ipaddress.IPv6Address | None, int | None] | None = None
    dev = gateway = prefsrc = protocol = scope = None
    metric: int | None = None
    table = "main"
    rtype = "unicast"
    onlink = False
    i = 0
    while i < len(rest):
        w = rest[i]
        if w == "src":
            ip = _addr(_next(rest, i), fam)
            fam = fam or _family_of(ip)
            prefsrc = str(ip)
            i += 1
        elif w == "as":
            raise _Unknown(_("MPLS routes (`as`) are not modelled"))
        elif w == "via":
            if gateway is not None:
                raise _Refused(f'Error: argument "{w}" is wrong: use nexthop syntax to '
                               'specify multiple via\n')
            v = _next(rest, i)
            via_fam: Family | None = None
            if v in ("inet", "inet6"):
                via_fam = "inet" if v == "inet" else "inet6"
                i += 1
                v = _next(rest, i)
            ip = _addr(v, via_fam)
            if fam is not None and _family_of(ip) != fam:
                raise _Unknown(_("a route via a gateway of the other address family "
                                 "(RFC 5549) is not modelled"))
            fam = fam or _family_of(ip)
            gateway = str(ip)
            i += 1
        elif w == "from":
            raise _Unknown(_("source-specific routes (`from`) are not modelled"))
        elif w == "tos" or matches(w, "dsfield"):
            raise _Unknown(_("routes by TOS are not modelled"))
        elif w == "expires":
            _next(rest, i)
            i += 1
        elif matches(w, "metric") or matches(w, "priority") or w == "preference":
            v = _next(rest, i)
            if not v.isdigit():
                raise _Refused(f'Error: argument "{v}" is wrong: "metric" value is invalid\n')
            metric = int(v)
            i += 1
        elif w == "scope":
            v = _next(rest, i)
            if v not in _SCOPES and not v.isdigit():
                raise _Refused(f'Error: argument "{v}" is wrong: invalid "scope" value\n')
            scope = _SCOPES.get(v, v)
            i += 1
        elif (m := next(((n, lock) for n, exact, lock in _ROUTE_METRICS
                         if (w == n if exact else matches(w, n))), None)) is not None:
            v = _next(rest, i)
            i += 1
            if m[1] and v == "lock":
                _next(rest, i)
                i += 1
        elif w == "onlink":
            onlink = True
        elif w == "nexthop":
            raise _Unknown(_("multipath routes (`nexthop`) are not modelled"))
        elif w == "nhid":
            raise _Unknown(_("routes through nexthop objects (`nhid`) are not modelled"))
        elif matches(w, "protocol"):
            protocol = _next(rest, i)
            i += 1
        elif matches(w, "table"):
            table = _next(rest, i)
            table = {"254": "main", "255": "local", "253": "default"}.get(table, table)
            i += 1
        elif matches(w, "vrf"):
            raise _Unknown(_("VRF routes are not modelled"))
        elif w in ("dev", "oif"):
            dev = _next(rest, i)
            i += 1
        elif matches(w, "pref"):
            _next(rest, i)
            i += 1
        elif w == "encap":
            raise _Unknown(_("routes with encapsulation (`encap`) are not modelled"))
        elif w == "ttl-propagate" or matches(w, "fastopen_no_cookie"):
            _next(rest, i)
            i += 1
        else:
            if w == "to":
                w = _next(rest, i)
                i += 1
            if not w[:1].isdigit() and w in _RTN_TYPES:
                rtype = w
                w = _next(rest, i)
                i += 1
            if matches(w, "help"):
                raise _Refused("Usage: ip route { add | del | change | append | replace } "
                               "ROUTE")
            if dst is not None:
                raise _Refused(f'Error: either "to" is duplicate, or "{w}" is a garbage.')
            dst = _prefix(w, fam)
            if dst[0] is not None:
                fam = fam or _family_of(dst[0])
        i += 1
    if dst is None:
        raise _Refused("Usage: ip route { add | del | change | append | replace } ROUTE "
                       "(a destination is required)")
    family: Family = fam or "inet"
    dst_ip, plen = dst
    if dst_ip is None:
        dst_text = "default"
    else:
        plen = dst_ip.max_prefixlen if plen is None else plen
        dst_text = "default" if plen == 0 else f"{dst_ip}/{plen}"
    if rtype not in ("unicast",):
        raise _Unknown(_("`{rtype}` routes are not modelled (unicast routes are)").format(
            rtype=rtype))
    if table not in ("main",):
        raise _Unknown(_("routes in table {table} are not modelled: policy routing is not, "
                         "so only the main table decides where traffic goes here").format(
                             table=table))
    return RouteSpec(dst_text, family, dev, gateway, prefsrc, metric, table,
                     protocol if protocol is not None else ("boot" if adding else None),
                     scope, rtype, onlink)


__all__ = ["route_command"]
