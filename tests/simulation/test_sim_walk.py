"""The explanation of a local datapath is walked only as far as the datapath asked for
(controller._Walk): every chain equals the eager walk's (`_closure`), whatever order the
datapaths are read in."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_sim_realize import cluster, routed

from ovnguard.simulation.controller import _closure
from ovnguard.simulation.northd import predict_southbound
from ovnguard.simulation.realize import realize

pytestmark = pytest.mark.realdb


@pytest.mark.parametrize("gateway,nat", [(None, False), ("dgp", False), ("dgp", True),
                                         ("l3gw", False)])
def test_lazy_chains_equal_the_eager_walk(tmp_path: Path, gateway: str | None,
                                          nat: bool) -> None:
    with cluster(tmp_path) as c:
        routed(c, gateway=gateway, nat=nat)
        s = c.snapshot()
    psb = predict_southbound(s.nb, s.sb)
    compared = 0
    for order in (sorted, lambda xs: sorted(xs, reverse=True)):
        r = realize(s)
        for h, hr in r.hosts.items():
            pred = r.basis.preds[h]  # type: ignore[attr-defined]
            roots = {u: pred.local[u] for u in pred.local if u in
                     {b.datapath for n in hr.bound_ports
                      for b in (psb.bindings[n],)}}
            eager = _closure(psb, roots, hr.chassis or "", h, [])
            assert set(eager) == set(pred.local), h
            for u in order(pred.local):  # a fresh realization: nothing walked yet
                assert pred.local[u] == eager[u], (h, u)
                compared += 1
    assert compared > 0


def test_chassis_with_the_same_local_datapaths_share_one_set(tmp_path: Path) -> None:
    # vm1 on compute1, vm2 on compute2, both on `internal`: both chassis reach internal, r1
    # and public, and hold one set (and one key list) between them, not a copy each.
    # compute3 binds nothing: its (empty) set is its own.
    from test_sim_realize import vif

    with cluster(tmp_path) as c:
        routed(c)
        c.nbctl("lsp-add internal vm2")
        c.vsctl("compute2", vif("tap2", "vm2"))
        s = c.snapshot()
    r = realize(s)
    one, two, three = (r.hosts[h] for h in ("compute1", "compute2", "compute3"))
    assert len(one.local_datapath_uuids) == 3
    assert one.local_datapath_uuids is two.local_datapath_uuids
    assert three.local_datapath_uuids == frozenset()
    preds = r.basis.preds  # type: ignore[attr-defined]
    assert preds["compute1"].local._keys is preds["compute2"].local._keys
    # shared keys, own explanations: each chain names its own host
    for h, vm in (("compute1", "vm1"), ("compute2", "vm2")):
        texts = [e.fact for u in preds[h].local for e in preds[h].local[u]]
        assert any(vm in t for t in texts) and all(
            ("vm1" if vm == "vm2" else "vm2") not in t for t in texts), h
