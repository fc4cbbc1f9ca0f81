"""The host's Open_vSwitch database, as a sentinel reads and writes it (through the stock
`ovsdb-client`, over the local socket)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from ovnguard.guard import ovsdb
from ovnguard.guard.sentinel.decide import PortInfo
from ovnguard.model.ovs import OWNER_KEYS, json_smap, json_uuid, json_uuids


def read_ports(db: str, names: Collection[str] | None = None,
               timeout: float = 5.0) -> dict[str, PortInfo]:
    """Ports (all, or those named) and the bridge holding each, in one read-only
    transaction. Raises ovsdb.Unreachable / OvnguardError."""
    ops = [
        {"op": "select", "table": "Bridge", "where": [], "columns": ["_uuid", "name", "ports"]},
        {"op": "select", "table": "Port", "where": [],
         "columns": ["_uuid", "name", "interfaces", "external_ids"]},
        {"op": "select", "table": "Interface", "where": [], "columns": ["_uuid", "type"]},
    ]
    bridges, ports, ifaces = ovsdb.query(db, "Open_vSwitch", ops, timeout)
    holder: dict[str, tuple[str, str]] = {}
    for b in bridges["rows"]:
        for u in json_uuids(b["ports"]):
            holder[u] = (b["name"], json_uuid(b["_uuid"]))
    itype = {json_uuid(r["_uuid"]): r["type"] for r in ifaces["rows"]}
    out: dict[str, PortInfo] = {}
    for r in ports["rows"]:
        name = r["name"]
        if names is not None and name not in names:
            continue
        u = json_uuid(r["_uuid"])
        ext = json_smap(r["external_ids"])
        owner = next((f"{k}={ext[k]}" for k in OWNER_KEYS if k in ext), None)
        ifs = json_uuids(r["interfaces"])
        patch = bool(ifs) and all(itype.get(i) == "patch" for i in ifs)
        b = holder.get(u)
        out[name] = PortInfo(name, u, b[0] if b else None, b[1] if b else None, owner, patch)
    return out


def delete_ports(db: str, ports: Sequence[PortInfo], note: str) -> list[str]:
    """`ovs-vsctl del-port` of each, as ONE transaction (by uuid: a port re-created since
    it was read is a different row and stays). Returns the names actually removed."""
    ops: list[dict[str, Any]] = [
        {"op": "mutate", "table": "Bridge", "where": [["_uuid", "==", ["uuid", p.bridge_uuid]]],
         "mutations": [["ports", "delete", ["set", [["uuid", p.uuid]]]]]}
        for p in ports if p.bridge_uuid is not None
    ]
    if not ops:
        return []
    results = ovsdb.transact(db, "Open_vSwitch", [*ops, {"op": "comment", "comment": note}],
                             timeout=10)
    return [p.name for p, r in zip(ports, results, strict=False)
            if isinstance(r, dict) and r.get("count", 0) > 0]


def host_ovn_remote(db: str) -> str | None:
    """This chassis' `external_ids:ovn-remote` (what ovn-controller connects to)."""
    res = ovsdb.query(db, "Open_vSwitch", [
        {"op": "select", "table": "Open_vSwitch", "where": [], "columns": ["external_ids"]}],
        5.0)
    rows = res[0]["rows"]
    if not rows:
        return None
    ext = json_smap(rows[0]["external_ids"])
    sid = ext.get("system-id")
    return ext.get(f"ovn-remote-{sid}") or ext.get("ovn-remote") or None
