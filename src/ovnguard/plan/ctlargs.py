"""OVSDB values written as ovs-vsctl / ovn-nbctl arguments (`col=value`, `col:key=value`),
so that a row a plan deletes can be written back exactly by its inverse.

The syntax is the one `ovsdb_datum_from_string()` / `parse_column_key_value()` read
(lib/ovsdb-data.c, lib/db-ctl-base.c): a map key is a token that ends at `:`, `=`, `,` and
brackets, so a key with any of those is double-quoted, and so is a whole-column value; the value of
`col:key=value` is read to the end of the word (`ovsdb_atom_from_string`), so a MAC address
stays bare there. Quoting is always safe: a double-quoted atom is a JSON string.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable

from ovnguard.model.db import Database, Row, Uuid

_BARE_KEY = re.compile(r"[A-Za-z0-9_.\-/@+]+")
_BARE_VALUE = re.compile(r"[A-Za-z0-9_.\-/@+:]+")


def _string(s: str, bare: re.Pattern[str]) -> str:
    return s if bare.fullmatch(s) else json.dumps(s, ensure_ascii=False)


def atom(a: object, *, key: bool = False) -> str:
    if isinstance(a, Uuid):
        raise ValueError("references cannot be written as literal arguments")
    if isinstance(a, bool):
        return "true" if a else "false"
    if isinstance(a, int | float):
        return str(a)
    return _string(str(a), _BARE_KEY if key else _BARE_VALUE)


def datum(v: object) -> str:
    """A whole column value: `x`, `[a,b]`, `{k=v,...}`."""
    if isinstance(v, dict):
        return "{" + ",".join(f"{atom(k, key=True)}={atom(x, key=True)}"
                              for k, x in sorted(v.items(), key=lambda kv: str(kv[0]))) + "}"
    if isinstance(v, tuple):
        return "[" + ",".join(atom(a, key=True) for a in v) + "]"
    # Unbracketed, the datum is one token: it ends at `:` too (ovsdb_token_parse).
    return atom(v, key=True)


def map_entry(column: str, key: str, value: object) -> str:
    """`column:key=value` (one key of a map column)."""
    return f"{column}:{atom(key, key=True)}={atom(value)}"


def column_args(db: Database, row: Row, skip: Iterable[str] = ()) -> list[str]:
    """`set`-command arguments that give a fresh row `row`'s configuration: every column
    whose value is not the schema default, except `skip` (names, references, columns the
    daemons write). Maps are written key by key, which reads better than `{...}`."""
    table = db.schema.tables[row.table]
    skipped = set(skip)
    out: list[str] = []
    for col in sorted(row.data):
        if col in skipped or col not in table.columns:
            continue
        ctype = table.columns[col]
        v = row.data[col]
        if v == ctype.default() or ctype.ref_table or ctype.value_ref_table:
            continue
        if isinstance(v, dict):
            out.extend(map_entry(col, str(k), x) for k, x in sorted(v.items(),
                                                                   key=lambda kv: str(kv[0])))
        else:
            out.append(f"{col}={datum(v)}")
    return out
