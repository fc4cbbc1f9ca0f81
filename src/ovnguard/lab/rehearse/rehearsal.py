"""`rehearse()`: start the replica, record every chassis, run the change, read back what
real OVN did, stop the lab whatever happened. The only part that runs daemons.
"""
from __future__ import annotations

import contextlib
import shutil
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ovnguard.change.model import Change
from ovnguard.errors import LabError
from ovnguard.lab.lab import Lab
from ovnguard.lab.rehearse.execute import apply_for_real
from ovnguard.lab.rehearse.logs import file_size, log_files, parse_log, read_from
from ovnguard.lab.rehearse.ports import HostOvs, bridge_ports, patch_delta, read_host
from ovnguard.lab.rehearse.result import (
    CommandRun,
    HostOutcome,
    LogLine,
    RehearsalResult,
    TraceResult,
)
from ovnguard.lab.rehearse.trace import mark_introduced, trace_host
from ovnguard.lab.replica import ReplicaPlan, plan_replica, start_replica

COMMAND_TIMEOUT = 10.0  # seconds for one command of the change
SYNC_TIMEOUT = 10.0  # seconds for every chassis to catch up after the change

# --- rehearsing ------------------------------------------------------------------------


def rehearse(
    bundle_dir: str | Path,
    change: Change,
    *,
    run_dir: str | Path | None = None,
    keep_lab: bool = False,
    timeout: float = 60.0,
    sync_timeout: float = SYNC_TIMEOUT,
    command_timeout: float = COMMAND_TIMEOUT,
    plan: ReplicaPlan | None = None,
) -> RehearsalResult:
    """Rehearse `change` on a replica of the bundle's cluster (see the module docstring).

    InputError for a bad bundle, LabError when the lab cannot start or be read. The lab is
    stopped before returning or raising unless `keep_lab`; a temporary run dir (no
    `run_dir`) is then deleted too.
    """
    started = time.monotonic()
    plan = plan or plan_replica(bundle_dir)
    temp_dir = None
    if run_dir is None:
        temp_dir = Path(tempfile.mkdtemp(prefix="ovnguard-rehearse-"))
        run_dir = temp_dir
    lab: Lab | None = None
    try:
        lab = start_replica(plan, run_dir, timeout=timeout)
        outcome = _Rehearsal(lab, plan, change, sync_timeout, command_timeout).run()
        result = _finish(outcome, plan, change, lab, keep_lab, time.monotonic() - started)
    except BaseException:
        if not keep_lab:
            with contextlib.suppress(LabError):  # the first error is the one to report
                _teardown(lab, temp_dir)
        raise
    if not keep_lab:
        _teardown(lab, temp_dir)
    return result


def _teardown(lab: Lab | None, temp_dir: Path | None) -> None:
    # Lab.up stops what it started when it fails; a lab already running in a given run dir
    # (the reason it failed) is someone else's and stays untouched.
    try:
        if lab is not None:
            lab.down()
    finally:
        if temp_dir is not None:
            shutil.rmtree(temp_dir, ignore_errors=True)


def _finish(
    r: _Outcome, plan: ReplicaPlan, change: Change, lab: Lab, kept: bool, seconds: float
) -> RehearsalResult:
    notes = [*plan.notes, *(n for h in plan.hosts for n in h.notes)]
    return RehearsalResult(
        bundle=str(plan.bundle),
        change=change.path,
        run_dir=str(lab.run_dir),
        kept=kept,
        commands=r.commands,
        hosts=r.hosts,
        central_logs=r.central_logs,
        synced=r.synced,
        sync_error=r.sync_error,
        sync_seconds=r.sync_seconds,
        dead_central=r.dead_central,
        notes=tuple(notes),
        seconds=seconds,
    )


@dataclass
class _Outcome:
    commands: tuple[CommandRun, ...]
    hosts: dict[str, HostOutcome]
    central_logs: tuple[LogLine, ...]
    synced: bool
    sync_error: str
    sync_seconds: float
    dead_central: tuple[str, ...]


@dataclass
class _HostSnapshot:
    ovs: HostOvs
    traces: list[TraceResult]


class _Rehearsal:
    def __init__(
        self,
        lab: Lab,
        plan: ReplicaPlan,
        change: Change,
        sync_timeout: float,
        command_timeout: float,
    ) -> None:
        self.lab = lab
        self.plan = plan
        self.change = change
        self.sync_timeout = sync_timeout
        self.command_timeout = command_timeout
        self.hosts = lab.host_names()
        self.chassis = {h.name: h.chassis for h in plan.hosts}

    def _each_host(self, fn: Callable[[str], Any]) -> dict[str, Any]:
        with ThreadPoolExecutor(max_workers=min(8, max(1, len(self.hosts)))) as pool:
            futures = {h: pool.submit(fn, h) for h in self.hosts}
            return {h: f.result() for h, f in futures.items()}

    def _snapshot(self, host: str) -> _HostSnapshot:
        ovs = read_host(self.lab, host)
        return _HostSnapshot(ovs, trace_host(self.lab, host, ovs))

    def run(self) -> _Outcome:
        before: dict[str, _HostSnapshot] = self._each_host(self._snapshot)
        logs = log_files(self.lab)
        offsets = {key: file_size(p) for key, p in logs.items()}
        pids_before = self.lab.pids()

        commands = apply_for_real(self.lab, self.change, self.plan, self.command_timeout)

        t0 = time.monotonic()
        synced, sync_error = True, ""
        try:
            self.lab.wait_hv(timeout=self.sync_timeout)
        except LabError as e:
            synced, sync_error = False, str(e)
        sync_seconds = time.monotonic() - t0

        # Logs are cut here: what follows (traces, the recompute) is the rehearsal's own doing.
        new_logs = {key: parse_log(read_from(p, offsets[key]), key[1]) for key, p in logs.items()}
        pids_after = self.lab.pids()
        after: dict[str, _HostSnapshot] = self._each_host(self._snapshot)

        # Ports no longer wanted may stay until a full recompute (ovn-controller 23.03 keeps
        # a patch pair after the last local VIF goes away); one recompute tells them apart.
        recomputed: dict[str, HostOvs] = {}
        if synced:
            for h in self.hosts:
                with contextlib.suppress(LabError):
                    self.lab.appctl_controller(h, "recompute")
            with contextlib.suppress(LabError):
                self.lab.wait_hv(timeout=self.sync_timeout)
            recomputed = self._each_host(lambda h: read_host(self.lab, h))

        hosts: dict[str, HostOutcome] = {}
        for h in self.hosts:
            b, a = before[h], after[h]
            traces = mark_introduced(b.traces, a.traces)
            r = recomputed.get(h)
            delta = patch_delta(b.ovs.ports, a.ovs.ports, r.ports if r else None)
            dead = tuple(
                sorted(
                    k.split("/", 1)[1]
                    for k in pids_before
                    if k.startswith(h + "/") and k not in pids_after
                )
            )
            host_logs = tuple(
                ln for (who, _), lines in new_logs.items() if who == h for ln in lines
            )
            hosts[h] = HostOutcome(
                host=h,
                chassis=self.chassis.get(h, h),
                ports_before=bridge_ports(b.ovs.ports),
                ports_after=bridge_ports(a.ovs.ports),
                delta=delta,
                logs=tuple(sorted(host_logs, key=lambda ln: ln.time)),
                traces=tuple(traces),
                dead_daemons=dead,
            )
        central = tuple(ln for (who, _), lines in new_logs.items() if who == "" for ln in lines)
        dead_central = tuple(sorted(k for k in pids_before if "/" not in k and k not in pids_after))
        return _Outcome(commands, hosts, central, synced, sync_error, sync_seconds, dead_central)


