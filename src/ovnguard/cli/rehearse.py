"""`ovnguard rehearse`: run a change for real on a replica of the cluster in a bundle."""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from ovnguard.cli import options
from ovnguard.cli.out import echo
from ovnguard.errors import InputError, OvnguardError
from ovnguard.report.safe import visible_data

if TYPE_CHECKING:
    from ovnguard.lab.rehearse import RehearsalResult


def rehearse(
    bundle: Path = typer.Option(
        ..., "--bundle", "-b", help="Bundle directory (nb.db, sb.db, hosts/<host>/conf.db ...)."
    ),
    change: Path | None = typer.Option(
        None,
        "--change",
        help="Change file: ovn-nbctl / ovs-vsctl lines ('# host: NAME' before ovs-vsctl), "
        "VAR=value, `openstack network create`. Required.",
    ),
    fmt: str = typer.Option("text", "--format", "-f", help="text or json."),
    keep_lab: bool = typer.Option(
        False,
        "--keep-lab",
        help="Leave the replica running after the rehearsal, for inspection "
        "(`ovnguard lab env --run-dir DIR`, then `ovnguard lab down --run-dir DIR`).",
    ),
    run_dir: Path | None = typer.Option(
        None,
        "--run-dir",
        help="Where the replica lives (default: a temporary directory, removed afterwards "
        "unless --keep-lab). Logs and databases stay there after the rehearsal.",
    ),
    host: str | None = typer.Option(
        None, "--host", help="Host for ovs-vsctl lines that have no '# host:' line above."
    ),
    timeout: float = typer.Option(60.0, "--timeout", help="Seconds for the replica to start."),
    sync_timeout: float = typer.Option(
        10.0, "--sync-timeout", help="Seconds for every chassis to catch up after the change."
    ),
    short_c: Path | None = options.hidden_c_option(),
) -> None:
    """Rehearse a change on a real OVN replica of the bundle's cluster, and report what
    really happened.

    Starts a lab with the bundle's NB and one chassis per bundle host (its bridges, NICs,
    VIFs, ovn-bridge-mappings; all on the dummy datapath), runs each line of the change as
    the real tool against it, waits for `ovn-nbctl --wait=hv sync`, and reports per host the
    patch ports real ovn-controller added and removed, what ovn-controller, ovs-vswitchd and
    ovn-northd logged, the commands that failed (with the tool's own error), and L2 loops
    found by `ofproto/trace` of a broadcast into every provider bridge.

    Exit codes: 0 nothing dangerous seen, 1 an L2 loop (or a chassis that stopped following
    the NB, or a daemon that died), 2 input error, 3 lab error.
    """
    from ovnguard.change import read_change
    from ovnguard.lab.rehearse import rehearse as run_rehearsal

    try:
        options.no_short_c(short_c)
        if change is None:
            raise InputError("missing --change FILE: the change to rehearse")
        if fmt not in ("text", "json"):
            raise InputError(f"--format must be text or json, not {fmt!r}")
        parsed = read_change(change, default_host=host)
        result = run_rehearsal(
            bundle,
            parsed,
            run_dir=run_dir,
            keep_lab=keep_lab,
            timeout=timeout,
            sync_timeout=sync_timeout,
        )
    except OvnguardError as e:
        echo(f"ovnguard rehearse: {e}", err=True)
        raise typer.Exit(e.exit_code) from None
    if fmt == "json":
        echo(json.dumps(result.to_json(), indent=2))
    else:
        typer.echo(render_text(result, color=None))  # styled; the data in it is escaped
    raise typer.Exit(result.exit_code)


def render_text(result: RehearsalResult, color: bool | None = None) -> str:
    """The rehearsal for a terminal. `color=None`: styles are dropped by typer.echo when
    the output is not a terminal."""

    # Every name, command and log line is shown, never acted on; the styles are ours.
    result = visible_data(result)

    def style(text: str, **kw: object) -> str:
        return text if color is False else typer.style(text, **kw)  # type: ignore[arg-type]

    out: list[str] = []
    hosts = sorted(result.hosts)
    out.append(
        f"rehearsal of {result.change} on a replica of {result.bundle} "
        f"({len(hosts)} chassis: {', '.join(hosts)}) in {result.seconds:.2f}s"
    )
    if result.notes:
        out.append("")
        out.append("replica notes:")
        out += [f"  - {n}" for n in result.notes]

    out.append("")
    out.append("commands (run for real against the replica):")
    if not result.commands:
        out.append("  (the change holds no command)")
    for c in result.commands:
        where = f"{result.change}:{c.line}" if c.path == result.change else f"{c.path}:{c.line}"
        on = f" [host {c.host}]" if c.host else ""
        mark = {
            "ok": style("ok", fg="green"),
            "failed": style("FAILED", fg="red", bold=True),
            "skipped": style("skipped", fg="yellow"),
            "not-rehearsed": style("not rehearsed", fg="yellow"),
        }[c.status]
        out.append(f"  {where}{on}  {c.command}  -> {mark}")
        if c.error and c.status != "ok":
            out += [f"      {line}" for line in c.error.splitlines()]

    out.append("")
    if result.synced:
        out.append(
            f"sync: every chassis caught up ({result.sync_seconds:.3f}s after the last command)"
        )
    else:
        out.append(style(f"sync: FAILED: {result.sync_error}", fg="red"))

    out.append("")
    out.append("patch ports real ovn-controller added (+) / removed (-):")
    for h in hosts:
        d = result.hosts[h].delta
        if not (d.added or d.removed or d.stale):
            out.append(f"  {h}: no change")
            continue
        out.append(f"  {h}:")
        out += [style(f"    + {p.bridge}: {p.port}", fg="yellow") for p in d.added]
        out += [f"    - {p.bridge}: {p.port}" for p in d.removed]
        out += [
            f"    ~ {p.bridge}: {p.port} (stays until ovn-controller recomputes)" for p in d.stale
        ]

    out.append("")
    out.append("logged during the change (warnings, errors, notable info):")
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
        out.append("  nothing")

    out.append("")
    traced = sum(len(o.traces) for o in result.hosts.values())
    out.append(
        f"L2 loops (ofproto/trace of a broadcast into each NIC and localnet patch port "
        f"of each provider bridge, {traced} traces):"
    )
    if not result.loops:
        out.append("  none")
    dangers = result.dangers
    for sentence in dangers:
        out.append(style(f"  ! {sentence}", fg="red", bold=True))

    out.append("")
    verdict = result.verdict
    colour = {"safe": "green", "risky": "yellow", "dangerous": "red"}[verdict]
    why = {
        "dangerous": "dangerous evidence above",
        "risky": "commands failed or were not rehearsed, or daemons warned",
        "safe": "every command ran and nothing was logged or looped",
    }[verdict]
    out.append(style(f"verdict: {verdict.upper()} ({why})", fg=colour, bold=True))
    if result.kept:
        rd = shlex.quote(result.run_dir)
        out.append("")
        out.append(f"lab kept in {result.run_dir}:")
        out.append(f'  eval "$(ovnguard lab env --run-dir {rd})"; ovn-nbctl show')
        out.append(f'  eval "$(ovnguard lab env --run-dir {rd} --host HOST)"; ovs-vsctl show')
        out.append(f"  ovnguard lab down --run-dir {rd}")
    return "\n".join(out)
