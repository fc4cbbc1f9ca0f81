"""Command line entry point. Each verb group lives in its own module; this one wires them."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from ovnguard import __version__


def docs_dir() -> Path | None:
    """Where README.md, docs/ and contrib/ are: installed with the package under
    <prefix>/share/doc/ovnguard, or the source checkout this runs from."""
    for d in (Path(sys.prefix) / "share" / "doc" / "ovnguard",
              Path(__file__).resolve().parents[3]):
        if (d / "docs" / "bundle.md").is_file():
            return d
    return None


def _docs_line() -> str:
    d = docs_dir()
    where = str(d) if d is not None else "share/doc/ovnguard under the install prefix"
    return (f"\n\nDocumentation (README.md, docs/*.md such as docs/bundle.md, "
            f"contrib/): {where}")


app = typer.Typer(
    name="ovnguard",
    help=(
        "Predict what an OVN/OVS change will do to every node before you press enter, "
        "and recover automatically when it goes wrong.\n\n"
        "Start with `ovnguard demo` (the incident this tool was built for), then "
        "`ovnguard check --bundle DIR --change FILE`." + _docs_line()
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"ovnguard {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    pass


def _register() -> None:
    # Imported here so a broken optional verb group never hides the others' --help.
    from ovnguard.cli import check as check_cli
    from ovnguard.cli import collect as collect_cli
    from ovnguard.cli import demo as demo_cli
    from ovnguard.cli import guard as guard_cli
    from ovnguard.cli import lab as lab_cli
    from ovnguard.cli import plan as plan_cli
    from ovnguard.cli import rehearse as rehearse_cli

    app.command("demo")(demo_cli.demo)
    app.command("check")(check_cli.check)
    app.command("collect")(collect_cli.collect)
    app.command("rehearse")(rehearse_cli.rehearse)
    app.command("apply")(guard_cli.apply)
    app.command("confirm")(guard_cli.confirm)
    app.command("rollback")(guard_cli.rollback)
    app.add_typer(guard_cli.guard_app, name="guard")
    app.add_typer(plan_cli.app, name="plan")
    app.add_typer(lab_cli.app, name="lab")


_register()


def main() -> None:
    # Every user-facing failure is one line on stderr and an exit code; a traceback would be a
    # bug, so only OvnguardError is caught here.
    from ovnguard.cli.options import quiet_pipes
    from ovnguard.errors import OvnguardError
    from ovnguard.report.safe import visible

    # `ovnguard check ... | head -1`: a closed pipe drops the rest, the exit code stays
    quiet_pipes()
    try:
        app()
    except OvnguardError as e:
        # the message names files and rows: shown, never acted on by the terminal
        print(f"ovnguard: error: {visible(str(e))}", file=sys.stderr)
        sys.exit(e.exit_code)
    except KeyboardInterrupt:
        print("ovnguard: interrupted", file=sys.stderr)
        sys.exit(130)
