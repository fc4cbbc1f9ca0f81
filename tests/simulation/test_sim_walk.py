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
