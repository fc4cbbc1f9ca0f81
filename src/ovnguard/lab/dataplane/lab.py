"""`DataplaneLab`: a running data-plane lab -- start, attach, stop, probe."""

from __future__ import annotations

import contextlib
import datetime as dt
import ipaddress
import json
import os
import shutil
import subprocess
import threading
from collections.abc import Sequence
from pathlib import Path

from ovnguard.errors import LabError
from ovnguard.i18n import _
from ovnguard.lab import netns
from ovnguard.lab.console import OvnConsole
from ovnguard.lab.dataplane.cgroup import cgroup_stat
from ovnguard.lab.dataplane.plan import (
    MANAGEMENT_SEGMENT,
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
from ovnguard.lab.dataplane.start import initial_lab_state, start, tcp_argv, tcp_ok
from ovnguard.lab.lab import Lab
from ovnguard.lab.layout import (
    NB_SCHEMA_CANDIDATES,
    SB_SCHEMA_CANDIDATES,
    VSWITCH_SCHEMA_CANDIDATES,
    RunLayout,
    default_run_dir,
)
from ovnguard.lab.process import (
    clean_env,
)
from ovnguard.lab.protocol import StopsOnExit
from ovnguard.lab.rundir import (
    claim_run_dir,
    empty_run_dir,
    locked,
    refuse_running_lab,
    schema_path,
)
from ovnguard.lab.state import LabState, write_state
from ovnguard.lab.topology import Topology, seed_topology, validate_topology

# --- the lab ------------------------------------------------------------------------------


class DataplaneLab(OvnConsole, StopsOnExit):
    """A running data-plane lab. `DataplaneLab.up(...)`, `DataplaneLab.attach(run_dir)`.

    `lab` is the ordinary `Lab` handle on the same daemons; the console (nbctl, vsctl,
    chassis_ports, ...; `OvnConsole`'s, as `Lab`'s are) reaches them over unix sockets, out
    of band, so it keeps working when the management LAN does not. Probes (`ping`,
    `tcp_probe`, `reachability`) go over the LAN, from inside the namespaces.
    """

    def __init__(self, lab: Lab, state: DataplaneState) -> None:
        self.lab = lab
        # The console's hooks: the same run dir and lab.json as `lab`'s.
        self.layout = lab.layout
        self.state = state

    @property
    def _lab_state(self) -> LabState:
        return self.lab.state

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
            refuse_running_lab(layout, our_daemons(layout), _(
                "a lab is already running in {root} ({count} daemons, e.g. pid {value}); "
                "stop it first"))
            cleanup_stale()
            # This run dir's own leftovers (a crashed run): same id, so same namespaces.
            teardown(lab_id, layout)
            empty_run_dir(layout)
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
            lab_state = initial_lab_state(layout, topo, plan, now)
            write_state(layout.state, lab_state)
            dp = cls(Lab(layout, lab_state), state)
            try:
                start(dp, schemas, timeout)
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
            raise LabError(_(
                "data-plane lab {root}: {names}").format(
                root=layout.root, names='; '.join(problems)))
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
            raise LabError(_(
                "data-plane lab {root}: {names}").format(
                root=layout.root, names='; '.join(problems)))
        if purge and layout.marker.exists():
            shutil.rmtree(layout.root, ignore_errors=True)
        return had

    cleanup_stale = staticmethod(cleanup_stale)

    def _set_pid(self, host: str | None, daemon: str, pid: int, ctl: str | None = None) -> None:
        with _STATE_LOCK:  # hosts start in parallel threads
            self.lab._set_pid(host, daemon, pid, ctl)

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
                _(
                "{node_or_address} is neither a node ({names}) nor an IPv4 address").format(
                node_or_address=repr(node_or_address), names=', '.join(addrs))
            ) from None

    # --- the console (unix sockets, out of band; the ctl commands are OvnConsole's) -----

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
        return tcp_ok(self.netns_of(src), self.address_of(dst), port, timeout, banner=True)

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
                    argv = tcp_argv(self.netns_of(src), self.address_of(dst), port, timeout, True)
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
