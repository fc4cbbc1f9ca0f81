"""Row changes as `ovn-nbctl` commands: how a Neutron `openstack network create`,
computed on a copy of the NB, is replayed against the lab's real NB.
"""
from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from ovnguard.change.neutron import network_create
from ovnguard.change.txn import Txn
from ovnguard.model.db import ColumnType, Database, RowChange, Uuid, Value, diff

# --- `openstack network create` as ovn-nbctl commands ----------------------------------


def neutron_nbctl_commands(nb: Database, command: Any, ml2: Any, *, seed: str) -> list[list[str]]:
    """What Neutron would write for `openstack network create` (change.neutron's model of
    ML2/OVN), as generic ovn-nbctl commands for one transaction."""
    txn = Txn(nb, seed)
    network_create(txn, command, ml2)
    return nbctl_for_changes(nb, diff(nb, txn.commit()))


def nbctl_for_changes(db: Database, changes: Sequence[RowChange]) -> list[list[str]]:
    """`create` / `set` / `destroy` commands that make the same row changes; rows inserted
    together reference each other through `--id=@name` symbols."""
    inserted = {c.uuid: f"@row{i}" for i, c in enumerate(c for c in changes if c.kind == "insert")}
    out: list[list[str]] = []
    for c in _referenced_first([c for c in changes if c.kind == "insert"], inserted):
        assert c.after is not None
        cols = [
            f"{col}={_datum(db.schema.column(c.table, col), v, inserted)}"
            for col, v in sorted(c.after.data.items())
            if v != db.schema.column(c.table, col).default()
        ]
        out.append([f"--id={inserted[c.uuid]}", "create", c.table, *cols])
    for c in changes:
        if c.kind == "update":
            assert c.after is not None
            cols = [
                f"{col}={_datum(db.schema.column(c.table, col), c.after.get(col), inserted)}"
                for col in c.columns
            ]
            out.append(["set", c.table, str(c.uuid), *cols])
        elif c.kind == "delete":
            out.append(["destroy", c.table, str(c.uuid)])
    return out


def _referenced_first(rows: list[RowChange], names: Mapping[Uuid, str]) -> list[RowChange]:
    """Inserted rows ordered so that a row comes after the rows it references (ovsdb-ctl
    symbols must be defined before use)."""
    by_uuid = {c.uuid: c for c in rows}
    done: list[RowChange] = []
    seen: set[Uuid] = set()

    def visit(c: RowChange) -> None:
        if c.uuid in seen:
            return
        seen.add(c.uuid)
        assert c.after is not None
        for v in c.after.data.values():
            for atom in _atoms(v):
                if isinstance(atom, Uuid) and atom in by_uuid:
                    visit(by_uuid[atom])
        done.append(c)

    for c in rows:
        visit(c)
    return done


def _atoms(v: Value) -> list[Any]:
    if isinstance(v, dict):
        return [*v.keys(), *v.values()]
    if isinstance(v, tuple):
        return list(v)
    return [v]


def _datum(ctype: ColumnType, v: Value, names: Mapping[Uuid, str]) -> str:
    def atom(a: Any) -> str:
        if isinstance(a, Uuid):
            return names.get(a, str(a))
        if isinstance(a, bool):
            return "true" if a else "false"
        if isinstance(a, int | float):
            return str(a)
        return json.dumps(str(a), ensure_ascii=False)

    if isinstance(v, dict):
        return "{" + ",".join(f"{atom(k)}={atom(x)}" for k, x in sorted(v.items())) + "}"
    if isinstance(v, tuple):
        return "[" + ",".join(atom(a) for a in v) + "]"
    if v is None:
        return "[]"
    return atom(v)


