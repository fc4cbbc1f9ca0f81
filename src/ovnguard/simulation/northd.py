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

import ipaddress
import itertools
import re
import weakref
from collections.abc import Callable, Iterable, Mapping
from dataclasses import field, replace
from functools import cached_property
from types import MappingProxyType
from typing import TYPE_CHECKING, TypedDict

from ovnguard.i18n import _, current_language
from ovnguard.model.db import Database, differing
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
    # differ from its (`derive_ports`): `changed_bindings` reads them instead of all bindings
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
    def peered_by(self) -> Mapping[str, tuple[str, ...]]:
        """name -> the patch and l3gateway ports naming it as their peer: the links that
        come or go with its binding (`northd_inc.reindexed`)."""
        out: dict[str, list[str]] = {}
        for typ in ("patch", "l3gateway"):
            for n in self.by_type.get(typ, ()):
                peer = self.bindings[n].peer
                if peer is not None:
                    out.setdefault(peer, []).append(n)
        return MappingProxyType({k: tuple(v) for k, v in out.items()})

    @cached_property
    def named_peers(self) -> frozenset[str]:
        """The peers the patch and l3gateway bindings name (a link appears when a port of
        that name is made, whether or not one is there now)."""
        return frozenset(self.bindings[n].options.get("peer", "")
                         for typ in ("patch", "l3gateway") for n in self.by_type.get(typ, ()))

    @cached_property
    def guarded(self) -> frozenset[str]:
        """`named_peers` and the peers its router ports name: the names a switch port must
        not take for `derive_ports` to make its binding alone (a loaded model's state before
        answers every what-if that leaves the routers alone)."""
        return self.named_peers.union(rp.peer for rp in self.topology.router_ports.values()
                                      if rp.peer)

    @cached_property
    def join(self) -> Join:
        """The join of this prediction's topology, what `derive_router_side` derives the
        next one's from: the one `predict_southbound` made, or made again on first use (only
        read of a prediction without northd's events, the join's warnings among them)."""
        return join_ports(self.topology, self.nb_source, _unheard)

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
    # (imported here: northd_inc builds on this module's bindings and join)
    from ovnguard.simulation import northd_inc as inc

    if since is not None and reuse:
        derived = (inc.derive_ports(topo, south, since, nb.source)
                   or inc.derive_router_side(topo, south, since, nb.source))
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
        datapaths[s.uuid] = switch_datapath(s, south)
    for r in topo.routers.values():
        datapaths[r.uuid] = router_datapath(r, south)

    for d in topo.duplicate_ports:
        northd("WARN", f"duplicate logical port {d}", d)

    join = join_ports(topo, src, northd)
    bindings: dict[str, Binding] = {}

    def put(b: Binding) -> None:
        # the same binding as `since` had, before SB: `since`'s, SB and all (no copy made)
        old = old_bindings.get(b.logical_port)
        if old is not None and same_but_sb(old, b):
            bindings[b.logical_port] = old
            as_before.add(b.logical_port)
        else:
            bindings[b.logical_port] = b
            as_before.discard(b.logical_port)

    # Switch ports.
    for lsp in sorted(topo.switch_ports.values(), key=lambda p: p.name):
        if lsp.type == "router":
            put(router_lsp_binding(lsp, join, topo))
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
        put(switch_port_binding(lsp, south, src, northd))

    # Router ports and chassisredirect ports.
    for b in router_port_bindings(topo, join, src, northd):
        put(b)

    if south is not None:
        for name, b in list(bindings.items()):
            if name not in as_before:
                bindings[name] = with_sb(b, south)

    changed: dict[str, Binding | None] = {}
    if since is None or not reuse:
        edited, idx = None, indexes(bindings)
    else:
        # from the state before: what differs from its bindings is known (every binding
        # not taken from it differs: `put`), so its indexes are edited, not built again
        changed = {n: b for n, b in bindings.items() if n not in as_before}
        changed.update((n, None) for n in old_bindings if n not in bindings)
        edited = (weakref.ref(since), frozenset(changed))
        idx = inc.reindexed(since, bindings, changed)
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
        inc.carry_memos(psb, since, changed)
    psb.__dict__["join"] = join  # its cached_property, already made
    return psb


@record(slots=True)
class Join:
    """join_logical_ports(): the router ports that exist (a bad MAC or a switch port's name
    drops one), each router-type switch port's router port, and each router port's peer
    (the first router-type switch port naming it, by name, else its own `peer` column when
    that names a router port). With them, what the one pass over the switch ports found
    for the bindings made after the join: the router-type switch ports and the switches
    with vtep ports (a chassisredirect port's always-redirect reads them)."""

    lrps: Mapping[str, RouterPort]  # by name, sorted
    lsp_peer: Mapping[str, RouterPort]  # router-type LSP name -> its LRP
    lrp_peer: Mapping[str, str]  # LRP name -> peer (LSP or LRP name)
    router_lsps: tuple[SwitchPort, ...]  # the switch ports of type router, by name
    vtep_switches: frozenset[str]  # uuids of the switches with a vtep port


def _unheard(level: str, msg: str, lport: str = "", ev: tuple[Evidence, ...] = ()) -> None:
    """A join made again of a topology whose warnings its prediction already holds."""


def scan_switch_ports(ports: Iterable[SwitchPort]) -> tuple[tuple[SwitchPort, ...],
                                                             frozenset[str]]:
    """The switch ports of type router, by name, and the uuids of the switches with a vtep
    port: what the join needs of every switch port (~200k at the goal size), in one pass,
    sorting the router-type ones only (1 in 10)."""
    router_lsps: list[SwitchPort] = []
    vtep_switches: set[str] = set()
    for p in ports:
        if p.type == "router":
            router_lsps.append(p)
        elif p.type == "vtep":
            vtep_switches.add(p.switch_uuid)
    router_lsps.sort(key=lambda p: p.name)
    return tuple(router_lsps), frozenset(vtep_switches)


def join_ports(topo: LogicalTopology, src: str, northd: Emit,
               scan: tuple[tuple[SwitchPort, ...], frozenset[str]] | None = None) -> Join:
    """`scan`: `scan_switch_ports` of `topo`'s switch ports, where the caller has it."""
    lrps: dict[str, RouterPort] = {}
    def mac_fact(rp: RouterPort) -> tuple[Evidence, ...]:  # made only for a warning
        return (Evidence(_("router port {name} has mac {mac!r}").format(
            name=rp.name, mac=rp.mac), src, "Logical_Router_Port", rp.name),)

    for rp in sorted(topo.router_ports.values(), key=lambda p: p.name):
        if not _MAC.match(rp.mac):
            northd("WARN", f"bad 'mac' {rp.mac}", rp.name, mac_fact(rp))
            continue
        if rp.name in topo.switch_ports:
            # Both live in one `ports` hmap keyed by name; which one northd keeps depends on
            # datapath hash order. Keep the switch port and say so.
            northd("WARN", f"duplicate logical router port {rp.name}", rp.name, mac_fact(rp))
            continue
        lrps[rp.name] = rp

    # Peers (join_logical_ports(), second loop).
    lrp_peer: dict[str, str] = {}  # LRP name -> peer key (LSP or LRP name)
    lsp_peer: dict[str, RouterPort] = {}  # LSP name -> LRP
    router_lsps, vtep_switches = scan or scan_switch_ports(topo.switch_ports.values())
    for lsp in router_lsps:
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
    return Join(lrps, lsp_peer, lrp_peer, router_lsps, vtep_switches)


def router_lsp_binding(lsp: SwitchPort, join: Join, topo: LogicalTopology) -> Binding:
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


def router_port_bindings(topo: LogicalTopology, join: Join, src: str, northd: Emit,
                         ports: Iterable[RouterPort] | None = None) -> list[Binding]:
    """The router ports' bindings, by name, each distributed gateway port's chassisredirect
    binding after its own, before SB (`ports`: of those of the join's router ports only)."""
    out: list[Binding] = []
    for rp in join.lrps.values() if ports is None else ports:
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
        out.append(redirect_binding(rp, router, peer_switch(peer, topo) in join.vtep_switches,
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


def is_link(b: Binding, bindings: Mapping[str, Binding]) -> bool:
    """Whether `b` is a link of its datapath (`Indexes.links`): a patch or l3gateway port
    whose peer has a binding."""
    return b.type in ("patch", "l3gateway") and b.peer is not None and b.peer in bindings


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
        if is_link(b, bindings):
            links.setdefault(b.datapath, []).append(b.logical_port)
        if b.type == "localnet":
            localnets.setdefault(b.datapath, []).append(b.logical_port)

    def frozen(index: dict[str, list[str]]) -> Mapping[str, tuple[str, ...]]:
        return MappingProxyType({k: tuple(sorted(v)) for k, v in index.items()})

    return Indexes(by_datapath=frozen(by_dp), by_type=frozen(by_type),
                   children=frozen(children), links=frozen(links),
                   localnets=frozen(localnets))


def switch_datapath(s: Switch, south: Southbound | None) -> Datapath:
    return Datapath(s.uuid, s.name, "switch", _tunnel_key(south, s.uuid, s.other_config))


def router_datapath(r: Router, south: Southbound | None) -> Datapath:
    return Datapath(r.uuid, r.name, "router", _tunnel_key(south, r.uuid, r.options))


def switch_port_binding(lsp: SwitchPort, south: Southbound | None, src: str,
                        northd: Emit) -> Binding:
    """The binding of a switch port that is not of type router (its peer decides those),
    before SB is applied (`with_sb`)."""
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


def with_sb(b: Binding, south: Southbound | None) -> Binding:
    """`b` with what only SB knows (which chassis holds it, its tunnel key)."""
    pb = south.port_bindings.get(b.logical_port) if south is not None else None
    if pb is None:
        return b
    return replace(b, in_sb=True, sb_chassis=pb.chassis,
                   sb_additional_chassis=pb.additional_chassis,
                   virtual_parent=pb.virtual_parent, sb_tunnel_key=pb.tunnel_key)


def same_but_sb(old: Binding, b: Binding) -> bool:
    """`old` is `b` with what SB says applied (the fields northd's prediction makes)."""
    return (old.logical_port == b.logical_port and old.type == b.type
            and old.datapath == b.datapath and old.nb_table == b.nb_table
            and old.nb_row == b.nb_row and old.parent_port == b.parent_port
            and old.options == b.options and old.ha_chassis == b.ha_chassis
            and old.ha_evidence == b.ha_evidence)


def redirect_binding(rp: RouterPort, router: Router, peer_has_vtep: bool, src: str,
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
