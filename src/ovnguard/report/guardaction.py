"""What the guard's action verbs print: `apply` (applied and armed, or refused), `apply
--sentinel-print`, `confirm`, `rollback`, `guard sentinel`, `guard sentinel-status`.

Each verb builds one of the results below and hands it to `report.formats.emit`, so
`--format` means for them what it means for every verb; the verbs keep only their actions
and exit codes (cli/guard.py). Progress said while a verb works (what-if lines, warnings,
the rollback's steps) is not a result: the verb says it as it happens.

Everything here comes from guard and sentinel state files: shown, never run
(`visible_lines` on each line, report/safe.py).
"""

from __future__ import annotations

import json
from dataclasses import field
from typing import TYPE_CHECKING, Any, TextIO

import typer

from ovnguard.i18n import _
from ovnguard.record import record

if TYPE_CHECKING:
    from ovnguard.report.formats import RenderOptions


def _say(out: TextIO, message: str) -> None:
    from ovnguard.report.safe import visible_lines

    typer.echo(visible_lines(message), file=out)


def _dump(data: Any, out: TextIO) -> None:
    # the guard's documents have always been printed by json.dumps (ASCII, \u escapes)
    out.write(json.dumps(data, indent=2) + "\n")


def _when(doc: dict[str, Any], key: str) -> str:
    from ovnguard.guard.state import fmt_time

    return fmt_time(doc.get("timeline", {}).get(key))


def _where(state_dir: str | None) -> str:
    return f" --state-dir {state_dir}" if state_dir else ""


# --------------------------------------------------------------------------- apply


@record
class GuardApplied:
    """`apply`: the guard's state document once the watcher reported."""

    doc: dict[str, Any]
    state_dir: str | None = None  # as given on the command line, for the next commands


def applied_json(r: GuardApplied, out: TextIO, o: RenderOptions) -> None:
    _dump(r.doc, out)


def applied_text(r: GuardApplied, out: TextIO, o: RenderOptions) -> None:
    doc, where = r.doc, _where(r.state_dir)
    status = doc.get("status")
    if status == "refused":
        err = (doc.get("apply", {}).get("stderr") or "").strip()
        _say(out, _("the tool refused the change; nothing applied: {err}").format(err=err))
        return
    if status == "unchanged":
        _say(out, _("applied, but the change left the database as it was: nothing to guard"))
        return
    if status == "failed":
        _say(out, _("guard {guard_id} failed: {get}").format(guard_id=doc["id"],
                                                            get=doc.get("error")))
        return
    edits = doc.get("edits", [])
    _say(out, _("applied at {when} as one transaction ({count} row change(s)): {edits}").format(
        when=_when(doc, "applied"), count=len(edits), edits="; ".join(edits)))
    for n in doc.get("notes", []):
        _say(out, _("note: {n}").format(n=n))
    if status != "armed":
        # A probe can fail within milliseconds: the watcher may already be rolling back.
        reason = doc.get("rollback", {}).get("reason", "")
        _say(out, _("guard {guard_id} is already {status}").format(
            guard_id=doc["id"], status=status) + (f": {reason}" if reason else ""))
        # nothing left to keep: only where to watch the rollback end
        _say(out, _("  watch it:   ovnguard guard status{where}").format(where=where))
        return
    _say(out, _("guard {guard_id} armed: rollback at {when} unless confirmed").format(
        guard_id=doc["id"], when=_when(doc, "deadline")))
    _say(out, _("  keep it:    ovnguard confirm{where}").format(where=where))
    _say(out, _("  undo it:    ovnguard rollback{where}").format(where=where))
    _say(out, _("  watch it:   ovnguard guard status{where}").format(where=where))


@record
class GuardRefused:
    """`apply` refused before touching anything (the what-if, a lock, the probes)."""

    message: str
    details: list[str] = field(default_factory=list)


def refused_json(r: GuardRefused, out: TextIO, o: RenderOptions) -> None:
    _dump({"status": "refused", "message": r.message, "details": r.details}, out)


def refused_text(r: GuardRefused, out: TextIO, o: RenderOptions) -> None:
    _say(out, _("REFUSED: {message}").format(message=r.message))
    for d in r.details:
        _say(out, f"  → {d}")


@record
class SentinelPlans:
    """`apply --sentinel-print`: the sentinel command to run on each host, nothing applied."""

    plans: list[Any]  # guard.sentinel.SentinelPlan


def plans_json(r: SentinelPlans, out: TextIO, o: RenderOptions) -> None:
    _dump({"sentinels": [p.to_json() for p in r.plans]}, out)


def plans_text(r: SentinelPlans, out: TextIO, o: RenderOptions) -> None:
    if r.plans:
        _say(out, _("run on each host right before `ovnguard apply` (a sentinel expires "
                    "{secs:g}s after it starts; `ovnguard guard sentinel-stop` there stops "
                    "it):").format(secs=r.plans[0].seconds))
    for p in r.plans:
        _say(out, f"# {p.host}")
        _say(out, p.command())
    _say(out, _("nothing applied (--sentinel-print)"))


# --------------------------------------------------------------------------- confirm, rollback


@record
class GuardConfirmed:
    doc: dict[str, Any]
    stopped_sentinels: list[str] = field(default_factory=list)  # hosts, stopped from here


def confirmed_json(r: GuardConfirmed, out: TextIO, o: RenderOptions) -> None:
    _dump({**r.doc, "stopped_sentinels": r.stopped_sentinels}, out)


def confirmed_text(r: GuardConfirmed, out: TextIO, o: RenderOptions) -> None:
    doc = r.doc
    tl = doc.get("timeline", {})
    took = tl.get("confirmed", 0) - tl.get("applied", 0) if "applied" in tl else 0
    _say(out, _("confirmed guard {guard_id} at {when} ({took:.1f}s after the apply): the "
                "change stays, no rollback").format(guard_id=doc["id"],
                                                    when=_when(doc, "confirmed"), took=took))
    for host in r.stopped_sentinels:
        _say(out, _("stopped the sentinel of {get}").format(get=host))
    if not doc.get("sentinels") and doc.get("expected_ports"):
        _say(out, _("if you started sentinels on the hosts, stop them there: `ovnguard guard "
                    "sentinel-stop`"))


@record
class GuardRolledBack:
    """`rollback`: the guard's state document after it."""

    doc: dict[str, Any]


def rolledback_json(r: GuardRolledBack, out: TextIO, o: RenderOptions) -> None:
    _dump(r.doc, out)


def rolledback_text(r: GuardRolledBack, out: TextIO, o: RenderOptions) -> None:
    from ovnguard.guard.control import durations

    doc = r.doc
    status = doc.get("status")
    rb = doc.get("rollback", {})
    if status == "rolled-back":
        v = rb.get("verification", {})
        d = durations(doc)
        _say(out, _("rolled back guard {guard_id} ({get}): restored at {when}").format(
            guard_id=doc["id"], get=rb.get("reason"), when=_when(doc, "restored"))
            + (_(", {seconds:.2f}s after the apply").format(seconds=d["applied_to_restored"])
               if "applied_to_restored" in d else ""))
        for a in rb.get("actions", []):
            _say(out, f"  {a}")
        for c in rb.get("overwritten", []):
            col = _(" column {column}").format(column=c["column"]) if c.get("column") else ""
            _say(out, _("  overwritten (--force): {c}{col}: was {c2}").format(
                c=c["row"], col=col, c2=c["found"]))
        for diff in v.get("differences", []):
            _say(out, _("  NOT restored: {diff} {value}: expected {diff2}, found {diff3}").format(
                diff=diff["row"], value=diff.get("column") or "", diff2=diff["expected"],
                diff3=diff["found"]))
        for other in v.get("changed_by_others", []):
            _say(out, _("  kept (changed by someone else since the backup): {other}").format(
                other=other))
        if v.get("wait_hv"):
            _say(out, f"  {v['wait_hv']}")
        for h, what in sorted(v.get("ports", {}).items()):
            _say(out, f"  {h}: {what}")
        if v.get("error"):
            _say(out, f"  {v['error']}")
        return
    if status == "rollback-conflict":
        _say(out, _("rollback of guard {guard_id} STOPPED, nothing written: ").format(
            guard_id=doc["id"]) + (rb.get("error") or _("touched rows were changed by someone "
                                                         "else")))
        for c in rb.get("conflicts", []):
            col = _(" column {column}").format(column=c["column"]) if c.get("column") else ""
            _say(out, _("  {table}: {row} [{uuid}]{col}: expected {expected}, found "
                        "{found}").format(table=c["table"], row=c["row"], uuid=c["uuid"][:8],
                                          col=col, expected=c["expected"], found=c["found"]))
        _say(out, _("  then: `ovnguard rollback --force` overwrites them, `ovnguard confirm` "
                    "keeps the database as it is"))
        return
    if status == "rollback-failed":
        _say(out, _("rollback of guard {guard_id} gave up: {get}; retry with `ovnguard "
                    "rollback`, or apply inverse.json by hand").format(
                        guard_id=doc["id"], get=rb.get("error")))
        return
    _say(out, _("guard {guard_id} is {status}").format(guard_id=doc["id"], status=status))


# --------------------------------------------------------------------------- sentinels


@record
class SentinelArmed:
    """`guard sentinel`: the sentinel that now watches, and its state document."""

    armed: Any  # guard.sentinel.Armed
    state: dict[str, Any]  # its sentinel.json
    state_file: str
    failures: int
    interval: float
    state_dir: str | None = None


def armed_json(r: SentinelArmed, out: TextIO, o: RenderOptions) -> None:
    _dump(r.state, out)


def armed_text(r: SentinelArmed, out: TextIO, o: RenderOptions) -> None:
    from ovnguard.guard.state import fmt_time

    a = r.armed
    _say(out, _("sentinel {id} armed on {host} (pid {pid}): watching {watching} until "
                "{until}").format(id=a.id, host=a.host, pid=a.pid,
                                  watching=", ".join(a.watching), until=fmt_time(a.until)))
    for skipped in a.skipped:
        _say(out, _("  not watched: {skipped}: {skipped2}").format(
            skipped=skipped["port"], skipped2=skipped["why"]))
    for p in a.probes:
        _say(out, _("  probe {p}: passes now, watched").format(p=p))
    _say(out, _("  deletes them through {read_state} after {failures} failed rounds in a row "
                "(every {interval:g}s)").format(read_state=r.state["db"], failures=r.failures,
                                               interval=r.interval))
    _say(out, _("  state: {value}").format(value=r.state_file))
    _say(out, _("  stop it: ovnguard guard sentinel-stop --id {id}").format(id=a.id)
         + _where(r.state_dir))


@record
class SentinelStatus:
    """`guard sentinel-status`: this host's sentinels, each with its one-line summary."""

    root: str
    sentinels: list[dict[str, Any]]  # sentinel.json + alive + path
    summaries: list[str] = field(default_factory=list)  # one per sentinel, same order


def sentinels_json(r: SentinelStatus, out: TextIO, o: RenderOptions) -> None:
    _dump({"schema_version": 1, "sentinels": r.sentinels}, out)


def sentinels_text(r: SentinelStatus, out: TextIO, o: RenderOptions) -> None:
    from ovnguard.guard.state import fmt_time

    if not r.sentinels:
        _say(out, _("no sentinel in {root}").format(root=r.root))
    for d, summary in zip(r.sentinels, r.summaries, strict=True):
        _say(out, f"{d['id']}  {summary}")
        for ev in d.get("events", [])[-20:]:
            _say(out, f"  {fmt_time(ev['t'])}  {ev['message']}")
