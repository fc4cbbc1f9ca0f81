"""`ovnguard rehearse` for a terminal: what real OVN did on the replica, host by host."""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING, TextIO

import typer

from ovnguard.i18n import _
from ovnguard.report.labels import verdict_label

if TYPE_CHECKING:
    from ovnguard.lab.rehearse import RehearsalResult
    from ovnguard.report.formats import RenderOptions


def write_text(result: RehearsalResult, out: TextIO, options: RenderOptions) -> None:
    # typer.echo drops the styles when `out` is not a terminal
    typer.echo(render_text(result, color=False if options.to_file else None), file=out)


def render_text(result: RehearsalResult, color: bool | None = None) -> str:
    """The rehearsal for a terminal. `color=None`: styles are dropped by typer.echo when
    the output is not a terminal."""
    from ovnguard.report.safe import visible_data

    # Every name, command and log line is shown, never acted on; the styles are ours.
    result = visible_data(result)

    def style(text: str, **kw: object) -> str:
        return text if color is False else typer.style(text, **kw)  # type: ignore[arg-type]

    out: list[str] = []
    hosts = sorted(result.hosts)
    out.append(
        _(
                "rehearsal of {change} on a replica of {bundle} ({count} chassis: {hosts}) in "
                "{seconds:.2f}s").format(
                change=result.change, bundle=result.bundle, count=len(hosts),
                hosts=', '.join(hosts), seconds=result.seconds)
    )
    if result.notes:
        out.append("")
        out.append(_("replica notes:"))
        out += [f"  - {n}" for n in result.notes]

    out.append("")
    out.append(_("commands (run for real against the replica):"))
    if not result.commands:
        out.append(_("  (the change holds no command)"))
    for c in result.commands:
        where = f"{result.change}:{c.line}" if c.path == result.change else f"{c.path}:{c.line}"
        on = f" [host {c.host}]" if c.host else ""
        mark = {
            "ok": style(_("ok"), fg="green"),
            "failed": style(_("FAILED"), fg="red", bold=True),
            "skipped": style(_("skipped"), fg="yellow"),
            "not-rehearsed": style(_("not rehearsed"), fg="yellow"),
        }[c.status]
        out.append(f"  {where}{on}  {c.command}  -> {mark}")
        if c.error and c.status != "ok":
            out += [f"      {line}" for line in c.error.splitlines()]

    out.append("")
    if result.synced:
        out.append(
            _("sync: every chassis caught up ({seconds:.3f}s after the last command)").format(
                seconds=result.sync_seconds)
        )
    else:
        out.append(style(_("sync: FAILED: {sync_error}").format(sync_error=result.sync_error),
            fg="red"))

    out.append("")
    out.append(_("patch ports real ovn-controller added (+) / removed (-):"))
    for h in hosts:
        d = result.hosts[h].delta
        if not (d.added or d.removed or d.stale):
            out.append(_("  {h}: no change").format(h=h))
            continue
        out.append(f"  {h}:")
        out += [style(f"    + {p.bridge}: {p.port}", fg="yellow") for p in d.added]
        out += [f"    - {p.bridge}: {p.port}" for p in d.removed]
        out += [
            _(
                    "    ~ {bridge}: {port} (stays until ovn-controller recomputes)").format(
                    bridge=p.bridge, port=p.port) for p in d.stale
        ]

    out.append("")
    out.append(_("logged during the change (warnings, errors, notable info):"))
    any_log = False
    for h in hosts:
        for ln in result.hosts[h].logs:
            any_log = True
            fg = "red" if ln.level in ("ERR", "EMER") else "yellow" if ln.level == "WARN" else None
            out.append(style(f"  {h} {ln.daemon} {ln.level} {ln.module}: {ln.message}", fg=fg))
    for ln in result.central_logs:
        any_log = True
        out.append(f"  (central) {ln.daemon} {ln.level} {ln.module}: {ln.message}")
    if not any_log:
        out.append(_("  nothing"))

    out.append("")
    traced = sum(len(o.traces) for o in result.hosts.values())
    out.append(
        _(
                "L2 loops (ofproto/trace of a broadcast into each NIC and localnet patch port of "
                "each provider bridge, {traced} traces):").format(
                traced=traced)
    )
    if not result.loops:
        out.append(_("  none"))
    dangers = result.dangers
    for sentence in dangers:
        out.append(style(f"  ! {sentence}", fg="red", bold=True))

    out.append("")
    verdict = result.verdict
    colour = {"safe": "green", "risky": "yellow", "dangerous": "red"}[verdict]
    why = {
        "dangerous": _("dangerous evidence above"),
        "risky": _("commands failed or were not rehearsed, or daemons warned"),
        "safe": _("every command ran and nothing was logged or looped"),
    }[verdict]
    out.append(style(_("verdict: {verdict} ({why})").format(verdict=verdict_label(verdict),
        why=why), fg=colour, bold=True))
    if result.kept:
        rd = shlex.quote(result.run_dir)
        out.append("")
        out.append(_("lab kept in {run_dir}:").format(run_dir=result.run_dir))
        out.append(f'  eval "$(ovnguard lab env --run-dir {rd})"; ovn-nbctl show')
        out.append(f'  eval "$(ovnguard lab env --run-dir {rd} --host HOST)"; ovs-vsctl show')
        out.append(f"  ovnguard lab down --run-dir {rd}")
    return "\n".join(out)
