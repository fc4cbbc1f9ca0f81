"""An in-memory OVSDB database: schema-typed rows, copy-on-write edits, garbage collection.

Everything ovnguard knows about NB, SB and each host's Open_vSwitch DB is held in this one
generic shape, so that a change (ovn-nbctl `set/add/remove/clear`, ovs-vsctl, Neutron) is applied
to a copy exactly as OVSDB would apply it, and the before/after databases can be diffed
(Batfish's fork-and-diff). Typed views (switches, bridges, ...) are derived from it, never stored
beside it, so there is one source of truth.

Value normalisation (by the schema, so callers never guess):
- scalar column (min=max=1): the atom itself (`str`, `int`, `float`, `bool` or `Uuid`);
- set column (including optional scalars, max=1): a `tuple` of atoms, sorted, no duplicates;
- map column: a `FrozenMap`, a `dict` that refuses edits (`EMPTY_MAP` when empty).
"""

from __future__ import annotations

import uuid as _uuid
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import field
from sys import intern
from types import MappingProxyType
from typing import Any, TypeVar

from ovnguard.record import record

T = TypeVar("T")
K = TypeVar("K")
V = TypeVar("V")


class Uuid(str):
    """An OVSDB reference to a row (the `uuid` atom), distinct from a plain string."""

    __slots__ = ()


Atom = str | int | float | bool
Value = Any  # Atom | tuple[Atom, ...] | FrozenMap


class FrozenMap(dict[Any, Any]):
    """A map cell: a `dict` (so everything that reads, compares or serializes a dict takes
    it as one) that refuses edits. A snapshot's rows are shared by every state derived from
    it and by every view built on them, so a cell is never changed in place; being immutable,
    the empty ones are all one object (`EMPTY_MAP`) -- at 200k ports, most of a million map
    cells (external_ids, options, ...) are empty -- and a view can keep a cell itself where
    it would otherwise copy it."""

    __slots__ = ()

    def _read_only(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError("a database map cell is read-only: change a copy, dict(cell)")

    __setitem__ = __delitem__ = __ior__ = _read_only
    clear = pop = popitem = setdefault = update = _read_only

    def __copy__(self) -> FrozenMap:
        return self

    def __deepcopy__(self, memo: Any) -> FrozenMap:
        return self

    def __reduce__(self) -> Any:
        return (frozen_map, (dict(self),))


EMPTY_MAP = FrozenMap()


def frozen_map(pairs: Any) -> FrozenMap:
    """A map cell from a mapping or (key, value) pairs; the shared `EMPTY_MAP` when empty."""
    return FrozenMap(pairs) if pairs else EMPTY_MAP


@record(slots=True)
class ColumnType:
    key: str  # atomic type: string, integer, real, boolean, uuid
    value: str | None = None  # map value type, None for sets/scalars
    min: int = 1
    max: int | float = 1  # float("inf") for "unlimited"
    ref_table: str | None = None
    ref_strong: bool = True
    value_ref_table: str | None = None
    value_ref_strong: bool = True
    # Constraints (RFC 7047 <base-type>), checked by the change engine like ovsdb-server does.
    mutable: bool = True
    key_enum: frozenset[Atom] | None = None
    key_min: int | float | None = None
    key_max: int | float | None = None
    key_min_length: int | None = None
    key_max_length: int | None = None
    value_enum: frozenset[Atom] | None = None
    value_min: int | float | None = None
    value_max: int | float | None = None
    value_min_length: int | None = None
    value_max_length: int | None = None

    @property
    def is_map(self) -> bool:
        return self.value is not None

    @property
    def is_scalar(self) -> bool:
        return self.value is None and self.min == 1 and self.max == 1

    @property
    def is_set(self) -> bool:
        return not self.is_map and not self.is_scalar

    def default(self) -> Value:
        if self.is_map:
            return EMPTY_MAP
        if self.is_set:
            return ()
        return {"string": "", "integer": 0, "real": 0.0, "boolean": False, "uuid": Uuid("")}[
            self.key
        ]


@record(slots=True)
class TableSchema:
    name: str
    columns: Mapping[str, ColumnType]
    is_root: bool
    indexes: tuple[tuple[str, ...], ...] = ()


@record(slots=True)
class Schema:
    name: str
    version: str
    tables: Mapping[str, TableSchema]
    # The schema as read, so a copy of the database can be written for the real tools.
    doc: Mapping[str, Any] | None = field(default=None, compare=False, repr=False)

    @staticmethod
    def from_json(doc: Mapping[str, Any]) -> Schema:
        """Parse an OVSDB schema (RFC 7047 section 3.2)."""
        tables: dict[str, TableSchema] = {}
        for tname, tdoc in doc["tables"].items():
            cols = {
                c: _parse_column_type(cdoc["type"], bool(cdoc.get("mutable", True)))
                for c, cdoc in tdoc["columns"].items()
            }
            tables[tname] = TableSchema(
                name=tname,
                columns=MappingProxyType(cols),
                # RFC 7047: a table without "isRoot" in a schema that has none is root-set.
                is_root=bool(tdoc.get("isRoot", False)),
                indexes=tuple(tuple(ix) for ix in tdoc.get("indexes", ())),
            )
        return Schema(doc["name"], str(doc.get("version", "")), MappingProxyType(tables), doc)

    def column(self, table: str, column: str) -> ColumnType:
        return self.tables[table].columns[column]


def _base(t: Any) -> tuple[str, str | None, bool]:
    if isinstance(t, str):
        return t, None, True
    ref = t.get("refTable")
    return t["type"], ref, t.get("refType", "strong") == "strong"


def _constraints(t: Any, side: str) -> dict[str, Any]:
    if isinstance(t, str):
        return {}
    out: dict[str, Any] = {}
    if "enum" in t:
        e = t["enum"]
        atoms = e[1] if isinstance(e, list) and e and e[0] == "set" else [e]
        out[f"{side}_enum"] = frozenset(_atom_from_json(a) for a in atoms)
    for src, dst in (("minInteger", "min"), ("maxInteger", "max"), ("minReal", "min"),
                     ("maxReal", "max"), ("minLength", "min_length"),
                     ("maxLength", "max_length")):
        if src in t:
            out[f"{side}_{dst}"] = t[src]
    return out


def _parse_column_type(t: Any, mutable: bool = True) -> ColumnType:
    if isinstance(t, str):
        return ColumnType(key=t, mutable=mutable)
    key, ref, strong = _base(t["key"])
    extra = _constraints(t["key"], "key")
    value = vref = None
    vstrong = True
    if "value" in t:
        value, vref, vstrong = _base(t["value"])
        extra.update(_constraints(t["value"], "value"))
    mx = t.get("max", 1)
    return ColumnType(
        key=key,
        value=value,
        min=int(t.get("min", 1)),
        max=float("inf") if mx == "unlimited" else int(mx),
        ref_table=ref,
        ref_strong=strong,
        value_ref_table=vref,
        value_ref_strong=vstrong,
        mutable=mutable,
        **extra,
    )


def _atom_from_json(j: Any) -> Atom:
    if isinstance(j, list):
        # ["uuid", x] or ["named-uuid", x]; the latter never appears in stored files.
        return Uuid(j[1])
    return j


def value_from_json(ctype: ColumnType, j: Any) -> Value:
    """Convert an RFC 7047 <value> to the normalised Python form for this column."""
    if ctype.is_map:
        pairs = j[1] if isinstance(j, list) and j and j[0] == "map" else []
        return frozen_map({_atom_from_json(k): _atom_from_json(v) for k, v in pairs})
    if isinstance(j, list) and j and j[0] == "set":
        atoms = [_atom_from_json(a) for a in j[1]]
    else:
        atoms = [_atom_from_json(j)]
    if ctype.is_scalar:
        return atoms[0] if atoms else ctype.default()
    return normalize_set(atoms)


# Strings up to this long are shared (sys.intern) when read from a file: names, types, keys
# and small values repeat across rows and hosts; longer ones are mostly uuids, unique.
SHARED_LEN = 16


def uuid_interner() -> Callable[[str], Uuid]:
    """`Uuid(text)`, one object per distinct uuid: a row's uuid and every reference to it
    (a switch's `ports`, a binding's `datapath`...) are then the same object, not a copy
    each -- a reader makes one per database it reads."""
    seen: dict[str, Uuid] = {}

    def uuid_of(text: str) -> Uuid:
        u = seen.get(text)
        if u is None:
            u = seen[text] = Uuid(text)
        return u
    return uuid_of


def _pairs_key(pairs: Any) -> tuple[Any, ...] | None:
    """A map's [[k, v], ...] as a dict key; None when they are not pairs of atoms (the
    map is then made, and refused, without being shared)."""
    try:
        key = tuple(map(tuple, pairs))
        hash(key)
    except TypeError:
        return None
    return key


def json_converter(ctype: ColumnType, uuid_of: Callable[[str], Uuid] = Uuid,
                   maps: dict[Any, FrozenMap] | None = None) -> Callable[[Any], Value]:
    """`value_from_json` specialised for one column: the file reader calls it for every cell
    of every row (millions at a thousand chassis), so the type tests are done once here.
    `uuid_of` makes the references of a set column (`uuid_interner`); `maps`, when given, is
    where a read keeps the string maps it made, so that equal ones are one object."""
    if ctype.is_map:
        if ctype.key == "string" and ctype.value == "string":
            def string_map(j: Any) -> Value:
                # ["map", [[k, v], ...]]. The same few keys (iface-id, requested-chassis,
                # neutron:device_owner...) and many values (compute:nova, active, true, a
                # chassis name) come back in every row: one str object each, not a copy per
                # cell (at 200k ports, ~150 MB). Long values are mostly unique (uuids).
                if not (j.__class__ is list and j and j[0] == "map" and j[1]):
                    return EMPTY_MAP
                # whole maps repeat too: every Neutron port's external_ids
                # {neutron:device_owner: compute:nova}, its requested-chassis option
                key = _pairs_key(j[1]) if maps is not None else None
                m = maps.get(key) if maps is not None and key is not None else None
                if m is None:
                    m = FrozenMap(
                        (intern(k) if k.__class__ is str else k,
                         intern(v) if v.__class__ is str and len(v) <= SHARED_LEN else v)
                        for k, v in j[1])
                    if maps is not None and key is not None:
                        maps[key] = m
                return m
            return string_map
        if ctype.key != "uuid" and ctype.value != "uuid":
            def plain_map(j: Any) -> Value:
                # ["map", [[k, v], ...]]: atoms are JSON scalars, a dict takes the pairs as is
                return (FrozenMap(j[1]) if j.__class__ is list and j and j[0] == "map" and j[1]
                        else EMPTY_MAP)
            return plain_map
        return lambda j: value_from_json(ctype, j)
    if ctype.is_scalar:
        if ctype.key == "uuid":
            return lambda j: value_from_json(ctype, j)
        if ctype.key == "string":
            def string(j: Any) -> Value:
                # a type, a bridge's name, "br-int", "patch": shared like map values
                if j.__class__ is str:
                    return intern(j) if len(j) <= SHARED_LEN else j
                return j if j.__class__ is not list else value_from_json(ctype, j)
            return string

        def scalar(j: Any) -> Value:
            return j if j.__class__ is not list else value_from_json(ctype, j)
        return scalar
    uuids = ctype.key == "uuid"

    def set_(j: Any) -> Value:
        if j.__class__ is list:
            if j[0] == "set":
                atoms = j[1]
                if not atoms:
                    return ()
                if uuids:
                    atoms = [uuid_of(a[1]) for a in atoms]
                if len(atoms) == 1:
                    return (atoms[0],)
                return normalize_set(atoms)
            return (uuid_of(j[1]),)  # ["uuid", x]
        return (j,)
    return set_


def normalize_set(atoms: Iterable[Atom]) -> tuple[Atom, ...]:
    uniq = set(atoms)
    try:
        return tuple(sorted(uniq))
    except TypeError:
        return tuple(sorted(uniq, key=repr))


# A row's column names -> positions, one per distinct set of columns (a table read from a
# file has one; an edit that adds a column the reader skipped makes another).
_LAYOUTS: dict[tuple[str, ...], dict[str, int]] = {}


def row_layout(columns: Iterable[str]) -> dict[str, int]:
    """The shared column -> position map for rows of exactly these columns, in this order."""
    key = tuple(columns)
    lay = _LAYOUTS.get(key)
    if lay is None:
        lay = _LAYOUTS[key] = {c: i for i, c in enumerate(key)}
    return lay


class RowData(Mapping[str, Value]):
    """A row's cells as a read-only mapping (`Row.data`), over the row's own storage."""

    __slots__ = ("_lay", "_vals")

    def __init__(self, lay: dict[str, int], vals: tuple[Value, ...]) -> None:
        self._lay = lay
        self._vals = vals

    def __getitem__(self, column: str) -> Value:
        return self._vals[self._lay[column]]

    def get(self, column: str, default: Value = None) -> Value:
        i = self._lay.get(column)
        return default if i is None else self._vals[i]

    def __contains__(self, column: object) -> bool:
        return column in self._lay

    def __iter__(self) -> Iterator[str]:
        return iter(self._lay)

    def __len__(self) -> int:
        return len(self._vals)

    def items(self) -> Any:
        return zip(self._lay, self._vals, strict=True)

    def values(self) -> Any:
        return iter(self._vals)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, RowData):
            if self._lay is other._lay:
                return self._vals == other._vals
            return dict(self.items()) == dict(other.items())
        if isinstance(other, Mapping):
            return dict(self.items()) == dict(other.items())
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return repr(dict(self.items()))


class Row:
    """One row: its table, its uuid and every column the reader kept (absent columns read
    as defaults). Stored as one tuple of values beside a column layout that all rows of a
    table share -- at 200k ports a dict per row was a quarter of the loaded model."""

    __slots__ = ("_lay", "_vals", "table", "uuid")

    table: str
    uuid: Uuid
    _lay: dict[str, int]
    _vals: tuple[Value, ...]

    def __init__(self, table: str, uuid: Uuid, data: Mapping[str, Value]) -> None:
        if isinstance(data, RowData):
            self._fill(table, uuid, data._lay, data._vals)
        else:
            self._fill(table, uuid, row_layout(data), tuple(data.values()))

    @classmethod
    def packed(cls, table: str, uuid: Uuid, lay: dict[str, int],
               vals: tuple[Value, ...]) -> Row:
        """A row from values in the order of `lay` (from `row_layout`), as the reader has
        them: no mapping built on the way."""
        r = cls.__new__(cls)
        r._fill(table, uuid, lay, vals)
        return r

    def _fill(self, table: str, uuid: Uuid, lay: dict[str, int],
              vals: tuple[Value, ...]) -> None:
        object.__setattr__(self, "table", table)
        object.__setattr__(self, "uuid", uuid)
        object.__setattr__(self, "_lay", lay)
        object.__setattr__(self, "_vals", vals)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"Row is read-only: cannot set {name}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"Row is read-only: cannot delete {name}")

    @property
    def data(self) -> RowData:
        return RowData(self._lay, self._vals)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Row):
            return NotImplemented
        return (self.table == other.table and self.uuid == other.uuid
                and self.data == other.data)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Row(table={self.table!r}, uuid={self.uuid!r}, data={self.data!r})"

    def get(self, column: str, default: Value = None) -> Value:
        i = self._lay.get(column)
        return default if i is None else self._vals[i]

    def __getitem__(self, column: str) -> Value:
        return self._vals[self._lay[column]]

    def opt(self, column: str) -> Atom | None:
        """The single value of an optional (max=1 set) column, or None."""
        v = self.get(column, ())
        if isinstance(v, tuple):
            return v[0] if v else None
        return v

    def map(self, column: str) -> Mapping[Atom, Atom]:
        v = self.get(column)
        return v if isinstance(v, dict) else EMPTY_MAP

    def set(self, column: str) -> tuple[Atom, ...]:
        v = self.get(column, ())
        return v if isinstance(v, tuple) else (v,)

    @property
    def name(self) -> str:
        n = self.get("name", "")
        return n if isinstance(n, str) else ""


@record(slots=True)
class Elided:
    """Rows of a database file deliberately not held in memory: `rule` names which (the
    module that left them out also puts them back, from the file, for a real tool that must
    see every row), `counts` how many per owning row (e.g. bridge name -> ports)."""

    rule: str
    counts: Mapping[str, int]
    # what real tools changed in those rows, in order (a line deleting a tunnel port): the
    # rows are not here, but `diff` still reports what happened to them
    changes: tuple[RowChange, ...] = ()
    # the bytes the database was read from where they came from no file (`check --live`,
    # collected over SSH): what the rows left out are read again from
    raw: bytes | None = field(default=None, compare=False)


def differing(a: Mapping[K, object], b: Mapping[K, object]) -> set[K]:
    """The keys whose values differ between `a` and `b` (or are in one only). A state after
    derived from the one before shares every value a change left alone: those compare by
    identity, not field by field."""
    if a is b:
        return set()
    out = {k for k, v in b.items() if (w := a.get(k)) is not v and w != v}
    out.update(a.keys() - b.keys())
    return out


def thawed(m: Mapping[K, V]) -> dict[K, V]:
    """A new dict with `m`'s items. `dict(m)` of a MappingProxyType goes through the mapping
    protocol item by item, 20x slower than copying the dict under it (68 vs 3.5 ms for
    220k entries here): the model's tables and indexes are proxies, and a change copies
    the ones it edits."""
    if isinstance(m, MappingProxyType | dict):
        out = m.copy()  # a proxy's copy is the copy of the mapping under it
        if type(out) is dict:
            return out
    return dict(m)


@record
class Database:
    """An immutable snapshot of one OVSDB database."""

    schema: Schema
    tables: Mapping[str, Mapping[Uuid, Row]]
    source: str = ""  # where it came from (file path / remote), for evidence
    # Rows the reader left in `source` instead of memory, and how many (model/mesh.py: a
    # host's tunnel ports to every other chassis); None: every row is here.
    elided: Elided | None = field(default=None, compare=False, repr=False)
    _name_index: dict[str, dict[str, list[Row]]] = field(
        default_factory=dict, compare=False, repr=False
    )
    _memo: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    # The database this one was made from by replaying a transaction, and per table the
    # uuids of the rows it touched (sources/ovsdb_file.apply_records): what a what-if's state
    # after changed is known without comparing every row (`changed_rows`). A weak reference:
    # a copy edited line after line must not keep every earlier state alive.
    edited_from: tuple[weakref.ref[Database], Mapping[str, frozenset[Uuid]]] | None = field(
        default=None, compare=False, repr=False)

    def changed_rows(self, base: Database, table: str) -> set[Uuid]:
        """The uuids of `table`'s rows that are not the same objects here and in `base`
        (inserted, deleted or edited): from the edits that made this database out of
        `base` where it was made so, else by comparing every row (an edited copy shares the
        rows an edit did not touch)."""
        t0, t1 = base.tables.get(table, {}), self.tables.get(table, {})
        if t0 is t1:
            return set()
        touched: set[Uuid] = set()
        db: Database | None = self
        while db is not None and db is not base:
            if db.edited_from is None:
                db = None
                break
            ref, edits = db.edited_from
            db = ref()
            touched.update(edits.get(table, ()))
        if db is None:  # not made from `base` by recorded edits: compare every row
            out = {u for u, r in t1.items() if t0.get(u) is not r}
            out.update(t0.keys() - t1.keys())
            return out
        return {u for u in touched if t0.get(u) is not t1.get(u)}

    def memo(self, key: str, derive: Callable[[Database], T]) -> T:
        """`derive(self)`, computed once per snapshot: a database never changes (an edit
        commits a new one), so typed views of an untouched host's conf.db are built once for
        the before and the after of a change, the rules and the report."""
        try:
            return self._memo[key]
        except KeyError:
            v = self._memo[key] = derive(self)
            return v

    @property
    def name(self) -> str:
        return self.schema.name

    def rows(self, table: str) -> Iterator[Row]:
        return iter(self.tables.get(table, {}).values())

    def row(self, table: str, uuid: str) -> Row | None:
        return self.tables.get(table, {}).get(Uuid(uuid))

    def lookup(self, table: str, uuid: str) -> Row | None:
        """A row by uuid in any table (when the reference's table is implied)."""
        return self.row(table, uuid)

    def find(self, table: str, name: str, column: str = "name") -> list[Row]:
        """Rows whose `column` equals `name` (indexed lazily; the snapshot never changes)."""
        key = f"{table}\0{column}"
        idx = self._name_index.get(key)
        if idx is None:
            idx = {}
            for r in self.rows(table):
                v = r.get(column)
                if isinstance(v, str):
                    idx.setdefault(v, []).append(r)
            self._name_index[key] = idx
        return list(idx.get(name, ()))

    def find_one(self, table: str, name: str, column: str = "name") -> Row | None:
        found = self.find(table, name, column)
        return found[0] if found else None

    def get_by_record(self, table: str, record: str) -> list[Row]:
        """Resolve a record the way ovn-nbctl/ovs-vsctl do: uuid, uuid prefix of 4+, or name."""
        t = self.tables.get(table, {})
        if record in t:
            return [t[Uuid(record)]]
        named = self.find(table, record)
        if named:
            return named
        if len(record) >= 4 and all(c in "0123456789abcdef-" for c in record.lower()):
            return [r for u, r in t.items() if u.startswith(record.lower())]
        return []

    def edit(self) -> Edit:
        return Edit(self)

    def count(self, table: str) -> int:
        return len(self.tables.get(table, {}))


class Edit:
    """A copy-on-write transaction against a Database.

    Commit applies OVSDB semantics the change simulation relies on: defaults for missing
    columns, and garbage collection of non-root rows that nothing strongly references any more
    (so `lsp-del`, which only removes the port from the switch's `ports`, deletes the port).
    """

    def __init__(self, base: Database) -> None:
        self.base = base
        self._tables: dict[str, dict[Uuid, Row]] = {}

    def _table(self, table: str) -> dict[Uuid, Row]:
        t = self._tables.get(table)
        if t is None:
            if table not in self.base.schema.tables:
                raise KeyError(f"no table {table} in schema {self.base.schema.name}")
            t = thawed(self.base.tables.get(table, {}))
            self._tables[table] = t
        return t

    def rows(self, table: str) -> Iterator[Row]:
        if table in self._tables:
            return iter(list(self._tables[table].values()))
        return self.base.rows(table)

    def row(self, table: str, uuid: str) -> Row | None:
        if table in self._tables:
            return self._tables[table].get(Uuid(uuid))
        return self.base.row(table, uuid)

    def find(self, table: str, name: str, column: str = "name") -> list[Row]:
        return [r for r in self.rows(table) if r.get(column) == name]

    def insert(self, table: str, data: Mapping[str, Value], uuid: str | None = None) -> Uuid:
        u = Uuid(uuid or str(_uuid.uuid4()))
        schema = self.base.schema.tables[table]
        full = {c: t.default() for c, t in schema.columns.items()}
        full.update({k: self._norm(table, k, v) for k, v in data.items()})
        self._table(table)[u] = Row(table, u, full)
        return u

    def update(self, table: str, uuid: str, changes: Mapping[str, Value]) -> None:
        t = self._table(table)
        old = t[Uuid(uuid)]
        new = dict(old.data)
        new.update({k: self._norm(table, k, v) for k, v in changes.items()})
        t[Uuid(uuid)] = Row(table, old.uuid, new)

    def delete(self, table: str, uuid: str) -> None:
        self._table(table).pop(Uuid(uuid), None)

    def _norm(self, table: str, column: str, v: Value) -> Value:
        ctype = self.base.schema.column(table, column)
        if ctype.is_map:
            return frozen_map(v)
        if ctype.is_set:
            if isinstance(v, (tuple, list, set, frozenset)):
                return normalize_set(v)
            return (v,)
        return v

    def commit(self) -> Database:
        tables: dict[str, Mapping[Uuid, Row]] = dict(self.base.tables)
        tables.update(self._tables)
        tables = _garbage_collect(self.base.schema, tables)
        return Database(self.base.schema, MappingProxyType(tables), self.base.source,
                        self.base.elided)


def _garbage_collect(
    schema: Schema, tables: dict[str, Mapping[Uuid, Row]]
) -> dict[str, Mapping[Uuid, Row]]:
    non_root = {t for t, ts in schema.tables.items() if not ts.is_root}
    if not non_root:
        return tables
    # Iterate to a fixed point: deleting a row can orphan what it referenced.
    while True:
        referenced: set[Uuid] = set()
        for tname, trows in tables.items():
            ts = schema.tables.get(tname)
            if ts is None:
                continue
            strong_cols = [
                (c, ct)
                for c, ct in ts.columns.items()
                if (ct.ref_table in non_root and ct.ref_strong)
                or (ct.value_ref_table in non_root and ct.value_ref_strong)
            ]
            if not strong_cols:
                continue
            for r in trows.values():
                for c, ct in strong_cols:
                    v = r.data.get(c)
                    if v is None:
                        continue
                    if isinstance(v, dict):
                        if ct.ref_table in non_root:
                            referenced.update(k for k in v if isinstance(k, Uuid))
                        if ct.value_ref_table in non_root:
                            referenced.update(x for x in v.values() if isinstance(x, Uuid))
                    elif isinstance(v, tuple):
                        referenced.update(x for x in v if isinstance(x, Uuid))
                    elif isinstance(v, Uuid):
                        referenced.add(v)
        changed = False
        for tname in non_root:
            nrows = tables.get(tname)
            if not nrows:
                continue
            keep = {u: r for u, r in nrows.items() if u in referenced}
            if len(keep) != len(nrows):
                tables[tname] = MappingProxyType(keep)
                changed = True
        if not changed:
            return tables


@record(slots=True)
class RowChange:
    table: str
    uuid: Uuid
    kind: str  # "insert" | "delete" | "update"
    before: Row | None
    after: Row | None
    columns: tuple[str, ...] = ()


def diff(before: Database, after: Database) -> list[RowChange]:
    """Row-level difference of two snapshots of the same database."""
    out: list[RowChange] = []
    for table in sorted(set(before.tables) | set(after.tables)):
        b = before.tables.get(table, {})
        a = after.tables.get(table, {})
        if b is a:
            continue
        # only the rows that are not the same objects (known from the edits that made
        # `after`, where they were recorded), in uuid order
        touched = sorted(after.changed_rows(before, table))
        for u in touched:
            if u not in a:
                out.append(RowChange(table, u, "delete", b[u], None))
        for u in touched:
            if u not in b:
                out.append(RowChange(table, u, "insert", None, a[u]))
        for u in touched:
            if u not in a or u not in b or a[u].data == b[u].data:
                continue
            cols = tuple(
                sorted(c for c in set(a[u].data) | set(b[u].data)
                       if a[u].data.get(c) != b[u].data.get(c))
            )
            out.append(RowChange(table, u, "update", b[u], a[u], cols))
    # ...and what a real tool changed in rows neither holds (`Elided.changes` grows along a
    # change: the part `after` has beyond `before`)
    ea = after.elided.changes if after.elided is not None else ()
    eb = before.elided.changes if before.elided is not None else ()
    if ea and ea is not eb:
        out.extend(_net(ea[len(eb):] if ea[:len(eb)] == eb else ea))
    return out


def _net(steps: Iterable[RowChange]) -> list[RowChange]:
    """Row changes made one after another, as one difference (what `diff` of the first
    state and the last would say of each row)."""
    first: dict[tuple[str, Uuid], RowChange] = {}
    last: dict[tuple[str, Uuid], RowChange] = {}
    for c in steps:
        first.setdefault((c.table, c.uuid), c)
        last[(c.table, c.uuid)] = c
    out = []
    for k, c0 in first.items():
        b, a = c0.before, last[k].after
        if b is None and a is None:
            continue
        if b is None or a is None:
            out.append(RowChange(k[0], k[1], "insert" if b is None else "delete", b, a))
            continue
        cols = tuple(sorted(c for c in set(a.data) | set(b.data)
                            if a.data.get(c) != b.data.get(c)))
        if cols:
            out.append(RowChange(k[0], k[1], "update", b, a, cols))
    return out
