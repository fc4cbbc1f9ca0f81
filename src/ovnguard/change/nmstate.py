"""An nmstate YAML (the desired state `nmstatectl apply` and kubernetes-nmstate's
NodeNetworkConfigurationPolicy `desiredState` take) -> `DesiredState`.

No nmstate package is installable here (libnmstate / nmstatectl), so the file is read
after nmstate's published schema (nmstate.io/devel/yaml_api.html): `interfaces[]` with
`name`, `type`, `state` (up/down/absent), `mac-address`, `mtu`, `ipv4`/`ipv6` (`enabled`,
`dhcp`, `autoconf`, `address[]` of `ip` + `prefix-length`), `bridge.port[]` of
`linux-bridge` and `ovs-bridge`; `routes.config[]` with `destination`, `next-hop-address`,
`next-hop-interface`, `metric`, `table-id`, `state: absent`. As nmstate does, what the file
does not mention is kept; a listed address family replaces the link's addresses of that
family. An OVS bridge becomes the ovs-vsctl commands that make it (`--may-exist add-br`,
`--may-exist add-port`, `del-port` of ports it no longer lists, `del-br` for absent);
anything else nmstate knows (bonds' options, VLANs, ethtool, DNS, route rules) is reported
as unknown on its line, never skipped.
"""

from __future__ import annotations

import ipaddress

import yaml

from ovnguard.change.host import Family, RouteSpec
from ovnguard.change.hoststate import DesiredLink, DesiredState
from ovnguard.errors import InputError
from ovnguard.i18n import _
from ovnguard.sources.yamlnodes import compose, line

_KNOWN_KEYS = frozenset({"name", "type", "state", "mac-address", "mtu", "ipv4", "ipv6",
                         "bridge", "description", "profile-name", "controller"})


class _NotModelled(Exception):
    pass


def _map(node: yaml.Node, source: str, what: str) -> dict[str, yaml.Node]:
    if not isinstance(node, yaml.MappingNode):
        raise InputError(_("{what} must be a mapping").format(what=what), source, line(node))
    return {str(k.value): v for k, v in node.value}


def _list(node: yaml.Node, source: str, what: str) -> list[yaml.Node]:
    if not isinstance(node, yaml.SequenceNode):
        raise InputError(_("{what} must be a list").format(what=what), source, line(node))
    return list(node.value)


def _str(node: yaml.Node | None, source: str, what: str) -> str | None:
    if node is None:
        return None
    if not isinstance(node, yaml.ScalarNode):
        raise InputError(_("{what} must be a plain value").format(what=what), source,
                         line(node))
    return str(node.value)


def _addresses(fam: Family, node: yaml.Node, source: str, name: str
               ) -> tuple[list[tuple[str, int, Family]], bool, str | None]:
    """(addresses, authoritative, unknown) of one `ipv4:` / `ipv6:` block."""
    m = _map(node, source, f"{name}: {fam}")
    enabled = _str(m.get("enabled"), source, "enabled")
    if enabled is not None and enabled.lower() == "false":
        return [], True, None
    for key in ("dhcp", "autoconf"):
        v = _str(m.get(key), source, key)
        if v is not None and v.lower() == "true":
            return [], False, _("{name} takes its {family} addresses by {key}: which ones "
                                "is not known here").format(name=name, family=fam, key=key)
    if "address" not in m:
        return [], False, None
    out: list[tuple[str, int, Family]] = []
    for a in _list(m["address"], source, f"{name}: {fam}.address"):
        am = _map(a, source, _("{name}: an address").format(name=name))
        ip = _str(am.get("ip"), source, "ip")
        plen = _str(am.get("prefix-length"), source, "prefix-length")
        try:
            iface = ipaddress.ip_interface(f"{ip}/{plen}")
        except ValueError:
            raise InputError(_("{name}: {address} is not an {family} address with its "
                               "prefix-length").format(name=name, address=f"{ip}/{plen}",
                                                       family=fam),
                             source, line(a)) from None
        if (iface.version == 4) != (fam == "inet"):
            raise InputError(_("{name}: {address} is not an {family} address").format(
                name=name, address=ip, family=fam), source, line(a))
        out.append((str(iface.ip), iface.network.prefixlen, fam))
    return out, True, None


def read_nmstate(text: str, source: str) -> DesiredState:
    root = compose(text, source)
    if root is None:
        raise InputError(_("empty nmstate file"), source, 1)
    top = _map(root, source, _("the nmstate state"))
    links: list[DesiredLink] = []
    ovs: list[tuple[tuple[str, ...], int]] = []
    unknown: list[tuple[int, str]] = []
    for knode, _value in root.value:
        if knode.value not in ("interfaces", "routes"):
            unknown.append((line(knode), _("nmstate `{key}:` is not modelled").format(
                key=knode.value)))
    by_name: dict[str, DesiredLink] = {}
    for item in _list(top["interfaces"], source, "interfaces") if "interfaces" in top else []:
        m = _map(item, source, _("an interface"))
        name = _str(m.get("name"), source, "name")
        if not name:
            raise InputError(_("an interface without a name"), source, line(item))
        at = line(item)
        kind = _str(m.get("type"), source, "type") or "unknown"
        state = (_str(m.get("state"), source, "state") or "up").lower()
        for k, v in m.items():
            if k not in _KNOWN_KEYS:
                unknown.append((line(v), _("{name}: nmstate `{key}:` is not modelled").format(
                    name=name, key=k)))
        if kind == "ovs-bridge":
            ovs += _ovs_bridge(name, state, m, source, at)
            continue
        addrs: list[tuple[str, int, Family]] = []
        fams: set[str] = set()
        why: str | None = None
        for fam, k in (("inet", "ipv4"), ("inet6", "ipv6")):
            if k in m:
                got, authoritative, u = _addresses(fam, m[k], source, name)  # type: ignore[arg-type]
                addrs += got
                why = why or u
                if authoritative:
                    fams.add(fam)
        if state == "absent":
            if kind == "ovs-interface":
                ovs.append((("--if-exists", "del-port", name), at))
                continue
            fams, addrs = {"inet", "inet6"}, []  # a NIC: its configuration goes
        mac = _str(m.get("mac-address"), source, "mac-address")
        mtu = _str(m.get("mtu"), source, "mtu")
        link = DesiredLink(name, at, tuple(addrs), frozenset(fams), (), (),
                           mac.lower() if mac else None,
                           int(mtu) if mtu and mtu.isdigit() else None,
                           False if state == "down" else (True if state == "up" else None),
                           None, why)
        if kind == "linux-bridge" and "bridge" in m:
            for port in _ports(m["bridge"], source, name):
                by_name[port] = DesiredLink(port, at, master=name)
        by_name[name] = link if name not in by_name else DesiredLink(
            name, at, link.addresses, link.families, (), (), link.mac, link.mtu, link.up,
            by_name[name].master, why)
    routes: dict[str, list[tuple[RouteSpec, int]]] = {}
    absent: dict[str, list[tuple[RouteSpec, int]]] = {}
    if "routes" in top:
        rm = _map(top["routes"], source, "routes")
        for r in _list(rm["config"], source, "routes.config") if "config" in rm else []:
            try:
                spec, dev, gone = _route(r, source)
            except _NotModelled as e:
                unknown.append((line(r), str(e)))
                continue
            (absent if gone else routes).setdefault(dev, []).append((spec, line(r)))
    for dev in sorted(set(routes) | set(absent)):
        if dev not in by_name:
            by_name[dev] = DesiredLink(dev, (routes.get(dev) or absent[dev])[0][1])
    for name, link in by_name.items():
        links.append(DesiredLink(
            link.name, link.line, link.addresses, link.families,
            tuple(routes.get(name, ())), tuple(absent.get(name, ())), link.mac, link.mtu,
            link.up, link.master, link.unknown))
    return DesiredState(source, "nmstate", tuple(links), tuple(ovs), (), tuple(unknown))


def _ports(node: yaml.Node, source: str, name: str) -> list[str]:
    bm = _map(node, source, f"{name}: bridge")
    out: list[str] = []
    for p in _list(bm["port"], source, f"{name}: bridge.port") if "port" in bm else []:
        pname = _str(_map(p, source, _("a port")).get("name"), source, _("port name"))
        if pname:
            out.append(pname)
    return out


def _ovs_bridge(name: str, state: str, m: dict[str, yaml.Node], source: str, at: int
                ) -> list[tuple[tuple[str, ...], int]]:
    if state == "absent":
        return [(("--if-exists", "del-br", name), at)]
    out: list[tuple[tuple[str, ...], int]] = [(("--may-exist", "add-br", name), at)]
    if "bridge" in m:
        for port in _ports(m["bridge"], source, name):
            if port != name:  # the bridge's own ovs-interface is made by add-br
                out.append((("--may-exist", "add-port", name, port), at))
    return out


def _route(node: yaml.Node, source: str) -> tuple[RouteSpec, str, bool]:
    m = _map(node, source, _("a route"))
    dst = _str(m.get("destination"), source, "destination")
    dev = _str(m.get("next-hop-interface"), source, "next-hop-interface")
    gw = _str(m.get("next-hop-address"), source, "next-hop-address")
    if not dst or not dev:
        raise InputError(_("a route needs destination and next-hop-interface (what nmstate "
                           "requires)"), source, line(node))
    try:
        net = ipaddress.ip_network(dst, strict=False)
    except ValueError:
        raise InputError(_("destination {destination} is not a network").format(
            destination=repr(dst)), source, line(node)) from None
    fam: Family = "inet" if net.version == 4 else "inet6"
    metric = _str(m.get("metric"), source, "metric")
    table = _str(m.get("table-id"), source, "table-id")
    if table not in (None, "0", "254"):
        raise _NotModelled(_("a route in table {table} is not modelled (policy routing is "
                             "not; the main table is)").format(table=table))
    gone = (_str(m.get("state"), source, "state") or "").lower() == "absent"
    spec = RouteSpec("default" if net.prefixlen == 0 else str(net), fam, dev, gw or None,
                     None, int(metric) if metric and metric.isdigit() else None)
    return spec, dev, gone


__all__ = ["read_nmstate"]
