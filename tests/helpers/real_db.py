"""Build real OVSDB files for tests: a real ovsdb-server, real ovn-nbctl/ovn-sbctl/ovs-vsctl.

Fixtures are never hand-typed OVSDB JSON: this starts ovsdb-server on a fresh database (about
20 ms), runs the given command lines against it, stops it, and returns the file.
"""

from __future__ import annotations

import os
import shlex
import signal
import socket
import subprocess
import time
from collections.abc import Iterable
from pathlib import Path

SCHEMAS = {
    "nb": ("/usr/share/ovn/ovn-nb.ovsschema", "ovn-nbctl"),
    "sb": ("/usr/share/ovn/ovn-sb.ovsschema", "ovn-sbctl"),
    "vswitch": ("/usr/share/openvswitch/vswitch.ovsschema", "ovs-vsctl"),
}


class RealDb:
    """A running ovsdb-server over one database file (context manager)."""

    def __init__(self, path: Path, kind: str) -> None:
        self.path = path
        self.kind = kind
        self.dir = path.parent
        stem = path.stem
        self.sock = self.dir / f"{stem}.sock"
        self.pidfile = self.dir / f"{stem}.pid"
        self.ctl = self.dir / f"{stem}.ctl"
        self.log = self.dir / f"{stem}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> RealDb:
        schema, _ = SCHEMAS[self.kind]
        if not self.path.exists():
            subprocess.run(["ovsdb-tool", "create", str(self.path), schema], check=True)
        self.proc = subprocess.Popen(
            [
                "ovsdb-server", str(self.path), f"--remote=punix:{self.sock}",
                f"--pidfile={self.pidfile}", f"--unixctl={self.ctl}", f"--log-file={self.log}",
            ],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        try:
            self._wait_ready()
            if self.kind == "vswitch":
                self.run("--no-wait init")
        except BaseException:
            # __exit__ does not run when __enter__ raises: stop the server here, or it leaks
            # and keeps the database locked.
            self.__exit__(None, None, None)
            raise
        return self

    def _wait_ready(self) -> None:
        # The socket file appears slightly before ovsdb-server accepts on it: wait for a
        # connection to succeed, not for the file.
        assert self.proc is not None
        deadline = time.monotonic() + 10
        while True:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                log = self.log.read_text() if self.log.exists() else ""
                raise RuntimeError(f"ovsdb-server did not start: {log}")
            if self.sock.exists():
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                    try:
                        s.connect(str(self.sock))
                        return
                    except OSError:
                        pass
            time.sleep(0.005)

    def run(self, line: str | list[str]) -> str:
        """Run one ovn-nbctl/ovn-sbctl/ovs-vsctl command line (without the program name)."""
        _, prog = SCHEMAS[self.kind]
        args = shlex.split(line) if isinstance(line, str) else list(line)
        extra = ["--no-wait"] if self.kind == "vswitch" and "--no-wait" not in args else []
        r = subprocess.run(
            [prog, f"--db=unix:{self.sock}", *extra, *args],
            capture_output=True, text=True, timeout=30,
        )
        if r.returncode != 0:
            raise RuntimeError(f"{prog} {line!r} failed: {r.stderr.strip()}")
        return r.stdout

    def backup(self, out: Path) -> Path:
        schema_name = {"nb": "OVN_Northbound", "sb": "OVN_Southbound", "vswitch": "Open_vSwitch"}
        with out.open("wb") as f:
            subprocess.run(
                ["ovsdb-client", "backup", f"unix:{self.sock}", schema_name[self.kind]],
                stdout=f, check=True, timeout=30,
            )
        return out

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for p in (self.sock, self.pidfile, self.ctl):
            if p.exists() or p.is_symlink():
                os.unlink(p)


def make_db(path: Path, kind: str, commands: Iterable[str | list[str]] = ()) -> Path:
    """Create `path` (kind nb|sb|vswitch) and run `commands` against it with the real CLI."""
    with RealDb(path, kind) as db:
        for c in commands:
            db.run(c)
    return path
