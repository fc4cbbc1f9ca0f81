"""Typed, read-only views of OVN Northbound and Southbound databases.

The generic `Database` is the single source of truth; these views are derived from it on
demand (pure functions, no I/O) so that simulation and rules can speak of switches, ports,
routers and chassis instead of rows. Nothing here interprets what ovn-northd or
ovn-controller would do with the rows -- that is `ovnguard.simulation`.

Logical_Switch and Logical_Router names are not unique in NB (only ports, Gateway_Chassis and
HA_Chassis_Group have a name index), so datapaths are keyed by row uuid and carry their name.
"""

from __future__ import annotations

import weakref
from collections.abc import Collection, Iterator, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import field
from functools import cached_property
from types import MappingProxyType
from typing import Any, TypeVar

from ovnguard.model.db import Database, Row, differing, thawed
from ovnguard.model.ovs import frozen_smap
from ovnguard.record import record

T = TypeVar("T")

_EMPTY: Mapping[str, str] = MappingProxyType({})


def _empty() -> Mapping[str, str]:
    return _EMPTY


def _opt_str(row: Row, column: str) -> str | None:
    v = row.opt(column)
    return None if v is None else str(v)


def _opt_int(row: Row, column: str) -> int | None:
    v = row.opt(column)
    return v if isinstance(v, int) and not isinstance(v, bool) else None


def _opt_bool(row: Row, column: str) -> bool | None:
    v = row.opt(column)
    return v if isinstance(v, bool) else None


def _strs(row: Row, column: str) -> tuple[str, ...]:
    return tuple(str(v) for v in row.set(column))


@record(slots=True)
class HaChassis:
    chassis_name: str
    priority: int


@record(slots=True)
class HaChassisGroup:
    name: str
    uuid: str
    members: tuple[HaChassis, ...]  # sorted by priority, highest first

    def contains(self, chassis_name: str) -> bool:
        return any(m.chassis_name == chassis_name for m in self.members)


@record(slots=True)
class GatewayChassis:
    name: str  # the Gateway_Chassis row name, "<lrp>-<chassis>" when made by ovn-nbctl
    chassis_name: str
    priority: int


@record(slots=True)
class SwitchPort:
    name: str
    uuid: str
    switch: str  # switch name
    switch_uuid: str
    type: str = ""
    options: Mapping[str, str] = field(default_factory=_empty)
    addresses: tuple[str, ...] = ()
    enabled: bool | None = None  # None = unset (enabled)
    parent_name: str | None = None
    tag: int | None = None
    tag_request: int | None = None
    external_ids: Mapping[str, str] = field(default_factory=_empty)
    ha_chassis_group: HaChassisGroup | None = None

    @property
    def network_name(self) -> str | None:
        return self.options.get("network_name")

    @property
    def router_port(self) -> str | None:
        return self.options.get("router-port")


@record(slots=True)
class Switch:
    name: str
    uuid: str
    ports: tuple[str, ...]  # port names, sorted
    other_config: Mapping[str, str] = field(default_factory=_empty)
    external_ids: Mapping[str, str] = field(default_factory=_empty)


@record(slots=True)
class Nat:
    uuid: str
    router: str
    type: str  # "snat" | "dnat" | "dnat_and_snat"
    external_ip: str
    logical_ip: str
    logical_port: str | None = None
    external_mac: str | None = None
    gateway_port: str | None = None  # LRP name


@record(slots=True)
class RouterPort:
    name: str
    uuid: str
    router: str
    router_uuid: str
    mac: str
    networks: tuple[str, ...] = ()
    peer: str | None = None  # the LRP `peer` column (router-to-router)
    enabled: bool | None = None
    options: Mapping[str, str] = field(default_factory=_empty)
    external_ids: Mapping[str, str] = field(default_factory=_empty)
    gateway_chassis: tuple[GatewayChassis, ...] = ()  # highest priority first
    ha_chassis_group: HaChassisGroup | None = None

    @property
    def is_gateway_port(self) -> bool:
        """Configured as a distributed gateway port (northd then also needs a router
        without options:chassis to make `cr-<name>`)."""
        return bool(self.gateway_chassis) or self.ha_chassis_group is not None


@record(slots=True)
class Router:
    name: str
    uuid: str
    ports: tuple[str, ...]
    options: Mapping[str, str] = field(default_factory=_empty)
    enabled: bool | None = None
    nat: tuple[Nat, ...] = ()
    external_ids: Mapping[str, str] = field(default_factory=_empty)

    @property
    def chassis(self) -> str | None:
        """options:chassis makes this a gateway (l3gateway) router pinned to a chassis."""
        return self.options.get("chassis")


@record
class LogicalTopology:
    """Switches, routers and their ports from one NB database."""

    switches: Mapping[str, Switch]  # uuid -> switch
    routers: Mapping[str, Router]  # uuid -> router
    switch_ports: Mapping[str, SwitchPort]  # name -> port
    router_ports: Mapping[str, RouterPort]  # name -> port
    source: str = ""
    # Ports (LSP/LRP) referenced by more than one datapath: northd keeps one and warns.
    duplicate_ports: tuple[str, ...] = ()
    # What it was read from, for `from_nb(nb, since=this)`: the NB database and, per
    # switch uuid, its row and the ports made of it. Not part of the result.
    built_from: _Built | None = field(default=None, compare=False, repr=False)

    @staticmethod
    def from_nb(nb: Database, since: LogicalTopology | None = None) -> LogicalTopology:
        """The topology of `nb`. `since`: the topology of an earlier NB this one was derived
        from (a change's state before): each switch whose row and port rows are the very
        objects it was built from (an edit shares untouched rows) keeps its ports; the
        result is the same either way (tests/simulation/test_sim_incremental_sb.py)."""
        groups: dict[str, HaChassisGroup] = {
            str(r.uuid): _ha_group(nb, r) for r in nb.rows("HA_Chassis_Group")}
        switches: dict[str, Switch] = {}
        lsps: dict[str, SwitchPort] = {}
        routers: Mapping[str, Router]
        lrps: Mapping[str, RouterPort]
        dups: set[str] = set()
        pieces: dict[str, tuple[Row, dict[str, SwitchPort], Switch]] = {}
        old, changed = _reusable(nb, since)
        patched = _patched(nb, since, changed, groups) if old else None
        if patched is not None:
            return patched
        edited: set[str] = set()  # the ports made again
        for ls in sorted(nb.rows("Logical_Switch"), key=lambda r: (r.name, r.uuid)):
            got = old.get(ls.uuid)
            if (got is not None and got[0] is ls and changed.isdisjoint(ls.set("ports"))
                    and lsps.keys().isdisjoint(got[1])):
                # the same rows as before: the same ports, in the same order
                lsps.update(got[1])
                switches[ls.uuid] = got[2]
                pieces[ls.uuid] = got
                continue
            names, mine = _switch_ports(nb, ls, groups, lsps, dups)
            edited.update(mine)
            switches[ls.uuid] = Switch(
                name=ls.name,
                uuid=ls.uuid,
                ports=tuple(sorted(names)),
                other_config=frozen_smap(ls, "other_config"),
                external_ids=frozen_smap(ls, "external_ids"),
            )
            pieces[ls.uuid] = (ls, mine, switches[ls.uuid])
        b = _same_routers(nb, since)
        if b is not None and since is not None:
            # no router-side row changed: the same routers and router ports, as objects
            routers, lrps, rpieces = since.routers, since.router_ports, b.routers
        else:
            routers, lrps, rpieces = _routers(nb, groups, dups, since)
        return LogicalTopology(
            switches=MappingProxyType(switches),
            routers=_frozen(routers),
            switch_ports=MappingProxyType(lsps),
            router_ports=_frozen(lrps),
            source=nb.source,
            duplicate_ports=tuple(sorted(dups)),
            built_from=_Built(nb, MappingProxyType(pieces), _weak(since), _edited(old, pieces,
                                                                      edited | dups),
                              rpieces),
        )

    def changed_ports(self, base: LogicalTopology) -> set[str]:
        """The names of the switch ports that differ here from `base` (or are in one only)."""
        b = self.built_from
        if b is not None and b.since is not None and b.since() is base and b.edited is not None:
            p0, p1 = base.switch_ports, self.switch_ports
            return {n for n in b.edited if (x := p0.get(n)) is not (y := p1.get(n)) and x != y}
        return differing(base.switch_ports, self.switch_ports)

    def switches_named(self, name: str) -> list[Switch]:
        return [s for s in self.switches.values() if s.name == name]

    def routers_named(self, name: str) -> list[Router]:
        return [r for r in self.routers.values() if r.name == name]

    def ports_of(self, switch_uuid: str) -> Iterator[SwitchPort]:
        sw = self.switches[switch_uuid]
        return (self.switch_ports[p] for p in sw.ports)

    def router_ports_of(self, router_uuid: str) -> Iterator[RouterPort]:
        lr = self.routers[router_uuid]
        return (self.router_ports[p] for p in lr.ports)

    def localnet_ports(self) -> list[SwitchPort]:
        return [p for p in self.switch_ports.values() if p.type == "localnet"]


def _switch_ports(nb: Database, ls: Row, groups: Mapping[str, HaChassisGroup],
                  lsps: dict[str, SwitchPort], dups: set[str]) -> tuple[
        list[str], dict[str, SwitchPort]]:
    """The ports of switch `ls` (their names, and name -> port), each also put in `lsps`;
    a name `lsps` has already goes into `dups`."""
    names: list[str] = []
    mine: dict[str, SwitchPort] = {}
    for pu in ls.set("ports"):
        pr = nb.row("Logical_Switch_Port", str(pu))
        if pr is None:
            continue
        if pr.name in lsps:
            dups.add(pr.name)
            continue
        names.append(pr.name)
        lsps[pr.name] = mine[pr.name] = _switch_port(pr, ls, groups)
    return names, mine


def _switch_port(pr: Row, ls: Row, groups: Mapping[str, HaChassisGroup]) -> SwitchPort:
    """Switch port row `pr` of switch `ls`."""
    hg = pr.opt("ha_chassis_group")
    return SwitchPort(
        name=pr.name,
        uuid=pr.uuid,
        switch=ls.name,
        switch_uuid=ls.uuid,
        type=str(pr.get("type", "") or ""),
        options=frozen_smap(pr, "options"),
        addresses=_strs(pr, "addresses"),
        enabled=_opt_bool(pr, "enabled"),
        parent_name=_opt_str(pr, "parent_name"),
        tag=_opt_int(pr, "tag"),
        tag_request=_opt_int(pr, "tag_request"),
        external_ids=frozen_smap(pr, "external_ids"),
        ha_chassis_group=groups.get(str(hg)) if hg is not None else None,
    )


def _weak(t: LogicalTopology | None) -> weakref.ref[LogicalTopology] | None:
    return weakref.ref(t) if t is not None else None


def _edited(old: Mapping[str, tuple[Row, dict[str, SwitchPort], Switch]],
            pieces: Mapping[str, tuple[Row, dict[str, SwitchPort], Switch]],
            made: set[str]) -> frozenset[str] | None:
    """The names of the ports that are not the objects of the topology `old` is of: those
    made again (`made`) and those of its switches not kept. None: nothing was kept."""
    if not old:
        return None
    return frozenset(made.union(*(got[1] for u, got in old.items()
                                  if pieces.get(u) is not got)))


def _patched(nb: Database, since: LogicalTopology | None, changed: Collection[str],
             groups: Mapping[str, HaChassisGroup]) -> LogicalTopology | None:
    """`from_nb(nb)` from `since` where no switch, router or HA row changed and the switch
    ports that did kept their names (options, addresses, types edited): only the switches
    holding them are read again, everything else is `since`'s, as objects and in its
    order. None otherwise."""
    b = _same_routers(nb, since)
    if (b is None or since is None
            or nb.tables.get("Logical_Switch") is not b.nb.tables.get("Logical_Switch")):
        return None
    t0 = b.nb.tables.get("Logical_Switch_Port", {})
    t1 = nb.tables.get("Logical_Switch_Port", {})
    holders: dict[str, list[Row]] = {}
    for u in changed:
        r0, r1 = t0.get(u), t1.get(u)  # type: ignore[call-overload]
        if r0 is None or r1 is None or r0.name != r1.name:
            return None  # a port inserted, deleted or renamed: the order may change
        sp = since.switch_ports.get(r0.name)
        if sp is None or sp.uuid != u:
            return None
        holders.setdefault(sp.switch_uuid, []).append(r1)
    lsps = thawed(since.switch_ports)
    pieces = thawed(b.pieces)
    edited: set[str] = set()
    for su, rows in holders.items():
        ls = nb.row("Logical_Switch", su)
        piece = pieces.get(su)
        if ls is None or piece is None or piece[0] is not ls:
            return None
        # the switch row is the one its ports were read from: the same ports by the same
        # names, of which only the changed rows are read again (a provider network's
        # switch holds thousands)
        mine = dict(piece[1])
        for pr in rows:
            lsps[pr.name] = mine[pr.name] = _switch_port(pr, ls, groups)  # keeps its place
            edited.add(pr.name)
        pieces[su] = (ls, mine, since.switches[su])
    return LogicalTopology(
        switches=since.switches,
        routers=since.routers,
        switch_ports=MappingProxyType(lsps),
        router_ports=since.router_ports,
        source=nb.source,
        duplicate_ports=(),
        built_from=_Built(nb, MappingProxyType(pieces), _weak(since), frozenset(edited),
                          b.routers),
    )


# What a router or router port is read from besides HA groups: when none of these tables
# changed either, the routers are the ones built before.
_ROUTER_TABLES = ("Logical_Router", "Logical_Router_Port", "Gateway_Chassis", "NAT")


def _same_routers(nb: Database, since: LogicalTopology | None) -> _Built | None:
    """What `since` was built from, where no router-side row changed (`_usable`)."""
    b = _usable(nb, since)
    if b is None or any(nb.tables.get(t) is not b.nb.tables.get(t) for t in _ROUTER_TABLES):
        return None
    return b


def _frozen(m: Mapping[str, T]) -> Mapping[str, T]:
    return m if isinstance(m, MappingProxyType) else MappingProxyType(dict(m))


def _routers(nb: Database, groups: Mapping[str, HaChassisGroup], dups: set[str],
             since: LogicalTopology | None) -> tuple[
        dict[str, Router], dict[str, RouterPort], dict[str, _RouterPiece]]:
    """The routers of `nb` and their ports (a port named twice goes into `dups`), and what
    each was read from. `since`: the topology of an earlier NB this one was derived from; a
    router whose row and every row it read are the very objects it was built from (and
    no HA group changed) is taken as it was."""
    routers: dict[str, Router] = {}
    lrps: dict[str, RouterPort] = {}
    pieces: dict[str, _RouterPiece] = {}
    old, changed = _reusable_routers(nb, since)
    for lr in sorted(nb.rows("Logical_Router"), key=lambda r: (r.name, r.uuid)):
        got = old.get(lr.uuid)
        if (got is not None and got[0] is lr and changed.isdisjoint(got[1])
                and lrps.keys().isdisjoint(got[3])):
            lrps.update(got[3])
            routers[lr.uuid] = got[2]
            pieces[lr.uuid] = got
            continue
        names = []
        read: set[object] = set()  # the uuids of every row this router is made of
        mine: dict[str, RouterPort] = {}
        for pu in lr.set("ports"):
            read.add(pu)
            pr = nb.row("Logical_Router_Port", str(pu))
            if pr is None:
                continue
            if pr.name in lrps:
                dups.add(pr.name)
                continue
            names.append(pr.name)
            read.update(pr.set("gateway_chassis"))
            gcs = [nb.row("Gateway_Chassis", str(u)) for u in pr.set("gateway_chassis")]
            gw = sorted(
                (
                    GatewayChassis(
                        name=g.name,
                        chassis_name=str(g.get("chassis_name", "")),
                        priority=int(g.get("priority", 0)),
                    )
                    for g in gcs
                    if g is not None
                ),
                key=lambda g: (-g.priority, g.chassis_name),
            )
            hg = pr.opt("ha_chassis_group")
            lrps[pr.name] = mine[pr.name] = RouterPort(
                name=pr.name,
                uuid=pr.uuid,
                router=lr.name,
                router_uuid=lr.uuid,
                mac=str(pr.get("mac", "") or ""),
                networks=_strs(pr, "networks"),
                peer=_opt_str(pr, "peer"),
                enabled=_opt_bool(pr, "enabled"),
                options=frozen_smap(pr, "options"),
                external_ids=frozen_smap(pr, "external_ids"),
                gateway_chassis=tuple(gw),
                ha_chassis_group=groups.get(str(hg)) if hg is not None else None,
            )
        nats = []
        for nu in lr.set("nat"):
            read.add(nu)
            n = nb.row("NAT", str(nu))
            if n is None:
                continue
            gp = n.opt("gateway_port")
            read.add(gp)
            gp_row = nb.row("Logical_Router_Port", str(gp)) if gp is not None else None
            nats.append(
                Nat(
                    uuid=n.uuid,
                    router=lr.name,
                    type=str(n.get("type", "")),
                    external_ip=str(n.get("external_ip", "")),
                    logical_ip=str(n.get("logical_ip", "")),
                    logical_port=_opt_str(n, "logical_port"),
                    external_mac=_opt_str(n, "external_mac"),
                    gateway_port=gp_row.name if gp_row is not None else None,
                )
            )
        routers[lr.uuid] = Router(
            name=lr.name,
            uuid=lr.uuid,
            ports=tuple(sorted(names)),
            options=frozen_smap(lr, "options"),
            enabled=_opt_bool(lr, "enabled"),
            nat=tuple(sorted(nats, key=lambda n: (n.type, n.external_ip, n.uuid))),
            external_ids=frozen_smap(lr, "external_ids"),
        )
        pieces[lr.uuid] = (lr, frozenset(read), routers[lr.uuid], mine)
    return routers, lrps, pieces


# The rows a router is read from (NB_ROUTER_ROWS) and what was made of them: its row, the
# uuids of its ports, their gateway chassis and its NAT rows, the router, its ports.
_RouterPiece = tuple[Row, frozenset[object], "Router", dict[str, "RouterPort"]]
_NB_ROUTER_ROWS = ("Logical_Router_Port", "Gateway_Chassis", "NAT")


def _reusable_routers(nb: Database, since: LogicalTopology | None) -> tuple[
        Mapping[str, _RouterPiece], set[object]]:
    """The routers `since` was built from, and the uuids of the rows routers read that are
    not the same objects any more; nothing where an HA group changed or `since` had a port
    named twice (`_usable`)."""
    b = _usable(nb, since)
    if b is None:
        return {}, set()
    changed: set[object] = set()
    for t in _NB_ROUTER_ROWS:
        changed |= nb.changed_rows(b.nb, t)
    return b.routers, changed


@record
class _Built:
    nb: Database
    pieces: Mapping[str, tuple[Row, dict[str, SwitchPort], Switch]]
    # the topology this one was built from (weakly: a chain of what-ifs must not keep every
    # earlier one alive), and the names of the switch ports that are not its objects (made
    # again, gone or new): `changed_ports` reads them instead of all ports
    since: weakref.ref[LogicalTopology] | None = None
    edited: frozenset[str] | None = None
    # per router uuid, what it was read from and made into (`_routers`)
    routers: Mapping[str, _RouterPiece] = field(default_factory=dict)


_NOTHING: tuple[Mapping[str, tuple[Row, dict[str, SwitchPort], Switch]], frozenset[str]] = (
    MappingProxyType({}), frozenset())


def _reusable(nb: Database, since: LogicalTopology | None) -> tuple[
        Mapping[str, tuple[Row, dict[str, SwitchPort], Switch]], AbstractSet[str]]:
    """The switches `since` was built from, and the uuids of the Logical_Switch_Port rows
    that are not the same objects any more (inserted, deleted or edited). Nothing is reused
    when what a port also reads changed (HA groups) or when `since` had duplicate ports
    (`_usable`)."""
    b = _usable(nb, since)
    if b is None:
        return _NOTHING
    return b.pieces, nb.changed_rows(b.nb, "Logical_Switch_Port")


def _usable(nb: Database, since: LogicalTopology | None) -> _Built | None:
    """What `since` was built from, where its pieces may serve `nb`: not where a port was
    named twice (which one northd keeps depends on the order of all of them), nor where an
    HA group changed (switch and router ports both read them)."""
    b = since.built_from if since is not None else None
    if b is None or since is None or since.duplicate_ports or any(
            nb.tables.get(t) is not b.nb.tables.get(t)
            for t in ("HA_Chassis_Group", "HA_Chassis")):
        return None
    return b


def _ha_group(db: Database, row: Row) -> HaChassisGroup:
    members = []
    for u in row.set("ha_chassis"):
        h = db.row("HA_Chassis", str(u))
        if h is None:
            continue
        members.append(HaChassis(str(h.get("chassis_name", "")), int(h.get("priority", 0))))
    members.sort(key=lambda m: (-m.priority, m.chassis_name))
    return HaChassisGroup(name=row.name, uuid=row.uuid, members=tuple(members))


# --- Southbound ---------------------------------------------------------------------------


@record(slots=True)
class SbChassis:
    name: str
    uuid: str
    hostname: str
    other_config: Mapping[str, str] = field(default_factory=_empty)
    external_ids: Mapping[str, str] = field(default_factory=_empty)
    encap_ips: tuple[str, ...] = ()

    @property
    def bridge_mappings(self) -> str | None:
        """The raw ovn-bridge-mappings the chassis reported (other_config since OVN 20.06,
        external_ids before and, as a copy, until 22.09)."""
        col = self.bridge_mappings_column
        return None if col is None else getattr(self, col).get("ovn-bridge-mappings")

    @property
    def bridge_mappings_column(self) -> str | None:
        """Which Chassis column holds ovn-bridge-mappings (None: neither does)."""
        for col in ("other_config", "external_ids"):
            if "ovn-bridge-mappings" in getattr(self, col):
                return col
        return None


@record(slots=True)
class SbDatapath:
    uuid: str
    tunnel_key: int
    name: str
    nb_uuid: str | None  # external_ids:logical-switch / logical-router
    is_switch: bool


@record(slots=True)
class SbPortBinding:
    logical_port: str
    uuid: str
    type: str
    datapath: str | None  # SB datapath uuid
    tunnel_key: int
    options: Mapping[str, str] = field(default_factory=_empty)
    parent_port: str | None = None
    chassis: str | None = None  # chassis name
    additional_chassis: tuple[str, ...] = ()
    virtual_parent: str | None = None
    ha_chassis: tuple[HaChassis, ...] = ()


def read_chassis(sb: Database) -> dict[str, SbChassis]:
    """Every SB Chassis row by name, with its encapsulation IPs."""
    chassis: dict[str, SbChassis] = {}
    for c in sb.rows("Chassis"):
        ips = []
        for eu in c.set("encaps"):
            e = sb.row("Encap", str(eu))
            if e is not None:
                ips.append(str(e.get("ip", "")))
        chassis[c.name] = SbChassis(
            name=c.name,
            uuid=c.uuid,
            hostname=str(c.get("hostname", "") or ""),
            other_config=frozen_smap(c, "other_config"),
            external_ids=frozen_smap(c, "external_ids"),
            encap_ips=tuple(sorted(ips)),
        )
    return chassis


def chassis_by_host(chassis: Mapping[str, SbChassis]) -> dict[str, SbChassis]:
    """Every name a host can have -> the chassis it stands for: its hostname first (the
    lowest chassis name wins when several share one -- a stale record), then its name
    (system-id), as the bundle names host directories. Built once: hundreds of chassis."""
    out: dict[str, SbChassis] = dict(chassis)
    for c in sorted(chassis.values(), key=lambda c: c.name, reverse=True):
        if c.hostname:
            out[c.hostname] = c
    return out


def chassis_for_host(chassis: Mapping[str, SbChassis], host: str) -> SbChassis | None:
    """The chassis `host` stands for (see `chassis_by_host`)."""
    return chassis_by_host(chassis).get(host)


def chassis_host_names(chassis: Mapping[str, SbChassis],
                       taken: Collection[str] = ()) -> dict[str, SbChassis]:
    """Host name -> chassis for `chassis`, named by hostname, then name (a chassis whose
    hostname is empty or already names another host -- a stale row of a reinstalled
    node -- goes by its name), never reusing a name in `taken`. Each name maps back to its
    chassis through `chassis_for_host`."""
    out: dict[str, SbChassis] = {}
    used = set(taken)
    lookup = chassis_by_host(chassis)
    for c in sorted(chassis.values(), key=lambda c: c.name):
        name = c.hostname if c.hostname and c.hostname not in used else c.name
        if name in used or lookup.get(name) is not c:
            continue
        used.add(name)
        out[name] = c
    return out


@record
class Southbound:
    chassis: Mapping[str, SbChassis]  # name -> chassis
    datapaths: Mapping[str, SbDatapath]  # SB uuid -> datapath
    port_bindings: Mapping[str, SbPortBinding]  # logical_port -> binding
    source: str = ""

    @staticmethod
    def from_sb(sb: Database) -> Southbound:
        chassis = read_chassis(sb)
        by_uuid = {c.uuid: c.name for c in chassis.values()}
        dps: dict[str, SbDatapath] = {}
        for d in sb.rows("Datapath_Binding"):
            ext = frozen_smap(d, "external_ids")
            nb_uuid = ext.get("logical-switch") or ext.get("logical-router")
            dps[d.uuid] = SbDatapath(
                uuid=d.uuid,
                tunnel_key=int(d.get("tunnel_key", 0)),
                name=ext.get("name", ""),
                nb_uuid=nb_uuid,
                is_switch="logical-switch" in ext,
            )
        pbs: dict[str, SbPortBinding] = {}
        for p in sb.rows("Port_Binding"):
            lp = str(p.get("logical_port", ""))
            ch = p.opt("chassis")
            hg = p.opt("ha_chassis_group")
            ha: list[HaChassis] = []
            if hg is not None:
                g = sb.row("HA_Chassis_Group", str(hg))
                for hu in g.set("ha_chassis") if g is not None else ():
                    h = sb.row("HA_Chassis", str(hu))
                    if h is None:
                        continue
                    hc = h.opt("chassis")
                    if hc is not None and str(hc) in by_uuid:
                        ha.append(HaChassis(by_uuid[str(hc)], int(h.get("priority", 0))))
            dp = p.get("datapath")
            pbs[lp] = SbPortBinding(
                logical_port=lp,
                uuid=p.uuid,
                type=str(p.get("type", "") or ""),
                datapath=str(dp) if dp else None,
                tunnel_key=int(p.get("tunnel_key", 0)),
                options=frozen_smap(p, "options"),
                parent_port=_opt_str(p, "parent_port"),
                chassis=by_uuid.get(str(ch)) if ch is not None else None,
                additional_chassis=tuple(
                    sorted(by_uuid[str(u)] for u in p.set("additional_chassis")
                           if str(u) in by_uuid)
                ),
                virtual_parent=_opt_str(p, "virtual_parent"),
                ha_chassis=tuple(sorted(ha, key=lambda m: (-m.priority, m.chassis_name))),
            )
        return Southbound(
            chassis=MappingProxyType(chassis),
            datapaths=MappingProxyType(dps),
            port_bindings=MappingProxyType(pbs),
            source=sb.source,
        )

    @cached_property
    def _by_host(self) -> dict[str, SbChassis]:
        return chassis_by_host(self.chassis)

    def chassis_for_host(self, host: str) -> SbChassis | None:
        return self._by_host.get(host)

    @cached_property
    def _bound(self) -> dict[str, frozenset[str]]:
        out: dict[str, set[str]] = {}
        for pb in self.port_bindings.values():
            for ch in (pb.chassis, *pb.additional_chassis):
                if ch is not None:
                    out.setdefault(ch, set()).add(pb.logical_port)
        return {ch: frozenset(ports) for ch, ports in out.items()}

    def bound_to(self, chassis: str) -> frozenset[str]:
        """Logical ports SB says are bound to `chassis` (Port_Binding.chassis or
        additional_chassis), indexed once for hundreds of chassis."""
        return self._bound.get(chassis, frozenset())

    @cached_property
    def _tunnel_keys(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for d in self.datapaths.values():
            if d.nb_uuid is not None:
                out.setdefault(d.nb_uuid, d.tunnel_key)  # the first one, as a scan finds
        return out

    def tunnel_key_for(self, nb_uuid: str) -> int | None:
        """The tunnel key of the SB datapath of an NB switch/router (indexed once: asked for
        every datapath, a scan each time was quadratic in the cloud)."""
        return self._tunnel_keys.get(nb_uuid)

    @staticmethod
    def of(sb: Database) -> Southbound:
        """`from_sb(sb)`, once per SB snapshot: the states before and after a change share
        their SB (a change edits NB), and so their reading of it."""
        return sb.memo("logical.Southbound", Southbound.from_sb)


def as_json(obj: Any) -> Any:
    """A plain-JSON rendering of any view above (for reports and debugging)."""
    if isinstance(obj, Mapping):
        return {str(k): as_json(v) for k, v in obj.items()}
    if isinstance(obj, tuple | list):
        return [as_json(v) for v in obj]
    if hasattr(obj, "__dataclass_fields__"):
        return {f: as_json(getattr(obj, f)) for f in obj.__dataclass_fields__}
    return obj


__all__ = [
    "GatewayChassis",
    "HaChassis",
    "HaChassisGroup",
    "LogicalTopology",
    "Nat",
    "Router",
    "RouterPort",
    "SbChassis",
    "SbDatapath",
    "SbPortBinding",
    "Southbound",
    "Switch",
    "SwitchPort",
    "as_json",
]
