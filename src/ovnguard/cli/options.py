"""What every verb that talks to OVN spells the same way as OVN's own tools, and how every
verb writes to a pipe.

- `--nb` / `--sb` default to `$OVN_NB_DB` / `$OVN_SB_DB`, as ovn-nbctl and ovn-sbctl do.
- SSL files are ovn-nbctl's `-p/--private-key`, `-c/--certificate`, `-C/--ca-cert`
  everywhere; the change file is always `--change`, spelled out, so `-c` never means two
  things. Someone typing `check -c fix.sh` out of habit is told so in one line.
- A closed pipe (`ovnguard check ... | head -1`) is not an error: the rest of the output is
  dropped quietly, like other Unix tools do, and the exit code is still the verdict's.
- `--lang ko|en` is accepted by every verb (and before it): one option, added to every
  command of the tree by `LangGroup`, default from the locale (ovnguard.i18n).
"""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from typer.core import TyperGroup

from ovnguard.errors import InputError
from ovnguard.i18n import LANGUAGES, _, set_language

if TYPE_CHECKING:
    from ovnguard.sources.live import SslFiles

NB_ENV = "OVN_NB_DB"
SB_ENV = "OVN_SB_DB"


def nb_option(help: str, **kw: Any) -> Any:
    return typer.Option(None, "--nb", envvar=NB_ENV, show_envvar=True, help=help, **kw)


def sb_option(help: str, **kw: Any) -> Any:
    return typer.Option(None, "--sb", envvar=SB_ENV, show_envvar=True, help=help, **kw)


def private_key_option(**kw: Any) -> Any:
    return typer.Option(None, "--private-key", "-p", dir_okay=False,
                        help=_("SSL private key for ssl: remotes (as ovn-nbctl -p)."), **kw)


def certificate_option(**kw: Any) -> Any:
    return typer.Option(None, "--certificate", "-c", dir_okay=False,
                        help=_(
                                "SSL certificate for ssl: remotes (as ovn-nbctl -c). The change "
                                "file is --change."), **kw)


def ca_cert_option(**kw: Any) -> Any:
    return typer.Option(None, "--ca-cert", "-C", dir_okay=False,
                        help=_("SSL CA certificate for ssl: remotes (as ovn-nbctl -C)."), **kw)


class Lang(StrEnum):
    en = "en"
    ko = "ko"


def _lang_chosen(value: Lang | None) -> None:
    if value is not None:
        set_language(value.value)


def lang_option() -> Any:
    return typer.Option(
        None, "--lang", callback=_lang_chosen, is_eager=True, expose_value=False,
        case_sensitive=False,
        help=_("Language of messages and reports: ko (Korean) or en (English). Default: "
               "the locale (LANGUAGE, LC_ALL, LC_MESSAGES, LANG; ko_KR gives Korean). "
               "JSON keys, rule ids and exit codes are the same in both."))


def _lang_param() -> Any:
    """The click parameter of `lang_option`, built by typer from a one-option command."""
    holder = typer.Typer()

    @holder.command()
    def _holder(lang: Lang | None = lang_option()) -> None:  # pragma: no cover - never run
        pass

    return next(p for p in typer.main.get_command(holder).params if p.name == "lang")


class LangGroup(TyperGroup):
    """The root group: gives every command and group below it the one `--lang` option, so
    `ovnguard check --lang ko` and `ovnguard --lang ko check` both work."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        param = _lang_param()

        def add(cmd: Any) -> None:
            if not any(p.name == "lang" for p in cmd.params):
                cmd.params.append(param)
            for sub in getattr(cmd, "commands", {}).values():
                add(sub)

        add(self)


def lang_from_argv(argv: Sequence[str]) -> str | None:
    """The `--lang` of a command line, read before the CLI is built so that its help texts
    are made in that language too (typer builds them when the verb's module is imported)."""
    for i, a in enumerate(argv):
        if a == "--":
            break
        value = argv[i + 1] if a == "--lang" and i + 1 < len(argv) else (
            a.removeprefix("--lang=") if a.startswith("--lang=") else None)
        if value is not None and value.lower() in LANGUAGES:
            return value.lower()
    return None


def _is_certificate(path: Path) -> bool:
    try:
        with path.open("rb") as f:
            head = f.read(65536)
    except OSError:
        return True  # unreadable: SslFiles.check or ovsdb-client says why when it is used
    # PEM (what ovn-nbctl takes); a DER certificate starts with an ASN.1 SEQUENCE
    return b"-----BEGIN " in head or head[:1] == b"\x30"


def ssl_files(private_key: Path | None, certificate: Path | None,
              ca_cert: Path | None) -> SslFiles | None:
    """The SSL files given, or None. A -c that is not a certificate is most likely a change
    file typed as in older versions (`check -c fix.sh`): say so instead of failing later."""
    if certificate is not None and not certificate.is_file():
        raise InputError(_(
                "no such certificate file (-c is --certificate, as ovn-nbctl -c; a change file "
                "is --change)"), str(certificate))
    if certificate is not None and not _is_certificate(certificate):
        raise InputError(_(
                "-c is --certificate (SSL, as ovn-nbctl -c) and this is not a certificate; to "
                "check a change file, use --change {certificate}").format(
                certificate=certificate), str(certificate))
    if private_key is None and certificate is None and ca_cert is None:
        return None
    from ovnguard.sources.live import SslFiles  # not for a bundle check: SSH, netlink...

    return SslFiles(private_key, certificate, ca_cert)


def no_short_c(value: Path | None) -> None:
    """For verbs without SSL files: `-c FILE` is refused with the spelling to use."""
    if value is not None:
        raise InputError(_(
                "-c is not an option here (it is ovn-nbctl's --certificate); the change file is "
                "--change {value}").format(
                value=value), "-c")


def hidden_c_option() -> Any:
    return typer.Option(None, "-c", hidden=True, dir_okay=False)


# ---------------------------------------------------------------------------------------
# Closed pipes


class _QuietPipe(io.RawIOBase):
    """A file descriptor that swallows EPIPE: once the reader is gone, later writes are
    dropped (like `yes | head -1`), and the program finishes and exits with its own code."""

    def __init__(self, fd: int) -> None:
        super().__init__()
        self._fd = fd
        self.broken = False

    def writable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self._fd

    def isatty(self) -> bool:
        return os.isatty(self._fd)

    def write(self, b: Any) -> int:
        data = memoryview(b).cast("B")
        if self.broken:
            return len(data)
        try:
            return os.write(self._fd, data)
        except BrokenPipeError:
            self.broken = True
            # anything still buffered elsewhere (the original sys.stdout, C code) goes to
            # /dev/null instead of failing again at exit
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self._fd)
            os.close(devnull)
            return len(data)


def quiet_pipes() -> None:
    """Make sys.stdout and sys.stderr ignore a closed pipe (see module doc). A terminal is
    left as it is."""
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        try:
            fd = stream.fileno()
        except (AttributeError, OSError, ValueError):
            continue  # replaced already (a test runner's capture): leave it
        if os.isatty(fd):
            continue
        stream.flush()
        wrapper = io.TextIOWrapper(
            io.BufferedWriter(_QuietPipe(fd)), encoding=stream.encoding,
            errors=stream.errors, line_buffering=name == "stderr", write_through=False)
        setattr(sys, name, wrapper)
