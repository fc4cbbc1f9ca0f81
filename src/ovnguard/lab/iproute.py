"""What `ip -j addr show`, `ip -j route show table all` and `ip -j -d link show` would print
on a lab host if it were a real machine with the kernel OVS datapath (pure functions).

The lab's hosts share this machine's kernel, so there is nothing real to run `ip` on; the
output is built from the topology (management address, NICs outside OVS) and from the
chassis' own Open_vSwitch database (interface names, types, MTUs, and the MACs of OVS
internal devices), in the key order and shape iproute2 6.x prints. Which devices exist
follows the kernel datapath: NICs are enslaved to `ovs-system`, every OVS internal interface
is an `openvswitch` device, geneve ports share one `genev_sys_6081`, patch ports have none.
"""

from __future__ import annotations

import hashlib
import ipaddress
from dataclasses import dataclass, field
from typing import Any

from ovnguard.lab.topology import Host
from ovnguard.model.ovs import NIC_TYPES
from ovnguard.record import record

FOREVER = 4294967295
ETHER_BROADCAST = "ff:ff:ff:ff:ff:ff"
_TUNNEL_DEVICES = {"geneve": "genev_sys_6081", "vxlan": "vxlan_sys_4789"}


@record
class LabInterface:
    """One row of a lab chassis' Interface table, with the bridge that holds it and what its
    kernel device shows (MAC, MTU): what the `ip` output synthesized below needs. Not
    model/ovs.py's OvsInterface, which sits inside its port and bridge as the model reads a
    conf.db."""

    name: str
    type: str
    bridge: str
    mac: str | None = None
    mtu: int | None = None


@dataclass
class Device:
    """A kernel network device as the functions below print it."""

    ifname: str
    kind: str  # loopback | nic | ovs-system | ovs-internal | tunnel
    mac: str
    mtu: int = 1500
    up: bool = True
    master: str | None = None
    v4: list[ipaddress.IPv4Interface] = field(default_factory=list)
    info_kind: str | None = None


def nic_mac(host: str, ifname: str) -> str:
    """A reproducible, unique MAC for a NIC, in Proxmox's OUI (the incident's nodes were
    Proxmox VMs). Not the dummy netdev's own MAC: netdev-dummy numbers MACs per process,
    so every lab host's first NIC would get the same aa:55:aa:55:00:xx."""
    h = hashlib.sha256(f"{host}/{ifname}".encode()).digest()
    return "bc:24:11:" + ":".join(f"{b:02x}" for b in h[:3])


def stable_mac(host: str, ifname: str) -> str:
    """A reproducible, locally administered MAC for a virtual device (random on a real host)."""
    h = bytearray(hashlib.sha256(f"{host}/{ifname}".encode()).digest()[:6])
    h[0] = (h[0] & 0xFC) | 0x02
    return ":".join(f"{b:02x}" for b in h)


def devices(host: Host, ovs: list[LabInterface]) -> list[Device]:
    """The host's kernel devices, in ifindex order."""
    mgmt = host.management
    devs: list[Device] = [
        Device(
            "lo",
            "loopback",
            "00:00:00:00:00:00",
            mtu=65536,
            v4=[ipaddress.IPv4Interface("127.0.0.1/8")],
        )
    ]
    by_name = {i.name: i for i in ovs}
    for br in host.bridges:
        for nic in br.ports:
            row = by_name.get(nic)
            devs.append(
                Device(
                    nic,
                    "nic",
                    nic_mac(host.name, nic),
                    mtu=(row.mtu if row and row.mtu else 1500),
                    master="ovs-system",
                )
            )
    for nic in host.nics:
        devs.append(Device(nic, "nic", nic_mac(host.name, nic)))
    if ovs:
        devs.append(
            Device(
                "ovs-system",
                "ovs-system",
                stable_mac(host.name, "ovs-system"),
                up=False,
                info_kind="openvswitch",
            )
        )
    declared_nics = set(host.all_nics())
    tunnels_added: set[str] = set()
    for row in ovs:
        if row.name in declared_nics:
            continue
        if row.type == "internal":
            devs.append(
                Device(
                    row.name,
                    "ovs-internal",
                    row.mac or stable_mac(host.name, row.name),
                    mtu=row.mtu or 1500,
                    up=False,
                    info_kind="openvswitch",
                )
            )
        elif row.type in _TUNNEL_DEVICES and row.type not in tunnels_added:
            tunnels_added.add(row.type)
            devs.append(
                Device(
                    _TUNNEL_DEVICES[row.type],
                    "tunnel",
                    stable_mac(host.name, _TUNNEL_DEVICES[row.type]),
                    mtu=65000,
                    master="ovs-system",
                    info_kind=row.type,
                )
            )
        elif row.type in NIC_TYPES:
            # A NIC added to OVS by hand, not declared in the topology.
            devs.append(Device(row.name, "nic", nic_mac(host.name, row.name), master="ovs-system"))
    if mgmt is not None:
        for d in devs:
            if d.ifname == mgmt.interface:
                d.v4.append(mgmt.address)
                # Whatever holds the address is administratively up (netplan/ifupdown did it).
                d.up = True
    return devs


def _link_local(mac: str) -> ipaddress.IPv6Address:
    b = bytearray(int(x, 16) for x in mac.split(":"))
    b[0] ^= 0x02
    eui = bytes(b[:3]) + b"\xff\xfe" + bytes(b[3:])
    return ipaddress.IPv6Address(b"\xfe\x80" + b"\x00" * 6 + eui)


def _has_link_local(d: Device) -> bool:
    return d.up and d.kind in ("nic", "ovs-internal")


def _flags(d: Device) -> list[str]:
    if d.kind == "loopback":
        return ["LOOPBACK", "UP", "LOWER_UP"]
    if d.kind == "tunnel":
        return ["BROADCAST", "MULTICAST", "UP", "LOWER_UP"]
    return ["BROADCAST", "MULTICAST", "UP", "LOWER_UP"] if d.up else ["BROADCAST", "MULTICAST"]


def _qdisc(d: Device) -> str:
    if not d.up:
        return "noop"
    return "fq_codel" if d.kind == "nic" else "noqueue"


def _operstate(d: Device) -> str:
    if not d.up:
        return "DOWN"
    return "UP" if d.kind == "nic" else "UNKNOWN"


def _head(index: int, d: Device, detailed: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "ifindex": index,
        "ifname": d.ifname,
        "flags": _flags(d),
        "mtu": d.mtu,
        "qdisc": _qdisc(d),
    }
    if d.master:
        out["master"] = d.master
    out["operstate"] = _operstate(d)
    if detailed:
        out["linkmode"] = "DEFAULT"
    out["group"] = "default"
    out["txqlen"] = 1000 if d.kind in ("loopback", "nic", "ovs-internal") else 0
    loop = d.kind == "loopback"
    out["link_type"] = "loopback" if loop else "ether"
    out["address"] = d.mac
    out["broadcast"] = "00:00:00:00:00:00" if loop else ETHER_BROADCAST
    return out


def addr_json(devs: list[Device]) -> list[dict[str, Any]]:
    """`ip -j addr show`."""
    result = []
    for i, d in enumerate(devs, start=1):
        entry = _head(i, d, detailed=False)
        infos: list[dict[str, Any]] = []
        for a in d.v4:
            info: dict[str, Any] = {
                "family": "inet",
                "local": str(a.ip),
                "prefixlen": a.network.prefixlen,
            }
            if a.network.prefixlen < 31 and d.kind != "loopback":
                info["broadcast"] = str(a.network.broadcast_address)
            info["scope"] = "host" if d.kind == "loopback" else "global"
            info["label"] = d.ifname
            info["valid_life_time"] = FOREVER
            info["preferred_life_time"] = FOREVER
            infos.append(info)
        if d.kind == "loopback":
            infos.append(
                {
                    "family": "inet6",
                    "local": "::1",
                    "prefixlen": 128,
                    "scope": "host",
                    "valid_life_time": FOREVER,
                    "preferred_life_time": FOREVER,
                }
            )
        elif _has_link_local(d):
            infos.append(
                {
                    "family": "inet6",
                    "local": str(_link_local(d.mac)),
                    "prefixlen": 64,
                    "scope": "link",
                    "valid_life_time": FOREVER,
                    "preferred_life_time": FOREVER,
                }
            )
        entry["addr_info"] = infos
        result.append(entry)
    return result


def link_json(devs: list[Device]) -> list[dict[str, Any]]:
    """`ip -j -d link show`."""
    result = []
    for i, d in enumerate(devs, start=1):
        entry = _head(i, d, detailed=True)
        loop = d.kind == "loopback"
        entry["promiscuity"] = 1 if d.master else 0
        entry["allmulti"] = 0
        entry["min_mtu"] = 0 if loop else 68
        entry["max_mtu"] = 0 if loop else 65535
        linkinfo: dict[str, Any] = {}
        if d.info_kind:
            linkinfo["info_kind"] = d.info_kind
            if d.kind == "tunnel":
                linkinfo["info_data"] = {
                    "external": True,
                    "port": 6081 if d.info_kind == "geneve" else 4789,
                }
        if d.master == "ovs-system":
            linkinfo["info_slave_kind"] = "openvswitch"
        if linkinfo:
            entry["linkinfo"] = linkinfo
        entry["inet6_addr_gen_mode"] = "eui64"
        entry["num_tx_queues"] = 1
        entry["num_rx_queues"] = 1
        entry["gso_max_size"] = 65536
        entry["gso_max_segs"] = 65535
        entry["tso_max_size"] = 524280 if loop else 65536
        entry["tso_max_segs"] = 65535
        entry["gro_max_size"] = 65536
        result.append(entry)
    return result


def route_json(host: Host, devs: list[Device]) -> list[dict[str, Any]]:
    """`ip -j route show table all`: default route via the management gateway, connected
    routes, the local table, and IPv6 link-local routes."""
    main4: list[dict[str, Any]] = []
    local4: list[dict[str, Any]] = []
    main6: list[dict[str, Any]] = []
    local6: list[dict[str, Any]] = []
    mgmt = host.management
    if mgmt is not None:
        # ifupdown's `gateway` line: proto boot, which iproute2 does not print.
        main4.append(
            {
                "dst": "default",
                "gateway": str(mgmt.effective_gateway),
                "dev": mgmt.interface,
                "flags": [],
            }
        )
    for d in devs:
        for a in d.v4:
            if d.kind != "loopback":
                main4.append(
                    {
                        "dst": str(a.network),
                        "dev": d.ifname,
                        "protocol": "kernel",
                        "scope": "link",
                        "prefsrc": str(a.ip),
                        "flags": [],
                    }
                )
            if d.kind == "loopback":
                local4.append(_local("local", str(a.network), d.ifname, "host", str(a.ip)))
            local4.append(_local("local", str(a.ip), d.ifname, "host", str(a.ip)))
            if a.network.prefixlen < 31:
                local4.append(
                    _local(
                        "broadcast", str(a.network.broadcast_address), d.ifname, "link", str(a.ip)
                    )
                )
    for d in devs:
        if _has_link_local(d):
            main6.append(
                {
                    "dst": "fe80::/64",
                    "dev": d.ifname,
                    "protocol": "kernel",
                    "metric": 256,
                    "flags": [],
                    "pref": "medium",
                }
            )
    for d in devs:
        if d.kind == "loopback":
            local6.append(_local6("local", "::1", d.ifname, 0))
        elif _has_link_local(d):
            local6.append(_local6("local", str(_link_local(d.mac)), d.ifname, 0))
    for d in devs:
        if _has_link_local(d):
            local6.append(_local6("multicast", "ff00::/8", d.ifname, 256))
    return main4 + local4 + main6 + local6


def _local(kind: str, dst: str, dev: str, scope: str, prefsrc: str) -> dict[str, Any]:
    return {
        "type": kind,
        "dst": dst,
        "dev": dev,
        "table": "local",
        "protocol": "kernel",
        "scope": scope,
        "prefsrc": prefsrc,
        "flags": [],
    }


def _local6(kind: str, dst: str, dev: str, metric: int) -> dict[str, Any]:
    return {
        "type": kind,
        "dst": dst,
        "dev": dev,
        "table": "local",
        "protocol": "kernel",
        "metric": metric,
        "flags": [],
        "pref": "medium",
    }
