"""`ovnguard guard status`: each guard's status, deadline, probes, timeline and rollback."""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import typer

from ovnguard.i18n import _
from ovnguard.record import record

if TYPE_CHECKING:
    from ovnguard.report.formats import RenderOptions


@record
class GuardStatus:
    state_dir: str
    guards: list[dict[str, Any]]  # guard.control.status(): each guard's state document


def write_json(s: GuardStatus, out: TextIO, options: RenderOptions) -> None:
    out.write(json.dumps({"schema_version": 1, "state_dir": s.state_dir, "guards": s.guards},
                         indent=2) + "\n")


def write_text(s: GuardStatus, out: TextIO, options: RenderOptions) -> None:
    from ovnguard.report.safe import visible_data

    # paths, change names, probe specs and errors come from the state files: shown, not run
    s = visible_data(s)
    if not s.guards:
        typer.echo(_("no guard in {state_dir}").format(state_dir=s.state_dir), file=out)
        return
    for d in s.guards:
        _guard_text(d, out)


def _t(doc: dict[str, Any], key: str) -> str:
    from ovnguard.guard.state import fmt_time

    return fmt_time(doc.get("timeline", {}).get(key))


# Row labels, translated where printed; padded by display width (a Korean syllable takes two
# terminal cells) so the values still line up.
_LABEL_WIDTH = 9


def _row(label: str, text: str) -> str:
    from rich.cells import cell_len

    return "  " + label + " " * max(1, _LABEL_WIDTH - cell_len(label)) + text


def _guard_text(d: dict[str, Any], out: TextIO) -> None:
    echo = partial(typer.echo, file=out)
    row = lambda label, text: echo(_row(label, text))  # noqa: E731
    status = d.get("status")
    # status, verdict and outcome are enumerated values (as in --format json): not translated
    echo(_("{id}  {status}  {database} at {remote}").format(
        id=d["id"], status=status, database=d.get("database"), remote=d.get("remote")))
    if d.get("forced"):
        what = _("{change} (what-if: {verdict}, forced)")
    else:
        what = _("{change} (what-if: {verdict})")
    row(_("change"), what.format(change=d.get("change"), verdict=d.get("verdict")))
    if status == "armed":
        left = d.get("seconds_left", 0)
        row(_("deadline"), _("{time} ({seconds}s left)").format(
            time=_t(d, "deadline"), seconds=f"{left:.0f}"))
    row(_("outcome"), str(d.get("outcome")))
    w = _("alive") if d.get("watcher_alive") else _("not running")
    pid = d.get("watcher", {}).get("pid")
    gen = d.get("watcher", {}).get("generation", 1)
    log = d.get("watcher", {}).get("log", "-")
    if gen > 1:
        watcher = _("pid {pid} ({state}), generation {generation}; log {log}").format(
            pid=pid, state=w, generation=gen, log=log)
    else:
        watcher = _("pid {pid} ({state}); log {log}").format(pid=pid, state=w, log=log)
    row(_("watcher"), watcher)
    for p in d.get("probes", []):
        row(_("probe"), str(p["spec"]))
    for p in d.get("dropped_probes", []):
        row(_("dropped"), f"{p['probe']}: {p['why']}")
    for e in d.get("edits", []):
        row(_("edit"), str(e))
    first = d.get("probing", {}).get("first_failure")
    if first:
        row(_("failed"), f"{first['probe']}: {first['detail']}")
    rb = d.get("rollback", {})
    if rb.get("reason"):
        row(_("rollback"), str(rb["reason"]))
    host = (rb.get("verification") or {}).get("host")
    if host is not None:
        for a in host.get("actions", []):
            row(_("host"), str(a))
        kinds = {"errors": _("errors"), "not_restorable": _("not restorable"),
                 "differences": _("differences")}
        for what_key, kind in kinds.items():
            for x in host.get(what_key, []):
                row(_("host"), f"{kind}: {x}")
    for c in rb.get("conflicts", []):
        row(_("conflict"), _("{row} {column}: expected {expected}, found {found}").format(
            row=c["row"], column=c.get("column") or "", expected=c["expected"],
            found=c["found"]))
    tl = d.get("timeline", {})
    order = ["created", "apply_started", "applied", "deadline", "first_probe_failure",
             "rollback_started", "restored", "verified", "confirmed"]
    # the timeline's keys are the JSON document's (`timeline.<key>`): shown as they are
    marks = [f"{k} {_t(d, k)}" for k in order if k in tl]
    if marks:
        row(_("timeline"), ", ".join(marks))
    for k, v in d.get("durations", {}).items():
        row(_("took"), f"{k.replace('_', ' ')}: {v:.3f}s")
    for sent in d.get("sentinels", []):
        from ovnguard.guard.sentinel import summary

        row(_("sentinel"), summary(Path(sent["path"])))
    if status == "armed" and not d.get("watcher_alive"):
        echo("  " + _("WARNING: no watcher runs for this armed guard: nothing will roll it "
                      "back; run `ovnguard guard recover` (a new watcher takes it over, same "
                      "deadline), `ovnguard rollback` or `ovnguard confirm`"))
    elif status in ("applying", "rolling-back") and not d.get("watcher_alive"):
        echo("  " + _("WARNING: no watcher runs for this guard ({status}): run `ovnguard "
                      "guard recover` to finish it").format(status=status))
    echo("")
