"""A netplan YAML -> `DesiredState`, through netplan itself: `netplan generate --root-dir`
on a temporary directory validates the file with netplan's own parser (its errors, with
their line, are the input error) and writes what netplan would apply -- the systemd-networkd
`.network` files (addresses, routes, MAC, MTU, bridge/bond membership) and, for its
`openvswitch` part, the exact `ovs-vsctl` commands of its netplan-ovs-*.service units.
Those are read back; nothing is ever applied. Needs the `netplan` command (netplan.io).
"""

from __future__ import annotations

import ipaddress
import os
import re
import shlex
import shutil
import subprocess
import tempfile
from pathlib import Path

import yaml

from ovnguard.change.host import Family, RouteSpec
from ovnguard.change.hoststate import DesiredLink, DesiredState
from ovnguard.errors import InputError
from ovnguard.i18n import _
from ovnguard.sources.yamlnodes import compose, line

_SECTIONS = ("ethernets", "bridges", "bonds", "vlans", "vrfs", "tunnels", "wifis",
             "modems", "dummy-devices", "virtual-ethernets", "nm-devices")
_ERROR_AT = re.compile(r"^(?P<path>[^:]+):(?P<line>\d+):(?P<col>\d+): (?P<msg>.*)$")


def _lines(text: str, source: str) -> dict[str, int]:
    """The line each interface is configured on (network.<section>.<name>)."""
    out: dict[str, int] = {}
    root = compose(text, source)
    if not isinstance(root, yaml.MappingNode):
        return out
    for k, v in root.value:
        if k.value != "network" or not isinstance(v, yaml.MappingNode):
            continue
        for sk, sv in v.value:
            if sk.value in _SECTIONS and isinstance(sv, yaml.MappingNode):
                for ik, _value in sv.value:
                    out.setdefault(str(ik.value), line(ik))
    return out


def _generate(text: str, source: str) -> Path:
    exe = shutil.which("netplan", path=os.pathsep.join(
        [os.environ.get("PATH", ""), "/usr/sbin", "/sbin"]))
    if exe is None:
        raise InputError(_("reading a netplan file needs the `netplan` command (Debian/Ubuntu "
                           "package netplan.io), which validates it and says what it applies"),
                         source)
    root = Path(tempfile.mkdtemp(prefix="ovnguard-netplan-"))
    conf = root / "etc" / "netplan"
    conf.mkdir(parents=True)
    f = conf / "50-ovnguard.yaml"
    f.write_text(text)
    f.chmod(0o600)
    r = subprocess.run([exe, "generate", "--root-dir", str(root)], capture_output=True,
                       text=True, timeout=60, check=False)
    if r.returncode != 0:
        shutil.rmtree(root, ignore_errors=True)
        # netplan's own words (its first stderr line) stay as it wrote them
        first = next((x for x in r.stderr.splitlines() if x.strip()),
                     _("netplan generate failed"))
        m = _ERROR_AT.match(first)
        if m:
            raise InputError(f"netplan: {m['msg']}", source, int(m["line"]))
        raise InputError(f"netplan: {first}", source)
    return root


def _units(path: Path) -> list[tuple[str, str, str]]:
    """(section, key, value) of a systemd unit file, repeated keys kept in order."""
    out: list[tuple[str, str, str]] = []
    section = ""
    for raw in path.read_text().splitlines():
        s = raw.strip()
        if not s or s[0] in "#;":
            continue
        if s.startswith("[") and s.endswith("]"):
            section = s[1:-1]
        elif "=" in s:
            k, _sep, v = s.partition("=")
            out.append((section, k.strip(), v.strip()))
    return out


def _family(text: str) -> Family:
    return "inet6" if ":" in text else "inet"


def _link(entries: list[tuple[str, str, str]], name: str, at: int) -> DesiredLink:
    addrs: list[tuple[str, int, Family]] = []
    routes: list[tuple[RouteSpec, int]] = []
    mac = mtu = master = unknown = None
    route: dict[str, str] = {}

    def close_route() -> None:
        if not route:
            return
        gw = route.get("Gateway")
        dst = route.get("Destination", "")
        fam = _family(gw or dst)
        if dst in ("", "0.0.0.0/0", "::/0"):
            dst = "default"
        metric = int(route["Metric"]) if route.get("Metric", "").isdigit() else None
        routes.append((RouteSpec(dst, fam, name, gw, route.get("PreferredSource"), metric,
                                 onlink=route.get("GatewayOnLink") == "true"), at))
        route.clear()

    prev = ""
    for section, k, v in entries:
        if section != prev:
            close_route()
            prev = section
        if section in ("Network", "Address") and k == "Address":
            iface = ipaddress.ip_interface(v)
            addrs.append((str(iface.ip), iface.network.prefixlen, _family(v)))
        elif section == "Network" and k == "Gateway":
            routes.append((RouteSpec("default", _family(v), name, v), at))
        elif section == "Network" and k == "DHCP" and v != "no":
            unknown = _("{name} takes its addresses by DHCP ({dhcp}): which ones is not "
                        "known here").format(name=name, dhcp=v)
        elif section == "Network" and k in ("Bridge", "Bond", "VRF"):
            master = v
        elif section == "Route":
            route[k] = v
        elif section == "Link" and k == "MACAddress":
            mac = v.lower()
        elif section == "Link" and k == "MTUBytes" and v.isdigit():
            mtu = int(v)
    close_route()
    fams = frozenset({"inet", "inet6"})
    return DesiredLink(name, at, tuple(addrs), fams, tuple(routes), (), mac, mtu, None, master,
                       unknown)


def read_netplan(text: str, source: str) -> DesiredState:
    lines = _lines(text, source)
    root = _generate(text, source)
    try:
        links: list[DesiredLink] = []
        for f in sorted((root / "run" / "systemd" / "network").glob("*.network")):
            entries = _units(f)
            name = next((v for s, k, v in entries if s == "Match" and k == "Name"), None)
            if name is None:
                continue
            links.append(_link(entries, name, lines.get(name, 1)))
        ovs: list[tuple[tuple[str, ...], int]] = []
        units = sorted((root / "run" / "systemd" / "system").glob("netplan-ovs-*.service"))
        # the global settings first, as netplan orders its units
        units.sort(key=lambda u: u.name != "netplan-ovs-global.service")
        for u in units:
            bridge = u.name[len("netplan-ovs-"):-len(".service")]
            for _section, k, v in _units(u):
                words = shlex.split(v) if k == "ExecStart" else []
                if words and os.path.basename(words[0]) == "ovs-vsctl":
                    ovs.append((tuple(words[1:]), lines.get(bridge, 1)))
        has_nm = (root / "run" / "NetworkManager").exists()
        notes = ("this netplan file is rendered by NetworkManager: its addresses and routes "
                 "are not read here",) if has_nm else ()
        return DesiredState(source, "netplan", tuple(links), tuple(ovs), notes)
    finally:
        shutil.rmtree(root, ignore_errors=True)


__all__ = ["read_netplan"]
