"""iproute2's grammar for `ip address|route|link` lines -> the typed host edits of
change/host.py (`parse_ip` there is the entry point).

Keyword by keyword and in the same order as iproute2 6.1 (`ip/ip.c`, `ipaddress.c`
ipaddr_modify, `iproute.c` iproute_modify, `iplink.c` iplink_parse), since an abbreviation
means "the first keyword in the table this word is a prefix of" (`matches()` in
lib/utils.c). Its refusals carry iproute2's own texts; what is valid but not modelled is
unknown, never refused.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from ovnguard.change.host import (
    AddrAdd,
    AddrDel,
    AddrFlush,
    Family,
    IpCommand,
    LinkSet,
    Source,
    matches,
)
from ovnguard.i18n import _

# --------------------------------------------------------------------------- grammar


class _Refused(Exception):
    """iproute2 would print this and exit before asking the kernel anything."""


class _Unknown(Exception):
    """A valid request ovnguard does not model."""


INCOMPLETE = 'Command line is not complete. Try option "help"'


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


def parse_ip_argv(argv: Sequence[str], source: Source | None = None) -> IpCommand:
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
            raise _Unknown(_("`ip -batch {value}` runs the commands of a file ovnguard does "
                             "not read; put its lines in the change file").format(value=value))
        elif n == "-netns":
            raise _Unknown(_("`ip -netns {value}` acts in another network namespace, which "
                             "the host model does not have").format(value=value))
        elif n in ("-Version", "-help"):
            return IpCommand(read_only=True)
    if family not in (None, "inet", "inet6"):
        raise _Unknown(_("`ip` with family {family} is not modelled (addresses and routes of "
                         "inet and inet6 are)").format(family=family))
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
        from ovnguard.change.iproutes import route_command

        cmd = route_command(rest, fam, source)
    elif obj == "link":
        cmd = _link(rest, source)
    elif obj == "help":
        return IpCommand(read_only=True, family=fam)
    else:
        raise _Unknown(_("`ip {obj}` is not modelled (what is: ip address, ip route, "
                         "ip link set)").format(obj=obj))
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
    addr_text, _sep, plen = text.partition("/")
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
        raise _Unknown(_("`ip address restore` reads addresses from standard input, which a "
                         "change file does not have"))
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
            ip, _plen = _prefix(v, fam)
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
        raise _Unknown((_("`ip address {mode}` without a local address (only a peer) is not "
                          "modelled") if peer else
                        _("`ip address {mode}` without a local address is not modelled")
                        ).format(mode=mode))
    family = _family_of(ip)
    if mode == "del":
        return AddrDel(dev, str(ip), plen, family, source)
    if peer is not None:
        raise _Unknown(_("point-to-point addresses (`peer`) are not modelled"))
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
        raise _Unknown(_("`ip address flush` with the selector {selector} is not modelled "
                         "(`ip address flush dev DEV` is)").format(selector=repr(w)))
    if dev is None:
        raise _Refused("Flush requires arguments.")
    return AddrFlush(dev, fam, source)


# --------------------------------------------------------------------------- links


def _link(rest: list[str], source: Source | None) -> IpCommand:
    if not rest:
        return IpCommand(read_only=True)
    verb = rest[0]
    if matches(verb, "set") or matches(verb, "change"):
        return IpCommand((_link_set(rest[1:], source),))
    if matches(verb, "add") or matches(verb, "replace") or matches(verb, "delete"):
        raise _Unknown(_("creating or deleting links (`ip link add/del`) is not modelled: "
                         "the devices a host has are what was collected"))
    if any(matches(verb, w) for w in ("show", "lst", "list", "xstats", "afstats", "help")):
        return IpCommand(read_only=True)
    if matches(verb, "property"):
        raise _Unknown(_("`ip link property` (alternative names) is not modelled"))
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
            raise _Unknown(_("`ip link set ... {word}` is not modelled").format(word=m))
        elif w == "mtu":
            v = _next(rest, i)
            if not v.isdigit():
                raise _Refused(f'Error: argument "{v}" is wrong: Invalid "mtu" value\n')
            mtu = int(v)
            i += 1
        elif w in _LINK_UNMODELLED:
            raise _Unknown(_("`ip link set ... {word}` is not modelled (up, down, master, "
                             "nomaster, address and mtu are)").format(word=w))
        elif matches(w, "master"):
            master = _next(rest, i)
            i += 1
        elif w == "vrf":
            raise _Unknown(_("`ip link set ... {word}` is not modelled").format(word="vrf"))
        elif matches(w, "nomaster"):
            nomaster = True
        elif (a := next((n for n, exact in _LINK_AFTER
                         if (w == n if exact else matches(w, n))), None)) is not None:
            raise _Unknown(_("`ip link set ... {word}` is not modelled (up, down, master, "
                             "nomaster, address and mtu are)").format(word=a))
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
        raise _Unknown(_("renaming a link (`name`) is not modelled"))
    dev = dev or name
    if dev is None:
        raise _Refused('Not enough information: "dev" argument is required.')
    return LinkSet(dev, up, master, nomaster, address, mtu, source)


__all__ = ["parse_ip_argv"]
