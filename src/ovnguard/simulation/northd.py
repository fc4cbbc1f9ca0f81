"""What ovn-northd 23.03 writes to SB Port_Binding for a given NB (the part that decides which
datapaths become local where).

The simulation derives bindings from NB rather than reading SB, because a change edits NB
and SB only follows after northd ran. SB is used for what NB cannot say: datapath tunnel keys
(they appear in ovn-controller's log lines) and dynamic state (which chassis a virtual port
is bound to).

Source: ovn v23.03.1 northd/northd.c `join_logical_ports()` and `ovn_port_update_sbrec()`,
lib/ovn-util.c `ovn_is_known_nb_lsp_type()`, `extract_lrp_networks()`.
"""

from __future__ import annotations

import bisect
import ipaddress
import itertools
import re
import weakref
from collections.abc import Callable, Mapping
from dataclasses import field, replace
from functools import cached_property
from types import MappingProxyType
from typing import TYPE_CHECKING, TypedDict

from ovnguard.i18n import _, current_language
from ovnguard.model.db import Database, differing, thawed
from ovnguard.model.evidence import Evidence
from ovnguard.model.logical import (
    HaChassis,
    LogicalTopology,
    Router,
    RouterPort,
    Southbound,
    Switch,
    SwitchPort,
)
from ovnguard.record import record
from ovnguard.simulation.types import ControllerEvent

if TYPE_CHECKING:
    from ovnguard.simulation.locality import LinkIndex

# lib/ovn-util.c OVN_NB_LSP_TYPES (plus "" = VIF): l3gateway, chassisredirect and patch are
# only ever set by northd.
KNOWN_LSP_TYPES = frozenset(
    {"", "l2gateway", "localnet", "localport", "router", "vtep", "external", "virtual", "remote"}
)
# Binding types binding.c considers on every chassis (not only those with a local interface).
GLOBAL_TYPES = ("virtual", "l2gateway", "l3gateway", "chassisredirect", "external")
# eth_addr_from_string(): six hex fields separated by ':' (ovs_scan "%hhx:...").
_MAC = re.compile(r"^\s*[0-9a-fA-F]+(:[0-9a-fA-F]+){5}$")


@record(slots=True)
class Datapath:
    uuid: str  # NB row uuid
    name: str
    kind: str  # "switch" | "router"
    tunnel_key: int | None  # from SB, or NB requested-tnl-key; None when northd picks later

    @property
    def nb_table(self) -> str:
        return "Logical_Switch" if self.kind == "switch" else "Logical_Router"


@record(slots=True)
class Binding:
    """One predicted SB Port_Binding row."""

    logical_port: str
    type: str  # SB type: "" (VIF), patch, l3gateway, chassisredirect, localnet, ...
    datapath: str  # NB uuid of its datapath
    options: Mapping[str, str] = field(default_factory=dict)
    parent_port: str | None = None
    # chassisredirect / external: the HA chassis group members (SB HA_Chassis_Group).
    ha_chassis: tuple[HaChassis, ...] = ()
    ha_evidence: tuple[Evidence, ...] = ()  # where the group comes from
    nb_table: str = "Logical_Switch_Port"
    nb_row: str = ""  # the NB row name it derives from (the LRP for cr-<lrp>)
    in_sb: bool = False  # a Port_Binding of this name exists in the SB snapshot
    # From SB (dynamic state only SB knows):
    sb_chassis: str | None = None
    sb_additional_chassis: tuple[str, ...] = ()
    virtual_parent: str | None = None
    sb_tunnel_key: int | None = None

    @property
    def network_name(self) -> str | None:
        return self.options.get("network_name")

    @property
    def peer(self) -> str | None:
        return self.options.get("peer")


@record
class PredictedSouthbound:
    topology: LogicalTopology
    datapaths: Mapping[str, Datapath]  # NB uuid -> datapath
    bindings: Mapping[str, Binding]  # logical_port -> binding
    by_datapath: Mapping[str, tuple[str, ...]]  # NB uuid -> logical ports (sorted)
    events: tuple[ControllerEvent, ...] = ()
    nb_source: str = ""
    southbound: Southbound | None = None
    by_type: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # SB type -> ports
    children: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # parent -> ports
    # datapath -> its patch/l3gateway ports whose peer binding exists (what
    # add_local_datapath__() walks), and -> its localnet ports.
    links: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    localnets: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    language: str = field(default="", compare=False)  # its evidence's (ovnguard.i18n)
    # the prediction this one was derived from (weakly) and the names of the bindings that
    # differ from its (`_derived`): `changed_bindings` reads them instead of all bindings
    edited: tuple[weakref.ref[PredictedSouthbound], frozenset[str]] | None = field(
        default=None, compare=False, repr=False)

    def changed_bindings(self, base: PredictedSouthbound) -> set[str]:
        """The logical ports whose bindings differ here from `base` (or are in one only)."""
        e = self.edited
        if e is not None and e[0]() is base:
            return set(e[1])
        return differing(base.bindings, self.bindings)

    def datapath_label(self, uuid: str) -> str:
        dp = self.datapaths[uuid]
        return dp.name or uuid

    # Indexes built once per predicted SB and shared by every chassis (a frozen dataclass
    # without slots: cached_property stores in the instance dict).
    @cached_property
    def labels(self) -> Mapping[str, str]:
        """NB uuid -> datapath_label()."""
        return MappingProxyType({u: d.name or u for u, d in self.datapaths.items()})

    @cached_property
    def by_label(self) -> Mapping[str, tuple[str, ...]]:
        """label -> NB uuids of the datapaths carrying it (names need not be unique)."""
        out: dict[str, list[str]] = {}
        for u, label in self.labels.items():
            out.setdefault(label, []).append(u)
        return MappingProxyType({k: tuple(v) for k, v in out.items()})

    @cached_property
    def claimable(self) -> Mapping[str, tuple[str, ...]]:
        """chassis -> the ports of the types binding.c considers on every chassis (virtual,
        l2gateway, l3gateway, chassisredirect, external) that this chassis can claim: the
        virtual ports SB binds to it, the gateway ports naming it, the HA ports whose group
        has it. Every chassis skips the others, so each looks only at its own."""
        out: dict[str, set[str]] = {}
        for typ in GLOBAL_TYPES:
            for name in self.by_type.get(typ, ()):
                for ch in claimers(self.bindings[name]):
                    out.setdefault(ch, set()).add(name)
        return MappingProxyType({ch: tuple(sorted(v)) for ch, v in out.items()})

    @cached_property
    def link_peers(self) -> frozenset[str]:
        """The logical ports the links' bindings name as their peers: whoever walks a link
        reads its peer's datapath, whatever the peer's type (a router-type switch port may
        name a VIF as its router port)."""
        return frozenset(self.bindings[n].options["peer"]
                         for n in itertools.chain.from_iterable(self.links.values()))

    @cached_property
    def named_peers(self) -> frozenset[str]:
        """The peers the patch and l3gateway bindings name (a link appears when a port of
        that name is made, whether or not one is there now)."""
        return frozenset(self.bindings[n].options.get("peer", "")
                         for typ in ("patch", "l3gateway") for n in self.by_type.get(typ, ()))

    @cached_property
    def guarded(self) -> frozenset[str]:
        """`named_peers` and the peers its router ports name: the names a switch port must
        not take for `_derived` to make its binding alone (a loaded model's state before
        answers every what-if that leaves the routers alone)."""
        return self.named_peers.union(rp.peer for rp in self.topology.router_ports.values()
                                      if rp.peer)

    @cached_property
    def link_index(self) -> LinkIndex:
        from ovnguard.simulation.locality import LinkIndex

        return LinkIndex(self)


def claimers(b: Binding) -> set[str]:
    """The chassis that may claim `b`, a port of a type binding.c considers on every
    chassis (GLOBAL_TYPES): the chassis SB binds a virtual port to, the one an l2gateway or
    l3gateway port names, the members of an HA port's group."""
    if b.type == "virtual":
        who = {b.sb_chassis}
    elif b.type in ("l2gateway", "l3gateway"):
        who = {b.options.get(f"{b.type}-chassis")}
    else:
        who = {m.chassis_name for m in b.ha_chassis}
    return {ch for ch in who if ch is not None}


def predict_southbound(nb: Database, sb: Database | None = None,
                       since: PredictedSouthbound | None = None) -> PredictedSouthbound:
    """What northd writes for `nb`. `since`: the prediction for an earlier NB this one was
    derived from (a change's state before): the switches and switch ports whose rows are
    the same objects are not read again, and a switch port that is the same object with the
    same SB keeps its binding. The result is the same either way
    (tests/simulation/test_sim_incremental_sb.py)."""
    topo = LogicalTopology.from_nb(nb, since.topology if since is not None else None)
    south = Southbound.of(sb) if sb is not None else None
    lang = current_language()
    reuse = (since is not None and since.southbound is south and since.language == lang)
    if since is not None and reuse:
        derived = (_derived(topo, south, since, nb.source)
                   or _derived_router_side(topo, south, since, nb.source))
        if derived is not None:
            return derived
    old_ports = since.topology.switch_ports if since is not None and reuse else {}
    old_bindings = since.bindings if since is not None and reuse else {}
    as_before: set[str] = set()  # bindings taken from `since`, SB already applied
    src = nb.source
    events: list[ControllerEvent] = []

    def northd(level: str, msg: str, lport: str = "", ev: tuple[Evidence, ...] = ()) -> None:
        events.append(ControllerEvent(level, msg, lport, ev, daemon="ovn-northd",
                                      where="northd/northd.c"))

    datapaths: dict[str, Datapath] = {}
    for s in topo.switches.values():
        datapaths[s.uuid] = _switch_datapath(s, south)
    for r in topo.routers.values():
        datapaths[r.uuid] = _router_datapath(r, south)

    for d in topo.duplicate_ports:
        northd("WARN", f"duplicate logical port {d}", d)

    join = _join(topo, src, northd)
    bindings: dict[str, Binding] = {}

    def put(b: Binding) -> None:
        # the same binding as `since` had, before SB: `since`'s, SB and all (no copy made)
        old = old_bindings.get(b.logical_port)
        if old is not None and _same_but_sb(old, b):
            bindings[b.logical_port] = old
            as_before.add(b.logical_port)
        else:
            bindings[b.logical_port] = b
            as_before.discard(b.logical_port)

    # Switch ports.
    vtep_switches = {p.switch_uuid for p in topo.switch_ports.values() if p.type == "vtep"}
    for lsp in sorted(topo.switch_ports.values(), key=lambda p: p.name):
        if lsp.type == "router":
            put(_router_lsp_binding(lsp, join, topo))
            continue
        ob = old_bindings.get(lsp.name) if old_ports.get(lsp.name) is lsp else None
        if (ob is not None and ob.nb_table == "Logical_Switch_Port"
                and lsp.type in KNOWN_LSP_TYPES):
            # a VIF-like port reads only its own row (and its HA group, part of it) and
            # its SB row: the same objects, the same binding (unless `since`'s binding of
            # that name was another port's: a router port's cr-<name> took it over)
            bindings[lsp.name] = ob
            as_before.add(lsp.name)
            continue
        put(_switch_port_binding(lsp, south, src, northd))

    # Router ports and chassisredirect ports.
    for b in _router_port_bindings(topo, join, vtep_switches, src, northd):
        put(b)

    if south is not None:
        for name, b in list(bindings.items()):
            if name not in as_before:
                bindings[name] = _with_sb(b, south)

    changed: dict[str, Binding | None] = {}
    if since is None or not reuse:
        edited, idx = None, indexes(bindings)
    else:
        # from the state before: what differs from its bindings is known (every binding
        # not taken from it differs: `put`), so its indexes are edited, not built again
        changed = {n: b for n, b in bindings.items() if n not in as_before}
        changed.update((n, None) for n in old_bindings if n not in bindings)
        edited = (weakref.ref(since), frozenset(changed))
        idx = _reindexed(since, bindings, changed)
    psb = PredictedSouthbound(
        topology=topo,
        datapaths=MappingProxyType(datapaths),
        bindings=MappingProxyType(bindings),
        events=tuple(events),
        nb_source=src,
        southbound=south,
        language=lang,
        edited=edited,
        **idx,
    )
    if since is not None and edited is not None:
        _carry_memos(psb, since, changed)
    return psb


@record(slots=True)
class _Join:
    """join_logical_ports(): the router ports that exist (a bad MAC or a switch port's name
    drops one), each router-type switch port's router port, and each router port's peer
    (the first router-type switch port naming it, by name, else its own `peer` column when
    that names a router port)."""

    lrps: Mapping[str, RouterPort]  # by name, sorted
    lsp_peer: Mapping[str, RouterPort]  # router-type LSP name -> its LRP
    lrp_peer: Mapping[str, str]  # LRP name -> peer (LSP or LRP name)


def _join(topo: LogicalTopology, src: str, northd: Emit) -> _Join:
    lrps: dict[str, RouterPort] = {}
    for rp in sorted(topo.router_ports.values(), key=lambda p: p.name):
        ev = (Evidence(_("router port {name} has mac {mac!r}").format(name=rp.name,
            mac=rp.mac), src, "Logical_Router_Port",
                       rp.name),)
        if not _MAC.match(rp.mac):
            northd("WARN", f"bad 'mac' {rp.mac}", rp.name, ev)
            continue
        if rp.name in topo.switch_ports:
            # Both live in one `ports` hmap keyed by name; which one northd keeps depends on
            # datapath hash order. Keep the switch port and say so.
            northd("WARN", f"duplicate logical router port {rp.name}", rp.name, ev)
            continue
        lrps[rp.name] = rp

    # Peers (join_logical_ports(), second loop).
    lrp_peer: dict[str, str] = {}  # LRP name -> peer key (LSP or LRP name)
    lsp_peer: dict[str, RouterPort] = {}  # LSP name -> LRP
    for lsp in sorted((p for p in topo.switch_ports.values() if p.type == "router"),
                      key=lambda p: p.name):  # (sorting the router ports only: 1 in 10)
        target = lrps.get(lsp.router_port or "")
        if target is None:
            continue
        lsp_peer[lsp.name] = target
        lrp_peer.setdefault(target.name, lsp.name)
    for rp in lrps.values():
        if rp.peer is None or rp.name in lrp_peer:
            continue
        if rp.peer in lrps:
            lrp_peer[rp.name] = rp.peer
        elif rp.peer in topo.switch_ports:
            northd("WARN", f"Bad configuration: The peer of router port {rp.name} is a "
                   "switch port", rp.name, ())
    return _Join(lrps, lsp_peer, lrp_peer)


def _router_lsp_binding(lsp: SwitchPort, join: _Join, topo: LogicalTopology) -> Binding:
    """The binding of a switch port of type router, before SB: a patch to the router port
    it names, or l3gateway where that router is pinned to a chassis."""
    peer_lrp = join.lsp_peer.get(lsp.name)
    router = topo.routers[peer_lrp.router_uuid] if peer_lrp is not None else None
    chassis = router.chassis if router is not None else None
    opts: dict[str, str] = {}
    if lsp.router_port is not None:
        opts["peer"] = lsp.router_port
    if chassis:
        opts["l3gateway-chassis"] = chassis
    return Binding(lsp.name, "l3gateway" if chassis else "patch", lsp.switch_uuid,
                   MappingProxyType(opts), nb_row=lsp.name)


def _router_port_bindings(topo: LogicalTopology, join: _Join, vtep_switches: set[str],
                          src: str, northd: Emit) -> list[Binding]:
    """The router ports' bindings, by name, each distributed gateway port's chassisredirect
    binding after its own, before SB. `vtep_switches`: the switches with vtep ports."""
    out: list[Binding] = []
    for rp in join.lrps.values():
        router = topo.routers[rp.router_uuid]
        chassis = router.chassis
        opts = {}
        peer = join.lrp_peer.get(rp.name)
        if peer is not None:
            opts["peer"] = peer
            if rp.is_gateway_port:
                opts["chassis-redirect-port"] = f"cr-{rp.name}"
        if chassis:
            opts["l3gateway-chassis"] = chassis
        out.append(Binding(
            rp.name, "l3gateway" if chassis else "patch", rp.router_uuid,
            MappingProxyType(opts), nb_table="Logical_Router_Port", nb_row=rp.name,
        ))
        if not rp.is_gateway_port:
            continue
        if chassis:
            northd("WARN", f"Bad configuration: distributed gateway port configured on port "
                   f"{rp.name} on L3 gateway router", rp.name, ())
            continue
        out.append(_redirect_binding(rp, router, peer_switch(peer, topo) in vtep_switches,
                                     src, northd))
    return out


class Indexes(TypedDict):
    """The indexes a PredictedSouthbound carries over its bindings (its fields of the same
    names); each entry's names sorted."""

    by_datapath: Mapping[str, tuple[str, ...]]
    by_type: Mapping[str, tuple[str, ...]]
    children: Mapping[str, tuple[str, ...]]  # parent port -> its children
    # datapath -> its patch and l3gateway ports whose peer has a binding
    links: Mapping[str, tuple[str, ...]]
    localnets: Mapping[str, tuple[str, ...]]  # datapath -> its localnet ports


def indexes(bindings: Mapping[str, Binding]) -> Indexes:
    """`Indexes` of `bindings`, for PredictedSouthbound(..., **indexes(bindings))."""
    by_dp: dict[str, list[str]] = {}
    by_type: dict[str, list[str]] = {}
    children: dict[str, list[str]] = {}
    links: dict[str, list[str]] = {}
    localnets: dict[str, list[str]] = {}
    for b in bindings.values():
        by_dp.setdefault(b.datapath, []).append(b.logical_port)
        by_type.setdefault(b.type, []).append(b.logical_port)
        if b.parent_port is not None:
            children.setdefault(b.parent_port, []).append(b.logical_port)
        if b.type in ("patch", "l3gateway") and b.peer is not None and b.peer in bindings:
            links.setdefault(b.datapath, []).append(b.logical_port)
        if b.type == "localnet":
            localnets.setdefault(b.datapath, []).append(b.logical_port)

    def frozen(index: dict[str, list[str]]) -> Mapping[str, tuple[str, ...]]:
        return MappingProxyType({k: tuple(sorted(v)) for k, v in index.items()})

    return Indexes(by_datapath=frozen(by_dp), by_type=frozen(by_type),
                   children=frozen(children), links=frozen(links),
                   localnets=frozen(localnets))


# What a predicted SB derives from its datapaths on first use (cached_property): a derived
# prediction whose datapaths are the same object takes the earlier one's (the link index
# and `claimable`: `_carry_memos`).
_DERIVED_FROM: dict[str, tuple[str, ...]] = {
    "labels": ("datapaths",), "by_label": ("datapaths",),
}


def _derived(topo: LogicalTopology, south: Southbound | None, since: PredictedSouthbound,
             src: str) -> PredictedSouthbound | None:
    """`predict_southbound` from `since`, the prediction for the NB this one was derived
    from, where the change touched switches and switch ports of types other than router
    and vtep (a port Neutron or an operator creates, updates or deletes; the incident's
    localnet port) and, on the router side, only what chassisredirect bindings read (a
    gateway port moved to other chassis, a NAT rule: `_redirects_to_redo`). Only the
    changed ports' bindings are made again (as the whole computation makes them:
    `_switch_port_binding`, `_redirect_binding`, `_with_sb`, `since`'s object kept when
    equal), and only the index entries they are in are sorted again; all the rest is
    `since`'s. None where that does not hold, or where northd would warn about
    anything (the warnings are in an order of all ports): the caller computes it all.
    tests/simulation/test_sim_incremental_sb.py holds both to the same result."""
    t0 = since.topology
    if since.events or topo.duplicate_ports or since.nb_source != src:
        return None
    redirects = _redirects_to_redo(topo, since)
    if redirects is None:
        return None
    p0, p1 = t0.switch_ports, topo.switch_ports
    if len(since.bindings) < len(p0):
        return None  # not the shape below (switch ports first): compute it all
    lrps = topo.router_ports
    # names a switch port must not take for its binding alone to change: a router port's
    # (northd keeps one of the two), its peer column (a warning), a cr- port's, and the
    # peer a patch or l3gateway binding names (the link appears or goes)
    guarded = (since.guarded if lrps is t0.router_ports
               else since.named_peers.union(rp.peer for rp in lrps.values() if rp.peer))
    warned: list[str] = []

    def northd(level: str, msg: str, lport: str = "", ev: tuple[Evidence, ...] = ()) -> None:
        warned.append(msg)

    changed: dict[str, Binding | None] = {}
    for n in topo.changed_ports(t0):
        old, new = p0.get(n), p1.get(n)
        if any(p is not None and p.type in ("router", "vtep") for p in (old, new)):
            return None
        if n in lrps or n in guarded or (n.startswith("cr-") and n[3:] in lrps):
            return None
        ob = since.bindings.get(n)
        if new is None:
            if ob is not None:
                changed[n] = None
            continue
        b = _switch_port_binding(new, south, src, northd)
        if warned:
            return None
        if ob is None or not _same_but_sb(ob, b):
            changed[n] = _with_sb(b, south)
    for rp in redirects:
        # the join is as before (`_redirects_to_redo`): the peer the port's own binding names
        sw = peer_switch(since.bindings[rp.name].peer, topo)
        vtep = sw is not None and any(p.type == "vtep" and p.switch_uuid == sw
                                      for p in topo.ports_of(sw))
        b = _redirect_binding(rp, topo.routers[rp.router_uuid], vtep, src, northd)
        if warned:
            return None
        ob = since.bindings[b.logical_port]
        if not _same_but_sb(ob, b):
            changed[b.logical_port] = _with_sb(b, south)

    datapaths = _derived_datapaths(topo, south, since)
    bindings = _derived_bindings(since.bindings, changed, len(p0))
    psb = PredictedSouthbound(
        topology=topo,
        datapaths=datapaths,
        bindings=bindings,
        events=(),
        nb_source=src,
        southbound=south,
        language=since.language,
        edited=(weakref.ref(since), frozenset(changed)),
        # no changed binding is a patch or l3gateway, nor the peer one names (`guarded`)
        **_reindexed(since, bindings, changed, links=since.links),
    )
    _carry_memos(psb, since, changed)
    return psb


def _derived_router_side(topo: LogicalTopology, south: Southbound | None,
                         since: PredictedSouthbound, src: str) -> PredictedSouthbound | None:
    """`predict_southbound` from `since` where the change reached the router side (a
    network deleted with its router port, a router port or router added or removed, a
    peer or MAC changed), which `_derived` leaves to the whole computation: the join and
    the bindings it decides -- every router-type switch port, router port and
    chassisredirect port, ~1 port in 10 -- are made again as the whole computation makes
    them (`_join`, `_router_lsp_binding`, `_router_port_bindings`); of the other switch
    ports only those the change touched (a vtep port among them: the chassisredirect
    bindings, made again, read the switches' vtep ports). None where northd would warn,
    or where a chassisredirect port takes a switch port's name: the caller computes it
    all."""
    t0 = since.topology
    if since.events or topo.duplicate_ports or since.nb_source != src:
        return None
    p0, p1 = t0.switch_ports, topo.switch_ports
    n0 = len(p0)
    if len(since.bindings) < n0 or any(n in p0 for n in since.by_type.get(
            "chassisredirect", ())):
        # not the shape below (switch ports first, then the router side), or a
        # chassisredirect port holding a switch port's name and place: compute it all
        return None
    warned: list[str] = []

    def northd(level: str, msg: str, lport: str = "", ev: tuple[Evidence, ...] = ()) -> None:
        warned.append(msg)

    join = _join(topo, src, northd)
    if warned:
        return None
    before = since.bindings
    changed: dict[str, Binding | None] = {}

    def put(b: Binding) -> None:
        ob = before.get(b.logical_port)
        if ob is None or not _same_but_sb(ob, b):
            changed[b.logical_port] = _with_sb(b, south)

    for n in topo.changed_ports(t0):
        new = p1.get(n)
        if new is None:
            changed[n] = None
        elif new.type != "router":  # (router-type ones: below, with all of them)
            put(_switch_port_binding(new, south, src, northd))
    router_lsps = [p for p in p1.values() if p.type == "router"]
    for lsp in router_lsps:
        put(_router_lsp_binding(lsp, join, topo))
    vtep = {p.switch_uuid for p in p1.values() if p.type == "vtep"}
    router_side = _router_port_bindings(topo, join, vtep, src, northd)
    if warned or any(b.logical_port in p1 for b in router_side):
        return None
    for b in router_side:
        put(b)
    # what was a router or chassisredirect port's and is no more
    now = {b.logical_port for b in router_side}
    for n in itertools.islice(before, n0, None):
        if n not in now:
            changed[n] = None
    # the order of the whole computation: switch ports by name, then the router side's
    keys = list(itertools.islice(before, n0))
    gone = {n for n, b in changed.items() if b is None and n in p0}
    if gone:
        keys = [n for n in keys if n not in gone]
    new_lsps = sorted(n for n in changed if n in p1 and n not in p0)
    if new_lsps:
        keys += new_lsps
        keys.sort()
    keys += (b.logical_port for b in router_side)
    bindings = MappingProxyType({n: changed.get(n) or before[n] for n in keys})
    psb = PredictedSouthbound(
        topology=topo,
        datapaths=_derived_datapaths(topo, south, since),
        bindings=bindings,
        events=(),
        nb_source=src,
        southbound=south,
        language=since.language,
        edited=(weakref.ref(since), frozenset(changed)),
        **_reindexed(since, bindings, changed),
    )
    _carry_memos(psb, since, changed)
    return psb


def _reindexed(since: PredictedSouthbound, bindings: Mapping[str, Binding],
               changed: Mapping[str, Binding | None],
               links: Mapping[str, tuple[str, ...]] | None = None) -> Indexes:
    """`indexes(bindings)` from `since`'s, where `bindings` differ from `since.bindings` in
    `changed` only (None: gone): an entry is sorted again only where a changed binding
    leaves or joins it. `links`, where the caller knows them to be `since`'s; otherwise
    they are read again from the patch and l3gateway ports (a port's link also goes when
    its peer's binding goes)."""
    before = since.bindings

    def index(old: Mapping[str, tuple[str, ...]],
              key: Callable[[Binding], str | None]) -> Mapping[str, tuple[str, ...]]:
        gone: dict[str, set[str]] = {}  # entry -> names that leave it
        joined: dict[str, list[str]] = {}  # entry -> names that join it
        entries: dict[str, None] = {}  # both, in the order met (a new entry's place)
        for n, b in changed.items():
            ob = before.get(n)
            k0 = key(ob) if ob is not None else None
            k1 = key(b) if b is not None else None
            if k0 == k1:
                continue  # in the same entry as before (its names are sorted the same)
            if k0 is not None:
                gone.setdefault(k0, set()).add(n)
                entries[k0] = None
            if k1 is not None:
                joined.setdefault(k1, []).append(n)
                entries[k1] = None
        if not entries:
            return old
        out = thawed(old)
        for k in entries:
            # An entry holds up to every port of a type (50k VIFs): its sorted names are
            # filtered, and those joining sorted in (Timsort merges a sorted run with a
            # short tail in linear time), not all of them hashed and sorted again. A name
            # joins an entry it was not in (its entry before was another, or none).
            out_k = gone.get(k)
            names = ([x for x in old.get(k, ()) if x not in out_k] if out_k
                     else list(old.get(k, ())))
            if k in joined:
                names += joined[k]
                names.sort()
            if names:
                out[k] = tuple(names)
            else:
                out.pop(k, None)
        return MappingProxyType(out)

    by_type = index(since.by_type, lambda b: b.type)
    if links is None:
        found: dict[str, list[str]] = {}
        for typ in ("patch", "l3gateway"):
            for n in by_type.get(typ, ()):
                b = bindings[n]
                if b.peer is not None and b.peer in bindings:
                    found.setdefault(b.datapath, []).append(n)
        links = {k: tuple(sorted(v)) for k, v in found.items()}
        links = since.links if links == since.links else MappingProxyType(links)
    return Indexes(
        by_datapath=index(since.by_datapath, lambda b: b.datapath),
        by_type=by_type,
        children=index(since.children, lambda b: b.parent_port),
        links=links,
        localnets=index(since.localnets,
                        lambda b: b.datapath if b.type == "localnet" else None))


def _carry_memos(psb: PredictedSouthbound, since: PredictedSouthbound,
                 changed: Mapping[str, Binding | None]) -> None:
    """Give `psb` what `since` derived on first use where it would derive the same."""
    before = since.bindings
    touched = {b.type for b in (*changed.values(), *(before.get(n) for n in changed))
               if b is not None}
    for attr, inputs in _DERIVED_FROM.items():
        if attr in since.__dict__ and all(getattr(psb, f) is getattr(since, f)
                                          for f in inputs):
            psb.__dict__[attr] = since.__dict__[attr]  # a cached_property's own slot
    # The link index reads the links, the patch and l3gateway ports on them (type, chassis),
    # their peers' datapaths and the chassisredirect ports their gateway ports name: the
    # earlier one where none of those changed, else one built again that keeps what of the
    # earlier one still holds.
    # `claimable` reads the ports of the global types, their chassis options and HA groups:
    # the earlier one's only where no port of those types changed.
    same_links = psb.links is since.links and not touched & _LINK_TYPES
    if "link_peers" in since.__dict__ and same_links:
        psb.__dict__["link_peers"] = since.__dict__["link_peers"]
    if "link_index" in since.__dict__:
        li = since.__dict__["link_index"]
        psb.__dict__["link_index"] = (
            li if same_links and since.link_peers.isdisjoint(changed) else li.again(psb))
    if "named_peers" in since.__dict__ and not touched & {"patch", "l3gateway"}:
        psb.__dict__["named_peers"] = since.__dict__["named_peers"]
    if "claimable" in since.__dict__ and not touched & set(GLOBAL_TYPES):
        psb.__dict__["claimable"] = since.__dict__["claimable"]


# the binding types a link index reads (besides the links)
_LINK_TYPES = frozenset({"patch", "l3gateway", "chassisredirect"})


def _redirects_to_redo(topo: LogicalTopology,
                       since: PredictedSouthbound) -> list[RouterPort] | None:
    """The distributed gateway ports whose chassisredirect bindings must be made again
    (by name), where the router side changed only in what those read: a router's NAT or
    options other than `chassis`, a router port's gateway chassis, HA chassis group or
    options. None where it changed in anything the join of ports and peers or the other
    bindings read (ports added, removed, renamed or moved; a MAC, a peer, whether a port is
    a gateway port, a router's `chassis`, name or ports): the caller computes it all."""
    t0 = since.topology
    r0, r1, p0, p1 = t0.routers, topo.routers, t0.router_ports, topo.router_ports
    if r1 is r0 and p1 is p0:
        return []
    if r0.keys() != r1.keys() or p0.keys() != p1.keys():
        return None
    names: set[str] = set()
    for u, r in r1.items():
        old = r0[u]
        if r is not old:
            if r.name != old.name or r.ports != old.ports or r.chassis != old.chassis:
                return None
            names.update(r.ports)
    for n, rp in p1.items():
        old_p = p0[n]
        if rp is not old_p:
            if (rp.mac != old_p.mac or rp.peer != old_p.peer or rp.router != old_p.router
                    or rp.router_uuid != old_p.router_uuid
                    or rp.is_gateway_port != old_p.is_gateway_port):
                return None
            names.add(n)
    out = []
    for n in sorted(names):
        cr = since.bindings.get(f"cr-{n}")
        if n in p1 and cr is not None and cr.type == "chassisredirect" and cr.nb_row == n:
            out.append(p1[n])
    return out


def _derived_datapaths(topo: LogicalTopology, south: Southbound | None,
                       since: PredictedSouthbound) -> Mapping[str, Datapath]:
    """The datapaths, switches first (in the topology's order) then routers, `since`'s
    object wherever the switch or router is the same or the datapath equal."""
    d0, s0 = since.datapaths, since.topology.switches
    out: dict[str, Datapath] = {}
    same = len(topo.switches) == len(s0)
    for u, s in topo.switches.items():
        d = d0.get(u)
        if d is None or s0.get(u) is not s:
            nd = _switch_datapath(s, south)
            if nd != d:
                d, same = nd, False
        out[u] = d
    for u, r in topo.routers.items():
        d = d0.get(u)
        if d is None or since.topology.routers.get(u) is not r:
            nd = _router_datapath(r, south)
            if nd != d:
                d, same = nd, False
        out[u] = d
    if same and list(out) == list(d0):
        return d0
    return MappingProxyType(out)


def _switch_datapath(s: Switch, south: Southbound | None) -> Datapath:
    return Datapath(s.uuid, s.name, "switch", _tunnel_key(south, s.uuid, s.other_config))


def _router_datapath(r: Router, south: Southbound | None) -> Datapath:
    return Datapath(r.uuid, r.name, "router", _tunnel_key(south, r.uuid, r.options))


def _derived_bindings(before: Mapping[str, Binding], changed: Mapping[str, Binding | None],
                      n_switch_ports: int) -> Mapping[str, Binding]:
    """`before` with `changed` applied (None: gone), in the whole computation's order: the
    switch ports' bindings first, by name, then the router ports' and chassisredirect
    ports'."""
    if not changed:
        return before
    if all(n in before for n, b in changed.items() if b is not None):
        # edited and deleted only: every binding keeps its place (a copy of the dict is
        # C-speed; a new one in a new order is not)
        out = thawed(before)
        for n, b in changed.items():
            if b is None:
                out.pop(n, None)
            else:
                out[n] = b
        return MappingProxyType(out)
    keys = list(before)
    lsp_keys, rest = keys[:n_switch_ports], keys[n_switch_ports:]
    gone = {n for n, b in changed.items() if b is None}
    if gone:
        lsp_keys = [n for n in lsp_keys if n not in gone]
    for n in sorted(n for n, b in changed.items() if b is not None and n not in before):
        bisect.insort(lsp_keys, n)
    lsp_keys.extend(rest)
    return MappingProxyType({n: changed.get(n) or before[n] for n in lsp_keys})


def _switch_port_binding(lsp: SwitchPort, south: Southbound | None, src: str,
                         northd: Emit) -> Binding:
    """The binding of a switch port that is not of type router (its peer decides those),
    before SB is applied (`_with_sb`)."""
    typ = lsp.type
    if typ not in KNOWN_LSP_TYPES:
        northd("WARN", f"Unknown port type '{typ}' set on logical switch '{lsp.name}'.",
               lsp.name, (Evidence(_(
                       "{name} has type {typ!r}").format(
                       name=lsp.name, typ=typ), src,
                                   "Logical_Switch_Port", lsp.name),))
        # The SB type is left as it was: "" (a VIF) for a new binding.
        old = south.port_bindings.get(lsp.name) if south is not None else None
        typ = old.type if old is not None else ""
    ha: tuple[HaChassis, ...] = ()
    ha_ev: tuple[Evidence, ...] = ()
    if typ == "external" and lsp.ha_chassis_group is not None:
        ha = lsp.ha_chassis_group.members
        ha_ev = (Evidence(
            _(
                    "external port {name} uses HA_Chassis_Group {name2} ({ha})").format(
                    name=lsp.name, name2=lsp.ha_chassis_group.name, ha=_members(ha)), src,
                        "HA_Chassis_Group", lsp.ha_chassis_group.name),)
    return Binding(
        lsp.name, typ, lsp.switch_uuid, lsp.options,
        parent_port=lsp.parent_name if lsp.parent_name else None,
        ha_chassis=ha, ha_evidence=ha_ev, nb_row=lsp.name,
    )


def _with_sb(b: Binding, south: Southbound | None) -> Binding:
    """`b` with what only SB knows (which chassis holds it, its tunnel key)."""
    pb = south.port_bindings.get(b.logical_port) if south is not None else None
    if pb is None:
        return b
    return replace(b, in_sb=True, sb_chassis=pb.chassis,
                   sb_additional_chassis=pb.additional_chassis,
                   virtual_parent=pb.virtual_parent, sb_tunnel_key=pb.tunnel_key)


def _same_but_sb(old: Binding, b: Binding) -> bool:
    """`old` is `b` with what SB says applied (the fields northd's prediction makes)."""
    return (old.logical_port == b.logical_port and old.type == b.type
            and old.datapath == b.datapath and old.nb_table == b.nb_table
            and old.nb_row == b.nb_row and old.parent_port == b.parent_port
            and old.options == b.options and old.ha_chassis == b.ha_chassis
            and old.ha_evidence == b.ha_evidence)


def _redirect_binding(rp: RouterPort, router: Router, peer_has_vtep: bool, src: str,
                      northd: Emit) -> Binding:
    """`cr-<rp>`, the chassisredirect binding of a distributed gateway port `rp` (on a
    router without options:chassis), before SB is applied. `peer_has_vtep`: the switch on
    the other side of `rp` has vtep ports."""
    ha, ha_ev = _gateway_group(rp, src, northd)
    cr_opts = {"distributed-port": rp.name}
    always, why = _always_redirect(rp, router, peer_has_vtep, src)
    redirect_type = rp.options.get("redirect-type")
    if redirect_type is not None:
        cr_opts["redirect-type"] = redirect_type
        if redirect_type == "bridged":
            always = False
            why = (*why, Evidence(_(
                    "{name} has options:redirect-type=bridged, which disables "
                    "always-redirect").format(
                    name=rp.name), src, "Logical_Router_Port",
                                  rp.name))
    if always:
        cr_opts["always-redirect"] = "true"
    return Binding(
        f"cr-{rp.name}", "chassisredirect", rp.router_uuid, MappingProxyType(cr_opts),
        ha_chassis=ha, ha_evidence=(*ha_ev, *why), nb_table="Logical_Router_Port",
        nb_row=rp.name,
    )


def peer_switch(peer: str | None, topo: LogicalTopology) -> str | None:
    """NB uuid of the switch holding `peer`, the port on the other side of a router port
    (the join's answer), if it is a switch port."""
    lsp = topo.switch_ports.get(peer or "")
    return lsp.switch_uuid if lsp is not None else None


def _members(ha: tuple[HaChassis, ...]) -> str:
    return ", ".join(f"{m.chassis_name} priority {m.priority}" for m in ha) or "no chassis"


Emit = Callable[[str, str, str, tuple[Evidence, ...]], None]


def _gateway_group(rp: RouterPort, src: str, northd: Emit) -> tuple[
        tuple[HaChassis, ...], tuple[Evidence, ...]]:
    # ovn_port_update_sbrec(): HA_Chassis_Group wins over Gateway_Chassis; the latter is
    # copied into an SB HA_Chassis_Group named after the LRP.
    if rp.ha_chassis_group is not None:
        if rp.gateway_chassis:
            northd("WARN", f"Both ha_chassis_group and gateway_chassis configured on port "
                   f"{rp.name}; ignoring the latter.", rp.name, ())
        g = rp.ha_chassis_group
        return g.members, (Evidence(
            _(
                    "{name} is a distributed gateway port with HA_Chassis_Group {name2} "
                    "({members})").format(
                    name=rp.name, name2=g.name, members=_members(g.members)), src,
                        "HA_Chassis_Group", g.name),)
    ha = tuple(HaChassis(g.chassis_name, g.priority) for g in rp.gateway_chassis)
    ev = tuple(
        Evidence(_(
                "{name} is a distributed gateway port with gateway chassis {chassis_name} "
                "priority {priority}").format(
                name=rp.name, chassis_name=g.chassis_name, priority=g.priority), src,
                    "Gateway_Chassis", g.name)
        for g in rp.gateway_chassis)
    return ha, ev


def _nat_external_ip_valid(ip: str) -> bool:
    # init_nat_entries(): extract_ip_addresses() + nat_entry_is_valid(): exactly one address.
    parts = ip.split()
    if len(parts) != 1:
        return False
    try:
        ipaddress.ip_address(parts[0])
    except ValueError:
        return False
    return True


def _always_redirect(rp: RouterPort, router: Router, peer_has_vtep: bool,
                     src: str) -> tuple[bool, tuple[Evidence, ...]]:
    """always-redirect = !od->has_distributed_nat && !peer switch has vtep ports."""
    dist = [n for n in router.nat
            if n.type == "dnat_and_snat" and n.logical_port and n.external_mac
            and _nat_external_ip_valid(n.external_ip)]
    if dist:
        n = dist[0]
        return False, (Evidence(
            _(
                    "router {name} has a distributed NAT ({external_ip} -> {logical_ip} on "
                    "{logical_port} with external_mac {external_mac}), so northd does not set "
                    "always-redirect on cr-{name2}: the switch behind {name2} is local wherever "
                    "{name} is").format(
                    name=router.name, external_ip=n.external_ip, logical_ip=n.logical_ip,
                    logical_port=n.logical_port, external_mac=n.external_mac, name2=rp.name),
                        src, "NAT", n.uuid),)
    if peer_has_vtep:
        return False, (Evidence(
            _(
                    "the switch behind {name} has vtep ports, so northd does not set "
                    "always-redirect on cr-{name}").format(
                    name=rp.name), src, "Logical_Router_Port", rp.name),)
    return True, (Evidence(
        _(
                "router {name} has no distributed NAT (dnat_and_snat with logical_port and "
                "external_mac), so northd sets always-redirect=true on cr-{name2}: the switch "
                "behind {name2} is local only on its gateway chassis").format(
                name=router.name, name2=rp.name), src, "Logical_Router",
        router.name),)


def _tunnel_key(south: Southbound | None, uuid: str, cfg: Mapping[str, str]) -> int | None:
    if south is not None:
        k = south.tunnel_key_for(uuid)
        if k is not None:
            return k
    try:
        req = int(cfg.get("requested-tnl-key", "0"))
    except ValueError:
        req = 0
    return req or None
