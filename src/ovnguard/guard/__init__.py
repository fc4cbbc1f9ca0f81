"""Guard: apply a change with a dead-man switch ("commit confirmed"). See docs/guard.md.

    from ovnguard.guard import ApplyOptions, apply_guarded, confirm, rollback, status

`apply_guarded` runs the what-if, checks the probes, takes the database's lock and starts a
detached watcher (`python -m ovnguard.guard.watcher`) that backs the database up, applies
the change as one transaction and rolls it back at the deadline or when a probe fails,
unless `confirm` comes first. `inverse` holds the pure parts: the row edits a change made,
the rollback transaction (RFC 7047, with `wait` guards) and its verification.
"""

from ovnguard.guard.arm import ApplyOptions, Refused, apply_guarded
from ovnguard.guard.control import confirm, durations, rollback, status
from ovnguard.guard.inverse import (
    Current,
    Difference,
    RollbackPlan,
    RowEdit,
    diff_rows,
    plan_rollback,
    verify_rollback,
)
from ovnguard.guard.probes import Probe, ProbeContext, ProbeResult, parse_probe, run_probe
from ovnguard.guard.state import GuardDir, GuardError, default_state_dir

__all__ = [
    "ApplyOptions",
    "Current",
    "Difference",
    "GuardDir",
    "GuardError",
    "Probe",
    "ProbeContext",
    "ProbeResult",
    "Refused",
    "RollbackPlan",
    "RowEdit",
    "apply_guarded",
    "confirm",
    "default_state_dir",
    "diff_rows",
    "durations",
    "parse_probe",
    "plan_rollback",
    "rollback",
    "run_probe",
    "status",
    "verify_rollback",
]
