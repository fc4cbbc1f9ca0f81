"""Read a bundle directory (native command outputs, see docs/bundle.md) into a Snapshot.

    bundle/
      nb.db  sb.db  inventory.yaml
      hosts/<host>/conf.db addr.json route.json link.json etc/neutron/...

Only nb.db is required. Anything else that is missing is recorded as `None` in the model
(never as "empty") plus one sentence in `Snapshot.notes` saying what can no longer be
checked; a file that is present but malformed is an `InputError` naming the file and line.

Hosts are keyed by the SB Chassis hostname. A host directory is matched to a chassis by
`hostname`, then by `name` (the system-id), then by the `external_ids:system-id` in its own
conf.db; directories left unmatched are noted. A chassis no directory matched becomes a host
with nothing collected (noted), which the simulation and the rules predict from SB alone --
the control-node case of NB + SB without `hosts/`.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

from ovnguard.errors import InputError
from ovnguard.i18n import _
from ovnguard.model.db import Database, Row
from ovnguard.model.logical import chassis_host_names, read_chassis
from ovnguard.model.mesh import elide_tunnel_mesh, tunnel_rows
from ovnguard.model.ovs import ovs_external_id
from ovnguard.model.snapshot import HostState, IpAddress, IpLink, IpRoute, Snapshot
from ovnguard.record import record
from ovnguard.sources import safeio
from ovnguard.sources.inventory import BUNDLE_NAMES, bundle_inventory, management_addresses
from ovnguard.sources.iproute import read_addresses, read_links, read_routes
from ovnguard.sources.neutron_ini import read_neutron
from ovnguard.sources.ovsdb_file import LeaveOut, read_database

# What the model reads from each database (the simulation and the rules need no more). A
# bundle holds more (see SB_SKIP below); live collection and the guard read only these: on a
# large cloud ACLs, load balancers, logical flows and MAC bindings are most of the data and
# none of them changes which patch ports ovn-controller creates or whether a host stays
# reachable.
#
# Invariant (tested against the installed schemas): when a non-root table is kept, every
# column of a kept table that strongly references it is kept too. Otherwise the garbage
# collection in `Database.edit().commit()` would see the rows as unreferenced and delete
# them on the first simulated change.
NB_KEEP: Mapping[str, frozenset[str]] = MappingProxyType({
    # options: northd-wide switches (e.g. mac_prefix); *_cfg: how far the cluster caught up
    "NB_Global": frozenset({"name", "options", "external_ids", "nb_cfg", "sb_cfg", "hv_cfg"}),
    "Logical_Switch": frozenset({"name", "ports", "other_config", "external_ids"}),
    # type/options/addresses: localnet, router and VIF ports; tag/tag_request/parent_name:
    # VLAN on a localnet or a nested port; dynamic_addresses/port_security: address conflicts
    "Logical_Switch_Port": frozenset({
        "name", "type", "options", "addresses", "dynamic_addresses", "port_security",
        "enabled", "up", "parent_name", "tag", "tag_request", "ha_chassis_group",
        "external_ids",
    }),
    # options:chassis makes an l3gateway router, bound to one chassis
    "Logical_Router": frozenset({
        "name", "ports", "nat", "static_routes", "enabled", "options", "external_ids",
    }),
    # gateway_chassis/ha_chassis_group: where a distributed gateway port is realized
    "Logical_Router_Port": frozenset({
        "name", "mac", "networks", "peer", "enabled", "options", "gateway_chassis",
        "ha_chassis_group", "external_ids",
    }),
    "Gateway_Chassis": frozenset({"name", "chassis_name", "priority", "options",
                                  "external_ids"}),
    "HA_Chassis_Group": frozenset({"name", "ha_chassis", "external_ids"}),
    "HA_Chassis": frozenset({"chassis_name", "priority", "external_ids"}),
    # a distributed floating IP (logical_port + external_mac) makes the provider switch
    # local on the VM's chassis, not only on the gateway chassis
    "NAT": frozenset({
        "type", "logical_ip", "external_ip", "logical_port", "external_mac", "gateway_port",
        "options", "external_ids",
    }),
    "Logical_Router_Static_Route": frozenset({
        "ip_prefix", "nexthop", "output_port", "policy", "route_table", "options",
        "external_ids",
    }),
})

SB_KEEP: Mapping[str, frozenset[str]] = MappingProxyType({
    "SB_Global": frozenset({"nb_cfg", "options", "external_ids"}),
    # other_config:ovn-bridge-mappings is the copy ovn-controller publishes of the host's
    # OVS external_ids (external_ids before OVN 20.06)
    "Chassis": frozenset({"name", "hostname", "encaps", "other_config", "external_ids",
                          "transport_zones"}),
    "Chassis_Private": frozenset({"name", "chassis", "nb_cfg", "external_ids"}),
    "Encap": frozenset({"type", "ip", "chassis_name", "options"}),
    # chassis/requested_chassis/additional_chassis: where each port is (to be) bound, which
    # is what makes a datapath local to a chassis
    "Port_Binding": frozenset({
        "logical_port", "type", "options", "datapath", "tunnel_key", "parent_port", "tag",
        "chassis", "additional_chassis", "requested_chassis", "requested_additional_chassis",
        "ha_chassis_group", "mac", "nat_addresses", "up", "virtual_parent", "external_ids",
    }),
    "Datapath_Binding": frozenset({"tunnel_key", "external_ids"}),
    "HA_Chassis_Group": frozenset({"name", "ha_chassis", "ref_chassis", "external_ids"}),
    "HA_Chassis": frozenset({"chassis", "priority", "external_ids"}),
})

OVS_KEEP: Mapping[str, frozenset[str]] = MappingProxyType({
    # external_ids: system-id, hostname, ovn-bridge-mappings, ovn-encap-ip, ovn-remote
    "Open_vSwitch": frozenset({"bridges", "external_ids", "other_config", "ovs_version"}),
    # other_config:hwaddr pins the bridge MAC; fail_mode=secure without a controller
    # forwards nothing
    "Bridge": frozenset({
        "name", "ports", "fail_mode", "controller", "other_config", "datapath_type",
        "external_ids",
    }),
    "Port": frozenset({"name", "interfaces", "tag", "trunks", "vlan_mode", "bond_mode",
                       "external_ids"}),
    # external_ids:iface-id binds a VIF; options:peer pairs patch ports; mac_in_use feeds
    # the bridge-MAC rule; error says a NIC could not be opened
    "Interface": frozenset({
        "name", "type", "options", "external_ids", "mac_in_use", "mac", "ofport", "error",
        "link_state",
    }),
    "Controller": frozenset({"target", "is_connected"}),
})

# What a bundle holds in memory: every table and column of NB and of each conf.db, so that any
# command line of a change -- run by the real tools on a copy of the model's database
# (change/realtools.py) -- sees exactly the rows it would on the real cluster (ACLs, port
# groups, mirrors, fake bridges...). The SB keeps everything but what ovn-northd and
# ovn-controller derive in bulk and no command line edits (logical flows, learnt MACs).
# The *_KEEP sets above are what the model reads (live collection and the guard read only
# those).
SB_SKIP = frozenset({"Logical_Flow", "Logical_DP_Group", "MAC_Binding", "FDB"})

NB_NAME = "OVN_Northbound"
SB_NAME = "OVN_Southbound"
OVS_NAME = "Open_vSwitch"

# How to make each file, for error messages and notes (see docs/bundle.md).
MAKE = {
    "nb.db": "ovsdb-client backup unix:/var/run/ovn/ovnnb_db.sock OVN_Northbound > nb.db",
    "sb.db": "ovsdb-client backup unix:/var/run/ovn/ovnsb_db.sock OVN_Southbound > sb.db",
    "conf.db": "ovsdb-client backup unix:/var/run/openvswitch/db.sock Open_vSwitch > conf.db",
    "addr.json": "ip -j addr show > addr.json",
    "route.json": "ip -j route show table all > route.json",
    "link.json": "ip -j -d link show > link.json",
}

# What can no longer be checked when a host file is missing (one clause each).
_MISSING_HOST_FILE = {
    "conf.db": "OVS bridges, ports and bridge mappings of {host} not checked",
    "addr.json": "management addresses of {host} not known",
    "route.json": "control-plane path of {host} not checked",
    "link.json": "link types and bridge membership of {host} not checked",
}
# deployment.json: the host's deployment flavor (sources/flavors.py), read by `plan`
_HOST_FILES = (*_MISSING_HOST_FILE, "etc", "deployment.json")
_ROOT_ENTRIES = ("nb.db", "sb.db", "hosts", *BUNDLE_NAMES, "host_vars", "group_vars")


def read_db_file(path: Path, expected: str, keep: Mapping[str, Iterable[str]] | None,
                 skip: Iterable[str] = (), leave_out: LeaveOut | None = None) -> Database:
    """Read one OVSDB file and check it holds the database it should (`keep=None`: all)."""
    db = read_database(path, keep=None if keep is None else
                       {t: tuple(cs) for t, cs in keep.items()}, skip=frozenset(skip),
                       leave_out=leave_out)
    if db.name != expected:
        raise InputError(
            _(
                    "this file holds the {name} database, expected {expected} (make it with "
                    "`{get}`)").format(
                    name=db.name, expected=expected, get=MAKE.get(path.name, MAKE['conf.db'])),
            str(path),
        )
    return db


def read_conf_db(path: Path) -> Database:
    """A host's conf.db as a snapshot holds it: every table and column, but ovn-controller's
    tunnels to every other chassis, which stay in the file (model/mesh.py). States of a host
    compared with each other must all be read this way."""
    return without_tunnel_mesh(
        lambda leave_out: read_db_file(path, OVS_NAME, None, leave_out=leave_out))


def without_tunnel_mesh(read: Callable[[LeaveOut], Database], raw: bytes | None = None
                        ) -> Database:
    """What `read` (given a reader's `leave_out`) reads of a host's Open_vSwitch database,
    held without ovn-controller's tunnel ports; `raw`: the bytes read, where they came from
    no file (kept to read the rows left out again: change/realtools.py)."""
    unread: set[str] = set()

    def leave_out(tables: Mapping[str, Any]) -> set[str]:
        unread.update(tunnel_rows(tables))  # not even converted: ~70% of reading them
        return unread

    return elide_tunnel_mesh(read(leave_out), unread=unread, raw=raw)


@dataclass
class _HostDir:
    """What one hosts/<dir> holds, before it is matched to a chassis."""

    dirname: str
    label: str  # "hosts/<dir>", how notes name it
    ovs: Database | None = None
    addresses: tuple[IpAddress, ...] | None = None
    routes: tuple[IpRoute, ...] | None = None
    links: tuple[IpLink, ...] | None = None
    neutron: dict[str, Mapping[str, Mapping[str, str]]] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    deployment: str | None = None

    @property
    def system_id(self) -> str | None:
        return ovs_external_id(self.ovs, "system-id")


def _read_host_dir(d: Path) -> _HostDir:
    h = _HostDir(d.name, f"hosts/{d.name}")
    present = {p.name for p in safeio.list_dir(d)}
    f = d / "conf.db"
    if "conf.db" in present:
        h.ovs = read_conf_db(f)
        h.files["conf.db"] = str(f)
    for name, reader, attr in (
        ("addr.json", read_addresses, "addresses"),
        ("route.json", read_routes, "routes"),
        ("link.json", read_links, "links"),
    ):
        f = d / name
        if name in present:
            setattr(h, attr, reader(f))
            h.files[name] = str(f)
    h.missing = [n for n in _MISSING_HOST_FILE if n not in h.files]
    etc = d / "etc"
    if safeio.is_dir(etc / "neutron"):
        h.neutron, skipped = read_neutron(etc, f"{h.label}/etc")
        h.notes.extend(skipped)
        for rel in h.neutron:
            h.files[f"etc/{rel}"] = str(etc / rel)
    else:
        h.missing.append("etc/neutron")
    f = d / "deployment.json"
    if "deployment.json" in present:
        # optional: an unusable one is a note, never a failure of the check
        from ovnguard.sources.flavors import read_detection

        try:
            h.deployment = read_detection(safeio.read_bytes(f, limit=safeio.MiB),
                                          f"{h.label}/deployment.json").flavor
        except (InputError, OSError) as e:
            h.notes.append(f"{h.label}/deployment.json not used: {e}")
    ignored = sorted(n for n in present - set(_HOST_FILES) if not n.startswith("."))
    if ignored:
        h.notes.append(f"{h.label}: ignored unrecognised "
                       f"{'entry' if len(ignored) == 1 else 'entries'} {', '.join(ignored)}")
    return h


@record
class HostMatch:
    """Where one host directory went: the host key and the chassis it matched (if any)."""

    dirname: str
    host: str
    chassis: str | None  # SB Chassis name
    how: str  # "hostname" | "name" | "conf.db system-id" | "" (unmatched)


def match_hosts(
    dirs: Mapping[str, str | None], chassis: Iterable[Row]
) -> tuple[list[HostMatch], list[str]]:
    """Match host directories to SB Chassis rows.

    `dirs` maps each directory name to the system-id its conf.db declares (or None).
    Returns one HostMatch per directory and the notes (unmatched dirs, chassis without a
    directory, disagreements). Raises InputError when two directories are the same host.
    """
    rows = sorted(chassis, key=lambda r: str(r.get("name", "")))
    by_name = {str(r.get("name", "")): r for r in rows}
    by_hostname: dict[str, list[Row]] = {}
    for r in rows:
        hn = str(r.get("hostname", ""))
        if hn:
            by_hostname.setdefault(hn, []).append(r)

    matches: list[HostMatch] = []
    notes: list[str] = []
    for dirname in sorted(dirs):
        sysid = dirs[dirname]
        row: Row | None = None
        how = ""
        cands = by_hostname.get(dirname, [])
        if cands:
            how = "hostname"
            row = next((r for r in cands if r.get("name") == sysid), cands[0])
            if len(cands) > 1:
                names = ", ".join(str(r.get("name")) for r in cands)
                notes.append(
                    f"hosts/{dirname}: {len(cands)} SB Chassis have hostname {dirname} "
                    f"({names}); using {row.get('name')}"
                )
        elif dirname in by_name:
            row, how = by_name[dirname], "name"
        elif sysid and sysid in by_name:
            row, how = by_name[sysid], "conf.db system-id"
        if row is None:
            matches.append(HostMatch(dirname, dirname, None, ""))
            continue
        cname = str(row.get("name", ""))
        host = str(row.get("hostname", "")) or dirname
        if sysid and sysid != cname:
            notes.append(
                f"hosts/{dirname}/conf.db has system-id {sysid} but hosts/{dirname} is SB "
                f"Chassis {cname} (by {how}): the file may be from another host or the "
                "chassis record is stale"
            )
        matches.append(HostMatch(dirname, host, cname, how))

    seen: dict[str, str] = {}
    for m in matches:
        if m.host in seen:
            raise InputError(
                _(
                        "hosts/{seen} and hosts/{dirname} both describe host {host}; keep one "
                        "directory per host").format(
                        seen=seen[m.host], dirname=m.dirname, host=m.host),
                "hosts",
            )
        seen[m.host] = m.dirname
    return matches, notes


def load_bundle(path: str | Path) -> Snapshot:
    """Read the bundle at `path` (see docs/bundle.md) into a Snapshot."""
    root = Path(path)
    if not safeio.exists(root):
        raise InputError(_("no such bundle directory"), str(root))
    if not safeio.is_dir(root):
        raise InputError(_("not a directory (a bundle is a directory; unpack it first)"),
                         str(root))
    notes: list[str] = []

    nb_path = root / "nb.db"
    if not safeio.exists(nb_path):
        raise InputError(
            _(
                    "nb.db missing: a bundle needs at least the Northbound database "
                    "(`{MAKE}`)").format(
                    MAKE=MAKE['nb.db']),
            str(root),
        )
    nb = read_db_file(nb_path, NB_NAME, None)

    sb: Database | None = None
    sb_path = root / "sb.db"
    if safeio.exists(sb_path):
        sb = read_db_file(sb_path, SB_NAME, None, SB_SKIP)
    else:
        notes.append("sb.db missing: chassis, port bindings and gateway placement not "
                     "known, so host directories are not matched to chassis")

    # optional: an inventory that cannot be read is named in the notes, never fatal
    inventory: dict[str, str] | None = None
    inv, inv_name, inv_notes = bundle_inventory(root)
    notes.extend(inv_notes)
    named: set[str] = set()
    if inv is not None and inv_name is not None:
        inventory, dns_notes = management_addresses(inv, inv_name)
        notes.extend(dns_notes)
        named = {h.name for h in inv.hosts if not h.is_ip}

    hosts_dir = root / "hosts"
    host_dirs: list[_HostDir] = []
    if safeio.is_dir(hosts_dir):
        for d in safeio.list_dir(hosts_dir):
            if safeio.is_dir(d):
                host_dirs.append(_read_host_dir(d))
            else:
                notes.append(f"hosts/{d.name} is not a directory: ignored")
    else:
        notes.append("hosts/ missing: no host's OVS bridges, NICs, addresses or routes read")

    chassis = list(sb.rows("Chassis")) if sb is not None else []
    matches, match_notes = match_hosts({h.dirname: h.system_id for h in host_dirs}, chassis)
    by_dir = {h.dirname: h for h in host_dirs}

    hosts: dict[str, HostState] = {}
    per_host_notes: list[str] = []
    for m in matches:
        h = by_dir[m.dirname]
        if sb is not None and m.chassis is None:
            per_host_notes.append(
                f"{h.label} matches no SB Chassis (by hostname, name or conf.db system-id): "
                "ovn-controller on it is not connected or it is not a chassis"
            )
        elif m.how not in ("", "hostname"):
            per_host_notes.append(f"{h.label} is SB Chassis {m.chassis} (matched by "
                                  f"{m.how}), hostname {m.host}")
        for missing in h.missing:
            if missing == "etc/neutron":
                per_host_notes.append(f"{h.label}/etc/neutron missing: Neutron "
                                      f"configuration of {m.host} not checked")
            else:
                per_host_notes.append(f"{h.label}/{missing} missing: "
                                      + _MISSING_HOST_FILE[missing].format(host=m.host))
        per_host_notes.extend(h.notes)
        hosts[m.host] = HostState(
            name=m.host,
            ovs=h.ovs,
            addresses=h.addresses,
            routes=h.routes,
            links=h.links,
            neutron=MappingProxyType(h.neutron),
            files=MappingProxyType(dict(h.files)),
            deployment=h.deployment,
        )

    matched = {m.chassis for m in matches if m.chassis}
    per_host_notes.extend(add_chassis_hosts(hosts, sb, matched, "hosts/ directory"))

    if inventory is not None:
        per_host_notes.extend(_apply_inventory(inventory, hosts, chassis, inv_name or "",
                                               named))

    from ovnguard.sources.flavors import with_nb_flavor

    return with_nb_flavor(Snapshot(
        nb=nb,
        sb=sb,
        hosts=MappingProxyType(dict(sorted(hosts.items()))),
        source=str(root),
        notes=tuple([*notes, *match_notes, *per_host_notes, *_ignored_root(root)]),
    ))


def add_chassis_hosts(hosts: dict[str, HostState], sb: Database | None,
                      matched: Collection[str], what: str) -> list[str]:
    """Add every SB Chassis that no collected host matched as a host with nothing collected
    (named by hostname, then name), so the simulation predicts it from SB -- its reported
    ovn-bridge-mappings and the ports bound to it -- instead of leaving it out: on a control
    node with NB and SB only that is every chassis. Returns the notes saying so."""
    if sb is None:
        return []
    left = {n: c for n, c in read_chassis(sb).items() if n not in matched}
    named = chassis_host_names(left, taken=hosts)
    for host in named:
        hosts[host] = HostState(name=host)
    if not matched and named:
        # No host files at all (the control-node case): one line, not one per chassis.
        notes = [f"{len(named)} SB Chassis, no {what} for any: "
                 f"{', '.join(sorted(named))} predicted from SB alone"]
    else:
        notes = [f"SB Chassis {c.name} (hostname {c.hostname or '?'}) has no {what}: {host} "
                 "is predicted from SB alone" for host, c in sorted(named.items())]
    notes += [f"SB Chassis {c.name} has hostname {c.hostname}, which another chassis or host "
              f"already has (a stale record of a reinstalled node?): it is host {host}"
              for host, c in sorted(named.items()) if c.hostname and host != c.hostname]
    named_ids = {c.name for c in named.values()}
    for cname in sorted(set(left) - named_ids):
        notes.append(f"SB Chassis {cname} has no {what} and no hostname or name that is not "
                     "already a host's: it is not predicted")
    return notes


def _apply_inventory(
    inventory: Mapping[str, str], hosts: dict[str, HostState], chassis: Iterable[Row],
    name: str = "inventory.yaml", named: Iterable[str] = (),
) -> list[str]:
    """Attach inventory addresses to hosts (inventory keys may be hostnames or system-ids).
    `named`: hosts the inventory gives a DNS name for (already noted by the caller)."""
    notes: list[str] = []
    hostname_of = {str(r.get("name", "")): str(r.get("hostname", "")) for r in chassis}
    by_name = {*named, *(hostname_of.get(n) for n in named)}
    for key, addr in inventory.items():
        host = key if key in hosts else hostname_of.get(key) or key
        if host in hosts:
            hosts[host] = replace(hosts[host], inventory_address=addr)
        else:
            hosts[host] = HostState(name=host, inventory_address=addr)
            notes.append(f"{name} names {key} but hosts/{host} is missing: only "
                         "its management address is known")
    for host, hs in hosts.items():
        if hs.inventory_address is None and host not in by_name:
            notes.append(f"{name} has no address for {host}: its management "
                         "reachability not checked")
    return notes


def _ignored_root(root: Path) -> list[str]:
    # Dot files (an ovsdb lock file copied along, editor backups) are not worth a note.
    ignored = sorted(p.name for p in safeio.list_dir(root)
                     if p.name not in _ROOT_ENTRIES and not p.name.startswith("."))
    if not ignored:
        return []
    return [f"ignored unrecognised bundle {'entry' if len(ignored) == 1 else 'entries'} "
            f"{', '.join(ignored)}"]
