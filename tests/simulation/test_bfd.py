"""`bfd_peers` gathers the ref chassis of gateway groups per router group; it must give what
the rule says group by group (bfd.c `bfd_calculate_chassis`: a member runs BFD with the
other members and the group's ref chassis, a ref chassis with the members) -- held here to
that rule written out literally, on random routers, switches, links, gateway groups and
claims."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from types import MappingProxyType

from hypothesis import event, given, settings
from hypothesis import strategies as st

from ovnguard.model.logical import HaChassis, LogicalTopology, Router
from ovnguard.simulation.bfd import _CLAIMED_TYPES, _sb_group_name, bfd_peers
from ovnguard.simulation.northd import Binding, Datapath, PredictedSouthbound, indexes

CHASSIS = [f"ch{i}" for i in range(6)]


def literal(psb: PredictedSouthbound, claims: Mapping[str, Collection[str]],
            known_chassis: Collection[str]) -> dict[str, frozenset[str]]:
    """The rule group by group, as bfd.py computed it before it gathered per router group."""
    known = set(known_chassis)
    groups: dict[str, set[str]] = {}
    dgp_groups: dict[str, set[str]] = {}
    for name, b in psb.bindings.items():
        if b.type not in ("chassisredirect", "external") or not b.ha_chassis:
            continue
        members = {m.chassis_name for m in b.ha_chassis if m.chassis_name in known}
        gname = _sb_group_name(psb, name)
        groups.setdefault(gname, set()).update(members)
        if b.type == "chassisredirect":
            dgp_groups.setdefault(b.datapath, set()).add(gname)
    groups = {g: m for g, m in groups.items() if len(m) >= 2}
    if not groups:
        return {}
    parent = {u: u for u in psb.topology.routers}

    def find(u: str) -> str:
        while parent[u] != u:
            u = parent[u]
        return u

    routers_of_switch: dict[str, set[str]] = {}
    for b in psb.bindings.values():
        if b.type not in ("patch", "l3gateway") or b.peer is None:
            continue
        peer = psb.bindings.get(b.peer)
        if peer is None:
            continue
        here, there = psb.datapaths[b.datapath], psb.datapaths[peer.datapath]
        if here.kind == "router" and there.kind == "router":
            parent[find(here.uuid)] = find(there.uuid)
        elif here.kind == "switch" and there.kind == "router":
            routers_of_switch.setdefault(here.uuid, set()).add(there.uuid)
    for routers in routers_of_switch.values():
        first, *rest = sorted(routers)
        for r in rest:
            parent[find(first)] = find(r)
    group_ha: dict[str, set[str]] = {}
    for r, names in dgp_groups.items():
        group_ha.setdefault(find(r), set()).update(n for n in names if n in groups)
    ref: dict[str, set[str]] = {g: set() for g in groups}
    for chassis, ports in claims.items():
        for port in ports:
            pb = psb.bindings.get(port)
            if pb is None or pb.nb_table != "Logical_Switch_Port":
                continue
            if pb.type == "external":
                alive = [m.chassis_name for m in pb.ha_chassis if m.chassis_name in known]
                if not alive or alive[0] != chassis:
                    continue
            elif pb.type not in _CLAIMED_TYPES:
                continue
            rs = routers_of_switch.get(pb.datapath)
            if rs:
                for g in group_ha.get(find(min(rs)), ()):
                    ref[g].add(chassis)
    out: dict[str, set[str]] = {}
    for g, members in groups.items():
        for c in members:
            out.setdefault(c, set()).update((members | ref[g]) - {c})
        for c in ref[g] - members:
            out.setdefault(c, set()).update(members)
    return {c: frozenset(p) for c, p in out.items() if p}


@st.composite
def clouds(draw: st.DrawFn) -> tuple[PredictedSouthbound, dict[str, list[str]], set[str]]:
    n_sw, n_r = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    switches = [f"s{i}" for i in range(n_sw)]
    routers = [f"r{i}" for i in range(n_r)]
    dps = {**{u: Datapath(u, u, "switch", None) for u in switches},
           **{u: Datapath(u, u, "router", None) for u in routers}}
    bindings: dict[str, Binding] = {}
    for i, (s, r) in enumerate(draw(st.lists(st.tuples(st.sampled_from(switches),
                                                      st.sampled_from(routers)),
                                            min_size=1, max_size=6))):
        bindings[f"lsp{i}"] = Binding(f"lsp{i}", "patch", s, {"peer": f"lrp{i}"})
        bindings[f"lrp{i}"] = Binding(f"lrp{i}", "patch", r, {"peer": f"lsp{i}"},
                                      nb_table="Logical_Router_Port", nb_row=f"lrp{i}")
    for i, (a, b) in enumerate(draw(st.lists(st.tuples(st.sampled_from(routers),
                                                      st.sampled_from(routers)),
                                            max_size=2))):
        bindings[f"rr{i}a"] = Binding(f"rr{i}a", "patch", a, {"peer": f"rr{i}b"},
                                      nb_table="Logical_Router_Port", nb_row=f"rr{i}a")
        bindings[f"rr{i}b"] = Binding(f"rr{i}b", "patch", b, {"peer": f"rr{i}a"},
                                      nb_table="Logical_Router_Port", nb_row=f"rr{i}b")
    for i, r in enumerate(draw(st.lists(st.sampled_from(routers), max_size=4))):
        members = draw(st.lists(st.sampled_from(CHASSIS), min_size=1, max_size=4,
                                unique=True))
        bindings[f"cr-gw{i}"] = Binding(
            f"cr-gw{i}", "chassisredirect", r, {"distributed-port": f"gw{i}"},
            ha_chassis=tuple(HaChassis(c, 10 - k) for k, c in enumerate(members)),
            nb_table="Logical_Router_Port", nb_row=f"gw{i}")
    vifs = []
    for i, s in enumerate(draw(st.lists(st.sampled_from(switches), min_size=1, max_size=8))):
        typ = draw(st.sampled_from(["", "", "virtual", "localport", "external"]))
        ha = () if typ != "external" else tuple(
            HaChassis(c, 10 - k) for k, c in enumerate(draw(st.lists(
                st.sampled_from(CHASSIS), min_size=1, max_size=3, unique=True))))
        bindings[f"vm{i}"] = Binding(f"vm{i}", typ, s, ha_chassis=ha)
        vifs.append(f"vm{i}")
    topo = LogicalTopology(
        switches=MappingProxyType({}),
        routers=MappingProxyType({u: Router(u, u, ()) for u in routers}),
        switch_ports=MappingProxyType({}), router_ports=MappingProxyType({}))
    psb = PredictedSouthbound(topo, MappingProxyType(dps), MappingProxyType(bindings),
                              **indexes(bindings))
    claims = {c: draw(st.lists(st.sampled_from(vifs), max_size=4)) if vifs else []
              for c in draw(st.lists(st.sampled_from(CHASSIS), unique=True))}
    known = set(draw(st.lists(st.sampled_from(CHASSIS), min_size=4, unique=True)))
    return psb, claims, known


@settings(max_examples=400, deadline=None)
@given(clouds())
def test_bfd_peers_follow_the_rule_group_by_group(
        cloud: tuple[PredictedSouthbound, dict[str, list[str]], set[str]]) -> None:
    psb, claims, known = cloud
    got = bfd_peers(psb, claims, known)
    assert got == literal(psb, claims, known)
    # not vacuous: --hypothesis-show-statistics shows how many examples had peers, and
    # with a ref chassis that is no member
    event("peers" if got else "no peers")
    members = {m.chassis_name for b in psb.bindings.values() for m in b.ha_chassis}
    if any(c not in members for c in got):
        event("a ref chassis outside the groups")
