"""What the verbs print to a terminal goes through here: names from the data are shown,
never acted on (see report/safe.py). One place, so a new message cannot forget it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer

from ovnguard.errors import OvnguardError
from ovnguard.report.safe import json_text, visible_lines


def echo(message: object = "", err: bool = False, nl: bool = True) -> None:
    """typer.echo with every control character but the newline written out."""
    typer.echo(visible_lines(str(message)), err=err, nl=nl)


def echo_json(text: str, err: bool = False) -> None:
    """JSON text, with control characters inside strings escaped (still the same JSON)."""
    typer.echo(json_text(text), err=err)


@contextmanager
def one_line_errors(command: str) -> Iterator[None]:
    """An ovnguard error inside becomes one line on stderr (`ovnguard COMMAND: why`) and its
    exit code, never a traceback."""
    try:
        yield
    except OvnguardError as e:
        echo(f"ovnguard {command}: {e}", err=True)
        raise typer.Exit(e.exit_code) from None
