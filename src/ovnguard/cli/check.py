"""`ovnguard check`: judge a bundle's state, or what a change would do to it."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path

import orjson
import typer

from ovnguard.errors import InputError
from ovnguard.report.schema import VERDICT_ORDER, Report


class Format(StrEnum):
    text = "text"
    json = "json"
    sarif = "sarif"
    html = "html"


class Level(StrEnum):
    risky = "risky"
    dangerous = "dangerous"
    never = "never"


def write_report(
    report: Report, fmt: Format, output: Path | None, verbose: bool = False
) -> None:
    """Render `report` in `fmt` to `output` (or stdout)."""
    if fmt is Format.text:
        from ovnguard.report.text import render_text

        if output is None:
            render_text(report, verbose=verbose)
        else:
            with output.open("w") as f:
                render_text(report, f, width=120, verbose=verbose)
        return
    if fmt is Format.json:
        data = orjson.dumps(report.model_dump(mode="json"), option=orjson.OPT_INDENT_2)
    elif fmt is Format.sarif:
        from ovnguard.report.sarif import render_sarif

        data = orjson.dumps(render_sarif(report), option=orjson.OPT_INDENT_2)
    else:
        from ovnguard.report.html import render_html

        data = render_html(report).encode()
    if output is None:
        sys.stdout.buffer.write(data + b"\n")
        sys.stdout.flush()
    else:
        output.write_bytes(data + b"\n")


def exit_code(verdict: str, fail_on: Level) -> int:
    if fail_on is Level.never:
        return 0
    return 1 if VERDICT_ORDER[verdict] >= VERDICT_ORDER[fail_on.value] else 0


def check(
    bundle: Path = typer.Option(
        ...,
        "--bundle",
        "-b",
        help="Bundle directory (nb.db, sb.db, hosts/<host>/conf.db, addr.json, route.json ...; "
        "see docs/bundle.md). Make one with `ovnguard lab export` or the native commands.",
        file_okay=False,
    ),
    change: Path | None = typer.Option(
        None,
        "--change",
        "-c",
        help="Change file: ovn-nbctl / ovs-vsctl / `openstack network create` lines as you "
        "would paste them (VAR=value, ${VAR}, `# host: NAME` for ovs-vsctl). Never run by a "
        "shell. Without it, the current state is checked.",
        dir_okay=False,
    ),
    host: str | None = typer.Option(
        None, "--host", help="Host that ovs-vsctl lines act on when no `# host:` comment says."
    ),
    fmt: Format = typer.Option(
        Format.text, "--format", "-f", help="text (terminal), json (schema in docs/json.md), "
        "sarif (code-scanning UIs) or html (self-contained page with a topology picture)."
    ),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="Write the report here instead of stdout.", dir_okay=False
    ),
    fail_on: Level = typer.Option(
        Level.risky, "--fail-on", help="Exit 1 when the verdict is at or above this level."
    ),
    verbose: bool = typer.Option(
        False, "--verbose", "-v", help="Text: show every finding's evidence, not only the chain."
    ),
) -> None:
    """Predict what a change does to every host, before you run it.

    Reads the bundle, applies the change to a copy (nothing is executed), predicts per host
    which patch ports ovn-controller would create or remove, runs every hazard rule before and
    after, and gives a verdict: safe, risky or dangerous (some host loses management, or an
    L2 loop). Exit codes: 0 verdict below --fail-on, 1 at or above it, 2 bad input.

    Examples:

      ovnguard check --bundle ./bundle                       # armed hazards now

      ovnguard check --bundle ./bundle --change fix.sh       # what would fix.sh do?

      ovnguard check -b ./bundle -c fix.sh --format json | jq .verdict
    """
    from ovnguard.assess import assess
    from ovnguard.change.parse import read_change
    from ovnguard.sources.bundle import load_bundle

    if not bundle.is_dir():
        raise InputError("bundle directory not found", str(bundle))
    snapshot = load_bundle(bundle)
    ch = read_change(change, default_host=host) if change is not None else None
    whatif = assess(snapshot, ch)
    write_report(whatif.report, fmt, output, verbose)
    raise typer.Exit(exit_code(whatif.report.verdict, fail_on))
