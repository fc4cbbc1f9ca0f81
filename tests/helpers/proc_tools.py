"""Finding a test's own processes, whatever their pidfiles say."""

from __future__ import annotations

import os
from pathlib import Path

from ovnguard.lab.process import is_alive


def processes_mentioning(path: Path) -> list[int]:
    """Live (non-zombie) processes whose command line mentions `path/`: a lab daemon in that
    run dir, or a guard watcher / sentinel of that state dir."""
    token = (str(path.absolute()) + os.sep).encode()
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            raw = Path(f"/proc/{entry.name}/cmdline").read_bytes()
        except OSError:
            continue
        if token in raw and is_alive(int(entry.name)):
            found.append(int(entry.name))
    return found
