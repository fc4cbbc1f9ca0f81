"""Command line entry point. Each verb group lives in its own module; this one wires them."""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable
from pathlib import Path

import typer

from ovnguard import __version__
from ovnguard.i18n import _


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
    where = str(d) if d is not None else _("share/doc/ovnguard under the install prefix")
    return "\n\n" + _("Documentation (README.md, docs/*.md such as docs/bundle.md, "
                       "contrib/): {where}").format(where=where)


def _help() -> str:
    return _(
        "Predict what an OVN/OVS change will do to every node before you press enter, "
        "and recover automatically when it goes wrong.\n\n"
        "Start with `ovnguard demo` (the incident this tool was built for), then "
        "`ovnguard check --bundle DIR --change FILE`.") + _docs_line()


def _version(value: bool) -> None:
    if value:
        typer.echo(f"ovnguard {__version__}")
        raise typer.Exit()


def _root_callback() -> Callable[..., None]:
    # made when the CLI is built, after `main` set the language: the help is in it
    def _root(
        version: bool = typer.Option(
            False, "--version", callback=_version, is_eager=True,
            help=_("Print the version and exit.")),
    ) -> None:
        pass

    return _root


def _demo(app: typer.Typer) -> None:
    from ovnguard.cli import demo as demo_cli

    app.command("demo", help=demo_cli.DEMO_HELP, short_help=_(
        "Tell the story of the incident ovnguard was built for, on a replica of its cluster."))(
        demo_cli.demo)


def _check(app: typer.Typer) -> None:
    from ovnguard.cli import check as check_cli

    app.command("check", help=check_cli.CHECK_HELP, short_help=_(
        "Predict what a change does to every host, before you run it."))(check_cli.check)


def _collect(app: typer.Typer) -> None:
    from ovnguard.cli import collect as collect_cli

    app.command("collect", help=collect_cli.COLLECT_HELP, short_help=_(
        "Collect live state into a bundle (docs/bundle.md, docs/collect.md)."))(
        collect_cli.collect)


def _rehearse(app: typer.Typer) -> None:
    from ovnguard.cli import rehearse as rehearse_cli

    app.command("rehearse", help=rehearse_cli.REHEARSE_HELP, short_help=_(
        "Rehearse a change on a real OVN replica of the bundle's cluster, and report what "
        "really happened."))(rehearse_cli.rehearse)


def _guard(app: typer.Typer) -> None:
    from ovnguard.cli import guard as guard_cli

    app.command("apply", help=guard_cli.APPLY_HELP, short_help=_(
        "Apply a change with a dead-man switch (\"commit confirmed\")."))(guard_cli.apply)
    app.command("confirm", help=guard_cli.CONFIRM_HELP, short_help=_(
        "Keep the change: cancel its pending rollback."))(guard_cli.confirm)
    app.command("rollback", help=guard_cli.ROLLBACK_HELP, short_help=_(
        "Undo the change now (also after a stopped rollback: retries it)."))(
        guard_cli.rollback)
    app.add_typer(guard_cli.guard_app, name="guard", short_help=_(
        "Guarded changes: status of the dead-man switches."))


def _plan(app: typer.Typer) -> None:
    from ovnguard.cli import plan as plan_cli

    app.add_typer(plan_cli.app, name="plan", short_help=_(
        "Remediation plans (NIC separation, mechanical fixes) as change files with "
        "rollbacks, proven by the what-if."))


def _lab(app: typer.Typer) -> None:
    from ovnguard.cli import lab as lab_cli

    app.add_typer(lab_cli.app, name="lab", short_help=_(
        "A real OVN on this machine (northd, NB/SB, N chassis) to rehearse changes and export "
        "bundles."))


# Each verb's module is imported only when that verb runs (or for the full --help): `check`
# should not pay for SSH, the lab or the guard. Order = order in --help.
_GROUPS: dict[str, Callable[[typer.Typer], None]] = {
    "demo": _demo, "check": _check, "collect": _collect, "rehearse": _rehearse,
    "apply": _guard, "confirm": _guard, "rollback": _guard, "guard": _guard,
    "plan": _plan, "lab": _lab,
}


def reflow(text: str) -> str:
    """A help text's paragraphs as one line each, for the terminal to wrap: typer's rich
    help keeps a paragraph's line breaks, so text wrapped at 90 columns in the source came out
    as a ragged column of half-lines on an 80-column terminal. Indented lines (examples),
    list items and click's no-rewrap marker (\\b) keep their lines."""
    out = []
    for para in inspect.cleandoc(text).split("\n\n"):
        lines = para.split("\n")
        if not any(ln.startswith((" ", "\t", "-", "*", "•", "\b")) for ln in lines):
            para = " ".join(ln.strip() for ln in lines)
        out.append(para)
    return "\n\n".join(out)


def _reflow_help(app: typer.Typer) -> None:
    """Every command's and group's help in `app`, reflowed (in place: the same texts every
    time, so building the CLI twice changes nothing)."""
    if isinstance(app.info.help, str):
        app.info.help = reflow(app.info.help)
    for c in app.registered_commands:
        if isinstance(c.help, str):
            c.help = reflow(c.help)
    for g in app.registered_groups:
        if isinstance(g.help, str):
            g.help = reflow(g.help)
        if g.typer_instance is not None:
            _reflow_help(g.typer_instance)


def build_app(verb: str | None = None) -> typer.Typer:
    """The CLI with every verb, or with only `verb` (what `main` runs; "" for none at all:
    `--version` needs no verb)."""
    from ovnguard.cli.options import LangGroup

    app = typer.Typer(name="ovnguard", help=_help(), no_args_is_help=True,
                      add_completion=False, pretty_exceptions_enable=False, cls=LangGroup)
    app.callback()(_root_callback())
    if verb == "":
        return app
    groups = [_GROUPS[verb]] if verb in _GROUPS else list(dict.fromkeys(_GROUPS.values()))
    for register in groups:
        register(app)
    _reflow_help(app)
    return app


def _verb(argv: list[str]) -> str | None:
    """The verb of a command line, when it is the first word (the root's only option that
    takes a value is --lang, so the first other word not starting with '-' is the verb)."""
    after_lang = False
    for a in argv:
        if after_lang:
            after_lang = False
            continue
        if a == "--lang":
            after_lang = True
            continue
        if not a.startswith("-"):
            return a
        if a == "--version":
            return ""
        if a == "--help":
            return None
    return None


_full: typer.Typer | None = None


def __getattr__(name: str) -> typer.Typer:
    # `from ovnguard.cli import app`: the whole CLI (tests, docs), built on first use
    global _full
    if name == "app":
        if _full is None:
            _full = build_app()
        return _full
    raise AttributeError(name)


class Terminated(BaseException):
    """SIGTERM or SIGHUP reached the console script. Raised in the main thread, it unwinds
    like Ctrl-C, so every `finally` and `with` on the way stops what it started -- the real
    tools' throwaway ovsdb-servers and ovn-nbctl daemons, their temp directories -- instead
    of the process dying with them left running. A BaseException: no `except Exception`
    swallows it."""

    def __init__(self, signo: int) -> None:
        super().__init__(signo)
        self.signo = signo


_owner_pid = 0  # the process console_main installed _terminated in


def _terminated(signo: int, _frame: object) -> None:
    import os

    if os.getpid() != _owner_pid:
        # A child forked from us (pyroute2 reads another namespace from a forked child and
        # stops it with SIGTERM) inherits the handler. Unwinding there would run the
        # parent's `finally` blocks -- stopping the parent's daemons, deleting its temp
        # directories -- and go on with the parent's work in the child. It dies as it would
        # have without us.
        import signal

        signal.signal(signo, signal.SIG_DFL)
        os.kill(os.getpid(), signo)
        return
    raise Terminated(signo)


def console_main() -> None:
    """The `ovnguard` console script: `main()` in a process that ends with it. `check` is
    then one piece of work (ovnguard.oneshot); `main()` called in a longer-lived process (the
    tests' in-process runs) leaves that process as it is."""
    import os
    import signal

    global _owner_pid
    _owner_pid = os.getpid()
    before = {signo: signal.signal(signo, _terminated)
              for signo in (signal.SIGTERM, signal.SIGHUP)}
    try:
        if _verb(sys.argv[1:]) == "check":
            from ovnguard.oneshot import one_shot_process

            one_shot_process()  # load, judge, print, exit: see ovnguard.oneshot
        main()
    finally:
        # called in-process (tests, a library caller), the process keeps its own handlers
        for signo, handler in before.items():
            signal.signal(signo, handler)


def main() -> None:
    # Every user-facing failure is one line on stderr and an exit code; a traceback would be a
    # bug, so only OvnguardError is caught here.
    from ovnguard.cli.options import lang_from_argv, quiet_pipes
    from ovnguard.errors import OvnguardError
    from ovnguard.i18n import _, language_from_env, set_language
    from ovnguard.report.safe import visible

    # `ovnguard check ... | head -1`: a closed pipe drops the rest, the exit code stays
    quiet_pipes()
    # before the verb's module is imported: its --help texts are made in this language
    set_language(lang_from_argv(sys.argv[1:]) or language_from_env())
    try:
        build_app(_verb(sys.argv[1:]))()
    except OvnguardError as e:
        # the message names files and rows: shown, never acted on by the terminal
        print(_("ovnguard: error: {message}").format(message=visible(str(e))),
              file=sys.stderr)
        sys.exit(e.exit_code)
    except KeyboardInterrupt:
        print(_("ovnguard: interrupted"), file=sys.stderr)
        sys.exit(130)
    except Terminated as e:
        print(_("ovnguard: terminated"), file=sys.stderr)
        sys.exit(128 + e.signo)
