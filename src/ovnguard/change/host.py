"""Host changes: the typed edits an `ip` line (or a netplan / nmstate file) makes to a host's
addresses, routes and links -- the one definition every later step reads (the what-if in
`change/hostapply.py`, the guard's backup and restore).

    cmd = parse_ip(["-6", "r", "add", "default", "via", "fd00::1", "dev", "eno1"], source)
    cmd.edits      # (RouteAdd(RouteSpec(dst="default", family="inet6", ...), source),)
    cmd.error      # what iproute2 itself would print and refuse the line with, or None
    cmd.unknown    # a valid line whose effect ovnguard does not model (never guessed), or None
    cmd.read_only  # `ip a`, `ip r show`, `ip route get`: changes nothing

The grammar is iproute2's (6.1: `ip/ip.c`, `ipaddress.c` ipaddr_modify, `iproute.c`
iproute_modify, `iplink.c` iplink_parse), keyword by keyword and in the same order, since its
abbreviations are "the first keyword in the table this word is a prefix of" (`matches()` in
lib/utils.c): `ip a` is `address`, `ip r` `route`, `ip l s` `link set`, `ip r d` `route
delete`, and `m` after `ip link set DEV` is `master`. What the kernel then does with the
request (routes it adds or flushes, the errors it answers) is `hostapply`'s job.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from ovnguard.change.model import Location

Family = Literal["inet", "inet6"]


@dataclass(frozen=True, slots=True)
class Source:
    """Where an edit comes from: a change-file line, or a node of a netplan/nmstate file."""

    location: Location
    text: str  # the line as written, or what the file node says ("enp7s0: addresses[0]")

    def __str__(self) -> str:
        return f"{self.location}: {self.text}"


# --------------------------------------------------------------------------- the edits


@dataclass(frozen=True, slots=True)
class AddrAdd:
    """`ip addr add|replace|change CIDR dev DEV`."""

    dev: str
    address: str  # without prefix
    prefixlen: int
    family: Family
    mode: Literal["add", "replace", "change"] = "add"
    noprefixroute: bool = False
    metric: int | None = None  # the prefix route's metric
    scope: str = "global"
    peer: str | None = None  # point-to-point peer prefix (its route is the peer's)
    source: Source | None = None

    @property
    def cidr(self) -> str:
        return f"{self.address}/{self.prefixlen}"


@dataclass(frozen=True, slots=True)
class AddrDel:
    """`ip addr del ADDR[/LEN] dev DEV` (IPv4 without a length: the first address equal to
    ADDR on DEV, whatever its length -- iproute2's "wildcard deletion")."""

    dev: str
    address: str
    prefixlen: int | None
    family: Family
    source: Source | None = None


@dataclass(frozen=True, slots=True)
class AddrFlush:
    """`ip [-4|-6] addr flush dev DEV`: every address of DEV (of that family)."""

    dev: str
    family: Family | None = None
    source: Source | None = None


@dataclass(frozen=True, slots=True)
class LinkSet:
    """`ip link set DEV up|down|master BR|nomaster|address MAC|mtu N` (None: unchanged)."""

    dev: str
    up: bool | None = None
    master: str | None = None
    nomaster: bool = False
    address: str | None = None
    mtu: int | None = None
    source: Source | None = None


@dataclass(frozen=True, slots=True)
class RouteSpec:
    """A route as `ip route` names it; None = not given (matches anything on delete)."""

    dst: str  # "default" or a prefix "10.0.0.0/24" (a host address gets /32 or /128)
    family: Family
    dev: str | None = None
    gateway: str | None = None
    prefsrc: str | None = None
    metric: int | None = None
    table: str = "main"
    protocol: str | None = None  # None: "boot" on add (iproute2's default)
    scope: str | None = None
    type: str = "unicast"
    onlink: bool = False


@dataclass(frozen=True, slots=True)
class RouteAdd:
    """`ip route add|append|prepend` (add fails when the route exists; append/prepend add a
    second route for the same destination)."""

    route: RouteSpec
    mode: Literal["add", "append", "prepend"] = "add"
    source: Source | None = None


@dataclass(frozen=True, slots=True)
class RouteReplace:
    """`ip route replace` (create: add when absent) or `ip route change` (must exist)."""

    route: RouteSpec
    create: bool = True
    source: Source | None = None


@dataclass(frozen=True, slots=True)
class RouteDel:
    route: RouteSpec
    source: Source | None = None


@dataclass(frozen=True, slots=True)
class OvsCommand:
    """An ovs-vsctl command a host-state file implies (netplan's openvswitch section is
    applied by netplan with exactly such commands); run by the change executor like an
    `ovs-vsctl` line of the change file."""

    argv: tuple[str, ...]  # after `ovs-vsctl`
    source: Source | None = None


HostEdit = AddrAdd | AddrDel | AddrFlush | LinkSet | RouteAdd | RouteReplace | RouteDel | OvsCommand


def edit_devices(edit: HostEdit) -> tuple[str, ...]:
    """The devices an edit touches (what a guard backs up before it runs)."""
    if isinstance(edit, (AddrAdd, AddrDel, AddrFlush)):
        return (edit.dev,)
    if isinstance(edit, LinkSet):
        return tuple(d for d in (edit.dev, edit.master) if d)
    if isinstance(edit, (RouteAdd, RouteReplace, RouteDel)):
        return (edit.route.dev,) if edit.route.dev else ()
    return ()


@dataclass(frozen=True, slots=True)
class IpCommand:
    """One `ip` command line, parsed."""

    edits: tuple[HostEdit, ...] = ()
    error: str | None = None  # iproute2 refuses it before asking the kernel: its message
    unknown: str | None = None  # valid, but its effect is not modelled: why
    read_only: bool = False
    family: Family | None = None  # -4 / -6 / -f
    # from a host-state file (desired state): deleting what is already gone is no error
    desired: bool = False


# --------------------------------------------------------------------------- grammar


class _Refused(Exception):
    """iproute2 would print this and exit before asking the kernel anything."""


class _Unknown(Exception):
    """A valid request ovnguard does not model."""


INCOMPLETE = 'Command line is not complete. Try option "help"'


def matches(word: str, keyword: str) -> bool:
    """iproute2's `matches(prefix, string) == 0`: `word` is a non-empty prefix of `keyword`."""
    return bool(word) and keyword.startswith(word)


# ip.c's object table, in its order: the first one a word is a prefix of wins.
_OBJECTS = ("address", "addrlabel", "maddress", "route", "rule", "neighbor", "neighbour",
            "ntable", "ntbl", "link", "l2tp", "fou", "ila", "macsec", "tunnel", "tunl",
            "tuntap", "tap", "token", "tcpmetrics", "tcp_metrics", "monitor", "xfrm",
            "mroute", "mrule", "netns", "netconf", "vrf", "sr", "nexthop", "mptcp", "ioam",
            "help")
# ip.c's global options: (name, exact, takes a value)
_OPTIONS = (("-loops", False, True), ("-family", False, True), ("-4", True, False),
            ("-6", True, False), ("-0", True, False), ("-M", True, False), ("-B", True, False),
            ("-human", False, False), ("-human-readable", False, False), ("-iec", False, False),
            ("-stats", False, False), ("-statistics", False, False), ("-details", False, False),
            ("-resolve", False, False), ("-oneline", False, False),
            ("-timestamp", False, False), ("-tshort", False, False), ("-Version", False, False),
            ("-force", False, False), ("-batch", False, True), ("-brief", False, False),
            ("-json", False, False), ("-pretty", False, False), ("-rcvbuf", False, True),
            ("-color", False, False), ("-help", False, False), ("-netns", False, True),
            ("-Numeric", False, False), ("-all", False, False), ("-echo", True, False))
_FAMILIES = {"inet": "inet", "inet6": "inet6", "link": "link", "mpls": "mpls",
             "bridge": "bridge"}


def parse_ip(argv: Sequence[str], source: Source | None = None) -> IpCommand:
    """`argv`: the words after `ip`. Never raises on the operator's input."""
    try:
        return _parse(list(argv), source)
    except _Refused as e:
        return IpCommand(error=str(e))
    except _Unknown as e:
        return IpCommand(unknown=str(e))


def _parse(args: list[str], source: Source | None) -> IpCommand:
    family: str | None = None
    while args:
        opt = args[0]
        if opt == "--":
            args.pop(0)
            break
        if not opt.startswith("-"):
            break
        name = opt[1:] if opt.startswith("--") else opt
        found = next(((n, v) for n, exact, v in _OPTIONS
                      if (name == n if exact else matches(name, n))), None)
        if name.startswith("-c") and matches(name.split("=", 1)[0], "-color"):
            found = ("-color", False)
        if found is None:
            raise _Refused(f'Option "{opt}" is unknown, try "ip -help".')
        n, takes = found
        args.pop(0)
        value = None
        if takes:
            if not args:
                what = {"-loops": "loop count", "-family": "family type",
                        "-batch": "batch file", "-rcvbuf": "rcvbuf size"}.get(n)
                raise _Refused(f'Error: argument "{what}" is required' if what else INCOMPLETE)
            value = args.pop(0)
        if n == "-family":
            assert value is not None
            if value not in _FAMILIES:
                raise _Refused(f'Error: argument "{value}" is wrong: invalid protocol family')
            family = _FAMILIES[value]
        elif n in ("-4", "-6", "-0", "-M", "-B"):
            family = {"-4": "inet", "-6": "inet6", "-0": "link", "-M": "mpls",
                      "-B": "bridge"}[n]
        elif n == "-batch":
            raise _Unknown(f"`ip -batch {value}` runs the commands of a file ovnguard does "
                           "not read; put its lines in the change file")
        elif n == "-netns":
            raise _Unknown(f"`ip -netns {value}` acts in another network namespace, which "
                           "the host model does not have")
        elif n in ("-Version", "-help"):
            return IpCommand(read_only=True)
    if family not in (None, "inet", "inet6"):
        raise _Unknown(f"`ip` with family {family} is not modelled (addresses and routes of "
                       "inet and inet6 are)")
    fam: Family | None = family  # type: ignore[assignment]
    if not args:
        raise _Refused(
            "Usage: ip [ OPTIONS ] OBJECT { COMMAND | help } (an object is required)")
    obj = next((o for o in _OBJECTS if matches(args[0], o)), None)
    if obj is None:
        raise _Refused(f'Object "{args[0]}" is unknown, try "ip help".')
    rest = args[1:]
    if obj == "address":
        cmd = _address(rest, fam, source)
    elif obj == "route":
        cmd = _route(rest, fam, source)
    elif obj == "link":
        cmd = _link(rest, source)
    elif obj == "help":
        return IpCommand(read_only=True, family=fam)
    else:
        raise _Unknown(f"`ip {obj}` is not modelled (what is: ip address, ip route, "
                       "ip link set)")
    return IpCommand(cmd.edits, cmd.error, cmd.unknown, cmd.read_only, fam)


# --------------------------------------------------------------------------- addresses


def _family_of(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> Family:
    return "inet" if ip.version == 4 else "inet6"


def _family_word(fam: str | None) -> str:
    return fam if fam in ("inet", "inet6") else "any valid"


def _addr(text: str, fam: Family | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """get_addr(): an address of `fam` (any when None)."""
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        raise _Refused(f'Error: {_family_word(fam)} address is expected rather than '
                       f'"{text}".') from None
    if fam is not None and _family_of(ip) != fam:
        raise _Refused(f'Error: {fam} address is expected rather than "{text}".')
    return ip


def _prefix(text: str, fam: Family | None
            ) -> tuple[ipaddress.IPv4Address | ipaddress.IPv6Address | None, int | None]:
    """get_prefix(): (address, length or None when not written); `default`/`any`/`all`
    give (None, 0)."""
    if text in ("default", "any", "all"):
        return None, 0
    addr_text, _, plen = text.partition("/")
    ip = _addr(addr_text, fam) if not plen else None
    if plen:
        try:
            ip = ipaddress.ip_address(addr_text)
        except ValueError:
            ip = None
        if ip is None or (fam is not None and _family_of(ip) != fam):
            raise _Refused(f'Error: {_family_word(fam)} prefix is expected rather than '
                           f'"{text}".')
        if plen.isdigit() and int(plen) <= ip.max_prefixlen:
            return ip, int(plen)
        if ip.version == 4:  # a dotted netmask (get_netmask)
            try:
                return ip, ipaddress.ip_network(f"0.0.0.0/{plen}").prefixlen
            except ValueError:
                pass
        raise _Refused(f'Error: {_family_word(fam)} prefix is expected rather than "{text}".')
    return ip, None


def _next(rest: list[str], i: int) -> str:
    if i + 1 >= len(rest):
        raise _Refused(INCOMPLETE)
    return rest[i + 1]


def _address(rest: list[str], fam: Family | None, source: Source | None) -> IpCommand:
    if not rest:
        return IpCommand(read_only=True)
    verb = rest[0]
    if matches(verb, "add"):
        return IpCommand((_addr_modify("add", rest[1:], fam, source),))
    if matches(verb, "change") or verb == "chg":
        return IpCommand((_addr_modify("change", rest[1:], fam, source),))
    if matches(verb, "replace"):
        return IpCommand((_addr_modify("replace", rest[1:], fam, source),))
    if matches(verb, "delete"):
        return IpCommand((_addr_modify("del", rest[1:], fam, source),))
    if any(matches(verb, w) for w in ("list", "show", "lst", "save", "showdump", "help")):
        return IpCommand(read_only=True)
    if matches(verb, "flush"):
        return IpCommand((_addr_flush(rest[1:], fam, source),))
    if matches(verb, "restore"):
        raise _Unknown("`ip address restore` reads addresses from standard input, which a "
                       "change file does not have")
    raise _Refused(f'Command "{verb}" is unknown, try "ip address help".')


_ADDR_FLAGS = {"secondary": (True, False), "temporary": (True, False), "nodad": (False, True),
               "optimistic": (False, True), "dadfailed": (True, True), "home": (False, True),
               "deprecated": (True, True), "tentative": (True, True),
               "permanent": (True, True), "mngtmpaddr": (False, True),
               "noprefixroute": (False, False), "autojoin": (False, False),
               "stable-privacy": (True, True)}  # name -> (read-only, IPv6 only)
_SCOPES = {"global": "global", "universe": "global", "site": "site", "link": "link",
           "host": "host", "nowhere": "nowhere"}


def _addr_modify(mode: str, rest: list[str], fam: Family | None, source: Source | None
                 ) -> AddrAdd | AddrDel:
    dev: str | None = None
    local: tuple[ipaddress.IPv4Address | ipaddress.IPv6Address | None, int | None] | None = None
    peer: str | None = None
    scope: str | None = None
    metric: int | None = None
    noprefixroute = False
    seen: set[str] = set()
    i = 0
    while i < len(rest):
        w = rest[i]
        if w in ("peer", "remote"):
            v = _next(rest, i)
            if "peer" in seen:
                raise _Refused(f'Error: duplicate "peer": "{v}" is the second value.')
            seen.add("peer")
            ip, _ = _prefix(v, fam)
            fam = fam or (_family_of(ip) if ip else None)
            peer = v
            i += 1
        elif matches(w, "broadcast") or w == "brd":
            v = _next(rest, i)
            if v not in ("+", "-"):
                ip = _addr(v, fam)
                fam = fam or _family_of(ip)
            i += 1
        elif w == "anycast":
            ip = _addr(_next(rest, i), fam)
            fam = fam or _family_of(ip)
            i += 1
        elif w == "scope":
            v = _next(rest, i)
            if v not in _SCOPES and not v.isdigit():
                raise _Refused(f'Error: argument "{v}" is wrong: invalid scope value.')
            scope = _SCOPES.get(v, v)
            i += 1
        elif w == "dev":
            dev = _next(rest, i)
            i += 1
        elif w == "label":
            _next(rest, i)
            i += 1
        elif matches(w, "metric") or matches(w, "priority") or matches(w, "preference"):
            v = _next(rest, i)
            if not v.isdigit():
                raise _Refused(f'Error: argument "{v}" is wrong: "metric" value is invalid\n')
            metric = int(v)
            i += 1
        elif matches(w, "valid_lft") or matches(w, "preferred_lft"):
            _next(rest, i)
            i += 1
        elif w in _ADDR_FLAGS:
            readonly, _v6 = _ADDR_FLAGS[w]
            if w == "noprefixroute":
                noprefixroute = True
            # read-only flags and IPv6-only flags on IPv4 are warnings in iproute2, not errors
            del readonly
        else:
            if w == "local":
                w = _next(rest, i)
                i += 1
            if matches(w, "help"):
                raise _Refused("Usage: ip address {add|change|replace} IFADDR dev IFNAME ...")
            if local is not None:
                raise _Refused(f'Error: either "local" is duplicate, or "{w}" is a garbage.')
            local = _prefix(w, fam)
            if local[0] is not None:
                fam = fam or _family_of(local[0])
        i += 1
    if dev is None:
        raise _Refused('Not enough information: "dev" argument is required.')
    ip, plen = local if local is not None else (None, None)
    if ip is None:
        raise _Unknown(f"`ip address {mode}` without a local address"
                       + (" (only a peer)" if peer else "") + " is not modelled")
    family = _family_of(ip)
    if mode == "del":
        return AddrDel(dev, str(ip), plen, family, source)
    if peer is not None:
        raise _Unknown("point-to-point addresses (`peer`) are not modelled")
    return AddrAdd(dev, str(ip), plen if plen is not None else ip.max_prefixlen, family,
                   mode,  # type: ignore[arg-type]
                   noprefixroute, metric, scope or _default_scope(ip), None, source)


def _default_scope(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    """iproute2's default_scope(): 127/8 is host, fe80::/10 link, the rest global."""
    if ip.version == 4 and ip in ipaddress.ip_network("127.0.0.0/8"):
        return "host"
    if ip.version == 6 and ip.is_link_local:
        return "link"
    if ip.version == 6 and ip.is_loopback:
        return "host"
    return "global"


def _addr_flush(rest: list[str], fam: Family | None, source: Source | None) -> AddrFlush:
    dev: str | None = None
    i = 0
    while i < len(rest):
        w = rest[i]
        if w == "dev":
            dev = _next(rest, i)
            i += 2
            continue
        if dev is None and i == len(rest) - 1 and not w.startswith("-"):
            dev = w  # `ip addr flush eth0`: the device as the selector
            i += 1
            continue
        raise _Unknown(f"`ip address flush` with the selector {w!r} is not modelled "
                       "(`ip address flush dev DEV` is)")
    if dev is None:
        raise _Refused("Flush requires arguments.")
    return AddrFlush(dev, fam, source)


# --------------------------------------------------------------------------- routes


def _route(rest: list[str], fam: Family | None, source: Source | None) -> IpCommand:
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
        raise _Unknown("`ip route flush` is not modelled: which routes its selectors "
                       "remove is unknown here; delete the routes one by one")
    if matches(verb, "restore"):
        raise _Unknown("`ip route restore` reads routes from standard input, which a change "
                       "file does not have")
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
            raise _Unknown("MPLS routes (`as`) are not modelled")
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
                raise _Unknown("a route via a gateway of the other address family (RFC 5549) "
                               "is not modelled")
            fam = fam or _family_of(ip)
            gateway = str(ip)
            i += 1
        elif w == "from":
            raise _Unknown("source-specific routes (`from`) are not modelled")
        elif w == "tos" or matches(w, "dsfield"):
            raise _Unknown("routes by TOS are not modelled")
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
            raise _Unknown("multipath routes (`nexthop`) are not modelled")
        elif w == "nhid":
            raise _Unknown("routes through nexthop objects (`nhid`) are not modelled")
        elif matches(w, "protocol"):
            protocol = _next(rest, i)
            i += 1
        elif matches(w, "table"):
            table = _next(rest, i)
            table = {"254": "main", "255": "local", "253": "default"}.get(table, table)
            i += 1
        elif matches(w, "vrf"):
            raise _Unknown("VRF routes are not modelled")
        elif w in ("dev", "oif"):
            dev = _next(rest, i)
            i += 1
        elif matches(w, "pref"):
            _next(rest, i)
            i += 1
        elif w == "encap":
            raise _Unknown("routes with encapsulation (`encap`) are not modelled")
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
        raise _Unknown(f"`{rtype}` routes are not modelled (unicast routes are)")
    if table not in ("main",):
        raise _Unknown(f"routes in table {table} are not modelled: policy routing is not, so "
                       "only the main table decides where traffic goes here")
    return RouteSpec(dst_text, family, dev, gateway, prefsrc, metric, table,
                     protocol if protocol is not None else ("boot" if adding else None),
                     scope, rtype, onlink)


# --------------------------------------------------------------------------- links


def _link(rest: list[str], source: Source | None) -> IpCommand:
    if not rest:
        return IpCommand(read_only=True)
    verb = rest[0]
    if matches(verb, "set") or matches(verb, "change"):
        return IpCommand((_link_set(rest[1:], source),))
    if matches(verb, "add") or matches(verb, "replace") or matches(verb, "delete"):
        raise _Unknown("creating or deleting links (`ip link add/del`) is not modelled: "
                       "the devices a host has are what was collected")
    if any(matches(verb, w) for w in ("show", "lst", "list", "xstats", "afstats", "help")):
        return IpCommand(read_only=True)
    if matches(verb, "property"):
        raise _Unknown("`ip link property` (alternative names) is not modelled")
    raise _Refused(f'Command "{verb}" is unknown, try "ip link help".')


# iplink_parse's keywords up to `master`, in order, that ovnguard does not model:
# (name, exact, number of values); and those after it.
_LINK_BEFORE_MASTER = (("index", True, 1), ("link", False, 1), ("broadcast", False, 1),
                       ("brd", True, 1), ("txqueuelen", False, 1), ("qlen", True, 1),
                       ("txqlen", False, 1))
_LINK_UNMODELLED = ("xdpgeneric", "xdpdrv", "xdpoffload", "xdp", "netns", "multicast",
                    "allmulticast", "promisc", "trailers", "arp", "carrier", "vf")
_LINK_AFTER = (("vrf", True), ("dynamic", False), ("type", False), ("alias", False),
               ("group", True), ("mode", True), ("state", True), ("numtxqueues", False),
               ("numrxqueues", False), ("addrgenmode", False), ("link-netns", False),
               ("link-netnsid", False), ("protodown", True), ("protodown_reason", True),
               ("gso_max_size", True), ("gso_max_segs", True), ("gro_max_size", True),
               ("parentdev", True))


def _mac(text: str) -> str:
    """ll_addr_a2n(): hex bytes separated by `:`; iproute2 names the first bad one."""
    parts = text.split(":")
    for p in parts:
        if not 1 <= len(p) <= 2 or any(c not in "0123456789abcdefABCDEF" for c in p):
            raise _Refused(f'"{p}" is invalid lladdr.')
    return ":".join(p.lower().rjust(2, "0") for p in parts)


def _link_set(rest: list[str], source: Source | None) -> LinkSet:
    dev: str | None = None
    name: str | None = None
    up: bool | None = None
    master: str | None = None
    nomaster = False
    address: str | None = None
    mtu: int | None = None
    i = 0
    while i < len(rest):
        w = rest[i]
        if w == "up":
            up = True
        elif w == "down":
            up = False
        elif w == "name":
            name = _next(rest, i)
            i += 1
        elif matches(w, "address"):
            address = _mac(_next(rest, i))
            i += 1
        elif (m := next((n for n, exact, _ in _LINK_BEFORE_MASTER
                         if (w == n if exact else matches(w, n))), None)) is not None:
            raise _Unknown(f"`ip link set ... {m}` is not modelled")
        elif w == "mtu":
            v = _next(rest, i)
            if not v.isdigit():
                raise _Refused(f'Error: argument "{v}" is wrong: Invalid "mtu" value\n')
            mtu = int(v)
            i += 1
        elif w in _LINK_UNMODELLED:
            raise _Unknown(f"`ip link set ... {w}` is not modelled (up, down, master, "
                           "nomaster, address and mtu are)")
        elif matches(w, "master"):
            master = _next(rest, i)
            i += 1
        elif w == "vrf":
            raise _Unknown("`ip link set ... vrf` is not modelled")
        elif matches(w, "nomaster"):
            nomaster = True
        elif (a := next((n for n, exact in _LINK_AFTER
                         if (w == n if exact else matches(w, n))), None)) is not None:
            raise _Unknown(f"`ip link set ... {a}` is not modelled (up, down, master, "
                           "nomaster, address and mtu are)")
        else:
            if matches(w, "help"):
                raise _Refused("Usage: ip link set DEVICE [ up | down ] ...")
            if w == "dev":
                w = _next(rest, i)
                i += 1
            if dev is not None and dev != name:
                raise _Refused(f'Error: either "dev" is duplicate, or "{w}" is a garbage.')
            dev = w
        i += 1
    if name is not None and dev is not None and name != dev:
        raise _Unknown("renaming a link (`name`) is not modelled")
    dev = dev or name
    if dev is None:
        raise _Refused('Not enough information: "dev" argument is required.')
    return LinkSet(dev, up, master, nomaster, address, mtu, source)


__all__ = [
    "AddrAdd", "AddrDel", "AddrFlush", "Family", "HostEdit", "IpCommand", "LinkSet",
    "OvsCommand", "RouteAdd", "RouteDel", "RouteReplace", "RouteSpec", "Source",
    "edit_devices", "matches", "parse_ip",
]
