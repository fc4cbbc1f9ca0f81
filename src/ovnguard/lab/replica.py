"""A replica of a real cluster from its bundle: the bundle's NB, and one lab chassis per
bundle host built like that host, so real ovn-controller realizes what production would.

    plan = plan_replica("bundle/")          # reads the bundle, builds every command (no daemon)
    lab = start_replica(plan, run_dir)      # Lab.up with the NB file and per-host commands

What a chassis gets (from hosts/<host>/conf.db):
  * every bridge with fail_mode, other_config, external_ids, protocols, mcast snooping;
  * every port but the ones ovn-controller makes itself (patch ports with an `ovn-*`
    external_id, tunnels to other chassis): NICs, internal ports, VIFs (`iface-id`), hand-made
    patch ports, bonds, VLAN tags;
  * the Open_vSwitch external_ids (system-id, ovn-bridge-mappings, ovn-bridge, encap type,
    ovn-cms-options, ...), except that ovn-remote and ovn-encap-ip are the lab's.
Everything runs on the dummy datapath: datapath_type is dropped, NICs are dummy netdevs,
and whatever could reach a real address (controllers, managers, SSL, tunnels to remote IPs,
mirrors, NetFlow/sFlow/IPFIX) is left out and named in the notes.

A host directory without conf.db is rebuilt from sb.db: the bridges its SB Chassis maps
(`ovn-bridge-mappings`, without NICs: they are unknown), br-int, and one VIF per
Port_Binding bound to that chassis. Hosts are matched to SB chassis as the bundle reader does
(`sources.bundle.match_hosts`). The SB itself is not copied: ovn-northd rebuilds it from the
NB, and the lab's chassis register themselves (with the bundle's system-ids, so gateway
chassis and requested-chassis in the NB still name them).
"""

from __future__ import annotations

import ipaddress
import re
import shutil
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import field
from pathlib import Path

from pydantic import ValidationError

from ovnguard.errors import InputError, LabError
from ovnguard.i18n import _
from ovnguard.lab.commands import q
from ovnguard.lab.lab import Lab, Preload, ProgressFn
from ovnguard.lab.layout import NB_SCHEMA_CANDIDATES, first_existing
from ovnguard.lab.process import run
from ovnguard.lab.topology import Bridge, Host, Management, Topology
from ovnguard.model.db import Database, Row, Uuid, Value
from ovnguard.model.ovs import (
    INTEGRATION_BRIDGE,
    NIC_TYPES,
    OWNER_KEYS,
    TUNNEL_OWNER_KEY,
    TUNNEL_TYPES,
    ovs_external_id,
    smap,
)
from ovnguard.model.snapshot import HostState, Snapshot
from ovnguard.record import record
from ovnguard.simulation.mappings import KEY as MAPPINGS_KEY
from ovnguard.simulation.mappings import named_entries
from ovnguard.sources.bundle import OVS_NAME, load_bundle, match_hosts
from ovnguard.sources.ovsdb_file import read_database

# Port external_ids ovn-controller puts on what it creates (controller/patch.c, encaps.c).
OVN_PORT_KEYS = frozenset({*OWNER_KEYS, TUNNEL_OWNER_KEY})
# Runtime state ovn-controller writes back into OVS; the replica's own controller rewrites it.
_OVN_IFACE_KEYS = frozenset({"ovn-installed", "ovn-installed-ts"})
_OVN_BRIDGE_KEYS = frozenset({"ovn-nb-cfg", "ovn-nb-cfg-ts", "ovn-startup-ts"})
_OVN_BRIDGE_PREFIXES = ("ct-zone-",)
# Open_vSwitch external_ids the lab sets itself (identity and where SB / tunnels are).
_MANAGED = frozenset({"system-id", "hostname", "ovn-remote", "ovn-encap-ip"})
# Makes ovn-controller create br-int on another datapath; the replica is all dummy.
_DATAPATH_KEYS = frozenset({"ovn-bridge-datapath-type"})

# Interface types the lab's vswitchd (--enable-dummy=override) opens as they are.
_KEPT_TYPES = frozenset({"", "internal", "patch", "tap", "dummy", "dummy-internal", "dummy-pmd"})

_HOST_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")
_IF_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,14}$")

Command = tuple[str, ...]


@record
class ReplicaHost:
    name: str  # the bundle host (SB hostname), also the lab host name
    chassis: str  # system-id the lab chassis registers with
    based_on: str  # "conf.db" | "sb.db" | "nothing"
    commands: tuple[Command, ...]  # ovs-vsctl commands building its bridges and ports
    host: Host  # the lab topology entry (status, export)
    notes: tuple[str, ...] = ()


@record
class ReplicaPlan:
    bundle: Path
    nb_db: Path
    snapshot: Snapshot
    hosts: tuple[ReplicaHost, ...]
    notes: tuple[str, ...] = ()
    # SB Chassis the bundle knows but has no hosts/ directory for (not replicated).
    missing_chassis: tuple[str, ...] = field(default=())

    @property
    def topology(self) -> Topology:
        return Topology(hosts=[h.host for h in self.hosts])

    def host_commands(self) -> dict[str, tuple[Command, ...]]:
        return {h.name: h.commands for h in self.hosts}


# --- reading the bundle ----------------------------------------------------------------


def plan_replica(bundle_dir: str | Path) -> ReplicaPlan:
    """Read a bundle and build everything a replica needs; InputError for a bad bundle."""
    root = Path(bundle_dir)
    snapshot = load_bundle(root)
    hosts_dir = root / "hosts"
    dirs = sorted(d for d in hosts_dir.iterdir() if d.is_dir()) if hosts_dir.is_dir() else []
    if not dirs:
        raise InputError(
            _(
            "no hosts/<host>/ directory: a replica needs at least one host to build a chassis "
            "for"),
            str(root),
        )
    full: dict[str, Database | None] = {}
    for d in dirs:
        f = d / "conf.db"
        full[d.name] = _read_ovs(f) if f.is_file() else None
    sysids = {name: ovs_external_id(db, "system-id") for name, db in full.items()}
    chassis_rows = list(snapshot.sb.rows("Chassis")) if snapshot.sb is not None else []
    matches, _unmatched = match_hosts(sysids, chassis_rows)
    by_name = {str(r.get("name", "")): r for r in chassis_rows}

    hosts: list[ReplicaHost] = []
    for m in matches:
        if not _HOST_NAME.match(m.host):
            raise InputError(
                _(
                "host name {host} cannot name a lab chassis (letters, digits, '.', '_', '-'; "
                "at most 63)").format(
                host=repr(m.host)),
                str(hosts_dir / m.dirname),
            )
        chassis_row = by_name.get(m.chassis) if m.chassis else None
        state = snapshot.hosts.get(m.host)
        ovs = full[m.dirname]
        if ovs is not None:
            hosts.append(_from_conf_db(m.host, ovs, chassis_row, state))
        else:
            hosts.append(_from_sb(m.host, snapshot.sb, chassis_row, state))
    chassis_ids = [h.chassis for h in hosts]
    dupes = sorted({c for c in chassis_ids if chassis_ids.count(c) > 1})
    if dupes:
        raise InputError(
            _(
            "two host directories declare the same system-id {value}; a replica needs one "
            "chassis per host").format(
            value=dupes[0]),
            str(hosts_dir),
        )
    matched = {m.chassis for m in matches if m.chassis}
    missing = tuple(
        sorted(
            str(r.get("hostname", "")) or str(r.get("name", ""))
            for r in chassis_rows
            if str(r.get("name", "")) not in matched
        )
    )
    notes: list[str] = []
    if snapshot.sb is None:
        notes.append(
            "sb.db missing: hosts are named after their directories and hosts without "
            "conf.db get only br-int"
        )
    if missing:
        notes.append(
            f"SB Chassis without a hosts/ directory are not in the replica: {', '.join(missing)}"
        )
    return ReplicaPlan(root, root / "nb.db", snapshot, tuple(hosts), tuple(notes), missing)


def _read_ovs(path: Path) -> Database:
    db = read_database(path)
    if db.name != OVS_NAME:
        raise InputError(_(
            "this file holds the {name} database, expected {OVS_NAME}").format(
            name=db.name, OVS_NAME=OVS_NAME), str(path))
    return db


# --- one host from its conf.db ---------------------------------------------------------


def _from_conf_db(
    name: str, ovs: Database, chassis_row: Row | None, state: HostState | None
) -> ReplicaHost:
    notes: list[str] = []
    root = next(iter(ovs.rows("Open_vSwitch")), None)
    ext = {str(k): str(v) for k, v in root.map("external_ids").items()} if root else {}
    sysid = ext.get("system-id") or (str(chassis_row.get("name")) if chassis_row else name)
    if not _HOST_NAME.match(sysid):
        raise InputError(_(
            "system-id {sysid} of host {name} cannot name a lab chassis").format(
            sysid=repr(sysid), name=name), name)
    copied = _copied_external_ids(ext, sysid, notes, name)
    if root is not None:
        other = sorted(
            str(k)
            for k in root.map("other_config")
            if not str(k).startswith("ovn-chassis-idx-") and k != "vlan-limit"
        )
        if other:
            notes.append(f"{name}: Open_vSwitch other_config not replicated ({', '.join(other)})")
        if root.set("manager_options") or root.opt("ssl") is not None:
            notes.append(
                f"{name}: OVSDB managers / SSL not replicated (the lab never "
                "connects to a real address)"
            )

    cmds: list[Command] = []
    port_cmds: list[Command] = []
    topo_bridges: list[Bridge | None] = []
    counter = 0
    bridges = sorted(ovs.rows("Bridge"), key=lambda r: r.name)
    for br in bridges:
        settings = _bridge_settings(ovs, br, notes, name)
        cmds.append(("add-br", br.name))
        if settings:
            cmds.append(("set", "Bridge", br.name, *settings))
        nics: list[str] = []
        for prow in sorted(_refs(ovs, "Port", br.set("ports")), key=lambda r: r.name):
            if prow.name == br.name:
                continue  # the bridge's local port, made by add-br
            made = _port_commands(ovs, br.name, prow, counter, notes, name)
            if made is None:
                continue
            counter += 1
            port_cmds.extend(made[0])
            nics.extend(made[1])
        topo_bridges.append(_topo_bridge(br, nics))
    host = _topo_host(
        name, sysid, topo_bridges, copied.get("ovn-bridge-mappings", ""), state, notes
    )
    cmds.extend(port_cmds)
    if copied:
        cmds.append(("set", "Open_vSwitch", ".", *_map_args("external_ids", copied)))
    return ReplicaHost(name, sysid, "conf.db", tuple(cmds), host, tuple(notes))


def _copied_external_ids(
    ext: Mapping[str, str], sysid: str, notes: list[str], host: str
) -> dict[str, str]:
    out: dict[str, str] = {}
    dropped: list[str] = []
    for k, v in sorted(ext.items()):
        base = k[: -len(sysid) - 1] if k.endswith("-" + sysid) else k
        if base in _MANAGED:
            continue
        if base in _DATAPATH_KEYS:
            dropped.append(k)
            continue
        out[k] = v
    if dropped:
        notes.append(
            f"{host}: {', '.join(dropped)} dropped (the replica runs on the dummy datapath)"
        )
    return out


def _bridge_settings(ovs: Database, br: Row, notes: list[str], host: str) -> list[str]:
    out: list[str] = []
    fail_mode = br.opt("fail_mode")
    if fail_mode:
        out.append(f"fail_mode={fail_mode}")
    out += _map_args("other_config", smap(br, "other_config"))
    ext = {
        k: v
        for k, v in smap(br, "external_ids").items()
        if k not in _OVN_BRIDGE_KEYS and not k.startswith(_OVN_BRIDGE_PREFIXES)
    }
    out += _map_args("external_ids", ext)
    protocols = [str(p) for p in br.set("protocols")]
    if protocols:
        out.append("protocols=" + ",".join(protocols))
    if br.get("mcast_snooping_enable") is True:
        out.append("mcast_snooping_enable=true")
    skipped = [c for c in ("controller", "mirrors", "netflow", "sflow", "ipfix") if br.set(c)]
    if br.get("stp_enable") is True or br.get("rstp_enable") is True:
        skipped.append("stp/rstp")
    if skipped:
        what = ", ".join(skipped)
        notes.append(
            f"{host}: bridge {br.name}: {what} not replicated"
            + (
                " (fail_mode=secure: in production a controller may program it)"
                if "controller" in skipped and fail_mode == "secure"
                else ""
            )
        )
    dpt = br.get("datapath_type")
    if dpt not in (None, "", "system"):
        notes.append(
            f"{host}: bridge {br.name}: datapath_type={dpt} replaced by the lab's dummy datapath"
        )
    return out


def _port_commands(
    ovs: Database, bridge: str, prow: Row, k: int, notes: list[str], host: str
) -> tuple[list[Command], list[str]] | None:
    """`create` commands for one port and its interfaces, and the NIC names among them;
    None when the port is not replicated."""
    ext = smap(prow, "external_ids")
    if OVN_PORT_KEYS & ext.keys():
        return None  # ovn-controller's own: it must make them in the replica itself
    ifaces = sorted(_refs(ovs, "Interface", prow.set("interfaces")), key=lambda r: r.name)
    if not ifaces:
        return None
    if prow.get("fake_bridge") is True:
        notes.append(f"{host}: fake bridge {prow.name} not replicated")
        return None
    cmds: list[Command] = []
    ids: list[str] = []
    nics: list[str] = []
    for j, irow in enumerate(ifaces):
        itype = str(irow.get("type") or "")
        if itype in TUNNEL_TYPES:
            remote = smap(irow, "options").get("remote_ip", "?")
            notes.append(
                f"{host}: {itype} port {irow.name} (remote_ip {remote}) on {bridge} not replicated"
            )
            return None
        new_type = itype
        if itype not in _KEPT_TYPES:
            new_type = "" if itype in NIC_TYPES else "internal"
            notes.append(
                f"{host}: interface {irow.name} of type {itype!r} replicated as "
                f"{new_type or 'system'!r}"
            )
        if itype in NIC_TYPES:
            nics.append(irow.name)
        ref = f"@i{k}_{j}"
        ids.append(ref)
        cols = [f"name={q(irow.name)}"]
        if new_type:
            cols.append(f"type={new_type}")
        if new_type == "patch":
            cols += _map_args("options", smap(irow, "options"))
        iext = {a: b for a, b in smap(irow, "external_ids").items() if a not in _OVN_IFACE_KEYS}
        cols += _map_args("external_ids", iext)
        for col in ("mac", "mtu_request", "ofport_request"):
            v = irow.opt(col)
            if v is not None and v != "":
                cols.append(f"{col}={_atom(v)}")
        cmds.append((f"--id={ref}", "create", "Interface", *cols))
    pcols = [f"name={q(prow.name)}", "interfaces=[" + ",".join(ids) + "]"]
    tag = prow.opt("tag")
    if tag is not None:
        pcols.append(f"tag={tag}")
    trunks = prow.set("trunks")
    if trunks:
        pcols.append("trunks=[" + ",".join(str(t) for t in trunks) + "]")
    for col in ("vlan_mode", "bond_mode", "lacp"):
        v = prow.opt(col)
        if v:
            pcols.append(f"{col}={v}")
    pcols += _map_args("external_ids", ext)
    pcols += _map_args("other_config", smap(prow, "other_config"))
    cmds.append((f"--id=@p{k}", "create", "Port", *pcols))
    cmds.append(("add", "Bridge", bridge, "ports", f"@p{k}"))
    return cmds, nics


def _topo_bridge(br: Row, nics: list[str]) -> Bridge | None:
    """The bridge as the lab topology records it (lab status, lab export): its NICs.
    None for a name the topology cannot hold (the bridge itself is still replicated)."""
    mode = br.opt("fail_mode")
    try:
        return Bridge(
            name=br.name,
            ports=[n for n in nics if _IF_NAME.match(n)],
            other_config=smap(br, "other_config"),
            fail_mode="secure" if mode == "secure" else "standalone" if mode else None,
        )
    except ValidationError:
        return None


def _topo_host(
    name: str,
    sysid: str,
    bridges: list[Bridge | None],
    mappings: str,
    state: HostState | None,
    notes: list[str],
) -> Host:
    valid = [b for b in bridges if b is not None]
    mgmt, extra_nics = _management(name, valid, state, notes)
    try:
        return Host(
            name=name,
            system_id=sysid if sysid != name else None,
            bridges=valid,
            nics=extra_nics,
            bridge_mappings=mappings,
            management=mgmt,
        )
    except ValidationError as e:
        raise InputError(_(
            "host {name}: {msg}").format(
            name=name, msg=e.errors()[0]['msg']), name) from None


def _management(
    name: str, bridges: list[Bridge], state: HostState | None, notes: list[str]
) -> tuple[Management | None, list[str]]:
    """The management address (inventory.yaml) on the interface addr.json shows it on."""
    if state is None or state.inventory_address is None or state.addresses is None:
        return None, []
    found = next((a for a in state.addresses if a.address == state.inventory_address), None)
    if found is None or found.family != "inet":
        return None, []
    known = {b.name for b in bridges} | {p for b in bridges for p in b.ports}
    nics: list[str] = []
    if found.ifname not in known:
        if not _IF_NAME.match(found.ifname):
            return None, []
        nics.append(found.ifname)
    gateway = None
    for r in state.routes or ():
        if r.dst == "default" and r.table == "main" and r.gateway and r.family != "inet6":
            try:
                gateway = ipaddress.IPv4Address(r.gateway)
            except ValueError:
                continue
            break
    try:
        mgmt = Management(
            address=ipaddress.IPv4Interface(found.cidr),
            interface=found.ifname,
            gateway=gateway,
        )
    except (ValidationError, ValueError):
        notes.append(f"{name}: management address {found.cidr} not usable in the lab")
        return None, []
    return mgmt, nics


# --- one host from sb.db ---------------------------------------------------------------


def _from_sb(
    name: str, sb: Database | None, chassis_row: Row | None, state: HostState | None
) -> ReplicaHost:
    notes: list[str] = []
    if chassis_row is None or sb is None:
        notes.append(
            f"{name}: no conf.db and no SB Chassis: only br-int (no bridges, NICs, "
            "VIFs or mappings known)"
        )
        cmds: list[Command] = [("add-br", INTEGRATION_BRIDGE), *_br_int_defaults()]
        host = _topo_host(name, name, [], "", state, notes)
        return ReplicaHost(name, name, "nothing", tuple(cmds), host, tuple(notes))
    sysid = str(chassis_row.get("name", "")) or name
    if not _HOST_NAME.match(sysid):
        raise InputError(
            _(
            "SB Chassis name {sysid} of host {name} cannot name a lab chassis").format(
            sysid=repr(sysid), name=name), name
        )
    other = smap(chassis_row, "other_config")
    ext = smap(chassis_row, "external_ids")
    mappings = other.get(MAPPINGS_KEY, ext.get(MAPPINGS_KEY, ""))
    notes.append(
        f"{name}: no conf.db; rebuilt from SB Chassis {sysid}: bridges of "
        f"ovn-bridge-mappings {mappings!r} without NICs, and the VIFs bound there"
    )
    bridges = sorted(
        {b.strip() for _, b in named_entries(mappings) if b.strip()}
        - {INTEGRATION_BRIDGE}
    )
    cmds = [("add-br", INTEGRATION_BRIDGE), *_br_int_defaults()]
    for b in bridges:
        cmds.append(("add-br", b))
    k = 0
    for pb in sorted(sb.rows("Port_Binding"), key=lambda r: str(r.get("logical_port", ""))):
        if pb.get("type", "") != "" or pb.opt("chassis") != chassis_row.uuid:
            continue
        lport = str(pb.get("logical_port", ""))
        iface = "tap" + lport[:11]
        ids = {"iface-id": lport, "iface-status": "active"}
        mac = _first_mac(pb.set("mac"))
        if mac:
            ids["attached-mac"] = mac
        cmds += [
            (
                f"--id=@i{k}",
                "create",
                "Interface",
                f"name={q(iface)}",
                "type=internal",
                *_map_args("external_ids", ids),
            ),
            (f"--id=@p{k}", "create", "Port", f"name={q(iface)}", f"interfaces=@i{k}"),
            ("add", "Bridge", INTEGRATION_BRIDGE, "ports", f"@p{k}"),
        ]
        k += 1
    encap_types = sorted(
        {str(e.get("type", "")) for e in _refs(sb, "Encap", chassis_row.set("encaps"))}
    )
    ovs_ext = {"ovn-encap-type": ",".join(t for t in encap_types if t) or "geneve"}
    if mappings:
        ovs_ext["ovn-bridge-mappings"] = mappings
    for key in ("ovn-cms-options", "ovn-chassis-mac-mappings"):
        v = other.get(key, ext.get(key))
        if v:
            ovs_ext[key] = v
    cmds.append(("set", "Open_vSwitch", ".", *_map_args("external_ids", ovs_ext)))
    host = _topo_host(name, sysid, [_named_bridge(b) for b in bridges], mappings, state, notes)
    return ReplicaHost(name, sysid, "sb.db", tuple(cmds), host, tuple(notes))


def _named_bridge(name: str) -> Bridge | None:
    try:
        return Bridge(name=name)
    except ValidationError:
        return None


def _br_int_defaults() -> list[Command]:
    # What ovn-controller gives a br-int it creates itself.
    return [
        (
            "set",
            "Bridge",
            INTEGRATION_BRIDGE,
            "fail_mode=secure",
            'other_config:disable-in-band="true"',
        )
    ]


def _first_mac(addresses: Iterable[Value]) -> str | None:
    for a in addresses:
        first = str(a).split()[0] if str(a).split() else ""
        if first.count(":") == 5:
            return first
    return None


# --- small helpers ---------------------------------------------------------------------


def _refs(db: Database, table: str, uuids: Iterable[Value]) -> list[Row]:
    rows = (db.row(table, str(u)) for u in uuids)
    return [r for r in rows if r is not None]


def _map_args(column: str, values: Mapping[str, str]) -> list[str]:
    return [f"{column}:{q(k)}={q(v)}" for k, v in sorted(values.items())]


def _atom(v: object) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float | Uuid):
        return str(v)
    return q(str(v))


# --- starting it -----------------------------------------------------------------------

# Applied before ovn-northd starts: the bundle's counters belong to another cluster's chassis;
# from 0, `ovn-nbctl --wait=hv sync` waits for the lab's chassis and nothing else.
RESET_NB_CFG: tuple[Command, ...] = (("set", "NB_Global", ".", "nb_cfg=0", "sb_cfg=0", "hv_cfg=0"),)


def start_replica(
    plan: ReplicaPlan,
    run_dir: str | Path | None = None,
    *,
    timeout: float = 60.0,
    progress: ProgressFn | None = None,
) -> Lab:
    """Start the lab the plan describes (LabError if it cannot)."""
    schema = first_existing(NB_SCHEMA_CANDIDATES)
    if schema is None:
        raise LabError(_(
            "{value} not found: install ovn-central").format(
            value=NB_SCHEMA_CANDIDATES[0]))
    with tempfile.TemporaryDirectory(prefix="ovnguard-replica-") as tmp:
        nb = _nb_in_installed_schema(plan.nb_db, schema, Path(tmp))
        preload = Preload(nb_db=nb, nb_commands=RESET_NB_CFG, host_commands=plan.host_commands())
        return Lab.up(plan.topology, run_dir, timeout=timeout, progress=progress, preload=preload)


def lab_from_bundle(
    bundle_dir: str | Path,
    run_dir: str | Path | None = None,
    *,
    timeout: float = 60.0,
    progress: ProgressFn | None = None,
) -> Lab:
    """A replica of the cluster a bundle describes: its NB, and one chassis per bundle host
    with that host's bridges, NICs, VIFs and external_ids."""
    return start_replica(plan_replica(bundle_dir), run_dir, timeout=timeout, progress=progress)


def _nb_in_installed_schema(nb: Path, schema: str, tmp: Path) -> Path:
    """The bundle's NB as the installed ovsdb-server and ovn-northd expect it: converted when
    it was written by another OVN version."""
    db_version = run(["ovsdb-tool", "db-version", str(nb)]).strip()
    want = run(["ovsdb-tool", "schema-version", schema]).strip()
    if db_version == want:
        return nb
    out = tmp / "nb.db"
    shutil.copyfile(nb, out)
    try:
        run(["ovsdb-tool", "convert", str(out), schema])
    except LabError as e:
        raise LabError(
            _(
            "{nb}: NB schema {db_version} cannot be converted to the installed OVN's {want}: "
            "{e}").format(
            nb=nb, db_version=db_version, want=want, e=e)
        ) from None
    return out


__all__ = [
    "OVN_PORT_KEYS",
    "ReplicaHost",
    "ReplicaPlan",
    "lab_from_bundle",
    "plan_replica",
    "start_replica",
]
