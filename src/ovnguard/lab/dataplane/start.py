"""Starting a data-plane lab: the LAN and namespaces, central NB/SB and northd, each host's
OVS and ovn-controller, the TCP listeners -- until every chassis is registered."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from ovnguard.errors import LabError
from ovnguard.i18n import _
from ovnguard.lab import commands as cmd
from ovnguard.lab import netns
from ovnguard.lab.console import CTL_TIMEOUT
from ovnguard.lab.dataplane.cgroup import cgroup_add, create_cgroup
from ovnguard.lab.dataplane.plan import (
    NB_PORT,
    PROBE_PORT,
    SB_PORT,
    DataplanePlan,
)
from ovnguard.lab.dataplane.registry import (
    LISTENER,
)
from ovnguard.lab.lab import initial_state, raise_first_failure
from ovnguard.lab.layout import (
    RunLayout,
)
from ovnguard.lab.process import (
    clean_env,
    log_tail_text,
    run,
    start_daemon,
    wait_until,
)
from ovnguard.lab.state import LabState, write_state
from ovnguard.lab.topology import Topology

if TYPE_CHECKING:
    from ovnguard.lab.dataplane.lab import DataplaneLab


def start(dp: DataplaneLab, schemas: tuple[str, str, str], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    layout, plan = dp.lab.layout, dp.plan
    limits = dp.state.limits
    if limits.cpus is not None:
        path, note = create_cgroup(plan.lab_id, limits.cpus)
        dp.state.cgroup = str(path) if path else None
        dp.state.cgroup_note = note
    else:
        dp.state.cgroup_note = "disabled (limits.cpus is None)"
    dp._save()
    _build_network(dp)
    _start_central(dp, schemas)
    topo = dp.topology
    errors: list[tuple[str, BaseException]] = []
    with ThreadPoolExecutor(max_workers=max(2, min(8, len(topo.hosts)))) as pool:
        futures = {pool.submit(_start_host, dp, h.name, deadline): h.name for h in topo.hosts}
        for f, name in futures.items():
            try:
                f.result()
            except BaseException as e:
                errors.append((name, e))
    write_state(layout.state, dp.lab.state)
    raise_first_failure(errors, _("host {name}: {first}{others}"), "hosts")
    _start_listeners(dp, deadline)
    _wait_registered(dp, deadline)
    dp.lab.wait_hv(timeout=max(5.0, deadline - time.monotonic()))


def _build_network(dp: DataplaneLab) -> None:
    plan = dp.plan
    lan = plan.lan_netns
    netns.add(lan)
    for seg in plan.segments:
        netns.add_bridge(lan, seg.bridge, alias=f"{seg.name} (ovnguard lab {dp.run_dir})")
    netns.add_address(lan, plan.router.interface, plan.router.address)
    nodes = [plan.central, *plan.hosts]
    for n in nodes:
        netns.add(n.netns)
    for link in plan.links:
        netns.add_veth(lan, link.lan_ifname, link.netns, link.ifname)
        netns.set_alias(lan, link.lan_ifname, f"{link.node}/{link.ifname}")
        netns.set_master(lan, link.lan_ifname, plan.segment_bridge(link.segment))
        _shape(dp, lan, link.lan_ifname)
        if not link.in_ovs:
            # An OVS port's end is shaped once vswitchd has added it: adding the port
            # resets its qdisc (measured), later reconfigurations leave it alone.
            _shape(dp, link.netns, link.ifname)
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


def _shape(dp: DataplaneLab, ns: str, ifname: str) -> None:
    lim = dp.state.limits
    netns.shape(ns, ifname, rate=lim.rate, burst=lim.burst, latency=lim.latency)


def _start_central(dp: DataplaneLab, schemas: tuple[str, str, str]) -> None:
    layout, c = dp.lab.layout, dp.plan.central
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
        dp._set_pid(None, name, start_daemon(spec))
    chassis_names = {h.name: h.chassis_name for h in dp.topology.hosts}
    logical = cmd.logical_commands(dp.topology.logical, chassis_names)
    dp.lab.nbctl("init", *cmd.chain(logical))
    dp.lab.sbctl("init")
    northd = replace(cmd.northd_spec(layout), netns=c.netns)
    dp._set_pid(None, "ovn-northd", start_daemon(northd))
    write_state(layout.state, dp.lab.state)


def _start_host(dp: DataplaneLab, name: str, deadline: float) -> None:
    topo, layout = dp.topology, dp.lab.layout
    host, node = topo.host(name), dp.plan.node(name)
    hp = layout.host(name)
    hp.dir.mkdir(parents=True)
    shutil.copyfile(layout.template_conf_db, hp.ovsdb.db)
    env = hp.env()
    ns = node.netns
    db_spec = replace(cmd.ovsdb_server_spec("ovsdb-server", hp.ovsdb, env), netns=ns)
    dp._set_pid(name, "ovsdb-server", start_daemon(db_spec))
    init = cmd.host_init_commands(
        host, topo, sb_remote=dp.ovn_remote, encap_ip=node.address.ip
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
    vs_pid = start_daemon(vs_spec, nice=dp.state.limits.nice)
    dp._set_pid(name, "ovs-vswitchd", vs_pid, str(hp.vswitchd_ctl))
    if dp.state.cgroup:
        cgroup_add(Path(dp.state.cgroup), vs_pid)
    for lk in dp.plan.links:
        if lk.node == name and lk.in_ovs:
            _shape(dp, ns, lk.ifname)
    mgmt = node.interface
    if not wait_until(lambda: mgmt in netns.link_names(ns), 10.0, 0.05):
        raise LabError(
            _(
            "{mgmt} did not appear in namespace {ns}{value}").format(
            mgmt=mgmt, ns=ns, value=log_tail_text(hp.vswitchd_log))
        )
    netns.add_address(ns, mgmt, node.address)
    netns.set_up(ns, mgmt)
    netns.add_default_route(ns, dp.plan.router.address.ip)
    if dp.state.control == "management":
        # Starting ovn-controller before the SB answers costs its reconnect back-off
        # (1, 2, 4, 8 s); wait for the path instead.
        c = dp.plan.central.address.ip
        ok = wait_until(
            lambda: tcp_ok(ns, str(c), SB_PORT, 1.0, banner=False),
            max(1.0, deadline - time.monotonic()),
            0.1,
        )
        if not ok:
            raise LabError(
                _(
                "the SB at tcp:{c}:{SB_PORT} is not reachable from {name} over the management "
                "LAN{value}").format(
                c=c, SB_PORT=SB_PORT, name=name, value=log_tail_text(hp.vswitchd_log))
            )
    ctl_spec = replace(cmd.controller_spec(hp), netns=ns)
    pid = start_daemon(ctl_spec)
    ctl = hp.controller_ctl(pid)
    dp._set_pid(name, "ovn-controller", pid, str(ctl))
    run(["ovn-appctl", "-t", str(ctl), "debug/ignore-startup-delay"], env=env, timeout=30)


def _start_listeners(dp: DataplaneLab, deadline: float) -> None:
    ldir = dp.lab.layout.root / "listeners"
    ldir.mkdir(exist_ok=True)
    procs = {}
    for n in dp.plan.nodes().values():
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
            raise LabError(_(
                "TCP listener on {name} did not start{tail}").format(
                name=name, tail=tail))
        dp.state.listeners[name] = proc.pid
    dp._save()


def _wait_registered(dp: DataplaneLab, deadline: float) -> None:
    # SB Chassis rows are named after system-id, which may differ from the host name.
    host_of = {h.chassis_name: h.name for h in dp.topology.hosts}
    names = set(host_of)
    while True:
        registered = dp.lab.registered_chassis() & names
        if registered == names:
            return
        if time.monotonic() >= deadline:
            missing = sorted(host_of[c] for c in names - registered)
            log = dp.lab.layout.host(missing[0]).controller_log
            raise LabError(
                _(
                "chassis {names} did not register in SB in time{value}").format(
                names=', '.join(missing), value=log_tail_text(log))
            )
        time.sleep(0.05)


# bash's /dev/tcp: always there, starts in milliseconds. $0 addr, $1 port, $2 read banner.


_TCP_SCRIPT = (
    'exec 3<>"/dev/tcp/$0/$1" || exit 1; [ "$2" = 0 ] && exit 0; '
    'read -r l <&3; [[ "$l" == ovnguard-lab* ]]'
)


def tcp_argv(ns: str, addr: str, port: int, timeout: float, banner: bool) -> list[str]:
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


def tcp_ok(ns: str, addr: str, port: int, timeout: float, *, banner: bool) -> bool:
    proc = subprocess.run(
        tcp_argv(ns, addr, port, timeout, banner),
        capture_output=True,
        timeout=timeout + 10,
        env=clean_env(),
        check=False,
    )
    return proc.returncode == 0


def _listener_settled(pidfile: Path, proc: subprocess.Popen[bytes]) -> Callable[[], bool]:
    """Listening (it writes its pidfile after listen()) or dead."""
    return lambda: pidfile.exists() or proc.poll() is not None


def initial_lab_state(layout: RunLayout, topo: Topology, plan: DataplanePlan, now: str) -> LabState:
    """The `lab.json` of an ordinary lab, so `Lab.attach` (and `ovnguard lab status`) work on
    a data-plane lab too: each host's tunnel address is its management address, and its
    ovs-vswitchd runs real netdevs (no --enable-dummy)."""
    encaps = {h.name: str(h.address.ip) for h in plan.hosts}
    return initial_state(layout, topo, encaps, dummy=None, created_at=now)
