"""The OVN version seam: which release's behaviour ovnguard predicts with, which releases the
cluster runs, which tools applied the change, and when they differ by a release that matters.

One place says which OVN/OVS semantics the simulation implements (`SEMANTICS`); everything
that prints or compares a version reads it from here. An other OVN release is supported by
(1) pointing `--ovn-bindir` at that release's ovn-nbctl / ovs-vsctl (the executor then runs
its verbs, with its error texts), and (2) where its ovn-northd / ovn-controller behave
differently, teaching simulation/ the difference and the release it starts with.

What the cluster runs is read from the snapshot, never assumed:
- NB / SB schema versions (the first record of nb.db / sb.db);
- ovn-northd: `options:northd_internal_version` of NB_Global / SB_Global
  ("23.03.1-20.27.0-70.6": OVN version, SB schema, internal flow version);
- ovn-controller: where a Chassis row carries a version key (OVN 23.03 does not publish one;
  its `other_config` holds feature flags only), else unknown;
- OVS: `ovs_version` of each host's Open_vSwitch row.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import field

from ovnguard.model.db import Database
from ovnguard.model.snapshot import Snapshot
from ovnguard.record import record


@record
class OvnSemantics:
    """The releases whose ovn-northd / ovn-controller / OVS behaviour simulation/ implements
    (read from their sources and measured on them)."""

    ovn: str = "23.03"
    ovs: str = "3.1"
    nb_schema: str = "7.0.0"
    sb_schema: str = "20.27.0"


SEMANTICS = OvnSemantics()

_SERIES = re.compile(r"^(\d+)\.(\d+)")
_VERSION_KEYS = ("ovn-controller-version", "ovn_version", "version")


def series(version: str | None) -> str | None:
    """"23.03.1" -> "23.03"; None when it does not look like a version."""
    m = _SERIES.match(version or "")
    return f"{m.group(1)}.{m.group(2)}" if m else None


@record
class ClusterVersions:
    nb_schema: str | None = None
    sb_schema: str | None = None
    northd: str | None = None  # OVN version of ovn-northd, from northd_internal_version
    ovn_controller: Mapping[str, str] = field(default_factory=dict)  # host -> version
    ovs: Mapping[str, str] = field(default_factory=dict)  # host -> ovs_version


def cluster_versions(snapshot: Snapshot) -> ClusterVersions:
    nb, sb = snapshot.nb, snapshot.sb
    northd: str | None = None
    for db, table in ((sb, "SB_Global"), (nb, "NB_Global")):
        if db is None or northd:
            continue
        for r in db.rows(table):
            v = str(r.map("options").get("northd_internal_version", ""))
            northd = v.split("-", 1)[0] or None
    # each database's part once per database (Database.memo): a what-if's state after
    # shares the SB and every conf.db the change did not touch with the state before
    controllers = sb.memo("versions.ovn-controller", _controllers) if sb is not None else {}
    ovs: dict[str, str] = {}
    for name, h in sorted(snapshot.hosts.items()):
        if h.ovs is not None:
            ver = h.ovs.memo("versions.ovs", _ovs_version)
            if ver:
                ovs[name] = ver
    return ClusterVersions(
        nb_schema=(nb.schema.version or None) if nb is not None else None,
        sb_schema=(sb.schema.version or None) if sb is not None else None,
        northd=northd,
        ovn_controller=dict(controllers),  # (a copy: the memo is every what-if's)
        ovs=ovs,
    )


def _controllers(sb: Database) -> dict[str, str]:
    """host -> the ovn-controller version its Chassis row reports, sorted by host."""
    out: dict[str, str] = {}
    for r in sb.rows("Chassis"):
        for col in ("other_config", "external_ids"):
            cv = next((str(r.map(col)[k]) for k in _VERSION_KEYS if k in r.map(col)), None)
            if cv:
                out[str(r.get("hostname") or r.get("name") or "")] = cv
                break
    return dict(sorted(out.items()))


def _ovs_version(conf: Database) -> str | None:
    """The ovs_version of a host's Open_vSwitch row (the last one's, as read)."""
    found = None
    for r in conf.rows("Open_vSwitch"):
        ver = r.opt("ovs_version")
        if ver:
            found = str(ver)
    return found


def version_notes(cluster: ClusterVersions, tools: Mapping[str, str],
                  semantics: OvnSemantics = SEMANTICS) -> list[str]:
    """Sentences for the report when versions differ by a release that matters."""
    notes: list[str] = []
    ovn = series(cluster.northd)
    if ovn and ovn != semantics.ovn:
        notes.append(
            f"the cluster runs OVN {cluster.northd} (ovn-northd's northd_internal_version), but "
            f"what ovn-northd and ovn-controller realize is predicted with OVN {semantics.ovn} "
            "semantics: behaviour that changed between these releases may be predicted wrong")
    elif ovn is None and cluster.nb_schema and cluster.nb_schema != semantics.nb_schema:
        notes.append(
            f"the Northbound schema is {cluster.nb_schema} (OVN {semantics.ovn} has "
            f"{semantics.nb_schema}): the cluster runs another OVN release than the one whose "
            f"semantics ovnguard predicts with ({semantics.ovn})")
    tool_ovn = series(tools.get("ovn-nbctl"))
    if ovn and tool_ovn and tool_ovn != ovn:
        notes.append(
            f"the change was applied with ovn-nbctl {tools['ovn-nbctl']} while the cluster runs "
            f"OVN {cluster.northd}: verbs and error texts can differ between releases; point "
            "--ovn-bindir at the cluster's own tools (e.g. copied out of its container)")
    odd = sorted({v for v in cluster.ovn_controller.values()
                  if series(v) and series(v) != (ovn or semantics.ovn)})
    if odd:
        notes.append(f"some chassis run ovn-controller {', '.join(odd)}, not "
                     f"{ovn or semantics.ovn}: their realization is predicted with OVN "
                     f"{semantics.ovn} semantics")
    ovs_series = sorted({s for v in cluster.ovs.values() if (s := series(v))})
    if len(ovs_series) > 1:
        notes.append(f"hosts run different OVS releases ({', '.join(ovs_series)})")
    return notes
