"""A real OVN on this machine: NB/SB ovsdb-servers, ovn-northd, and N chassis.

Each chassis has its own directory holding its ovsdb-server (Open_vSwitch), ovs-vswitchd
(dummy datapath) and ovn-controller, as OVN's own test suite does (`sim_add`/`ovn_attach`
in tests/ovn-macros.at).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import shutil
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import field
from pathlib import Path

from ovnguard.errors import LabError
from ovnguard.i18n import _
from ovnguard.lab import commands as cmd
from ovnguard.lab.console import CTL_TIMEOUT, OvnConsole, ctl_secs
from ovnguard.lab.layout import (
    NB_SCHEMA_CANDIDATES,
    SB_SCHEMA_CANDIDATES,
    VSWITCH_SCHEMA_CANDIDATES,
    RunLayout,
    default_run_dir,
)
from ovnguard.lab.process import (
    DaemonSpec,
    is_ours,
    log_tail_text,
    read_pidfile,
    run,
    scan_our_daemons,
    start_daemon,
    stop_pids,
)
from ovnguard.lab.protocol import StopsOnExit
from ovnguard.lab.rundir import (
    claim_run_dir,
    empty_run_dir,
    locked,
    refuse_running_lab,
    remove_runtime_files,
    schema_path,
)
from ovnguard.lab.state import (
    ChassisStatus,
    DaemonRecord,
    DaemonStatus,
    HostRecord,
    LabState,
    LabStatus,
    read_state,
    write_state,
)
from ovnguard.lab.topology import Topology, validate_topology
from ovnguard.record import record

# progress(stage, done, total); stages: "central", "chassis", "register", "sync".
ProgressFn = Callable[[str, int, int], None]


@record
class Preload:
    """What `Lab.up` takes ready-made instead of building it from the topology: a replica
    of a real cluster (`lab.replica.lab_from_bundle`)."""

    # A standalone OVN_Northbound file in the installed schema, served as the lab's NB
    # (the topology's logical section must then be empty).
    nb_db: Path | None = None
    # ovn-nbctl commands run with `init` in one transaction before ovn-northd starts.
    nb_commands: Sequence[Sequence[str]] = ()
    # Per host: ovs-vsctl commands (bridges, ports, external_ids) replacing what the
    # topology would give; the lab still sets system-id, hostname, ovn-remote, ovn-encap-ip.
    host_commands: Mapping[str, Sequence[Sequence[str]]] = field(default_factory=dict)


def _record(spec: DaemonSpec, pid: int | None = None, ctl: str | None = None) -> DaemonRecord:
    return DaemonRecord(
        name=spec.name, pidfile=str(spec.pidfile), logfile=str(spec.logfile), pid=pid, ctl=ctl
    )


def raise_first_failure(
    errors: Sequence[tuple[str, BaseException]], message: str, kind: str
) -> None:
    """Hosts start in parallel and every failure is collected, so that none is left half
    started; then one LabError names the first and counts the others. `errors`: (host, its
    error); `message`: the translated "... {name}: {first}{others}"; `kind`: what the count
    counts ("chassis", "hosts")."""
    if not errors:
        return
    name, first = errors[0]
    others = f" ({len(errors) - 1} more {kind} failed too)" if len(errors) > 1 else ""
    raise LabError(message.format(name=name, first=first, others=others)) from None


def _pidfile_pids(root: Path) -> list[int]:
    pids = []
    for p in root.rglob("*.pid"):
        pid = read_pidfile(p)
        if pid is not None:
            pids.append(pid)
    return pids


def _our_live_pids(layout: RunLayout) -> list[int]:
    pids = set(_pidfile_pids(layout.root)) if layout.root.is_dir() else set()
    with contextlib.suppress(LabError):
        state = read_state(layout.state)
        pids |= {d.pid for d in state.all_daemons() if d.pid is not None}
    token = layout.ownership_token
    pids |= set(scan_our_daemons(token))
    return sorted(p for p in pids if is_ours(p, token))




def _prepare_run_dir(layout: RunLayout) -> None:
    """Empty a claimed run dir; a stale lab (dead or foreign pids) is cleaned, a live one is
    an error."""
    refuse_running_lab(layout, _our_live_pids(layout), _(
        "a lab is already running in {root} ({count} daemons, e.g. pid {value}); stop it "
        "with `ovnguard lab down --run-dir {root}`"))
    empty_run_dir(layout)


def initial_state(
    layout: RunLayout,
    topo: Topology,
    encap_ips: Mapping[str, str],
    *,
    dummy: str | None = "override",
    created_at: str | None = None,
) -> LabState:
    """The `lab.json` of a lab about to start: each daemon's pidfile and log, no pid yet.
    `encap_ips`: host -> its tunnel address. `dummy`: ovs-vswitchd's --enable-dummy (None for
    a data-plane lab, whose hosts have real netdevs in their namespaces)."""
    central = [
        _record(cmd.ovsdb_server_spec("nb-ovsdb-server", layout.nb, {})),
        _record(cmd.ovsdb_server_spec("sb-ovsdb-server", layout.sb, {})),
        _record(cmd.northd_spec(layout)),
    ]
    hosts = []
    for h in topo.hosts:
        hp = layout.host(h.name)
        specs = [
            cmd.ovsdb_server_spec("ovsdb-server", hp.ovsdb, hp.env()),
            cmd.vswitchd_spec(hp, dummy=dummy),
            cmd.controller_spec(hp),
        ]
        hosts.append(
            HostRecord(
                name=h.name,
                dir=str(hp.dir),
                db_remote=hp.ovsdb.remote,
                encap_ip=encap_ips[h.name],
                daemons=[_record(s) for s in specs],
            )
        )
    return LabState(
        run_dir=str(layout.root),
        created_at=created_at or dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        nb_remote=layout.nb.remote,
        sb_remote=layout.sb.remote,
        central=central,
        hosts=hosts,
        topology=topo,
    )


class Lab(OvnConsole, StopsOnExit):
    """A running lab. Create with `Lab.up(...)`, re-open with `Lab.attach(run_dir)`."""

    def __init__(self, layout: RunLayout, state: LabState) -> None:
        self.layout = layout
        self.state = state

    # --- life cycle -------------------------------------------------------------------

    @classmethod
    def up(
        cls,
        topology: Topology,
        run_dir: str | Path | None = None,
        *,
        timeout: float = 60.0,
        progress: ProgressFn | None = None,
        workers: int | None = None,
        preload: Preload | None = None,
    ) -> Lab:
        """Start NB/SB, northd and every chassis; return once all chassis are registered in SB
        and have processed the logical topology (`ovn-nbctl --wait=hv sync`).

        A run dir left over by a killed lab is cleaned first; a live lab there is an error.
        On any failure everything started so far is stopped again and a LabError raised.
        `preload` replaces parts of what the topology would build (see `Preload`).
        """
        validate_topology(topology)
        if (
            preload is not None
            and preload.nb_db is not None
            and (topology.logical.switches or topology.logical.ports or topology.logical.routers)
        ):
            raise LabError(_(
                "a preloaded NB database and a logical topology cannot be combined"))
        layout = RunLayout.at(run_dir if run_dir is not None else default_run_dir())
        nb_schema = schema_path(NB_SCHEMA_CANDIDATES, "ovn-central")
        sb_schema = schema_path(SB_SCHEMA_CANDIDATES, "ovn-central")
        ovs_schema = schema_path(VSWITCH_SCHEMA_CANDIDATES, "openvswitch-switch")
        claim_run_dir(layout)
        with locked(layout):
            _prepare_run_dir(layout)
            encaps = {name: str(ip) for name, ip in topology.encap_ips().items()}
            lab = cls(layout, initial_state(layout, topology, encaps))
            write_state(layout.state, lab.state)
            try:
                lab._start(nb_schema, sb_schema, ovs_schema, timeout, progress, workers, preload)
            except BaseException:
                # KeyboardInterrupt included: never leave half a lab running. The original
                # error is the one worth reporting.
                with contextlib.suppress(LabError):
                    lab._stop_all()
                raise
            return lab

    @classmethod
    def attach(cls, run_dir: str | Path | None = None) -> Lab:
        """Open the lab whose state file is in `run_dir` (default ./.lab or $OVNGUARD_LAB_DIR)."""
        layout = RunLayout.at(run_dir if run_dir is not None else default_run_dir())
        return cls(layout, read_state(layout.state))

    def down(self, *, purge: bool = False) -> None:
        """Stop every daemon (TERM, then KILL) and remove sockets, pidfiles and the state
        file. DB files and logs stay for post-mortems unless `purge`."""
        with locked(self.layout):
            self._stop_all()
            if purge:
                shutil.rmtree(self.layout.root, ignore_errors=True)

    @staticmethod
    def down_dir(run_dir: str | Path | None = None, *, purge: bool = False) -> bool:
        """Stop whatever lab is (or was) in `run_dir`, state file or not. Returns False if
        there was nothing to stop (no state file, no daemon of ours)."""
        layout = RunLayout.at(run_dir if run_dir is not None else default_run_dir())
        if not layout.marker.exists():
            return False
        with locked(layout):
            live = _our_live_pids(layout)
            had_lab = bool(live) or layout.state.exists()
            survivors = stop_pids(live, layout.ownership_token)
            remove_runtime_files(layout.root)
            layout.state.unlink(missing_ok=True)
            if survivors:
                raise LabError(_(
                    "could not stop pids {survivors} of the lab in {root}").format(
                    survivors=survivors, root=layout.root))
            if purge:
                shutil.rmtree(layout.root, ignore_errors=True)
        return had_lab

    # --- starting ---------------------------------------------------------------------

    def _start(
        self,
        nb_schema: str,
        sb_schema: str,
        ovs_schema: str,
        timeout: float,
        progress: ProgressFn | None,
        workers: int | None,
        preload: Preload | None = None,
    ) -> None:
        layout, topo = self.layout, self.state.topology
        nb_file = preload.nb_db if preload is not None else None
        deadline = time.monotonic() + timeout
        lock = threading.Lock()

        def report(stage: str, done: int, total: int) -> None:
            if progress is not None:
                with lock:
                    progress(stage, done, total)

        report("central", 0, 3)
        for d in (layout.nb.dir, layout.sb.dir, layout.northd_dir):
            d.mkdir(parents=True)
        n_hosts = len(topo.hosts)
        pool_size = workers or max(2, min(12, n_hosts))
        with ThreadPoolExecutor(max_workers=pool_size) as pool:
            fresh = [(layout.sb.db, sb_schema), (layout.template_conf_db, ovs_schema)]
            if nb_file is None:
                fresh.append((layout.nb.db, nb_schema))
            else:
                shutil.copyfile(nb_file, layout.nb.db)
            creates = [
                pool.submit(run, ["ovsdb-tool", "create", str(db), schema]) for db, schema in fresh
            ]
            for f in creates:
                f.result()
            nb_spec = cmd.ovsdb_server_spec(
                "nb-ovsdb-server", layout.nb, layout.central_env(layout.nb.dir)
            )
            sb_spec = cmd.ovsdb_server_spec(
                "sb-ovsdb-server", layout.sb, layout.central_env(layout.sb.dir)
            )
            nb_pid = pool.submit(start_daemon, nb_spec)
            sb_pid = pool.submit(start_daemon, sb_spec)
            self._set_pid(None, "nb-ovsdb-server", nb_pid.result())
            self._set_pid(None, "sb-ovsdb-server", sb_pid.result())
            # The logical topology goes in before any chassis connects, so each
            # ovn-controller sees it in its first full run.
            chassis_names = {h.name: h.chassis_name for h in topo.hosts}
            nb_cmds = [list(c) for c in preload.nb_commands] if preload is not None else []
            nb_cmds += cmd.logical_commands(topo.logical, chassis_names)
            nb_f = pool.submit(self.nbctl, "init", *cmd.chain(nb_cmds))
            sb_f = pool.submit(self.sbctl, "init")
            nb_f.result()
            sb_f.result()
            report("central", 2, 3)
            self._set_pid(None, "ovn-northd", start_daemon(cmd.northd_spec(layout)))
            report("central", 3, 3)
            write_state(layout.state, self.state)

            report("chassis", 0, n_hosts)
            hosts = {pool.submit(self._start_host, h.name, preload): h.name for h in topo.hosts}
            errors: list[tuple[str, BaseException]] = []
            for done, (future, name) in enumerate(hosts.items(), start=1):
                try:
                    future.result()
                except BaseException as e:  # collect all, fail once
                    errors.append((name, e))
                report("chassis", done, n_hosts)
            write_state(layout.state, self.state)
            raise_first_failure(errors, _("chassis {name}: {first}{others}"), "chassis")

        self._wait_registered(deadline, report)
        report("sync", 0, 1)
        self.wait_hv(timeout=max(5.0, deadline - time.monotonic()))
        report("sync", 1, 1)

    def _set_pid(self, host: str | None, daemon: str, pid: int, ctl: str | None = None) -> None:
        records = self.state.central if host is None else self.state.host(host).daemons
        for r in records:
            if r.name == daemon:
                r.pid = pid
                if ctl is not None:
                    r.ctl = ctl

    def _start_host(self, name: str, preload: Preload | None = None) -> None:
        topo = self.state.topology
        host = topo.host(name)
        hp = self.host_paths(name)
        hp.dir.mkdir(parents=True)
        # A copy of one `ovsdb-tool create` output is cheaper than a process per chassis.
        shutil.copyfile(self.layout.template_conf_db, hp.ovsdb.db)
        env = hp.env()
        self._set_pid(
            name, "ovsdb-server", start_daemon(cmd.ovsdb_server_spec("ovsdb-server", hp.ovsdb, env))
        )
        encap_ip = topo.encap_ips()[name]
        if preload is not None and name in preload.host_commands:
            init = cmd.preloaded_host_commands(
                host,
                [list(c) for c in preload.host_commands[name]],
                sb_remote=self.layout.sb.remote,
                encap_ip=encap_ip,
            )
        else:
            init = cmd.host_init_commands(
                host, topo, sb_remote=self.layout.sb.remote, encap_ip=encap_ip
            )
        run(
            [
                "ovs-vsctl",
                f"--db={hp.ovsdb.remote}",
                "--no-wait",
                f"--timeout={ctl_secs(CTL_TIMEOUT)}",
                *cmd.chain(init),
            ],
            env=env,
            timeout=CTL_TIMEOUT + 5,
        )
        vs = cmd.vswitchd_spec(hp)
        self._set_pid(name, "ovs-vswitchd", start_daemon(vs), str(hp.vswitchd_ctl))
        ctl_spec = cmd.controller_spec(hp)
        pid = start_daemon(ctl_spec)
        ctl = hp.controller_ctl(pid)
        self._set_pid(name, "ovn-controller", pid, str(ctl))
        # Without this, ovn-controller keeps patch ports it should delete for ~10 s after start.
        run(
            ["ovn-appctl", "-t", str(ctl), "debug/ignore-startup-delay"],
            env=env,
            timeout=CTL_TIMEOUT,
        )
        mgmt = host.management
        if mgmt is not None and mgmt.interface not in host.nics:
            # Gives the dummy netdev the host's address so it answers ARP, as ovn_attach does.
            run(
                [
                    "ovs-appctl",
                    "-t",
                    str(hp.vswitchd_ctl),
                    "netdev-dummy/ip4addr",
                    mgmt.interface,
                    str(mgmt.address),
                ],
                env=env,
                timeout=CTL_TIMEOUT,
            )

    def _wait_registered(self, deadline: float, report: Callable[[str, int, int], None]) -> None:
        # SB Chassis rows are named by system-id, which a host may set apart from its name.
        host_of = {h.chassis_name: h.name for h in self.state.topology.hosts}
        names = set(host_of)
        total = len(names)
        last_check = 0.0
        registered: set[str] = set()
        while True:
            registered = self.registered_chassis() & names
            report("register", len(registered), total)
            if registered == names:
                return
            now = time.monotonic()
            if now - last_check > 0.5:
                last_check = now
                self._raise_if_controller_died({host_of[c] for c in names - registered})
            if now >= deadline:
                break
            time.sleep(0.03)
        missing = sorted(host_of[c] for c in names - registered)
        first = missing[0]
        raise LabError(
            _(
            "chassis {names} did not register in SB Chassis in time{value}").format(
            names=', '.join(missing), value=log_tail_text(self.host_paths(first).controller_log))
        )

    def _raise_if_controller_died(self, hosts: set[str]) -> None:
        token = self.layout.ownership_token
        for name in sorted(hosts):
            rec = self.state.host(name)
            for d in rec.daemons:
                if d.pid is not None and not is_ours(d.pid, token):
                    raise LabError(
                        _(
                        "chassis {name}: {name2} (pid {pid}) exited before the chassis "
                        "registered{value}").format(
                        name=name, name2=d.name, pid=d.pid, value=log_tail_text(Path(d.logfile)))
                    )

    def _stop_all(self) -> None:
        pids = {d.pid for d in self.state.all_daemons() if d.pid is not None}
        pids |= set(_pidfile_pids(self.layout.root))
        pids |= set(scan_our_daemons(self.layout.ownership_token))
        survivors = stop_pids(pids, self.layout.ownership_token)
        remove_runtime_files(self.layout.root)
        self.layout.state.unlink(missing_ok=True)
        if survivors:
            raise LabError(_(
                "could not stop pids {survivors} of the lab in {root}").format(
                survivors=survivors, root=self.layout.root))

    # --- where things are (the rest is OvnConsole's) ----------------------------------

    @property
    def _lab_state(self) -> LabState:
        return self.state

    def host_names(self) -> list[str]:
        return [h.name for h in self.state.hosts]

    # --- talking to the daemons (the ctl commands are OvnConsole's) -------------------

    def registered_chassis(self) -> set[str]:
        """Names of the rows in SB Chassis."""
        out = self.sbctl("--format=json", "--columns=name", "list", "Chassis", timeout=5)
        return {row[0] for row in json.loads(out)["data"]}

    def wait_hv(self, timeout: float = 30.0) -> None:
        """`ovn-nbctl --wait=hv sync`: return once every chassis has caught up with NB."""
        try:
            self.nbctl("--wait=hv", "sync", timeout=timeout)
        except LabError as e:
            raise LabError(
                _(
                "chassis did not catch up with NB within {timeout:g}s{value}: {e}").format(
                timeout=timeout, value=self._lagging(), e=e)
            ) from None

    def _lagging(self) -> str:
        with contextlib.suppress(LabError, ValueError, KeyError):
            want = int(self.nbctl("get", "NB_Global", ".", "nb_cfg", timeout=3).strip())
            out = self.sbctl(
                "--format=json", "--columns=name,nb_cfg", "list", "Chassis_Private", timeout=3
            )
            have = {r[0]: r[1] for r in json.loads(out)["data"]}
            late = sorted(
                h.name for h in self.topology.hosts if have.get(h.chassis_name, -1) < want
            )
            if late:
                return f" (behind: {', '.join(late)})"
        return ""

    # --- status -------------------------------------------------------------------------

    def status(self) -> LabStatus:
        token = self.layout.ownership_token

        def daemon(d: DaemonRecord) -> DaemonStatus:
            pid = read_pidfile(Path(d.pidfile)) or d.pid
            return DaemonStatus(
                name=d.name, pid=pid, running=pid is not None and is_ours(pid, token), log=d.logfile
            )

        central = [daemon(d) for d in self.state.central]
        sb_up = next((c.running for c in central if c.name == "sb-ovsdb-server"), False)
        registered: set[str] = set()
        sb_reachable = False
        if sb_up:
            with contextlib.suppress(LabError, ValueError, KeyError):
                registered = self.registered_chassis()
                sb_reachable = True
        chassis = []
        for h in self.state.hosts:
            spec = self.state.topology.host(h.name)
            ds = [daemon(d) for d in h.daemons]
            chassis.append(
                ChassisStatus(
                    name=h.name,
                    registered=spec.chassis_name in registered,
                    running=all(d.running for d in ds),
                    encap_ip=h.encap_ip,
                    bridge_mappings=spec.bridge_mappings,
                    management=str(spec.management.address) if spec.management else None,
                    dir=h.dir,
                    daemons=ds,
                )
            )
        return LabStatus(
            run_dir=self.state.run_dir,
            created_at=self.state.created_at,
            running=all(d.running for d in central) and all(c.running for c in chassis),
            sb_reachable=sb_reachable,
            nb_remote=self.nb_remote,
            sb_remote=self.sb_remote,
            central=central,
            chassis=chassis,
        )

    def pids(self) -> dict[str, int]:
        """`{"<host>/<daemon>" or "<daemon>": pid}` of every running daemon of the lab."""
        token = self.layout.ownership_token
        out: dict[str, int] = {}
        for d in self.state.central:
            pid = read_pidfile(Path(d.pidfile))
            if pid is not None and is_ours(pid, token):
                out[d.name] = pid
        for h in self.state.hosts:
            for d in h.daemons:
                pid = read_pidfile(Path(d.pidfile))
                if pid is not None and is_ours(pid, token):
                    out[f"{h.name}/{d.name}"] = pid
        return out


def environ_for(lab: Lab, host: str | None = None) -> dict[str, str]:
    """Shell variables that point the stock ovn-nbctl/ovn-sbctl/ovs-vsctl at the lab."""
    env = {"OVN_NB_DB": lab.nb_remote, "OVN_SB_DB": lab.sb_remote}
    if host is not None:
        # ovs-vsctl defaults to $OVS_RUNDIR/db.sock, ovn-appctl -t ovn-controller finds
        # $OVN_RUNDIR/ovn-controller.pid: the host dir makes both work unchanged.
        env.update(lab.host_env(host))
    return env


__all__ = ["Lab", "Preload", "ProgressFn", "environ_for", "raise_first_failure"]
