"""Build the bench's N-host cloud: NB written through the OVSDB protocol into a real
ovsdb-server, SB by real ovn-northd (plus the chassis and bindings ovn-controller would
write), each host's conf.db written directly as a standalone OVSDB file. See check_scale.py.

Everything started here is registered in a `Procs` and stopped by its `stop_all()`; the
caller runs that in a `finally`.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import ovs.jsonrpc
import ovs.stream

from ovnguard.lab.iproute import LabInterface, addr_json, devices, link_json, route_json
from ovnguard.lab.process import vm_hwm_kib
from ovnguard.lab.topology import parse_topology

NB_SCHEMA = "/usr/share/ovn/ovn-nb.ovsschema"
SB_SCHEMA = "/usr/share/ovn/ovn-sb.ovsschema"
VS_SCHEMA = "/usr/share/openvswitch/vswitch.ovsschema"
PROVIDER = "neutron-5f1c9d2e-8a7b-4c3d-9e0f-1a2b3c4d5e6f"  # the flat provider net (physnet2)
PORTS_PER_SWITCH = 10  # a tenant network holds ~10 VIFs: 200k ports -> 20k switches
SWITCHES_PER_ROUTER = 10  # a router joins ~10 tenant networks and has a gateway on PROVIDER
BATCH = 20_000  # OVSDB operations per transaction (ovsdb-server takes far bigger ones)
# What Neutron's OVN driver sets on every router it creates (ovn_client.create_router).
# dynamic_neigh_routers matters at scale: without it ovn-northd writes, for every router on
# the provider network, a static ARP/ND entry for every other router's gateway IP there --
# routers squared logical flows (at 200 routers 214k flows instead of 137k; at 2,000, 8M
# more), which no Neutron cloud has.
NEUTRON_ROUTER_OPTIONS = {"always_learn_from_arp_request": "false",
                          "dynamic_neigh_routers": "true"}


@dataclass
class Procs:
    """Every daemon the bench started, so that `stop_all` stops exactly those."""

    started: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def start(self, argv: list[str]) -> subprocess.Popen[bytes]:
        # Ctrl-C / SIGTERM held back until the daemon is registered: arriving inside Popen
        # (after the fork) it would leave a daemon that nothing knows to stop. The daemon
        # itself starts with them unblocked.
        stop = {signal.SIGINT, signal.SIGTERM}
        old = signal.pthread_sigmask(signal.SIG_BLOCK, stop)
        try:
            p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                 stdin=subprocess.DEVNULL,
                                 preexec_fn=lambda: signal.pthread_sigmask(
                                     signal.SIG_UNBLOCK, stop))
            self.started.append(p)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, old)
        return p

    def run(self, argv: list[str]) -> None:
        """Run a command to completion as one of the bench's processes: a Ctrl-C or SIGTERM
        while it runs leaves it to `stop_all` (an `ovn-nbctl --wait=sb sync` left behind
        would wait for the stopped northd for as long as its timeout)."""
        p = self.start(argv)
        if p.wait() != 0:
            raise RuntimeError(f"{argv[0]} failed with exit {p.returncode}")
        self.started.remove(p)

    def stop(self, p: subprocess.Popen[bytes]) -> None:
        if p.poll() is None:
            p.terminate()
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(10)

    def stop_all(self) -> None:
        for p in reversed(self.started):
            self.stop(p)


class Server:
    """A real ovsdb-server on a fresh database file in `d`."""

    def __init__(self, procs: Procs, d: Path, name: str, schema: str) -> None:
        self.name = name
        self.db = d / f"{name}.db"
        self.sock = d / f"{name}.sock"
        self.procs = procs
        subprocess.run(["ovsdb-tool", "create", str(self.db), schema], check=True)
        self.proc = procs.start(
            ["ovsdb-server", str(self.db), f"--remote=punix:{self.sock}",
             f"--unixctl={d / (name + '.ctl')}", f"--log-file={d / (name + '.log')}"])
        deadline = time.monotonic() + 30
        while not self.sock.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"ovsdb-server for {name} did not start (see {name}.log)")
            time.sleep(0.005)
        self.rpc: ovs.jsonrpc.Connection | None = None

    @property
    def remote(self) -> str:
        return f"unix:{self.sock}"

    def transact(self, database: str, ops: list[dict[str, Any]]) -> list[Any]:
        """One OVSDB `transact` (RFC 7047 4.1.3) over the ovs package's JSON-RPC."""
        if self.rpc is None:
            err, stream = ovs.stream.Stream.open_block(ovs.stream.Stream.open(self.remote))
            if err:
                raise RuntimeError(f"cannot connect to {self.remote}: {err}")
            self.rpc = ovs.jsonrpc.Connection(stream)
        err, reply = self.rpc.transact_block(
            ovs.jsonrpc.Message.create_request("transact", [database, *ops]))
        if err or reply.error:
            raise RuntimeError(f"transact on {self.name} failed: {err or reply.error}")
        for r in reply.result:
            if isinstance(r, dict) and "error" in r:
                raise RuntimeError(f"transact on {self.name} failed: {r}")
        return list(reply.result)

    def stop(self) -> None:
        if self.rpc is not None:
            self.rpc.close()
            self.rpc = None
        self.procs.stop(self.proc)


def _set(atoms: list[Any]) -> list[Any]:
    return ["set", atoms]


def _map(d: dict[str, str]) -> list[Any]:
    return ["map", [[k, v] for k, v in d.items()]]


def _named(n: str) -> list[str]:
    return ["named-uuid", n]


@dataclass(frozen=True)
class Shape:
    hosts: int
    vifs: int

    @property
    def names(self) -> list[str]:
        return [f"compute{i}" for i in range(self.hosts)]

    @property
    def ports(self) -> int:
        return self.hosts * self.vifs

    @property
    def switches(self) -> int:
        return max(1, self.ports // PORTS_PER_SWITCH)

    @property
    def routers(self) -> int:
        return max(1, self.switches // SWITCHES_PER_ROUTER)

    @property
    def gateways(self) -> list[str]:
        """Network nodes: the chassis that host routers' gateway ports (3 per router)."""
        return self.names[: max(3, self.hosts // 100)] if self.hosts >= 3 else self.names

    def switch_of(self, host: int, vif: int) -> int:
        # scatter each host's VMs over the tenant networks (a network spans ~10 hosts)
        return (host * 7919 + vif * 104_729) % self.switches

    def encap_ip(self, i: int) -> str:
        return f"172.16.{i // 250}.{i % 250 + 1}"


def _chunks(ops: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    for i in range(0, len(ops), BATCH):
        yield ops[i : i + BATCH]


def _vif(s: Shape, i: int, v: int, ip: str) -> dict[str, Any]:
    mac = f"fa:16:3e:{i // 256:02x}:{i % 256:02x}:{v:02x}"
    return {"op": "insert", "table": "Logical_Switch_Port", "uuid-name": f"vm{i}_{v}",
            "row": {"name": f"vm-{i}-{v}", "addresses": f"{mac} {ip}",
                    "options": _map({"requested-chassis": s.names[i]}),
                    "external_ids": _map({"neutron:device_owner": "compute:nova"})}}


def nb_ops(s: Shape) -> Iterator[list[dict[str, Any]]]:
    """The NB a Neutron-managed cloud of this shape has, as transactions of inserts."""
    gws = s.gateways
    yield [
        {"op": "insert", "table": "NB_Global", "row": {}},
        {"op": "insert", "table": "Logical_Switch_Port", "uuid-name": "provnet",
         "row": {"name": "provnet-0", "type": "localnet", "addresses": "unknown",
                 "options": _map({"network_name": "physnet2"})}},
        {"op": "insert", "table": "Logical_Switch", "uuid-name": "pub",
         "row": {"name": PROVIDER, "ports": _set([_named("provnet")]),
                 "external_ids": _map({"neutron:network_name": "public"})}},
    ]
    # routers: a gateway port on PROVIDER scheduled on 3 network nodes, one port per network
    for r0 in range(0, s.routers, 500):
        ops: list[dict[str, Any]] = []
        gw_lsps = []
        for r in range(r0, min(s.routers, r0 + 500)):
            gcs = []
            for k in range(min(3, len(gws))):
                g = gws[(r + k) % len(gws)]
                ops.append({"op": "insert", "table": "Gateway_Chassis", "uuid-name": f"gc{r}_{k}",
                            "row": {"name": f"lrp-gw{r}_{g}", "chassis_name": g,
                                    "priority": 3 - k}})
                gcs.append(_named(f"gc{r}_{k}"))
            ports = [_named(f"gw{r}")]
            ops.append({"op": "insert", "table": "Logical_Router_Port", "uuid-name": f"gw{r}",
                        "row": {"name": f"lrp-gw{r}", "mac": f"fa:16:3e:f0:{r // 256 % 256:02x}:"
                                f"{r % 256:02x}", "networks": f"203.0.{r // 250 % 256}."
                                f"{r % 250 + 2}/16", "gateway_chassis": _set(gcs)}})
            for t in range(r * SWITCHES_PER_ROUTER,
                           min(s.switches, (r + 1) * SWITCHES_PER_ROUTER)):
                ops.append({"op": "insert", "table": "Logical_Router_Port",
                            "uuid-name": f"lrp{t}",
                            "row": {"name": f"lrp-t{t}",
                                    "mac": f"fa:16:3e:{t // 65536:02x}:{t // 256 % 256:02x}:"
                                           f"{t % 256:02x}",
                                    "networks": f"10.{t // 256 % 256}.{t % 256}.1/24"}})
                ports.append(_named(f"lrp{t}"))
            ops.append({"op": "insert", "table": "Logical_Router",
                        "row": {"name": f"router{r}", "ports": _set(ports),
                                "options": _map(NEUTRON_ROUTER_OPTIONS)}})
            ops.append({"op": "insert", "table": "Logical_Switch_Port", "uuid-name": f"rpgw{r}",
                        "row": {"name": f"rp-gw{r}", "type": "router", "addresses": "router",
                                "options": _map({"router-port": f"lrp-gw{r}"})}})
            gw_lsps.append(_named(f"rpgw{r}"))
        ops.append({"op": "mutate", "table": "Logical_Switch",
                    "where": [["name", "==", PROVIDER]],
                    "mutations": [["ports", "insert", _set(gw_lsps)]]})
        yield ops
    # tenant networks with their router port and their VIFs
    vifs_of: list[list[tuple[int, int]]] = [[] for _ in range(s.switches)]
    on_provider: list[tuple[int, int]] = []
    for i in range(s.hosts):
        for v in range(s.vifs):
            if v == 0 and i % 10 == 0:
                on_provider.append((i, v))  # a VM with a port on the public network itself
            else:
                vifs_of[s.switch_of(i, v)].append((i, v))
    ops = [{"op": "mutate", "table": "Logical_Switch", "where": [["name", "==", PROVIDER]],
            "mutations": [["ports", "insert", _set([_named(f"vm{i}_{v}")
                                                    for i, v in on_provider])]]}]
    for n, (i, v) in enumerate(on_provider):
        ops.append(_vif(s, i, v, f"203.1.{n // 250}.{n % 250 + 2}"))
    yield ops
    ops = []
    for t in range(s.switches):
        ports = [_named(f"rp{t}")]
        ops.append({"op": "insert", "table": "Logical_Switch_Port", "uuid-name": f"rp{t}",
                    "row": {"name": f"rp-t{t}", "type": "router", "addresses": "router",
                            "options": _map({"router-port": f"lrp-t{t}"})}})
        for n, (i, v) in enumerate(vifs_of[t]):
            ops.append(_vif(s, i, v, f"10.{t // 256 % 256}.{t % 256}.{n + 10}"))
            ports.append(_named(f"vm{i}_{v}"))
        ops.append({"op": "insert", "table": "Logical_Switch",
                    "row": {"name": f"tenant{t}", "ports": _set(ports)}})
        if len(ops) >= BATCH:
            yield ops
            ops = []
    if ops:
        yield ops


def peak_rss(pid: int) -> float:
    """A running process's peak resident memory, MiB."""
    return vm_hwm_kib(pid) / 1024


def build_central(procs: Procs, root: Path, s: Shape,
                  peaks: dict[str, float]) -> tuple[Server, Server]:
    """NB and SB as a real cloud of this shape has them, left running for the bench;
    `peaks` gets ovn-northd's peak RSS (the servers' are read off them later)."""
    nb = Server(procs, root, "nb", NB_SCHEMA)
    sb = Server(procs, root, "sb", SB_SCHEMA)
    # what each ovn-controller writes when it starts: its Chassis and Encap
    chassis_ops: list[dict[str, Any]] = []
    for i, h in enumerate(s.names):
        cfg = {"ovn-bridge-mappings": "physnet2:br-ex"}
        if h in s.gateways:
            cfg["ovn-cms-options"] = "enable-chassis-as-gw"
        chassis_ops += [
            {"op": "insert", "table": "Encap", "uuid-name": f"e{i}",
             "row": {"type": "geneve", "ip": s.encap_ip(i), "chassis_name": h,
                     "options": _map({"csum": "true"})}},
            {"op": "insert", "table": "Chassis", "uuid-name": f"c{i}",
             "row": {"name": h, "hostname": h, "encaps": _set([_named(f"e{i}")]),
                     "other_config": _map(cfg)}},
        ]
    for ops in _chunks(chassis_ops):
        sb.transact("OVN_Southbound", ops)
    # northd runs while NB is written, batch by batch, as in a cloud that grew: each of its
    # SB transactions is then a batch's worth of flows. Started on the whole NB at once,
    # it sends SB one transaction of every flow, and the SB server's peak is several times
    # its steady size (6.3 GB at 50k ports, against 1.5 GB this way).
    northd = procs.start(
        ["ovn-northd", f"--ovnnb-db={nb.remote}", f"--ovnsb-db={sb.remote}",
         f"--log-file={root / 'northd.log'}", f"--unixctl={root / 'northd.ctl'}"])
    for ops in nb_ops(s):
        nb.transact("OVN_Northbound", ops)
        procs.run(["ovn-nbctl", f"--db={nb.remote}", "--timeout=3600", "--wait=sb", "sync"])
    peaks["ovn-northd"] = peak_rss(northd.pid)
    procs.stop(northd)
    bind_ports(sb, s)
    return nb, sb


def bind_ports(sb: Server, s: Shape) -> None:
    """What every ovn-controller writes once its VIFs are plugged: Port_Binding.chassis (and
    the gateway's chassisredirect port on its highest-priority chassis)."""
    res = sb.transact("OVN_Southbound", [
        {"op": "select", "table": "Chassis", "where": [], "columns": ["_uuid", "name"]},
        {"op": "select", "table": "Port_Binding", "where": [],
         "columns": ["_uuid", "logical_port", "type"]}])
    chassis = {r["name"]: r["_uuid"] for r in res[0]["rows"]}
    names = s.names
    gws = s.gateways
    ops: list[dict[str, Any]] = []
    for pb in res[1]["rows"]:
        lp, ptype = pb["logical_port"], pb["type"]
        if ptype == "" and lp.startswith("vm-"):
            host = names[int(lp.split("-")[1])]
        elif ptype == "chassisredirect" and lp.startswith("cr-lrp-gw"):
            host = gws[int(lp[len("cr-lrp-gw"):]) % len(gws)]
        else:
            continue
        ops.append({"op": "update", "table": "Port_Binding",
                    "where": [["_uuid", "==", pb["_uuid"]]],
                    "row": {"chassis": chassis[host], "up": True}})
    for chunk in _chunks(ops):
        sb.transact("OVN_Southbound", chunk)


@dataclass(frozen=True)
class Cost:
    """Wall seconds, and CPU seconds of every process doing the work (on a shared machine
    the wall time also measures the neighbours; the CPU time does not)."""

    wall: float
    cpu: float

    def __add__(self, o: Cost) -> Cost:
        return Cost(self.wall + o.wall, self.cpu + o.cpu)


def pid_cpu(pid: int) -> float:
    """utime + stime of a running process (proc(5) stat fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_cpu(argv: list[str], stdout: Any) -> Cost:
    """Run `argv` to completion: wall seconds and its own CPU seconds (wait4 rusage)."""
    t0 = time.monotonic()
    p = subprocess.Popen(argv, stdout=stdout, stderr=subprocess.DEVNULL)
    _, status, ru = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        raise RuntimeError(f"{argv[0]} failed with exit {p.returncode}")
    return Cost(time.monotonic() - t0, ru.ru_utime + ru.ru_stime)


def backup(server: Server, database: str, out: Path) -> Cost:
    """`ovsdb-client backup` of one database into `out`: ovsdb-client's CPU and what
    ovsdb-server spent answering it."""
    s0 = pid_cpu(server.proc.pid)
    with out.open("wb") as f:
        c = run_cpu(["ovsdb-client", "--timeout=3600", "backup", server.remote, database], f)
    return Cost(c.wall, c.cpu + pid_cpu(server.proc.pid) - s0)


class ConfDbWriter:
    """Writes an Open_vSwitch standalone DB file the way `ovsdb-client backup` does (the
    schema record, then one `_is_diff` record holding every column of every row), without
    an ovsdb-server per host: 1,000 servers would dominate the build."""

    def __init__(self) -> None:
        text = Path(VS_SCHEMA).read_bytes()
        self.schema_doc = orjson.loads(text)
        self.schema_rec = self._record(orjson.dumps(self.schema_doc))
        self.defaults = {t: {c: self._default(cd["type"]) for c, cd in td["columns"].items()}
                         for t, td in self.schema_doc["tables"].items()
                         if t in ("Open_vSwitch", "Bridge", "Port", "Interface")}

    @staticmethod
    def _default(t: Any) -> Any:
        if isinstance(t, str):
            return {"string": "", "integer": 0, "real": 0.0, "boolean": False}[t]
        if "value" in t:
            return ["map", []]
        if t.get("min", 1) == 0 or t.get("max", 1) != 1:
            return ["set", []]
        key = t["key"] if isinstance(t["key"], str) else t["key"]["type"]
        return {"string": "", "integer": 0, "real": 0.0, "boolean": False}[key]

    @staticmethod
    def _record(body: bytes) -> bytes:
        body += b"\n"  # the length and the SHA-1 cover the newline (ovsdb/log.c)
        return f"OVSDB JSON {len(body)} {hashlib.sha1(body).hexdigest()}\n".encode() + body

    def row(self, table: str, **cols: Any) -> dict[str, Any]:
        out = dict(self.defaults[table])
        out.update(cols)
        return out

    def write(self, path: Path, s: Shape, i: int, tunnels: bool) -> None:
        h = s.names[i]
        tables: dict[str, dict[str, Any]] = {"Open_vSwitch": {}, "Bridge": {}, "Port": {},
                                             "Interface": {}}

        def port(name: str, itype: str = "", options: dict[str, str] | None = None,
                 ext: dict[str, str] | None = None,
                 port_ext: dict[str, str] | None = None) -> list[str]:
            iu, pu = str(uuid.uuid4()), str(uuid.uuid4())
            tables["Interface"][iu] = self.row("Interface", name=name, type=itype,
                                               options=_map(options or {}),
                                               external_ids=_map(ext or {}))
            tables["Port"][pu] = self.row("Port", name=name, interfaces=["uuid", iu],
                                          external_ids=_map(port_ext or {}))
            return ["uuid", pu]

        def bridge(name: str, ports: list[list[str]], other: dict[str, str]) -> list[str]:
            bu = str(uuid.uuid4())
            tables["Bridge"][bu] = self.row("Bridge", name=name, ports=_set(ports),
                                            other_config=_map(other),
                                            fail_mode="secure" if name == "br-int" else
                                            ["set", []])
            return ["uuid", bu]

        int_ports = [port("br-int", "internal")]
        int_ports += [port(f"tap{i}-{v}", ext={"iface-id": f"vm-{i}-{v}",
                                               "attached-mac": f"fa:16:3e:{i // 256:02x}:"
                                               f"{i % 256:02x}:{v:02x}",
                                               "iface-status": "active"})
                      for v in range(s.vifs)]
        if tunnels:
            # ovn-controller's geneve port to every other chassis, as encaps.c makes it:
            # ovn-<first 6 of the chassis name>-<n> (n counting up on a clash), the Port's
            # external_ids:ovn-chassis-id "<chassis>@<remote ip>"
            others = [j for j in range(s.hosts) if j != i]
            int_ports += [port(f"ovn-{s.names[j][:6]}-{n}", "geneve",
                               {"csum": "true", "key": "flow", "remote_ip": s.encap_ip(j)},
                               port_ext={"ovn-chassis-id": f"{s.names[j]}@{s.encap_ip(j)}"})
                          for n, j in enumerate(others)]
        ex_ports = [port("br-ex", "internal"), port("enp6s18")]
        bridges = [bridge("br-int", int_ports, {"disable-in-band": "true"}),
                   bridge("br-ex", ex_ports, {})]
        tables["Open_vSwitch"][str(uuid.uuid4())] = self.row(
            "Open_vSwitch", bridges=_set(bridges), ovs_version="3.1.0",
            external_ids=_map({
                "system-id": h, "hostname": h, "ovn-bridge-mappings": "physnet2:br-ex",
                "ovn-remote": "tcp:10.0.0.10:6642", "ovn-encap-type": "geneve",
                "ovn-encap-ip": s.encap_ip(i)}))
        doc = {**tables, "_is_diff": True, "_date": int(time.time() * 1000),
               "_comment": "written by bench/scale_build.py like \"ovsdb-client backup\""}
        path.write_bytes(self.schema_rec + self._record(orjson.dumps(doc)))


def build_hosts(bundle: Path, s: Shape, tunnels: bool) -> None:
    """hosts/<host>/conf.db, addr.json, route.json, link.json for every host."""
    writer = ConfDbWriter()
    topo = parse_topology(json.dumps({"hosts": [
        {"name": h, "bridges": [{"name": "br-ex", "ports": ["enp6s18"]}],
         "bridge_mappings": "physnet2:br-ex",
         "management": {"address": f"10.{(i + 21) // 250 % 256}.{(i + 21) % 250}.{i % 200 + 10}"
                                   "/16", "interface": "br-ex"}}
        for i, h in enumerate(s.names)]}), "generated")
    for i, h in enumerate(s.names):
        hd = bundle / "hosts" / h
        hd.mkdir(parents=True)
        writer.write(hd / "conf.db", s, i, tunnels)
        host = topo.host(h)
        ifs = [LabInterface("enp6s18", "", "br-ex"), LabInterface("br-ex", "internal", "br-ex"),
               LabInterface("br-int", "internal", "br-int")]
        devs = devices(host, ifs)
        (hd / "addr.json").write_text(json.dumps(addr_json(devs)))
        (hd / "route.json").write_text(json.dumps(route_json(host, devs)))
        (hd / "link.json").write_text(json.dumps(link_json(devs)))


def check_conf_db(path: Path) -> None:
    """The real ovsdb-tool must read a generated conf.db (else the format drifted)."""
    q = json.dumps(["Open_vSwitch", {"op": "select", "table": "Bridge", "where": [],
                                     "columns": ["name"]}])
    out = subprocess.run(["ovsdb-tool", "query", str(path), q], check=True,
                         capture_output=True, text=True).stdout
    if "br-int" not in out:
        raise RuntimeError(f"ovsdb-tool cannot read the generated {path}: {out}")
