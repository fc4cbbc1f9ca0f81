"""Every verb's output in one table: (what the verb produced, --format) -> renderer.

`--format` means the same for every verb: `text` for a person at a terminal (colour only
when the output is one), `json` for automation (the same data, its schema in docs/), and
`sarif` / `html` where a result has them. A verb calls `emit(result, fmt, output)`; a wrong
`--format` is one line naming the formats that verb has (exit 2).

To add an output format: a renderer `(result, out, options) -> None` that writes to `out`,
and one entry in `_RENDERERS` below. Renderers are named as "module:function" and imported
only when used, so `ovnguard --help` does not pay for jinja2 or rich.
"""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Callable
from dataclasses import replace
from enum import StrEnum
from pathlib import Path
from typing import Any, TextIO

from ovnguard.errors import InputError
from ovnguard.i18n import _
from ovnguard.record import record


class Format(StrEnum):
    text = "text"
    json = "json"
    sarif = "sarif"
    html = "html"


@record
class RenderOptions:
    verbose: bool = False  # text: everything, one by one
    quiet: bool = False  # text: the verdict line only
    to_file: bool = False  # written to a file: no colour, a fixed width


Renderer = Callable[[Any, TextIO, RenderOptions], None]

# The result type (its class name, as `kind` below) -> format -> "module:function".
_RENDERERS: dict[str, dict[Format, str]] = {
    # check
    "Report": {
        Format.text: "ovnguard.report.formats:_report_text",
        Format.json: "ovnguard.report.formats:_report_json",
        Format.sarif: "ovnguard.report.formats:_report_sarif",
        Format.html: "ovnguard.report.formats:_report_html",
    },
    # plan separate-nic / plan fix
    "WrittenPlan": {
        Format.text: "ovnguard.report.formats:_plan_text",
        Format.json: "ovnguard.report.formats:_plan_json",
    },
    # rehearse
    "RehearsalResult": {
        Format.text: "ovnguard.report.rehearsal:write_text",
        Format.json: "ovnguard.report.formats:_rehearsal_json",
    },
    # guard status
    "GuardStatus": {
        Format.text: "ovnguard.report.guardstatus:write_text",
        Format.json: "ovnguard.report.guardstatus:write_json",
    },
    # apply, apply --sentinel-print, confirm, rollback, guard sentinel, guard sentinel-status
    "GuardApplied": {
        Format.text: "ovnguard.report.guardaction:applied_text",
        Format.json: "ovnguard.report.guardaction:applied_json",
    },
    "GuardRefused": {
        Format.text: "ovnguard.report.guardaction:refused_text",
        Format.json: "ovnguard.report.guardaction:refused_json",
    },
    "SentinelPlans": {
        Format.text: "ovnguard.report.guardaction:plans_text",
        Format.json: "ovnguard.report.guardaction:plans_json",
    },
    "GuardConfirmed": {
        Format.text: "ovnguard.report.guardaction:confirmed_text",
        Format.json: "ovnguard.report.guardaction:confirmed_json",
    },
    "GuardRolledBack": {
        Format.text: "ovnguard.report.guardaction:rolledback_text",
        Format.json: "ovnguard.report.guardaction:rolledback_json",
    },
    "SentinelArmed": {
        Format.text: "ovnguard.report.guardaction:armed_text",
        Format.json: "ovnguard.report.guardaction:armed_json",
    },
    "SentinelStatus": {
        Format.text: "ovnguard.report.guardaction:sentinels_text",
        Format.json: "ovnguard.report.guardaction:sentinels_json",
    },
    # lab status
    "LabStatus": {
        Format.text: "ovnguard.report.labstatus:write_text",
        Format.json: "ovnguard.report.formats:_model_json",
    },
}


def kind(result: object) -> str:
    return type(result).__name__


def formats_of(kind: str) -> tuple[Format, ...]:
    return tuple(_RENDERERS[kind])


def _spell(formats: tuple[Format, ...]) -> str:
    names = [f.value for f in formats]
    if len(names) == 1:
        return names[0]
    return _("{formats} or {last}").format(formats=", ".join(names[:-1]), last=names[-1])


def format_help(kind: str, detail: str = "") -> str:
    """The --help of a verb's --format, from the table (so it cannot drift from it)."""
    return _spell(formats_of(kind)) + (f" ({detail})" if detail else "") + "."


def check_format(kind: str, fmt: str) -> Format:
    """`fmt` as a Format this kind of result has; InputError (exit 2) otherwise. Verbs call
    this before doing any work, so a typo costs nothing."""
    have = formats_of(kind)
    if fmt not in {f.value for f in have}:
        raise InputError(_(
                "--format must be {have}, not {fmt!r}").format(
                have=_spell(have), fmt=fmt))
    return Format(fmt)


def renderer(kind: str, fmt: str) -> Renderer:
    module, _sep, name = _RENDERERS[kind][check_format(kind, fmt)].partition(":")
    fn: Renderer = getattr(importlib.import_module(module), name)
    return fn


def emit(result: object, fmt: str, output: Path | None = None, *, verbose: bool = False,
         quiet: bool = False) -> None:
    """Render `result` in `fmt` to `output` (or stdout). A closed stdout (`| head`) is the
    CLI's business (cli/__init__.py), not each renderer's."""
    write = renderer(kind(result), fmt)
    options = RenderOptions(verbose=verbose, quiet=quiet)
    if output is None:
        write(result, sys.stdout, options)
        sys.stdout.flush()
        return
    try:
        with output.open("w", encoding="utf-8") as f:
            write(result, f, replace(options, to_file=True))
    except OSError as e:
        raise InputError(_(
            "cannot write the output: {strerror}").format(
            strerror=e.strerror), str(output)) from None


# --------------------------------------------------------------------------- renderers
# Thin: the rendering itself lives with the result (report/text.py, sarif.py, html.py,
# plan/render.py, ...); these only say how each is written out.


def _json_text(text: str, out: TextIO) -> None:
    from ovnguard.report.safe import json_text

    # orjson/json write C1 and bidi controls raw inside strings: escape them (same JSON)
    out.write(json_text(text) + "\n")


def _json_dump(data: Any, out: TextIO) -> None:
    import orjson

    _json_text(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode(), out)


def _report_text(report: Any, out: TextIO, o: RenderOptions) -> None:
    from ovnguard.report.text import render_text

    render_text(report, out, width=120 if o.to_file else None, verbose=o.verbose,
                quiet=o.quiet)


def _report_json(report: Any, out: TextIO, o: RenderOptions) -> None:
    _json_dump(report.model_dump(mode="json"), out)


def _report_sarif(report: Any, out: TextIO, o: RenderOptions) -> None:
    import os

    from ovnguard.report.sarif import render_sarif

    # paths under the directory we run in (a CI checkout) become relative to it
    _json_dump(render_sarif(report, os.getcwd()), out)


def _report_html(report: Any, out: TextIO, o: RenderOptions) -> None:
    from ovnguard.report.html import render_html
    from ovnguard.report.safe import visible_model

    # autoescaped markup; control characters written out too, as in the terminal
    out.write(render_html(visible_model(report)) + "\n")


def _plan_text(written: Any, out: TextIO, o: RenderOptions) -> None:
    from ovnguard.plan.render import plan_text_report
    from ovnguard.report.safe import visible_lines

    out.write(visible_lines(plan_text_report(written.plan, written.files)))


def _plan_json(written: Any, out: TextIO, o: RenderOptions) -> None:
    from ovnguard.plan.render import plan_json, write_json

    _json_text(write_json(plan_json(written.plan, written.files)).rstrip("\n"), out)


def _rehearsal_json(result: Any, out: TextIO, o: RenderOptions) -> None:
    _json_text(json.dumps(result.to_json(), indent=2), out)


def _model_json(model: Any, out: TextIO, o: RenderOptions) -> None:
    _json_text(model.model_dump_json(indent=2), out)
