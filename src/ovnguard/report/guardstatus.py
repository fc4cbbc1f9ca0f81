"""`ovnguard guard status`: each guard's status, deadline, probes, timeline and rollback."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import typer

if TYPE_CHECKING:
    from ovnguard.report.formats import RenderOptions


@dataclass(frozen=True)
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
        typer.echo(f"no guard in {s.state_dir}", file=out)
        return
    for d in s.guards:
        _guard_text(d, out)


def _t(doc: dict[str, Any], key: str) -> str:
    from ovnguard.guard.state import fmt_time

    return fmt_time(doc.get("timeline", {}).get(key))


def _guard_text(d: dict[str, Any], out: TextIO) -> None:
    echo = partial(typer.echo, file=out)
    status = d.get("status")
    echo(f"{d['id']}  {status}  {d.get('database')} at {d.get('remote')}")
    echo(f"  change   {d.get('change')} (what-if: {d.get('verdict')}"
         + (", forced" if d.get("forced") else "") + ")")
    if status == "armed":
        left = d.get("seconds_left", 0)
        echo(f"  deadline {_t(d, 'deadline')} ({left:.0f}s left)")
    echo(f"  outcome  {d.get('outcome')}")
    w = "alive" if d.get("watcher_alive") else "not running"
    pid = d.get("watcher", {}).get("pid")
    gen = d.get("watcher", {}).get("generation", 1)
    echo(f"  watcher  pid {pid} ({w})" + (f", generation {gen}" if gen > 1 else "")
         + f"; log {d.get('watcher', {}).get('log', '-')}")
    for p in d.get("probes", []):
        echo(f"  probe    {p['spec']}")
    for p in d.get("dropped_probes", []):
        echo(f"  dropped  {p['probe']}: {p['why']}")
    for e in d.get("edits", []):
        echo(f"  edit     {e}")
    first = d.get("probing", {}).get("first_failure")
    if first:
        echo(f"  failed   {first['probe']}: {first['detail']}")
    rb = d.get("rollback", {})
    if rb.get("reason"):
        echo(f"  rollback {rb['reason']}")
    host = (rb.get("verification") or {}).get("host")
    if host is not None:
        for a in host.get("actions", []):
            echo(f"  host     {a}")
        for what in ("errors", "not_restorable", "differences"):
            for x in host.get(what, []):
                echo(f"  host     {what.replace('_', ' ')}: {x}")
    for c in rb.get("conflicts", []):
        echo(f"  conflict {c['row']} {c.get('column') or ''}: expected {c['expected']}, "
             f"found {c['found']}")
    tl = d.get("timeline", {})
    order = ["created", "apply_started", "applied", "deadline", "first_probe_failure",
             "rollback_started", "restored", "verified", "confirmed"]
    marks = [f"{k} {_t(d, k)}" for k in order if k in tl]
    if marks:
        echo("  timeline " + ", ".join(marks))
    for k, v in d.get("durations", {}).items():
        echo(f"  took     {k.replace('_', ' ')}: {v:.3f}s")
    for sent in d.get("sentinels", []):
        from ovnguard.guard.sentinel import summary

        echo(f"  sentinel {summary(Path(sent['path']))}")
    if status == "armed" and not d.get("watcher_alive"):
        echo("  WARNING: no watcher runs for this armed guard: nothing will roll it "
             "back; run `ovnguard guard recover` (a new watcher takes it over, same "
             "deadline), `ovnguard rollback` or `ovnguard confirm`")
    elif status in ("applying", "rolling-back") and not d.get("watcher_alive"):
        echo(f"  WARNING: no watcher runs for this guard ({status}): run `ovnguard "
             "guard recover` to finish it")
    echo("")
