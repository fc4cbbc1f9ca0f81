"""What a data-plane lab leaves on disk and in /run, and how a dead one is cleaned up:
the state file, the registry of live labs, and the teardown of namespaces, daemons,
listeners and cgroup."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ValidationError

from ovnguard.errors import LabError
from ovnguard.i18n import _
from ovnguard.lab import netns
from ovnguard.lab.dataplane.cgroup import cgroup_dir, remove_cgroup
from ovnguard.lab.dataplane.plan import Control, DataplanePlan, StormLimits
from ovnguard.lab.layout import (
    RunLayout,
)
from ovnguard.lab.process import (
    is_alive,
    is_ours,
    read_pidfile,
    scan_our_daemons,
    stop_pids,
)
from ovnguard.lab.rundir import remove_runtime_files
from ovnguard.lab.state import write_state

STATE_FILE = "dataplane.json"
# /run is a tmpfs, like /run/netns: a record here lives exactly as long as the namespaces
# it describes (both vanish on reboot).
REGISTRY_DIR = Path("/run/ovnguard-lab")

# A tiny TCP service: accept, say who we are, close. Started per node inside its namespace
# with the run dir in its argv (how down() recognises it).
LISTENER = r"""
import os, socket, sys
addr, port, name, pidfile = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((addr, port))
s.listen(64)
with open(pidfile + ".tmp", "w") as f:
    f.write(str(os.getpid()))
os.replace(pidfile + ".tmp", pidfile)
banner = ("ovnguard-lab " + name + "\n").encode()
while True:
    c, _ = s.accept()
    try:
        c.sendall(banner)
    except OSError:
        pass
    c.close()
"""


# --- persisted state --------------------------------------------------------------------


class DataplaneState(BaseModel):
    schema_version: Literal[1] = 1
    run_dir: str
    created_at: str
    control: Control
    limits: StormLimits
    plan: DataplanePlan
    # The cpu cgroup holding the lab's ovs-vswitchd, or why there is none.
    cgroup: str | None = None
    cgroup_note: str | None = None
    listeners: dict[str, int] = {}


class Registration(BaseModel):
    lab_id: str
    run_dir: str
    owner_pid: int
    created_at: str


def _registry_file(lab_id: str) -> Path:
    return REGISTRY_DIR / f"{lab_id}.json"


def _read_registration(lab_id: str) -> Registration | None:
    try:
        return Registration.model_validate_json(_registry_file(lab_id).read_text())
    except (OSError, ValueError, ValidationError):
        return None


def register(reg: Registration) -> None:
    """Written before any namespace exists, so a namespace without a record is an orphan."""
    for attempt in range(3):
        REGISTRY_DIR.mkdir(parents=True, exist_ok=True)
        try:
            _registry_file(reg.lab_id).write_text(reg.model_dump_json() + "\n")
            return
        except FileNotFoundError:
            # Another lab's teardown removed the (then empty) directory in between.
            if attempt == 2:
                raise


def write_dataplane_state(path: Path, state: DataplaneState) -> None:
    write_state(path, state)


def read_dataplane_state(path: Path) -> DataplaneState:
    try:
        return DataplaneState.model_validate_json(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise LabError(_(
            "no data-plane lab in {parent} (no {name})").format(
            parent=path.parent, name=path.name)) from None
    except (OSError, ValueError, ValidationError) as e:
        first = str(e).splitlines()[0]
        raise LabError(_(
            "data-plane state {path} is damaged ({first})").format(
            path=path, first=first)) from None



# --- run dir, lock, clean-up -------------------------------------------------------------






def our_daemons(layout: RunLayout) -> list[int]:
    token = layout.ownership_token
    pids = set(scan_our_daemons(token))
    if layout.root.is_dir():
        for p in layout.root.rglob("*.pid"):
            pid = read_pidfile(p)
            if pid is not None:
                pids.add(pid)
    return sorted(p for p in pids if is_ours(p, token))


def _our_listeners(layout: RunLayout) -> list[int]:
    """Listener processes: ours if their argv names a pidfile inside the run dir."""
    token = layout.ownership_token
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        try:
            raw = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        args = [a.decode(errors="replace") for a in raw.split(b"\0") if a]
        ours = len(args) >= 3 and args[1] == "-c" and args[2] == LISTENER and token in args[-1]
        if ours and is_alive(pid):
            found.append(pid)
    return found




def teardown(lab_id: str, layout: RunLayout | None) -> list[str]:
    """Stop everything of lab `lab_id` (daemons, listeners, namespaces, cgroup, registry).
    Returns what could not be removed; an empty list means clean."""
    problems: list[str] = []
    if layout is not None:
        for pid in _our_listeners(layout):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, 15)
        survivors = stop_pids(our_daemons(layout), layout.ownership_token)
        if survivors:
            problems.append(f"daemons {survivors} did not stop")
    for ns in netns.list_namespaces(netns.namespace_name(lab_id, "")):
        try:
            netns.delete(ns)
        except LabError as e:
            problems.append(str(e))
    if not remove_cgroup(lab_id):
        problems.append(f"cpu cgroup {cgroup_dir(lab_id)} is not empty")
    _registry_file(lab_id).unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        REGISTRY_DIR.rmdir()  # only when no other lab is registered
    if layout is not None:
        remove_runtime_files(layout.root)
        (layout.root / STATE_FILE).unlink(missing_ok=True)
        layout.state.unlink(missing_ok=True)
    return problems


def _is_live(lab_id: str) -> bool:
    """A lab is live while its run dir holds its state and a daemon of it runs, or while the
    process that is starting it lives. Anything else with its id is a leftover."""
    reg = _read_registration(lab_id)
    if reg is None:
        return False
    layout = RunLayout.at(reg.run_dir)
    if not (layout.root / STATE_FILE).exists():
        return False
    if scan_our_daemons(layout.ownership_token):
        return True
    # Still starting (no daemon yet), or its owner keeps it: only a dead owner with no
    # daemon left makes a leftover.
    return is_alive(reg.owner_pid)


def cleanup_stale() -> list[str]:
    """Remove the namespaces (and daemons, cgroup, registry entry) of every data-plane lab
    that is no longer live: killed test runs, deleted run dirs. Returns the namespaces
    removed. A live lab, in this process or another, is left alone."""
    ids = {i for i in map(netns.lab_id_of, netns.list_namespaces()) if i}
    with contextlib.suppress(FileNotFoundError):
        ids |= {p.stem for p in REGISTRY_DIR.glob("*.json")}
    removed: list[str] = []
    for lab_id in sorted(ids):
        if _is_live(lab_id):
            continue
        names = netns.list_namespaces(netns.namespace_name(lab_id, ""))
        reg = _read_registration(lab_id)
        layout = RunLayout.at(reg.run_dir) if reg is not None else None
        # Only touch a run dir that is a lab's (marker present); its daemons are orphans.
        if layout is not None and not layout.marker.exists():
            layout = None
        teardown(lab_id, layout)
        removed += names
    return removed


