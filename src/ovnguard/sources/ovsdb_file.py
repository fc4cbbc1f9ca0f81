"""Read OVSDB standalone database files (what ovsdb-server and `ovsdb-client backup` write).

Why not the Python IDL: the IDL needs a live server and keeps every column of every table
in memory with change tracking; a bundle is a file, and at a few hundred chassis the IDL's
per-row overhead dominates. The file format is simple and stable (ovsdb/log.c, ovsdb/file.c):

    OVSDB JSON <length> <sha1>\n<length bytes of JSON>\n      (repeated)

The first record is the schema; each later one is a transaction, replayed in order. Since
OVS 2.15 records carry `"_is_diff": true`: then a set column's value is the symmetric
difference to apply and a map column's value says, per key, add / delete (same value) /
replace (other value) -- ovsdb_datum_apply_diff().

A clustered database (`OVSDB CLUSTER` records, raft: what a clustered ovsdb-server writes)
is converted on the fly by the installed `ovsdb-tool cluster-to-standalone` into a temporary
file -- the real tool, not a raft reader of ours; only without ovsdb-tool is it refused, with
the command to run elsewhere.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import tempfile
import weakref
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from operator import itemgetter
from pathlib import Path
from types import MappingProxyType
from typing import Any

import orjson

from ovnguard.errors import InputError
from ovnguard.gcpause import gc_paused
from ovnguard.i18n import _
from ovnguard.model.db import (
    ColumnType,
    Database,
    FrozenMap,
    Row,
    RowChange,
    Schema,
    Uuid,
    frozen_map,
    json_converter,
    normalize_set,
    row_layout,
    thawed,
    uuid_interner,
)
from ovnguard.oneshot import is_one_shot
from ovnguard.sources import safeio

Keep = Mapping[str, Collection[str]] | None
# Given a one-record file's tables as they are written ({table: its JSON text, bytes-like},
# nothing parsed), the uuids of rows not to read at all (model/mesh.py: ovn-controller's
# tunnel mesh).
LeaveOut = Callable[[Mapping[str, Any]], Collection[str]]
MAGIC_JSON = b"OVSDB JSON "
MAGIC_CLUSTER = b"OVSDB CLUSTER "


def read_database(path: str | Path, keep: Keep = None, verify: bool = False,
                  skip: Collection[str] = (), leave_out: LeaveOut | None = None) -> Database:
    """Load a standalone OVSDB file into a Database.

    `keep` limits the tables (and, per table, columns) held in memory; `None` keeps all.
    `skip` names tables not to hold at all (with `keep=None`: everything else, every column).
    `verify` checks each record's SHA-1 (off by default: the file is usually fresh output of
    ovsdb-client, and hashing doubles the read time of a big NB). `leave_out` names rows not
    to convert, in a file of one transaction record (what `ovsdb-client backup` writes; in a
    server's own log a later record may need the row) of at least `SPLIT_AT` bytes (below
    that, converting every row costs less than looking at the rows as written, which needs
    msgspec imported); references to them stay as written.
    """
    p = Path(path)
    raw = safeio.read_bytes(p, limit=safeio.MAX_DB_BYTES, what="database file")
    return parse_database(raw, str(p), keep, verify, skip, leave_out)


def _records(raw: bytes, source: str, verify: bool) -> Iterator[tuple[int, memoryview]]:
    """Split the file into (line number, record body) records, without copying the bodies."""
    view = memoryview(raw)
    pos = 0
    line = 1
    n = len(raw)
    while pos < n:
        if raw.startswith(MAGIC_CLUSTER, pos):
            raise InputError(
                _(
                        "this is a clustered (raft) OVSDB file; convert it first: ovsdb-tool "
                        "cluster-to-standalone standalone.db {source}").format(
                        source=source),
                source,
                line,
            )
        if not raw.startswith(MAGIC_JSON, pos):
            if raw[pos:].strip() == b"":
                break
            raise InputError(
                _(
                        "not an OVSDB database file (expected a record header 'OVSDB JSON "
                        "<length> <sha1>'; make it with `ovsdb-client backup`)"),
                source,
                line,
            )
        eol = raw.find(b"\n", pos)
        if eol < 0:
            raise InputError(_("truncated record header"), source, line)
        header = raw[pos:eol].split()
        try:
            length = int(header[2])
            digest = header[3].decode()
        except (IndexError, ValueError):
            raise InputError(_("malformed record header"), source, line) from None
        start = eol + 1
        body = view[start : start + length]
        if len(body) < length:
            raise InputError(
                _(
                        "truncated record (header says {length} bytes, {count} present)").format(
                        length=length, count=len(body)),
                source,
                line,
            )
        if verify and hashlib.sha1(body).hexdigest() != digest:
            raise InputError(_("record checksum mismatch (file corrupted?)"), source, line)
        yield line, body
        end = pos = start + length
        newlines = 0
        while pos < n and raw[pos : pos + 1] in (b"\n", b"\r"):
            if raw[pos : pos + 1] == b"\n":
                newlines += 1
            pos += 1
        if pos < n:  # another record: where it starts (counting a big body's lines costs)
            line += 1 + raw.count(b"\n", start, end) + newlines


def _json(body: memoryview, source: str, line: int) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as e:
        raise InputError(_("record is not valid JSON: {e}").format(e=e), source, line + 1) from None


# Parsed schemas by their record's bytes: a thousand hosts' conf.db files carry the same one.
_SCHEMAS: dict[bytes, Schema] = {}


def _schema(body: memoryview, source: str, line: int) -> Schema:
    key = body.tobytes()
    schema = _SCHEMAS.get(key)
    if schema is None:
        try:
            schema = Schema.from_json(_json(body, source, line))
        except (KeyError, TypeError, AttributeError, ValueError, IndexError,
                OverflowError) as e:
            # a mangled min/max/enum; the exception's text may quote content: its type only
            raise InputError(_(
                    "first record is not a valid OVSDB schema ({name})").format(
                    name=type(e).__name__),
                             source, line) from None
        if len(_SCHEMAS) >= 16:
            _SCHEMAS.clear()
        _SCHEMAS[key] = schema
    return schema


def cluster_to_standalone(raw: bytes, source: str) -> bytes:
    """The standalone form of a clustered DB file, by `ovsdb-tool cluster-to-standalone`."""
    tool = shutil.which("ovsdb-tool")
    if tool is None:
        raise InputError(
            _(
                    "this is a clustered (raft) OVSDB file and ovsdb-tool is not installed here "
                    "(Debian: openvswitch-common); convert it where it is: ovsdb-tool "
                    "cluster-to-standalone standalone.db {source}").format(
                    source=source), source, 1)
    with tempfile.TemporaryDirectory(prefix="ovnguard-raft-") as d:
        clustered, standalone = Path(d) / "clustered.db", Path(d) / "standalone.db"
        clustered.write_bytes(raw)
        try:
            proc = subprocess.run([tool, "cluster-to-standalone", str(standalone),
                                   str(clustered)], capture_output=True, timeout=300,
                                  check=False)
        except subprocess.TimeoutExpired:
            raise InputError(_("ovsdb-tool cluster-to-standalone did not finish in 300s"),
                             source) from None
        if proc.returncode != 0 or not standalone.is_file():
            err = proc.stderr.decode(errors="replace").strip().splitlines()
            why = (err[-1] if err else f"exit status {proc.returncode}").replace(str(d), "")
            raise InputError(_(
                    "clustered (raft) OVSDB file that ovsdb-tool cluster-to-standalone could not "
                    "convert: {why}").format(
                    why=why), source)
        return standalone.read_bytes()


def parse_database(raw: bytes, source: str, keep: Keep = None, verify: bool = False,
                   skip: Collection[str] = (), leave_out: LeaveOut | None = None) -> Database:
    if raw.startswith(MAGIC_CLUSTER):
        raw = cluster_to_standalone(raw, source)
    with gc_paused():  # millions of new containers, none garbage: see ovnguard.gcpause
        return _parse_database(raw, source, keep, verify, skip, leave_out)


def _parse_database(raw: bytes, source: str, keep: Keep, verify: bool,
                    skip: Collection[str], leave_out: LeaveOut | None = None) -> Database:
    records: Iterable[tuple[int, memoryview]] = _records(raw, source, verify)
    first = next(iter(records), None)
    if first is None:
        raise InputError(_("empty file: not an OVSDB database"), source)
    schema = _schema(first[1], source, first[0])
    records = list(records)  # the bodies are views: nothing copied
    one_record = len(records) == 1

    keep_tables = None if keep is None else {t: set(cs) for t, cs in keep.items()}
    tables: dict[str, dict[Uuid, dict[str, Any]]] = {}
    plans: dict[str, _Plan] = {}
    uuid_of = uuid_interner()
    maps: dict[Any, FrozenMap] = {}  # equal string maps of this read: one object each

    def wanted(tname: str) -> bool:
        return (keep_tables is None or tname in keep_tables) and tname not in skip

    updates: Iterable[tuple[int, bool, str, Any]] | None = None
    gone: Collection[str] = ()
    if leave_out is not None and one_record and len(records[0][1]) >= SPLIT_AT:
        written = _rows_as_written(records[0], source, wanted)
        if written is not None:
            updates, texts = written
            gone = leave_out(texts)
    if updates is None:
        updates = _table_updates(records, source, wanted)
    for line, is_diff, tname, trows in updates:
        plan = plans.get(tname)
        if plan is None:
            ts = schema.tables.get(tname)
            if ts is None:
                raise InputError(_(
                        "transaction names unknown table {tname!r}").format(
                        tname=tname), source,
                                 line)
            cols = keep_tables.get(tname) if keep_tables is not None else None
            plan = plans[tname] = _Plan(ts.columns, cols, uuid_of, maps)
        table = tables.setdefault(tname, {})
        try:
            _apply_rows(plan, table, trows, is_diff, gone)
        except (TypeError, ValueError, KeyError, IndexError, AttributeError) as e:
            raise InputError(
                _(
                        "malformed row data in table {tname} ({name}: {e})").format(
                        tname=tname, name=type(e).__name__, e=e),
                source, line
            ) from None

    frozen: dict[str, Mapping[Uuid, Row]] = {}
    for tname, rows in tables.items():
        frozen[tname] = MappingProxyType(_packed(tname, plans[tname], rows))
    return Database(schema, MappingProxyType(frozen), source)


def _packed(tname: str, plan: _Plan, rows: dict[Uuid, dict[str, Any]]) -> dict[Uuid, Row]:
    """The table's rows, each a tuple in the table's one column layout: every row was given
    every kept column (defaults filled in), in whatever order its record listed them."""
    lay = row_layout(plan.types)
    cols = tuple(lay)
    packed = Row.packed
    out: dict[Uuid, Row] = {}
    if len(cols) > 1:
        values = itemgetter(*cols)
        for u, data in rows.items():
            if len(data) == len(cols):
                out[u] = packed(tname, u, lay, values(data))
            else:  # not expected (see above); a layout of its own rather than a wrong one
                out[u] = Row(tname, u, data)
    else:
        for u, data in rows.items():
            out[u] = Row(tname, u, data)
    return out


_ABSENT: Any = object()


# A record at least this big is split by table before it is parsed (see _split_tables).
SPLIT_AT = 1 << 20


def _table_updates(records: Iterable[tuple[int, memoryview]], source: str,
                   wanted: Callable[[str], bool] = lambda t: True,
                   ) -> Iterator[tuple[int, bool, str, Any]]:
    """(line, is_diff, table, rows) for every wanted table a transaction record names."""
    for line, body in records:
        if len(body) >= SPLIT_AT:
            parts = _split_tables(body, source, line)
            is_diff = bool(_json(parts["_is_diff"], source, line)) if "_is_diff" in parts \
                else False
            for tname, raw in parts.items():
                if not tname.startswith("_") and wanted(tname):
                    rows = _RowsOneByOne.of(raw, source, line) if len(raw) >= SPLIT_AT \
                        else None
                    yield line, is_diff, tname, rows or _json(raw, source, line)
            continue
        txn = _json(body, source, line)
        if not isinstance(txn, dict):
            raise InputError(_("transaction record is not a JSON object"), source, line)
        is_diff = bool(txn.get("_is_diff"))
        for tname, trows in txn.items():
            if not tname.startswith("_") and wanted(tname):
                yield line, is_diff, tname, trows


class _RowsOneByOne:
    """A big table's rows ({uuid: row}) parsed one at a time as they are read: a whole
    table parsed at once (Port_Binding at 200k ports is ~0.5 GB of JSON) builds every row's
    JSON objects before the first one is converted, and that was the reader's peak."""

    __slots__ = ("_line", "_rows", "_source")

    def __init__(self, rows: dict[str, Any], source: str, line: int) -> None:
        self._rows, self._source, self._line = rows, source, line

    @staticmethod
    def of(raw: memoryview, source: str, line: int) -> _RowsOneByOne | None:
        """None when the table's value is not an object: parsed whole, it fails as before."""
        import msgspec

        try:
            rows = msgspec.json.decode(raw, type=dict[str, msgspec.Raw])
        except (msgspec.ValidationError, msgspec.DecodeError):
            return None
        return _RowsOneByOne(rows, source, line)

    def __iter__(self) -> Iterator[str]:
        return iter(self._rows)

    def __len__(self) -> int:
        return len(self._rows)

    def items(self) -> Iterator[tuple[str, Any]]:
        source, line = self._source, self._line
        for u, raw in self._rows.items():
            yield u, _json(memoryview(raw), source, line)


def _rows_as_written(record: tuple[int, memoryview], source: str,
                     wanted: Callable[[str], bool]
                     ) -> tuple[list[tuple[int, bool, str, _RowsOneByOne]],
                                dict[str, Any]] | None:
    """A record's wanted tables, each row still its JSON text, and each table's text (for
    `leave_out` to look at before any row is parsed); None when it is not tables of rows:
    read it the usual way, which says what is wrong."""
    import msgspec

    line, body = record
    try:
        parts = msgspec.json.decode(body, type=dict[str, msgspec.Raw])
        is_diff = bool(msgspec.json.decode(parts["_is_diff"])) if "_is_diff" in parts \
            else False
        texts = {t: raw for t, raw in parts.items() if not t.startswith("_") and wanted(t)}
        return [(line, is_diff, tname,
                 _RowsOneByOne(msgspec.json.decode(raw, type=dict[str, msgspec.Raw]),
                               source, line))
                for tname, raw in texts.items()], texts
    except (msgspec.ValidationError, msgspec.DecodeError):
        return None


def _split_tables(body: memoryview, source: str, line: int) -> dict[str, memoryview]:
    """A transaction record as {table: its JSON text}, nothing parsed but the top level.

    Why: a southbound record is mostly Logical_Flow (103 of 120 MiB at 1,000 chassis),
    which the model never reads; parsed whole, the tables it skips were built first and
    made the reader's peak memory (1.1 GB there, 0.3 GB split). msgspec checks the whole
    record is well-formed JSON and hands back each table's bytes without copying them.
    """
    import msgspec  # only for big records: a seed bundle's never need it

    try:
        parts = msgspec.json.decode(body, type=dict[str, msgspec.Raw])
    except msgspec.ValidationError:
        raise InputError(_("transaction record is not a JSON object"), source, line) from None
    except msgspec.DecodeError as e:
        raise InputError(_("record is not valid JSON: {e}").format(e=e), source,
                         line + 1) from None
    return {t: memoryview(raw) for t, raw in parts.items()}


class _Plan:
    """How to read one table's cells: the kept columns, each with its converter."""

    __slots__ = ("convert", "types", "uuid_of")

    def __init__(self, columns: Mapping[str, ColumnType], keep_cols: set[str] | None,
                 uuid_of: Callable[[str], Uuid] = Uuid,
                 maps: dict[Any, FrozenMap] | None = None) -> None:
        self.types = {c: t for c, t in columns.items() if keep_cols is None or c in keep_cols}
        self.convert = {c: json_converter(t, uuid_of, maps) for c, t in self.types.items()}
        self.uuid_of = uuid_of  # rows' own uuids: the same objects as references to them


def _apply_rows(
    plan: _Plan, table: dict[Uuid, dict[str, Any]], trows: Mapping[str, Any], is_diff: bool,
    gone: Collection[str] = (),
) -> None:
    """Convert a record's rows of one table into `table` (all but those `gone` names)."""
    convert, uuid_of = plan.convert, plan.uuid_of
    rows: Iterable[tuple[str, Any]] = trows.items()
    if gone:
        if isinstance(trows, _RowsOneByOne):
            trows = _RowsOneByOne({u: r for u, r in trows._rows.items() if u not in gone},
                                  trows._source, trows._line)
            rows = trows.items()
        else:
            rows = ((u, r) for u, r in rows if u not in gone)
    for u, rdoc in rows:
        uid = uuid_of(u)
        if rdoc is None:
            table.pop(uid, None)
            continue
        row = table.get(uid)
        if row is None:
            # A new row: its cells are values, in a diff record too (a diff against the
            # column's default is the value). Columns of a newer schema are skipped.
            row = {}
            if len(rdoc) > len(convert):
                # the model keeps a few of a row's columns: look those up, skip the rest
                for col, conv in convert.items():
                    j = rdoc.get(col, _ABSENT)
                    if j is not _ABSENT:
                        row[col] = conv(j)
            else:
                for col, j in rdoc.items():
                    f = convert.get(col)
                    if f is not None:
                        row[col] = f(j)
            if len(row) < len(convert):
                for col, t in plan.types.items():
                    if col not in row:
                        row[col] = t.default()
            table[uid] = row
            continue
        for col, j in rdoc.items():
            f = convert.get(col)
            if f is None:
                continue
            new = f(j)
            ctype = plan.types[col]
            # ovsdb_datum_apply_diff_in_place(): only composite types (maps, and sets that can
            # hold more than one element) are diffs; an optional column (max 1) is replaced.
            if is_diff and (ctype.is_map or ctype.max > 1):
                row[col] = _apply_diff(ctype, row.get(col, ctype.default()), new)
            else:
                row[col] = new


def _apply_diff(ctype: ColumnType, old: Any, diff: Any) -> Any:
    if ctype.is_map:
        out = dict(old)
        for k, v in diff.items():
            if k in out and out[k] == v:
                del out[k]
            else:
                out[k] = v
        return frozen_map(out)
    return normalize_set(set(old) ^ set(diff))


# -- writing a copy, and following what a server appends ----------------------------------
#
# The change executor (change/realtools.py) runs the real ovn-nbctl / ovs-vsctl against a
# throwaway ovsdb-server loaded with a copy of the model's database, and learns what each
# command line changed from the transaction record the server appends to its file.


def _atom_json(a: Any) -> Any:
    return ["uuid", a] if isinstance(a, Uuid) else a


def value_to_json(ctype: ColumnType, v: Any) -> Any:
    if ctype.is_map:
        return ["map", [[_atom_json(k), _atom_json(x)] for k, x in v.items()]]
    if ctype.is_scalar:
        return _atom_json(v)
    return ["set", [_atom_json(a) for a in v]]


def _record(doc: Any) -> bytes:
    body = orjson.dumps(doc) + b"\n"  # the length and hash cover the newline (ovsdb/log.c)
    return b"%s%d %s\n%s" % (MAGIC_JSON, len(body), hashlib.sha1(body).hexdigest().encode(),
                              body)


def write_database(db: Database) -> bytes:
    """`db` as a standalone OVSDB file (schema record + one transaction with every row).
    Written once per snapshot: every what-if on a loaded model copies the same NB -- except
    in a one-shot process (ovnguard.oneshot), where there is no later what-if to copy it for
    and the bytes (130 MB at 200k ports) would be held to the end for nothing."""
    if is_one_shot():
        return _write_database(db)
    return db.memo("ovsdb_file.write_database", _write_database)


def _write_database(db: Database) -> bytes:
    if db.schema.doc is None:
        raise ValueError(_(
                "the schema of {name} was not read from a file; cannot copy it").format(
                name=db.name))
    txn: dict[str, Any] = {}
    for tname, rows in db.tables.items():
        ts = db.schema.tables.get(tname)
        if ts is None or not rows:
            continue
        # each column's type and default once per table, not once per cell
        kinds = {c: (t, t.default()) for c, t in ts.columns.items()}
        out: dict[str, Any] = {}
        for u, row in rows.items():
            cols = {}
            for c, v in row.data.items():
                kind = kinds.get(c)
                if kind is not None and v != kind[1]:
                    cols[c] = value_to_json(kind[0], v)
            out[str(u)] = cols
        txn[tname] = out
    return _record(db.schema.doc) + _record(txn)


def apply_records(db: Database, raw: bytes, source: str) -> tuple[Database, list[RowChange]]:
    """Replay transaction records appended to a DB file onto `db`: (db after, row changes).

    Only the tables a record names are copied, so following a long change costs what each
    line touched, not the size of the database per line.
    """
    changed: dict[str, dict[Uuid, dict[str, Any]]] = {}
    before: dict[tuple[str, Uuid], Row | None] = {}
    plans: dict[str, _Plan] = {}
    for line, is_diff, tname, trows in _table_updates(_records(raw, source, False), source):
        ts = db.schema.tables.get(tname)
        if ts is None:
            raise InputError(_("transaction names unknown table {tname!r}").format(
                tname=tname), source, line)
        old = db.tables.get(tname, {})
        work = changed.setdefault(tname, {})
        for u in trows:
            uid = Uuid(u)
            if (tname, uid) not in before:
                before[(tname, uid)] = old.get(uid)
            if uid not in work and uid in old:
                work[uid] = dict(old[uid].data)
        present = {u: r for u, r in work.items() if r is not None}
        plan = plans.get(tname) or plans.setdefault(tname, _Plan(ts.columns, None))
        _apply_rows(plan, present, trows, is_diff)
        for u in trows:
            uid = Uuid(u)
            work[uid] = present.get(uid)  # type: ignore[assignment]
    if not changed:
        return db, []
    tables = dict(db.tables)
    changes: list[RowChange] = []
    for tname, work in changed.items():
        t = thawed(tables.get(tname, {}))
        for uid, data in work.items():
            b = before[(tname, uid)]
            if data is None:
                t.pop(uid, None)
                if b is not None:
                    changes.append(RowChange(tname, uid, "delete", b, None))
                continue
            a = Row(tname, uid, data)  # its values are copied into the row
            t[uid] = a
            if b is None:
                changes.append(RowChange(tname, uid, "insert", None, a))
            else:
                cols = tuple(sorted(c for c in set(a.data) | set(b.data)
                                    if a.data.get(c) != b.data.get(c)))
                if cols:
                    changes.append(RowChange(tname, uid, "update", b, a, cols))
        tables[tname] = MappingProxyType(t)
    changes.sort(key=lambda c: (c.table, c.kind, c.uuid))
    edits = MappingProxyType({t: frozenset(work) for t, work in changed.items()})
    return Database(db.schema, MappingProxyType(tables), db.source, db.elided,
                    edited_from=(weakref.ref(db), edits)), changes
