"""Command lines the lab runs: daemon specs and ovs-vsctl / ovn-nbctl transactions (pure).

Everything here only builds argument lists; lab.py runs them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from ipaddress import IPv4Address

from ovnguard.lab.layout import DbPaths, HostPaths, RunLayout
from ovnguard.lab.process import DaemonSpec
from ovnguard.lab.topology import Host, Logical, Topology


def q(value: str) -> str:
    """Quote a string for ovsdb-ctl column syntax (`key:"a:b"="c"` works for any text)."""
    return json.dumps(value, ensure_ascii=False)


def map_args(column: str, values: Mapping[str, str]) -> list[str]:
    return [f"{column}:{q(k)}={q(v)}" for k, v in sorted(values.items())]


def chain(commands: list[list[str]]) -> list[str]:
    """Join ctl commands into one transaction: `-- cmd1 -- cmd2 ...`."""
    out: list[str] = []
    for c in commands:
        out += ["--", *c]
    return out


# --- daemons ---------------------------------------------------------------------------


def ovsdb_server_spec(name: str, db: DbPaths, env: Mapping[str, str]) -> DaemonSpec:
    return DaemonSpec(
        name=name,
        binary="ovsdb-server",
        args=(f"--unixctl={db.ctl}", f"--remote=punix:{db.sock}", str(db.db)),
        pidfile=db.pidfile,
        logfile=db.logfile,
        env=dict(env),
    )


def northd_spec(layout: RunLayout) -> DaemonSpec:
    d = layout.northd_dir
    return DaemonSpec(
        name="ovn-northd",
        binary="ovn-northd",
        args=(
            f"--unixctl={d / 'ovn-northd.ctl'}",
            f"--ovnnb-db={layout.nb.remote}",
            f"--ovnsb-db={layout.sb.remote}",
        ),
        pidfile=d / "ovn-northd.pid",
        logfile=d / "ovn-northd.log",
        env=layout.central_env(d),
    )


def vswitchd_spec(hp: HostPaths, *, dummy: str | None = "override") -> DaemonSpec:
    """`dummy=None` is for a host in its own network namespace with real (tap/veth) netdevs."""
    args = [f"--unixctl={hp.vswitchd_ctl}"]
    if dummy:
        args += [f"--enable-dummy={dummy}", "--disable-system-route"]
    args.append(hp.ovsdb.remote)
    return DaemonSpec(
        name="ovs-vswitchd",
        binary="ovs-vswitchd",
        args=tuple(args),
        pidfile=hp.vswitchd_pidfile,
        logfile=hp.vswitchd_log,
        env=hp.env(),
    )


def controller_spec(hp: HostPaths) -> DaemonSpec:
    # No --unixctl: ovn-controller 23.03 rejects it; its socket is <rundir>/ovn-controller.<pid>.ctl
    return DaemonSpec(
        name="ovn-controller",
        binary="ovn-controller",
        args=(hp.ovsdb.remote,),
        pidfile=hp.controller_pidfile,
        logfile=hp.controller_log,
        env=hp.env(),
    )


# --- a chassis' Open_vSwitch database --------------------------------------------------


def host_init_commands(
    host: Host,
    topo: Topology,
    *,
    sb_remote: str,
    encap_ip: IPv4Address,
) -> list[list[str]]:
    """One `ovs-vsctl --no-wait` transaction that makes a fresh conf.db a configured chassis:
    bridges, NICs, bound VIFs on br-int and the external_ids ovn-controller reads."""
    cmds: list[list[str]] = [["init"]]
    nic_type = [] if topo.nic_type == "system" else ["type=dummy"]
    for br in host.bridges_with_integration():
        cmds.append(["add-br", br.name])
        settings: list[str] = []
        if br.fail_mode:
            settings.append(f"fail_mode={br.fail_mode}")
        settings += map_args("other_config", br.other_config)
        settings += map_args("external_ids", br.external_ids)
        if settings:
            cmds.append(["set", "Bridge", br.name, *settings])
        for nic in br.ports:
            cmds.append(["add-port", br.name, nic])
            if nic_type:
                cmds.append(["set", "Interface", nic, *nic_type])
    for port in topo.logical.ports:
        if port.bound_to != host.name:
            continue
        iface = port.iface_name
        ids = {"iface-id": port.name, "iface-status": "active"}
        mac = _first_mac(port.addresses)
        if mac:
            ids["attached-mac"] = mac
        cmds.append(["add-port", "br-int", iface])
        cmds.append(["set", "Interface", iface, "type=internal", *map_args("external_ids", ids)])
    ext = managed_external_ids(host, sb_remote=sb_remote, encap_ip=encap_ip)
    ext["ovn-encap-type"] = "geneve"
    if host.bridge_mappings:
        ext["ovn-bridge-mappings"] = host.bridge_mappings
    # Validation keeps system-id, hostname and ovn-remote out of the extras.
    ext.update(host.external_ids)
    cmds.append(["set", "Open_vSwitch", ".", *map_args("external_ids", ext)])
    return cmds


def managed_external_ids(host: Host, *, sb_remote: str, encap_ip: IPv4Address) -> dict[str, str]:
    """The Open_vSwitch external_ids the lab always owns: who the chassis is and where its
    SB and tunnel endpoint are (never a real cluster's)."""
    return {
        "system-id": host.chassis_name,
        "hostname": host.name,
        "ovn-remote": sb_remote,
        "ovn-encap-ip": str(encap_ip),
    }


def preloaded_host_commands(
    host: Host,
    commands: list[list[str]],
    *,
    sb_remote: str,
    encap_ip: IPv4Address,
) -> list[list[str]]:
    """The init transaction of a chassis whose bridges and ports are given as ready-made
    ovs-vsctl commands (a replica of a real host) instead of derived from the topology."""
    managed = managed_external_ids(host, sb_remote=sb_remote, encap_ip=encap_ip)
    return [
        ["init"],
        *commands,
        ["set", "Open_vSwitch", ".", *map_args("external_ids", managed)],
    ]


def _first_mac(addresses: list[str]) -> str | None:
    for a in addresses:
        first = a.split()[0] if a.split() else ""
        if first.count(":") == 5:
            return first
    return None


# --- the logical topology --------------------------------------------------------------


def logical_commands(
    lg: Logical, chassis_names: Mapping[str, str] | None = None
) -> list[list[str]]:
    """ovn-nbctl commands creating switches, ports, routers, gateway chassis and NAT.
    `chassis_names` maps a host name to its chassis name where they differ (Host.system_id)."""
    names = chassis_names or {}
    cmds: list[list[str]] = []
    for sw in lg.switches:
        cmds.append(["ls-add", sw.name])
        settings = map_args("external_ids", sw.external_ids) + map_args(
            "other_config", sw.other_config
        )
        if settings:
            cmds.append(["set", "Logical_Switch", sw.name, *settings])
    for p in lg.ports:
        cmds.append(["lsp-add", p.switch, p.name])
        if p.type:
            cmds.append(["lsp-set-type", p.name, p.type])
        if p.addresses:
            cmds.append(["lsp-set-addresses", p.name, *p.addresses])
        settings = map_args("options", p.options) + map_args("external_ids", p.external_ids)
        if p.tag_request is not None:
            settings.append(f"tag_request={p.tag_request}")
        if settings:
            cmds.append(["set", "Logical_Switch_Port", p.name, *settings])
    for r in lg.routers:
        cmds.append(["lr-add", r.name])
        if r.external_ids:
            cmds.append(
                ["set", "Logical_Router", r.name, *map_args("external_ids", r.external_ids)]
            )
        for rp in r.ports:
            cmds.append(["lrp-add", r.name, rp.name, rp.mac, *rp.networks])
            if rp.switch:
                sp = rp.switch_port_name
                cmds += [
                    ["lsp-add", rp.switch, sp],
                    ["lsp-set-type", sp, "router"],
                    ["lsp-set-addresses", sp, "router"],
                    ["lsp-set-options", sp, f"router-port={rp.name}"],
                ]
            for chassis, prio in rp.gateway_chassis:
                cmds.append(
                    ["lrp-set-gateway-chassis", rp.name, names.get(chassis, chassis), str(prio)]
                )
        for nat in r.nat:
            cmd = ["lr-nat-add", r.name, nat.type, str(nat.external_ip), nat.logical_ip]
            if nat.logical_port:
                cmd += [nat.logical_port, nat.external_mac or ""]
            cmds.append(cmd)
        for route in r.routes:
            cmds.append(["lr-route-add", r.name, route.prefix, route.nexthop])
    return cmds
