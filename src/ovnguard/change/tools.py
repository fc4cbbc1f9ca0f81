"""Where the real OVN/OVS tools are, and which versions they are.

`find_tools(bindir)` looks for ovsdb-server, ovn-nbctl, ovn-sbctl, ovs-vsctl and
ovsdb-client in `bindir` (`--ovn-bindir`, e.g. a container's binaries copied out, or an
other OVN release's build) and then on PATH. Versions come from each tool's `--version`,
remembered in $XDG_CACHE_HOME/ovnguard/tool-versions.json (~/.cache/...) under the binary's
path, inode, size and modification time: five `--version` runs were ~13 ms of CPU, 7% of a
small `check` (docs/performance.md). A binary replaced or rebuilt is run again; a cache that
cannot be read or written is only not used.
Nothing here ever connects to anything: the tools are only run against throwaway
ovsdb-servers in a temporary directory (see realtools.py).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from dataclasses import field
from functools import cache
from pathlib import Path

from ovnguard import cachefile
from ovnguard.errors import InputError
from ovnguard.record import record

NAMES = ("ovsdb-server", "ovsdb-client", "ovn-nbctl", "ovn-sbctl", "ovs-vsctl")
_VERSION = re.compile(r"(\d+\.\d+(?:\.\d+)?)")


@record
class Tools:
    bindir: str | None
    paths: dict[str, str] = field(default_factory=dict)  # name -> absolute path

    def path(self, name: str) -> str | None:
        return self.paths.get(name)

    @property
    def complete(self) -> bool:
        """Enough to run ovn-nbctl and ovs-vsctl lines."""
        return all(n in self.paths for n in ("ovsdb-server", "ovsdb-client", "ovn-nbctl",
                                            "ovs-vsctl"))

    @property
    def missing(self) -> tuple[str, ...]:
        return tuple(n for n in NAMES if n not in self.paths)

    def versions(self) -> dict[str, str]:
        """tool name -> version (e.g. {"ovn-nbctl": "23.03.1", "ovs-vsctl": "3.1.0"})."""
        out = {}
        for name, p in sorted(self.paths.items()):
            v = tool_version(p)
            if v:
                out[name] = v
        return out


def find_tools(bindir: str | Path | None = None) -> Tools:
    if bindir is not None:
        d = Path(bindir)
        if not d.is_dir():
            raise InputError("--ovn-bindir: not a directory", str(d))
    paths: dict[str, str] = {}
    for name in NAMES:
        found = None
        if bindir is not None:
            cand = Path(bindir) / name
            if cand.is_file() and os.access(cand, os.X_OK):
                found = str(cand)
        if found is None:
            found = shutil.which(name)
        if found is not None:
            paths[name] = found
    return Tools(None if bindir is None else str(bindir), paths)


@cache
def tool_version(path: str) -> str | None:
    """The version a tool prints first (`ovn-nbctl 23.03.1` -> "23.03.1")."""
    key = _binary_key(path)
    known = _remembered().get(key) if key else None
    if isinstance(known, str):
        return known
    try:
        r = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=10,
                           check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    m = _VERSION.search(r.stdout.splitlines()[0] if r.stdout else "")
    version = m.group(1) if m else None
    if version and key:
        _remember(key, version)
    return version


CACHE_NAME = "tool-versions.json"  # in cachefile.cache_dir()
_KEEP = 64  # versions remembered: bounds the file where many builds come and go


def _binary_key(path: str) -> str | None:
    """What identifies the binary that `path` runs: replaced or rebuilt, it changes."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return f"{os.path.realpath(path)} {st.st_dev}:{st.st_ino}:{st.st_size}:{st.st_mtime_ns}"


@cache
def _remembered() -> dict[str, object]:
    raw = cachefile.read(CACHE_NAME)
    try:
        data = json.loads(raw) if raw is not None else {}
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _remember(key: str, version: str) -> None:
    known = _remembered()
    known.pop(key, None)
    known[key] = version
    for old in list(known)[:-_KEEP]:
        del known[old]
    cachefile.write(CACHE_NAME, json.dumps(known).encode())
