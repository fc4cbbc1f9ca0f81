"""Which chassis each chassis runs BFD with (ovn-controller 23.03 controller/bfd.c).

Why the simulation cares: `bfd_run()` writes `Interface.bfd` on the tunnel ports, a tracked
column of a non-VIF interface, so a change of a chassis' BFD peers makes its ovn-controller
recompute runtime_data -- which drops stale local datapaths and their patch ports (seen in
the lab: moving a gateway chassis removed the old gateway's ports on one host and left them
on another).

Sources (ovn v23.03.1):
- controller/bfd.c `bfd_calculate_chassis()`: only SB HA_Chassis_Groups with 2+ chassis;
  an HA member runs BFD with the other members and the group's ref_chassis; a ref chassis
  runs BFD with the members;
- northd/northd.c `build_lrouter_groups()` (routers joined by router-to-router peers or by a
  switch between them form one group), `build_lrouter_groups__()` (a group collects the SB
  HA groups of its distributed gateway ports), `handle_port_binding_changes()` /
  `collect_lb_groups_for_ha_chassis_groups()` (the ref_chassis of those HA groups are the
  chassis that claim a port of a switch attached to a router of the group).
"""

from __future__ import annotations

import itertools
from collections.abc import Collection, Iterable, Mapping

from ovnguard.record import record
from ovnguard.simulation.northd import PredictedSouthbound

# Port types whose SB `chassis` a chassis sets when it claims them (switch side).
_CLAIMED_TYPES = frozenset({"", "virtual", "l2gateway", "l3gateway"})


def _sb_group_name(psb: PredictedSouthbound, port: str) -> str:
    b = psb.bindings[port]
    topo = psb.topology
    if b.type == "chassisredirect":
        rp = topo.router_ports.get(b.nb_row)
        if rp is not None and rp.ha_chassis_group is not None:
            return rp.ha_chassis_group.name
        return b.nb_row  # northd names the copy of Gateway_Chassis after the LRP
    lsp = topo.switch_ports.get(port)
    if lsp is not None and lsp.ha_chassis_group is not None:
        return lsp.ha_chassis_group.name
    return port


def bfd_peers(psb: PredictedSouthbound, claims: Mapping[str, Collection[str]],
              known_chassis: Collection[str]) -> dict[str, frozenset[str]]:
    """chassis -> the chassis it runs BFD with. `claims`: chassis -> logical ports it binds
    (from the realizations); `known_chassis`: chassis registered in SB (HA_Chassis rows of
    others stay empty, so they do not count as members)."""
    basis = bfd_basis(psb, known_chassis)
    return peers_of(basis, {c: claimed_roots(basis, psb, c, ports)
                            for c, ports in claims.items()})


@record
class BfdBasis:
    """What `bfd_peers` reads of a prediction besides which chassis claims what: the SB HA
    groups of 2+ known chassis, the router groups holding them, and the router group each
    switch's ports ref. A what-if whose change leaves these alone reads again only the
    claims of the chassis it changed (simulation/realize.py)."""

    known: frozenset[str]
    groups: Mapping[str, frozenset[str]]  # SB HA group name -> member chassis (2+)
    group_ha: Mapping[str, frozenset[str]]  # router group root -> its groups' names
    first_router: Mapping[str, str]  # switch datapath -> root of its first router's group


def bfd_basis(psb: PredictedSouthbound, known_chassis: Collection[str]) -> BfdBasis:
    known = frozenset(known_chassis)
    groups: dict[str, set[str]] = {}  # SB HA group name -> member chassis
    dgp_groups: dict[str, set[str]] = {}  # router uuid -> SB HA group names of its DGPs
    for name in (*psb.by_type.get("chassisredirect", ()), *psb.by_type.get("external", ())):
        b = psb.bindings[name]
        if not b.ha_chassis:
            continue
        members = {m.chassis_name for m in b.ha_chassis if m.chassis_name in known}
        gname = _sb_group_name(psb, name)
        groups.setdefault(gname, set()).update(members)
        if b.type == "chassisredirect":
            dgp_groups.setdefault(b.datapath, set()).add(gname)
    two = {g: frozenset(m) for g, m in groups.items() if len(m) >= 2}
    if not two:
        return BfdBasis(known, {}, {}, {})

    # Router groups: union-find over routers.
    parent: dict[str, str] = {u: u for u in psb.topology.routers}

    def find(u: str) -> str:
        while parent[u] != u:
            parent[u] = parent[parent[u]]
            u = parent[u]
        return u

    def union(a: str, b: str) -> None:
        parent[find(a)] = find(b)

    routers_of_switch: dict[str, set[str]] = {}
    # (the order of the unions does not matter: only which routers end up together)
    for name in itertools.chain.from_iterable(psb.links.values()):
        b = psb.bindings[name]  # a patch or l3gateway port whose peer has a binding
        peer = psb.bindings[b.options["peer"]]
        here, there = psb.datapaths[b.datapath], psb.datapaths[peer.datapath]
        if here.kind == "router" and there.kind == "router":
            union(here.uuid, there.uuid)
        elif here.kind == "switch" and there.kind == "router":
            routers_of_switch.setdefault(here.uuid, set()).add(there.uuid)
    for routers in routers_of_switch.values():
        first, *rest = sorted(routers)
        for r in rest:
            union(first, r)
    group_ha: dict[str, set[str]] = {}
    for r, names in dgp_groups.items():
        group_ha.setdefault(find(r), set()).update(n for n in names if n in two)
    # A claimed port refs the groups of the router group of the first router on its switch.
    first_router = {sw: find(min(rs)) for sw, rs in routers_of_switch.items()}
    return BfdBasis(known, two, {r: frozenset(n) for r, n in group_ha.items()}, first_router)


def claimed_roots(basis: BfdBasis, psb: PredictedSouthbound, chassis: str,
                  ports: Iterable[str]) -> frozenset[str]:
    """The router groups (their roots) holding HA groups that `chassis` refs by the ports it
    claims."""
    if not basis.groups:
        return frozenset()
    out: set[str] = set()
    for port in ports:
        pb = psb.bindings.get(port)
        if pb is None or pb.nb_table != "Logical_Switch_Port":
            continue
        if pb.type == "external":
            # Claimed by the active member only: the highest priority one alive.
            alive = [m.chassis_name for m in pb.ha_chassis if m.chassis_name in basis.known]
            if not alive or alive[0] != chassis:
                continue
        elif pb.type not in _CLAIMED_TYPES:
            continue
        root = basis.first_router.get(pb.datapath)
        if root is not None and root in basis.group_ha:
            out.add(root)
    return frozenset(out)


def peers_of(basis: BfdBasis, roots: Mapping[str, Collection[str]]
             ) -> dict[str, frozenset[str]]:
    """chassis -> its BFD peers, from `roots`: chassis -> `claimed_roots`."""
    groups, group_ha = basis.groups, basis.group_ha
    if not groups:
        return {}
    # collected per router group first (a thousand chassis x hundreds of gateway ports on
    # one provider network made the direct way millions of set insertions)
    by_root: dict[str, set[str]] = {}  # router group root -> chassis claiming behind it
    for chassis, rs in roots.items():
        for root in rs:
            by_root.setdefault(root, set()).add(chassis)
    # A member of a group runs BFD with its other members and its ref chassis; a ref chassis
    # with its members. The ref chassis of a group are those claiming behind any router
    # group holding it -- on a Neutron cloud one router group (every router on the provider
    # network) refs hundreds of gateway groups with the same thousand chassis: the peers are
    # gathered per router group, not per gateway group and chassis (millions of insertions).
    out: dict[str, set[str]] = {}
    for members in groups.values():
        for c in members:
            out.setdefault(c, set()).update(members)
    roots_of: dict[str, set[str]] = {}  # member chassis -> router groups refing its groups
    for root, names in group_ha.items():
        if root not in by_root:
            continue
        behind = set().union(*(groups[g] for g in names))  # every member of those groups
        for c in by_root[root]:
            out.setdefault(c, set()).update(behind)
        for c in behind:
            roots_of.setdefault(c, set()).add(root)
    for c, rts in roots_of.items():
        mine = out.setdefault(c, set())
        for root in rts:
            mine.update(by_root[root])
    return {c: frozenset(p - {c}) for c, p in out.items() if p - {c}}
