"""What the daemons logged meanwhile: reading ovn-controller / ovs-vswitchd / northd logs
from where the rehearsal started.
"""
from __future__ import annotations

import re
from pathlib import Path

from ovnguard.lab.lab import Lab
from ovnguard.lab.rehearse.result import LogLine

# --- logs ------------------------------------------------------------------------------

# Worth reporting although logged at INFO: the lines that say why something was not
# realized, and binding moves.
NOTABLE_INFO = (
    "bridge not found for localnet port",
    "Claiming lport",
    "Releasing lport",
    "Changing chassis for lport",
)
_LOG = re.compile(r"^(\S+)\|\d+\|([^|]+)\|([A-Z]+)\|(.*)$")


def parse_log(text: str, daemon: str) -> list[LogLine]:
    """Warnings, errors and notable INFO lines of an OVS/OVN log file fragment."""
    out = []
    for line in text.splitlines():
        m = _LOG.match(line)
        if not m:
            continue
        ts, module, level, message = m.groups()
        if level in ("WARN", "ERR", "EMER") or (
            level == "INFO" and any(p in message for p in NOTABLE_INFO)
        ):
            out.append(LogLine(daemon, ts, module, level, message))
    return out


def log_files(lab: Lab) -> dict[tuple[str, str], Path]:
    files: dict[tuple[str, str], Path] = {
        ("", "ovn-northd"): lab.layout.northd_dir / "ovn-northd.log",
    }
    for h in lab.host_names():
        hp = lab.host_paths(h)
        files[(h, "ovn-controller")] = hp.controller_log
        files[(h, "ovs-vswitchd")] = hp.vswitchd_log
    return files


def file_size(p: Path) -> int:
    try:
        return p.stat().st_size
    except OSError:
        return 0


def read_from(p: Path, offset: int) -> str:
    try:
        with p.open("rb") as f:
            f.seek(offset)
            return f.read().decode(errors="replace")
    except OSError:
        return ""


