"""The generic database commands both tools share: set, add, remove, clear, create, destroy,
and the read-only get, list, find, comment.

After OVS 3.1.0 `lib/db-ctl-base.c` (cmd_set, cmd_add, ... and ctl_get_row), error texts
included. Table and column names may be abbreviated and are case/`-`/`_` insensitive there,
so they are here (`other-config` is `other_config`, `bridge` is `Bridge`). Which columns name a
record (`set Logical_Switch neutron-... `, `set Interface eth0`) is each tool's own table, not
the schema's: ovn-nbctl.c and ovs-vsctl.c `tables[]`.
"""

from __future__ import annotations

from ovnguard.change.datum import (
    Constraints,
    DatumError,
    atom_from_string,
    datum_from_string,
    is_uuid,
    to_value,
    token_parse,
    type_to_english,
)
from ovnguard.change.model import Command
from ovnguard.change.txn import CtlError, Txn, _txn_error
from ovnguard.model.db import Atom, ColumnType, Row, TableSchema, Uuid, Value, normalize_set
from ovnguard.record import record


@record(slots=True)
class RowId:
    """ctl_row_id: rows of `table` whose `column` (or its map `key`) equals the record name;
    with `uuid_column`, the record is the row that column of the matching row points to."""

    table: str
    column: str
    key: str | None = None
    uuid_column: str | None = None


ROW_IDS: dict[str, dict[str, tuple[RowId, ...]]] = {
    "ovn-nbctl": {
        "DHCP_Options": (
            RowId("Logical_Switch_Port", "name", None, "dhcpv4_options"),
            RowId("Logical_Switch_Port", "external_ids", "neutron:port_name", "dhcpv4_options"),
            RowId("Logical_Switch_Port", "name", None, "dhcpv6_options"),
            RowId("Logical_Switch_Port", "external_ids", "neutron:port_name", "dhcpv6_options"),
        ),
        "Logical_Switch": (
            RowId("Logical_Switch", "name"),
            RowId("Logical_Switch", "external_ids", "neutron:network_name"),
        ),
        "Logical_Switch_Port": (
            RowId("Logical_Switch_Port", "name"),
            RowId("Logical_Switch_Port", "external_ids", "neutron:port_name"),
        ),
        "Logical_Router": (
            RowId("Logical_Router", "name"),
            RowId("Logical_Router", "external_ids", "neutron:router_name"),
        ),
        "Logical_Router_Port": (RowId("Logical_Router_Port", "name"),),
        "Address_Set": (RowId("Address_Set", "name"),),
        "Port_Group": (RowId("Port_Group", "name"),),
        "ACL": (RowId("ACL", "name"),),
        "HA_Chassis": (RowId("HA_Chassis", "chassis_name"),),
        "HA_Chassis_Group": (RowId("HA_Chassis_Group", "name"),),
        "Load_Balancer": (RowId("Load_Balancer", "name"),),
        "Load_Balancer_Group": (RowId("Load_Balancer_Group", "name"),),
        "Load_Balancer_Health_Check": (RowId("Load_Balancer_Health_Check", "vip"),),
        "Forwarding_Group": (RowId("Forwarding_Group", "name"),),
        "Meter": (RowId("Meter", "name"),),
        "NAT": (RowId("NAT", "external_ip"),),
        "Chassis_Template_Var": (RowId("Chassis_Template_Var", "chassis"),),
        "Connection": (RowId("Connection", "target"),),
    },
    "ovs-vsctl": {
        "Bridge": (RowId("Bridge", "name"),),
        "Controller": (RowId("Bridge", "name", None, "controller"),),
        "Interface": (RowId("Interface", "name"),),
        "Mirror": (RowId("Mirror", "name"),),
        "Manager": (RowId("Manager", "target"),),
        "NetFlow": (RowId("Bridge", "name", None, "netflow"),),
        "Port": (RowId("Port", "name"),),
        "QoS": (RowId("Port", "name", None, "qos"),),
        "sFlow": (RowId("Bridge", "name", None, "sflow"),),
        "Flow_Table": (RowId("Flow_Table", "name"),),
        "IPFIX": (RowId("Bridge", "name", None, "ipfix"),),
        "AutoAttach": (RowId("Bridge", "name", None, "auto_attach"),),
        "Flow_Sample_Collector_Set": (RowId("Flow_Sample_Collector_Set", "id"),),
    },
}

# Columns a user may not change once the row exists ("mutable": false in the schema). The
# model's ColumnType may carry `mutable`; these are the ones in vswitch.ovsschema 8.3.1.
_IMMUTABLE_FALLBACK = {("Bridge", "name"), ("Port", "name"), ("Interface", "name")}


def _norm(c: str) -> str:
    return c.replace("-", "_").lower()


def _score(name: str, s: str) -> int:
    """score_partial_match(): exact > full case/-_ insensitive > prefix length."""
    if name == s:
        return 1 << 32
    n, q = _norm(name), _norm(s)
    if n == q:
        return (1 << 32) - 1
    return len(q) if n.startswith(q) and q else 0


def _best(names: list[str], s: str) -> list[str]:
    best, out = 0, list[str]()
    for n in names:
        sc = _score(n, s)
        if sc and sc >= best:
            if sc > best:
                out = []
            out.append(n)
            best = sc
    return out


def get_table(txn: Txn, name: str) -> TableSchema:
    matches = _best(list(txn.schema.tables), name)
    if not matches:
        raise CtlError(f'unknown table "{name}"')
    if len(matches) > 1:
        raise CtlError(f'"{name}" matches multiple table names: {", ".join(sorted(matches))}')
    return txn.schema.tables[matches[0]]


def get_column(table: TableSchema, name: str) -> str:
    matches = _best(list(table.columns), name)
    if not matches:
        raise CtlError(f'{table.name} does not contain a column whose name matches "{name}"')
    if len(matches) > 1:
        raise CtlError(
            f'{table.name} contains more than one column whose name matches "{name}": '
            f"{', '.join(sorted(matches))}"
        )
    return matches[0]


def get_row(txn: Txn, tool: str, table: str, record: str, must_exist: bool) -> Row | None:
    """ctl_get_row()."""
    row: Row | None = None
    if is_uuid(record):
        row = txn.row(table, record.lower())
    if row is None and record == ".":
        rows = list(txn.rows(table))
        row = rows[0] if len(rows) == 1 else None
    if row is None:
        for rid in ROW_IDS.get(tool, {}).get(table, ()):
            row = _row_by_id(txn, table, rid, record)
            if row is not None:
                break
    if row is None and _partial_uuid(record):
        found = [r for r in txn.rows(table) if r.uuid.startswith(record)]
        if len(found) > 1:
            a, b = sorted(found, key=lambda r: r.uuid)[:2]
            raise CtlError(
                f"{table} contains 2 or more rows whose UUIDs begin with {record}: "
                f"at least {a.uuid} and {b.uuid}"
            )
        row = found[0] if found else None
    if row is None and must_exist:
        raise CtlError(f'no row "{record}" in table {table}', (table, record))
    return row


def _partial_uuid(s: str) -> bool:
    """uuid_is_partial_string(s) >= 4."""
    tmpl = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"
    if len(s) < 4 or len(s) > len(tmpl):
        return False
    for c, t in zip(s, tmpl, strict=False):
        if t == "-" and c != "-":
            return False
        if t == "x" and c not in "0123456789abcdefABCDEF":
            return False
    return True


def _row_by_id(txn: Txn, table: str, rid: RowId, record: str) -> Row | None:
    ctype = txn.column(rid.table, rid.column)
    name_type = ctype.value if rid.key else ctype.key
    if name_type == "integer" and not record.isdigit():
        return None
    referrer: Row | None = None
    for r in txn.rows(rid.table):
        v = r.get(rid.column)
        name: Atom | None
        if rid.key:
            name = v.get(rid.key) if isinstance(v, dict) else None
        elif isinstance(v, tuple):
            name = v[0] if len(v) == 1 else None
        else:
            name = v
        if name is None:
            continue
        if _record_id_equals(name, record):
            if referrer is not None:
                raise CtlError(f'multiple rows in {rid.table} match "{record}"')
            referrer = r
    if referrer is None or rid.uuid_column is None:
        return referrer
    ref = referrer.get(rid.uuid_column)
    target = ref[0] if isinstance(ref, tuple) and len(ref) == 1 else None
    return txn.row(table, target) if target else None


def _record_id_equals(name: Atom, record: str) -> bool:
    if isinstance(name, bool) or not isinstance(name, (str, int)):
        return False
    if isinstance(name, int):
        return name == int(record)
    if name == record:
        return True
    return len(record) >= 4 and is_uuid(name) and name.startswith(record)


def _mutable(txn: Txn, row: Row, column: str) -> None:
    ctype = txn.column(row.table, column)
    mutable = getattr(ctype, "mutable", (row.table, column) not in _IMMUTABLE_FALLBACK)
    if not mutable and not txn.is_new(row.uuid):
        raise CtlError(f"cannot modify read-only column {column} in table {row.table}")


def parse_column_key_value(
    table: TableSchema, arg: str, operators: tuple[str, ...] | None = ("=",)
) -> tuple[str, str | None, str | None]:
    """parse_column_key_value(): COLUMN[:KEY][=VALUE] -> (column, key, value)."""
    try:
        col_name, pos = token_parse(arg, 0)
    except DatumError as e:
        raise CtlError(str(e)) from None
    if col_name == "":
        raise CtlError(f"{arg}: missing column name")
    column = get_column(table, col_name)
    key = None
    if pos < len(arg) and arg[pos] == ":":
        try:
            key, pos = token_parse(arg, pos + 1)
        except DatumError as e:
            raise CtlError(str(e)) from None
    if operators is None:
        if pos < len(arg):
            raise CtlError(f'{arg}: trailing garbage "{arg[pos:]}" in argument')
        return column, key, None
    rest = arg[pos:]
    best = max((op for op in operators if rest.startswith(op) and len(rest) > len(op)),
               key=len, default=None)
    if best is None:
        allowed = ", ".join(f'"{op}"' for op in operators)
        raise CtlError(f"{arg}: argument does not end in {allowed} followed by a value.")
    return column, key, rest[len(best) :]


def pre_column(table: TableSchema, arg: str) -> None:
    """pre_parse_column_key_value(): only the column name is checked before running."""
    try:
        name, _ = token_parse(arg, 0)
    except DatumError as e:
        raise CtlError(str(e)) from None
    if name == "":
        raise CtlError(f"{arg}: missing column name")
    get_column(table, name)


def set_column(txn: Txn, row: Row, arg: str, partial: bool) -> None:
    """set_column(): COLUMN=VALUE replaces, COLUMN:KEY=VALUE sets one map key."""
    table = txn.schema.tables[row.table]
    column, key, value = parse_column_key_value(table, arg)
    assert value is not None
    _mutable(txn, row, column)
    ctype = table.columns[column]
    try:
        if key is not None:
            if not ctype.is_map:
                raise CtlError(f"cannot specify key to set for non-map column {column}")
            assert ctype.value is not None
            k = atom_from_string(ctype.key, key, txn.symbol, Constraints(ctype, "key"))
            v = atom_from_string(ctype.value, value, txn.symbol, Constraints(ctype, "value"))
            current = txn.row(row.table, row.uuid)
            new = dict(current.map(column) if current else {})
            new[k] = v
            txn.update(row.table, row.uuid, {column: new})
        else:
            pairs = datum_from_string(ctype, value, txn.symbol)
            txn.update(row.table, row.uuid, {column: to_value(ctype, pairs)})
    except DatumError as e:
        raise CtlError(str(e)) from None


def _must_exist(cmd: Command) -> bool:
    return not cmd.option("--if-exists")


# -- commands -----------------------------------------------------------------------------


def pre_generic(txn: Txn, cmd: Command) -> None:
    """The pre_cmd_* hooks: table and column names are checked before anything runs."""
    v, a = cmd.verb, cmd.args
    if v in ("set", "wait-until"):
        table = get_table(txn, a[0])
        for arg in a[2:]:
            pre_column(table, arg)
    elif v in ("add", "remove"):
        get_column(get_table(txn, a[0]), a[2])
    elif v == "clear":
        table = get_table(txn, a[0])
        for arg in a[2:]:
            get_column(table, arg)
    elif v in ("create", "destroy", "list", "find"):
        table = get_table(txn, a[0])
        cols = cmd.option_value("--columns")
        if cols:
            for c in cols.split(","):
                get_column(table, c.strip())
        if v == "find":
            for arg in a[1:]:
                pre_column(table, arg)
    elif v == "get":
        table = get_table(txn, a[0])
        for arg in a[2:]:
            pre_column(table, arg)


def run_generic(txn: Txn, tool: str, cmd: Command) -> None:
    v, a = cmd.verb, cmd.args
    if v == "comment":
        return
    table = get_table(txn, a[0])
    if v == "set":
        row = get_row(txn, tool, table.name, a[1], _must_exist(cmd))
        if row is not None:
            for arg in a[2:]:
                set_column(txn, row, arg, txn.last_command)
    elif v == "add":
        _cmd_add(txn, tool, cmd, table)
    elif v == "remove":
        _cmd_remove(txn, tool, cmd, table)
    elif v == "clear":
        row = get_row(txn, tool, table.name, a[1], _must_exist(cmd))
        if row is None:
            return
        for arg in a[2:]:
            column = get_column(table, arg)
            _mutable(txn, row, column)
            ctype = table.columns[column]
            if ctype.min > 0:
                raise CtlError(
                    f'"clear" operation cannot be applied to column {column} of table '
                    f"{table.name}, which is not allowed to be empty"
                )
            txn.update(table.name, row.uuid, {column: ctype.default()})
    elif v == "create":
        _cmd_create(txn, cmd, table)
    elif v == "destroy":
        _cmd_destroy(txn, tool, cmd, table)
    elif v == "get":
        row = get_row(txn, tool, table.name, a[1], _must_exist(cmd))
        if row is None:
            return
        for arg in a[2:]:
            column, key, _ = parse_column_key_value(table, arg, None)
            if key is not None:
                ctype = table.columns[column]
                if not ctype.is_map:
                    raise CtlError(f"cannot specify key to get for non-map column {column}")
                try:
                    k = atom_from_string(ctype.key, key)
                except DatumError as e:
                    raise CtlError(str(e)) from None
                if k not in row.map(column) and not cmd.option("--if-exists"):
                    raise CtlError(
                        f'no key "{key}" in {table.name} record "{a[1]}" column {column}'
                    )
    elif v == "list":
        for rec in a[1:]:
            get_row(txn, tool, table.name, rec, _must_exist(cmd))
    elif v == "find":
        return
    else:  # pragma: no cover - dispatch guarantees the verb
        raise AssertionError(v)


def _mutation_target(
    txn: Txn, tool: str, cmd: Command, table: TableSchema
) -> tuple[Row, str, ColumnType, Value] | None:
    """`add`/`remove TABLE RECORD COLUMN ...`: the row, column, its type and current value
    (None: no such row and --if-exists), checked in the real tool's order."""
    a = cmd.args
    column = get_column(table, a[2])
    row = get_row(txn, tool, table.name, a[1], _must_exist(cmd))
    if row is None:
        return None
    _mutable(txn, row, column)
    ctype = table.columns[column]
    cur = txn.row(table.name, row.uuid)
    assert cur is not None
    return cur, column, ctype, cur.get(column, ctype.default())


def _cmd_add(txn: Txn, tool: str, cmd: Command, table: TableSchema) -> None:
    a = cmd.args
    target = _mutation_target(txn, tool, cmd, table)
    if target is None:
        return
    row, column, ctype, old = target
    added: list[tuple[Atom, Atom | None]] = []
    try:
        for arg in a[3:]:
            added.extend(datum_from_string(ctype, arg, txn.symbol, 1, float("inf")))
    except DatumError as e:
        raise CtlError(str(e)) from None
    new: Value
    if ctype.is_map:
        new = dict(old)
        for k, val in added:
            # The last command writes each pair as a partial update, which replaces an
            # existing key; otherwise ovsdb_datum_union() keeps the existing value.
            if txn.last_command or k not in new:
                new[k] = val
        n = len(new)
    else:
        atoms = set(old if isinstance(old, tuple) else (old,)) | {k for k, _ in added}
        n = len(atoms)
        new = normalize_set(atoms)
    if n > ctype.max:
        what = "pairs" if ctype.is_map else "values"
        if txn.last_command:
            english = type_to_english(ctype.key, ctype.value, ctype.min, ctype.max, ctype.is_map)
            raise _txn_error(
                "constraint violation", f"Attempted to store {n} elements in {english}."
            )
        raise CtlError(
            f'"add" operation would put {n} {what} in column {column} of table {table.name} '
            f"but the maximum number is {int(ctype.max)}"
        )
    _store(txn, table, row, column, ctype, new)


def _cmd_remove(txn: Txn, tool: str, cmd: Command, table: TableSchema) -> None:
    a = cmd.args
    target = _mutation_target(txn, tool, cmd, table)
    if target is None:
        return
    row, column, ctype, old = target
    if ctype.is_map:
        new_map = dict(old)
        for arg in a[3:]:
            try:
                pairs = datum_from_string(ctype, arg, txn.symbol, 1, float("inf"))
                for k, val in pairs:
                    if k in new_map and new_map[k] == val:
                        del new_map[k]
            except DatumError:
                try:
                    keys = datum_from_string(
                        ctype, arg, txn.symbol, 1, float("inf"), void_value=True
                    )
                except DatumError as e:
                    raise CtlError(str(e)) from None
                for k, _ in keys:
                    new_map.pop(k, None)
        n = len(new_map)
        new: Value = new_map
    else:
        atoms = set(old if isinstance(old, tuple) else (old,))
        for arg in a[3:]:
            try:
                pairs = datum_from_string(ctype, arg, txn.symbol, 1, float("inf"))
            except DatumError as e:
                raise CtlError(str(e)) from None
            atoms -= {k for k, _ in pairs}
        n = len(atoms)
        new = normalize_set(atoms)
    if n < ctype.min:
        what = "pairs" if ctype.is_map else "values"
        raise CtlError(
            f'"remove" operation would put {n} {what} in column {column} of table '
            f"{table.name} but the minimum number is {ctype.min}"
        )
    _store(txn, table, row, column, ctype, new)


def _cmd_create(txn: Txn, cmd: Command, table: TableSchema) -> None:
    ident = cmd.option_value("--id")
    uuid: Uuid | None = None
    if ident:
        if is_uuid(ident):
            uuid = Uuid(ident.lower())
        else:
            if not ident.startswith("@"):
                raise CtlError(f'row id "{ident}" does not begin with "@"')
            if ident in txn.created_symbols:
                raise CtlError(f'row id "{ident}" may only be specified on one --id option')
            txn.created_symbols.add(ident)
            uuid = txn.symbol(ident)
    u = txn.insert(table.name, {}, uuid)
    row = txn.row(table.name, u)
    assert row is not None
    for arg in cmd.args[1:]:
        set_column(txn, row, arg, False)
        row = txn.row(table.name, u)
        assert row is not None


def _cmd_destroy(txn: Txn, tool: str, cmd: Command, table: TableSchema) -> None:
    delete_all = cmd.option("--all")
    records = cmd.args[1:]
    if delete_all and records:
        raise CtlError("--all and records argument should not be specified together")
    if delete_all and not _must_exist(cmd):
        raise CtlError("--all and --if-exists should not be specified together")
    if not delete_all and not records:
        return  # the real tool only logs a warning
    if delete_all:
        for r in list(txn.rows(table.name)):
            txn.delete(table.name, r.uuid)
        return
    for rec in records:
        row = get_row(txn, tool, table.name, rec, _must_exist(cmd))
        if row is not None:
            txn.delete(table.name, row.uuid)


def _store(txn: Txn, table: TableSchema, row: Row, column: str, ctype: ColumnType,
           new: Value) -> None:
    """Write `add`/`remove`'s resulting set: a scalar column (min 0/1, max 1) holds the atom."""
    if ctype.is_scalar:
        assert isinstance(new, tuple)
        new = new[0]
    txn.update(table.name, row.uuid, {column: new})
