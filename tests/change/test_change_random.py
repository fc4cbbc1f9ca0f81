"""Random sequences of ovn-nbctl lines over a small name pool, model vs the real tool.

Small pools make collisions (existing names, missing ports, duplicate IPs, ports moving
between switches) frequent, which is where the model and the real tool could disagree.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers.change_oracle import compare
from helpers.real_db import make_db

pytestmark = pytest.mark.realdb

SW = st.sampled_from(["sw1", "sw2", "sw3"])
PORT = st.sampled_from(["p1", "p2", "p3", "p4"])
ROUTER = st.sampled_from(["r1", "r2"])
LRP = st.sampled_from(["lrp1", "lrp2"])
CHASSIS = st.sampled_from(["ch1", "ch2", "ch10"])
KEY = st.sampled_from(["a", "b", "network_name"])
VAL = st.sampled_from(["1", "x", "physnet2"])
ADDR = st.sampled_from([
    "unknown", "router", "dynamic", "bogus", "'00:00:00:00:00:01 10.0.0.1'",
    "'00:00:00:00:00:02 10.0.0.1 fd00::1'", "'00:00:00:00:00:03 10.0.0.3'",
])


def _kv(k: str, v: str) -> str:
    return f"{k}={v}"


COMMAND = st.one_of(
    st.builds(lambda s, o: f"{o}ls-add {s}", SW, st.sampled_from(["", "--may-exist "])),
    st.builds(lambda s, o: f"{o}ls-del {s}", SW, st.sampled_from(["", "--if-exists "])),
    st.builds(lambda s, p, o: f"{o}lsp-add {s} {p}", SW, PORT,
              st.sampled_from(["", "--may-exist "])),
    st.builds(lambda s, p, q, t: f"lsp-add {s} {p} {q} {t}", SW, PORT, PORT,
              st.sampled_from(["0", "7", "4096"])),
    st.builds(lambda p, o: f"{o}lsp-del {p}", PORT, st.sampled_from(["", "--if-exists "])),
    st.builds(lambda p, t: f"lsp-set-type {p} {t}", PORT,
              st.sampled_from(["localnet", "router", "''", "bogus"])),
    st.builds(lambda p, kvs: f"lsp-set-options {p} " + " ".join(kvs), PORT,
              st.lists(st.builds(_kv, KEY, VAL), max_size=3)),
    st.builds(lambda p, a: f"lsp-set-addresses {p} " + " ".join(a), PORT,
              st.lists(ADDR, max_size=2, unique=True)),
    st.builds(lambda p, e: f"lsp-set-enabled {p} {e}", PORT,
              st.sampled_from(["enabled", "disabled", "maybe"])),
    st.builds(lambda r, o: f"{o}lr-add {r}", ROUTER, st.sampled_from(["", "--may-exist "])),
    st.builds(lambda r: f"lr-del {r}", ROUTER),
    st.builds(lambda r, p, n: f"lrp-add {r} {p} 00:00:00:00:01:0{n} 10.{n}.0.1/24", ROUTER, LRP,
              st.integers(1, 2)),
    st.builds(lambda p: f"lrp-del {p}", LRP),
    st.builds(lambda p, c, pr: f"lrp-set-gateway-chassis {p} {c} {pr}".rstrip(), LRP, CHASSIS,
              st.sampled_from(["", "1", "5"])),
    st.builds(lambda p, c: f"lrp-del-gateway-chassis {p} {c}", LRP, CHASSIS),
    st.builds(lambda p, k, v: f"set Logical_Switch_Port {p} external_ids:{k}={v}", PORT, KEY,
              VAL),
    st.builds(lambda p, t: f"set Logical_Switch_Port {p} tag_request={t}", PORT,
              st.sampled_from(["[]", "3", "x"])),
    st.builds(lambda p, k, v: f"add Logical_Switch_Port {p} options {k}={v}", PORT, KEY, VAL),
    st.builds(lambda p, k: f"remove Logical_Switch_Port {p} options {k}", PORT, KEY),
    st.builds(lambda p: f"clear Logical_Switch_Port {p} options", PORT),
    st.builds(lambda s, k, v: f"set Logical_Switch {s} other_config:{k}={v}", SW, KEY, VAL),
    st.builds(lambda s: f"destroy Logical_Switch {s}", SW),
)
LINE = st.lists(COMMAND, min_size=1, max_size=3).map(lambda cs: "ovn-nbctl " + " -- ".join(cs))


@pytest.fixture(scope="module")
def base_nb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("rnd")
    return make_db(
        d / "nb.db", "nb",
        ["ls-add sw1 -- lsp-add sw1 p1 -- lsp-set-addresses p1 '00:00:00:00:00:09 10.0.0.1'",
         "lr-add r1 -- lrp-add r1 lrp1 00:00:00:00:01:01 10.1.0.1/24"],
    )


@settings(max_examples=80, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(lines=st.lists(LINE, min_size=1, max_size=5))
def test_random_nb_sequences_match_real_ovn_nbctl(base_nb: Path, lines: list[str]) -> None:
    with tempfile.TemporaryDirectory() as d:
        cmp = compare(base_nb, "nb", "\n".join(lines) + "\n", Path(d))
        cmp.assert_same()


BR = st.sampled_from(["br-ex", "br-int", "br-p"])
OPORT = st.sampled_from(["eth1", "eth2", "br-ex", "patch-a"])
OVS_COMMAND = st.one_of(
    st.builds(lambda b, o: f"{o}add-br {b}", BR, st.sampled_from(["", "--may-exist "])),
    st.builds(lambda b, o: f"{o}del-br {b}", BR, st.sampled_from(["", "--if-exists "])),
    st.builds(lambda b, p, o: f"{o}add-port {b} {p}", BR, OPORT,
              st.sampled_from(["", "--may-exist "])),
    st.builds(lambda p, o: f"{o}del-port {p}", OPORT, st.sampled_from(["", "--if-exists "])),
    st.builds(lambda b, p: f"del-port {b} {p}", BR, OPORT),
    st.builds(lambda p, k, v: f"set interface {p} external_ids:{k}={v}", OPORT, KEY, VAL),
    st.builds(lambda p, t: f"set interface {p} type={t}", OPORT,
              st.sampled_from(["patch", "internal", "''"])),
    st.builds(lambda b, m: f"set-fail-mode {b} {m}", BR,
              st.sampled_from(["secure", "standalone", "bogus"])),
    st.builds(lambda b, k, v: f"set bridge {b} other-config:{k}={v}", BR, KEY, VAL),
    st.builds(lambda v: f"set Open_vSwitch . external_ids:ovn-bridge-mappings={v}",
              st.sampled_from(["physnet2:br-ex", "physnet1:br-ex,physnet2:br-p"])),
    st.just("remove Open_vSwitch . external_ids ovn-bridge-mappings"),
    st.builds(lambda p: f"destroy Interface {p}", OPORT),
)
OVS_LINE = st.lists(OVS_COMMAND, min_size=1, max_size=3).map(
    lambda cs: "ovs-vsctl --no-wait " + " -- ".join(cs)
)


@pytest.fixture(scope="module")
def base_ovs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("rnd-ovs")
    return make_db(d / "conf.db", "vswitch",
                   ["add-br br-int", "add-br br-ex -- add-port br-ex eth1"])


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(lines=st.lists(OVS_LINE, min_size=1, max_size=5))
def test_random_ovs_sequences_match_real_ovs_vsctl(base_ovs: Path, lines: list[str]) -> None:
    with tempfile.TemporaryDirectory() as d:
        cmp = compare(base_ovs, "vswitch", "\n".join(lines) + "\n", Path(d))
        cmp.assert_same()
