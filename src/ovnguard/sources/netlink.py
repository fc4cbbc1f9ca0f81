"""A host's links, addresses and routes read through netlink (pyroute2), written in the exact
JSON shape of iproute2 6.1: `ip -j addr show`, `ip -j route show table all`,
`ip -j -d link show`.

Why netlink and not running `ip -j`: `ip` may be missing or too old for `-j` (iproute2 < 4.13,
still on some long-lived hosts), and reading netlink is what `ip` itself does. Why the `ip -j`
shape and not our own: the bundle contract (docs/bundle.md) is native command output, so a
collected bundle reads exactly like a hand-made one and `sources/iproute.py` is the only
reader.

Every key written is one iproute2 writes, with its value formatted the way iproute2 formats
it (names from /etc/iproute2/{rt_tables,rt_protos,rt_scopes,group}, flags in iproute2's
order, `dst` "default" or "a/len", ...). Kind-specific details (`linkinfo.info_data`,
`info_slave_data`, statistics, VF lists) are left out: nothing reads them, and they differ
per driver. tests/sources/test_netlink_text.py compares every key and value with real `ip -j`
output in a namespace.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson

from ovnguard.errors import InputError
from ovnguard.i18n import _
from ovnguard.record import record

# Where iproute2 reads its name tables (Debian: /etc/iproute2; iproute2 >= 6.5 ships
# defaults in /usr/share/iproute2 and lets /etc override).
IPROUTE2_DIRS = (Path("/usr/share/iproute2"), Path("/usr/lib/iproute2"), Path("/etc/iproute2"))

_BUILTIN_TABLES = {0: "unspec", 253: "default", 254: "main", 255: "local"}
_BUILTIN_PROTOS = {
    0: "unspec", 1: "redirect", 2: "kernel", 3: "boot", 4: "static", 8: "gated", 9: "ra",
    10: "mrt", 11: "zebra", 12: "bird", 13: "dnrouted", 14: "xorp", 15: "ntk", 16: "dhcp",
    18: "keepalived", 42: "babel", 99: "openr", 186: "bgp", 187: "isis", 188: "ospf",
    189: "rip", 192: "eigrp",
}
_BUILTIN_SCOPES = {0: "global", 200: "site", 253: "link", 254: "host", 255: "nowhere"}
_BUILTIN_GROUPS = {0: "default"}

RT_TABLE_MAIN = 254
RTPROT_BOOT = 3
RT_SCOPE_UNIVERSE = 0
RTN_UNICAST = 1
RTM_F_CLONED = 0x200

_RTN_TYPES = {
    0: "none", 1: "unicast", 2: "local", 3: "broadcast", 4: "anycast", 5: "multicast",
    6: "blackhole", 7: "unreachable", 8: "prohibit", 9: "throw", 10: "nat", 11: "xresolve",
}
# include/uapi/linux/if.h, in the order iproute2's print_link_flags() prints them.
_IFF = (
    ("LOOPBACK", 0x8), ("BROADCAST", 0x2), ("POINTOPOINT", 0x10), ("MULTICAST", 0x1000),
    ("NOARP", 0x80), ("ALLMULTI", 0x200), ("PROMISC", 0x100), ("MASTER", 0x400),
    ("SLAVE", 0x800), ("DEBUG", 0x4), ("DYNAMIC", 0x8000), ("AUTOMEDIA", 0x4000),
    ("PORTSEL", 0x2000), ("NOTRAILERS", 0x20), ("UP", 0x1), ("LOWER_UP", 0x10000),
    ("DORMANT", 0x20000), ("ECHO", 0x40000),
)
IFF_UP = 0x1
IFF_POINTOPOINT = 0x10
IFF_RUNNING = 0x40
# IFA_F_* by bit, as iproute2's ifa_flag_names[]
_IFA_FLAGS = (
    "secondary", "nodad", "optimistic", "dadfailed", "homeaddress", "deprecated",
    "tentative", "permanent", "mngtmpaddr", "noprefixroute", "autojoin", "stable-privacy",
)
IFA_F_SECONDARY = 0x1
IFA_F_PERMANENT = 0x80
# RTNH_F_* / RTM_F_* as print_rt_flags() names them
_RT_FLAGS = (
    (0x1, "dead"), (0x2, "pervasive"), (0x4, "onlink"), (0x8, "offload"), (0x10, "linkdown"),
    (0x20, "unresolved"), (0x40, "trap"), (0x100, "notify"), (0x2000, "rt_offload"),
    (0x4000, "rt_trap"), (0x20000, "rt_offload_failed"),
)
# include/uapi/linux/if_arp.h, as ll_type_n2a() names them (the ones a hypervisor has)
_ARPHRD = {
    0: "netrom", 1: "ether", 24: "ieee1394", 32: "infiniband", 65534: "none", 768: "ipip",
    769: "ip6ip6", 772: "loopback", 776: "sit", 778: "gre", 779: "pimreg", 823: "ip6gre",
    512: "ppp", 65535: "void", 280: "can", 519: "ipgre",
}
_OPERSTATES = ("UNKNOWN", "NOTPRESENT", "DOWN", "LOWERLAYERDOWN", "TESTING", "DORMANT", "UP")
_LINKMODES = ("DEFAULT", "DORMANT")
_ADDR_GEN_MODES = ("eui64", "none", "stable_secret", "random")
_PREFS = {0: "medium", 1: "high", 3: "low"}
# RTAX_* names (print_rta_metrics)
_RTAX = {
    "RTAX_LOCK": "lock", "RTAX_MTU": "mtu", "RTAX_WINDOW": "window", "RTAX_RTT": "rtt",
    "RTAX_RTTVAR": "rttvar", "RTAX_SSTHRESH": "ssthresh", "RTAX_CWND": "cwnd",
    "RTAX_ADVMSS": "advmss", "RTAX_REORDERING": "reordering", "RTAX_HOPLIMIT": "hoplimit",
    "RTAX_INITCWND": "initcwnd", "RTAX_FEATURES": "features", "RTAX_RTO_MIN": "rto_min",
    "RTAX_INITRWND": "initrwnd", "RTAX_QUICKACK": "quickack",
    "RTAX_CC_ALGO": "congctl", "RTAX_FASTOPEN_NO_COOKIE": "fastopen_no_cookie",
}


def _name_table(file: str, builtin: Mapping[int, str]) -> dict[int, str]:
    """iproute2's rtnl_tab_initialize: `number name` lines; later files override."""
    names = dict(builtin)
    for d in IPROUTE2_DIRS:
        paths = [d / file]
        dd = d / f"{file}.d"
        if dd.is_dir():
            paths += sorted(dd.glob("*.conf"))
        for p in paths:
            try:
                text = p.read_text(errors="replace")
            except OSError:
                continue
            for line in text.splitlines():
                parts = line.split("#", 1)[0].split()
                if len(parts) >= 2:
                    try:
                        names[int(parts[0], 0)] = parts[1]
                    except ValueError:
                        continue
    return names


@record
class Names:
    """The number -> name tables `ip` prints with."""

    tables: Mapping[int, str]
    protos: Mapping[int, str]
    scopes: Mapping[int, str]
    groups: Mapping[int, str]

    @classmethod
    def load(cls) -> Names:
        return cls(
            _name_table("rt_tables", _BUILTIN_TABLES),
            _name_table("rt_protos", _BUILTIN_PROTOS),
            _name_table("rt_scopes", _BUILTIN_SCOPES),
            _name_table("group", _BUILTIN_GROUPS),
        )


def _attrs(msg: Any) -> dict[str, Any]:
    # Netlink attributes are unique per message in what rtnetlink dumps; a dict keeps the
    # lookups short. Unparsed ("UNKNOWN") attributes are skipped.
    out: dict[str, Any] = {}
    for item in msg["attrs"]:
        k, v = item[0], item[1]
        if k != "UNKNOWN":
            out.setdefault(k, v)
    return out


def _nested(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    return _attrs(value)


def _link_flags(flags: int, master_down: bool) -> list[str]:
    out: list[str] = []
    if flags & IFF_UP and not flags & IFF_RUNNING:
        out.append("NO-CARRIER")
    flags &= ~IFF_RUNNING
    for name, bit in _IFF:
        if flags & bit:
            out.append(name)
            flags &= ~bit
    if flags:
        out.append(f"{flags:x}")
    if master_down:
        out.append("M-DOWN")
    return out


def _lladdr(value: Any, ifi_type: int) -> str:
    s = str(value)
    # iproute2 prints the 4-byte hardware "address" of IPv4 tunnels as an IPv4 address.
    if ifi_type in (768, 776, 778) and s.count(":") == 3:
        try:
            return socket.inet_ntoa(bytes(int(x, 16) for x in s.split(":")))
        except (ValueError, OSError):
            return s
    return s


@record
class _Link:
    index: int
    name: str
    msg: Any
    attrs: dict[str, Any]


def _link_head(
    link: _Link, by_index: Mapping[int, _Link], names: Names, detailed: bool
) -> dict[str, Any]:
    """The keys print_linkinfo() writes for one interface, in its order."""
    a = link.attrs
    msg = link.msg
    head: dict[str, Any] = {"ifindex": link.index}
    iflink = a.get("IFLA_LINK")
    if iflink is not None:
        if iflink == 0:
            head["link"] = None
        elif "IFLA_LINK_NETNSID" in a:
            head["link_index"] = iflink
        else:
            peer = by_index.get(iflink)
            head["link"] = peer.name if peer else f"if{iflink}"
    head["ifname"] = link.name
    master = a.get("IFLA_MASTER")
    master_down = False
    if master:
        m = by_index.get(master)
        master_down = m is not None and not (m.msg["flags"] & IFF_UP)
    head["flags"] = _link_flags(msg["flags"], master_down)
    if "IFLA_MTU" in a:
        head["mtu"] = a["IFLA_MTU"]
    if "IFLA_QDISC" in a:
        head["qdisc"] = a["IFLA_QDISC"]
    if master:
        m = by_index.get(master)
        head["master"] = m.name if m else f"if{master}"
    if "IFLA_OPERSTATE" in a:
        op = a["IFLA_OPERSTATE"]
        head["operstate"] = _OPERSTATES[op] if isinstance(op, int) and op < 7 else str(op)
    if detailed and "IFLA_LINKMODE" in a:
        lm = a["IFLA_LINKMODE"]
        head["linkmode"] = _LINKMODES[lm] if lm < len(_LINKMODES) else str(lm)
    if "IFLA_GROUP" in a:
        g = a["IFLA_GROUP"]
        head["group"] = names.groups.get(g, str(g))
    if "IFLA_TXQLEN" in a:
        head["txqlen"] = a["IFLA_TXQLEN"]
    ifi_type = msg["ifi_type"]
    head["link_type"] = _ARPHRD.get(ifi_type, f"[{ifi_type}]")
    if "IFLA_ADDRESS" in a:
        head["address"] = _lladdr(a["IFLA_ADDRESS"], ifi_type)
    if "IFLA_BROADCAST" in a:
        if msg["flags"] & IFF_POINTOPOINT:
            head["link_pointtopoint"] = True
        head["broadcast"] = _lladdr(a["IFLA_BROADCAST"], ifi_type)
    if "IFLA_PERM_ADDRESS" in a and a["IFLA_PERM_ADDRESS"] != a.get("IFLA_ADDRESS"):
        head["permaddr"] = a["IFLA_PERM_ADDRESS"]
    if "IFLA_LINK_NETNSID" in a:
        head["link_netnsid"] = a["IFLA_LINK_NETNSID"]
    if a.get("IFLA_PROTO_DOWN"):
        head["proto_down"] = True
    if detailed:
        for key, attr in (("promiscuity", "IFLA_PROMISCUITY"), ("allmulti", "IFLA_ALLMULTI"),
                          ("min_mtu", "IFLA_MIN_MTU"), ("max_mtu", "IFLA_MAX_MTU")):
            if attr in a:
                head[key] = a[attr]
        info = _nested(a.get("IFLA_LINKINFO"))
        linkinfo: dict[str, Any] = {}
        if "IFLA_INFO_KIND" in info:
            linkinfo["info_kind"] = info["IFLA_INFO_KIND"]
        if "IFLA_INFO_SLAVE_KIND" in info:
            linkinfo["info_slave_kind"] = info["IFLA_INFO_SLAVE_KIND"]
        if linkinfo:
            head["linkinfo"] = linkinfo
        inet6 = _nested(_nested(a.get("IFLA_AF_SPEC")).get("AF_INET6"))
        if "IFLA_INET6_ADDR_GEN_MODE" in inet6:
            m = inet6["IFLA_INET6_ADDR_GEN_MODE"]
            head["inet6_addr_gen_mode"] = (
                _ADDR_GEN_MODES[m] if m < len(_ADDR_GEN_MODES) else str(m))
        for key, attr in (
            ("num_tx_queues", "IFLA_NUM_TX_QUEUES"), ("num_rx_queues", "IFLA_NUM_RX_QUEUES"),
            ("gso_max_size", "IFLA_GSO_MAX_SIZE"), ("gso_max_segs", "IFLA_GSO_MAX_SEGS"),
            ("tso_max_size", "IFLA_TSO_MAX_SIZE"), ("tso_max_segs", "IFLA_TSO_MAX_SEGS"),
            ("gro_max_size", "IFLA_GRO_MAX_SIZE"),
            ("gso_ipv4_max_size", "IFLA_GSO_IPV4_MAX_SIZE"),
            ("gro_ipv4_max_size", "IFLA_GRO_IPV4_MAX_SIZE"),
            ("phys_port_name", "IFLA_PHYS_PORT_NAME"),
            ("parentbus", "IFLA_PARENT_DEV_BUS_NAME"), ("parentdev", "IFLA_PARENT_DEV_NAME"),
        ):
            if attr in a:
                head[key] = a[attr]
    alt = [v for k, v in _prop_list(a.get("IFLA_PROP_LIST")) if k == "IFLA_ALT_IFNAME"]
    if alt:
        head["altnames"] = alt
    return head


def _prop_list(value: Any) -> Iterator[tuple[str, Any]]:
    if value is None:
        return
    for item in value["attrs"]:
        yield item[0], item[1]


def _addr_info(msg: Any, names: Names) -> dict[str, Any]:
    a = _attrs(msg)
    family = "inet" if msg["family"] == socket.AF_INET else (
        "inet6" if msg["family"] == socket.AF_INET6 else str(msg["family"]))
    info: dict[str, Any] = {"family": family}
    local = a.get("IFA_LOCAL")
    address = a.get("IFA_ADDRESS")
    if local is not None:
        info["local"] = local
        if address is not None and address != local:
            info["address"] = address
    elif address is not None:
        info["local"] = address
    info["prefixlen"] = msg["prefixlen"]
    if "IFA_BROADCAST" in a:
        info["broadcast"] = a["IFA_BROADCAST"]
    if "IFA_ANYCAST" in a:
        info["anycast"] = a["IFA_ANYCAST"]
    scope = msg["scope"]
    info["scope"] = names.scopes.get(scope, str(scope))
    flags = a.get("IFA_FLAGS", msg["flags"])
    for bit, name in enumerate(_IFA_FLAGS):
        mask = 1 << bit
        if mask == IFA_F_PERMANENT:
            if not flags & mask:
                info["dynamic"] = True
        elif flags & mask:
            if mask == IFA_F_SECONDARY and msg["family"] == socket.AF_INET6:
                info["temporary"] = True
            else:
                info[name] = True
        flags &= ~mask
    if flags:
        info["flags"] = f"{flags:02x}"
    if "IFA_LABEL" in a:
        info["label"] = a["IFA_LABEL"]
    if "IFA_RT_PRIORITY" in a:
        info["metric"] = a["IFA_RT_PRIORITY"]
    ci = a.get("IFA_CACHEINFO")
    if ci is not None:
        info["valid_life_time"] = ci["ifa_valid"]
        info["preferred_life_time"] = ci["ifa_preferred"]
    return info


def _rt_flags(flags: int) -> list[str]:
    return [name for bit, name in _RT_FLAGS if flags & bit]


def _family_name(family: int) -> str:
    names: dict[int, str] = {socket.AF_INET: "inet", socket.AF_INET6: "inet6"}
    return names.get(family, str(family))


def _hop(attrs: Mapping[str, Any], names_by_index: Mapping[int, str], oif: int | None,
         out: dict[str, Any]) -> None:
    gw = attrs.get("RTA_GATEWAY")
    if gw is not None:
        out["gateway"] = gw
    via = attrs.get("RTA_VIA")
    if isinstance(via, dict) and "addr" in via:
        out["via"] = {"family": _family_name(int(via.get("family", 0))), "host": via["addr"]}
    if oif:
        out["dev"] = names_by_index.get(oif, f"if{oif}")


def _route(msg: Any, names: Names, ifnames: Mapping[int, str]) -> dict[str, Any] | None:
    if msg["flags"] & RTM_F_CLONED:
        return None  # route cache entries: `ip route show` leaves them out too
    a = _attrs(msg)
    r: dict[str, Any] = {}
    rtype = msg["type"]
    if rtype != RTN_UNICAST:
        r["type"] = _RTN_TYPES.get(rtype, str(rtype))
    host_len = 32 if msg["family"] == socket.AF_INET else 128
    dst = a.get("RTA_DST")
    if dst is not None:
        r["dst"] = dst if msg["dst_len"] == host_len else f"{dst}/{msg['dst_len']}"
    elif msg["dst_len"]:
        r["dst"] = f"0/{msg['dst_len']}"
    else:
        r["dst"] = "default"
    src = a.get("RTA_SRC")
    if src is not None:
        r["from"] = src if msg["src_len"] == host_len else f"{src}/{msg['src_len']}"
    elif msg["src_len"]:
        r["from"] = f"0/{msg['src_len']}"
    if msg.get("tos"):
        r["tos"] = f"0x{msg['tos']:02x}"
    _hop(a, ifnames, a.get("RTA_OIF"), r)
    table = a.get("RTA_TABLE", msg["table"])
    if table != RT_TABLE_MAIN:
        r["table"] = names.tables.get(table, str(table))
    if msg["proto"] != RTPROT_BOOT:
        r["protocol"] = names.protos.get(msg["proto"], str(msg["proto"]))
    if msg["scope"] != RT_SCOPE_UNIVERSE:
        r["scope"] = names.scopes.get(msg["scope"], str(msg["scope"]))
    if "RTA_PREFSRC" in a:
        r["prefsrc"] = a["RTA_PREFSRC"]
    if "RTA_PRIORITY" in a:
        r["metric"] = a["RTA_PRIORITY"]
    r["flags"] = _rt_flags(msg["flags"])
    metrics = _nested(a.get("RTA_METRICS"))
    mx = {_RTAX[k]: v for k, v in metrics.items() if k in _RTAX}
    if mx:
        r["metrics"] = [mx]
    ci = a.get("RTA_CACHEINFO")
    if ci and ci.get("rta_expires"):
        r["expires"] = int(ci["rta_expires"] / (os.sysconf("SC_CLK_TCK") or 100))
    hops = a.get("RTA_MULTIPATH")
    if hops:
        out_hops = []
        for hop in hops:
            h: dict[str, Any] = {}
            _hop(_attrs(hop), ifnames, hop.get("oif"), h)
            h["weight"] = int(hop.get("hops", 0)) + 1
            h["flags"] = _rt_flags(int(hop.get("flags", 0)))
            out_hops.append(h)
        r["nexthops"] = out_hops
    if "RTA_PREF" in a:
        r["pref"] = _PREFS.get(a["RTA_PREF"], str(a["RTA_PREF"]))
    return r


@record
class IpJson:
    """One host's `ip -j` outputs, as the parsed JSON lists."""

    addr: list[dict[str, Any]]
    route: list[dict[str, Any]]
    link: list[dict[str, Any]]

    def files(self) -> dict[str, bytes]:
        """The bundle files (`ip -j` prints one line; so do we)."""
        return {
            "addr.json": orjson.dumps(self.addr) + b"\n",
            "route.json": orjson.dumps(self.route) + b"\n",
            "link.json": orjson.dumps(self.link) + b"\n",
        }


def build_ip_json(
    links: Iterable[Any], addrs: Iterable[Any], routes: Iterable[Any],
    names: Names | None = None,
) -> IpJson:
    """The three `ip -j` documents from netlink dump messages (pure)."""
    names = names or Names.load()
    link_list = []
    for msg in links:
        a = _attrs(msg)
        link_list.append(_Link(msg["index"], str(a.get("IFLA_IFNAME", f"if{msg['index']}")),
                               msg, a))
    by_index = {lk.index: lk for lk in link_list}
    ifnames = {lk.index: lk.name for lk in link_list}
    by_if: dict[int, list[dict[str, Any]]] = {}
    for msg in addrs:
        by_if.setdefault(msg["index"], []).append(_addr_info(msg, names))
    addr_doc = []
    link_doc = []
    for lk in link_list:
        head = _link_head(lk, by_index, names, detailed=False)
        head["addr_info"] = by_if.get(lk.index, [])
        addr_doc.append(head)
        link_doc.append(_link_head(lk, by_index, names, detailed=True))
    route_doc = [r for r in (_route(m, names, ifnames) for m in routes) if r is not None]
    return IpJson(addr_doc, route_doc, link_doc)


@contextmanager
def _rtnl(netns: str | None) -> Iterator[Any]:
    try:
        from pyroute2 import IPRoute, NetNS
    except ImportError as e:  # pragma: no cover - a dependency
        raise InputError(_("pyroute2 is not installed ({e})").format(e=e), "netlink") from None
    try:
        ipr = NetNS(netns) if netns else IPRoute()
    except OSError as e:
        raise InputError(_(
                "cannot open netlink{value}: {value2}").format(
                value=f' in namespace {netns}' if netns else '', value2=e.strerror or e),
                    "netlink") from None
    try:
        yield ipr
    finally:
        ipr.close()


def read_ip_json(netns: str | None = None) -> IpJson:
    """Dump links, addresses and routes of this host (or of network namespace `netns`) over
    netlink, in `ip -j` form. Read-only: only RTM_GET* dumps are sent."""
    with _rtnl(netns) as ipr:
        links = list(ipr.get_links())
        addrs = list(ipr.get_addr())
        routes = list(ipr.route("dump", family=socket.AF_UNSPEC))
    return build_ip_json(links, addrs, routes)
