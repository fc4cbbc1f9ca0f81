"""One `ip` line of a change file against the host model of its `# host:` section (pure):
the executor's step for host lines, shared by every executor (change/apply.py calls it)."""

from __future__ import annotations

from ovnguard.change.hostapply import EADDRNOTAVAIL, ESRCH, apply_edit, sync_ovs_links
from ovnguard.change.model import Invocation, InvocationStatus
from ovnguard.change.suggest import suggest_host
from ovnguard.i18n import _
from ovnguard.model.snapshot import Snapshot
from ovnguard.record import record


@record(slots=True)
class HostProblem:
    kind: str  # a change.model.ProblemKind
    message: str
    suggestions: tuple[str, ...] = ()
    note: str = ""


@record(slots=True)
class IpRun:
    snapshot: Snapshot  # after the line (the same object when nothing changed)
    status: InvocationStatus
    problems: tuple[HostProblem, ...] = ()
    notes: tuple[str, ...] = ()


def run_ip(snapshot: Snapshot, inv: Invocation) -> IpRun:
    cmd = inv.ip
    line = inv.location.line
    if cmd is None:
        return IpRun(snapshot, "unsupported", (HostProblem(
            "unsupported-command", _("this line was not read as an `ip` command")),))
    if cmd.error is not None:
        # iproute2 refuses it before the kernel sees anything, on any host
        return IpRun(snapshot, "failed", (HostProblem("rejected", cmd.error),))
    if cmd.unknown is not None:
        return IpRun(snapshot, "unsupported", (HostProblem(
            "unsupported-command", _(
                "{why}: what this line does to the host is unknown").format(why=cmd.unknown)),))
    if cmd.read_only:
        return IpRun(snapshot, "unchanged")
    if inv.host is None:
        return IpRun(snapshot, "unsupported", (HostProblem(
            "unknown-host",
            _("an `ip` line acts on one host: say which with a '# host: NAME' line above it "
              "or --host NAME"), tuple(sorted(snapshot.hosts))[:5]),))
    state = snapshot.hosts.get(inv.host)
    if state is None:
        return IpRun(snapshot, "unsupported", (HostProblem(
            "unknown-host", _("host {host} is not in the bundle").format(host=inv.host),
            suggest_host(sorted(snapshot.hosts), inv.host)),))
    notes: list[str] = []
    state = sync_ovs_links(state)
    for edit in cmd.edits:
        out = apply_edit(state, edit)
        if cmd.desired and out.error in (EADDRNOTAVAIL, ESRCH):
            continue  # a desired state: already gone
        notes += [_("line {line} on {host}: {note}").format(line=line, host=inv.host, note=n)
                  for n in out.notes]
        if out.error is not None:
            return IpRun(snapshot, "failed", (HostProblem(
                "rejected", out.error, (), "; ".join(out.notes)),), ())
        if out.unknown is not None:
            return IpRun(snapshot, "unsupported", (HostProblem(
                "unsupported-command", out.unknown),), tuple(notes))
        state = out.state
    if state == snapshot.hosts[inv.host]:
        return IpRun(snapshot, "unchanged", (), tuple(notes))
    return IpRun(snapshot.with_host(state), "applied", (), tuple(notes))


__all__ = ["HostProblem", "IpRun", "run_ip"]
