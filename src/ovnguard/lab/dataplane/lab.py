"""`DataplaneLab`: a running data-plane lab -- start, attach, stop, probe."""

from __future__ import annotations

import contextlib
import datetime as dt
import ipaddress
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from types import TracebackType

from ovnguard.errors import LabError
from ovnguard.lab import commands as cmd
from ovnguard.lab import netns
from ovnguard.lab.dataplane.cgroup import cgroup_add, cgroup_stat, create_cgroup
from ovnguard.lab.dataplane.plan import (
    MANAGEMENT_SEGMENT,
    NB_PORT,
    PROBE_PORT,
    ROUTER,
    SB_PORT,
    Control,
    DataplanePlan,
    Kind,
    Matrix,
    StormLimits,
    lab_id_for,
    plan_dataplane,
)
from ovnguard.lab.dataplane.registry import (
    LISTENER,
    STATE_FILE,
    DataplaneState,
    Registration,
    cleanup_stale,
    our_daemons,
    read_dataplane_state,
    register,
    teardown,
    write_dataplane_state,
)
from ovnguard.lab.lab import Lab
from ovnguard.lab.layout import (
    NB_SCHEMA_CANDIDATES,
    SB_SCHEMA_CANDIDATES,
    VSWITCH_SCHEMA_CANDIDATES,
    RunLayout,
    default_run_dir,
)
from ovnguard.lab.process import (
    DaemonSpec,
    clean_env,
    log_tail_text,
    read_pidfile,
    run,
    wait_until,
)
from ovnguard.lab.rundir import claim_run_dir, locked, schema_path
from ovnguard.lab.state import DaemonRecord, HostRecord, LabState, write_state
from ovnguard.lab.topology import Topology, seed_topology, validate_topology

CTL_TIMEOUT = 30.0

# --- the lab ------------------------------------------------------------------------------


class DataplaneLab:
    """A running data-plane lab. `DataplaneLab.up(...)`, `DataplaneLab.attach(run_dir)`.

    `lab` is the ordinary `Lab` handle on the same daemons (nbctl, vsctl, chassis_ports,
    ...): it talks over unix sockets — the out-of-band "console" that keeps working when
    the management LAN does not. Probes (`ping`, `tcp_probe`, `reachability`) go over the
    LAN, from inside the namespaces.
    """

    def __init__(self, lab: Lab, state: DataplaneState) -> None:
        self.lab = lab
        self.state = state

    # --- life cycle -------------------------------------------------------------------

    @classmethod
    def up(
        cls,
        topology: Topology | None = None,
        run_dir: str | Path | None = None,
        *,
        control: Control = "management",
        limits: StormLimits | None = None,
        timeout: float = 90.0,
    ) -> DataplaneLab:
        """Build the namespaces and LAN, start central and every host, return once every
        chassis is registered and in sync and every node answers on the LAN.

        `control="management"`: ovn-controller reaches the SB at `tcp:<central>:6642`
        over the management LAN (as in the seed cluster); `"local"`: over the SB's unix
        socket, i.e. a control network the data plane cannot break.
        On failure everything started is torn down and a LabError raised.
        """
        reason = netns.why_unavailable()
        if reason:
            raise LabError(reason)
        topo = validate_topology(topology if topology is not None else seed_topology(3))
        # NICs are veths here, never dummy netdevs.
        topo = topo.model_copy(update={"nic_type": "system"})
        layout = RunLayout.at(run_dir if run_dir is not None else default_run_dir())
        lab_id = lab_id_for(layout.root)
        plan = plan_dataplane(topo, lab_id)
        schemas = (
            schema_path(NB_SCHEMA_CANDIDATES, "ovn-central"),
            schema_path(SB_SCHEMA_CANDIDATES, "ovn-central"),
            schema_path(VSWITCH_SCHEMA_CANDIDATES, "openvswitch-switch"),
        )
        claim_run_dir(layout)
        with locked(layout):
            live = our_daemons(layout)
            if live:
                raise LabError(
                    f"a lab is already running in {layout.root} ({len(live)} daemons, e.g. pid "
                    f"{live[0]}); stop it first"
                )
            cleanup_stale()
            # This run dir's own leftovers (a crashed run): same id, so same namespaces.
            teardown(lab_id, layout)
            keep = {layout.lock.name, layout.marker.name}
            for p in layout.root.iterdir():
                if p.name in keep:
                    continue
                if p.is_dir() and not p.is_symlink():
                    shutil.rmtree(p)
                else:
                    p.unlink()
            now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
            register(
                Registration(
                    lab_id=lab_id, run_dir=str(layout.root), owner_pid=os.getpid(), created_at=now
                )
            )
            state = DataplaneState(
                run_dir=str(layout.root),
                created_at=now,
                control=control,
                limits=limits or StormLimits(),
                plan=plan,
            )
            write_dataplane_state(layout.root / STATE_FILE, state)
            lab_state = _lab_state(layout, topo, plan, now)
            write_state(layout.state, lab_state)
            dp = cls(Lab(layout, lab_state), state)
            try:
                dp._start(schemas, timeout)
            except BaseException:
                teardown(lab_id, layout)
                raise
            return dp

    @classmethod
    def attach(cls, run_dir: str | Path | None = None) -> DataplaneLab:
        layout = RunLayout.at(run_dir if run_dir is not None else default_run_dir())
        state = read_dataplane_state(layout.root / STATE_FILE)
        return cls(Lab.attach(layout.root), state)

    def down(self, *, purge: bool = False) -> None:
        """Stop every daemon and listener, delete every namespace and the cgroup, remove
        sockets, pidfiles and state files (logs and DBs stay unless `purge`)."""
        layout = self.lab.layout
        with locked(layout):
            problems = teardown(self.lab_id, layout)
        if problems:
            raise LabError(f"data-plane lab {layout.root}: " + "; ".join(problems))
        if purge:
            shutil.rmtree(layout.root, ignore_errors=True)

    @staticmethod
    def down_dir(run_dir: str | Path | None = None, *, purge: bool = False) -> bool:
        """Tear down whatever data-plane lab is (or was) in `run_dir`, state file or not.
        False if there was nothing."""
        layout = RunLayout.at(run_dir if run_dir is not None else default_run_dir())
        lab_id = lab_id_for(layout.root)
        had = (
            bool(netns.list_namespaces(netns.namespace_name(lab_id, "")))
            or (layout.root / STATE_FILE).exists()
        )
        if not layout.marker.exists() and not had:
            return False
        with locked(layout):
            had = had or bool(our_daemons(layout))
            problems = teardown(lab_id, layout if layout.marker.exists() else None)
        if problems:
            raise LabError(f"data-plane lab {layout.root}: " + "; ".join(problems))
        if purge and layout.marker.exists():
            shutil.rmtree(layout.root, ignore_errors=True)
        return had

    cleanup_stale = staticmethod(cleanup_stale)

    def __enter__(self) -> DataplaneLab:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.down()

    # --- starting ---------------------------------------------------------------------

    def _start(self, schemas: tuple[str, str, str], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        layout, plan = self.lab.layout, self.plan
        limits = self.state.limits
        if limits.cpus is not None:
            path, note = create_cgroup(plan.lab_id, limits.cpus)
            self.state.cgroup = str(path) if path else None
            self.state.cgroup_note = note
        else:
            self.state.cgroup_note = "disabled (limits.cpus is None)"
        self._save()
        self._build_network()
        self._start_central(schemas)
        topo = self.topology
        errors: list[tuple[str, BaseException]] = []
        with ThreadPoolExecutor(max_workers=max(2, min(8, len(topo.hosts)))) as pool:
            futures = {pool.submit(self._start_host, h.name, deadline): h.name for h in topo.hosts}
            for f, name in futures.items():
                try:
                    f.result()
                except BaseException as e:
                    errors.append((name, e))
        write_state(layout.state, self.lab.state)
        if errors:
            name, first = errors[0]
            more = f" ({len(errors) - 1} more hosts failed too)" if len(errors) > 1 else ""
            raise LabError(f"host {name}: {first}{more}") from None
        self._start_listeners(deadline)
        self._wait_registered(deadline)
        self.lab.wait_hv(timeout=max(5.0, deadline - time.monotonic()))

    def _build_network(self) -> None:
        plan = self.plan
        lan = plan.lan_netns
        netns.add(lan)
        for seg in plan.segments:
            netns.add_bridge(lan, seg.bridge, alias=f"{seg.name} (ovnguard lab {self.run_dir})")
        netns.add_address(lan, plan.router.interface, plan.router.address)
        nodes = [plan.central, *plan.hosts]
        for n in nodes:
            netns.add(n.netns)
        for link in plan.links:
            netns.add_veth(lan, link.lan_ifname, link.netns, link.ifname)
            netns.set_alias(lan, link.lan_ifname, f"{link.node}/{link.ifname}")
            netns.set_master(lan, link.lan_ifname, plan.segment_bridge(link.segment))
            self._shape(lan, link.lan_ifname)
            if not link.in_ovs:
                # An OVS port's end is shaped once vswitchd has added it: adding the port
                # resets its qdisc (measured), later reconfigurations leave it alone.
                self._shape(link.netns, link.ifname)
            netns.set_up(lan, link.lan_ifname)
            netns.set_up(link.netns, link.ifname)
        for n in nodes:
            in_ovs = [lk.ifname for lk in plan.links if lk.node == n.name and lk.in_ovs]
            plain = [lk.ifname for lk in plan.links if lk.node == n.name and not lk.in_ovs]
            # The kernel still sees packets on a NIC the userspace datapath reads with
            # AF_PACKET; without this it would answer ARP for the host's address with the
            # NIC's own MAC, a second path a real OVS host does not have.
            netns.sysctl(n.netns, {f"net/ipv4/conf/{nic}/arp_ignore": "8" for nic in in_ovs})
            if plain:
                netns.tx_checksum_off(n.netns, plain)
        netns.tx_checksum_off(lan, [plan.router.interface])
        c = plan.central
        netns.add_address(c.netns, c.interface, c.address)
        netns.add_default_route(c.netns, plan.router.address.ip)

    def _shape(self, ns: str, ifname: str) -> None:
        lim = self.state.limits
        netns.shape(ns, ifname, rate=lim.rate, burst=lim.burst, latency=lim.latency)

    def _start_central(self, schemas: tuple[str, str, str]) -> None:
        layout, c = self.lab.layout, self.plan.central
        nb_schema, sb_schema, ovs_schema = schemas
        for d in (layout.nb.dir, layout.sb.dir, layout.northd_dir):
            d.mkdir(parents=True, exist_ok=True)
        for db, schema in (
            (layout.nb.db, nb_schema),
            (layout.sb.db, sb_schema),
            (layout.template_conf_db, ovs_schema),
        ):
            run(["ovsdb-tool", "create", str(db), schema])
        for name, paths, port in (
            ("nb-ovsdb-server", layout.nb, NB_PORT),
            ("sb-ovsdb-server", layout.sb, SB_PORT),
        ):
            spec = cmd.ovsdb_server_spec(name, paths, layout.central_env(paths.dir))
            # The unix socket stays (our console); the TCP remote is what hosts use.
            args = (*spec.args[:-1], f"--remote=ptcp:{port}:{c.address.ip}", spec.args[-1])
            spec = replace(spec, args=args, netns=c.netns)
            self._set_pid(None, name, _start_daemon(spec))
        chassis_names = {h.name: h.chassis_name for h in self.topology.hosts}
        logical = cmd.logical_commands(self.topology.logical, chassis_names)
        self.lab.nbctl("init", *cmd.chain(logical))
        self.lab.sbctl("init")
        northd = replace(cmd.northd_spec(layout), netns=c.netns)
        self._set_pid(None, "ovn-northd", _start_daemon(northd))
        write_state(layout.state, self.lab.state)

    def _start_host(self, name: str, deadline: float) -> None:
        topo, layout = self.topology, self.lab.layout
        host, node = topo.host(name), self.plan.node(name)
        hp = layout.host(name)
        hp.dir.mkdir(parents=True)
        shutil.copyfile(layout.template_conf_db, hp.ovsdb.db)
        env = hp.env()
        ns = node.netns
        db_spec = replace(cmd.ovsdb_server_spec("ovsdb-server", hp.ovsdb, env), netns=ns)
        self._set_pid(name, "ovsdb-server", _start_daemon(db_spec))
        init = cmd.host_init_commands(
            host, topo, sb_remote=self.ovn_remote, encap_ip=node.address.ip
        )
        init += [
            ["set", "Bridge", b.name, "datapath_type=netdev"]
            for b in host.bridges_with_integration()
        ]
        run(
            [
                "ovs-vsctl",
                f"--db={hp.ovsdb.remote}",
                "--no-wait",
                f"--timeout={int(CTL_TIMEOUT)}",
                *cmd.chain(init),
            ],
            env=env,
            timeout=CTL_TIMEOUT + 5,
        )
        vs_spec = replace(cmd.vswitchd_spec(hp, dummy=None), netns=ns)
        vs_pid = _start_daemon(vs_spec, nice=self.state.limits.nice)
        self._set_pid(name, "ovs-vswitchd", vs_pid, str(hp.vswitchd_ctl))
        if self.state.cgroup:
            cgroup_add(Path(self.state.cgroup), vs_pid)
        for lk in self.plan.links:
            if lk.node == name and lk.in_ovs:
                self._shape(ns, lk.ifname)
        mgmt = node.interface
        if not wait_until(lambda: mgmt in netns.link_names(ns), 10.0, 0.05):
            raise LabError(
                f"{mgmt} did not appear in namespace {ns}{log_tail_text(hp.vswitchd_log)}"
            )
        netns.add_address(ns, mgmt, node.address)
        netns.set_up(ns, mgmt)
        netns.add_default_route(ns, self.plan.router.address.ip)
        if self.state.control == "management":
            # Starting ovn-controller before the SB answers costs its reconnect back-off
            # (1, 2, 4, 8 s); wait for the path instead.
            c = self.plan.central.address.ip
            ok = wait_until(
                lambda: _tcp_ok(ns, str(c), SB_PORT, 1.0, banner=False),
                max(1.0, deadline - time.monotonic()),
                0.1,
            )
            if not ok:
                raise LabError(
                    f"the SB at tcp:{c}:{SB_PORT} is not reachable from {name} over the "
                    f"management LAN{log_tail_text(hp.vswitchd_log)}"
                )
        ctl_spec = replace(cmd.controller_spec(hp), netns=ns)
        pid = _start_daemon(ctl_spec)
        ctl = hp.controller_ctl(pid)
        self._set_pid(name, "ovn-controller", pid, str(ctl))
        run(["ovn-appctl", "-t", str(ctl), "debug/ignore-startup-delay"], env=env, timeout=30)

    def _start_listeners(self, deadline: float) -> None:
        ldir = self.lab.layout.root / "listeners"
        ldir.mkdir(exist_ok=True)
        procs = {}
        for n in self.plan.nodes().values():
            pidfile = ldir / f"{n.name}.pid"
            log = (ldir / f"{n.name}.log").open("ab")
            procs[n.name] = subprocess.Popen(
                [
                    *netns.exec_prefix(n.netns),
                    sys.executable,
                    "-c",
                    LISTENER,
                    str(n.address.ip),
                    str(PROBE_PORT),
                    n.name,
                    str(pidfile),
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                env=clean_env(),
                start_new_session=True,
            )
            log.close()
        for name, proc in procs.items():
            pidfile = ldir / f"{name}.pid"
            ready = wait_until(
                _listener_settled(pidfile, proc), max(1.0, deadline - time.monotonic()), 0.02
            )
            if not ready or proc.poll() is not None:
                tail = log_tail_text(ldir / f"{name}.log")
                raise LabError(f"TCP listener on {name} did not start{tail}")
            self.state.listeners[name] = proc.pid
        self._save()

    def _wait_registered(self, deadline: float) -> None:
        # SB Chassis rows are named after system-id, which may differ from the host name.
        host_of = {h.chassis_name: h.name for h in self.topology.hosts}
        names = set(host_of)
        while True:
            registered = self.lab.registered_chassis() & names
            if registered == names:
                return
            if time.monotonic() >= deadline:
                missing = sorted(host_of[c] for c in names - registered)
                log = self.lab.layout.host(missing[0]).controller_log
                raise LabError(
                    f"chassis {', '.join(missing)} did not register in SB in time"
                    f"{log_tail_text(log)}"
                )
            time.sleep(0.05)

    def _set_pid(self, host: str | None, daemon: str, pid: int, ctl: str | None = None) -> None:
        with _STATE_LOCK:
            records = self.lab.state.central if host is None else self.lab.state.host(host).daemons
            for r in records:
                if r.name == daemon:
                    r.pid = pid
                    if ctl is not None:
                        r.ctl = ctl

    def _save(self) -> None:
        write_dataplane_state(self.lab.layout.root / STATE_FILE, self.state)

    # --- where things are ---------------------------------------------------------------

    @property
    def plan(self) -> DataplanePlan:
        return self.state.plan

    @property
    def lab_id(self) -> str:
        return self.plan.lab_id

    @property
    def run_dir(self) -> Path:
        return self.lab.layout.root

    @property
    def topology(self) -> Topology:
        return self.lab.state.topology

    @property
    def host_names(self) -> list[str]:
        return [h.name for h in self.plan.hosts]

    @property
    def hosts(self) -> dict[str, ipaddress.IPv4Address]:
        """Host name -> management address."""
        return {h.name: h.address.ip for h in self.plan.hosts}

    @property
    def addresses(self) -> dict[str, ipaddress.IPv4Address]:
        """Every node that has a management address: central, the hosts and the router."""
        out = {n: node.address.ip for n, node in self.plan.nodes().items()}
        out[ROUTER] = self.plan.router.address.ip
        return out

    @property
    def namespaces(self) -> list[str]:
        return self.plan.namespaces()

    @property
    def ovn_remote(self) -> str:
        if self.state.control == "local":
            return self.lab.sb_remote
        return f"tcp:{self.plan.central.address.ip}:{SB_PORT}"

    def netns_of(self, node: str) -> str:
        return self.plan.node(node).netns

    def address_of(self, node_or_address: str) -> str:
        """A node name's management address; anything else is taken as an address."""
        addrs = self.addresses
        if node_or_address in addrs:
            return str(addrs[node_or_address])
        try:
            return str(ipaddress.IPv4Address(node_or_address))
        except ValueError:
            raise LabError(
                f"{node_or_address!r} is neither a node ({', '.join(addrs)}) nor an IPv4 address"
            ) from None

    # --- the console (unix sockets, out of band) ----------------------------------------

    def nbctl(self, *args: str, timeout: float = CTL_TIMEOUT) -> str:
        return self.lab.nbctl(*args, timeout=timeout)

    def sbctl(self, *args: str, timeout: float = CTL_TIMEOUT) -> str:
        return self.lab.sbctl(*args, timeout=timeout)

    def vsctl(self, host: str, *args: str, timeout: float = CTL_TIMEOUT) -> str:
        return self.lab.vsctl(host, *args, timeout=timeout)

    def appctl_vswitchd(self, host: str, *args: str, timeout: float = CTL_TIMEOUT) -> str:
        return self.lab.appctl_vswitchd(host, *args, timeout=timeout)

    def appctl_controller(self, host: str, *args: str, timeout: float = CTL_TIMEOUT) -> str:
        return self.lab.appctl_controller(host, *args, timeout=timeout)

    def chassis_ports(self, host: str) -> dict[str, list[str]]:
        return self.lab.chassis_ports(host)

    def exec(self, node: str, *argv: str, timeout: float = 30.0) -> str:
        """Run a command inside a node's namespace (`router` = the LAN namespace)."""
        return netns.exec_in(self.netns_of(node), argv, timeout=timeout)

    # --- probes over the LAN ------------------------------------------------------------

    def ping(self, src: str, dst: str, count: int = 1, timeout: float = 1.0) -> bool:
        """True if `src` (a node) gets at least one echo reply from `dst` (node or address)."""
        proc = subprocess.run(
            self._ping_argv(src, dst, count, timeout),
            capture_output=True,
            timeout=count * 0.2 + timeout + 10,
            env=clean_env(),
            check=False,
        )
        return proc.returncode == 0

    def tcp_probe(self, src: str, dst: str, port: int = PROBE_PORT, timeout: float = 1.0) -> bool:
        """True if `src` completes a TCP connection to `dst:port` and reads the listener's
        banner (data both ways, not just a SYN/ACK)."""
        return _tcp_ok(self.netns_of(src), self.address_of(dst), port, timeout, banner=True)

    def flush_neighbors(self, nodes: Sequence[str] | None = None) -> None:
        """Forget ARP entries, as every host does within a minute on a real LAN; the next
        packet to each destination is preceded by a broadcast ARP request."""
        for n in nodes if nodes is not None else [*self.plan.nodes(), ROUTER]:
            netns.neigh_flush(self.netns_of(n))

    def reachability(
        self,
        *,
        kind: Kind = "icmp",
        cold: bool = True,
        timeout: float = 1.0,
        count: int = 2,
        nodes: Sequence[str] | None = None,
        port: int = PROBE_PORT,
    ) -> Matrix:
        """`{(src, dst): reachable}` over every ordered pair of `nodes` (default: central and
        every host), all probes at once. `cold` first flushes every source's ARP cache, so
        each probe starts with a broadcast ARP as a new connection after an ARP timeout
        does; a warm cache can hide a broken L2 for tens of seconds."""
        names = list(nodes) if nodes is not None else list(self.plan.nodes())
        if cold:
            self.flush_neighbors(names)
        procs: dict[tuple[str, str], subprocess.Popen[bytes]] = {}
        for src in names:
            for dst in names:
                if src == dst:
                    continue
                if kind == "icmp":
                    argv = self._ping_argv(src, dst, count, timeout)
                else:
                    argv = _tcp_argv(self.netns_of(src), self.address_of(dst), port, timeout, True)
                procs[(src, dst)] = subprocess.Popen(
                    argv,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    env=clean_env(),
                )
        result: Matrix = {}
        for key, proc in procs.items():
            try:
                result[key] = proc.wait(timeout=count * 0.2 + timeout + 10) == 0
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                result[key] = False
        return result

    def _ping_argv(self, src: str, dst: str, count: int, timeout: float) -> list[str]:
        return [
            *netns.exec_prefix(self.netns_of(src)),
            "ping",
            "-n",
            "-q",
            "-c",
            str(max(1, count)),
            "-i",
            "0.2",
            "-W",
            f"{timeout:g}",
            self.address_of(dst),
        ]

    # --- measurements -------------------------------------------------------------------

    def cpu_seconds(self) -> dict[str, float]:
        """CPU time (user+system) each running daemon has used so far, `host/daemon` keys."""
        tick = os.sysconf("SC_CLK_TCK")
        out: dict[str, float] = {}
        for name, pid in self.lab.pids().items():
            with contextlib.suppress(OSError, IndexError, ValueError):
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                out[name] = (int(fields[11]) + int(fields[12])) / tick
        return out

    def cgroup_stat(self) -> dict[str, int]:
        return cgroup_stat(self.state.cgroup)

    def lan_counters(self) -> dict[str, dict[str, int]]:
        """Per LAN link (`node/ifname`): packets and bytes the node sent into the LAN
        (`from_node`) and the LAN sent to it (`to_node`), and packets the LAN-side token
        bucket dropped (`dropped_to_node`)."""
        out = {}
        for lk in self.plan.links:
            s = netns.link_stats(self.plan.lan_netns, lk.lan_ifname)
            out[f"{lk.node}/{lk.ifname}"] = {
                "from_node_packets": s["rx_packets"],
                "from_node_bytes": s["rx_bytes"],
                "to_node_packets": s["tx_packets"],
                "to_node_bytes": s["tx_bytes"],
                "dropped_to_node": netns.qdisc_drops(self.plan.lan_netns, lk.lan_ifname),
            }
        return out

    def mac_table(self, host: str, bridge: str = "br-ex") -> list[tuple[str, int, str]]:
        """`ovs-appctl fdb/show` of a bridge as (port name, vlan, mac), port names resolved
        (ofport numbers are per bridge)."""
        out = self.appctl_vswitchd(host, "fdb/show", bridge)
        ifaces = self.vsctl(host, "list-ifaces", bridge).split()
        names = {"LOCAL": bridge}
        if ifaces:
            rows = self.vsctl(
                host, "--format=json", "--columns=name,ofport", "list", "Interface", *ifaces
            )
            for name, ofport in json.loads(rows)["data"]:
                if isinstance(ofport, int):
                    names[str(ofport)] = str(name)
        entries = []
        for line in out.splitlines()[1:]:
            parts = line.split()
            if len(parts) >= 3 and parts[1].isdigit():
                entries.append((names.get(parts[0], parts[0]), int(parts[1]), parts[2].lower()))
        return entries

    def lan_mac_table(self) -> dict[str, str]:
        """The management LAN bridge's learned MACs: mac -> `node/ifname` of the port."""
        by_port = {lk.lan_ifname: f"{lk.node}/{lk.ifname}" for lk in self.plan.links}
        bridge = self.plan.segment_bridge(MANAGEMENT_SEGMENT)
        return {
            str(e["mac"]).lower(): by_port.get(str(e.get("ifname")), str(e.get("ifname")))
            for e in netns.bridge_fdb(self.plan.lan_netns, bridge)
        }

    def mac_of(self, node: str) -> str:
        """The MAC that answers for a node's management address."""
        n = self.plan.node(node)
        data = netns.ip_json(n.netns, "link", "show", "dev", n.interface)
        return str(data[0]["address"]).lower()


_STATE_LOCK = threading.Lock()
# bash's /dev/tcp: always there, starts in milliseconds. $0 addr, $1 port, $2 read banner.
_TCP_SCRIPT = (
    'exec 3<>"/dev/tcp/$0/$1" || exit 1; [ "$2" = 0 ] && exit 0; '
    'read -r l <&3; [[ "$l" == ovnguard-lab* ]]'
)


def _tcp_argv(ns: str, addr: str, port: int, timeout: float, banner: bool) -> list[str]:
    return [
        *netns.exec_prefix(ns),
        "timeout",
        f"{timeout:g}",
        "bash",
        "-c",
        _TCP_SCRIPT,
        addr,
        str(port),
        "1" if banner else "0",
    ]


def _tcp_ok(ns: str, addr: str, port: int, timeout: float, *, banner: bool) -> bool:
    proc = subprocess.run(
        _tcp_argv(ns, addr, port, timeout, banner),
        capture_output=True,
        timeout=timeout + 10,
        env=clean_env(),
        check=False,
    )
    return proc.returncode == 0


def _listener_settled(pidfile: Path, proc: subprocess.Popen[bytes]) -> Callable[[], bool]:
    """Listening (it writes its pidfile after listen()) or dead."""
    return lambda: pidfile.exists() or proc.poll() is not None




def _start_daemon(spec: DaemonSpec, *, nice: int | None = None) -> int:
    """Like process.start_daemon, optionally under `nice` (the whole process, every thread
    it will create, starts with that niceness)."""
    argv = spec.argv()
    if nice:
        argv = ["nice", "-n", str(nice), *argv]
    try:
        run(argv, env=spec.env, timeout=30, netns=spec.netns)
    except LabError as e:
        raise LabError(f"{spec.name} did not start: {e}{log_tail_text(spec.logfile)}") from None
    pid = read_pidfile(spec.pidfile)
    if pid is None:
        raise LabError(f"{spec.name} wrote no pidfile {spec.pidfile}{log_tail_text(spec.logfile)}")
    return pid


def _lab_state(layout: RunLayout, topo: Topology, plan: DataplanePlan, now: str) -> LabState:
    """The `lab.json` of an ordinary lab, so `Lab.attach` (and `ovnguard lab status`) work on
    a data-plane lab too."""

    def rec(spec: DaemonSpec) -> DaemonRecord:
        return DaemonRecord(name=spec.name, pidfile=str(spec.pidfile), logfile=str(spec.logfile))

    central = [
        rec(cmd.ovsdb_server_spec("nb-ovsdb-server", layout.nb, {})),
        rec(cmd.ovsdb_server_spec("sb-ovsdb-server", layout.sb, {})),
        rec(cmd.northd_spec(layout)),
    ]
    hosts = []
    for h in plan.hosts:
        hp = layout.host(h.name)
        specs = [
            cmd.ovsdb_server_spec("ovsdb-server", hp.ovsdb, hp.env()),
            cmd.vswitchd_spec(hp, dummy=None),
            cmd.controller_spec(hp),
        ]
        hosts.append(
            HostRecord(
                name=h.name,
                dir=str(hp.dir),
                db_remote=hp.ovsdb.remote,
                encap_ip=str(h.address.ip),
                daemons=[rec(s) for s in specs],
            )
        )
    return LabState(
        run_dir=str(layout.root),
        created_at=now,
        nb_remote=layout.nb.remote,
        sb_remote=layout.sb.remote,
        central=central,
        hosts=hosts,
        topology=topo,
    )

