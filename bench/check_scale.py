"""Benchmark: `ovnguard check` on a generated N-host bundle, next to `ovsdb-client backup` of
the same NB and SB (what collecting them costs), measured side by side in one run.

    .venv/bin/python bench/check_scale.py [HOSTS] [VIFS_PER_HOST]     (default 200 5)

Every OVSDB file is written by real ovsdb-servers: NB by one chained ovn-nbctl transaction,
SB by real ovn-northd (Port_Bindings) plus ovn-sbctl chassis-add, each host's conf.db by
ovs-vsctl. Addresses/routes are synthesized like the lab's export. Nothing here runs in CI.
"""

from __future__ import annotations

import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ovnguard.assess import assess
from ovnguard.change.parse import parse_change
from ovnguard.lab.iproute import OvsInterface, addr_json, devices, link_json, route_json
from ovnguard.lab.topology import parse_topology
from ovnguard.sources.bundle import load_bundle

NB_SCHEMA = "/usr/share/ovn/ovn-nb.ovsschema"
SB_SCHEMA = "/usr/share/ovn/ovn-sb.ovsschema"
VS_SCHEMA = "/usr/share/openvswitch/vswitch.ovsschema"
PROVIDER = "neutron-5f1c9d2e-8a7b-4c3d-9e0f-1a2b3c4d5e6f"


class Server:
    def __init__(self, d: Path, name: str, schema: str) -> None:
        self.db = d / f"{name}.db"
        self.sock = d / f"{name}.sock"
        subprocess.run(["ovsdb-tool", "create", str(self.db), schema], check=True)
        self.proc = subprocess.Popen(
            ["ovsdb-server", str(self.db), f"--remote=punix:{self.sock}",
             f"--unixctl={d / (name + '.ctl')}", f"--log-file={d / (name + '.log')}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        while not self.sock.exists():
            time.sleep(0.005)
        time.sleep(0.02)

    @property
    def remote(self) -> str:
        return f"unix:{self.sock}"

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def ctl(prog: str, remote: str, args: list[str]) -> None:
    subprocess.run([prog, f"--db={remote}", "--timeout=120", *args], check=True,
                   capture_output=True, timeout=300)


def chain(cmds: list[list[str]]) -> list[str]:
    out: list[str] = []
    for c in cmds:
        out += ["--", *c]
    return out


def build(root: Path, n_hosts: int, vifs: int) -> tuple[Path, Server, Server, float]:
    t0 = time.monotonic()
    hosts = [f"compute{i}" for i in range(n_hosts)]
    nb = Server(root, "nb", NB_SCHEMA)
    sb = Server(root, "sb", SB_SCHEMA)
    cmds: list[list[str]] = [
        ["ls-add", PROVIDER],
        ["set", "Logical_Switch", PROVIDER, "external_ids:neutron\\:network_name=public"],
        ["lsp-add", PROVIDER, "provnet-0"], ["lsp-set-type", "provnet-0", "localnet"],
        ["lsp-set-options", "provnet-0", "network_name=physnet2"],
        ["lsp-set-addresses", "provnet-0", "unknown"],
        ["lr-add", "r0"],
        ["lrp-add", "r0", "lrp-pub", "fa:16:3e:aa:00:01", "203.0.113.1/24"],
        ["lsp-add", PROVIDER, "rp-pub"], ["lsp-set-type", "rp-pub", "router"],
        ["lsp-set-addresses", "rp-pub", "router"],
        ["lsp-set-options", "rp-pub", "router-port=lrp-pub"],
        ["lrp-set-gateway-chassis", "lrp-pub", hosts[0], "10"],
    ]
    n_tenants = max(1, n_hosts // 4)
    for t in range(n_tenants):
        cmds += [["ls-add", f"tenant{t}"],
                 ["lrp-add", "r0", f"lrp-t{t}", f"fa:16:3e:ab:{t // 256:02x}:{t % 256:02x}",
                  f"10.{t // 256}.{t % 256}.1/24"],
                 ["lsp-add", f"tenant{t}", f"rp-t{t}"], ["lsp-set-type", f"rp-t{t}", "router"],
                 ["lsp-set-addresses", f"rp-t{t}", "router"],
                 ["lsp-set-options", f"rp-t{t}", f"router-port=lrp-t{t}"]]
    for i, _h in enumerate(hosts):
        for v in range(vifs):
            ls = PROVIDER if v == 0 and i % 10 == 0 else f"tenant{(i * vifs + v) % n_tenants}"
            cmds += [["lsp-add", ls, f"vm-{i}-{v}"],
                     ["lsp-set-addresses", f"vm-{i}-{v}", f"fa:16:3e:{i // 256:02x}:"
                      f"{i % 256:02x}:{v:02x}"]]
    ctl("ovn-nbctl", nb.remote, chain(cmds))
    ctl("ovn-sbctl", sb.remote, chain(
        [c for i, h in enumerate(hosts)
         for c in (["chassis-add", h, "geneve", f"172.16.{i // 250}.{i % 250 + 1}"],
                   ["set", "Chassis", h, f"hostname={h}",
                    "other_config:ovn-bridge-mappings=physnet2:br-ex"])]))
    northd = subprocess.Popen(
        ["ovn-northd", f"--ovnnb-db={nb.remote}", f"--ovnsb-db={sb.remote}",
         f"--log-file={root / 'northd.log'}", f"--unixctl={root / 'northd.ctl'}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ctl("ovn-nbctl", nb.remote, ["--wait=sb", "sync"])
    northd.terminate()
    northd.wait(10)

    bundle = root / "bundle"
    (bundle / "hosts").mkdir(parents=True)
    topo_hosts = [
        {"name": h, "bridges": [{"name": "br-ex", "ports": ["enp6s18"]}],
         "bridge_mappings": "physnet2:br-ex",
         "management": {"address": f"10.{(i + 21) // 250}.{(i + 21) % 250}.{i % 200 + 10}/16",
                        "interface": "br-ex"}}
        for i, h in enumerate(hosts)
    ]
    topo = parse_topology(json.dumps({"hosts": topo_hosts}), "generated")

    def one(i: int) -> None:
        h = hosts[i]
        d = root / "hosts" / h
        d.mkdir(parents=True)
        s = Server(d, "conf", VS_SCHEMA)
        try:
            vs = [["init"], ["add-br", "br-ex"], ["add-port", "br-ex", "enp6s18"],
                  ["add-br", "br-int"],
                  ["set", "Open_vSwitch", ".", f"external_ids:system-id={h}",
                   f"external_ids:hostname={h}",
                   "external_ids:ovn-bridge-mappings=physnet2:br-ex",
                   "external_ids:ovn-remote=tcp:10.0.0.10:6642",
                   "external_ids:ovn-encap-type=geneve",
                   f"external_ids:ovn-encap-ip=172.16.{i // 250}.{i % 250 + 1}"]]
            for v in range(vifs):
                vs += [["add-port", "br-int", f"tap{i}-{v}"],
                       ["set", "Interface", f"tap{i}-{v}", f"external_ids:iface-id=vm-{i}-{v}"]]
            ctl("ovs-vsctl", s.remote, ["--no-wait", *chain(vs)])
            hd = bundle / "hosts" / h
            hd.mkdir()
            with (hd / "conf.db").open("wb") as f:
                subprocess.run(["ovsdb-client", "backup", s.remote, "Open_vSwitch"], stdout=f,
                               check=True)
        finally:
            s.stop()
        host = topo.host(h)
        ifs = [OvsInterface("enp6s18", "", "br-ex"), OvsInterface("br-ex", "internal", "br-ex"),
               OvsInterface("br-int", "internal", "br-int")]
        devs = devices(host, ifs)
        (hd / "addr.json").write_text(json.dumps(addr_json(devs)))
        (hd / "route.json").write_text(json.dumps(route_json(host, devs)))
        (hd / "link.json").write_text(json.dumps(link_json(devs)))

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(one, range(n_hosts)))
    return bundle, nb, sb, time.monotonic() - t0


def main() -> None:
    n_hosts = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    vifs = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    root = Path(tempfile.mkdtemp(prefix="ovnguard-bench-"))
    try:
        bundle, nb, sb, t_build = build(root, n_hosts, vifs)
        try:
            t0 = time.monotonic()
            for srv, name, dbname in ((nb, "nb.db", "OVN_Northbound"),
                                      (sb, "sb.db", "OVN_Southbound")):
                with (bundle / name).open("wb") as f:
                    subprocess.run(["ovsdb-client", "backup", srv.remote, dbname], stdout=f,
                                   check=True)
            t_backup = time.monotonic() - t0
        finally:
            nb.stop()
            sb.stop()
        change = parse_change(
            f"ovn-nbctl lsp-add {PROVIDER} ln-physnet2 -- lsp-set-type ln-physnet2 localnet"
            " -- lsp-set-options ln-physnet2 network_name=physnet2"
            " -- lsp-set-addresses ln-physnet2 unknown\n", "change.sh")
        t0 = time.monotonic()
        snapshot = load_bundle(bundle)
        t_load = time.monotonic() - t0
        t0 = time.monotonic()
        whatif = assess(snapshot, change)
        t_assess = time.monotonic() - t0
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        size = sum(p.stat().st_size for p in bundle.rglob("*") if p.is_file()) / 2**20
        looped = sorted(h for h, d in whatif.deltas.items() if d.added)
        print(f"hosts={n_hosts} vifs/host={vifs} bundle={size:.1f} MiB "
              f"(built from real daemons in {t_build:.1f} s)")
        print(f"{'step':40} {'seconds':>8}")
        print(f"{'ovsdb-client backup NB+SB':40} {t_backup:8.3f}")
        print(f"{'ovnguard load_bundle':40} {t_load:8.3f}")
        print(f"{'ovnguard assess (change + rules)':40} {t_assess:8.3f}")
        print(f"{'ovnguard check total':40} {t_load + t_assess:8.3f}")
        print(f"ratio check / backup = {(t_load + t_assess) / t_backup:.1f}x; "
              f"peak RSS {rss:.0f} MiB; verdict {whatif.report.verdict}; "
              f"hosts realizing the new localnet: {len(looped)}")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
