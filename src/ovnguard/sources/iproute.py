"""Read the JSON output of iproute2 (`ip -j addr show`, `ip -j route show table all`,
`ip -j -d link show`) into the model's `IpAddress`, `IpRoute` and `IpLink`.

Why the JSON output and not netlink dumps or the text form: it is what an operator can
produce on any host without ovnguard, and its keys are stable across iproute2 versions
(checked against iproute2 6.1; older versions omit keys rather than rename them, so every
key except the identifying one is optional here).

Shapes handled (seen in real output, see tests/fixtures/iproute/):
- `table` is absent for the main table, a name ("local") or a number as a string ("100");
  some versions print the number as a JSON integer: both become the string.
- `dst` is "default" for a default route of either family.
- a multipath route has no `dev`/`gateway` but `nexthops: [{gateway, dev, weight}, ...]`;
  it becomes one `IpRoute` per nexthop (same dst), since what the model asks of a route is
  "which device and gateway can carry traffic to dst".
- an IPv4 route via an IPv6 gateway (RFC 5549) carries `via: {family, host}` instead of
  `gateway`.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any

import orjson

from ovnguard.errors import InputError
from ovnguard.i18n import _
from ovnguard.model.snapshot import IpAddress, IpLink, IpRoute
from ovnguard.sources import safeio

ADDR_COMMAND = "ip -j addr show"
ROUTE_COMMAND = "ip -j route show table all"
LINK_COMMAND = "ip -j -d link show"


def load_json_list(raw: bytes, source: str, command: str) -> list[dict[str, Any]]:
    """Decode `raw` as the JSON array `command` prints; errors name the file and line."""
    if not raw.strip():
        raise InputError(_(
                "empty file: expected the output of `{command}`").format(
                command=command), source)
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError as e:
        raise InputError(
            _(
                    "not valid JSON ({msg}, column {colno}); make it with `{command}`").format(
                    msg=e.msg, colno=e.colno, command=command),
            source,
            e.lineno,
        ) from None
    if not isinstance(doc, list):
        raise InputError(
            _(
                    "expected a JSON array (the output of `{command}`), got {name}").format(
                    command=command, name=type(doc).__name__),
            source,
            1,
        )
    for i, entry in enumerate(doc):
        if not isinstance(entry, dict):
            raise InputError(
                _(
                        "entry {i} is {name}, expected an object (is this the output of "
                        "`{command}`?)").format(
                        i=i, name=type(entry).__name__, command=command),
                source,
            )
    return doc


def _read(path: str | Path) -> tuple[bytes, str]:
    p = Path(path)
    return safeio.read_bytes(p, limit=safeio.MAX_JSON_BYTES), str(p)


def _opt_str(entry: dict[str, Any], key: str, source: str, where: str) -> str | None:
    v = entry.get(key)
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, (str, int)):
        raise InputError(_(
                "{where}: {key!r} is {name}, expected a string").format(
                where=where, key=key, name=type(v).__name__), source)
    return str(v)


def _ifname(entry: dict[str, Any], i: int, source: str) -> str:
    name = entry.get("ifname")
    if not isinstance(name, str) or not name:
        raise InputError(_("entry {i} has no 'ifname'").format(i=i), source)
    return name


def parse_addresses(raw: bytes, source: str) -> tuple[IpAddress, ...]:
    """`ip -j addr show` -> one IpAddress per configured address (interfaces without any
    address contribute nothing; their existence is link.json's business)."""
    out: list[IpAddress] = []
    for i, entry in enumerate(load_json_list(raw, source, ADDR_COMMAND)):
        ifname = _ifname(entry, i, source)
        infos = entry.get("addr_info", [])
        if not isinstance(infos, list):
            raise InputError(_("{ifname}: 'addr_info' is not a list").format(ifname=ifname), source)
        for info in infos:
            if not isinstance(info, dict):
                raise InputError(_(
                        "{ifname}: an 'addr_info' item is not an object").format(
                        ifname=ifname), source)
            where = f"{ifname} addr_info"
            local = _opt_str(info, "local", source, where)
            if local is None:
                continue  # nothing assigned to this host (e.g. only a peer address)
            try:
                ip = ipaddress.ip_address(local.split("%", 1)[0])
            except ValueError:
                raise InputError(_(
                        "{ifname}: 'local' {local!r} is not an IP address").format(
                        ifname=ifname, local=local),
                                 source) from None
            family = _opt_str(info, "family", source, where) or (
                "inet6" if ip.version == 6 else "inet"
            )
            plen = info.get("prefixlen", ip.max_prefixlen)
            if isinstance(plen, bool) or not isinstance(plen, int):
                raise InputError(_(
                        "{ifname}: 'prefixlen' of {local} is not a number").format(
                        ifname=ifname, local=local), source)
            out.append(
                IpAddress(
                    ifname=ifname,
                    address=local,
                    prefixlen=plen,
                    family=family,
                    scope=_opt_str(info, "scope", source, where) or "global",
                )
            )
    return tuple(out)


def _route_family(dst: str, gateway: str | None) -> str | None:
    # `ip -j route` has no family key; the addresses say it ("default" alone does not).
    for text in (dst, gateway or ""):
        if ":" in text:
            return "inet6"
        if "." in text:
            return "inet"
    return None


def parse_routes(raw: bytes, source: str) -> tuple[IpRoute, ...]:
    """`ip -j route show table all` (or any `ip -j route show`) -> IpRoute per path."""
    out: list[IpRoute] = []
    for i, entry in enumerate(load_json_list(raw, source, ROUTE_COMMAND)):
        where = f"route entry {i}"
        dst = _opt_str(entry, "dst", source, where)
        if dst is None:
            raise InputError(_("{where} has no 'dst'").format(where=where), source)
        table = _opt_str(entry, "table", source, where) or "main"
        prefsrc = _opt_ip(entry, "prefsrc", source, where)
        protocol = _opt_str(entry, "protocol", source, where)
        scope = _opt_str(entry, "scope", source, where)
        rtype = _opt_str(entry, "type", source, where) or "unicast"
        top_dev = _opt_str(entry, "dev", source, where)
        metric = entry.get("metric")
        if isinstance(metric, bool) or not isinstance(metric, int):
            metric = None
        hops = entry.get("nexthops")
        paths: list[dict[str, Any]] = hops if isinstance(hops, list) and hops else [entry]
        for hop in paths:
            if not isinstance(hop, dict):
                raise InputError(_(
                        "{where} ({dst}): a nexthop is not an object").format(
                        where=where, dst=dst), source)
            out.append(
                IpRoute(
                    dst=dst,
                    dev=_opt_str(hop, "dev", source, where) or top_dev,
                    gateway=_gateway(hop, source, where),
                    prefsrc=prefsrc,
                    table=table,
                    protocol=protocol,
                    scope=scope,
                    type=rtype,
                    metric=metric,
                    family=_route_family(dst, _gateway(hop, source, where)),
                )
            )
    return tuple(out)


def _opt_ip(entry: dict[str, Any], key: str, source: str, where: str) -> str | None:
    """An optional address field, checked: the model computes networks from it."""
    v = _opt_str(entry, key, source, where)
    if v is not None:
        try:
            ipaddress.ip_address(v.split("%", 1)[0])
        except ValueError:
            raise InputError(_(
                    "{where}: {key!r} is not an IP address").format(
                    where=where, key=key), source) from None
    return v


def _gateway(entry: dict[str, Any], source: str, where: str) -> str | None:
    gw = _opt_ip(entry, "gateway", source, where)
    if gw is not None:
        return gw
    via = entry.get("via")
    if isinstance(via, dict):
        return _opt_ip(via, "host", source, where)
    return None


def parse_links(raw: bytes, source: str) -> tuple[IpLink, ...]:
    """`ip -j -d link show` -> IpLink per interface. Without `-d` there is no `linkinfo`,
    so `kind` stays None (unknown, not "plain")."""
    out: list[IpLink] = []
    for i, entry in enumerate(load_json_list(raw, source, LINK_COMMAND)):
        ifname = _ifname(entry, i, source)
        info = entry.get("linkinfo")
        kind = None
        if isinstance(info, dict):
            kind = _opt_str(info, "info_kind", source, ifname)
        mtu = entry.get("mtu")
        out.append(
            IpLink(
                ifname=ifname,
                kind=kind,
                master=_opt_str(entry, "master", source, ifname),
                address=_opt_str(entry, "address", source, ifname),
                operstate=_opt_str(entry, "operstate", source, ifname),
                mtu=mtu if isinstance(mtu, int) and not isinstance(mtu, bool) else None,
            )
        )
    return tuple(out)


def read_addresses(path: str | Path) -> tuple[IpAddress, ...]:
    return parse_addresses(*_read(path))


def read_routes(path: str | Path) -> tuple[IpRoute, ...]:
    return parse_routes(*_read(path))


def read_links(path: str | Path) -> tuple[IpLink, ...]:
    return parse_links(*_read(path))
