"""`ovnguard rehearse`: run a change for real against a replica of the cluster in a bundle.

    result = rehearse("bundle/", read_change("change.sh"))
    result.to_json(); result.exit_code

The replica (replica.py) is started, each chassis' ports and L2 behaviour are recorded, every
line of the change runs as the real tool (`ovn-nbctl` against the lab NB, `ovs-vsctl`
against the `# host:` chassis' own database), `ovn-nbctl --wait=hv sync` waits until every
chassis caught up, and what really happened is read back: patch ports real ovn-controller
added or removed, what the daemons logged meanwhile, commands that failed with the tool's
own error, and L2 loops found by `ofproto/trace` of a broadcast entering each provider
bridge from each NIC and each localnet patch port. The lab is then stopped, whatever
happened, unless asked to keep it.

Pure parts (trace and log parsing, the Neutron translation, the result) are plain functions
of their inputs; the orchestration in `rehearse()` is the only place that runs daemons.
"""
from __future__ import annotations

from ovnguard.lab.rehearse.execute import apply_for_real, lab_nb, strip_global_options
from ovnguard.lab.rehearse.logs import NOTABLE_INFO, parse_log
from ovnguard.lab.rehearse.nbctl import nbctl_for_changes, neutron_nbctl_commands
from ovnguard.lab.rehearse.ports import HostOvs, LivePort, bridge_ports, patch_delta, read_host
from ovnguard.lab.rehearse.rehearsal import COMMAND_TIMEOUT, SYNC_TIMEOUT, rehearse
from ovnguard.lab.rehearse.result import (
    SCHEMA_VERSION,
    CommandRun,
    HostOutcome,
    LogLine,
    RehearsalResult,
    Status,
    TraceResult,
    Verdict,
)
from ovnguard.lab.rehearse.trace import (
    BROADCAST,
    dp_port_names,
    mark_introduced,
    parse_trace,
    trace_host,
)

__all__ = [
    "BROADCAST",
    "COMMAND_TIMEOUT",
    "NOTABLE_INFO",
    "SCHEMA_VERSION",
    "SYNC_TIMEOUT",
    "CommandRun",
    "HostOutcome",
    "HostOvs",
    "LivePort",
    "LogLine",
    "RehearsalResult",
    "Status",
    "TraceResult",
    "Verdict",
    "apply_for_real",
    "bridge_ports",
    "dp_port_names",
    "lab_nb",
    "mark_introduced",
    "nbctl_for_changes",
    "neutron_nbctl_commands",
    "parse_log",
    "parse_trace",
    "patch_delta",
    "read_host",
    "rehearse",
    "strip_global_options",
    "trace_host",
]
