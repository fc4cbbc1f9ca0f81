"""One chassis' ovn-controller 23.03: which ports it binds, which datapaths are local, and
which patch ports `patch_run()` wants. Pure: inputs are the predicted SB and the host's
configuration.

Sources (ovn v23.03.1):
- controller/binding.c `binding_run()`, `build_local_bindings()`, `consider_vif_lport_()`,
  `consider_container_lport()`, `consider_virtual_lport()`, `consider_localport()`,
  `consider_l2gw_lport()`, `consider_l3gw_lport()`, `consider_ha_lport()`,
  `update_ld_localnet_port()`, `ovs_iface_matches_lport_iface_id_ver()`;
- controller/lport.c `lport_can_bind_on_this_chassis()`;
- controller/local_data.c `add_local_datapath__()`, `need_add_peer_to_local()`;
- controller/ha-chassis.c `ha_chassis_group_contains()` (membership, whatever the priority);
- controller/patch.c `add_bridge_mappings()`, `add_bridge_mappings_by_type()`,
  `patch_port_name()`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import field, replace
from types import MappingProxyType

from ovnguard.i18n import _, current_language
from ovnguard.model.evidence import Evidence
from ovnguard.model.ovs import PATCH_OWNER_KEY_BY_TYPE
from ovnguard.record import record
from ovnguard.simulation.hostconfig import ControllerInterface, HostConfig
from ovnguard.simulation.locality import Lazy
from ovnguard.simulation.mappings import BridgeMappings, parse_bridge_mappings
from ovnguard.simulation.northd import Binding, PredictedSouthbound
from ovnguard.simulation.patchrun import (
    PatchPair,
    conflict_message,
    may_conflict,
    ovs_state,
    patch_run,
)
from ovnguard.simulation.types import (
    LAB_NOTES,
    OVN_SRC,
    ControllerEvent,
    EventKind,
    HostRealization,
    PatchPort,
)

Chain = tuple[Evidence, ...]
NbEvidence = Callable[[Binding, str], Evidence]


@record
class HostPrediction:
    realization: HostRealization
    config: HostConfig
    mappings: BridgeMappings
    pairs: tuple[PatchPair, ...]
    local: Mapping[str, Chain]  # NB datapath uuid -> chain
    # False: ovn-controller has no chassis here (no system-id, no encap, not running) and,
    # in its main loop, skips binding and patch_run() altogether -- ports stay as they are.
    active: bool = True
    # what binding_run() and the local datapaths came to, before the localnet ports were
    # looked at: a change to localnet ports alone starts from it (`realize_patches`)
    localized: Localized | None = field(default=None, compare=False, repr=False)


@record
class Localized:
    """One chassis after binding_run() and add_local_datapath(): what it binds and which
    datapaths are local. Localnet ports take no part in either (binding.c claims none,
    local_data.c follows patch and l3gateway links only), so a change to localnet ports
    alone leaves it as it was."""

    chassis: str
    bm: BridgeMappings
    map_ev: Evidence
    events: tuple[ControllerEvent, ...]
    bound: Mapping[str, Chain]
    local: Mapping[str, Chain]
    local_uuids: frozenset[str]  # `local`'s keys, the set chassis with the same share
    # the datapaths it binds (the walk's roots), each with its chain
    roots: Mapping[str, Chain] = field(default_factory=dict, compare=False, repr=False)


def realize_host(psb: PredictedSouthbound, hc: HostConfig,
                 seed_local: Mapping[str, Chain] | None = None) -> HostPrediction:
    """Predict one chassis. `seed_local` adds datapaths that are local already (what
    incremental processing keeps from before a change)."""
    events: list[ControllerEvent] = []
    notes = list(hc.notes)
    for level, msg in hc.problems:
        events.append(ControllerEvent(level, msg, evidence=(hc.evidence(
            f"{hc.host}'s Open_vSwitch external_ids lack what ovn-controller needs",
            "Open_vSwitch", "external_ids"),), where="controller/chassis.c"))
    bm = parse_bridge_mappings(hc.mappings_raw, hc.bridges, hc.mappings_key)
    nothing = (hc.chassis is None or not hc.encap_ok or not hc.controller_expected
               or hc.based_on == "none")
    if nothing:
        return HostPrediction(
            HostRealization(
                host=hc.host, chassis=hc.chassis, events=tuple(events),
                integration_bridge=hc.integration_bridge, based_on=hc.based_on,
                notes=(*notes, "ovn-controller cannot realize anything on this host"),
            ),
            hc, bm, (), MappingProxyType({}), active=False,
        )
    chassis = hc.chassis or ""  # not None here: `nothing` covers it
    map_ev = hc.evidence(
        f"{hc.host}'s Open_vSwitch external_ids:{hc.mappings_key}={hc.mappings_raw!r}"
        if hc.based_on == "ovs" else
        f"SB Chassis {chassis} reports ovn-bridge-mappings={hc.mappings_raw!r}",
        "Open_vSwitch" if hc.based_on == "ovs" else "Chassis",
        f"external_ids:{hc.mappings_key}" if hc.based_on == "ovs" else chassis)
    for p in bm.problems:
        events.append(ControllerEvent(p.level, p.message, evidence=(map_ev,), logged=p.logged,
                                      where="controller/patch.c add_ovs_bridge_mappings()"))

    bound, roots, bind_events = _binding_run(psb, hc, chassis)
    events.extend(bind_events)

    all_roots = _with_seeds(psb, roots, seed_local) if seed_local else roots
    local, local_uuids = _local_datapaths(psb, all_roots, chassis, hc.host, events)
    return realize_patches(psb, hc, Localized(chassis, bm, map_ev, tuple(events),
                                              bound, local, local_uuids, roots))


def realize_host_seeded(psb: PredictedSouthbound, scratch: HostPrediction,
                        seed_local: Mapping[str, Chain],
                        unreached: list[str] | None = None) -> HostPrediction:
    """`realize_host(psb, scratch.config, seed_local)` from `scratch`, the host's prediction
    on the same `psb` without seeds (ovn-controller's incremental state next to its full
    recompute): the binding run is the same, and the local datapaths are the scratch ones
    plus what the seeds it does not reach reach themselves -- everything the scratch
    prediction reaches is closed under the same links already. So the hundreds or thousands
    of local datapaths are not gone over again; the explanations, read rarely, come from the
    same walk over the same roots as `realize_host`'s. `unreached`: the seeds of `psb`'s
    datapaths the scratch prediction does not reach, sorted, where the caller knows them
    (hosts share their sets: realize.py works this out once for all of them)."""
    loc, hc = scratch.localized, scratch.config
    if loc is None or psb.link_index.warns or not _run_of(psb, hc, loc):
        # (the walk may log warnings, in its own order; or `scratch` was not made from the
        # binding run realize_host would take now -- another language: the whole computation)
        return realize_host(psb, hc, seed_local)
    extra = (unreached if unreached is not None
             else unreached_seeds(seed_local.keys(), loc.local_uuids, psb.datapaths))
    more = psb.link_index.local(extra, loc.chassis) if extra else frozenset()
    if more is None:
        return realize_host(psb, hc, seed_local)
    keys, local_uuids = (psb.link_index.union(loc.local_uuids, more) if more
                         else psb.link_index.shared(loc.local_uuids))
    roots, host, chassis = loc.roots, hc.host, loc.chassis

    def walk() -> _Walk:
        return _Walk(psb, _with_seeds(psb, roots, seed_local), chassis, host)

    local = Lazy.sharing(keys, _Deferred(walk).chain)
    return realize_patches(psb, hc, replace(loc, local=local, local_uuids=local_uuids))


def unreached_seeds(seeds: AbstractSet[str], local: AbstractSet[str],
                    datapaths: Mapping[str, object]) -> list[str]:
    """The seeds that still exist (in `datapaths`) and are not in `local`, sorted: what an
    incremental state keeps that its full computation does not reach."""
    return sorted(u for u in seeds - local if u in datapaths)


def _run_of(psb: PredictedSouthbound, hc: HostConfig, loc: Localized) -> bool:
    """Whether `loc` holds the binding run `_binding_run` gives now (remembered: the one
    `loc` came from, unless it was made in another language)."""
    return _binding_run(psb, hc, loc.chassis)[0] is loc.bound


def _with_seeds(psb: PredictedSouthbound, roots: Mapping[str, Chain],
                seed_local: Mapping[str, Chain]) -> Mapping[str, Chain]:
    """The walk's roots: the datapaths the chassis binds, then the seeds that still exist
    (each with the chain it came with, read only if an explanation is)."""
    seeded = [u for u in seed_local if u in psb.datapaths and u not in roots]
    if not seeded:
        return roots
    return Lazy([*roots, *seeded], lambda u: roots[u] if u in roots else seed_local[u])


_Run = tuple[Mapping[str, Chain], Mapping[str, Chain], tuple[ControllerEvent, ...]]


@record(slots=True)
class _Read:
    """What a binding run read besides the host's configuration and the chassis' claimable
    ports: the port names it looked up, the ports whose children it took as candidates,
    and the datapaths of the bindings it found (their labels and tables are in its text)."""

    names: frozenset[str]
    parents: frozenset[str]
    datapaths: frozenset[str]


def _binding_run(psb: PredictedSouthbound, hc: HostConfig, chassis: str) -> _Run:
    """binding_run(): what `chassis` binds and claims (port -> chain), the datapaths that
    seeds as local (datapath -> chain), and what it logs doing so. Once per prediction,
    host configuration and language: a host whose incremental state keeps datapaths the
    full computation drops (realize.py `_host_step`) is predicted twice with the same; and
    a prediction derived from another (`psb.edited`) takes that one's run of the same host
    configuration where it read nothing the change made differ (`_carried_run`)."""
    memo: dict[int, tuple[HostConfig, str, _Run, _Read]] = psb.__dict__.setdefault(
        "_binding_run", {})
    lang = current_language()
    got = memo.get(id(hc))
    if got is not None and got[0] is hc and got[1] == lang:
        return got[2]
    carried = _carried_run(psb, hc, chassis, lang)
    if carried is None:
        out, read = _bind_all(psb, hc, chassis)
    else:
        out, read = carried
    memo[id(hc)] = (hc, lang, out, read)
    return out


def _carried_run(psb: PredictedSouthbound, hc: HostConfig, chassis: str, lang: str
                 ) -> tuple[_Run, _Read] | None:
    """The run of `hc` on the prediction `psb` was derived from, where it is this one's: the
    same SB and NB source, the chassis may claim the same ports, no port whose binding
    differs (`edited`'s names, a superset) was looked up or names a looked-up parent (a new
    child), and the datapaths of the ports found are the same (a cross-host change, e.g. a
    switch deleted, re-predicts hosts whose own ports it left alone: a router's group)."""
    edited = psb.edited
    if edited is None:
        return None
    since = edited[0]()
    if (since is None or since.southbound is not psb.southbound
            or since.nb_source != psb.nb_source):
        return None
    got = since.__dict__.get("_binding_run", {}).get(id(hc))
    if got is None or got[0] is not hc or got[1] != lang:
        return None
    out, read = got[2], got[3]
    if psb.claimable.get(chassis, ()) != since.claimable.get(chassis, ()):
        return None
    b1 = psb.bindings
    for n in edited[1]:
        if n in read.names:
            return None
        b = b1.get(n)
        if b is not None and b.parent_port in read.parents:
            return None
    d0, d1 = since.datapaths, psb.datapaths
    if any(d1.get(u) != d0.get(u) for u in read.datapaths):
        return None
    return out, read


def _bind_all(psb: PredictedSouthbound, hc: HostConfig, chassis: str) -> tuple[_Run, _Read]:
    events: list[ControllerEvent] = []
    nb = psb.nb_source
    dp_name = psb.labels.__getitem__

    def nb_ev(b: Binding, fact: str) -> Evidence:
        return Evidence(fact, nb, b.nb_table, b.nb_row)

    # --- binding_run(): what this chassis binds / claims, and the datapaths that seeds.
    bound: dict[str, Chain] = {}
    roots: dict[str, Chain] = {}
    lbindings = _local_bindings(hc, events)

    def bind(b: Binding, chain: Chain) -> None:
        bound[b.logical_port] = chain
        if b.datapath not in roots:
            roots[b.datapath] = (*chain, Evidence(
                _(
                        "so {datapath} is a local datapath on {host} (binding.c, "
                        "add_local_datapath)").format(
                        datapath=dp_name(b.datapath), host=hc.host), nb,
                            psb.datapaths[b.datapath].nb_table,
                dp_name(b.datapath)))

    # Only ports that can bind here are looked at (a VIF with a local interface, children of
    # those, and the non-VIF types binding.c considers on every chassis).
    candidates = set(hc.sb_bound) if hc.based_on == "sb" else set(lbindings)
    parents = frozenset(candidates)
    for lport in parents:
        candidates.update(psb.children.get(lport, ()))
    # Of the types considered on every chassis, only those this chassis can claim: the
    # branches below bind nothing else (and say nothing about the others).
    candidates.update(psb.claimable.get(chassis, ()))
    datapaths: set[str] = set()
    looked_up = set(candidates)  # and the parents of container ports
    for name in sorted(candidates):
        b = psb.bindings.get(name)
        if b is None:
            continue
        datapaths.add(b.datapath)
        sw = dp_name(b.datapath)
        if b.type == "" and b.parent_port is None:
            chain = _vif_chain(b, hc, lbindings, chassis, events, sw, nb_ev)
            if chain is not None:
                bind(b, chain)
        elif b.type == "" and b.parent_port is not None:
            looked_up.add(b.parent_port)
            parent = psb.bindings.get(b.parent_port)
            if parent is None or parent.type != "" or parent.parent_port is not None:
                continue
            if hc.based_on == "sb":
                if name in hc.sb_bound:
                    bind(b, (hc.evidence(f"SB Port_Binding {name} is bound to {chassis}",
                                         "Port_Binding", name),
                             nb_ev(b, _("{name} is a port of {sw}").format(name=name, sw=sw))))
                continue
            iface = lbindings.get(b.parent_port)
            if iface is None:
                continue
            if not _can_bind(b, chassis, hc.hostname):
                events.append(_not_claiming(b, chassis))
                continue
            bind(b, (_iface_ev(hc, iface),
                     nb_ev(b, f"{name} is a container port of {b.parent_port} (parent_name) "
                              f"in {sw}, so it is bound where its parent's VIF is")))
        elif b.type == "virtual":
            if b.sb_chassis == chassis:
                bind(b, (Evidence(_(
                        "SB Port_Binding {name} (virtual, parent {virtual_parent}) is bound to "
                        "{chassis}; ovn-controller binds virtual ports when their parent answers "
                        "for the virtual IP, which only SB records").format(
                        name=name, virtual_parent=b.virtual_parent, chassis=chassis),
                            psb.southbound.source
                                  if psb.southbound else "", "Port_Binding", name),
                         nb_ev(b, _("{name} is a port of {sw}").format(name=name, sw=sw))))
        elif b.type in ("l2gateway", "l3gateway"):
            key = f"{b.type}-chassis"
            if b.options.get(key) == chassis:
                bind(b, (nb_ev(b, f"{name} is an {b.type} port of {sw} with options:{key}="
                                  f"{chassis}, so {hc.host} claims it"),))
        elif b.type in ("chassisredirect", "external") and any(
                m.chassis_name == chassis for m in b.ha_chassis):
            what = ("the chassisredirect port of distributed gateway port "
                    f"{b.options.get('distributed-port', '')}"
                    if b.type == "chassisredirect" else "an external port")
            bind(b, (*b.ha_evidence, nb_ev(
                b, f"{name} is {what} on {sw}; {chassis} is in its HA chassis group "
                   "(binding.c consider_ha_lport: members are local, active or not)")))
        # localport, localnet, patch, vtep, remote: nothing binds them here. A localport
        # (Neutron's metadata port) with a local interface does not make its datapath local.
    return ((MappingProxyType(bound), MappingProxyType(roots), tuple(events)),
            _Read(frozenset(looked_up), parents, frozenset(datapaths)))


def realize_patches(psb: PredictedSouthbound, hc: HostConfig, loc: Localized,
                    ) -> HostPrediction:
    """The rest of `realize_host` from what binding_run() came to: the localnet ports of the
    local datapaths, and the patch ports patch_run() wants for them. `loc` may come from an
    earlier prediction of the same host whose change touched localnet ports only."""
    chassis, bm, map_ev, bound, local = loc.chassis, loc.bm, loc.map_ev, loc.bound, loc.local
    events = list(loc.events)
    notes = list(hc.notes)
    nb = psb.nb_source
    dp_name = psb.labels.__getitem__

    def nb_ev(b: Binding, fact: str) -> Evidence:
        return Evidence(fact, nb, b.nb_table, b.nb_row)

    # --- update_ld_localnet_port(): one localnet port per local datapath, others warned.
    for uuid in sorted(u for u, names in psb.localnets.items() if len(names) > 1 and u in local):
        lns = [psb.bindings[n] for n in psb.localnets[uuid]
               if bm.bridge_for(psb.bindings[n].network_name or "\0") is not None]
        if len(lns) < 2:
            continue
        # Incremental processing keeps the port it saw first: one already in SB before one
        # the change adds, and among SB ports the older one, i.e. usually the lower port
        # tunnel key (northd allocates them in turn). A full recompute walks SB in hash
        # order instead; which name the warning carries is then not predictable.
        lns.sort(key=lambda b: (not b.in_sb, b.sb_tunnel_key or 0, b.logical_port))
        first = lns[0]
        tkey = psb.datapaths[uuid].tunnel_key
        for other in lns[1:]:
            events.append(ControllerEvent(
                "WARN",
                f"localnet port '{first.logical_port}' already set for datapath "
                f"'{tkey if tkey is not None else '?'}', skipping the new port "
                f"'{other.logical_port}'.",
                other.logical_port,
                (*local[uuid],
                 nb_ev(first, f"{dp_name(uuid)} has localnet port {first.logical_port} "
                              f"(network_name {first.network_name})"),
                 nb_ev(other, f"{dp_name(uuid)} also has localnet port {other.logical_port} "
                              f"(network_name {other.network_name})"),
                 Evidence(_(
                         "ovn-controller 23.03 still creates the patch pair of both (patch.c "
                         "iterates every localnet binding of a local datapath): two paths "
                         "between the same L2 domains"), LAB_NOTES)),
                where="controller/binding.c update_ld_localnet_port()"))

    # --- patch_run() -> add_bridge_mappings(): l2gateway first, then localnet (the order of
    # PATCH_OWNER_KEY_BY_TYPE).
    pairs: list[PatchPair] = []
    # Why each patch port exists: its datapath's locality (read lazily) + this tail.
    tails: dict[PatchPort, tuple[str, Chain]] = {}
    for typ, key in PATCH_OWNER_KEY_BY_TYPE.items():
        for name in psb.by_type.get(typ, ()):
            b = psb.bindings[name]
            if b.datapath not in local:
                continue
            if typ == "l2gateway" and name not in bound:
                continue
            sw = dp_name(b.datapath)
            network = b.network_name
            ln_ev = nb_ev(b, _(
                    "{sw} has {typ} port {name} with network_name {network}").format(
                    sw=sw, typ=typ, name=name, network=network))
            if network is None:
                events.append(ControllerEvent(
                    "ERR", f"{typ} port '{name}' has no network name.", name,
                    (*local[b.datapath], nb_ev(b, f"{name} has no options:network_name")),
                    where="controller/patch.c add_bridge_mappings_by_type()"))
                continue
            bridge = bm.bridge_for(network)
            if bridge is None:
                msg = (f"bridge not found for {typ} port '{name}' with network name "
                       f"'{network}'")
                events.append(ControllerEvent(
                    "ERR" if typ == "l2gateway" else "INFO",
                    msg if typ == "l2gateway" else f"{msg}; skipping", name,
                    (*local[b.datapath], ln_ev, hc.evidence(
                        f"{hc.host} has no usable mapping for {network} in ovn-bridge-mappings "
                        f"({hc.mappings_raw!r}), so no patch port is created",
                        map_ev.table, map_ev.row)),
                    where="controller/patch.c add_bridge_mappings_by_type()"))
                continue
            pair = PatchPair.make(name, key, network, hc.integration_bridge, bridge,
                                  b.datapath)
            pairs.append(pair)
            tail = (ln_ev, hc.evidence(
                _(
                        "{host} maps {network} to {bridge} (ovn-bridge-mappings)").format(
                        host=hc.host, network=network, bridge=bridge),
                map_ev.table, map_ev.row),
                Evidence(_(
                        "ovn-controller creates {ext_name} on {bridge} and {int_name} on "
                        "{br_int} (patch.c add_bridge_mappings_by_type)").format(
                        ext_name=pair.ext_name, bridge=bridge, int_name=pair.int_name,
                        br_int=pair.br_int), OVN_SRC + "controller/patch.c", None, None,
                         hc.host))
            for pp in pair.ports():
                tails[pp] = (b.datapath, tail)

    state = ovs_state(hc) if hc.based_on == "ovs" and pairs else None
    if state is not None and may_conflict(state, pairs):
        run = patch_run(state, hc.integration_bridge, pairs)
        for bridge, name, holder in run.conflicts:
            lport = next((p.lport for p in pairs if name in (p.int_name, p.ext_name)), "")
            events.append(ControllerEvent(
                "WARN", conflict_message(name), lport,
                (hc.evidence(f"{hc.host} already has a port named {name} on {holder}, which "
                             f"is not ovn-controller's to delete, so creating {name} on "
                             f"{bridge} makes ovn-controller's whole OVS transaction fail; it "
                             "is retried, and fails, on every iteration: no patch port "
                             "changes on this host (OVSDB: Port/Interface names are unique)",
                             "Port", name),),
                where="ovsdb_idl (ovn-controller's OVS transaction, patch.c patch_run)",
                kind=EventKind.ovs_transaction_fails))
            notes.append(f"ovn-controller cannot create {name} on {bridge}: the name is "
                         f"taken on {holder}; none of its patch port changes apply")

    real = HostRealization(
        host=hc.host,
        chassis=chassis,
        patch_ports=frozenset(tails),
        local_datapaths=ByName(psb, local),
        why=Lazy(tails, lambda pp: (*local[tails[pp][0]], *tails[pp][1])),
        events=tuple(events),
        integration_bridge=hc.integration_bridge,
        bridge_mappings=MappingProxyType(dict(bm.mappings)),
        bound_ports=bound,
        local_datapath_uuids=loc.local_uuids,
        based_on=hc.based_on,
        notes=tuple(notes),
    )
    return HostPrediction(real, hc, bm, tuple(pairs), local, localized=loc)


class ByName(Mapping[str, Chain]):
    """Local datapaths by the name the report shows: the label, or "label (uuid start)" where
    two local datapaths share it. A label no other datapath carries is looked up directly;
    the full list of names is made only when something iterates."""

    __slots__ = ("_all", "_local", "_psb")

    def __init__(self, psb: PredictedSouthbound, local: Mapping[str, Chain]) -> None:
        self._psb, self._local = psb, local
        self._all: dict[str, str] | None = None

    def _unique(self, name: object) -> str | None:
        uuids = self._psb.by_label.get(name) if isinstance(name, str) else None
        return uuids[0] if uuids is not None and len(uuids) == 1 else None

    def _names(self) -> dict[str, str]:
        if self._all is None:
            self._all = {n: u for u, n in _names(self._psb, self._local).items()}
        return self._all

    def __getitem__(self, name: str) -> Chain:
        u = self._unique(name)
        if u is not None:
            if u not in self._local:
                raise KeyError(name)
            return self._local[u]
        return self._local[self._names()[name]]

    def __contains__(self, name: object) -> bool:
        u = self._unique(name)
        if u is not None:
            return u in self._local
        return name in self._names()

    def __iter__(self) -> Iterator[str]:
        return iter(self._names())

    def __len__(self) -> int:
        return len(self._local)


def _names(psb: PredictedSouthbound, local: Mapping[str, Chain]) -> dict[str, str]:
    """Datapath names as the report shows them; a name two local datapaths share gets the
    start of the uuid."""
    labels, everywhere = psb.labels, psb.by_label
    counts: dict[str, int] = {}
    for u in local:
        if len(everywhere[labels[u]]) > 1:
            counts[labels[u]] = counts.get(labels[u], 0) + 1
    return {u: labels[u] if counts.get(labels[u], 1) == 1 else f"{labels[u]} ({u[:8]})"
            for u in local}


def _local_datapaths(psb: PredictedSouthbound, roots: Mapping[str, Chain], chassis: str,
                     host: str, events: list[ControllerEvent],
                     ) -> tuple[Mapping[str, Chain], frozenset[str]]:
    """The local datapaths from the shared link index, and their uuids (the set chassis with
    the same share); the walk that explains each runs only when an explanation is read (or
    at once when the walk logs a warning)."""
    found = psb.link_index.local(roots, chassis)
    if found is None:
        local = _closure(psb, roots, chassis, host, events)
        return local, psb.link_index.shared(local)[1]
    keys, uuids = psb.link_index.shared(found)
    return Lazy.sharing(keys, _Deferred(lambda: _Walk(psb, roots, chassis, host)).chain), uuids


class _Deferred:
    """A `_Walk` made at the first explanation read: making one sorts its roots, and most
    chassis' explanations are never read."""

    __slots__ = ("_make", "_walk")

    def __init__(self, make: Callable[[], _Walk]) -> None:
        self._make: Callable[[], _Walk] | None = make
        self._walk: _Walk | None = None

    def chain(self, u: str) -> Chain:
        if self._walk is None:
            assert self._make is not None
            self._walk, self._make = self._make(), None
        return self._walk.chain(u)


class _Walk:
    """`_closure()`'s breadth-first walk, run only as far as the explanations read need.

    A rule or the report reads the chain of a few local datapaths (the provider network's,
    mostly one or two links from a root), while a chassis on a routed provider network can
    reach thousands: the walk stops once the datapath asked for is discovered, and a chain
    is built from parent links only for the datapaths on its path. The walk visits datapaths
    and links in exactly `_closure()`'s order, so each datapath gets the same parent and the
    same chain as the eager walk gives it."""

    __slots__ = ("chains", "chassis", "host", "parent", "psb", "queue", "roots")

    def __init__(self, psb: PredictedSouthbound, roots: Mapping[str, Chain], chassis: str,
                 host: str) -> None:
        self.psb, self.roots, self.chassis, self.host = psb, roots, chassis, host
        # datapath -> (the datapath it was reached from, the link's binding); roots: None
        self.parent: dict[str, tuple[str, Binding] | None] = dict.fromkeys(roots)
        self.queue = deque(sorted(roots))
        self.chains: dict[str, Chain] = {}

    def _discover(self, target: str) -> None:
        psb, parent, queue = self.psb, self.parent, self.queue
        bindings = psb.bindings
        while target not in parent and queue:
            dp = queue.popleft()
            for name in psb.links.get(dp, ()):
                pb = bindings[name]
                peer = bindings[pb.options["peer"]].datapath
                if peer in parent or not _follows(psb, pb, self.chassis):
                    continue
                parent[peer] = (dp, pb)
                queue.append(peer)

    def chain(self, u: str) -> Chain:
        got = self.chains.get(u)
        if got is not None:
            return got
        self._discover(u)
        path: list[str] = []  # u and its ancestors without a chain yet, up to a root
        x: str | None = u
        while x is not None and x not in self.chains:
            path.append(x)
            link = self.parent[x]
            x = link[0] if link is not None else None
        psb, nb = self.psb, self.psb.nb_source
        for dp in reversed(path):
            link = self.parent[dp]
            if link is None:
                self.chains[dp] = self.roots[dp]
                continue
            src, pb = link
            peer = psb.bindings[pb.options["peer"]]
            why = _need_add_peer(psb, pb, self.chassis, [], set())
            assert why is not None  # the walk followed this link
            here, there = psb.datapath_label(src), psb.datapath_label(dp)
            self.chains[dp] = (*self.chains[src], *why, Evidence(
                f"{here} reaches {there} through {pb.logical_port} (peer {peer.logical_port}),"
                f" so {there} is local on {self.host} too (local_data.c add_local_datapath__)",
                nb, pb.nb_table, pb.nb_row))
        return self.chains[u]


def _iface_ev(hc: HostConfig, iface: ControllerInterface) -> Evidence:
    extra = ("" if iface.ofport is not None else
             "; its ofport is not assigned in this snapshot, assumed to be once "
             "ovs-vswitchd adds it")
    return hc.evidence(
        _(
                "{host}'s {integration_bridge} has interface {name} with "
                "external_ids:iface-id={get}{extra}").format(
                host=hc.host, integration_bridge=hc.integration_bridge, name=iface.name,
                get=iface.external_ids.get('iface-id'), extra=extra),
        "Interface", iface.name)


def _local_bindings(hc: HostConfig, events: list[ControllerEvent]
                    ) -> dict[str, ControllerInterface]:
    """build_local_bindings(): interfaces on br-int with iface-id and ofport > 0."""
    out: dict[str, ControllerInterface] = {}
    if hc.based_on != "ovs":
        return out
    for iface in hc.br_int_interfaces():
        if iface.port == hc.integration_bridge:
            continue
        iid = iface.external_ids.get("iface-id")
        if iid is None:
            continue
        if iface.ofport is not None and iface.ofport <= 0:
            events.append(ControllerEvent(
                "INFO",
                f"interface {iface.name} (iface-id={iid}) has ofport {iface.ofport}"
                + (f" ({iface.error})" if iface.error else "")
                + ": ovn-controller does not bind it",
                iid, (hc.evidence(f"{iface.name} has ofport {iface.ofport}", "Interface",
                                  iface.name),), logged=False,
                where="controller/binding.c build_local_bindings()"))
            continue
        first = out.get(iid)
        if first is not None:
            events.append(ControllerEvent(
                "WARN",
                f"Invalid configuration: iface-id is configured on interfaces : "
                f"[{first.name}] and [{iface.name}]. Ignoring the configuration on "
                f"interface [{iface.name}]",
                iid, (hc.evidence(f"{iface.name} also has external_ids:iface-id={iid}",
                                  "Interface", iface.name),
                      Evidence(_(
                              "logged on a full recompute (build_local_bindings); when the "
                              "second interface appears, incremental processing silently moves "
                              "the binding to it (consider_iface_claim)"),
                               OVN_SRC + "controller/binding.c", None,
                               None, hc.host)),
                where="controller/binding.c build_local_bindings()"))
            continue
        out[iid] = iface
    return out


def _can_bind(b: Binding, chassis: str, hostname: str) -> bool:
    """lport.c lport_can_bind_on_this_chassis(): empty requested-chassis binds anywhere;
    else one of its comma-separated names (chassis name or hostname) must be ours."""
    req = b.options.get("requested-chassis")
    if not req:
        return True
    return any(c in (chassis, hostname) for c in req.split(",") if c)


def _not_claiming(b: Binding, chassis: str) -> ControllerEvent:
    req = b.options.get("requested-chassis") or "[]"
    return ControllerEvent(
        "INFO",
        f"Not claiming lport {b.logical_port}, chassis {chassis} requested-chassis {req} "
        f"pb->chassis {b.sb_chassis or ''}",
        b.logical_port, (), where="controller/binding.c consider_vif_lport_()")


def _vif_chain(b: Binding, hc: HostConfig, lbindings: Mapping[str, ControllerInterface],
               chassis: str, events: list[ControllerEvent], sw: str,
               nb_ev: NbEvidence) -> Chain | None:
    name = b.logical_port
    if hc.based_on == "sb":
        if name not in hc.sb_bound:
            return None
        return (hc.evidence(f"SB Port_Binding {name} is bound to chassis {chassis} (no "
                            "Open_vSwitch DB for this host; SB stands in)", "Port_Binding",
                            name),
                nb_ev(b, _("{name} is a port of {sw}").format(name=name, sw=sw)))
    iface = lbindings.get(name)
    if iface is None:
        return None
    want_ver = b.options.get("iface-id-ver")
    if want_ver is not None and iface.external_ids.get("iface-id-ver") != want_ver:
        found = iface.external_ids.get("iface-id-ver") or "<empty>"
        events.append(ControllerEvent(
            "INFO", f"Mismatch iface-id-ver for lport {name}, expected {want_ver}, found "
                    f"{found}", name, (_iface_ev(hc, iface),),
            where="controller/binding.c ovs_iface_matches_lport_iface_id_ver()"))
        return None
    if not _can_bind(b, chassis, hc.hostname):
        events.append(_not_claiming(b, chassis))
        return None
    return (_iface_ev(hc, iface), nb_ev(b, _(
            "{name} is a port of {sw}").format(
            name=name, sw=sw)))


def _closure(psb: PredictedSouthbound, roots: Mapping[str, Chain], chassis: str, host: str,
             events: list[ControllerEvent]) -> dict[str, Chain]:
    """add_local_datapath__(): from each local datapath, follow patch/l3gateway ports to
    their peers when need_add_peer_to_local() says so. Breadth first, so each datapath keeps
    its shortest explanation; the set is the same as the real depth-first walk."""
    local: dict[str, Chain] = dict(roots)
    queue = deque(sorted(roots))
    nb = psb.nb_source
    warned: set[str] = set()
    while queue:
        dp = queue.popleft()
        for name in psb.links.get(dp, ()):
            pb = psb.bindings[name]
            peer = psb.bindings[pb.options["peer"]]
            why = _need_add_peer(psb, pb, chassis, events, warned)
            if why is None or peer.datapath in local:
                continue
            here, there = psb.datapath_label(dp), psb.datapath_label(peer.datapath)
            local[peer.datapath] = (*local[dp], *why, Evidence(
                _(
                        "{here} reaches {there} through {logical_port} (peer {logical_port2}), "
                        "so {there} is local on {host} too (local_data.c "
                        "add_local_datapath__)").format(
                        here=here, there=there, logical_port=pb.logical_port,
                        logical_port2=peer.logical_port, host=host),
                nb, pb.nb_table, pb.nb_row))
            queue.append(peer.datapath)
    return local


def _follows(psb: PredictedSouthbound, pb: Binding, chassis: str) -> bool:
    """`_need_add_peer()`'s answer without its explanation (nor its warning)."""
    if pb.type == "l3gateway":
        return pb.options.get("l3gateway-chassis") == chassis
    crp = pb.options.get("chassis-redirect-port")
    if crp is None:
        return True
    cr = psb.bindings.get(crp)
    if cr is None:
        return False
    if cr.options.get("always-redirect") != "true":
        return True
    return any(m.chassis_name == chassis for m in cr.ha_chassis)


def _need_add_peer(psb: PredictedSouthbound, pb: Binding, chassis: str,
                   events: list[ControllerEvent], warned: set[str]) -> Chain | None:
    """local_data.c need_add_peer_to_local() (23.03): None = do not add the peer."""
    nb = psb.nb_source
    if pb.type == "l3gateway":
        if pb.options.get("l3gateway-chassis") == chassis:
            return (Evidence(_(
                    "{logical_port} is an l3gateway port claimed by {chassis} "
                    "(options:l3gateway-chassis)").format(
                    logical_port=pb.logical_port, chassis=chassis), nb, pb.nb_table, pb.nb_row),)
        return None
    crp = pb.options.get("chassis-redirect-port")
    if crp is None:
        return ()
    cr = psb.bindings.get(crp)
    if cr is None:
        if pb.logical_port not in warned:
            warned.add(pb.logical_port)
            # The real format string passes (pb->logical_port, crp) in this order.
            events.append(ControllerEvent(
                "WARN", f"Chassis-redirect-port {pb.logical_port} for DGP {crp} is not found.",
                pb.logical_port, where="controller/local_data.c need_add_peer_to_local()"))
        return None
    if cr.options.get("always-redirect") != "true":
        return (*cr.ha_evidence, Evidence(
            _(
                    "{crp} has no always-redirect, so the gateway port {logical_port} is "
                    "processed distributed and its peer is local wherever its router is").format(
                    crp=crp, logical_port=pb.logical_port), nb,
            cr.nb_table, cr.nb_row))
    if any(m.chassis_name == chassis for m in cr.ha_chassis):
        return (*cr.ha_evidence, Evidence(
            _(
                    "{crp} has always-redirect=true and {chassis} is in its HA chassis "
                    "group").format(
                    crp=crp, chassis=chassis),
            nb, cr.nb_table, cr.nb_row))
    return None
