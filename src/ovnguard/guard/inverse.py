"""What a change did to a database, how to undo it, and whether it was undone (pure).

    edits = diff_rows(schema, before, after)         # the change, row by row
    plan = plan_rollback(schema, edits, current)     # ops (RFC 7047) or conflicts
    differences = verify_rollback(schema, edits, now, plan.uuids)

Granularity decides what "someone else's edit" means: a scalar column is one item; a set
column is its elements and a map column its keys. An item the change touched must, when the
rollback runs, be either exactly as the change left it (then it is restored) or already back
as it was before (then it is left alone: a rollback is safe to run twice, and after a manual
partial fix). Anything else is a conflict and nothing is written. Items the change did not
touch are never written, so concurrent edits of other rows, of other columns of the same
row, and other elements of the same set (a port Neutron adds to the same switch) survive.

The transaction starts with `wait` operations (timeout 0) asserting exactly what the plan was
computed from, so an edit landing between the check and the transaction aborts it instead of
being overwritten.

Columns and rows the daemons own (`ovn-northd` writes `Logical_Switch_Port.up`,
`ovs-vswitchd` `Interface.ofport`, `ovn-controller` its patch ports and `ct-zone-*` keys, the
`*_cfg` sequence numbers...) are neither restored nor compared: restoring them would fight
the daemons, and sequence numbers must never go backwards.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from ovnguard.guard.ovsdb import (
    DbSchema,
    Rows,
    map_json,
    set_json,
    show_value,
    value_json,
)
from ovnguard.model.db import ColumnType, Uuid, Value
from ovnguard.model.ovs import OWNER_KEYS, TUNNEL_OWNER_KEY
from ovnguard.record import record

EditKind = Literal["insert", "update", "delete"]

# Columns written by the daemons, not by operators (beyond the schema's "ephemeral" ones).
_OWNED_COLUMNS: Mapping[str, Mapping[str, frozenset[str]]] = {
    "OVN_Northbound": {
        # nb_cfg is bumped by `--wait`; the others are ovn-northd's echo of it. Sequence
        # numbers must only grow.
        "NB_Global": frozenset({
            "nb_cfg", "nb_cfg_timestamp", "sb_cfg", "sb_cfg_timestamp", "hv_cfg",
            "hv_cfg_timestamp",
        }),
        "Logical_Switch_Port": frozenset({"up", "dynamic_addresses"}),
        "Logical_Router_Port": frozenset({"status"}),
    },
    "Open_vSwitch": {
        "Open_vSwitch": frozenset({
            "cur_cfg", "next_cfg", "ovs_version", "db_version", "system_type",
            "system_version", "datapath_types", "iface_types", "dpdk_initialized",
            "dpdk_version",
        }),
        "Bridge": frozenset({"datapath_version"}),
        "Interface": frozenset({"ofport", "error", "lldp"}),
        "Port": frozenset({"bond_active_slave"}),
    },
}
# Map keys ovn-controller keeps in the Open_vSwitch database (prefix match).
_OWNED_KEYS: Mapping[tuple[str, str, str], tuple[str, ...]] = {
    ("Open_vSwitch", "Bridge", "external_ids"): (
        "ct-zone-", "ovn-nb-cfg", "ovn-startup-ts",
    ),
    ("Open_vSwitch", "Interface", "external_ids"): ("ovn-installed",),
    ("Open_vSwitch", "Open_vSwitch", "other_config"): ("ovn-chassis-idx-",),
}
# Ports ovn-controller creates and deletes on its own (patch ports, tunnels); marked so.
_OWNED_PORT_MARKERS = (*OWNER_KEYS, TUNNEL_OWNER_KEY)
_LABEL_COLUMNS = ("name", "target", "logical_port", "external_ip", "match", "chassis_name",
                  "ip_prefix", "logical_ip")


def owned_columns(schema: DbSchema, table: str) -> frozenset[str]:
    return schema.ephemeral(table) | _OWNED_COLUMNS.get(schema.name, {}).get(table, frozenset())


def _owned_key(schema: DbSchema, table: str, column: str, key: Any) -> bool:
    prefixes = _OWNED_KEYS.get((schema.name, table, column), ())
    return isinstance(key, str) and key.startswith(prefixes) if prefixes else False


def owned_rows(schema: DbSchema, *views: Rows) -> set[str]:
    """Uuids of rows a daemon made (ovn-controller's patch and tunnel ports and their
    interfaces): never the change's, never restored."""
    if schema.name != "Open_vSwitch":
        return set()
    owned: set[str] = set()
    for rows in views:
        for u, r in rows.get("Port", {}).items():
            ext = r.get("external_ids") or {}
            if any(k in ext for k in _OWNED_PORT_MARKERS):
                owned.add(u)
                owned.update(str(i) for i in r.get("interfaces", ()))
    return owned


def label(table: str, row: Mapping[str, Value] | None, uuid: str) -> str:
    if row:
        for c in _LABEL_COLUMNS:
            v = row.get(c)
            if isinstance(v, str) and v:
                return f"{table} {v}"
    return f"{table} {uuid[:8]}"


@record
class RowEdit:
    """What the change did to one row. For an update, `before`/`after` hold the changed
    columns only (owned map keys and owned set elements already removed); for an insert,
    `after` is the new row; for a delete, `before` is the whole old row (operator columns)."""

    table: str
    uuid: str
    kind: EditKind
    label: str
    before: Mapping[str, Value] | None
    after: Mapping[str, Value] | None

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(sorted((self.after if self.kind == "insert" else self.before) or {}))

    def describe(self) -> str:
        if self.kind == "insert":
            return f"{self.label} (inserted)"
        if self.kind == "delete":
            return f"{self.label} (deleted)"
        return f"{self.label} ({', '.join(self.columns)})"


@record
class Difference:
    """One item that is not what it should be: a conflict before a rollback, or a mismatch
    after it."""

    table: str
    row: str  # label, e.g. "Logical_Switch_Port ln-physnet2"
    uuid: str
    column: str | None
    expected: str
    found: str

    def __str__(self) -> str:
        where = f"{self.row} [{self.uuid[:8]}]" + (f" column {self.column}" if self.column
                                                  else "")
        return f"{where}: expected {self.expected}, found {self.found}"

    def to_json(self) -> dict[str, Any]:
        return {"table": self.table, "row": self.row, "uuid": self.uuid, "column": self.column,
                "expected": self.expected, "found": self.found}


# --- what the change did ----------------------------------------------------------------


def _default(ctype: ColumnType) -> Value:
    return ctype.default()


def _get(schema: DbSchema, table: str, row: Mapping[str, Value], col: str) -> Value:
    v = row.get(col)
    return _default(schema.ctype(table, col)) if v is None else v


def _is_whole(ctype: ColumnType) -> bool:
    """Columns restored as one value: scalars and optional (max 1) sets."""
    return ctype.is_scalar or (ctype.is_set and ctype.max == 1)


def _strip(schema: DbSchema, table: str, col: str, v: Value, owned: set[str]) -> Value:
    """The operator's part of a value: without owned map keys and owned-row references."""
    ctype = schema.ctype(table, col)
    if ctype.is_map and isinstance(v, dict):
        return {k: x for k, x in v.items() if not _owned_key(schema, table, col, k)}
    if ctype.is_set and isinstance(v, tuple) and owned:
        return tuple(a for a in v if str(a) not in owned)
    return v


def _operator_row(
    schema: DbSchema, table: str, row: Mapping[str, Value], owned: set[str]
) -> dict[str, Value]:
    skip = owned_columns(schema, table)
    cols = schema.schema.tables[table].columns
    return {
        c: _strip(schema, table, c, _get(schema, table, row, c), owned)
        for c in cols
        if c not in skip
    }


def diff_rows(schema: DbSchema, before: Rows, after: Rows) -> list[RowEdit]:
    """Row edits between two reads of one database, in table order (deterministic)."""
    owned = owned_rows(schema, before, after)
    edits: list[RowEdit] = []
    for table in sorted(schema.schema.tables):
        b = before.get(table, {})
        a = after.get(table, {})
        for u in sorted(set(b) | set(a)):
            if u in owned:
                continue
            if u not in b:
                row = _operator_row(schema, table, a[u], owned)
                edits.append(RowEdit(table, u, "insert", label(table, row, u), None, row))
            elif u not in a:
                row = _operator_row(schema, table, b[u], owned)
                edits.append(RowEdit(table, u, "delete", label(table, row, u), row, None))
            else:
                rb = _operator_row(schema, table, b[u], owned)
                ra = _operator_row(schema, table, a[u], owned)
                changed = sorted(c for c in rb if rb[c] != ra[c])
                if changed:
                    edits.append(RowEdit(
                        table, u, "update", label(table, ra, u),
                        {c: rb[c] for c in changed}, {c: ra[c] for c in changed},
                    ))
    return edits


# --- (de)serialisation: edits live in the guard's state dir ------------------------------


def edits_to_json(schema: DbSchema, edits: Sequence[RowEdit]) -> list[dict[str, Any]]:
    def row(table: str, r: Mapping[str, Value] | None) -> dict[str, Any] | None:
        if r is None:
            return None
        return {c: value_json(schema.ctype(table, c), v) for c, v in sorted(r.items())}

    return [
        {"table": e.table, "uuid": e.uuid, "kind": e.kind, "label": e.label,
         "before": row(e.table, e.before), "after": row(e.table, e.after)}
        for e in edits
    ]


def edits_from_json(schema: DbSchema, doc: Sequence[Mapping[str, Any]]) -> list[RowEdit]:
    from ovnguard.model.db import value_from_json

    def row(table: str, r: Mapping[str, Any] | None) -> dict[str, Value] | None:
        if r is None:
            return None
        return {c: value_from_json(schema.ctype(table, c), v) for c, v in r.items()}

    return [
        RowEdit(d["table"], d["uuid"], d["kind"], d["label"], row(d["table"], d["before"]),
                row(d["table"], d["after"]))
        for d in doc
    ]


# --- the inverse ------------------------------------------------------------------------


@dataclass
class Current:
    """What the database holds now, for the rows a rollback would touch: `rows` by uuid
    (updated and inserted rows, and deleted rows in case they are back already), and per
    deleted row the rows that now hold its unique index values (`ovn-nbctl lsp-add` of the
    same name by someone else)."""

    rows: Rows
    index_hits: dict[str, list[tuple[str, dict[str, Value]]]] = field(default_factory=dict)
    owned: set[str] = field(default_factory=set)  # owned_rows() of the whole database now


def index_conditions(schema: DbSchema, edit: RowEdit) -> list[list[list[Any]]]:
    """Per unique index of a deleted row's table, the `where` that finds its values."""
    assert edit.before is not None
    out = []
    for idx in schema.schema.tables[edit.table].indexes:
        if all(c in edit.before for c in idx):
            out.append([
                [c, "==", value_json(schema.ctype(edit.table, c), edit.before[c])] for c in idx
            ])
    return out


@dataclass
class RollbackPlan:
    """`ops` empty when `conflicts` forbid the rollback; with force, `conflicts` are the
    items the transaction overwrites."""

    ops: list[dict[str, Any]]
    conflicts: list[Difference]
    actions: list[str]  # what the transaction does, one line per row
    already: list[str]  # items found already as they were before the change
    names: dict[str, str]  # uuid of a deleted row -> uuid-name of its re-insert op

    @property
    def empty(self) -> bool:
        return not any(op["op"] != "wait" for op in self.ops)

    @property
    def blocked(self) -> bool:
        return not self.ops and bool(self.conflicts)


def _where_uuid(u: str) -> list[Any]:
    return [["_uuid", "==", ["uuid", u]]]


def _wait(table: str, where: list[Any], rows: list[dict[str, Any]]) -> dict[str, Any]:
    # columns [] + rows [{}] = "exactly one row matches where"; rows [] = "none does".
    return {"op": "wait", "timeout": 0, "table": table, "where": where, "columns": [],
            "until": "==", "rows": rows}


def _as_set(v: Value) -> set[Any]:
    return set(v) if isinstance(v, tuple) else {v}


def plan_rollback(
    schema: DbSchema,
    edits: Sequence[RowEdit],
    current: Current,
    *,
    persist_uuids: bool = True,
    force: bool = False,
) -> RollbackPlan:
    """The transaction that undoes `edits` on `current`, or the conflicts that forbid it.

    `persist_uuids`: re-insert deleted rows with their old uuids (OVSDB's insert "uuid"
    member, OVS >= 2.13) so every reference to them is exact again; without it they get new
    uuids and references are rebuilt through named-uuids. `force`: a conflicting item is
    overwritten with its value from before the change (the wait then asserts what was
    found, so still nothing concurrent to the rollback itself is lost).
    """
    names = {e.uuid: f"row{i}" for i, e in enumerate(edits) if e.kind == "delete"}
    waits: list[dict[str, Any]] = []
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    deletes: list[dict[str, Any]] = []
    conflicts: list[Difference] = []
    blocking: list[Difference] = []
    actions: list[str] = []
    already: list[str] = []
    reinserted: set[str] = set()

    def conflict(e: RowEdit, col: str | None, expected: str, found: str) -> None:
        conflicts.append(Difference(e.table, e.label, e.uuid, col, expected, found))

    def block(e: RowEdit, expected: str, found: str) -> None:
        # Not an item --force could overwrite: the row itself is not where it must be.
        blocking.append(Difference(e.table, e.label, e.uuid, None, expected, found))

    for e in edits:
        cur = current.rows.get(e.table, {}).get(e.uuid)
        if e.kind == "insert":
            assert e.after is not None
            if cur is None:
                already.append(f"{e.label}: already deleted")
                continue
            now = _operator_row(schema, e.table, cur, current.owned)
            bad = [c for c in sorted(e.after) if now.get(c) != e.after[c]]
            for c in bad:
                conflict(e, c, f"{show_value(e.after[c])} (as the change left it)",
                         show_value(now.get(c)))
            if bad and not force:
                continue
            expect = now if force else e.after
            # Sets and maps with "includes": elements a daemon added (ovn-controller's patch
            # ports on a bridge the change created) were already told apart above.
            conds: list[Any] = []
            for c in sorted(e.after):
                ctype = schema.ctype(e.table, c)
                if _is_whole(ctype):
                    conds.append([c, "==", value_json(ctype, expect[c])])
                elif expect[c]:  # "includes" nothing is always true
                    conds.append([c, "includes", value_json(ctype, expect[c])])
            waits.append(_wait(e.table, _where_uuid(e.uuid) + conds, [{}]))
            deletes.append({"op": "delete", "table": e.table, "where": _where_uuid(e.uuid)})
            actions.append(f"delete {e.label} (inserted by the change)")
        elif e.kind == "delete":
            assert e.before is not None
            if cur is not None:
                now = _operator_row(schema, e.table, cur, current.owned)
                if all(now.get(c) == v for c, v in e.before.items()):
                    already.append(f"{e.label}: already back")
                    names.pop(e.uuid, None)
                    continue
                block(e, "no row with this uuid (deleted by the change)",
                      "a different row with this uuid")
                continue
            hits = current.index_hits.get(e.uuid, [])
            if hits:
                for u, r in hits:
                    block(e, "no other row with the same unique index values",
                          f"{label(e.table, r, u)} [{u[:8]}] created since the change")
                continue
            for where in index_conditions(schema, e):
                waits.append(_wait(e.table, where, []))
            row = {
                c: value_json(schema.ctype(e.table, c), v, names)
                for c, v in sorted(e.before.items())
                if v != _default(schema.ctype(e.table, c))
            }
            op: dict[str, Any] = {"op": "insert", "table": e.table, "row": row,
                                  "uuid-name": names[e.uuid]}
            if persist_uuids:
                op["uuid"] = e.uuid
            inserts.append(op)
            reinserted.add(e.uuid)
            actions.append(f"re-insert {e.label} (deleted by the change)")
        else:
            assert e.before is not None and e.after is not None
            if cur is None:
                block(e, "the row (the change updated it)", "it was deleted since")
                continue
            conds = []
            scalar: dict[str, Any] = {}
            mutations: list[Any] = []
            done: list[str] = []
            row_conflicts = 0
            for c in sorted(e.before):
                ctype = schema.ctype(e.table, c)
                old, new = e.before[c], e.after[c]
                now_v = _strip(schema, e.table, c, _get(schema, e.table, cur, c), current.owned)
                if _is_whole(ctype):
                    if now_v == old:
                        already.append(f"{e.label} column {c}: already {show_value(old)}")
                        continue
                    if now_v != new:
                        conflict(e, c, f"{show_value(new)} (as the change left it)",
                                 show_value(now_v))
                        row_conflicts += 1
                    scalar[c] = value_json(ctype, old, names)
                    conds.append([c, "==", value_json(ctype, now_v)])
                    continue
                if ctype.is_map:
                    dele: dict[Any, Any] = {}
                    ins: dict[Any, Any] = {}
                    for k in sorted(set(old) | set(new), key=repr):
                        o, n, w = old.get(k), new.get(k), now_v.get(k)
                        if o == n:
                            continue
                        if w == o:
                            already.append(f"{e.label} column {c} key {k}: already as before")
                            continue
                        if w != n:
                            conflict(e, f"{c}:{k}",
                                     "absent" if n is None else f"{show_value(n)} "
                                     "(as the change left it)",
                                     "absent" if w is None else show_value(w))
                            row_conflicts += 1
                        if w is not None:
                            dele[k] = w
                        if o is not None:
                            ins[k] = o
                    if dele:
                        conds.append([c, "includes", map_json(dele)])
                        mutations.append([c, "delete", set_json(sorted(dele, key=repr))])
                    if ins:
                        conds.append([c, "excludes", map_json(ins, names)])
                        mutations.append([c, "insert", map_json(ins, names)])
                    continue
                added = _as_set(new) - _as_set(old)
                removed = _as_set(old) - _as_set(new)
                present = _as_set(now_v)
                drop = sorted((a for a in added if a in present), key=repr)
                back = sorted((a for a in removed if a not in present), key=repr)
                if len(drop) < len(added) or len(back) < len(removed):
                    already.append(f"{e.label} column {c}: some elements already as before")
                if drop:
                    conds.append([c, "includes", set_json(drop)])
                    mutations.append([c, "delete", set_json(drop)])
                if back:
                    fresh = [a for a in back if str(a) not in names]
                    if fresh:
                        conds.append([c, "excludes", set_json(fresh)])
                    mutations.append([c, "insert", set_json(back, names)])
            if row_conflicts and not force:
                continue
            if not scalar and not mutations:
                continue
            waits.append(_wait(e.table, _where_uuid(e.uuid) + conds, [{}]))
            if scalar:
                updates.append({"op": "update", "table": e.table, "where": _where_uuid(e.uuid),
                                "row": scalar})
            if mutations:
                updates.append({"op": "mutate", "table": e.table, "where": _where_uuid(e.uuid),
                                "mutations": mutations})
            done = sorted(e.before)
            actions.append(f"restore {e.label}: {', '.join(done)}")
    if blocking or (conflicts and not force):
        return RollbackPlan([], blocking + conflicts, [], already, {})
    used = {u: n for u, n in names.items() if u in reinserted}
    ops = [*waits, *inserts, *updates, *deletes]
    if ops and any(op["op"] != "wait" for op in ops):
        ops.append({"op": "comment", "comment": "ovnguard rollback"})
    return RollbackPlan(ops, conflicts, actions, already, used)


def reinserted_uuids(plan: RollbackPlan, results: Sequence[Any]) -> dict[str, str]:
    """Old uuid -> uuid of the re-inserted row, from the transaction's results."""
    by_name = {n: u for u, n in plan.names.items()}
    out: dict[str, str] = {}
    for op, res in zip(plan.ops, results, strict=False):
        if op["op"] == "insert" and isinstance(res, dict) and "uuid" in res:
            out[by_name[op["uuid-name"]]] = res["uuid"][1]
    return out


# --- after the rollback -----------------------------------------------------------------


def _remap(v: Value, uuids: Mapping[str, str]) -> Value:
    if not uuids:
        return v
    if isinstance(v, Uuid):
        return Uuid(uuids.get(str(v), str(v)))
    if isinstance(v, tuple):
        return tuple(sorted((_remap(a, uuids) for a in v), key=repr))
    if isinstance(v, dict):
        return {_remap(k, uuids): _remap(x, uuids) for k, x in v.items()}
    return v


def verify_rollback(
    schema: DbSchema,
    edits: Sequence[RowEdit],
    now: Rows,
    uuids: Mapping[str, str],
    owned: set[str] | None = None,
) -> list[Difference]:
    """Every item the change touched is back as it was before (re-created rows compared by
    content, their references through `uuids`, old -> new)."""
    out: list[Difference] = []
    for e in edits:
        if e.kind == "insert":
            if e.uuid in now.get(e.table, {}):
                out.append(Difference(e.table, e.label, e.uuid, None, "row deleted",
                                      "it still exists"))
            continue
        u = uuids.get(e.uuid, e.uuid)
        cur = now.get(e.table, {}).get(u)
        if cur is None:
            out.append(Difference(e.table, e.label, u, None, "the row", "no such row"))
            continue
        have = _operator_row(schema, e.table, cur, owned or set())
        assert e.before is not None
        for c, old in sorted(e.before.items()):
            want = _remap(old, uuids)
            got = have[c]
            ctype = schema.ctype(e.table, c)
            if e.kind == "update" and not _is_whole(ctype):
                assert e.after is not None
                new = _remap(e.after[c], uuids)
                if ctype.is_map:
                    for k in sorted(set(want) | set(new), key=repr):
                        if want.get(k) != new.get(k) and got.get(k) != want.get(k):
                            out.append(Difference(
                                e.table, e.label, u, f"{c}:{k}",
                                show_value(want.get(k)) if k in want else "absent",
                                show_value(got.get(k)) if k in got else "absent"))
                    continue
                g = _as_set(got)
                wrong = ({a for a in _as_set(want) - _as_set(new) if a not in g}
                         | {a for a in _as_set(new) - _as_set(want) if a in g})
                if wrong:
                    out.append(Difference(e.table, e.label, u, c, show_value(want),
                                          show_value(got)))
                continue
            if got != want:
                out.append(Difference(e.table, e.label, u, c, show_value(want),
                                      show_value(got)))
    return out


def foreign_changes(
    schema: DbSchema, before: Rows, now: Rows, edits: Iterable[RowEdit], uuids: Mapping[str, str]
) -> list[str]:
    """Rows that differ between the backup and now for reasons other than the change (kept
    as they are): what someone else did meanwhile."""
    mine = {(e.table, e.uuid) for e in edits} | {(e.table, uuids.get(e.uuid, e.uuid))
                                                   for e in edits}
    back = {v: k for k, v in uuids.items()}
    remapped: Rows = {
        t: {back.get(u, u): {c: _remap(v, back) for c, v in r.items()} for u, r in rows.items()}
        for t, rows in now.items()
    }
    out = []
    for e in diff_rows(schema, before, remapped):
        if (e.table, e.uuid) in mine:
            continue
        out.append(e.describe())
    return out
