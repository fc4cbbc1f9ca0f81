"""One invocation's OVSDB transaction against an immutable `Database`.

Commands see the database as the real tool's IDL does inside its transaction: rows inserted
earlier in the same invocation are visible, rows it deleted are not, and garbage collection of
unreferenced rows happens only at commit. Commit then applies what ovsdb-server's
`ovsdb_txn_precommit()` (OVS 3.1.0 `ovsdb/transaction.c`) checks, with its error texts:
references to rows that do not exist, deleting a row something still references, weak
references to deleted rows (removed), and index uniqueness.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping

from ovnguard.change.datum import symbol_uuid, value_to_string
from ovnguard.model.db import ColumnType, Database, Row, Schema, Uuid, Value

# What ovs-vsctl 3.1.0 (Debian build) prints when it deletes a row twice, then aborts.
IDL_DOUBLE_DELETE = (
    "../lib/ovsdb-idl.c:3774: assertion row->new_datum != NULL failed in ovsdb_idl_txn_delete()"
)


class CtlError(Exception):
    """The real tool would fail with this message (without its "prog: " prefix)."""

    def __init__(self, message: str, missing: tuple[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.missing = missing  # (table, name) of the record that was not found


class Txn:
    def __init__(self, db: Database, seed: str) -> None:
        self.base = db
        self.edit = db.edit()
        self.seed = seed
        self._n = 0
        self.inserted: set[Uuid] = set()
        self.touched: dict[Uuid, str] = {}  # row -> table, rows this transaction wrote
        self.deleted: dict[Uuid, str] = {}
        self.symbols: dict[str, Uuid] = {}
        self.created_symbols: set[str] = set()
        self.last_command = False
        self._partial: dict[tuple[Uuid, str], tuple[set[Uuid], set[Uuid]]] = {}

    @property
    def schema(self) -> Schema:
        return self.base.schema

    def column(self, table: str, column: str) -> ColumnType:
        return self.schema.column(table, column)

    def new_uuid(self) -> Uuid:
        # Deterministic, so the same change on the same snapshot always gives the same rows.
        self._n += 1
        return symbol_uuid(self.seed, f"row-{self._n}")

    def symbol(self, name: str) -> Uuid:
        if name not in self.symbols:
            self.symbols[name] = symbol_uuid(self.seed, f"symbol-{name}")
        return self.symbols[name]

    def rows(self, table: str) -> Iterator[Row]:
        return self.edit.rows(table)

    def row(self, table: str, uuid: object) -> Row | None:
        return self.edit.row(table, uuid) if isinstance(uuid, str) and uuid else None

    def insert(self, table: str, data: Mapping[str, Value], uuid: Uuid | None = None) -> Uuid:
        u = uuid or self.new_uuid()
        self.edit.insert(table, data, u)
        self.inserted.add(u)
        self.touched[u] = table
        return u

    def update(self, table: str, uuid: Uuid, changes: Mapping[str, Value]) -> None:
        self.edit.update(table, uuid, changes)
        self.touched[uuid] = table
        for col in changes:
            self._partial.pop((uuid, col), None)

    def add_value(self, table: str, uuid: Uuid, column: str, atom: Uuid) -> None:
        """A partial set update (the IDL's *_update_<col>_addvalue): applied at commit, not
        visible to commands that read the column later in the same transaction."""
        self._partial_op(table, uuid, column, atom, True)

    def del_value(self, table: str, uuid: Uuid, column: str, atom: Uuid) -> None:
        self._partial_op(table, uuid, column, atom, False)

    def _partial_op(self, table: str, uuid: Uuid, column: str, atom: Uuid, add: bool) -> None:
        row = self.edit.row(table, uuid)
        assert row is not None
        adds, dels = self._partial.setdefault((uuid, column), (set(), set()))
        current = set(row.set(column))
        if add:
            (dels.discard(atom) if atom in dels else adds.add(atom))
            current.add(atom)
        else:
            (adds.discard(atom) if atom in adds else dels.add(atom))
            current.discard(atom)
        self.edit.update(table, uuid, {column: tuple(current)})
        self.touched[uuid] = table

    def idl_set(self, table: str, uuid: Uuid, column: str) -> tuple[Uuid, ...]:
        """A set column as the tool's IDL shows it inside the transaction: full writes are
        visible, partial updates are not."""
        row = self.edit.row(table, uuid)
        if row is None:
            return ()
        adds, dels = self._partial.get((uuid, column), (set(), set()))
        out = [u for u in row.set(column) if u not in adds and isinstance(u, Uuid)]
        return tuple(sorted(out + [u for u in dels if u not in out]))

    def row_or_deleted(self, table: str, uuid: object) -> Row | None:
        """A row, or the row as it was if this transaction deleted it: the C structs a tool
        built when it loaded the database still point at deleted rows."""
        row = self.row(table, uuid)
        if row is None and isinstance(uuid, str) and uuid in self.deleted:
            row = self.base.row(table, uuid)
        return row

    def delete(self, table: str, uuid: str) -> None:
        uuid = Uuid(uuid)
        if uuid in self.deleted:
            # ovsdb_idl_txn_delete() asserts the row is not deleted yet: the tool aborts.
            raise CtlError(IDL_DOUBLE_DELETE)
        self.edit.delete(table, uuid)
        self.deleted[uuid] = table
        self.touched.pop(uuid, None)

    def is_new(self, uuid: Uuid) -> bool:
        return uuid in self.inserted

    # -- commit ---------------------------------------------------------------------------

    def commit(self) -> Database:
        """The database after this transaction, or CtlError("transaction error: ...")."""
        if not self.touched and not self.deleted:
            return self.base
        self._restore_non_root_deletes()
        if not self.touched and not self.deleted:
            return self.base
        self._check_references()
        after = self.edit.commit()
        after = _drop_weak_references(after)
        self._check_indexes(after)
        return after

    def _restore_non_root_deletes(self) -> None:
        # The IDL never sends a delete for a row of a non-root table (ovsdb_idl_txn_commit):
        # ovsdb-server garbage-collects it once nothing references it, and keeps it otherwise.
        for u, table in list(self.deleted.items()):
            if self.schema.tables[table].is_root:
                continue
            del self.deleted[u]
            old = self.base.row(table, u)
            if old is not None and u not in self.inserted:
                self.edit.insert(table, old.data, u)

    def _check_references(self) -> None:
        schema = self.schema
        for u, table in self.touched.items():
            row = self.edit.row(table, u)
            if row is None:
                continue
            for col, ctype in schema.tables[table].columns.items():
                for ref_table, strong, atoms in _refs(ctype, row.get(col)):
                    if not strong:
                        continue
                    for a in atoms:
                        if a != u and self.edit.row(ref_table, a) is None:
                            raise _txn_error(
                                "referential integrity violation",
                                f"Table {table} column {col} row {u} references nonexistent "
                                f"row {a} in table {ref_table}.",
                            )
        if not self.deleted:
            return
        counts: dict[Uuid, int] = {}
        for tname, ts in schema.tables.items():
            cols = [
                (c, t)
                for c, t in ts.columns.items()
                if (t.ref_table and t.ref_strong) or (t.value_ref_table and t.value_ref_strong)
            ]
            if not cols:
                continue
            for row in self.edit.rows(tname):
                for c, t in cols:
                    for _, strong, atoms in _refs(t, row.get(c)):
                        if strong:
                            for a in atoms:
                                if a in self.deleted and a != row.uuid:
                                    counts[a] = counts.get(a, 0) + 1
        for u, n in counts.items():
            raise _txn_error(
                "referential integrity violation",
                f"cannot delete {self.deleted[u]} row {u} because of {n} remaining reference(s)",
            )

    def _check_indexes(self, after: Database) -> None:
        tables = {t for t in self.touched.values()}
        for table in sorted(tables):
            ts = after.schema.tables[table]
            for index in ts.indexes:
                seen: dict[tuple[object, ...], Row] = {}
                for row in after.rows(table):
                    key = tuple(_hashable(row.get(c)) for c in index)
                    other = seen.get(key)
                    if other is None:
                        seen[key] = row
                        continue
                    if row.uuid not in self.touched and other.uuid not in self.touched:
                        continue
                    raise _txn_error("constraint violation", self._dup_message(index, other, row))

    def _dup_message(self, index: tuple[str, ...], a: Row, b: Row) -> str:
        table = a.table
        cols = [(c, self.column(table, c)) for c in index]
        values = _english(value_to_string(t, a.get(c)) for c, t in cols)
        names = _english(f'"{c}"' for c in index)
        what = f"column{'s' if len(index) > 1 else ''} {names}"

        def describe(row: Row, title: str) -> str:
            head = f"{title} row, with UUID {row.uuid}, "
            if row.uuid not in self.touched:
                return head + (
                    "existed in the database before this transaction and was not modified by "
                    "the transaction."
                )
            if row.uuid in self.inserted:
                return head + "was inserted by this transaction."
            old = self.base.row(table, row.uuid)
            assert old is not None
            if all(old.get(c) == row.get(c) for c in index):
                return head + (
                    "existed in the database before this transaction, which modified some of "
                    "the row's columns but not any columns in this index."
                )
            before = _english(value_to_string(t, old.get(c)) for c, t in cols)
            return head + f"had the following index values before the transaction: {before}."

        return (
            f'Transaction causes multiple rows in "{table}" table to have identical values '
            f"({values}) for index on {what}.  {describe(a, 'First')}  {describe(b, 'Second')}"
        )


def _english(items: Iterator[str] | list[str]) -> str:
    xs = list(items)
    if len(xs) <= 1:
        return "".join(xs)
    if len(xs) == 2:
        return f"{xs[0]} and {xs[1]}"
    return ", ".join(xs[:-1]) + f", and {xs[-1]}"


def _txn_error(error: str, details: str) -> CtlError:
    doc = json.dumps({"details": details, "error": error}, separators=(",", ":"))
    return CtlError(f"transaction error: {doc}")


def _hashable(v: Value) -> object:
    if isinstance(v, dict):
        return tuple(sorted(v.items(), key=repr))
    return v


def _refs(ctype: ColumnType, v: Value) -> Iterator[tuple[str, bool, list[Uuid]]]:
    if v is None:
        return
    if ctype.ref_table:
        if isinstance(v, dict):
            atoms = [k for k in v if isinstance(k, Uuid)]
        elif isinstance(v, tuple):
            atoms = [a for a in v if isinstance(a, Uuid)]
        else:
            atoms = [v] if isinstance(v, Uuid) and v else []
        yield ctype.ref_table, ctype.ref_strong, atoms
    if ctype.value_ref_table and isinstance(v, dict):
        yield (
            ctype.value_ref_table,
            ctype.value_ref_strong,
            [x for x in v.values() if isinstance(x, Uuid)],
        )


def _drop_weak_references(db: Database) -> Database:
    """ovsdb-server removes weak references to rows that no longer exist."""
    edit = None
    for tname, ts in db.schema.tables.items():
        weak = [
            (c, t)
            for c, t in ts.columns.items()
            if (t.ref_table and not t.ref_strong) or (t.value_ref_table and not t.value_ref_strong)
        ]
        if not weak:
            continue
        for row in db.rows(tname):
            fixes: dict[str, Value] = {}
            for c, t in weak:
                v = row.get(c)
                if isinstance(v, dict):
                    nv = {
                        k: x
                        for k, x in v.items()
                        if not (t.ref_table and not t.ref_strong and db.row(t.ref_table, k) is None)
                        and not (
                            t.value_ref_table
                            and not t.value_ref_strong
                            and db.row(t.value_ref_table, x) is None
                        )
                    }
                    if nv != v:
                        fixes[c] = nv
                elif isinstance(v, tuple) and t.ref_table:
                    nt = tuple(a for a in v if db.row(t.ref_table, a) is not None)
                    if nt != v:
                        fixes[c] = nt
            if fixes:
                edit = edit or db.edit()
                edit.update(tname, row.uuid, fixes)
    return edit.commit() if edit is not None else db
