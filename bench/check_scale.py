"""Benchmark: `ovnguard check` on a generated N-host cloud, next to `ovsdb-client backup` of
the same NB and SB (what merely reading them costs), measured side by side in one run.

    .venv/bin/python bench/check_scale.py HOSTS VIFS_PER_HOST    # e.g. 1000 200: 200k ports
    .venv/bin/python bench/check_scale.py 20 10 --no-time        # smoke test (CI)
    make bench                                                   # three sizes

What is built, and by what:
- NB: a Neutron-shaped cloud of HOSTS x VIFS ports: tenant networks of ~10 VIFs each
  (200k ports -> 20k switches), a router per 10 networks with a distributed gateway port on
  the flat provider network (localnet provnet-0, physnet2) scheduled on 3 of the network
  nodes (Gateway_Chassis). Written by OVSDB `transact` through the `ovs` package's
  JSON-RPC into a real ovsdb-server (ovn-nbctl takes its commands as argv and stops at
  ARG_MAX long before 200k ports).
- SB: real ovn-northd computes it from NB; Chassis/Encap rows and Port_Binding.chassis (what
  each ovn-controller writes) are written by `transact` too.
- hosts/<host>/conf.db: written directly as standalone OVSDB files in the exact shape of
  `ovsdb-client backup` (schema record + one `_is_diff` record with every column), NOT by
  one ovsdb-server per host, which at 1,000 hosts would dominate the build; host 0's file is
  read back by the real `ovsdb-tool query` to prove the format. Each host has br-int with its
  VIFs (iface-id) and, like a real chassis, one geneve tunnel port per other chassis
  (--no-tunnels leaves them out), and br-ex holding the management NIC (the incident's
  layout). addr/route/link.json are synthesized like the lab's export.

What is measured, in one run: wall seconds and CPU seconds of every process doing the work
(ovsdb-client and the ovsdb-server answering it, for a backup). The ratios use CPU seconds:
on a shared machine wall time also measures the neighbours.
- backup: `ovsdb-client backup` of NB and of SB from the running servers, to files;
- cold: the whole `ovnguard check --bundle B --change C --format json` process, plus its
  stages in-process (read NB, SB, hosts; realize; rules; report) and peak RSS;
- live: NB and SB read from the running servers into memory (`check --live`'s reader), host
  files as bytes, then the same assessment;
- what-if: one more change assessed on the already-loaded model (snapshot in memory), with
  the real tools' copies of its databases kept up from the change before (the CPU of those
  servers and daemons counted), and beside it with copies started for it and stopped after.

Everything the bench starts is stopped in a `finally` (errors, Ctrl-C, SIGTERM); the temp
directory is removed unless --keep. `--fail-at STAGE` raises there, to test that.
"""

from __future__ import annotations

import argparse
import os
import pickle
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parent))

from scale_build import (
    PROVIDER,
    Cost,
    Procs,
    Shape,
    backup,
    build_central,
    build_hosts,
    check_conf_db,
    peak_rss,
    pid_cpu,
)

from ovnguard.sources.bundle import NB_KEEP, SB_KEEP, load_bundle, read_db_file

CHANGE = (f"ovn-nbctl lsp-add {PROVIDER} ln-physnet2 -- lsp-set-type ln-physnet2 localnet"
          " -- lsp-set-options ln-physnet2 network_name=physnet2"
          " -- lsp-set-addresses ln-physnet2 unknown\n")
# the "one more change" of the what-if on the loaded model
CHANGE2 = "ovn-nbctl lsp-set-options provnet-0 network_name=physnet1\n"
T = TypeVar("T")
STAGES = ("build", "backup", "cold", "live", "whatif")


class ForcedFailure(RuntimeError):
    pass


def _sigterm(_signo: int, _frame: Any) -> None:
    raise SystemExit(143)  # unwinds through every finally, like Ctrl-C does


def timed(f: Callable[[], Any]) -> tuple[Any, Cost]:
    t0, c0 = time.monotonic(), time.process_time()
    out = f()
    return out, Cost(time.monotonic() - t0, time.process_time() - c0)


def cold_process(bundle: Path, change: Path) -> tuple[Cost, float, str]:
    """The whole `ovnguard check` process: its cost, its peak RSS (MiB), the verdict."""
    import orjson

    exe = Path(sys.executable).with_name("ovnguard")
    t0 = time.monotonic()
    with tempfile.TemporaryFile() as err:
        p = subprocess.Popen([str(exe), "check", "--bundle", str(bundle), "--change",
                              str(change), "--format", "json", "--fail-on", "never"],
                             stdout=subprocess.PIPE, stderr=err)
        assert p.stdout is not None
        out = p.stdout.read()
        _, status, ru = os.wait4(p.pid, 0)  # this child's own CPU and peak RSS, no other's
        p.returncode = os.waitstatus_to_exitcode(status)
        wall = time.monotonic() - t0
        if p.returncode != 0:
            err.seek(0)
            raise RuntimeError(f"ovnguard check failed: {err.read().decode()[-2000:]}")
    return (Cost(wall, ru.ru_utime + ru.ru_stime), ru.ru_maxrss / 1024,
            str(orjson.loads(out)["verdict"]))


def in_child(f: Callable[[], T]) -> tuple[T, float]:
    """`f()` in a forked child, its result sent back pickled. Each in-process stage gets a
    fresh heap and gives it all back when it ends: at 200k ports a loaded model is gigabytes,
    and a process's freed memory is not all returned to the system. Also the child's peak
    RSS (MiB)."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into the bench's own code
        code = 0
        try:
            os.close(r)
            try:
                out = pickle.dumps((True, f()))
            except BaseException as e:  # reported by the parent, which raises it
                out, code = pickle.dumps((False, f"{type(e).__name__}: {e}")), 1
            with os.fdopen(w, "wb") as fw:
                fw.write(out)
        finally:
            os._exit(code)
    os.close(w)
    done = False
    try:
        with os.fdopen(r, "rb") as fr:
            data = fr.read()
        done = True
    finally:
        if not done:  # Ctrl-C, SIGTERM, an error here: the child must not outlive the bench
            os.kill(pid, signal.SIGKILL)
        _, _, ru = os.wait4(pid, 0)
    ok, value = pickle.loads(data)
    if not ok:
        raise RuntimeError(f"in-process stage failed: {value}")
    return value, ru.ru_maxrss / 1024


def stages(bundle: Path) -> tuple[dict[str, Cost], int]:
    """load and assess, stage by stage, in this process."""
    from ovnguard.assess import assess
    from ovnguard.change.executor import default_executor
    from ovnguard.change.parse import parse_change

    out: dict[str, Cost] = {}
    _, out["read nb.db"] = timed(lambda: read_db_file(bundle / "nb.db", "OVN_Northbound",
                                                      NB_KEEP))
    _, out["read sb.db"] = timed(lambda: read_db_file(bundle / "sb.db", "OVN_Southbound",
                                                      SB_KEEP))
    _unchanged(bundle, out)  # its model is freed on return: at 200k ports, gigabytes
    change = parse_change(CHANGE, "change.sh")
    # a snapshot of its own: the one above now carries what realize/rules memoized on its
    # databases (SB read, host views), which the assessment would otherwise reuse for free
    fresh = load_bundle(bundle)
    change2 = parse_change(CHANGE2, "change2.sh")
    with default_executor() as kept:  # the real tools' copies kept between changes
        w, out["assess the change (all of it)"] = timed(lambda: assess(fresh, change, kept))
        # one more change on the loaded model: the snapshot, its realization and its
        # findings are in memory (assess's Baseline), the copies of its databases are up in
        # the executor's servers and daemons; only the change's side is computed
        _, out["what-if, loaded model"] = timed_kept(
            kept, lambda: assess(fresh, change2, kept, baseline=w.baseline))
    # the same what-if with copies started for it and stopped after (a one-shot executor)
    _, out["what-if, loaded model, copies started for it"] = timed_children(
        lambda: assess(fresh, change2, baseline=w.baseline))
    return out, sum(1 for d in w.deltas.values() if d.added)


def _children() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def timed_children(f: Callable[[], Any]) -> tuple[Any, Cost]:
    """`timed`, with the CPU of the child processes `f` started and waited for."""
    k0 = _children()
    out, cost = timed(f)
    return out, Cost(cost.wall, cost.cpu + _children() - k0)


def timed_kept(executor: Any, f: Callable[[], Any]) -> tuple[Any, Cost]:
    """`timed_children`, with the CPU the executor's kept servers and daemons (running
    throughout: no rusage of them until they exit) spent meanwhile."""
    def kept_cpu() -> float:
        backend = getattr(executor, "_kept", None)
        if backend is None:
            return 0.0
        pids = [s.proc.pid for s in backend.servers.values()]
        pids += [d.pid for d in backend.daemons.values()]
        return sum(pid_cpu(p) for p in pids)

    s0 = kept_cpu()
    out, cost = timed_children(f)
    return out, Cost(cost.wall, cost.cpu + kept_cpu() - s0)


def _unchanged(bundle: Path, out: dict[str, Cost]) -> None:
    """The bundle loaded, realized and judged with no change, stage by stage."""
    from ovnguard.findings.context import RuleContext
    from ovnguard.findings.verdict import evaluate
    from ovnguard.simulation.realize import realize

    snap, out["load_bundle (nb, sb, hosts/)"] = timed(lambda: load_bundle(bundle))
    r, out["realize, no change (simulation)"] = timed(lambda: realize(snap))
    _, out["rules, no change"] = timed(
        lambda: evaluate(RuleContext.build(snap, r, "before")))


def live(nb: Any, sb: Any, bundle: Path) -> tuple[Cost, Cost]:
    """NB/SB from the servers into memory (check --live's reader), hosts as bytes."""
    from ovnguard.assess import assess
    from ovnguard.change.parse import parse_change
    from ovnguard.sources.collected import Collection, HostCollection, to_snapshot
    from ovnguard.sources.live import ovsdb_backup

    t0, c0, k0 = time.monotonic(), time.process_time(), _children()
    s0 = pid_cpu(nb.proc.pid) + pid_cpu(sb.proc.pid)
    c = Collection(source="live")
    c.nb = ovsdb_backup(nb.remote, "OVN_Northbound", timeout=3600)
    c.sb = ovsdb_backup(sb.remote, "OVN_Southbound", timeout=3600)
    servers = pid_cpu(nb.proc.pid) + pid_cpu(sb.proc.pid) - s0
    read = Cost(time.monotonic() - t0,
                time.process_time() - c0 + _children() - k0 + servers)
    for d in sorted((bundle / "hosts").iterdir()):
        c.hosts.append(HostCollection(name=d.name, files={
            f.name: f.read_bytes() for f in d.iterdir() if f.is_file()}))
    snap = to_snapshot(c)
    assess(snap, parse_change(CHANGE, "change.sh"))
    total = Cost(time.monotonic() - t0,
                 time.process_time() - c0 + _children() - k0 + servers)
    return read, total


def run(args: argparse.Namespace, root: Path, procs: Procs) -> None:
    s = Shape(args.hosts, args.vifs)

    def fail(stage: str) -> None:
        if args.fail_at == stage:
            raise ForcedFailure(f"--fail-at {stage}")

    t0 = time.monotonic()
    peaks: dict[str, float] = {}
    nb, sb = build_central(procs, root, s, peaks)
    bundle = root / "bundle"
    build_hosts(bundle, s, tunnels=not args.no_tunnels)
    check_conf_db(bundle / "hosts" / s.names[0] / "conf.db")
    t_build = time.monotonic() - t0
    fail("build")
    c_nb = backup(nb, "OVN_Northbound", bundle / "nb.db")
    c_sb = backup(sb, "OVN_Southbound", bundle / "sb.db")
    c_backup = c_nb + c_sb
    fail("backup")
    change = root / "change.sh"
    change.write_text(CHANGE)
    c_cold, rss, verdict = cold_process(bundle, change)
    fail("cold")
    (st, realizing), rss_stages = in_child(lambda: stages(bundle))
    (c_live_read, c_live), rss_live = in_child(lambda: live(nb, sb, bundle))
    fail("live")
    peaks["NB ovsdb-server"] = peak_rss(nb.proc.pid)
    peaks["SB ovsdb-server"] = peak_rss(sb.proc.pid)
    nb.stop()
    sb.stop()
    rss_self = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, rss_stages,
                   rss_live)
    fail("whatif")

    def size(p: Path) -> float:
        return p.stat().st_size / 2**20
    hosts_mib = sum(size(p) for p in (bundle / "hosts").rglob("*") if p.is_file())
    print(f"hosts={s.hosts} vifs/host={s.vifs} ports={s.ports} switches={s.switches + 1} "
          f"routers={s.routers} tunnels={'no' if args.no_tunnels else 'yes'} | nb.db "
          f"{size(bundle / 'nb.db'):.1f} MiB, sb.db {size(bundle / 'sb.db'):.1f} MiB, hosts/ "
          f"{hosts_mib:.1f} MiB | built in {t_build:.1f} s from real ovsdb-server + ovn-northd")
    print("peak RSS of the daemons (MiB): " + ", ".join(f"{k} {v:.0f}" for k, v in peaks.items()))
    if args.no_time:
        print(f"verdict {verdict}; smoke run, times not reported")
        return
    rows = [
        ("ovsdb-client backup NB", c_nb), ("ovsdb-client backup SB", c_sb),
        ("ovsdb-client backup NB+SB (= 1.0x)", c_backup),
        ("ovnguard check, whole process, cold", c_cold),
        *((f"  {k}", v) for k, v in st.items()),
        ("check --live: NB+SB read into memory", c_live_read),
        ("check --live: read + load + assess", c_live),
    ]
    w = max(len(k) for k, _ in rows)
    print(f"{'step':{w}} {'wall s':>9} {'CPU s':>9} {'CPU x backup':>13}")
    for k, v in rows:
        print(f"{k:{w}} {v.wall:9.3f} {v.cpu:9.3f} {v.cpu / c_backup.cpu:12.2f}x")
    whatif = st["what-if, loaded model"]
    started = st["what-if, loaded model, copies started for it"]
    print(f"ratio cold check / backup: CPU {c_cold.cpu / c_backup.cpu:.2f}x, wall "
          f"{c_cold.wall / c_backup.wall:.2f}x (goal <= 1.0); peak RSS of the check process "
          f"{rss:.0f} MiB (goal <= 2048), of the bench with its in-process stages "
          f"{rss_self:.0f} MiB; what-if on the loaded model {whatif.wall * 1000:.0f} ms wall, "
          f"{whatif.cpu * 1000:.0f} ms CPU with the servers and daemons (goal <= 20; with "
          f"copies started for it {started.wall * 1000:.0f} ms wall, {started.cpu * 1000:.0f} "
          f"ms CPU: {started.cpu / max(whatif.cpu, 1e-9):.1f}x); verdict {verdict}; hosts "
          f"realizing the new localnet {realizing}")


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("hosts", type=int, nargs="?", default=200)
    ap.add_argument("vifs", type=int, nargs="?", default=5, help="VIFs per host")
    ap.add_argument("--no-tunnels", action="store_true",
                    help="leave out each host's geneve port to every other chassis")
    ap.add_argument("--no-time", action="store_true", help="smoke test: check it runs")
    ap.add_argument("--keep", action="store_true", help="keep the temp directory")
    ap.add_argument("--fail-at", choices=STAGES, help="raise after STAGE (tests cleanup)")
    args = ap.parse_args(argv)
    signal.signal(signal.SIGTERM, _sigterm)
    root = Path(tempfile.mkdtemp(prefix="ovnguard-bench-"))
    procs = Procs()
    print(f"bench dir {root}", flush=True)
    try:
        run(args, root, procs)
    finally:
        # a second Ctrl-C / SIGTERM must not cut the cleanup short
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        procs.stop_all()
        if args.keep:
            print(f"kept {root}")
        else:
            remove(root)
    return 0


def remove(root: Path) -> None:
    """Remove the bench directory; a daemon that just exited may still be unlinking its
    socket or lock file there, so try again before saying what is left."""
    for _ in range(50):
        shutil.rmtree(root, ignore_errors=True)
        if not root.exists():
            return
        time.sleep(0.1)
    left = sorted(str(p.relative_to(root)) for p in root.rglob("*"))
    print(f"could not remove {root}: {', '.join(left) or 'the directory itself'}",
          file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
