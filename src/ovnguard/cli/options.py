"""What every verb that talks to OVN spells the same way as OVN's own tools, and how every
verb writes to a pipe.

- `--nb` / `--sb` default to `$OVN_NB_DB` / `$OVN_SB_DB`, as ovn-nbctl and ovn-sbctl do.
- SSL files are ovn-nbctl's `-p/--private-key`, `-c/--certificate`, `-C/--ca-cert`
  everywhere; the change file is always `--change`, spelled out, so `-c` never means two
  things. Someone typing `check -c fix.sh` out of habit is told so in one line.
- A closed pipe (`ovnguard check ... | head -1`) is not an error: the rest of the output is
  dropped quietly, like other Unix tools do, and the exit code is still the verdict's.
"""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from ovnguard.errors import InputError

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
                        help="SSL private key for ssl: remotes (as ovn-nbctl -p).", **kw)


def certificate_option(**kw: Any) -> Any:
    return typer.Option(None, "--certificate", "-c", dir_okay=False,
                        help="SSL certificate for ssl: remotes (as ovn-nbctl -c). The change "
                        "file is --change.", **kw)


def ca_cert_option(**kw: Any) -> Any:
    return typer.Option(None, "--ca-cert", "-C", dir_okay=False,
                        help="SSL CA certificate for ssl: remotes (as ovn-nbctl -C).", **kw)


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
        raise InputError("no such certificate file (-c is --certificate, as ovn-nbctl -c; a "
                         "change file is --change)", str(certificate))
    if certificate is not None and not _is_certificate(certificate):
        raise InputError("-c is --certificate (SSL, as ovn-nbctl -c) and this is not a "
                         "certificate; to check a change file, use --change "
                         f"{certificate}", str(certificate))
    if private_key is None and certificate is None and ca_cert is None:
        return None
    from ovnguard.sources.live import SslFiles  # not for a bundle check: SSH, netlink...

    return SslFiles(private_key, certificate, ca_cert)


def no_short_c(value: Path | None) -> None:
    """For verbs without SSL files: `-c FILE` is refused with the spelling to use."""
    if value is not None:
        raise InputError(f"-c is not an option here (it is ovn-nbctl's --certificate); the "
                         f"change file is --change {value}", "-c")


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
