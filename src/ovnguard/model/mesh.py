"""ovn-controller's tunnel mesh on a host: counted, not held.

Every chassis has a tunnel port to every other chassis it shares a transport zone with
(controller/encaps.c: a Port named `ovn-<first 6 of the chassis name>-<n>` carrying
external_ids:ovn-chassis-id="<chassis>@<remote ip>", one Interface of the encap type with
options:remote_ip). On 1,000 chassis that is a million Port and a million Interface rows
across the hosts' conf.db -- ~2 KB a tunnel in memory, 2 of the 2.3 GB a check of 1,000
hosts x 20 VIFs took -- while nothing ovnguard predicts reads them: ovn-controller makes and
deletes them from SB Chassis/Encap rows, they carry no iface-id, no NIC, no patch, and BFD
peers come from SB (simulation/bfd.py). So a bundle's conf.db is held without them
(`elide_tunnel_mesh`) and the views count them per bridge; a real tool that runs a line on a
host gets every row back first (`with_tunnel_mesh`, the file is read again:
change/realtools.py), and what it returns is held without them again.

A reader does not even convert them (`tunnel_rows`, given to
`sources.ovsdb_file.read_database` / `parse_database` as `leave_out`; a bundle's files and
`check --live`'s collected bytes alike: sources/bundle.without_tunnel_mesh). Pure: the caller
reads the file.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from functools import cache
from types import MappingProxyType
from typing import Any

from ovnguard.model.db import Database, Elided, Row, RowChange, Uuid
from ovnguard.model.ovs import TUNNEL_OWNER_KEY, TUNNEL_TYPES, json_smap, json_uuids

RULE = "ovn-controller tunnel ports"


def is_tunnel_port(port: Row, interfaces: Iterable[Row | None]) -> bool:
    """A Port ovn-controller made as a tunnel to another chassis: its external_ids name the
    chassis (encaps.c `tunnel_add`) and each of its interfaces is a tunnel."""
    if TUNNEL_OWNER_KEY not in port.map("external_ids"):
        return False
    ifaces = list(interfaces)
    return bool(ifaces) and all(i is not None and i.get("type") in TUNNEL_TYPES
                                for i in ifaces)


def tunnel_rows(tables: Mapping[str, Any]) -> set[str]:
    """`is_tunnel_port` on tables as a file writes them ({table: its JSON text}, RFC 7047
    notation): the uuids of the tunnel ports and their interfaces, for a reader to leave
    unread (`sources.ovsdb_file.read_database(leave_out=...)`). Of the Port and Interface
    rows only the columns the rule reads are decoded; a port this misses is still held
    apart after the read (`elide_tunnel_mesh`)."""
    ports_text, ifaces_text = tables.get("Port"), tables.get("Interface")
    if ports_text is None or ifaces_text is None or \
            TUNNEL_OWNER_KEY.encode() not in bytes(ports_text):
        return set()
    import msgspec  # a bundle's reader has it loaded already; start-up does not pay it

    port_table, iface_table = _decoders()
    try:
        ports, ifaces = port_table(ports_text), iface_table(ifaces_text)
    except msgspec.MsgspecError:
        return set()  # not what ovsdb writes: let the reader read it all and say so
    out: set[str] = set()
    for u, (ext, interfaces) in ports.items():
        if TUNNEL_OWNER_KEY not in json_smap(ext):
            continue
        ius = json_uuids(interfaces)
        if ius and all(_is_tunnel_type(ifaces.get(i)) for i in ius):
            out.add(u)
            out.update(ius)
    return out


def _is_tunnel_type(t: Any) -> bool:
    return isinstance(t, str) and t in TUNNEL_TYPES


@cache
def _decoders() -> tuple[Any, Any]:
    """Decoders of a Port table's text into {uuid: (external_ids, interfaces)} and an
    Interface table's into {uuid: type}, the rest of each row skipped unbuilt."""
    import msgspec

    class PortColumns(msgspec.Struct):
        external_ids: Any = None
        interfaces: Any = None

    class InterfaceColumns(msgspec.Struct):
        type: Any = ""

    port = msgspec.json.Decoder(dict[str, PortColumns])
    iface = msgspec.json.Decoder(dict[str, InterfaceColumns])

    def port_table(text: bytes) -> dict[str, tuple[Any, Any]]:
        return {u: (p.external_ids, p.interfaces) for u, p in port.decode(text).items()}

    def iface_table(text: bytes) -> dict[str, Any]:
        return {u: i.type for u, i in iface.decode(text).items()}

    return port_table, iface_table


def _tunnels(db: Database) -> dict[Uuid, tuple[Uuid, ...]]:
    """Tunnel port uuid -> its interface uuids."""
    out: dict[Uuid, tuple[Uuid, ...]] = {}
    ifaces = db.tables.get("Interface", {})
    for p in db.rows("Port"):
        ius = tuple(u for u in p.set("interfaces") if isinstance(u, Uuid))
        if is_tunnel_port(p, (ifaces.get(u) for u in ius)):
            out[p.uuid] = ius
    return out


def elide_tunnel_mesh(db: Database, before: Database | None = None,
                      changes: Iterable[RowChange] = (), unread: Collection[str] = (),
                      raw: bytes | None = None) -> Database:
    """`db` without ovn-controller's tunnel ports and their interfaces (the bridges' `ports`
    no longer name them), with their count per bridge in `db.elided`; `db` itself when it
    has none. `unread`: the rows its reader already left out (`tunnel_rows`). After a real
    tool ran a line on the whole database: `before` is the model before the line and
    `changes` what the line did, so that `Elided.changes` keeps what it did to the rows left
    out (`diff` reports them). `raw`: the bytes `db` was read from, where it came from no
    file (the rows left out are read again from them; kept from `before`)."""
    tunnels = _tunnels(db)
    apart = _held_apart(db, tunnels, before, changes) if before is not None else ()
    if before is not None and before.elided is not None:
        apart = (*before.elided.changes, *apart)
        raw = raw if raw is not None else before.elided.raw
    if not tunnels and not apart and not unread:
        return db
    counts: dict[str, int] = {}
    bridges = dict(db.tables.get("Bridge", {}))
    for u, br in bridges.items():
        ports = br.set("ports")
        kept = tuple(p for p in ports if p not in tunnels and p not in unread)
        if len(kept) != len(ports):
            counts[br.name] = len(ports) - len(kept)
            bridges[u] = Row("Bridge", u, {**br.data, "ports": kept})
    gone_ifaces = {i for ius in tunnels.values() for i in ius}
    tables = dict(db.tables)
    tables["Bridge"] = MappingProxyType(bridges)
    tables["Port"] = MappingProxyType(
        {u: r for u, r in db.tables.get("Port", {}).items() if u not in tunnels})
    tables["Interface"] = MappingProxyType(
        {u: r for u, r in db.tables.get("Interface", {}).items() if u not in gone_ifaces})
    return Database(db.schema, MappingProxyType(tables), db.source,
                    Elided(RULE, MappingProxyType(counts), apart, raw))


def _held_apart(whole: Database, tunnels: Mapping[Uuid, tuple[Uuid, ...]], before: Database,
                changes: Iterable[RowChange]) -> tuple[RowChange, ...]:
    """The `changes` to rows held neither by `before` nor after the line (a tunnel port or
    its interface now, or before the line for one deleted)."""
    now = {*tunnels, *(i for ius in tunnels.values() for i in ius)}
    out = []
    for c in changes:
        if c.table not in ("Port", "Interface"):
            continue
        if c.kind == "delete":
            apart = c.uuid not in before.tables.get(c.table, {})
        else:
            apart = c.uuid in now
        if apart:
            out.append(c)
    return tuple(out)


def with_tunnel_mesh(db: Database, whole: Database) -> Database:
    """`db` (held without its tunnel mesh, maybe changed since) with the tunnel ports of
    `whole` -- the same file read with every row -- put back on the bridges that still hold
    them: what a real tool must be given to act exactly as on the host."""
    if db.elided is None or db.elided.rule != RULE:
        return db
    tunnels = _tunnels(whole)
    tables = dict(db.tables)
    bridges = dict(tables.get("Bridge", {}))
    ports = dict(tables.get("Port", {}))
    ifaces = dict(tables.get("Interface", {}))
    whole_ifaces = whole.tables.get("Interface", {})
    for u, wbr in whole.tables.get("Bridge", {}).items():
        br = bridges.get(u)
        back = [p for p in wbr.set("ports")
                if isinstance(p, Uuid) and p in tunnels and p not in ports]
        if br is None or not back:
            continue  # a bridge deleted since: its tunnels went with it
        bridges[u] = Row("Bridge", u, {**br.data,
                                       "ports": tuple(sorted({*br.set("ports"), *back}))})
        for p in back:
            ports[p] = whole.tables["Port"][p]
            for i in tunnels[p]:
                ifaces[i] = whole_ifaces[i]
    tables.update(Bridge=MappingProxyType(bridges), Port=MappingProxyType(ports),
                  Interface=MappingProxyType(ifaces))
    return Database(db.schema, MappingProxyType(tables), db.source)


def tunnel_counts(db: Database) -> Mapping[str, int]:
    """Bridge name -> ovn-controller tunnel ports on it, held or not."""
    out = dict(db.elided.counts) if db.elided is not None and db.elided.rule == RULE else {}
    held = _tunnels(db)
    if held:
        for br in db.rows("Bridge"):
            n = sum(1 for p in br.set("ports") if p in held)
            if n:
                out[br.name] = out.get(br.name, 0) + n
    return out
