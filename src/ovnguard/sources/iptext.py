"""iproute2's *text* output, turned into the `ip -j` JSON shape `sources/iproute.py` reads.

Why: sos reports keep only the text forms (sos's networking plugin runs `ip -o addr`,
`ip route show table all`, `ip -6 route show table all`, `ip -d address`, `ip -s -d link`;
no `-j`), and so do many support tickets. Only the keys the bundle reader uses (and the
ones next to them that cost nothing) are produced; tests/sources/test_netlink_text.py reads the
text and the JSON form of the same namespace and requires the same model from both.

Formats (iproute2 >= 4.x; checked with 6.1):
    ip -o addr:   `2: br-ex    inet 10.10.0.21/24 brd 10.10.0.255 scope global br-ex\\ ...`
    ip [-s] [-d] link / ip [-d] address: a header line per interface,
                  `4: enp6s18@peer0: <BROADCAST,...,UP,LOWER_UP> mtu 1500 qdisc noqueue
                  master br-ex state UP mode DEFAULT group default qlen 1000`, then indented
                  `link/ether MAC brd MAC ...`, with -d a line starting with the kind
                  (`veth`, `bridge ...`, `openvswitch`) and one with the slave kind
                  (`bridge_slave ...`, `openvswitch_slave`), `inet`/`inet6` lines for addresses.
    ip route show table all: one route per line, multipath as indented `nexthop ...` lines.
"""

from __future__ import annotations

import re
from typing import Any

from ovnguard.errors import InputError
from ovnguard.i18n import _

_HEADER = re.compile(r"^(\d+):\s+([^:\s@]+)(?:@([^:\s]+))?:\s+<([^>]*)>(.*)$")
_ROUTE_TYPES = frozenset({
    "unicast", "local", "broadcast", "multicast", "blackhole", "unreachable", "prohibit",
    "throw", "anycast", "nat", "xresolve",
})
_ROUTE_FLAGS = frozenset({"onlink", "linkdown", "dead", "pervasive", "offload", "trap",
                          "notify", "unresolved", "rt_offload", "rt_trap",
                          "rt_offload_failed"})
_ADDR_FLAGS = frozenset({"secondary", "temporary", "nodad", "optimistic", "dadfailed",
                         "homeaddress", "deprecated", "tentative", "mngtmpaddr",
                         "noprefixroute", "autojoin", "stable-privacy", "dynamic"})
# route attributes that take one value, text keyword -> ip -j key
_ROUTE_KV = {"dev": "dev", "table": "table", "proto": "protocol", "scope": "scope",
             "src": "prefsrc", "metric": "metric", "pref": "pref", "from": "from",
             "tos": "tos", "realm": "realm", "nhid": "nhid", "expires": "expires",
             "error": "error", "iif": "iif", "mark": "mark", "uid": "uid",
             "weight": "weight"}
_ROUTE_METRICS = frozenset({"mtu", "advmss", "window", "rtt", "rttvar", "ssthresh", "cwnd",
                            "initcwnd", "initrwnd", "reordering", "hoplimit", "rto_min",
                            "features", "quickack", "congctl", "fastopen_no_cookie"})


def _int(v: str) -> int | str:
    if len(v) > 20:  # no counter iproute2 prints is longer; int() of 5,000 digits raises
        return v
    try:
        return int(v)
    except ValueError:
        return v


def _addr_line(tokens: list[str], ifname: str, source: str, lineno: int) -> dict[str, Any]:
    """`inet 10.10.0.21/24 brd 10.10.0.255 scope global br-ex` -> an addr_info item."""
    family = tokens[0]
    if len(tokens) < 2:
        raise InputError(_(
                "{ifname}: '{family}' without an address").format(
                ifname=ifname, family=family), source, lineno)
    info: dict[str, Any] = {"family": family}
    local, _sep, plen = tokens[1].partition("/")
    i = 2
    if i + 1 < len(tokens) and tokens[i] == "peer":
        peer, _sep, plen = tokens[i + 1].partition("/")
        info["local"] = local
        info["address"] = peer
        i += 2
    else:
        info["local"] = local
    try:
        info["prefixlen"] = int(plen) if plen else (128 if family == "inet6" else 32)
    except ValueError:
        raise InputError(_(
                "{ifname}: bad prefix length in {tokens!r}").format(
                ifname=ifname, tokens=tokens[1]), source,
                         lineno) from None
    label = None
    while i < len(tokens):
        t = tokens[i]
        if t in ("brd", "any", "scope", "metric") and i + 1 < len(tokens):
            key = {"brd": "broadcast", "any": "anycast"}.get(t, t)
            info[key] = _int(tokens[i + 1]) if t == "metric" else tokens[i + 1]
            i += 2
            continue
        if t in _ADDR_FLAGS:
            info[t] = True
        elif t in ("valid_lft", "preferred_lft"):
            i += 2
            continue
        elif family == "inet":
            label = t
        i += 1
    info.setdefault("scope", "global")
    if label:
        info["label"] = label
    return info


def parse_addr_oneline(text: str, source: str) -> list[dict[str, Any]]:
    """`ip -o addr` -> `ip -j addr show` shape (only interfaces that have addresses)."""
    out: dict[str, dict[str, Any]] = {}
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        main = line.split("\\", 1)[0]
        m = re.match(r"^(\d+):\s+(\S+)\s+(inet6?|link)\s+(.*)$", main)
        if m is None:
            raise InputError(_(
                    "not a line of `ip -o addr`: {line!r}").format(
                    line=line.strip()[:60]), source,
                             lineno)
        index, ifname, family, rest = m.groups()
        if family == "link":
            continue
        ifname = ifname.split("@", 1)[0]
        entry = out.setdefault(ifname, {"ifindex": _int(index), "ifname": ifname,
                                        "addr_info": []})
        entry["addr_info"].append(_addr_line([family, *rest.split()], ifname, source,
                                             lineno))
    return list(out.values())


def _header(m: re.Match[str]) -> dict[str, Any]:
    index, ifname, link, flags, rest = m.groups()
    d: dict[str, Any] = {"ifindex": _int(index)}
    if link:
        d["link"] = None if link == "NONE" else link
    d["ifname"] = ifname
    d["flags"] = [f for f in flags.split(",") if f]
    tokens = rest.split()
    keys = {"mtu": "mtu", "qdisc": "qdisc", "master": "master", "state": "operstate",
            "mode": "linkmode", "group": "group", "qlen": "txqlen"}
    for i, t in enumerate(tokens[:-1]):
        if t in keys:
            v = tokens[i + 1]
            d[keys[t]] = _int(v) if t in ("mtu", "qlen") else v
    return d


def parse_link_text(text: str, source: str) -> tuple[list[dict[str, Any]],
                                                     list[dict[str, Any]]]:
    """`ip [-s] [-d] link` or `ip [-d] address` -> (link list as `ip -j -d link show`,
    address list as `ip -j addr show`). `linkinfo` appears only when -d was used."""
    links: list[dict[str, Any]] = []
    addrs: list[dict[str, Any]] = []
    cur: dict[str, Any] | None = None
    seen_link_line = False
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        m = _HEADER.match(line)
        if m is not None:
            cur = _header(m)
            links.append(cur)
            addrs.append({k: v for k, v in cur.items() if k != "linkmode"} | {"addr_info": []})
            seen_link_line = False
            continue
        if cur is None:
            raise InputError(_(
                    "not `ip link`/`ip address` output: {line!r}").format(
                    line=line.strip()[:60]),
                             source, lineno)
        tokens = line.split()
        first = tokens[0]
        if first.startswith("link/"):
            seen_link_line = True
            cur["link_type"] = first[5:]
            for i, t in enumerate(tokens[:-1]):
                if i == 0 and len(tokens) > 1 and tokens[1] not in ("brd", "peer"):
                    cur["address"] = tokens[1]
                if t in ("brd", "peer"):
                    cur["broadcast"] = tokens[i + 1]
                if t == "link-netnsid":
                    cur["link_netnsid"] = _int(tokens[i + 1])
            for k in ("link_type", "address", "broadcast", "link_netnsid"):
                if k in cur:
                    addrs[-1][k] = cur[k]
            continue
        if first in ("inet", "inet6"):
            addrs[-1]["addr_info"].append(_addr_line(tokens, cur["ifname"], source, lineno))
            continue
        if first in ("valid_lft", "RX:", "TX:", "altname", "vf", "prop", "alias") \
                or first.isdigit() or not seen_link_line:
            if first == "altname" and len(tokens) > 1:
                cur.setdefault("altnames", []).append(tokens[1])
            continue
        if first == "addrgenmode":
            continue
        info = cur.setdefault("linkinfo", {})
        if first.endswith("_slave"):
            info.setdefault("info_slave_kind", first[: -len("_slave")])
        elif "info_kind" not in info and "info_slave_kind" not in info and first.isidentifier():
            info["info_kind"] = first
    for lk in links:
        if lk.get("linkinfo") == {}:
            del lk["linkinfo"]
    return links, addrs


def _route_tokens(tokens: list[str], r: dict[str, Any], source: str, lineno: int) -> None:
    i = 0
    while i < len(tokens):
        t = tokens[i]
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        if t == "via" and nxt is not None:
            if nxt in ("inet", "inet6") and i + 2 < len(tokens):
                r["via"] = {"family": nxt, "host": tokens[i + 2]}
                i += 3
                continue
            r["gateway"] = nxt
            i += 2
            continue
        if t in _ROUTE_KV and nxt is not None:
            key = _ROUTE_KV[t]
            val: Any = nxt
            if key in ("metric", "weight", "nhid"):
                val = _int(nxt)
            elif key == "expires":
                val = _int(nxt.removesuffix("sec"))
            r[key] = val
            i += 2
            continue
        if t in _ROUTE_METRICS and nxt is not None:
            if nxt == "lock" and i + 2 < len(tokens):
                nxt = tokens[i + 2]
                i += 1
            r.setdefault("metrics", [{}])[0][t] = _int(nxt)
            i += 2
            continue
        if t in _ROUTE_FLAGS:
            r.setdefault("flags", []).append(t)
            i += 1
            continue
        raise InputError(_("unknown route attribute {t!r}").format(t=t), source, lineno)


def parse_route_text(text: str, source: str) -> list[dict[str, Any]]:
    """`ip route show table all` (or `ip -6 route ...`) -> `ip -j route show` shape."""
    out: list[dict[str, Any]] = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        tokens = line.split()
        if line[0] in " \t":
            if tokens[0] != "nexthop" or not out:
                raise InputError(_(
                        "unexpected indented line: {line!r}").format(
                        line=line.strip()[:60]), source,
                                 lineno)
            hop: dict[str, Any] = {}
            _route_tokens(tokens[1:], hop, source, lineno)
            hop.setdefault("flags", [])
            out[-1].setdefault("nexthops", []).append(hop)
            continue
        r: dict[str, Any] = {}
        if tokens[0] in _ROUTE_TYPES:
            if tokens[0] != "unicast":
                r["type"] = tokens[0]
            tokens = tokens[1:]
        if not tokens:
            raise InputError(_("route line without a destination"), source, lineno)
        r["dst"] = tokens[0]
        _route_tokens(tokens[1:], r, source, lineno)
        r.setdefault("flags", [])
        out.append(r)
    return out
