"""OVSDB values from command-line text, as `ovsdb_datum_from_string()` parses them.

Follows OVS 3.1.0 `lib/ovsdb-data.c` (ovsdb_token_parse, ovsdb_atom_from_string,
ovsdb_datum_from_string) including its error texts, so `set`/`add`/`remove` on any column
mean here what they mean to ovn-nbctl and ovs-vsctl. The column's type comes from the
database's own schema; nothing about a column is hard-coded.
"""

from __future__ import annotations

import json
import re
import uuid as _uuid
from collections.abc import Callable
from typing import Any

from ovnguard.model.db import Atom, ColumnType, Uuid, Value, normalize_set

DELIMS = ":=, []{}!<>"
_UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
_INT_RE = re.compile(r"^\s*[+-]?\d+$")
_RANGE_RE = re.compile(r"^\s*([+-]?\d+)-([+-]?\d+)$")
INT64_MIN, INT64_MAX = -(1 << 63), (1 << 63) - 1

# Resolves `@name` row symbols (`--id=@name create ...`) to the uuid of the row they name.
Symbols = Callable[[str], Uuid]


class DatumError(Exception):
    """The message the real tool prints for a value it cannot parse."""


def is_uuid(s: str) -> bool:
    return bool(_UUID_RE.match(s))


def token_parse(s: str, pos: int) -> tuple[str, int]:
    """ovsdb_token_parse(): up to the next delimiter; quotes protect delimiters."""
    out: list[str] = []
    in_quotes = False
    start = pos
    while pos < len(s):
        c = s[pos]
        pos += 1
        if c == "\\":
            if in_quotes:
                out.append("\\")
            if pos >= len(s):
                raise DatumError(f"{s[start:]}: backslash at end of argument")
            out.append(s[pos])
            pos += 1
        elif not in_quotes and c in DELIMS:
            pos -= 1
            break
        else:
            out.append(c)
            if c == '"':
                in_quotes = not in_quotes
    if in_quotes:
        raise DatumError(f"{s[start:]}: quoted string extends past end of argument")
    return "".join(out), pos


def atom_from_string(
    base: str, s: str, symbols: Symbols | None = None, constraints: Constraints | None = None
) -> Atom:
    """ovsdb_atom_from_string() for base type `base`; `constraints` is the ColumnType side."""
    atom: Atom
    if base == "integer":
        if not _INT_RE.match(s):
            raise DatumError(f'"{s}" is not a valid integer or range')
        atom = int(s)
        if not INT64_MIN <= atom <= INT64_MAX:
            raise DatumError(f'"{s}" is not a valid integer or range')
    elif base == "real":
        try:
            atom = float(s)
        except ValueError:
            raise DatumError(f'"{s}" is not a valid real number') from None
        if "_" in s:
            raise DatumError(f'"{s}" is not a valid real number')
    elif base == "boolean":
        if s in ("true", "yes", "on", "1"):
            atom = True
        elif s in ("false", "no", "off", "0"):
            atom = False
        else:
            raise DatumError(f'"{s}" is not a valid boolean (use "true" or "false")')
    elif base == "string":
        if s == "":
            raise DatumError(
                'An empty string is not valid as input; use "" to represent the empty string'
            )
        if s[0] == '"':
            if len(s) < 2 or s[-1] != '"':
                raise DatumError(f"{s}: missing quote at end of quoted string")
            try:
                atom = json.loads(s)
            except ValueError as e:
                raise DatumError(f"{s}: {e.args[0] if e.args else e}") from None
            if not isinstance(atom, str):
                raise DatumError(f"{s}: missing quote at end of quoted string")
        else:
            atom = s
    elif base == "uuid":
        if s.startswith("@") and symbols is not None:
            atom = symbols(s)
        elif is_uuid(s):
            atom = Uuid(s.lower())
        else:
            raise DatumError(f'"{s}" is not a valid UUID')
    else:  # pragma: no cover - schema types are closed
        raise DatumError(f"unknown type {base}")
    if constraints is not None:
        check_constraints(atom, base, constraints)
    return atom


class Constraints:
    """The key or value side of a column's constraints (enum, ranges, lengths), if known.

    `model.db.ColumnType` may carry them as `key_enum`/`key_min`/`key_max`/`key_min_length`/
    `key_max_length` (and `value_...`); when the model does not have them, no check is made.
    """

    def __init__(self, ctype: ColumnType, side: str) -> None:
        self.enum = getattr(ctype, f"{side}_enum", None)
        self.min = getattr(ctype, f"{side}_min", None)
        self.max = getattr(ctype, f"{side}_max", None)
        self.min_length = getattr(ctype, f"{side}_min_length", None)
        self.max_length = getattr(ctype, f"{side}_max_length", None)


def check_constraints(atom: Atom, base: str, side: Constraints) -> None:
    """ovsdb_atom_check_constraints()."""
    if side.enum is not None and atom not in side.enum:
        valid = ", ".join(atom_to_string(a) for a in sorted(side.enum))
        if len(side.enum) != 1:
            valid = f"[{valid}]"
        raise DatumError(
            f"constraint violation: {atom_to_string(atom)} is not one of the allowed values "
            f"({valid})"
        )
    if base in ("integer", "real") and not isinstance(atom, bool):
        lo, hi = side.min, side.max
        assert isinstance(atom, (int, float))
        if (lo is not None and atom < lo) or (hi is not None and atom > hi):
            if lo is not None and hi is not None:
                raise DatumError(
                    f"constraint violation: {atom} is not in the valid range {lo} to {hi} "
                    "(inclusive)"
                )
            if lo is not None:
                raise DatumError(
                    f"constraint violation: {atom} is less than minimum allowed value {lo}"
                )
            raise DatumError(
                f"constraint violation: {atom} is greater than maximum allowed value {hi}"
            )
    if base == "string" and isinstance(atom, str):
        n = len(atom)
        if side.min_length is not None and n < side.min_length:
            raise DatumError(
                f'constraint violation: "{atom}" length {n} is less than minimum allowed '
                f"length {side.min_length}"
            )
        if side.max_length is not None and n > side.max_length:
            raise DatumError(
                f'constraint violation: "{atom}" length {n} is greater than maximum allowed '
                f"length {side.max_length}"
            )


def datum_from_string(
    ctype: ColumnType,
    s: str,
    symbols: Symbols | None = None,
    n_min: int | None = None,
    n_max: float | None = None,
    void_value: bool = False,
) -> list[tuple[Atom, Atom | None]]:
    """ovsdb_datum_from_string(): a list of (key, value) pairs (value None for sets).

    `n_min`/`n_max` override the column's bounds (`add`/`remove` parse with 1..unlimited);
    `void_value` parses a map column's keys only (`remove` of map keys).
    """
    is_map = ctype.is_map and not void_value
    lo = ctype.min if n_min is None else n_min
    hi = ctype.max if n_max is None else n_max
    pos = _skip(s, 0)
    end_delim = ""
    if pos < len(s) and s[pos] == ("{" if is_map else "["):
        end_delim = "}" if is_map else "]"
        pos = _skip(s, pos + 1)
    elif pos >= len(s):
        raise DatumError('use "{}" to specify the empty map' if is_map else
                         'use "[]" to specify the empty set')
    kside, vside = Constraints(ctype, "key"), Constraints(ctype, "value")
    out: list[tuple[Atom, Atom | None]] = []
    while pos < len(s) and s[pos] != end_delim:
        if s[pos] in DELIMS:
            english = type_to_english(ctype.key, ctype.value, lo, hi, is_map)
            raise DatumError(f'{s}: unexpected "{s[pos]}" parsing {english}')
        start = pos
        tok, pos = token_parse(s, pos)
        keys: list[Atom]
        rng = _RANGE_RE.match(tok) if ctype.key == "integer" else None
        if rng:
            a, b = int(rng.group(1)), int(rng.group(2))
            if b < a:
                raise DatumError(f'"{tok}" is not a valid range. Range end cannot be before start.')
            keys = [atom_from_string("integer", str(k), symbols, kside) for k in range(a, b + 1)]
        else:
            keys = [atom_from_string(ctype.key, tok, symbols, kside)]
        value: Atom | None = None
        if is_map:
            pos = _skip(s, pos)
            if pos < len(s) and s[pos] == "=":
                pos = _skip(s, pos + 1)
                vtok, pos = token_parse(s, pos)
                assert ctype.value is not None
                value = atom_from_string(ctype.value, vtok, symbols, vside)
            else:
                ch = s[pos] if pos < len(s) else ""
                raise DatumError(f'{s[start:]}: syntax error at "{ch}" expecting "="')
        out.extend((k, value) for k in keys)
        pos = _skip(s, pos)
        if pos < len(s) and s[pos] == ",":
            pos = _skip(s, pos + 1)
    if end_delim:
        if pos >= len(s):
            raise DatumError(f'{s}: missing "{end_delim}" at end of data')
        if _skip(s, pos + 1) < len(s):
            raise DatumError(f'{s}: trailing garbage after "{end_delim}"')
    what = "pair(s)" if is_map else "value(s)"
    if len(out) < lo:
        raise DatumError(f"{s}: {len(out)} {what} specified but the minimum number is {lo}")
    if len(out) > hi:
        raise DatumError(f"{s}: {len(out)} {what} specified but the maximum number is {int(hi)}")
    keys_seen = [k for k, _ in out]
    if len(set(keys_seen)) != len(keys_seen):
        raise DatumError(
            f"{s}: map contains duplicate key" if is_map else f"{s}: set contains duplicate value"
        )
    return out


def type_to_english(
    key: str, value: str | None, n_min: int, n_max: float, is_map: bool
) -> str:
    """ovsdb_type_to_english(), for the "unexpected ..." message."""
    if not is_map and n_min == 1 and n_max == 1:
        return key
    s = "map" if is_map else "set"
    if n_max == float("inf"):
        s += f" of {n_min} or more" if n_min else " of"
    elif n_min:
        s += f" of {n_min} to {int(n_max)}"
    else:
        s += f" of up to {int(n_max)}"
    return s + (f" ({key}, {value}) pairs" if is_map else f" {key}s")


def _skip(s: str, pos: int) -> int:
    while pos < len(s) and s[pos].isspace():
        pos += 1
    return pos


def to_value(ctype: ColumnType, pairs: list[tuple[Atom, Atom | None]]) -> Value:
    """The normalised model value (`model.db`) of parsed pairs for this column."""
    if ctype.is_map:
        return {k: v for k, v in pairs}
    if ctype.is_scalar:
        return pairs[0][0]
    return normalize_set(k for k, _ in pairs)


def string_needs_quotes(s: str) -> bool:
    if not s or not (s[0].isascii() and (s[0].isalpha() or s[0] == "_")):
        return True
    if any(not (c.isascii() and (c.isalnum() or c in "_-.")) for c in s):
        return True
    return s in ("true", "false") or is_uuid(s)


def atom_to_string(a: Atom) -> str:
    if isinstance(a, bool):
        return "true" if a else "false"
    if isinstance(a, Uuid):
        return str(a)
    if isinstance(a, str):
        return json.dumps(a) if string_needs_quotes(a) else a
    if isinstance(a, float):
        return repr(a)
    return str(a)


def value_to_string(ctype: ColumnType, v: Value) -> str:
    """ovsdb_datum_to_string(): how `ovn-nbctl get` prints a value."""
    if ctype.is_map:
        items = sorted(v.items(), key=lambda kv: _sort_key(kv[0]))
        return "{" + ", ".join(f"{atom_to_string(k)}={atom_to_string(x)}" for k, x in items) + "}"
    if ctype.is_scalar:
        return atom_to_string(v)
    atoms = list(v)
    if ctype.max == 1 and len(atoms) == 1:
        return atom_to_string(atoms[0])
    return "[" + ", ".join(atom_to_string(a) for a in sorted(atoms, key=_sort_key)) + "]"


def _sort_key(a: Atom) -> tuple[int, Any]:
    return (0, a) if not isinstance(a, str) else (1, a)


def symbol_uuid(seed: str, name: str) -> Uuid:
    return Uuid(str(_uuid.uuid5(_uuid.NAMESPACE_URL, f"ovnguard:{seed}:{name}")))
