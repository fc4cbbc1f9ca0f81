"""The one description of a host's Open_vSwitch database as ovnguard reads it.

What kinds of interfaces there are, which external_ids keys mark what ovn-controller owns,
and how OVSDB values are decoded -- from a `model.db.Row` (a conf.db read from a file) and
from the JSON that `ovs-vsctl --format=json --data=json` / `ovsdb-client transact` print (a
running lab or a live host). Everything that looks at a host's bridges (model, simulation,
lab, guard, plan) takes these from here, so "a NIC" or "a port ovn-controller owns" means one
thing everywhere. `ovn-bridge-mappings` is read by the one faithful parser in
`simulation/mappings.py` (`parse_bridge_mappings`, and `named_entries` for the text as
written).

Pure: no I/O.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from ovnguard.model.db import Database, FrozenMap, Row, frozen_map
from ovnguard.record import record

INTEGRATION_BRIDGE = "br-int"  # ovn-controller's default `ovn-bridge` (controller/ovn-controller.h)

# Interface types that stand for a wire out of the host (OVS 3.1 vswitchd/vswitch.xml,
# Interface:type): "" / "system" (a kernel netdev), "dpdk", "afxdp" / "afxdp-nonpmd" (a NIC
# driven from userspace). netdev-dummy's "dummy" and "dummy-pmd" (lib/netdev-dummy.c) are what
# `ovs-vswitchd --enable-dummy` -- the lab, and OVN's own test suite -- opens in place of a
# physical NIC, the second one polled like a dpdk port. Not NICs: "internal" /
# "dummy-internal" (the host's own end), "tap", "dpdkvhostuser*" (a VM's end), "patch" and the
# tunnel types below (no wire of their own).
# The kernel's own NICs, a subset: a link in `ip link` (link.json) that OVS enslaves to the
# datapath (master ovs-system). change/hostapply.py follows that enslaving, and
# model/bridgemac.py computes a bridge's MAC from these only (a userspace or dummy NIC is
# not counted there).
KERNEL_NIC_TYPES = frozenset({"", "system"})
NIC_TYPES = KERNEL_NIC_TYPES | {"dpdk", "afxdp", "afxdp-nonpmd", "dummy", "dummy-pmd"}
TUNNEL_TYPES = frozenset(
    {"geneve", "vxlan", "gre", "stt", "erspan", "ip6erspan", "ip6gre", "gtpu", "bareudp",
     "lisp", "srv6"}
)

# Port external_ids ovn-controller puts on the patch ports it creates (controller/patch.c).
# The first two it still creates; all four it deletes on sight when no longer wanted.
# Which one goes on a pair is the type of the logical port it bridges, in the order
# add_bridge_mappings() handles them (l2gateway first, then localnet); read-only because
# every module shares this one dict.
PATCH_OWNER_KEY_BY_TYPE: Mapping[str, str] = MappingProxyType(
    {"l2gateway": "ovn-l2gateway-port", "localnet": "ovn-localnet-port"})
LOCALNET_KEYS = (PATCH_OWNER_KEY_BY_TYPE["localnet"], PATCH_OWNER_KEY_BY_TYPE["l2gateway"])
OWNER_KEYS = (*LOCALNET_KEYS, "ovn-l3gateway-port", "ovn-logical-patch-port")
# ...and on the tunnel ports it creates (controller/encaps.c).
TUNNEL_OWNER_KEY = "ovn-chassis-id"


# --------------------------------------------------------------------------- bridges
# A host's bridges as read from its conf.db (`model.host.bridges_of` builds them).


@record(slots=True)
class OvsInterface:
    name: str
    type: str  # "" (system), "internal", "patch", "dummy", "geneve", ...
    options: Mapping[str, str]
    iface_id: str | None  # external_ids:iface-id (the logical port bound here)
    mac_in_use: str | None
    uuid: str

    @property
    def is_nic(self) -> bool:
        return self.type in NIC_TYPES

    @property
    def is_internal(self) -> bool:
        return self.type == "internal"

    @property
    def is_patch(self) -> bool:
        return self.type == "patch"

    @property
    def is_tunnel(self) -> bool:
        return self.type in TUNNEL_TYPES


@record(slots=True)
class OvsPort:
    name: str
    interfaces: tuple[OvsInterface, ...]
    tag: int | None
    external_ids: Mapping[str, str]
    uuid: str


@record(slots=True)
class OvsBridge:
    name: str
    ports: tuple[OvsPort, ...]
    fail_mode: str | None
    controllers: tuple[str, ...]  # Controller targets
    other_config: Mapping[str, str]
    external_ids: Mapping[str, str]
    datapath_type: str
    uuid: str
    # ovn-controller's tunnel ports to other chassis: counted here, not in `ports`
    # (model/mesh.py)
    tunnel_ports: int = 0

    @property
    def interfaces(self) -> tuple[OvsInterface, ...]:
        return tuple(i for p in self.ports for i in p.interfaces)

    @property
    def nics(self) -> tuple[OvsInterface, ...]:
        """Interfaces that are wires out of the host (a bond contributes each member)."""
        return tuple(i for i in self.interfaces if i.is_nic)

    @property
    def hwaddr(self) -> str | None:
        return self.other_config.get("hwaddr") or None

    def interface(self, name: str) -> OvsInterface | None:
        for i in self.interfaces:
            if i.name == name:
                return i
        return None

    def port_of(self, ifname: str) -> OvsPort | None:
        for p in self.ports:
            if any(i.name == ifname for i in p.interfaces):
                return p
        return None


def smap(row: Row, column: str) -> dict[str, str]:
    """A string-to-string map column of a `Row` (external_ids, options, other_config)."""
    return {str(k): str(v) for k, v in row.map(column).items()}


def frozen_smap(row: Row, column: str) -> Mapping[str, str]:
    """`smap`, read-only: for maps kept in views that many readers share (the logical model,
    what ovn-controller reads on a host, cached per database), where one reader writing
    into the map would change it under every other. The row's own cell when it already is
    string to string (a read-only `FrozenMap`), so a view of a million ports holds no copy."""
    m = row.map(column)
    if isinstance(m, FrozenMap) and all(k.__class__ is str and v.__class__ is str
                                        for k, v in m.items()):
        return m
    return frozen_map({str(k): str(v) for k, v in m.items()})


def ovs_external_id(ovs: Database | None, key: str) -> str | None:
    """An external_ids value of the Open_vSwitch row (e.g. "system-id": the chassis name);
    None when unset, empty or when there is no database."""
    if ovs is None:
        return None
    for row in ovs.rows("Open_vSwitch"):
        v = row.map("external_ids").get(key)
        return str(v) if v else None
    return None


# --------------------------------------------------------------------------- OVSDB JSON
# RFC 7047 §5.1: an atom is itself, a uuid is ["uuid", u], a set of n != 1 elements is
# ["set", [...]], a map is ["map", [[k, v], ...]]. `--data=json` prints an empty optional
# column as ["set", []].


def json_tables(text: str) -> list[dict[str, Any]]:
    """`ovs-vsctl --format=json` prints one JSON object per `--` command, one after another."""
    decoder = json.JSONDecoder()
    out: list[dict[str, Any]] = []
    idx, text = 0, text.strip()
    while idx < len(text):
        obj, idx = decoder.raw_decode(text, idx)
        out.append(obj)
        while idx < len(text) and text[idx].isspace():
            idx += 1
    return out


def list_args(*queries: tuple[str, str]) -> list[str]:
    """ovs-vsctl arguments listing each (table, columns) in one run, as JSON tables in order:
    `lab.vsctl(host, *list_args(("Bridge", "name,ports"), ("Port", "_uuid,name")))`."""
    args = ["--format=json", "--data=json"]
    for table, columns in queries:
        args += ["--", f"--columns={columns}", "list", table]
    return args


def json_uuid(value: Any) -> str:
    """The UUID of a uuid atom, `["uuid", U]` (a row's `_uuid` on the wire and in `--format
    json` output); a ValueError for anything else (a reply that is not OVSDB's)."""
    if isinstance(value, list) and len(value) == 2 and value[0] == "uuid":
        return str(value[1])
    raise ValueError(f"not an OVSDB uuid: {value!r}")


def json_uuids(value: Any) -> list[str]:
    """The UUIDs of a uuid or a set of uuids."""
    if isinstance(value, list) and len(value) == 2 and value[0] == "uuid":
        return [str(value[1])]
    if isinstance(value, list) and len(value) == 2 and value[0] == "set":
        return [str(v[1]) for v in value[1]]
    return []


def json_scalar(value: Any) -> Any:
    """An optional (0-or-1) column: its atom, or None when empty."""
    if isinstance(value, list) and len(value) == 2 and value[0] == "set":
        return value[1][0] if value[1] else None
    return value


def json_smap(value: Any) -> dict[str, str]:
    """A map column as str -> str (anything that is not a map reads as empty)."""
    if isinstance(value, list) and len(value) == 2 and value[0] == "map":
        return {str(k): str(v) for k, v in value[1]}
    return {}


# --------------------------------------------------------------------------- ovn-remote


@record(slots=True)
class RemoteTarget:
    """One target of `ovn-remote` (where ovn-controller finds SB; comma-separated, each
    `tcp:ADDR:PORT`, `ssl:ADDR:PORT`, `tcp:[IPv6]:PORT`, `unix:PATH`)."""

    text: str  # as written
    proto: str  # "tcp" | "ssl" | "unix" | anything else written there
    host: str | None = None  # tcp/ssl with something after the ':' only
    port: str | None = None  # as written; None when not given
    bracketed: bool = False  # the address was written as [ADDR]


def remote_targets(remote: str | None) -> tuple[RemoteTarget, ...]:
    out: list[RemoteTarget] = []
    for target in (t.strip() for t in (remote or "").split(",")):
        if not target:
            continue
        proto, _, rest = target.partition(":")
        if proto not in ("tcp", "ssl") or not rest:
            out.append(RemoteTarget(target, proto))
        elif rest.startswith("["):
            host, _, tail = rest[1:].partition("]")
            port = tail[1:] if tail.startswith(":") and tail[1:] else None
            out.append(RemoteTarget(target, proto, host, port, bracketed=True))
        elif rest.count(":") == 1:
            host, port = rest.split(":")
            out.append(RemoteTarget(target, proto, host, port))
        else:  # "ADDR" without a port, or a bare IPv6 address
            out.append(RemoteTarget(target, proto, rest))
    return tuple(out)
