"""Talking to a live OVSDB server for the guard: backups, consistent reads, transactions.

Everything goes through the stock `ovsdb-client` (the same binary an operator would use by
hand to apply `inverse.json`), so the guard needs nothing the Debian packages do not ship and
works with any remote ovsdb-client accepts (`unix:`, `tcp:`). Rows are held in the model's
normalised form (`model.db.value_from_json`: sets are sorted tuples, maps dicts, references
`Uuid`), which makes "is this row still as the change left it" a plain `==`.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ovnguard.errors import OvnguardError
from ovnguard.i18n import _
from ovnguard.model.db import ColumnType, Schema, Uuid, Value, value_from_json
from ovnguard.model.ovs import json_uuid
from ovnguard.record import record

# table -> uuid -> column -> normalised value
Rows = dict[str, dict[str, dict[str, Value]]]

# Variables that would point ovsdb-client / the ctl tools at other daemons (OVN_NB_DAEMON
# makes ovn-nbctl talk to a daemon instead of the database we name with --db).
_FOREIGN_ENV = ("OVN_NB_DAEMON", "OVN_SB_DAEMON", "OVN_NB_DB", "OVN_SB_DB", "OVS_RUNDIR")


class Unreachable(OvnguardError):
    """The database server could not be reached (down, restarting, socket gone)."""

    exit_code = 3


class TransactionError(OvnguardError):
    """The server refused a transaction; `results` are its per-operation answers."""

    exit_code = 1

    def __init__(self, message: str, results: Sequence[Any] = ()) -> None:
        super().__init__(message)
        self.results = list(results)


def tool_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in _FOREIGN_ENV}


_UNREACHABLE_HINTS = (
    "connection refused",
    "no such file or directory",
    "connection reset",
    "broken pipe",
    "end of file",
    "connection closed",
    "timed out",
    "network is unreachable",
    "no route to host",
    "protocol error",
    # A clustered database between leaders (every server a follower, leader-only clients):
    # a new leader is elected within the election timer (1 s by default).
    "no servers were available",
)


def _run_client(args: Sequence[str], timeout: float, stdout: Any = subprocess.PIPE) -> bytes:
    argv = ["ovsdb-client", *args]
    try:
        proc = subprocess.run(
            argv, stdout=stdout, stderr=subprocess.PIPE, timeout=timeout, env=tool_env(),
            check=False,
        )
    except FileNotFoundError:
        raise OvnguardError(
            _(
            "ovsdb-client not found: install the Debian package openvswitch-common")
        ) from None
    except subprocess.TimeoutExpired:
        raise Unreachable(_(
            "ovsdb-client {value} timed out after {timeout:g}s").format(
            value=args[0], timeout=timeout)) from None
    if proc.returncode != 0:
        err = proc.stderr.decode(errors="replace").strip().splitlines()
        msg = err[-1] if err else f"exit {proc.returncode}"
        if any(h in msg.lower() for h in _UNREACHABLE_HINTS):
            raise Unreachable(msg)
        raise OvnguardError(_(
            "ovsdb-client {value} failed: {msg}").format(
            value=args[0], msg=msg))
    return proc.stdout if proc.stdout is not None else b""


def backup(remote: str, database: str, dest: Path, timeout: float = 60.0) -> None:
    """`ovsdb-client backup REMOTE DATABASE > dest` (a standalone DB file, mode 0600)."""
    tmp = dest.with_name(dest.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            _run_client(["backup", remote, database], timeout, stdout=f)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, dest)


def transact(
    remote: str, database: str, ops: Sequence[Mapping[str, Any]], timeout: float = 30.0
) -> list[Any]:
    """Run one transaction; raise TransactionError naming the first failing operation."""
    params = json.dumps([database, *ops])
    out = _run_client(["transact", remote, params], timeout)
    results = json.loads(out)
    for i, r in enumerate(results):
        if isinstance(r, dict) and "error" in r:
            what = ops[i].get("op", "?") if i < len(ops) else "commit"
            details = r.get("details", "")
            raise TransactionError(
                _(
                "operation {i} ({what}) failed: {error}{value}").format(
                i=i, what=what, error=r['error'], value=f': {details}' if details else ''),
                results,
            )
    return list(results)


def query(remote: str, database: str, ops: Sequence[Mapping[str, Any]],
          timeout: float = 30.0) -> list[Any]:
    """A read-only transaction (`ovsdb-client query`)."""
    params = json.dumps([database, *ops])
    results = json.loads(_run_client(["query", remote, params], timeout))
    for r in results:
        if isinstance(r, dict) and "error" in r:
            raise TransactionError(_(
                "query failed: {error}: {value}").format(
                error=r['error'], value=r.get('details', '')),
                                   results)
    return list(results)


# --- schema and rows --------------------------------------------------------------------


@record
class DbSchema:
    """The parsed schema plus what the model's Schema does not keep: which columns the
    server or the daemons own (never restored, never compared)."""

    schema: Schema
    raw: Mapping[str, Any]

    @property
    def name(self) -> str:
        return self.schema.name

    def ephemeral(self, table: str) -> frozenset[str]:
        cols = self.raw["tables"].get(table, {}).get("columns", {})
        return frozenset(c for c, d in cols.items() if d.get("ephemeral"))

    def ctype(self, table: str, column: str) -> ColumnType:
        return self.schema.column(table, column)


def read_backup(path: Path) -> tuple[DbSchema, Rows]:
    """Schema and rows of a standalone DB file written by `ovsdb-client backup` (or a raw
    ovsdb-server file: its transactions are replayed, `_is_diff` records included)."""
    from ovnguard.sources.ovsdb_file import read_database

    raw = path.read_bytes()
    schema_json = _first_record(raw, str(path))
    db = read_database(path)
    rows: Rows = {
        t: {str(u): dict(r.data) for u, r in trows.items()} for t, trows in db.tables.items()
    }
    return DbSchema(db.schema, schema_json), rows


def _first_record(raw: bytes, source: str) -> Mapping[str, Any]:
    head, _sep, rest = raw.partition(b"\n")
    parts = head.split()
    if len(parts) < 3 or parts[:2] != [b"OVSDB", b"JSON"]:
        raise OvnguardError(_(
            "{source}: not a standalone OVSDB file").format(
            source=source))
    n = int(parts[2])
    doc: Mapping[str, Any] = json.loads(rest[:n])
    return doc


def select_all(
    remote: str, schema: DbSchema, tables: Iterable[str] | None = None, timeout: float = 30.0
) -> Rows:
    """Every row of `tables` (default all), read in one transaction: a consistent view."""
    names = sorted(tables) if tables is not None else sorted(schema.schema.tables)
    ops = [{"op": "select", "table": t, "where": []} for t in names]
    results = query(remote, schema.name, ops, timeout)
    out: Rows = {}
    for t, res in zip(names, results, strict=True):
        out[t] = {json_uuid(r["_uuid"]): row_from_json(schema, t, r) for r in res.get("rows", [])}
    return out


def select_uuids(
    remote: str, schema: DbSchema, wanted: Mapping[str, Iterable[str]], timeout: float = 30.0
) -> Rows:
    """The rows with these uuids, in one read-only transaction; absent rows are missing from
    the answer."""
    keys = sorted({(t, u) for t, us in wanted.items() for u in us})
    if not keys:
        return {}
    ops = [{"op": "select", "table": t, "where": [["_uuid", "==", ["uuid", u]]]}
           for t, u in keys]
    results = query(remote, schema.name, ops, timeout)
    out: Rows = {t: {} for t, _ in keys}
    for (t, _u), res in zip(keys, results, strict=True):
        for r in res.get("rows", []):
            out[t][json_uuid(r["_uuid"])] = row_from_json(schema, t, r)
    return out


def row_from_json(schema: DbSchema, table: str, doc: Mapping[str, Any]) -> dict[str, Value]:
    cols = schema.schema.tables[table].columns
    return {c: value_from_json(cols[c], v) for c, v in doc.items() if c in cols}


# --- values to the wire -----------------------------------------------------------------


def atom_json(a: Any, names: Mapping[str, str] | None = None) -> Any:
    if isinstance(a, Uuid):
        if names is not None and str(a) in names:
            return ["named-uuid", names[str(a)]]
        return ["uuid", str(a)]
    return a


def value_json(ctype: ColumnType, v: Value, names: Mapping[str, str] | None = None) -> Any:
    """A normalised value as an RFC 7047 <value>; references to rows in `names` (old uuid ->
    uuid-name) become named-uuids of rows the same transaction inserts."""
    if ctype.is_map:
        return ["map", [[atom_json(k, names), atom_json(x, names)]
                        for k, x in sorted(v.items(), key=lambda kv: repr(kv[0]))]]
    if ctype.is_set:
        return ["set", [atom_json(a, names) for a in v]]
    return atom_json(v, names)


def set_json(atoms: Iterable[Any], names: Mapping[str, str] | None = None) -> Any:
    return ["set", [atom_json(a, names) for a in atoms]]


def map_json(pairs: Mapping[Any, Any], names: Mapping[str, str] | None = None) -> Any:
    return ["map", [[atom_json(k, names), atom_json(v, names)]
                    for k, v in sorted(pairs.items(), key=lambda kv: repr(kv[0]))]]


def show_value(v: Value) -> str:
    """A value as ovn-nbctl would print it, for messages."""
    if isinstance(v, dict):
        return "{" + ", ".join(f"{_show_atom(k)}={_show_atom(x)}" for k, x in
                               sorted(v.items(), key=lambda kv: repr(kv[0]))) + "}"
    if isinstance(v, tuple):
        return "[" + ", ".join(_show_atom(a) for a in v) + "]"
    return _show_atom(v)


def _show_atom(a: Any) -> str:
    if isinstance(a, str) and not isinstance(a, Uuid):
        return json.dumps(a) if (not a or any(c in a for c in ' ,={}[]"')) else a
    if isinstance(a, bool):
        return "true" if a else "false"
    return str(a)
