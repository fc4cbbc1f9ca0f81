"""The lab's state file (`<run dir>/lab.json`) and the status report built from it.

The state file lets `lab status` / `lab down` in another process find every daemon, socket
and log of a lab started elsewhere.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ValidationError

from ovnguard.errors import InputError, LabError
from ovnguard.i18n import _
from ovnguard.lab.topology import Topology
from ovnguard.sources import safeio

STATE_SCHEMA_VERSION = 1


class DaemonRecord(BaseModel):
    name: str
    pidfile: str
    logfile: str
    pid: int | None = None
    ctl: str | None = None


class HostRecord(BaseModel):
    name: str
    dir: str
    db_remote: str
    encap_ip: str
    daemons: list[DaemonRecord] = []


class LabState(BaseModel):
    schema_version: Literal[1] = 1
    run_dir: str
    created_at: str
    nb_remote: str
    sb_remote: str
    central: list[DaemonRecord] = []
    hosts: list[HostRecord] = []
    topology: Topology

    def host(self, name: str) -> HostRecord:
        for h in self.hosts:
            if h.name == name:
                return h
        known = ", ".join(h.name for h in self.hosts)
        raise LabError(_(
            "no host {name} in the lab at {run_dir} (hosts: {known})").format(
            name=repr(name), run_dir=self.run_dir, known=known))

    def all_daemons(self) -> list[DaemonRecord]:
        return [*self.central, *(d for h in self.hosts for d in h.daemons)]


def write_state(path: Path, state: BaseModel) -> None:
    """A lab's state file (this lab.json, or a data-plane lab's dataplane.json)."""
    # Write-then-rename: a reader in another process never sees half a file.
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(state.model_dump_json(indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def read_state(path: Path) -> LabState:
    if not path.exists():
        raise LabError(
            _(
            "no lab in {parent} (no {name}); start one with `ovnguard lab up`").format(
            parent=path.parent, name=path.name))
    try:
        text = safeio.read_text(path, limit=safeio.MAX_STATE_BYTES, max_line=None)
    except InputError as e:
        raise LabError(_(
            "cannot read lab state: {e}").format(
            e=e)) from None
    try:
        return LabState.model_validate(json.loads(text))
    except (ValueError, ValidationError) as e:
        first = str(e).splitlines()[0]
        raise LabError(
            _(
            "lab state file {path} is damaged ({first}); run `ovnguard lab down`").format(
            path=path, first=first)
        ) from None


# --- status ----------------------------------------------------------------------------


class DaemonStatus(BaseModel):
    name: str
    pid: int | None
    running: bool
    log: str


class ChassisStatus(BaseModel):
    name: str
    registered: bool
    running: bool
    encap_ip: str
    bridge_mappings: str
    management: str | None
    dir: str
    daemons: list[DaemonStatus]


class LabStatus(BaseModel):
    schema_version: Literal[1] = 1
    run_dir: str
    created_at: str
    # Every daemon of the lab is alive.
    running: bool
    # The SB database answered; if not, `registered` is false everywhere.
    sb_reachable: bool
    nb_remote: str
    sb_remote: str
    central: list[DaemonStatus]
    chassis: list[ChassisStatus]

    @property
    def healthy(self) -> bool:
        return self.running and all(c.registered for c in self.chassis)
