"""predict_southbound() against what the real ovn-northd 23.03 writes to SB."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers.sim_snapshots import Cluster
from ovnguard.model.logical import LogicalTopology, Southbound
from ovnguard.simulation import predict_southbound

pytestmark = pytest.mark.realdb

# Options northd copies from NB into SB that the simulation relies on.
KEYS = ("peer", "chassis-redirect-port", "l3gateway-chassis", "distributed-port",
        "always-redirect", "network_name", "l2gateway-chassis", "requested-chassis",
        "redirect-type")

TOPOLOGY = [
    "ls-add public", "ls-add internal", "ls-add other",
    "lsp-add public ln-public -- lsp-set-type ln-public localnet -- "
    "lsp-set-options ln-public network_name=physnet1",
    "lsp-add internal vm1 -- lsp-set-options vm1 requested-chassis=ch1",
    "lsp-add internal meta -- lsp-set-type meta localport",
    "lsp-add internal child vm1 42",
    "lsp-add internal l2gw -- lsp-set-type l2gw l2gateway -- "
    "lsp-set-options l2gw network_name=physnet1 l2gateway-chassis=ch2",
    "lsp-add internal odd -- set logical_switch_port odd type=no-such-type",
    "lsp-add other vm2",
    # r1: distributed router with a DGP (SNAT only -> always-redirect)
    "lr-add r1",
    "lrp-add r1 lrp-int 00:00:00:00:01:01 192.168.1.1/24",
    "lrp-add r1 lrp-pub 00:00:00:00:02:01 172.24.4.1/24",
    "lrp-set-gateway-chassis lrp-pub ch2 20", "lrp-set-gateway-chassis lrp-pub ch3 10",
    "lr-nat-add r1 snat 172.24.4.1 192.168.1.0/24",
    "lsp-add internal int-r1 -- lsp-set-type int-r1 router -- "
    "lsp-set-options int-r1 router-port=lrp-int",
    "lsp-add public pub-r1 -- lsp-set-type pub-r1 router -- "
    "lsp-set-options pub-r1 router-port=lrp-pub",
    # r2: gateway router on ch3, to "other"
    "lr-add r2 -- set logical_router r2 options:chassis=ch3",
    "lrp-add r2 lrp-oth 00:00:00:00:03:01 10.3.0.1/24",
    "lsp-add other oth-r2 -- lsp-set-type oth-r2 router -- "
    "lsp-set-options oth-r2 router-port=lrp-oth",
    # r3 -- r4 router-to-router peers; r4 has a DGP with a distributed FIP
    "lr-add r3", "lr-add r4",
    "lrp-add r3 r3-r4 00:00:00:00:04:01 10.4.0.1/30 peer=r4-r3",
    "lrp-add r4 r4-r3 00:00:00:00:04:02 10.4.0.2/30 peer=r3-r4",
    "lrp-add r4 r4-pub 00:00:00:00:04:03 172.24.5.1/24",
    "lrp-set-gateway-chassis r4-pub ch1 5",
    "lr-nat-add r4 dnat_and_snat 172.24.5.9 10.4.0.9 vm2 00:00:00:00:09:09",
    # a router port pointing at a router port that does not exist
    "lsp-add other dangling -- lsp-set-type dangling router -- "
    "lsp-set-options dangling router-port=nope",
]


def test_predicted_bindings_match_real_northd(tmp_path: Path) -> None:
    chassis = tuple(f"chassis-add ch{i} geneve 10.0.0.{i}" for i in (1, 2, 3))
    with Cluster(tmp_path, {}, sb=chassis) as c:
        c.nbctl(*TOPOLOGY)
        s = c.snapshot()
        log = c.northd_log()
    assert s.sb is not None
    psb = predict_southbound(s.nb, s.sb)
    real = Southbound.from_sb(s.sb)
    assert set(psb.bindings) == set(real.port_bindings)
    topo = LogicalTopology.from_nb(s.nb)
    for name, b in psb.bindings.items():
        pb = real.port_bindings[name]
        assert b.type == pb.type, name
        for k in KEYS:
            assert b.options.get(k) == pb.options.get(k), (name, k)
        assert b.parent_port == pb.parent_port, name
        # Same datapath: SB external_ids name/NB uuid.
        assert pb.datapath is not None
        assert real.datapaths[pb.datapath].nb_uuid == b.datapath, name
        assert sorted((m.chassis_name, m.priority) for m in b.ha_chassis) == sorted(
            (m.chassis_name, m.priority) for m in pb.ha_chassis), name
    assert [(m.chassis_name, m.priority) for m in psb.bindings["cr-lrp-pub"].ha_chassis] == [
        ("ch2", 20), ("ch3", 10)]
    assert psb.bindings["cr-r4-pub"].options.get("always-redirect") is None
    assert topo.router_ports["lrp-pub"].is_gateway_port
    # Northd's warning for the unknown type, with the real text.
    (ev,) = [e for e in psb.events if e.lport == "odd"]
    assert ev.message in log
    for d in psb.datapaths.values():
        assert d.tunnel_key is not None and d.tunnel_key == real.tunnel_key_for(d.uuid)


def test_bad_router_port_mac_has_no_binding(tmp_path: Path) -> None:
    with Cluster(tmp_path, {}) as c:
        c.nbctl("lr-add r1", "lrp-add r1 good 00:00:00:00:01:01 10.0.0.1/24",
                "lrp-add r1 bad 00:00:00:00:01:02 10.0.1.1/24",
                "set logical_router_port bad mac=not-a-mac")
        s = c.snapshot()
        log = c.northd_log()
    assert s.sb is not None
    psb = predict_southbound(s.nb, s.sb)
    assert set(psb.bindings) == set(Southbound.from_sb(s.sb).port_bindings) == {"good"}
    (ev,) = psb.events
    assert ev.message == "bad 'mac' not-a-mac" and ev.message in log
