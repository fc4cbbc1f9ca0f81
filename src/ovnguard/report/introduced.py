"""`check --introduced`: the report cut down to what the change introduces -- its findings
(and existing hazards it extends to more hosts), the hosts they reach and the hosts whose
ports change -- for a reviewer who knows the cloud's standing problems and wants only the
change's own. The verdict and the summary are the change's already (pre-existing findings
never count in them); a note says how many findings were left out. Every renderer takes the
result as it takes a whole report. Pure."""

from __future__ import annotations

from ovnguard.i18n import ngettext
from ovnguard.report.schema import HostRealizationOut, Report


def _changes_ports(r: HostRealizationOut) -> bool:
    return bool(r.added or r.removed or r.stale_until_recompute)


def introduced_only(report: Report) -> Report:
    keep = [f for f in report.findings if f.status == "introduced" or f.hosts_added]
    left = len(report.findings) - len(keep)
    hosts = ({h for f in keep for h in (*f.hosts, *f.loses_management)}
             | {h for h, r in report.realization.items() if _changes_ports(r)}
             | set(report.blast_radius))
    notes = list(report.notes)
    if left:
        notes.append(ngettext(
            "--introduced: {count} finding the change does not introduce is left out "
            "(pre-existing or resolved; without --introduced the report lists it)",
            "--introduced: {count} findings the change does not introduce are left out "
            "(pre-existing or resolved; without --introduced the report lists them)",
            left).format(count=left))
    return report.model_copy(update={
        "findings": keep,
        "realization": {h: r for h, r in report.realization.items() if h in hosts},
        "topology": {h: t for h, t in report.topology.items() if h in hosts},
        "notes": notes,
    })
