"""The guard's pure parts: probe specs, one-transaction chains, the inverse of a change and
its verification, the per-database lock. No daemon; the OVSDB schema is the installed one."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import pytest

from helpers.guard_tools import SEED_CHANGE, SEED_SWITCH, cli
from ovnguard.change import parse_change
from ovnguard.errors import InputError
from ovnguard.guard import ovsdb
from ovnguard.guard import state as st
from ovnguard.guard.chain import chain_argv, one_host, target_of
from ovnguard.guard.control import durations
from ovnguard.guard.inverse import (
    Current,
    diff_rows,
    edits_from_json,
    edits_to_json,
    plan_rollback,
    verify_rollback,
)
from ovnguard.guard.ovsdb import DbSchema, Rows, row_from_json
from ovnguard.guard.probes import default_probes, parse_probe, port_number
from ovnguard.guard.rollback import chassis_ports
from ovnguard.guard.sentinel.checks import sb_checks
from ovnguard.model.db import Schema

NB_SCHEMA = Path("/usr/share/ovn/ovn-nb.ovsschema")


# --- probes -----------------------------------------------------------------------------


def test_probe_specs() -> None:
    p = parse_probe("icmp:10.10.0.21")
    assert (p.kind, p.target, p.timeout) == ("icmp", "10.10.0.21", 1.0)
    p = parse_probe("tcp:10.10.0.21")
    assert (p.kind, p.target, p.port) == ("tcp", "10.10.0.21", 22)
    assert parse_probe("tcp:10.10.0.21:2222").port == 2222
    p = parse_probe("tcp:[fd00::21]:80")
    assert (p.target, p.port) == ("fd00::21", 80)
    assert parse_probe("tcp:fd00::21").target == "fd00::21"
    assert parse_probe("chassis").timeout == 10.0
    assert parse_probe("chassis:2.5").timeout == 2.5
    p = parse_probe("cmd:ping -c1 gw && true")
    assert (p.kind, p.target) == ("cmd", "ping -c1 gw && true")


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("udp:1.2.3.4", "unknown kind 'udp'"),
        ("tcp:1.2.3.4:99999", "bad port '99999'"),
        ("tcp:[fd00::1]80", "expected tcp:[ADDR]:PORT"),
        ("icmp:", "no address"),
        ("cmd:  ", "no command after cmd:"),
        ("chassis:soon", "expected chassis or chassis:SECONDS"),
        ("chassis:0", "SECONDS must be positive"),
    ],
)
def test_bad_probe_specs(spec: str, message: str) -> None:
    with pytest.raises(InputError, match=re.escape(message)):
        parse_probe(spec)


def test_one_port_number_rule_for_probes_and_sb_remotes_each_in_its_own_words() -> None:
    assert [port_number(t, "x {text}") for t in ("1", "22", "65535")] == [1, 22, 65535]
    # "²" and "٣" are digits to str.isdigit(): "²" made int() raise (a traceback)
    for bad in ("0", "65536", "", "-1", "22 ", "x", "²", "٣"):
        with pytest.raises(InputError, match=re.escape(f"bad {bad!r} in y")):
            port_number(bad, "bad {text} in {where}", where="y")
    with pytest.raises(InputError, match=re.escape("probe 'tcp:a:0': bad port '0'")):
        parse_probe("tcp:a:0")
    with pytest.raises(InputError, match=re.escape("--sb 'tcp:a:0': bad port '0'")):
        sb_checks("tcp:a:0")
    with pytest.raises(InputError, match=re.escape("--sb 'tcp:[::1]:x': bad port 'x'")):
        sb_checks("tcp:[::1]:x")


def test_default_probes_icmp_and_ssh_to_each_management_address() -> None:
    probes = default_probes({"compute1": "10.10.0.23", "controller": "10.10.0.21",
                             "network": None, "dup": "10.10.0.21", "v6": "fd00::9"})
    assert [p.spec for p in probes] == [
        "icmp:10.10.0.23", "tcp:10.10.0.23:22", "icmp:10.10.0.21", "tcp:10.10.0.21:22",
        "icmp:fd00::9", "tcp:[fd00::9]:22",
    ]


# --- one transaction ------------------------------------------------------------------------


def test_seed_change_becomes_one_ovn_nbctl_invocation() -> None:
    change = parse_change(SEED_CHANGE, "seed.sh")
    target = target_of(change)
    assert (target.database, target.tool, target.host) == ("OVN_Northbound", "ovn-nbctl", None)
    assert chain_argv(change, target, "unix:/run/ovn/nb.sock", 30) == [
        "ovn-nbctl", "--db=unix:/run/ovn/nb.sock", "--timeout=30",
        "--", "lsp-add", SEED_SWITCH, "ln-physnet2",
        "--", "lsp-set-type", "ln-physnet2", "localnet",
        "--", "lsp-set-options", "ln-physnet2", "network_name=physnet2",
        "--", "lsp-set-addresses", "ln-physnet2", "unknown",
    ]


def test_options_of_commands_stay_global_options_go() -> None:
    change = parse_change("# host: compute1\novs-vsctl --no-wait -t 5 --may-exist add-br br1 "
                          "-- set bridge br1 fail_mode=secure\n", "c.sh")
    target = target_of(change)
    assert target.host == "compute1"
    assert chain_argv(change, target, "unix:/db.sock", 10) == [
        "ovs-vsctl", "--db=unix:/db.sock", "--timeout=10", "--no-wait",
        "--", "--may-exist", "add-br", "br1", "--", "set", "bridge", "br1", "fail_mode=secure",
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("ovn-nbctl ls-add a\n# host: c1\novs-vsctl add-br b\n", "mixes ovn-nbctl and ovs-vsctl"),
        ("# host: c1\novs-vsctl add-br b\n# host: c2\novs-vsctl add-br b\n",
         "several hosts \\(c1, c2\\)"),
        ("ovs-vsctl add-br b\n", "c.sh:1: ovs-vsctl acts on one host's database"),
        ("ovn-nbctl ls-add a\nopenstack network create x\n", "c.sh:2: the guard applies"),
        ("ovn-nbctl --dry-run ls-add a\n", "c.sh:1: --dry-run changes nothing"),
        ("ovn-nbctl lsp-add\n", "c.sh:1: ovn-nbctl: 'lsp-add' command requires at least 2"),
        ("# nothing\n", "c.sh: no ovn-nbctl or ovs-vsctl command line"),
    ],
)
def test_changes_the_guard_cannot_apply_as_one_transaction(text: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        target_of(parse_change(text, "c.sh"))


def test_one_host_of_a_change_or_why_not() -> None:
    assert one_host([("c1", 1), ("c1", 3)], "c.sh", "unnamed", "several {names}") == "c1"
    assert one_host([("c1", None)], "c.sh", "unnamed", "several {names}") == "c1"
    with pytest.raises(InputError) as e:
        one_host([("c1", 1), (None, 4), (None, 6)], "c.sh", "unnamed", "several {names}")
    assert (e.value.message, e.value.path, e.value.line) == ("unnamed", "c.sh", 4)
    with pytest.raises(InputError) as e:
        one_host([(None, None)], "c.sh", "unnamed", "several {names}")
    assert (e.value.message, e.value.line) == ("unnamed", None)
    with pytest.raises(InputError) as e:
        one_host([("c2", 1), ("c1", 2), ("c2", 3)], "c.sh", "unnamed", "several {names}")
    assert (e.value.message, e.value.line) == ("several c1, c2", None)


# --- after a rollback -------------------------------------------------------------------------


def test_chassis_ports_reads_a_bare_uuid_and_a_set_of_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """RFC 7047: a set of one element is on the wire as that element, so a one-port bridge's
    `ports` is ["uuid", U] and a bridge's with several ["set", [...]]."""
    def query(remote: str, database: str, ops: Any, timeout: float = 30.0) -> list[Any]:
        assert (remote, database) == ("unix:/db.sock", "Open_vSwitch")
        return [
            {"rows": [{"name": "br-int", "ports": ["set", [["uuid", "p1"], ["uuid", "p2"]]]},
                      {"name": "br-ex", "ports": ["uuid", "p3"]},
                      {"name": "br-empty", "ports": ["set", []]},
                      {"name": "br-gone", "ports": ["uuid", "p-deleted-meanwhile"]}]},
            {"rows": [{"_uuid": ["uuid", "p1"], "name": "br-int"},
                      {"_uuid": ["uuid", "p2"], "name": "patch-a"},
                      {"_uuid": ["uuid", "p3"], "name": "eth1"}]},
        ]

    monkeypatch.setattr(ovsdb, "query", query)
    assert chassis_ports("unix:/db.sock") == {
        ("br-int", "br-int"), ("br-int", "patch-a"), ("br-ex", "eth1")}

    def unreachable(*_a: Any, **_k: Any) -> list[Any]:
        raise ovsdb.Unreachable("gone")

    monkeypatch.setattr(ovsdb, "query", unreachable)
    assert chassis_ports("unix:/db.sock") is None


# --- the inverse ----------------------------------------------------------------------------

needs_schema = pytest.mark.skipif(not NB_SCHEMA.exists(), reason="ovn-central not installed")

SW = "11111111-0000-0000-0000-000000000001"
P1 = "11111111-0000-0000-0000-0000000000a1"  # deleted by the change
P2 = "11111111-0000-0000-0000-0000000000a2"  # inserted by the change
P3 = "11111111-0000-0000-0000-0000000000a3"  # untouched


def schema() -> DbSchema:
    doc = json.loads(NB_SCHEMA.read_text())
    return DbSchema(Schema.from_json(doc), doc)


def rows(s: DbSchema, spec: dict[str, dict[str, dict[str, Any]]]) -> Rows:
    return {t: {u: row_from_json(s, t, r) for u, r in rs.items()} for t, rs in spec.items()}


def port(name: str, **cols: Any) -> dict[str, Any]:
    return {"name": name, "type": cols.get("type", ""), "options": ["map", cols.get(
        "options", [])], "addresses": ["set", cols.get("addresses", [])],
        "up": ["set", cols.get("up", [])]}


def switch(ports: list[str], other: list[list[str]]) -> dict[str, Any]:
    return {"name": "sw", "ports": ["set", [["uuid", p] for p in ports]],
            "other_config": ["map", other]}


def before_after(s: DbSchema) -> tuple[Rows, Rows]:
    before = rows(s, {
        "Logical_Switch": {SW: switch([P1, P3], [["a", "1"], ["gone", "x"]])},
        "Logical_Switch_Port": {P1: port("p1", addresses=["unknown"]), P3: port("p3")},
    })
    after = rows(s, {
        "Logical_Switch": {SW: switch([P2, P3], [["a", "2"], ["new", "y"]])},
        "Logical_Switch_Port": {
            P2: port("ln", type="localnet", options=[["network_name", "physnet2"]],
                     up=[True]),
            P3: port("p3", up=[True]),  # ovn-northd's column: not the change's
        },
    })
    return before, after


@needs_schema
def test_diff_sees_the_change_not_the_daemons() -> None:
    s = schema()
    before, after = before_after(s)
    edits = diff_rows(s, before, after)
    assert [e.describe() for e in edits] == [
        "Logical_Switch sw (other_config, ports)",
        "Logical_Switch_Port p1 (deleted)",
        "Logical_Switch_Port ln (inserted)",
    ]
    assert "up" not in (edits[2].after or {})
    assert edits_from_json(s, json.loads(json.dumps(edits_to_json(s, edits)))) == edits


@needs_schema
def test_inverse_restores_items_with_waits_first_and_the_old_uuid() -> None:
    s = schema()
    before, after = before_after(s)
    edits = diff_rows(s, before, after)
    plan = plan_rollback(s, edits, Current(after))
    assert plan.conflicts == []
    kinds = [op["op"] for op in plan.ops]
    assert kinds == ["wait", "wait", "wait", "insert", "mutate", "delete", "comment"]
    ins = plan.ops[3]
    assert ins["uuid"] == P1 and ins["row"]["name"] == "p1"
    name = ins["uuid-name"]
    mutate = plan.ops[4]
    assert mutate["mutations"] == [
        ["other_config", "delete", ["set", ["a", "new"]]],
        ["other_config", "insert", ["map", [["a", "1"], ["gone", "x"]]]],
        ["ports", "delete", ["set", [["uuid", P2]]]],
        ["ports", "insert", ["set", [["named-uuid", name]]]],
    ]
    # The switch must still hold what the change left, the new port too, p1's name free.
    wait_sw = next(op for op in plan.ops if op["op"] == "wait" and op["table"] ==
                   "Logical_Switch")
    assert ["ports", "includes", ["set", [["uuid", P2]]]] in wait_sw["where"]
    assert ["other_config", "includes", ["map", [["a", "2"], ["new", "y"]]]] in wait_sw["where"]
    assert any(op["where"] == [["name", "==", "p1"]] and op["rows"] == [] for op in plan.ops)
    assert plan.ops[5] == {"op": "delete", "table": "Logical_Switch_Port",
                           "where": [["_uuid", "==", ["uuid", P2]]]}
    # Without persistent uuids (old servers) the row is re-created under a new one.
    assert "uuid" not in plan_rollback(s, edits, Current(after), persist_uuids=False).ops[3]


@needs_schema
def test_concurrent_edits_of_other_items_do_not_block_and_are_not_written() -> None:
    s = schema()
    before, after = before_after(s)
    edits = diff_rows(s, before, after)
    P4 = "11111111-0000-0000-0000-0000000000a4"
    now = rows(s, {
        "Logical_Switch": {SW: switch([P2, P3, P4], [["a", "2"], ["new", "y"], ["b", "z"]])},
        "Logical_Switch_Port": {P2: port("ln", type="localnet",
                                         options=[["network_name", "physnet2"]])},
    })
    plan = plan_rollback(s, edits, Current(now))
    assert plan.conflicts == []
    mutate = next(op for op in plan.ops if op["op"] == "mutate")
    text = json.dumps(mutate)
    assert P4 not in text and '"b"' not in text


@needs_schema
def test_conflicts_name_table_row_column_expected_and_found() -> None:
    s = schema()
    before, after = before_after(s)
    edits = diff_rows(s, before, after)
    now = rows(s, {
        "Logical_Switch": {SW: switch([P2, P3], [["a", "7"], ["new", "y"]])},
        "Logical_Switch_Port": {P2: port("ln", type="localnet",
                                         options=[["network_name", "physnet9"]])},
    })
    hits = {P1: [("11111111-0000-0000-0000-0000000000ff", row_from_json(
        s, "Logical_Switch_Port", port("p1")))]}
    plan = plan_rollback(s, edits, Current(now, hits))
    assert plan.ops == []
    assert sorted(str(c) for c in plan.conflicts) == [
        "Logical_Switch sw [11111111] column other_config:a: expected 2 (as the change left "
        "it), found 7",
        "Logical_Switch_Port ln [11111111] column options: expected {network_name=physnet2} "
        "(as the change left it), found {network_name=physnet9}",
        "Logical_Switch_Port p1 [11111111]: expected no other row with the same unique index "
        "values, found Logical_Switch_Port p1 [11111111] created since the change",
    ]
    # A row that is in the way cannot be forced; overwritten items can.
    assert plan_rollback(s, edits, Current(now, hits), force=True).blocked
    forced = plan_rollback(s, edits, Current(now), force=True)
    assert len(forced.conflicts) == 2 and not forced.blocked
    assert ["other_config", "delete", ["set", ["a", "new"]]] in next(
        op for op in forced.ops if op["op"] == "mutate")["mutations"]
    assert any(op["op"] == "delete" for op in forced.ops)


@needs_schema
def test_already_reverted_items_are_left_alone_and_verification() -> None:
    s = schema()
    before, after = before_after(s)
    edits = diff_rows(s, before, after)
    plan = plan_rollback(s, edits, Current(before))
    assert plan.empty and plan.conflicts == []
    assert "Logical_Switch_Port ln: already deleted" in plan.already
    assert "Logical_Switch_Port p1: already back" in plan.already
    assert verify_rollback(s, edits, before, {}) == []
    diffs = verify_rollback(s, edits, after, {})
    assert [str(d) for d in diffs] == [
        "Logical_Switch sw [11111111] column other_config:a: expected 1, found 2",
        "Logical_Switch sw [11111111] column other_config:gone: expected x, found absent",
        "Logical_Switch sw [11111111] column other_config:new: expected absent, found y",
        f"Logical_Switch sw [11111111] column ports: expected [{P1}, {P3}], found "
        f"[{P2}, {P3}]",
        f"Logical_Switch_Port p1 [{P1[:8]}]: expected the row, found no such row",
        f"Logical_Switch_Port ln [{P2[:8]}]: expected row deleted, found it still exists",
    ]


# --- the lock -----------------------------------------------------------------------------


# Guard ids as ovnguard makes them (a lock's id becomes a path: only this shape is accepted).
G1, G2, G3 = (f"20261125T07312{n}.676-nb-54e{n}" for n in (1, 2, 3))


def fake_guard(root: Path, gid: str, status: str, remote: str) -> st.GuardDir:
    g = st.create_guard_dir(root, gid)
    st.write_json(g.state_file, {
        "schema_version": 1, "id": gid, "status": status, "database": "OVN_Northbound",
        "remote": remote, "change": "/x/change.sh",
        "argv": ["ovn-nbctl", f"--db={remote}", "--timeout=30", "--", "ls-add", "x"],
        "settings": {"confirm_within": 60},
        "timeline": {"deadline": time.time() + 60}})
    return g


def test_one_guard_per_database_and_stale_locks_go(tmp_path: Path) -> None:
    remote = st.normalize_remote("unix:nb.sock")
    assert remote.startswith("unix:/")
    g = fake_guard(tmp_path, G1, st.ARMED, remote)
    st.acquire(tmp_path, "OVN_Northbound", remote, G1)
    assert oct((tmp_path / "locks").stat().st_mode & 0o777) == "0o700"
    with pytest.raises(st.GuardError) as e:
        st.acquire(tmp_path, "OVN_Northbound", remote, G2)
    assert e.value.exit_code == 4
    assert "another guard is armed on OVN_Northbound" in str(e.value)
    assert f"{G1} (change /x/change.sh, rollback at" in str(e.value)
    # Another database is free.
    st.acquire(tmp_path, "OVN_Northbound", "unix:/other.sock", G3)
    # A finished guard's lock is stale: taken over.
    g.update(lambda d: setattr(d, "status", st.CONFIRMED))
    st.acquire(tmp_path, "OVN_Northbound", remote, G2)
    assert st.holder(tmp_path, "OVN_Northbound", remote) is None  # g2 has no state dir


def test_a_guard_whose_apply_died_before_its_watcher_is_not_a_lock(tmp_path: Path) -> None:
    import subprocess

    dead = subprocess.Popen(["true"])
    dead.wait()
    g = fake_guard(tmp_path, G1, st.PREPARING, "unix:/nb.sock")
    g.update(lambda d: setattr(d, "cli", {"pid": dead.pid}))
    st.acquire(tmp_path, "OVN_Northbound", "unix:/nb.sock", G1)
    st.acquire(tmp_path, "OVN_Northbound", "unix:/nb.sock", G2)
    state = g.read()
    assert state.status == st.FAILED and "nothing was applied" in (state.error or "")


def test_transition_is_conditional(tmp_path: Path) -> None:
    g = fake_guard(tmp_path, G1, st.ARMED, "unix:/nb.sock")
    moved, state = g.transition({st.ARMED}, st.CONFIRMED, stamp="confirmed")
    assert moved and state.status == st.CONFIRMED and "confirmed" in state.timeline
    moved, state = g.transition({st.ARMED}, st.ROLLING_BACK)
    assert not moved and state.status == st.CONFIRMED


def test_durations() -> None:
    doc = {"timeline": {"apply_started": 10.0, "applied": 10.25, "first_probe_failure": 11.0,
                        "rollback_started": 11.0, "restored": 11.04, "verified": 11.5}}
    assert durations(doc) == {"apply": 0.25, "applied_to_restored": 0.79,
                              "probe_failure_to_restored": 0.04,
                              "rollback_start_to_restored": 0.04, "restored_to_verified": 0.46}


# --- the command line without a database --------------------------------------------------


def test_cli_bad_input_and_unreachable_database(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    change = tmp_path / "c.sh"
    change.write_text("ovn-nbctl ls-add x\n")
    base = ["apply", "--change", str(change), "--nb", f"unix:{tmp_path}/nb.sock",
            "--state-dir", str(tmp_path / "state")]
    res = CliRunner().invoke(cli(), [*base, "--probe", "bogus:1"])
    assert res.exit_code == 2
    assert "ovnguard apply: probe 'bogus:1': unknown kind 'bogus'" in res.output
    assert "Traceback" not in res.output
    res = CliRunner().invoke(cli(), [*base, "--probe", "none"])
    assert res.exit_code == 3
    assert f"cannot reach OVN_Northbound at unix:{tmp_path}/nb.sock" in res.output
    assert not (tmp_path / "state").exists()
    res = CliRunner().invoke(cli(), ["apply", "--change", str(tmp_path / "missing.sh")])
    assert res.exit_code == 2 and "missing.sh: no such file" in res.output
    res = CliRunner().invoke(cli(), ["confirm", "--state-dir", str(tmp_path / "state")])
    assert res.exit_code == 2 and "no active guard" in res.output


def test_guard_refuses_ip_lines_with_their_line() -> None:
    """The OVSDB-only path (target_of) refuses `ip` lines with their line: a host change goes
    through guard/hoststeps.py (tests/guard/test_guard_hoststeps.py)."""
    with pytest.raises(InputError) as e:
        target_of(parse_change("# host: c1\n\nip addr add 10.0.0.1/24 dev eth0\n", "c.sh"))
    assert e.value.line == 3 and "`ip` lines" in str(e.value)
