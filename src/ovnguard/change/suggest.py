""""Did you mean ...": the names an operator most likely meant when a record is not found.

A name copied from documentation often still holds its placeholder (`neutron-<provider-network-
UUID>`): the literal parts around the placeholder select the candidates (every `neutron-*`
switch), and switches that are provider networks (they carry a localnet port) come first,
because that is what such a snippet is about. Otherwise candidates are the names closest in
edit distance, including Neutron's own names (`external_ids:neutron:network_name`).
"""

from __future__ import annotations

import re

from ovnguard.model.db import Database, Row
from ovnguard.textdist import levenshtein

_PLACEHOLDER = re.compile(r"<[^<>]*>|\{[A-Za-z_][^{}]*\}|\bX{3,}\b|\.\.\.")
_NEUTRON_ALIAS = {
    "Logical_Switch": "neutron:network_name",
    "Logical_Switch_Port": "neutron:port_name",
    "Logical_Router": "neutron:router_name",
}
MAX_SUGGESTIONS = 5




def has_placeholder(name: str) -> bool:
    return bool(_PLACEHOLDER.search(name))


def _names(db: Database, table: str) -> list[tuple[str, Row]]:
    out = []
    for r in db.rows(table):
        n = r.get("name")
        if isinstance(n, str) and n:
            out.append((n, r))
    return out


def _is_provider(db: Database, row: Row) -> bool:
    if row.table != "Logical_Switch":
        return False
    if "neutron:provnet-physical-network" in row.map("external_ids"):
        return True
    for u in row.set("ports"):
        p = db.row("Logical_Switch_Port", str(u))
        if p is not None and p.get("type") == "localnet":
            return True
    return False


def suggest(db: Database | None, table: str, name: str) -> tuple[str, ...]:
    if db is None or table not in db.schema.tables:
        return ()
    cands = _names(db, table)
    if not cands:
        return ()
    if has_placeholder(name):
        parts = [re.escape(p) for p in _PLACEHOLDER.split(name)]
        pattern = re.compile("^" + ".+".join(parts) + "$")
        hits = [(n, r) for n, r in cands if pattern.match(n)]
        hits.sort(key=lambda nr: (not _is_provider(db, nr[1]), nr[0]))
        return tuple(n for n, _ in hits[:MAX_SUGGESTIONS])
    alias = _NEUTRON_ALIAS.get(table)
    scored: list[tuple[int, str]] = []
    limit = max(2, len(name) // 3)
    for n, r in cands:
        d = levenshtein(name, n)
        if alias:
            a = r.map("external_ids").get(alias)
            if isinstance(a, str) and a:
                d = min(d, levenshtein(name, a))
        if d <= limit:
            scored.append((d, n))
    scored.sort()
    return tuple(n for _, n in scored[:MAX_SUGGESTIONS])


def suggest_host(hosts: list[str], name: str) -> tuple[str, ...]:
    scored = sorted((levenshtein(name, h), h) for h in hosts)
    limit = max(2, len(name) // 3)
    return tuple(h for d, h in scored if d <= limit)[:MAX_SUGGESTIONS]
