"""What a what-if derives from the state before equals what is computed from scratch, on
random changes run by the real tools (whose snapshots share the rows a line did not touch,
as `apply_records` makes them):

- `predict_southbound(nb, sb, since=the state before's)` == `predict_southbound(nb, sb)`,
  dict order included (the report lists in that order), step after step;
- a what-if on a loaded model (`assess(..., baseline=...)`: shared host views, reused
  delta steps, the derived SB) == the same what-if on a snapshot read afresh.
"""

from __future__ import annotations

import importlib
import itertools
import random
from pathlib import Path
from typing import Any

import pytest

from helpers.sim_snapshots import THREE_HOSTS, Cluster, three_chassis, vif
from ovnguard.assess import assess
from ovnguard.change.executor import default_executor
from ovnguard.change.parse import parse_change
from ovnguard.i18n import set_language
from ovnguard.model import logical
from ovnguard.model.db import differing
from ovnguard.model.snapshot import HostState, Snapshot
from ovnguard.simulation import controller, northd_inc
from ovnguard.simulation.bfd import bfd_basis, claimed_roots
from ovnguard.simulation.northd import PredictedSouthbound, predict_southbound
from ovnguard.simulation.realize import (
    _bfd_basis_changes,
    _bfd_peers,
    _same_bfd_inputs,
    realization_steps,
    realize,
)
from ovnguard.sources.ovsdb_file import read_database

# the module (the package exports a function of the same name)
realize_mod = importlib.import_module("ovnguard.simulation.realize")
pytestmark = pytest.mark.realdb

HOSTS = THREE_HOSTS
SWITCHES = ("pub", "priv1", "priv2", "priv3")
VMS = ("vm1", "vm2", "vm3", "vm4", "vm5")
# Lines that insert a row without a name (NAT, HA_Chassis): the server picks its uuid at
# random, and the evidence names the row by it, so two runs of such a change differ there.
RANDOM_UUIDS = ("lr-nat-add", "ha-chassis-group-add-chassis")


def make(tmp: Path) -> Cluster:
    return three_chassis(tmp)


def start(c: Cluster) -> Snapshot:
    c.nbctl(*(f"ls-add {s}" for s in SWITCHES))
    c.nbctl("lsp-add pub provnet-1 -- lsp-set-type provnet-1 localnet -- "
            "lsp-set-addresses provnet-1 unknown -- lsp-set-options provnet-1 "
            "network_name=physnet1",
            "lr-add r1", "lrp-add r1 r1-priv1 00:00:00:00:01:01 10.1.0.1/24",
            "lsp-add priv1 priv1-r1 -- lsp-set-type priv1-r1 router -- "
            "lsp-set-options priv1-r1 router-port=r1-priv1",
            "lrp-add r1 r1-pub 00:00:00:00:01:02 172.24.4.1/24",
            "lsp-add pub pub-r1 -- lsp-set-type pub-r1 router -- "
            "lsp-set-options pub-r1 router-port=r1-pub",
            "lrp-set-gateway-chassis r1-pub ch1 10",
            "ha-chassis-group-add hag1", "ha-chassis-group-add-chassis hag1 ch2 20",
            "lsp-add priv2 ext1 -- lsp-set-type ext1 external",
            "lsp-add priv2 gw2 -- lsp-set-type gw2 l2gateway -- lsp-set-options gw2 "
            "l2gateway-chassis=ch1 network_name=physnet1",
            # a second router, which changes to r1 leave alone
            "lr-add r2", "lrp-add r2 r2-priv3 00:00:00:00:02:01 10.3.0.1/24",
            "lsp-add priv3 priv3-r2 -- lsp-set-type priv3-r2 router -- "
            "lsp-set-options priv3-r2 router-port=r2-priv3")
    c.nbctl("set Logical_Switch_Port ext1 ha_chassis_group=$(ovn-nbctl --bare "
            "--columns=_uuid find HA_Chassis_Group name=hag1)".replace(
                "$(ovn-nbctl --bare --columns=_uuid find HA_Chassis_Group name=hag1)",
                c.nb.run("--bare --columns=_uuid find HA_Chassis_Group name=hag1").strip()))
    for k, vm in enumerate(VMS):
        sw = ("priv1", "priv2", "priv3", "pub", "priv1")[k]
        c.nbctl(f"lsp-add {sw} {vm}")
        c.vsctl(HOSTS[k % len(HOSTS)], vif(f"tap-{vm}", vm))
    return c.snapshot("s0")


def fresh(s: Snapshot) -> Snapshot:
    """The same bundle read again: no object shared with `s` (nothing memoized)."""
    hosts = {}
    for h, st in s.hosts.items():
        ovs = read_database(Path(st.ovs.source)) if st.ovs is not None else None
        hosts[h] = HostState(h, ovs=ovs, files=dict(st.files))
    sb = read_database(Path(s.sb.source)) if s.sb is not None else None
    return Snapshot(read_database(Path(s.nb.source)), sb, hosts, source=s.source)


def random_change(rng: random.Random, vm1_uuid: str) -> str:
    n = rng.randrange(100)
    sw, vm = rng.choice(SWITCHES), rng.choice(VMS)
    pool = [
        f"ovn-nbctl lsp-add {sw} x{n}",
        f"ovn-nbctl lsp-add {sw} ln{n} -- lsp-set-type ln{n} localnet -- "
        f"lsp-set-options ln{n} network_name=physnet{rng.choice((1, 2))}",
        f"ovn-nbctl lsp-del {vm}",
        f"ovn-nbctl lsp-set-options {vm} requested-chassis=ch{rng.randrange(1, 4)}",
        f"ovn-nbctl lsp-set-type {vm} {rng.choice(('external', 'bogus', 'localport', ''))}",
        f"ovn-nbctl lsp-set-addresses {vm} unknown",
        f"ovn-nbctl ls-add new{n}",
        f"ovn-nbctl ls-del {rng.choice(SWITCHES[1:])}",
        f"ovn-nbctl lrp-set-gateway-chassis r1-pub ch{rng.randrange(1, 4)} {n + 1}",
        "ovn-nbctl lrp-del-gateway-chassis r1-pub ch1",
        f"ovn-nbctl lrp-add r1 r1-x{n} 00:00:00:00:0a:{n:02x} 10.{n + 10}.0.1/24 -- "
        f"lsp-add {sw} {sw}-rx{n} -- lsp-set-type {sw}-rx{n} router -- "
        f"lsp-set-options {sw}-rx{n} router-port=r1-x{n}",
        f"ovn-nbctl ha-chassis-group-add-chassis hag1 ch{rng.randrange(1, 4)} {n + 1}",
        "ovn-nbctl lr-nat-add r1 dnat_and_snat 172.24.4.50 10.1.0.5 vm1 00:00:00:00:00:55",
        f"ovn-nbctl add Logical_Switch {rng.choice(SWITCHES[1:])} ports {vm1_uuid}",
        f"ovn-nbctl lsp-set-options provnet-1 network_name=physnet{rng.choice((1, 2))}",
        # the router side: only what chassisredirect bindings read (derived), and what the
        # join or the other bindings read (computed in full)
        f"ovn-nbctl lrp-set-options r1-pub redirect-type={rng.choice(('bridged', 'overlay'))}",
        f"ovn-nbctl set Logical_Router r1 options:always_learn_from_arp_request={n % 2}",
        f"ovn-nbctl set Logical_Router r1 options:requested-tnl-key={n + 100}",
        f"ovn-nbctl set Logical_Router r1 options:chassis=ch{rng.randrange(1, 4)}",
        # r2, without a gateway port, made a gateway router or moved: its links stay, of
        # another type or chassis
        f"ovn-nbctl set Logical_Router r2 options:chassis=ch{rng.randrange(1, 4)}",
        f"ovn-nbctl lrp-set-gateway-chassis r1-priv1 ch{rng.randrange(1, 4)} 5",
        "ovn-nbctl lr-nat-del r1",
        # a vtep port behind r1's gateway port (no always-redirect from then on)
        f"ovn-nbctl lsp-add pub vt{n} -- lsp-set-type vt{n} vtep",
        # a port of a global type whose claiming chassis changes, its type unchanged
        f"ovn-nbctl lsp-set-options gw2 l2gateway-chassis=ch{rng.randrange(1, 4)} "
        "network_name=physnet1",
        # a container port under a VM: a host's binding run looks it up as its parent's child
        f"ovn-nbctl lsp-add {sw} c{n} {vm} {n + 1}",
        # the router side's join: a router port, a router, a router-type port removed
        f"ovn-nbctl lrp-del {rng.choice(('r1-priv1', 'r1-pub', 'r2-priv3'))}",
        "ovn-nbctl lr-del r2",
        f"ovn-nbctl lsp-del {rng.choice(('priv1-r1', 'pub-r1', 'priv3-r2'))}",
        f"ovn-nbctl lrp-add r2 r2-y{n} 00:00:00:00:0b:{n:02x} 10.{n + 120}.0.1/24 -- "
        f"lsp-add {sw} {sw}-ry{n} -- lsp-set-type {sw}-ry{n} router -- "
        f"lsp-set-options {sw}-ry{n} router-port=r2-y{n}",
    ]
    return "\n".join(rng.choice(pool) for _ in range(rng.randrange(1, 5))) + "\n"


def assert_same_sb(a: PredictedSouthbound, b: PredictedSouthbound) -> None:
    assert a == b
    assert list(a.topology.switch_ports) == list(b.topology.switch_ports)
    assert list(a.topology.switches) == list(b.topology.switches)
    assert list(a.topology.routers) == list(b.topology.routers)
    assert list(a.topology.router_ports) == list(b.topology.router_ports)
    assert list(a.bindings) == list(b.bindings)
    assert a.events == b.events
    assert a.join == b.join  # what the next derivation of the router side starts from
    # what is derived on first use (and may be taken from the prediction before)
    assert a.claimable == b.claimable
    assert (a.labels, a.by_label) == (b.labels, b.by_label)
    la, lb = a.link_index, b.link_index
    assert (la.always, la.conditional, la.warns) == (lb.always, lb.conditional, lb.warns)


def test_derived_southbound_and_whatif_equal_from_scratch(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # how often the port-only path (northd_inc.derive_ports) answered, and how often it declined
    taken = {True: 0, False: 0}
    real_derived = northd_inc.derive_ports

    redirects = [0]  # of which a gateway port's chassisredirect binding was made again

    def spy(*args: Any) -> PredictedSouthbound | None:
        out = real_derived(*args)
        taken[out is not None] += 1
        if out is not None and out.edited is not None:
            redirects[0] += any(n.startswith("cr-") for n in out.edited[1])
        return out

    monkeypatch.setattr(northd_inc, "derive_ports", spy)
    # how often the router side was derived (the join made again, the other ports kept)
    router_side = {True: 0, False: 0}
    real_router_side = northd_inc.derive_router_side

    def router_spy(*args: Any) -> PredictedSouthbound | None:
        out = real_router_side(*args)
        router_side[out is not None] += 1
        return out

    monkeypatch.setattr(northd_inc, "derive_router_side", router_spy)
    # how often a host's patch ports alone were predicted again (localnet ports changed)
    patched = [0]
    real_patches = realize_mod.realize_patches

    def patches_spy(*args: Any) -> Any:
        patched[0] += 1
        return real_patches(*args)

    monkeypatch.setattr(realize_mod, "realize_patches", patches_spy)
    # how often the topology was patched (ports edited in place) rather than read again
    edited = [0]
    real_patched = logical._patched

    def patched_spy(*args: Any) -> Any:
        out = real_patched(*args)
        edited[0] += out is not None
        return out

    monkeypatch.setattr(logical, "_patched", patched_spy)
    # how often a host's binding run was taken from the prediction before, and refused
    carried = {True: 0, False: 0}
    real_carried = controller._carried_run

    def carried_spy(*args: Any) -> Any:
        out = real_carried(*args)
        carried[out is not None] += 1
        return out

    monkeypatch.setattr(controller, "_carried_run", carried_spy)
    # each incremental state of a host made from its prediction from scratch is the one
    # realize_host makes from the seeds: what it binds, its local datapaths in their order
    # and each one's explanation, its patch ports and what it logs
    seeded = {"kept unreachable": 0, "within": 0}
    real_seeded = realize_mod.realize_host_seeded

    def seeded_spy(psb: PredictedSouthbound, scratch: Any, seed: Any, *more: Any) -> Any:
        out = real_seeded(psb, scratch, seed, *more)
        want = controller.realize_host(psb, scratch.config, seed)
        assert list(out.local) == list(want.local)
        assert out == want  # (the chains compared, every one of them made)
        assert out.localized == want.localized
        seeded["kept unreachable" if len(out.local) > len(scratch.local) else "within"] += 1
        return out

    monkeypatch.setattr(realize_mod, "realize_host_seeded", seeded_spy)
    executor = default_executor()
    with make(tmp_path) as c:
        s0 = start(c)
    psb0 = predict_southbound(s0.nb, s0.sb)
    vm1_uuid = s0.nb.find_one("Logical_Switch_Port", "vm1").uuid  # type: ignore[union-attr]
    warm = assess(s0, parse_change("ovn-nbctl lsp-set-addresses vm2 unknown\n", "w.sh"),
                  executor)
    rng = random.Random(20261205)
    reused = steps = compared = said = routers_kept = 0
    bfd = {True: 0, False: 0}
    basis_kept = 0  # BFD peers made again with the state before's basis
    bfd_carried = {"peers": 0, "claims": 0}
    for case in range(40):
        text = random_change(rng, vm1_uuid)
        result = executor.apply(s0, parse_change(text, f"c{case}.sh"))
        prev, states = psb0, [s0, *result.steps]
        for s in result.steps:
            # what is derived on first use, made before, so that taking it over is tested
            assert prev.link_index is not None and prev.claimable is not None
            derived = predict_southbound(s.nb, s.sb, since=prev)
            assert_same_sb(derived, predict_southbound(s.nb, s.sb))
            # what the derivation says changed is what comparing everything says
            t0, t1 = prev.topology, derived.topology
            assert t1.changed_ports(t0) == differing(t0.switch_ports, t1.switch_ports), text
            assert derived.changed_bindings(prev) == differing(prev.bindings,
                                                               derived.bindings), text
            said += derived.edited is not None and t1.built_from is not None \
                and t1.built_from.edited is not None
            # a router the change left alone is the object it was, where routers changed
            routers_kept += t1.routers is not t0.routers and any(
                r is t0.routers.get(u) for u, r in t1.routers.items())
            reused += sum(1 for n, p in derived.topology.switch_ports.items()
                          if prev.topology.switch_ports.get(n) is p)
            steps += 1
            prev = derived
        if len(states) > 1:
            assert (realization_steps(states)
                    == realization_steps(states, [realize(s) for s in states])), text
        # where the delta takes the state before's BFD peers for the state after's, they
        # are what the state after computes
        rs = [realize(s0)]
        for s in result.steps:
            rs.append(realize(s, since=rs[-1]))
            # each host as from scratch: what it binds, its local datapaths, what it logs
            # (a binding run taken from the state before must be the one it would make)
            assert dict(rs[-1].hosts) == dict(realize(s).hosts), text
        # the BFD peers and claims a multi-line change's steps carry from one state to the
        # next (where what they read is the same) are each state's own
        realization_steps([s0, *result.steps], rs)
        for r in rs[1:]:
            memo = r.basis.memo  # type: ignore[attr-defined]
            psb = r.basis.psb  # type: ignore[attr-defined]
            if "bfd" in memo:
                assert memo["bfd"][0] is r
                peers = memo["bfd"][1]
                made = memo.get("bfd-claims")
                if made is not None and made[0] is r:
                    bb, claims = made[1]
                    assert bb == bfd_basis(psb, bb.known), text
                    mine = {hr.chassis: hr for hr in r.hosts.values() if hr.chassis}
                    assert claims.keys() == mine.keys(), text
                    for ch, (_hr, roots) in claims.items():
                        assert roots == claimed_roots(bb, psb, ch, mine[ch].bound_ports), text
                    bfd_carried["claims"] += 1
                assert peers == _bfd_peers(psb, r), text
                bfd_carried["peers"] += 1
        for r0, r1 in itertools.pairwise(rs):
            psb_0, psb_1 = r0.basis.psb, r1.basis.psb  # type: ignore[attr-defined]
            same = _same_bfd_inputs(psb_0, r0, psb_1, r1)
            bfd[same] += 1
            if same:
                assert _bfd_peers(psb_1, r1) == _bfd_peers(psb_0, r0), text
            # the state after's, taking over the state before's basis and the claims of the
            # chassis the change left alone where they read the same, is the one from scratch
            _bfd_peers(psb_0, r0)  # (its claims made, as a loaded model's are)
            basis_kept += _bfd_basis_changes(psb_0, psb_1) is not None and not same
            assert _bfd_peers(psb_1, r1, (psb_0, r0)) == _bfd_peers(psb_1, r1), text
        if any(v in text for v in RANDOM_UUIDS):
            continue
        # the what-if on the loaded model == the same what-if on the bundle read afresh
        change = parse_change(text, f"c{case}.sh")
        w = assess(s0, change, executor, baseline=warm.baseline)
        f = assess(fresh(s0), change, executor)
        assert w.after == f.after, text
        assert w.deltas == f.deltas, text
        assert w.assessment == f.assessment, text
        assert w.report == f.report, text
        compared += 1
    # not vacuous: states were derived, most of their ports were not read again, and
    # what-ifs were compared
    assert steps >= 20 and reused > steps and compared >= 10 and min(bfd.values()) >= 3
    # both ways of deriving the state after were held to the whole computation
    assert min(taken.values()) >= 5 and redirects[0] >= 3, (taken, redirects)
    assert patched[0] >= 5 and edited[0] >= 5 and said >= 5, (patched, edited, said)
    assert routers_kept >= 3, routers_kept
    assert basis_kept >= 3, basis_kept
    assert min(bfd_carried.values()) >= 5, bfd_carried
    assert min(carried.values()) >= 5, carried
    assert min(router_side.values()) >= 5, router_side
    assert seeded["kept unreachable"] >= 5, seeded


def test_reused_delta_step_checks_the_patch_ports_it_read(tmp_path: Path) -> None:
    """A host holds patch ports for a logical port that does not exist (left over, so
    ovn-controller deletes them in every what-if: its step is never kept for reuse); a
    later what-if creates that port on a switch not local there. Both what-ifs on the
    loaded model equal the same what-ifs from scratch."""
    from ovnguard.simulation.types import PatchPort

    executor = default_executor()
    with make(tmp_path) as c:
        start(c)
        c.materialize("compute1", [
            PatchPort("br-int", "patch-br-int-to-ghost", "ghost"),
            PatchPort("br-ex", "patch-ghost-to-br-int", "ghost")])
        s0 = c.snapshot("s1")
    warm = assess(s0, parse_change("ovn-nbctl lsp-set-addresses vm2 unknown\n", "w.sh"),
                  executor)
    # priv3 is local on compute3 only (vm3)
    text = ("ovn-nbctl lsp-add priv3 ghost -- lsp-set-type ghost localnet -- "
            "lsp-set-options ghost network_name=physnet1\n")
    w = assess(s0, parse_change(text, "g.sh"), executor, baseline=warm.baseline)
    f = assess(fresh(s0), parse_change(text, "g.sh"), executor)
    assert w.deltas == f.deltas
    assert w.assessment == f.assessment
    assert w.report == f.report
    ghost = {p.port for p in w.deltas["compute1"].removed}
    assert ghost == {"patch-br-int-to-ghost", "patch-ghost-to-br-int"}, w.deltas["compute1"]


def test_whatif_after_a_language_change_says_it_in_that_language(tmp_path: Path) -> None:
    """A loaded model judged in one language, a what-if asked in another: every host's
    explanation is in the new one, as on the bundle read afresh (none is carried over)."""
    executor = default_executor()
    with make(tmp_path) as c:
        s0 = start(c)
    try:
        set_language("en")
        warm = assess(s0, parse_change("ovn-nbctl lsp-set-addresses vm2 unknown\n", "w.sh"),
                      executor)
        set_language("ko")
        for text in ("ovn-nbctl lsp-set-addresses vm3 unknown\n",
                     "ovn-nbctl lsp-add priv3 ln9 -- lsp-set-type ln9 localnet -- "
                     "lsp-set-options ln9 network_name=physnet1\n"):
            change = parse_change(text, "c.sh")
            w = assess(s0, change, executor, baseline=warm.baseline)
            f = assess(fresh(s0), change, executor)
            assert w.after == f.after, text
            assert w.deltas == f.deltas, text
            assert w.report == f.report, text
    finally:
        set_language("en")


def test_a_gateway_port_moved_predicts_its_chassis_before_and_after_again_only(
        tmp_path: Path) -> None:
    """r1-pub redirects always (r1 has no distributed NAT); moving it from ch1 to ch3 is
    seen by those two chassis only: compute2, where r1 is local too, neither claims it nor
    follows its link, before or after, and keeps its prediction. Both moved hosts are
    predicted again, and the realization equals the one computed from scratch."""
    executor = default_executor()
    with make(tmp_path) as c:
        s0 = start(c)
    r0 = realize(s0)
    text = ("ovn-nbctl lrp-del-gateway-chassis r1-pub ch1 -- "
            "lrp-set-gateway-chassis r1-pub ch3 10\n")
    s1 = executor.apply(s0, parse_change(text, "m.sh")).steps[-1]
    r1 = realize(s1, since=r0)
    scratch = realize(s1)
    assert r1 == scratch
    assert "cr-r1-pub" in r0.hosts["compute1"].bound_ports
    assert "cr-r1-pub" in r1.hosts["compute3"].bound_ports
    assert "cr-r1-pub" not in r1.hosts["compute1"].bound_ports
    preds0 = r0.basis.preds  # type: ignore[attr-defined]
    preds1 = r1.basis.preds  # type: ignore[attr-defined]
    assert preds1["compute2"] is preds0["compute2"]
    assert preds1["compute1"] is not preds0["compute1"]
    assert preds1["compute3"] is not preds0["compute3"]


def _derived_vs_scratch(s0: Snapshot, text: str) -> None:
    """Each step of `text` on `s0`: the SB derived from the step before (its link index
    and claimable ports made first) and the realization derived from it equal both
    computed from scratch."""
    executor = default_executor()
    states = [s0, *executor.apply(s0, parse_change(text, "c.sh")).steps]
    psb, r = predict_southbound(s0.nb, s0.sb), realize(s0)
    for s in states[1:]:
        assert psb.link_index is not None and psb.claimable is not None and psb.named_peers
        psb = predict_southbound(s.nb, s.sb, since=psb)
        assert_same_sb(psb, predict_southbound(s.nb, s.sb))
        r = realize(s, since=r)
        assert r == realize(s), text


def test_a_vif_named_as_a_router_port_moves(tmp_path: Path) -> None:
    """A router-type switch port whose router-port names a VIF (a misconfiguration northd
    accepts): the prediction links priv1 to the VIF's switch. Moving the VIF to another
    switch changes what every host with priv1 local reaches, though the VIF's binding is
    of a type read only where it is bound and the link's names stay the same."""
    with make(tmp_path) as c:
        start(c)
        c.nbctl("lsp-add priv1 odd -- lsp-set-type odd router -- "
                "lsp-set-options odd router-port=vm2")
        s0 = c.snapshot("s1")
    _derived_vs_scratch(s0, "ovn-nbctl lsp-del vm2 -- lsp-add priv3 vm2\n")


def test_a_switch_port_named_like_a_chassisredirect_port(tmp_path: Path) -> None:
    """A switch port named cr-r1-pub: the binding of that name is r1-pub's chassisredirect
    port while r1-pub is a gateway port, and the switch port's once it is not."""
    with make(tmp_path) as c:
        s0 = start(c)
    _derived_vs_scratch(s0, "ovn-nbctl lsp-add priv1 cr-r1-pub\n"
                            "ovn-nbctl lrp-del-gateway-chassis r1-pub ch1\n")


def test_a_switch_port_made_under_a_name_a_link_came_to_name(tmp_path: Path) -> None:
    """A router-type port pointed at a router port that does not exist yet (its patch
    binding names it as its peer), then a switch port made under that name: the link
    appears, which the step before's peers, if kept over the first line, would not say."""
    with make(tmp_path) as c:
        s0 = start(c)
    _derived_vs_scratch(s0, "ovn-nbctl lsp-set-options priv1-r1 router-port=ghost\n"
                            "ovn-nbctl lsp-add priv3 ghost\n")


def test_a_switch_renamed_under_bound_ports_is_named_anew(tmp_path: Path) -> None:
    """A switch renamed where a chassis binds ports: those ports' bindings are the same,
    but the host's explanation names the switch (its binding run is not taken from the
    state before: `controller._carried_run` checks the datapaths it named)."""
    with make(tmp_path) as c:
        s0 = start(c)
    _derived_vs_scratch(s0, "ovn-nbctl set Logical_Switch priv1 name=priv1-renamed\n")


@pytest.mark.parametrize("setup, text", [
    # a name leaves the router side for the switch side, or the other way, in one step
    ("", "ovn-nbctl lrp-del r2-priv3 -- lsp-add priv1 r2-priv3\n"),
    ("", "ovn-nbctl lsp-del vm5 -- lrp-add r2 vm5 00:00:00:00:0c:01 10.200.0.1/24\n"),
    ("", "ovn-nbctl lrp-del-gateway-chassis r1-pub ch1 -- lsp-add priv1 cr-r1-pub\n"),
    ("lrp-del-gateway-chassis r1-pub ch1 -- lsp-add priv1 cr-r1-pub",
     "ovn-nbctl lsp-del cr-r1-pub -- lrp-set-gateway-chassis r1-pub ch1 10\n"),
    # a router port named like a gateway port's chassisredirect port: the name twice
    ("", "ovn-nbctl lrp-add r2 cr-r1-pub 00:00:00:00:0d:01 10.201.0.1/24\n"),
])
def test_a_name_that_moves_between_the_switch_and_router_sides(
        tmp_path: Path, setup: str, text: str) -> None:
    """The whole computation places a switch port by name and the router side after all of
    them: a name that changes sides changes place, which the router side's derivation
    (`northd_inc.derive_router_side`) leaves to it."""
    with make(tmp_path) as c:
        s0 = start(c)
        if setup:
            c.nbctl(setup)
            s0 = c.snapshot("s1")
    _derived_vs_scratch(s0, text)
