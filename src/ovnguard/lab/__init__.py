"""A real OVN on this machine (ovn-northd, NB/SB ovsdb-servers, N chassis) for tests,
predictions checked against real ovn-controller, and rehearsals. See docs/lab.md."""

from ovnguard.lab.lab import Lab, Preload, ProgressFn, environ_for
from ovnguard.lab.layout import DEFAULT_RUN_DIR, RUN_DIR_ENV, RunLayout, default_run_dir
from ovnguard.lab.state import ChassisStatus, DaemonStatus, LabState, LabStatus
from ovnguard.lab.topology import (
    Bridge,
    Host,
    Logical,
    Management,
    Nat,
    Router,
    RouterPort,
    StaticRoute,
    Switch,
    SwitchPort,
    Topology,
    load_topology,
    parse_topology,
    seed_topology,
)

__all__ = [
    "DEFAULT_RUN_DIR",
    "RUN_DIR_ENV",
    "Bridge",
    "ChassisStatus",
    "DaemonStatus",
    "Host",
    "Lab",
    "LabState",
    "LabStatus",
    "Logical",
    "Management",
    "Nat",
    "Preload",
    "ProgressFn",
    "Router",
    "RouterPort",
    "RunLayout",
    "StaticRoute",
    "Switch",
    "SwitchPort",
    "Topology",
    "default_run_dir",
    "environ_for",
    "load_topology",
    "parse_topology",
    "seed_topology",
]
