"""Two OVSDB databases compared by content: what an operator configured, not row UUIDs nor
what the daemons write back.

A rollback re-creates rows (a deleted port, a deleted bridge) with new UUIDs, and
ovs-vswitchd / ovn-northd fill in runtime columns (ofport, nb_cfg, ...) that no command line
sets. "Restored" means every row has the same configuration again, references compared by
what they point to (the row's name, or its content when it has none).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping

from ovnguard.model.db import Database, Row, Uuid
from ovnguard.model.ovs import OWNER_KEYS

# Columns written by the daemons or bumped by the tools themselves (ovs-vsctl increments
# next_cfg, --wait increments nb_cfg), never by an operator's configuration.
RUNTIME_COLUMNS: Mapping[str, frozenset[str]] = {
    "Open_vSwitch": frozenset({
        "next_cfg", "cur_cfg", "statistics", "ovs_version", "db_version", "system_type",
        "system_version", "datapath_types", "iface_types", "dpdk_initialized",
        "dpdk_version"}),
    "Bridge": frozenset({"datapath_id", "datapath_version", "status", "rstp_status"}),
    "Port": frozenset({"status", "statistics", "bond_active_slave", "rstp_status",
                       "rstp_statistics"}),
    "Interface": frozenset({
        "ofport", "mac_in_use", "ifindex", "status", "statistics", "link_state",
        "link_speed", "link_resets", "duplex", "admin_state", "mtu", "lacp_current",
        "bfd_status", "cfm_fault", "cfm_fault_status", "cfm_remote_mpids", "cfm_flap_count",
        "cfm_health", "cfm_remote_opstate", "error"}),
    "Controller": frozenset({"is_connected", "role", "status"}),
    "Manager": frozenset({"is_connected", "status"}),
    "NB_Global": frozenset({"nb_cfg", "nb_cfg_timestamp", "sb_cfg", "sb_cfg_timestamp",
                            "hv_cfg", "hv_cfg_timestamp"}),
    "Logical_Switch_Port": frozenset({"up", "dynamic_addresses"}),
    "Logical_Router_Port": frozenset({"status"}),
}

# Map keys the daemons write into configuration columns: ovn-controller's conntrack zones
# and progress marks on br-int, its per-VIF installed flag.
RUNTIME_KEYS: Mapping[tuple[str, str], tuple[str, ...]] = {
    ("Bridge", "external_ids"): ("ct-zone-", "ovn-nb-cfg", "ovn-startup-ts"),
    ("Interface", "external_ids"): ("ovn-installed",),
}

Canon = tuple[tuple[str, object], ...]


class _Canon:
    def __init__(self, db: Database, skip: Mapping[str, frozenset[str]],
                 ignored: frozenset[Uuid] = frozenset()) -> None:
        self.db = db
        self.skip = skip
        self.ignored = ignored
        self.ref_table: dict[Uuid, str] = {
            u: t for t, rows in db.tables.items() for u in rows
        }

    def ref(self, u: Uuid, depth: int) -> object:
        table = self.ref_table.get(u)
        if table is None:
            return ("dangling",)
        row = self.db.row(table, u)
        assert row is not None
        if row.name:
            return (table, row.name)
        if depth > 4:  # reference cycles through unnamed rows; deep enough to tell apart
            return (table, "...")
        return (table, self.row(row, depth + 1))

    def value(self, v: object, depth: int) -> object:
        if isinstance(v, Uuid):
            return self.ref(v, depth)
        if isinstance(v, dict):
            return tuple(sorted(((repr(self.value(k, depth)), repr(self.value(x, depth)))
                                 for k, x in v.items())))
        if isinstance(v, tuple):
            return tuple(sorted(repr(self.value(a, depth)) for a in v
                                if not (isinstance(a, Uuid) and a in self.ignored)))
        return v

    def row(self, row: Row, depth: int = 0) -> Canon:
        skip = self.skip.get(row.table, frozenset())
        ts = self.db.schema.tables.get(row.table)
        out: list[tuple[str, object]] = []
        for col, v in sorted(row.data.items()):
            if col in skip:
                continue
            drop = RUNTIME_KEYS.get((row.table, col))
            if drop and isinstance(v, dict):
                v = {k: x for k, x in v.items() if not str(k).startswith(drop)}
            if ts is not None and col in ts.columns and v == ts.columns[col].default():
                continue
            cv = self.value(v, depth)
            if cv == ():
                continue  # a set that only held ignored rows
            out.append((col, cv))
        return tuple(out)


def _name(row: Canon) -> object:
    return dict(row).get("name")


def _label(table: str, row: Canon) -> str:
    d: dict[str, object] = dict(row)
    name = d.get("name")
    text = ", ".join(f"{c}={v}" for c, v in row if c != "name")
    return f"{table} {name}" + (f" ({text[:160]})" if name is None else "")


IgnoreRow = Callable[[Database, Row], bool]


def _ignored(db: Database, ignore_row: IgnoreRow | None) -> frozenset[Uuid]:
    if ignore_row is None:
        return frozenset()
    return frozenset(r.uuid for rows in db.tables.values() for r in rows.values()
                     if ignore_row(db, r))


def db_differences(before: Database, after: Database,
                   skip: Mapping[str, frozenset[str]] = RUNTIME_COLUMNS,
                   ignore_row: IgnoreRow | None = None) -> list[str]:
    """What `after` has that `before` has not, and the other way round, row by row.

    `ignore_row(db, row)` leaves rows out of the comparison on both sides, and references
    to them too."""
    out: list[str] = []
    ig_a, ig_b = _ignored(before, ignore_row), _ignored(after, ignore_row)
    ca, cb = _Canon(before, skip, ig_a), _Canon(after, skip, ig_b)
    for table in sorted(set(before.tables) | set(after.tables)):
        rows_a = [r for r in before.rows(table) if r.uuid not in ig_a]
        rows_b = [r for r in after.rows(table) if r.uuid not in ig_b]
        a = Counter(ca.row(r) for r in rows_a)
        b = Counter(cb.row(r) for r in rows_b)
        if a == b:
            continue
        gone, new = a - b, b - a
        by_name_a = {_name(r): r for r in gone}
        by_name_b = {_name(r): r for r in new}
        for name in sorted(set(by_name_a) & set(by_name_b) - {None}, key=str):
            ra: dict[str, object] = dict(by_name_a[name])
            rb: dict[str, object] = dict(by_name_b[name])
            cols = sorted(c for c in set(ra) | set(rb) if ra.get(c) != rb.get(c))
            what = ", ".join(f"{c} {ra.get(c)!r} -> {rb.get(c)!r}" for c in cols)
            out.append(f"{table} {name}: {what}")
            gone.pop(by_name_a[name])
            new.pop(by_name_b[name])
        out += [f"missing {_label(table, r)}" for r in gone]
        out += [f"extra {_label(table, r)}" for r in new]
    return out


def is_ovn_patch_row(db: Database, row: Row) -> bool:
    """A Port or Interface of ovn-controller's own patch ports (created and deleted by it,
    not by any operator command)."""
    if row.table == "Port":
        return any(k in row.map("external_ids") for k in OWNER_KEYS)
    if row.table == "Interface" and row.get("type") == "patch":
        for p in db.rows("Port"):
            if row.uuid in p.set("interfaces"):
                return any(k in p.map("external_ids") for k in OWNER_KEYS)
    return False
