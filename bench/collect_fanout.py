"""SSH fan-out: how long `collect --inventory` takes for N hosts, in parallel and one by one.

    python bench/collect_fanout.py              # 50 hosts (and the estimate for 500)
    python bench/collect_fanout.py 50 500       # any sizes; 500 really runs 500
    python bench/collect_fanout.py --parallel-only 500    # skip the one-by-one run
    python bench/collect_fanout.py --parallel-only -j 16 500  # collect -j 16 (default 64)

The hosts are real OpenSSH sshd instances on 127.0.0.1 (one sshd per 16 ports, OpenSSH's
limit of listening sockets), each "host" a port, all backed by one real ovsdb-server holding
an Open_vSwitch database (3 bridges, 40 ports). On each host the real commands run:
`ovsdb-client backup`, `ip -j addr/route/-d link`, the Neutron `find | tar`. Everything runs
on this machine, so the hosts' own work (sshd, a shell, five commands) shares its CPUs with
the collector: a real fleet does that work on 500 machines at once, so the measured time is
an upper bound. Goal: 500 hosts <= 60 s. Needs root, sshd (Debian openssh-server),
ovsdb-server and ssh-keygen.
"""

from __future__ import annotations

import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

# the test helpers (a real ovsdb-server, throwaway sshd) are shared with the suite
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from helpers.real_db import RealDb
from helpers.ssh_tools import known_hosts_line, make_keys, start_sshd, stop
from ovnguard.sources.remote import SshOptions, Target, collect_targets

PORTS_PER_SSHD = 16
BASE_PORT = 22400
GOAL = {500: 60.0}


def sshd_config(d: Path, i: int, ports: list[int], keys_dir: Path, host_key: Path) -> Path:
    cfg = d / f"sshd{i}.conf"
    cfg.write_text("\n".join([
        "ListenAddress 127.0.0.1",
        *(f"Port {p}" for p in ports),
        f"HostKey {host_key}",
        f"PidFile {d / f'sshd{i}.pid'}",
        f"AuthorizedKeysFile {keys_dir / 'authorized_keys'}",
        "StrictModes no", "UsePAM no", "PermitRootLogin prohibit-password",
        "PasswordAuthentication no", "KbdInteractiveAuthentication no",
        # every collector connection arrives at once; the default 10:30:100 drops some
        "MaxStartups 2000", "MaxSessions 10", "PrintMotd no", "LogLevel INFO",
    ]) + "\n")
    return cfg


def run(n_hosts: int, d: Path, sequential_too: bool = True, jobs: int = 64) -> None:
    keys = make_keys(d / "keys")
    db = RealDb(d / "conf.db", "vswitch")
    db.__enter__()
    procs = []
    try:
        db.run(["set", "Open_vSwitch", ".", "external_ids:hostname=bench",
                "external_ids:ovn-bridge-mappings=physnet1:br-ex"])
        for br in ("br-int", "br-ex", "br-public"):
            db.run(["add-br", br])
        for i in range(40):
            db.run(["add-port", "br-int", f"tap{i:04d}", "--", "set", "Interface",
                    f"tap{i:04d}", "type=internal", f"external_ids:iface-id=port-{i}"])
        ports = [BASE_PORT + i for i in range(n_hosts)]
        t = time.monotonic()
        for i in range(0, n_hosts, PORTS_PER_SSHD):
            chunk = ports[i : i + PORTS_PER_SSHD]
            procs.append(start_sshd(None, sshd_config(d, i, chunk, keys.dir, keys.host),
                                    f"ports {chunk[0]}-{chunk[-1]}"))
        started = time.monotonic() - t
        kh = d / "known_hosts"
        kh.write_text("".join(known_hosts_line(f"[127.0.0.1]:{p}", keys.host) for p in ports))
        targets = [Target(name=f"host{p}", address="127.0.0.1", port=p, user="root",
                          ovs=f"unix:{db.sock}") for p in ports]
        ssh = SshOptions(identities=(keys.client,), known_hosts=kh)

        cpu: dict[int, float] = {}

        def timed(concurrency: int) -> float:
            t0 = time.monotonic()
            r0 = resource.getrusage(resource.RUSAGE_SELF)
            c = collect_targets(targets, ssh, concurrency=concurrency, timeout=300)
            r1 = resource.getrusage(resource.RUSAGE_SELF)
            cpu[concurrency] = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
            dt = time.monotonic() - t0
            bad = [h for h in c.hosts if not h.ok or "conf.db" not in h.files]
            if bad:
                raise SystemExit(f"{len(bad)} hosts failed, e.g. {bad[0].name}: "
                                 f"{bad[0].failed or bad[0].problems}")
            return dt

        parallel = timed(jobs)
        seq = ""
        if sequential_too:
            sequential = timed(1)
            seq = (f" | sequential (-j 1) {sequential:6.1f}s | speed-up"
                   f" x{sequential / parallel:4.1f}")
        per_host = parallel / n_hosts
        print(f"{n_hosts:>5} hosts  sshd start {started:5.1f}s | parallel (-j {jobs}) "
              f"{parallel:6.1f}s"
              f"{seq} | {per_host * 1000:5.0f} ms/host -> 500 hosts ~{per_host * 500:5.1f}s"
              + (f" (goal <= {GOAL[n_hosts]:.0f}s)" if n_hosts in GOAL else ""))
        # what the collector itself burns per host: on a real fleet (hosts doing their own
        # work) this, not the shared-CPU wall time above, bounds the fan-out
        own = cpu[jobs] / n_hosts
        print(f"{'':>5}        collector CPU {own * 1000:5.1f} ms/host -> 500 hosts need "
              f"{own * 500:5.1f} CPU-s of the collector")
    finally:
        for p in procs:
            stop(p)
        db.__exit__(None, None, None)


def main() -> None:
    if os.geteuid() != 0 or not Path("/usr/sbin/sshd").exists() or not shutil.which(
            "ovsdb-server"):
        raise SystemExit("needs root, /usr/sbin/sshd (openssh-server) and ovsdb-server")
    args = sys.argv[1:]
    jobs = 64  # collect's default -j
    if "-j" in args:
        i = args.index("-j")
        jobs = int(args[i + 1])
        del args[i : i + 2]
    sequential_too = "--parallel-only" not in args
    sizes = [int(a) for a in args if a != "--parallel-only"] or [50]
    print(f"SSH fan-out over loopback sshd, {os.cpu_count()} CPUs "
          f"(hosts' own work shares these CPUs: an upper bound)")
    for n in sizes:
        with tempfile.TemporaryDirectory(prefix="ovnguard-bench-") as d:
            r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
            run(n, Path(d), sequential_too, jobs)
            r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        # the sshd processes (with the sessions, shells and commands they reaped) and the
        # ovsdb-server, all stopped and waited for by now: the simulated hosts' own work
        hosts_cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
        runs = 2 if sequential_too else 1
        per_host = hosts_cpu / n / runs * 1000
        print(f"{'':>5}        hosts' side (sshd, shells, commands) {per_host:5.0f} CPU-ms/host"
              f" -> {hosts_cpu / runs:6.1f} CPU-s for {n} hosts on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
