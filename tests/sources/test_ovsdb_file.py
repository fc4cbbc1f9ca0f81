"""The OVSDB file reader against files written by the real ovsdb-server."""

import json
from pathlib import Path

import pytest

from helpers.plan_tools import SEED
from helpers.real_db import RealDb, make_db
from ovnguard.errors import InputError
from ovnguard.model.db import Uuid, diff
from ovnguard.sources.ovsdb_file import read_database

pytestmark = pytest.mark.realdb


def test_diff_records_replay_to_live_state(tmp_path: Path) -> None:
    # lsp-set-options replaces the map; `remove` deletes a key; lsp-del garbage-collects the
    # port. The live server's view is the oracle for what replaying the file must give.
    path = tmp_path / "nb.db"
    with RealDb(path, "nb") as db:
        db.run("ls-add sw1 -- lsp-add sw1 p1 -- lsp-set-options p1 a=b x=y")
        db.run("lsp-set-options p1 a=b z=1 -- set logical_switch_port p1 external_ids:k=v")
        db.run(
            "remove logical_switch_port p1 external_ids k"
            " -- set logical_switch_port p1 external_ids:m=n"
        )
        db.run("lsp-add sw1 p2 -- lsp-set-addresses p2 unknown 'aa:bb:cc:dd:ee:ff 10.0.0.5'")
        db.run("lsp-del p2")
        live_opts = db.run("get logical_switch_port p1 options").strip()
        backup = db.backup(tmp_path / "backup.db")
    for f in (path, backup):
        nb = read_database(f, verify=True)
        ports = {r.name: r for r in nb.rows("Logical_Switch_Port")}
        assert set(ports) == {"p1"}
        assert ports["p1"]["options"] == {"a": "b", "z": "1"}
        assert live_opts == '{a=b, z="1"}'
        assert ports["p1"]["external_ids"] == {"m": "n"}
        sw = nb.find_one("Logical_Switch", "sw1")
        assert sw is not None and sw["ports"] == (ports["p1"].uuid,)
        assert isinstance(sw["ports"][0], Uuid)


def test_keep_limits_tables_and_columns(tmp_path: Path) -> None:
    path = make_db(tmp_path / "nb.db", "nb", ["ls-add sw1 -- lsp-add sw1 p1"])
    nb = read_database(path, keep={"Logical_Switch": ["name"]})
    assert set(nb.tables) == {"Logical_Switch"}
    (sw,) = nb.rows("Logical_Switch")
    assert set(sw.data) == {"name"}


def test_edit_garbage_collects_unreferenced_ports(tmp_path: Path) -> None:
    path = make_db(tmp_path / "nb.db", "nb", ["ls-add sw1 -- lsp-add sw1 p1 -- lsp-add sw1 p2"])
    nb = read_database(path)
    sw = nb.find_one("Logical_Switch", "sw1")
    assert sw is not None
    keep = next(r.uuid for r in nb.rows("Logical_Switch_Port") if r.name == "p1")
    e = nb.edit()
    e.update("Logical_Switch", sw.uuid, {"ports": (keep,)})
    after = e.commit()
    assert [r.name for r in after.rows("Logical_Switch_Port")] == ["p1"]
    kinds = sorted((c.table, c.kind) for c in diff(nb, after))
    assert kinds == [("Logical_Switch", "update"), ("Logical_Switch_Port", "delete")]
    assert nb.count("Logical_Switch_Port") == 2  # the snapshot itself never changes


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty file"),
        (b"hello\n", "not an OVSDB database file"),
        (b"OVSDB CLUSTER 10 abc\n", "ovsdb-tool cluster-to-standalone"),
        (b"OVSDB JSON 50 0000\n{}", "truncated record"),
        (b'OVSDB JSON 5 0000\n{"a":\n', "not valid JSON"),
    ],
)
def test_bad_files_are_one_line_errors(tmp_path: Path, content: bytes, message: str) -> None:
    f = tmp_path / "nb.db"
    f.write_bytes(content)
    with pytest.raises(InputError) as ei:
        read_database(f)
    assert message in str(ei.value)
    assert str(ei.value).startswith(str(f))
    assert "\n" not in str(ei.value)


def test_schema_constraints_reach_the_change_engine(tmp_path: Path) -> None:
    # The real ovs-vsctl is the oracle for the constraint texts.
    from ovnguard.change import apply_change, parse_change
    from ovnguard.model.snapshot import HostState, Snapshot

    path = tmp_path / "conf.db"
    lines = ["set bridge br-ex fail_mode=bogus", "set interface eth0 ofport_request=99999"]
    real = []
    with RealDb(path, "vswitch") as db:
        db.run("add-br br-ex -- add-port br-ex eth0")
        for line in lines:
            with pytest.raises(RuntimeError) as ei:
                db.run(line)
            real.append(str(ei.value).split("failed: ", 1)[1])
    ovs = read_database(path)
    nb = read_database(make_db(tmp_path / "nb.db", "nb"))
    snap = Snapshot(nb=nb, sb=None, hosts={"h": HostState(name="h", ovs=ovs)})
    text = "# host: h\n" + "".join(f"ovs-vsctl {line}\n" for line in lines)
    result = apply_change(snap, parse_change(text, "c.sh"))
    assert [p.message for p in result.problems] == real
    col = ovs.schema.column("Bridge", "fail_mode")
    assert col.key_enum == frozenset({"secure", "standalone"})
    assert not ovs.schema.column("Bridge", "name").mutable


def test_optional_column_diffs_replace_like_ovsdb_server(tmp_path: Path) -> None:
    # ovsdb-server writes `_is_diff` records; an optional column (max 1, e.g. LSP `up`,
    # `tag_request`) is replaced by the record's value, not toggled like a set.
    path = tmp_path / "nb.db"
    with RealDb(path, "nb") as db:
        db.run("ls-add sw -- lsp-add sw p1 -- set logical_switch_port p1 up=false "
               "tag_request=5")
        db.run("set logical_switch_port p1 up=true tag_request=7")
        live = db.run("--bare --columns=up,tag_request list logical_switch_port p1").split()
    (p1,) = read_database(path).rows("Logical_Switch_Port")
    assert live == ["true", "7"]
    assert (p1["up"], p1["tag_request"]) == ((True,), (7,))


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_clustered_file_written_by_a_real_server_is_converted(tmp_path: Path) -> None:
    # A one-server raft cluster, as `ovsdb-tool create-cluster` + ovsdb-server make it, with
    # transactions the server itself logged: read while the server still runs (a copy of the
    # live file, as a sos report or a bundle would hold it) and after it stopped.
    import shutil
    import subprocess

    path = tmp_path / "ovnnb_db.db"
    subprocess.run(["ovsdb-tool", "create-cluster", str(path), "/usr/share/ovn/ovn-nb.ovsschema",
                    f"tcp:127.0.0.1:{_free_port()}"], check=True, capture_output=True)
    assert path.read_bytes().startswith(b"OVSDB CLUSTER ")
    with RealDb(path, "nb") as db:
        db.run("ls-add public -- lsp-add public ln-physnet1 -- lsp-set-type ln-physnet1 "
               "localnet -- lsp-set-options ln-physnet1 network_name=physnet1")
        db.run("lsp-add public vm1")
        live_copy = tmp_path / "copy.db"
        shutil.copy(path, live_copy)
        live = read_database(live_copy)
        assert sorted(r.name for r in live.rows("Logical_Switch_Port")) == ["ln-physnet1", "vm1"]
    assert path.read_bytes().startswith(b"OVSDB CLUSTER ")  # still clustered: converted on read
    nb = read_database(path)
    assert nb.name == "OVN_Northbound" and nb.source == str(path)
    ln = next(r for r in nb.rows("Logical_Switch_Port") if r.name == "ln-physnet1")
    assert ln.get("type") == "localnet" and ln.map("options") == {"network_name": "physnet1"}


def test_clustered_file_without_ovsdb_tool_names_the_command(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import subprocess

    path = tmp_path / "nb.db"
    subprocess.run(["ovsdb-tool", "create-cluster", str(path), "/usr/share/ovn/ovn-nb.ovsschema",
                    f"tcp:127.0.0.1:{_free_port()}"], check=True, capture_output=True)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # no ovsdb-tool anywhere
    with pytest.raises(InputError) as ei:
        read_database(path)
    msg = str(ei.value)
    assert msg.startswith(f"{path}:1: ") and "\n" not in msg
    assert f"ovsdb-tool cluster-to-standalone standalone.db {path}" in msg
    assert "not installed" in msg


def _as_data(db: object) -> dict[str, dict[str, dict[str, object]]]:
    from ovnguard.model.db import Database

    assert isinstance(db, Database)
    return {t: {str(u): dict(r.data) for u, r in rows.items()} for t, rows in db.tables.items()}


def test_big_records_split_by_table_read_the_same(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A record past SPLIT_AT is split by table before parsing (so skipped tables are never
    # built); with the threshold at 0 every record is, and the database must not change:
    # diff records of a live server's own file, a backup's one record, keep and skip.
    from ovnguard.sources import ovsdb_file

    path = tmp_path / "nb.db"
    with RealDb(path, "nb") as db:
        db.run("ls-add sw1 -- lsp-add sw1 p1 -- lsp-set-options p1 a=b x=y")
        db.run("lsp-set-options p1 a=b z=1 -- lsp-add sw1 p2 -- lr-add r1")
        db.run("lsp-del p2 -- set logical_switch sw1 other_config:k=v")
        backup = db.backup(tmp_path / "backup.db")
    example = SEED / "bundle"
    cases = [(path, {}), (backup, {}), (backup, {"skip": {"Logical_Switch_Port"}}),
             (backup, {"keep": {"Logical_Switch_Port": ["name", "options"]}}),
             (example / "sb.db", {"skip": {"Logical_Flow"}})]
    whole = [_as_data(read_database(f, **kw)) for f, kw in cases]  # type: ignore[arg-type]
    monkeypatch.setattr(ovsdb_file, "SPLIT_AT", 0)
    split = [_as_data(read_database(f, **kw)) for f, kw in cases]  # type: ignore[arg-type]
    assert split == whole
    assert whole[0]["Logical_Switch_Port"] and "Logical_Flow" not in whole[-1]


def test_a_skipped_table_of_a_split_record_is_never_parsed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ovnguard.sources import ovsdb_file

    example = SEED / "bundle" / "sb.db"
    parsed: list[bytes] = []
    real_json = ovsdb_file._json

    def spy(body: memoryview, source: str, line: int) -> object:
        parsed.append(bytes(body))
        return real_json(body, source, line)

    monkeypatch.setattr(ovsdb_file, "SPLIT_AT", 0)
    monkeypatch.setattr(ovsdb_file, "_json", spy)
    sb = read_database(example, skip={"Logical_Flow"})
    assert sb.count("Port_Binding") > 0
    flows = [b for b in parsed if b'"logical_datapath"' in b and b'"match"' in b]
    assert not flows  # Logical_Flow rows carry both; none reached the JSON parser
    assert any(b'"logical_port"' in b for b in parsed)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'["not", "an object"]', "not a JSON object"),
        (b'{"Logical_Flow": {"x": [}, "SB_Global": {}}', "not valid JSON"),  # in a skipped table
        (b'{"SB_Global": {}', "not valid JSON"),
        (b'{"SB_Global": {}} trailing', "not valid JSON"),
        # split, a big table's rows are parsed one by one: a bad row fails the same way
        (b'{"SB_Global": {"0d4e1b2a-0000-4000-8000-000000000001": 5}}', "malformed row data"),
        (b'{"SB_Global": [1]}', "malformed row data"),
    ],
)
def test_split_records_fail_like_whole_ones(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: bytes, message: str) -> None:
    import hashlib

    from ovnguard.sources import ovsdb_file

    schema = Path("/usr/share/ovn/ovn-sb.ovsschema").read_bytes().strip()
    f = tmp_path / "sb.db"
    f.write_bytes(b"".join(b"OVSDB JSON %d %s\n%s\n" % (len(b), hashlib.sha1(b).hexdigest()
                                                         .encode(), b) for b in (schema, body)))
    errors = []
    for split_at in (1 << 30, 0):
        monkeypatch.setattr(ovsdb_file, "SPLIT_AT", split_at)
        with pytest.raises(InputError) as ei:
            read_database(f, skip={"Logical_Flow"})
        errors.append(str(ei.value))
    for e in errors:
        assert message in e and e.startswith(f"{f}:") and "\n" not in e
    assert [e.split(": ")[0] for e in errors] == [errors[0].split(": ")[0]] * 2  # same line


def test_a_reference_and_the_row_it_names_share_one_uuid_object(tmp_path: Path) -> None:
    # the reader makes one Uuid per distinct uuid (at 200k ports, a copy per reference was
    # tens of MB): a switch's `ports` hold the very keys of the port rows
    path = tmp_path / "nb.db"
    with RealDb(path, "nb") as db:
        db.run("ls-add sw1 -- lsp-add sw1 p1 -- lsp-add sw1 p2")
    nb = read_database(path)
    sw = nb.find_one("Logical_Switch", "sw1")
    assert sw is not None
    keys = {u: u for u in nb.tables["Logical_Switch_Port"]}
    assert len(sw.set("ports")) == 2
    assert all(keys[u] is u for u in sw.set("ports"))


def test_keys_and_short_values_of_string_maps_are_one_object_each(tmp_path: Path) -> None:
    # the same keys and small values in every row (at 200k ports ~150 MB of copies)
    path = tmp_path / "nb.db"
    with RealDb(path, "nb") as db:
        db.run("ls-add sw1 -- lsp-add sw1 p1 -- lsp-add sw1 p2 -- lsp-set-options p1 "
               "requested-chassis=hv1 -- lsp-set-options p2 requested-chassis=hv1 "
               "-- lsp-set-type p1 router -- lsp-set-type p2 router")
    nb = read_database(path)
    p1, p2 = (nb.find_one("Logical_Switch_Port", n) for n in ("p1", "p2"))
    assert p1 is not None and p2 is not None
    (k1, v1), (k2, v2) = (next(iter(p.map("options").items())) for p in (p1, p2))
    assert (k1, v1) == (k2, v2) == ("requested-chassis", "hv1")
    assert k1 is k2 and v1 is v2 and p1["type"] is p2["type"]
    assert p1.map("options") is p2.map("options")  # equal maps of one read: one object


def test_the_copy_for_the_real_tools_is_kept_only_for_a_later_what_if(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from ovnguard import oneshot
    from ovnguard.sources.ovsdb_file import write_database

    nb = read_database(SEED / "bundle" / "nb.db")
    assert write_database(nb) is write_database(nb)  # every what-if copies the same NB
    monkeypatch.setattr(oneshot, "_one_shot", True)  # `check`: there is no later what-if
    nb = read_database(SEED / "bundle" / "nb.db")
    first, second = write_database(nb), write_database(nb)
    assert first == second and first is not second


def test_rows_left_out_of_a_one_record_file_are_never_read(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # what model/mesh.py does with ovn-controller's tunnel ports: the hook sees the rows as
    # written and names those not to read; references to them stay as written
    from ovnguard.sources import ovsdb_file

    # as if the records were big (the several-record file below then goes through the
    # big-record path too)
    monkeypatch.setattr(ovsdb_file, "SPLIT_AT", 0)
    path = tmp_path / "nb.db"
    with RealDb(path, "nb") as db:
        db.run("ls-add sw1 -- lsp-add sw1 p1 -- lsp-add sw1 p2")
        db.run("lsp-set-options p2 a=b")  # a second record: the server's own log
        backup = db.backup(tmp_path / "backup.db")
    seen: list[set[str]] = []

    def leave_out(tables: dict[str, bytes]) -> set[str]:
        seen.append(set(tables))
        # each table is still its text
        return {u for u, r in json.loads(bytes(tables["Logical_Switch_Port"])).items()
                if r["name"] == "p2"}

    whole = read_database(backup)
    held = read_database(backup, leave_out=leave_out)
    assert seen == [set(whole.tables)]
    assert [r.name for r in held.rows("Logical_Switch_Port")] == ["p1"]
    p2 = whole.find_one("Logical_Switch_Port", "p2")
    sw = held.find_one("Logical_Switch", "sw1")
    assert p2 is not None and sw is not None and p2.uuid in sw.set("ports")
    # in a file of several records a later one may need the row: every row is read
    seen.clear()
    assert {r.name for r in read_database(path, leave_out=leave_out)
            .rows("Logical_Switch_Port")} == {"p1", "p2"}
    assert seen == []
    # below SPLIT_AT, reading every row costs less than looking at them as written first
    monkeypatch.setattr(ovsdb_file, "SPLIT_AT", len(backup.read_bytes()))
    assert read_database(backup, leave_out=leave_out).tables == whole.tables
    assert seen == []


@pytest.mark.parametrize("body", [b'{"Bridge": [1]}', b'{"Bridge": {"u": 1}}', b'[1]',
                                  b'{"Bridge": {"u": {"name": "x"}}'])
def test_leave_out_on_a_bad_record_fails_like_a_plain_read(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: bytes) -> None:
    import hashlib

    from ovnguard.sources import ovsdb_file

    monkeypatch.setattr(ovsdb_file, "SPLIT_AT", 0)  # as if the record were big

    schema = Path("/usr/share/openvswitch/vswitch.ovsschema").read_bytes().strip()
    f = tmp_path / "conf.db"
    f.write_bytes(b"".join(b"OVSDB JSON %d %s\n%s\n" % (len(b), hashlib.sha1(b).hexdigest()
                                                         .encode(), b) for b in (schema, body)))
    errors = []
    for leave_out in (None, lambda tables: set()):
        with pytest.raises(InputError) as ei:
            read_database(f, leave_out=leave_out)
        errors.append(str(ei.value))
    assert errors[0] == errors[1] and "\n" not in errors[0]
