"""realization_delta() / realization_steps() on real DB files: added, removed, stale."""

from __future__ import annotations

import importlib
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from helpers.sim_snapshots import Cluster, host_setup, vif
from ovnguard.model.snapshot import HostState, Snapshot
from ovnguard.simulation import realization_delta, realize
from ovnguard.simulation.realize import realization_steps

pytestmark = pytest.mark.realdb

PHYS = "physnet1:br-ex,physnet2:br-public"
LN = ("lsp-add neutron-aaa {p} -- lsp-set-type {p} localnet -- lsp-set-addresses {p} unknown "
      "-- lsp-set-options {p} network_name=physnet2")


def make(tmp: Path) -> Cluster:
    hosts = {f"compute{i}": host_setup(f"ch{i}", f"compute{i}", PHYS, f"10.0.0.{i}",
                                       ("br-ex", "br-public")) for i in (1, 2, 3)}
    sb = []
    for i in (1, 2, 3):
        sb += [f"chassis-add ch{i} geneve 10.0.0.{i}", f"set chassis ch{i} hostname=compute{i}"]
    return Cluster(tmp, hosts, sb=tuple(sb))


def before_state(c: Cluster) -> Snapshot:
    """The provider switch with vm1 on compute1, and the patch pair real ovn-controller
    would already have made there."""
    c.nbctl("ls-add neutron-aaa", LN.format(p="provnet-123"), "lsp-add neutron-aaa vm1")
    c.vsctl("compute1", vif("tap1", "vm1"))
    s = c.snapshot()
    c.materialize("compute1", realize(s).hosts["compute1"].patch_ports)
    return c.snapshot()


def nb_change(c: Cluster, s0: Snapshot, *cmds: str) -> Snapshot:
    """What a change engine produces: NB after the commands, SB and hosts untouched."""
    c.nbctl(*cmds)
    return replace(s0, nb=c.snapshot().nb)


def ovs_change(c: Cluster, s0: Snapshot, host: str, *cmds: str) -> Snapshot:
    c.vsctl(host, *cmds)
    hosts = dict(s0.hosts)
    hosts[host] = c.snapshot().hosts[host]
    return replace(s0, hosts=hosts)


def names(ports: tuple[object, ...]) -> set[tuple[str, str]]:
    return {(p.bridge, p.port) for p in ports}  # type: ignore[attr-defined]


def test_nothing_changes_without_a_change(tmp_path: Path) -> None:
    with make(tmp_path) as c:
        s0 = before_state(c)
    d = realization_delta(s0, s0)
    assert all(not (x.added or x.removed or x.stale) for x in d.values())


def test_added_duplicate_localnet_only_where_the_switch_is_local(tmp_path: Path) -> None:
    with make(tmp_path) as c:
        s0 = before_state(c)
        s1 = nb_change(c, s0, LN.format(p="ln-physnet2"))
    d = realization_delta(s0, s1, realize(s0), realize(s1))
    assert names(d["compute1"].added) == {("br-int", "patch-br-int-to-ln-physnet2"),
                                          ("br-public", "patch-ln-physnet2-to-br-int")}
    assert d["compute1"].removed == () and d["compute1"].stale == ()
    assert d["compute2"].to_json() == {"added": [], "removed": []}
    j = d["compute1"].to_json()
    assert {"bridge": "br-public", "port": "patch-ln-physnet2-to-br-int"} in j["added"]
    why = d["compute1"].why[d["compute1"].added[0]]
    assert any(e.row == "ln-physnet2" and e.table == "Logical_Switch_Port" for e in why)
    # Its own new patch ports make ovn-controller recompute on the next iteration.
    assert any("own patch-port changes" in e.fact for e in d["compute1"].recompute)


def test_deleted_localnet_is_removed_at_once(tmp_path: Path) -> None:
    with make(tmp_path) as c:
        s0 = before_state(c)
        s1 = nb_change(c, s0, "lsp-del provnet-123")
    d = realization_delta(s0, s1)
    assert names(d["compute1"].removed) == {("br-int", "patch-br-int-to-provnet-123"),
                                            ("br-public", "patch-provnet-123-to-br-int")}
    (e,) = d["compute1"].why[d["compute1"].removed[0]]
    assert "no longer a localnet" in e.fact and "at once" in e.fact


def test_last_vif_gone_leaves_the_pair_stale(tmp_path: Path) -> None:
    with make(tmp_path) as c:
        s0 = before_state(c)
        s1 = ovs_change(c, s0, "compute1", "del-port br-int tap1")
    d = realization_delta(s0, s1)["compute1"]
    assert d.removed == () and d.added == ()
    assert names(d.stale) == {("br-int", "patch-br-int-to-provnet-123"),
                              ("br-public", "patch-provnet-123-to-br-int")}
    assert d.recompute == ()
    assert "until a full recompute" in d.why[d.stale[0]][0].fact
    assert d.to_json()["stale_until_recompute"]


def test_recompute_elsewhere_turns_stale_into_removed(tmp_path: Path) -> None:
    with make(tmp_path) as c:
        s0 = before_state(c)
        s1 = ovs_change(c, s0, "compute1", "del-port br-int tap1")
        s2 = ovs_change(c, s1, "compute2", "set open_vswitch . "
                        'external_ids:ovn-bridge-mappings="physnet2:br-public"')
    d = realization_delta(s0, s2)["compute1"]
    assert d.stale == () and len(d.removed) == 2
    assert any("SB Chassis" in e.fact for e in d.recompute)
    # The same two transactions one after the other: stale first, then removed.
    seq = realization_steps([s0, s1, s2])["compute1"]
    assert names(seq.removed) == names(d.removed) and seq.stale == ()


def test_mapping_removed_removes_at_once(tmp_path: Path) -> None:
    with make(tmp_path) as c:
        s0 = before_state(c)
        s1 = ovs_change(c, s0, "compute1", "set open_vswitch . "
                        'external_ids:ovn-bridge-mappings="physnet1:br-ex"')
    d = realization_delta(s0, s1)["compute1"]
    assert len(d.removed) == 2
    assert any("no longer maps physnet2" in e.fact for e in d.why[d.removed[0]])


def test_mapping_moved_to_another_bridge_changes_nothing(tmp_path: Path) -> None:
    # Lab-verified: the new port's name is taken by the old one on br-public, which is not
    # ovn-controller's to delete; its OVS transaction fails on every iteration.
    with make(tmp_path) as c:
        s0 = before_state(c)
        s1 = ovs_change(c, s0, "compute1", "set open_vswitch . "
                        'external_ids:ovn-bridge-mappings="physnet2:br-ex"')
    d = realization_delta(s0, s1)["compute1"]
    assert d.added == () and d.removed == () and d.stale == ()
    assert any("transaction error" in n for n in d.notes)
    ev = [e for e in realize(s1).hosts["compute1"].events
          if e.message.startswith("transaction error")]
    assert ev and "patch-provnet-123-to-br-int" in ev[0].message


def test_host_without_ovs_db_uses_the_predicted_state(tmp_path: Path) -> None:
    with make(tmp_path) as c:
        s0 = before_state(c)
        c.sbctl("lsp-bind vm1 ch1",
                'set chassis ch1 other_config:ovn-bridge-mappings="physnet2:br-public"')
        s0 = replace(s0, sb=c.snapshot().sb)
        s1 = nb_change(c, s0, LN.format(p="ln-physnet2"))
    hosts = dict(s0.hosts)
    hosts["compute1"] = HostState("compute1")
    s0 = replace(s0, hosts=hosts)
    s1 = replace(s1, hosts=hosts)
    d = realization_delta(s0, s1)["compute1"]
    assert names(d.added) == {("br-int", "patch-br-int-to-ln-physnet2"),
                              ("br-public", "patch-ln-physnet2-to-br-int")}
    assert any("no Open_vSwitch DB" in n for n in d.notes)


# router r1 between switches public (lrp-pub) and private (lrp-priv)
R1 = ("lr-add r1", "lrp-add r1 lrp-pub 00:00:00:00:02:01 172.24.4.1/24",
      "lrp-add r1 lrp-priv 00:00:00:00:01:01 192.168.1.1/24",
      "lsp-add public pub-r1 -- lsp-set-type pub-r1 router -- "
      "lsp-set-options pub-r1 router-port=lrp-pub",
      "lsp-add private priv-r1 -- lsp-set-type priv-r1 router -- "
      "lsp-set-options priv-r1 router-port=lrp-priv")


def test_gateway_moved_in_steps_leaves_stale_ports(tmp_path: Path) -> None:
    with make(tmp_path) as c:
        c.nbctl("ls-add public", "ls-add private", "lsp-add private vm1",
                "lsp-add public ln -- lsp-set-type ln localnet -- "
                "lsp-set-options ln network_name=physnet1",
                *R1,
                "lrp-set-gateway-chassis lrp-pub ch3 1",
                "lr-nat-add r1 snat 172.24.4.1 192.168.1.0/24")
        c.vsctl("compute1", vif("tap1", "vm1"))
        s = c.snapshot()
        c.materialize("compute3", realize(s).hosts["compute3"].patch_ports)
        s0 = c.snapshot()
        steps = [s0]
        for cmd in ("lrp-del-gateway-chassis lrp-pub ch3", "lrp-set-gateway-chassis lrp-pub ch2 1"):
            c.nbctl(cmd)
            steps.append(replace(s0, nb=c.snapshot().nb))
    one = realization_delta(steps[0], steps[2])
    seq = realization_steps(steps)
    # In one transaction compute1 never sees the switch; in two, it has it for a moment
    # (no gateway: lrp-pub is a plain patch port) and keeps the pair until a recompute.
    assert one["compute1"].added == ()
    assert len(seq["compute1"].added) == 2 and set(seq["compute1"].stale) == set(
        seq["compute1"].added)
    assert len(seq["compute2"].added) == 2 and seq["compute2"].stale == ()
    # compute3 stays: a single-member group never had BFD, so nothing makes it recompute.
    assert len(seq["compute3"].stale) == 2


def test_no_chassis_after_the_change_freezes_the_ports(tmp_path: Path) -> None:
    # ovn-controller.c runs binding and patch_run() only when it has a chassis.
    with make(tmp_path) as c:
        s0 = before_state(c)
        s1 = ovs_change(c, s0, "compute1", "remove open_vswitch . external_ids ovn-encap-ip")
    assert realize(s1).hosts["compute1"].patch_ports == frozenset()
    d = realization_delta(s0, s1)["compute1"]
    assert d.added == d.removed == d.stale == ()
    assert any("leaves its patch ports as they are" in n for n in d.notes)


def _gateway_pair_and_a_ref(c: Cluster) -> Snapshot:
    """r1's gateway port on ch2 and ch3; vm1, behind r1, bound on ch1 (its ref chassis)."""
    c.nbctl("ls-add public", "ls-add private", "lsp-add private vm1",
            *R1,
            "lrp-set-gateway-chassis lrp-pub ch2 2", "lrp-set-gateway-chassis lrp-pub ch3 1")
    c.vsctl("compute1", vif("tap1", "vm1"))
    c.sbctl("lsp-bind vm1 ch1")  # what ovn-controller on compute1 would do
    return c.snapshot()


def test_bfd_peers_of_a_two_member_gateway_group(tmp_path: Path) -> None:
    from ovnguard.simulation import predict_southbound
    from ovnguard.simulation.bfd import bfd_peers

    with make(tmp_path) as c:
        s = _gateway_pair_and_a_ref(c)
    r = realize(s)
    claims = {hr.chassis: set(hr.bound_ports) for hr in r.hosts.values() if hr.chassis}
    peers = bfd_peers(predict_southbound(s.nb, s.sb), claims, {"ch1", "ch2", "ch3"})
    # Members run BFD with each other and with the ref chassis (vm1's), which runs BFD with
    # the members (bfd.c bfd_calculate_chassis).
    assert peers == {"ch1": {"ch2", "ch3"}, "ch2": {"ch1", "ch3"}, "ch3": {"ch1", "ch2"}}
    # The real northd computed the same ref chassis (the one non-member in the sets above).
    assert s.sb is not None
    names = {ch.uuid: ch.name for ch in s.sb.rows("Chassis")}
    (grp,) = s.sb.rows("HA_Chassis_Group")
    assert {names[u] for u in grp.set("ref_chassis")} == {"ch1"}


def test_bfd_peers_after_a_change_read_again_the_claims_it_changed(tmp_path: Path) -> None:
    """vm1 deleted: its chassis refs the gateway group no more. The state after's BFD peers,
    made with the state before's basis and the claims of the chassis it left alone, are the
    ones made from scratch."""
    from ovnguard.change.executor import default_executor
    from ovnguard.change.parse import parse_change
    from ovnguard.simulation.realize import _bfd_basis_changes, _bfd_peers

    with make(tmp_path) as c:
        s0 = _gateway_pair_and_a_ref(c)
    r0 = realize(s0)
    psb0 = r0.basis.psb  # type: ignore[attr-defined]
    assert _bfd_peers(psb0, r0)["ch1"] == {"ch2", "ch3"}  # (made, as a loaded model's are)
    with default_executor() as ex:
        s1 = ex.apply(s0, parse_change("ovn-nbctl lsp-del vm1\n", "c.sh")).snapshot
    r1 = realize(s1, since=r0)
    psb1 = r1.basis.psb  # type: ignore[attr-defined]
    assert _bfd_basis_changes(psb0, psb1) is not None  # what the basis reads is the same
    got = _bfd_peers(psb1, r1, (psb0, r0))
    assert got == _bfd_peers(psb1, r1) == {"ch2": {"ch3"}, "ch3": {"ch2"}}


def test_bfd_claims_of_a_host_predicted_again_are_its_own(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch,
                                                          ) -> None:
    """Host changes alone (no binding differs): compute1 predicted again with the ports it
    claims unchanged takes its claims over; compute1 no longer claiming vm1 (its VIF
    removed) has its claims read again -- it refs the gateway group no more."""
    from ovnguard.change.executor import default_executor
    from ovnguard.change.parse import parse_change
    from ovnguard.simulation import bfd
    from ovnguard.simulation.realize import _bfd_basis_changes, _bfd_peers

    realize_mod = importlib.import_module("ovnguard.simulation.realize")
    with make(tmp_path) as c:
        s0 = _gateway_pair_and_a_ref(c)
    r0 = realize(s0)
    psb0 = r0.basis.psb  # type: ignore[attr-defined]
    _bfd_peers(psb0, r0)  # (its claims made, as a loaded model's are)
    read: list[str] = []

    def spy(basis: Any, psb: Any, chassis: str, ports: Any) -> Any:
        read.append(chassis)
        return bfd.claimed_roots(basis, psb, chassis, ports)

    monkeypatch.setattr(realize_mod, "claimed_roots", spy)
    with default_executor() as ex:
        same = ex.apply(s0, parse_change(
            "# host: compute1\novs-vsctl set open . external_ids:ovn-cms-options=x\n",
            "c.sh")).snapshot
        gone = ex.apply(s0, parse_change("# host: compute1\novs-vsctl del-port tap1\n",
                                         "c.sh")).snapshot
    for s1, claims_vm1 in ((same, True), (gone, False)):
        r1 = realize(s1, since=r0)
        psb1 = r1.basis.psb  # type: ignore[attr-defined]
        assert r1.hosts["compute1"] is not r0.hosts["compute1"]
        assert ("vm1" in r1.hosts["compute1"].bound_ports) is claims_vm1
        assert _bfd_basis_changes(psb0, psb1) == set()
        read.clear()
        got = _bfd_peers(psb1, r1, (psb0, r0))
        assert read == ([] if claims_vm1 else ["ch1"])
        assert got == _bfd_peers(psb1, r1)
        assert ("ch1" in got) is claims_vm1


def test_incremental_state_from_a_prediction_in_another_language_is_made_again(
        tmp_path: Path) -> None:
    """`realize_host_seeded` takes what the host binds from its prediction from scratch only
    where that is the binding run `realize_host` would take now: a prediction explained in
    English, asked for in Korean, is made again (every chain in Korean)."""
    from ovnguard.i18n import set_language
    from ovnguard.simulation.controller import realize_host, realize_host_seeded

    with make(tmp_path) as c:
        s = _gateway_pair_and_a_ref(c)
    try:
        set_language("en")
        r = realize(s)
        psb, scratch = r.basis.psb, r.basis.preds["compute1"]  # type: ignore[attr-defined]
        assert scratch.realization.bound_ports  # (vm1's chain: English here)
        same = realize_host_seeded(psb, scratch, {})
        assert same == scratch and same.localized is not None
        assert same.localized.bound is scratch.localized.bound  # type: ignore[union-attr]
        set_language("ko")
        got = realize_host_seeded(psb, scratch, {})
        assert got == realize_host(psb, scratch.config, {})
        assert got.localized == realize_host(psb, scratch.config, {}).localized
        assert got != scratch
    finally:
        set_language("en")


def test_a_realization_of_another_snapshot_lends_no_bfd_basis(tmp_path: Path) -> None:
    """`realization_delta(before, after, r)` with `r` of another snapshot (allowed: it only
    loses reuse): the BFD basis `r` made is of that snapshot's gateway groups, not of
    `before`'s, and must not be taken over."""
    from ovnguard.change.executor import default_executor
    from ovnguard.change.parse import parse_change

    with make(tmp_path) as c:
        s = _gateway_pair_and_a_ref(c)
    r = realize(s)
    with default_executor() as ex:
        def then(snap: Snapshot, text: str) -> Snapshot:
            return ex.apply(snap, parse_change(text + "\n", "c.sh")).snapshot

        realization_delta(s, then(s, "ovn-nbctl lsp-add private vm9"), r)  # r's memos made
        one = then(s, "ovn-nbctl lrp-del-gateway-chassis lrp-pub ch3")  # no group of two
        two = then(one, "ovn-nbctl lsp-del vm1")
    assert realization_delta(one, two, r) == realization_delta(one, two)
