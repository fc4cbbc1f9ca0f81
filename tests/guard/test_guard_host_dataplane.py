"""Issue 13 (a) in the data-plane lab: the naive host change that cuts a host off -- the
management address deleted from br-ex before it is added on the NIC -- applied with the
guard ON the host (predicted DANGEROUS at the `ip addr del` line and refused without
`--force`; then with it, `ovnguard apply` run inside the host's namespace, as over SSH), the
session that started it killed right after: the detached watcher restores the host's
addresses and routes, the host answers again within the deadline, and `ip -j addr` /
`ip -j route show table main` print exactly what they printed before the change.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from helpers.dataplane_fixtures import DataplaneFactory
from helpers.guard_tools import latest_guard, latest_guard_log, stop_watchers
from ovnguard.lab import netns
from ovnguard.lab.dataplane import DataplaneLab
from ovnguard.lab.process import wait_until

pytest_plugins = ("helpers.dataplane_fixtures",)
pytestmark = [pytest.mark.lab, pytest.mark.dataplane, pytest.mark.timeout(180)]

HOST = "compute1"
# The machine the change is typed on, off the management subnet (as an operator's
# workstation usually is): reached through the host's default route. A documentation
# address (RFC 5737) on the lab's own router namespace.
OPERATOR = "192.0.2.10"
NAIVE = """\
# host: compute1
# the naive order: the address leaves br-ex before it is on the NIC (and the default route,
# which needs that address, leaves with it)
ip addr del {addr} dev br-ex
ip addr add {addr} dev enp6s18
"""


def _ip(dp: DataplaneLab, *args: str) -> str:
    return netns.ip(dp.netns_of(HOST), "-j", *args)


def test_naive_address_move_is_rolled_back_by_the_guard_on_the_host(
    dataplane_factory: DataplaneFactory, tmp_path: Path
) -> None:
    dp = dataplane_factory()
    ns = dp.netns_of(HOST)
    addr = str(dp.plan.node(HOST).address)
    netns.ip(dp.plan.router.netns, "addr", "add", f"{OPERATOR}/32", "dev", "lo")
    assert dp.ping("router", HOST), "compute1 unreachable before the change"
    addr_before = _ip(dp, "addr", "show")
    route_before = _ip(dp, "route", "show", "table", "main")
    assert '"dst":"default"' in route_before.replace(" ", "")

    change = tmp_path / "naive.sh"
    change.write_text(NAIVE.format(addr=addr))
    state_dir = tmp_path / "state"
    argv = [
        "ip", "netns", "exec", ns, str(Path(sys.executable).parent / "ovnguard"), "apply",
        "--change", str(change), "--db", dp.lab.host_paths(HOST).ovsdb.remote,
        "--state-dir", str(state_dir), "--probe", f"icmp:{OPERATOR}",
        "--probe-interval", "0.5", "--confirm-within", "15", "--verify-timeout", "5",
    ]  # fmt: skip
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    argv += ["--from", OPERATOR]
    # Predicted: the what-if (over the host's live addresses and routes) names line 4.
    refused = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120)
    print(f"\n--- apply without --force (exit {refused.returncode}):\n{refused.stdout}"
          f"{refused.stderr}")
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert "DANGEROUS" in refused.stdout and "host-cut-off" in refused.stdout
    assert f"line 4 on {HOST}: ip addr del {addr} dev br-ex" in refused.stdout
    assert latest_guard(state_dir) is None  # nothing written, nothing applied
    assert _ip(dp, "addr", "show") == addr_before
    argv.append("--force")
    t0 = time.monotonic()
    # Its own session: killing the session's process group is the SSH session dying.
    cli = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           start_new_session=True, env=env)
    try:
        assert wait_until(lambda: (latest_guard(state_dir) or {}).get("status") in
                          ("armed", "rolling-back", "rolled-back", "refused", "failed"),
                          60), latest_guard(state_dir)
        killed = cli.poll() is None
        os.killpg(cli.pid, signal.SIGKILL)  # the session that started it dies
        out = cli.communicate(timeout=10)[0].decode(errors="replace")
        print(f"\n--- apply (CLI {'killed' if killed else 'had exited'}):\n{out}")
        doc = latest_guard(state_dir)
        assert doc is not None and doc["status"] != "refused", (doc, out)
        assert wait_until(lambda: (latest_guard(state_dir) or {}).get("status") in
                          ("rolled-back", "rollback-conflict", "rollback-failed"), 30)
        t_done = time.monotonic() - t0
        doc = latest_guard(state_dir)
        assert doc is not None
        print(json.dumps({k: doc.get(k) for k in ("status", "edits", "timeline", "rollback")},
                         indent=1))
        assert doc["status"] == "rolled-back", doc
        rb = doc["rollback"]
        assert "probe" in rb["reason"], rb["reason"]  # the probe, not the deadline
        host = rb["verification"]["host"]
        assert host["ok"], host
        assert any("ip addr add" in a and "br-ex" in a for a in host["actions"]), host
        assert rb["verification"]["ok"]
        # Reachable again, within the deadline (15 s after the apply).
        assert wait_until(lambda: dp.ping("router", HOST), 10), "still cut off"
        assert netns.exec_in(ns, ["ping", "-c", "1", "-W", "1", OPERATOR]) is not None
        assert time.monotonic() - t0 < 15 + 10
        # What the operator sees: exactly what `ip -j` printed before the change.
        assert _ip(dp, "addr", "show") == addr_before
        assert _ip(dp, "route", "show", "table", "main") == route_before
        shown = subprocess.run(
            [str(Path(sys.executable).parent / "ovnguard"), "guard", "status", "--state-dir",
             str(state_dir)], capture_output=True, text=True, timeout=60).stdout
        print(shown)
        assert f"host     ip addr add {addr} dev br-ex" in shown
        assert "`ip -j addr`/`ip -j route` print what they printed before (verified)" in shown
        applied = doc["timeline"]["applied"]
        print(f"restored {doc['timeline']['restored'] - applied:.2f}s and verified "
              f"{doc['timeline']['verified'] - applied:.2f}s after the apply; "
              f"all done {t_done:.1f}s after the CLI started")
    finally:
        if cli.poll() is None:
            os.killpg(cli.pid, signal.SIGKILL)
            cli.wait()
        stop_watchers(state_dir)


FAILING = """\
# host: compute1
ip route add 198.51.100.0/24 via {router} dev br-ex
ip addr add 10.10.0.99/24 dev br-ex
ip route add 203.0.113.0/24 via 10.250.0.1 dev br-ex
ip link set br-ex mtu 1400
"""


def test_a_line_that_fails_rolls_back_what_ran_at_once(
    dataplane_factory: DataplaneFactory, tmp_path: Path
) -> None:
    """Line 4's gateway is on no subnet of br-ex: the kernel refuses it. The lines before it
    changed the host; the guard restores them at once (no probe, no deadline needed) and
    line 5 never runs."""
    dp = dataplane_factory()
    ns = dp.netns_of(HOST)
    router = str(dp.plan.router.address.ip)
    addr_before = _ip(dp, "addr", "show")
    route_before = _ip(dp, "route", "show", "table", "main")
    change = tmp_path / "failing.sh"
    change.write_text(FAILING.format(router=router))
    state_dir = tmp_path / "state"
    argv = [
        "ip", "netns", "exec", ns, str(Path(sys.executable).parent / "ovnguard"), "apply",
        "--change", str(change), "--db", dp.lab.host_paths(HOST).ovsdb.remote,
        "--state-dir", str(state_dir), "--confirm-within", "60", "--force",
    ]  # fmt: skip
    try:
        res = subprocess.run(argv, capture_output=True, text=True, timeout=120,
                             env={k: v for k, v in os.environ.items() if k != "SSH_CLIENT"})
        print(f"\n--- apply (exit {res.returncode}):\n{res.stdout}{res.stderr}")
        # taken back before it was armed: not the "applied and armed" 0 a script goes on with
        assert res.returncode == 5, res.stdout + res.stderr
        assert "ovnguard confirm" not in res.stdout
        # no --probe, no --from: the host's way out, its default gateway
        assert f"no --probe given: probing {router}, the default gateway" in res.stdout
        assert f"probe icmp:{router}: passes now, watched" in res.stdout
        assert wait_until(lambda: (latest_guard(state_dir) or {}).get("status") in
                          ("rolled-back", "rollback-conflict", "rollback-failed"), 30)
        doc = latest_guard(state_dir)
        assert doc is not None
        log = latest_guard_log(state_dir)
        print(log)
        assert doc["status"] == "rolled-back", doc
        assert "line 4" in doc["rollback"]["reason"], doc["rollback"]["reason"]
        assert "mtu 1400" not in log  # line 5 never ran
        # never ARMED on the way: `apply` would have read it and told the script "kept"
        assert "armed: rollback at" not in log, log
        assert "rolling back at once" in log, log
        assert doc["rollback"]["verification"]["host"]["ok"]
        assert doc["timeline"]["restored"] - doc["timeline"]["applied"] < 5
        assert _ip(dp, "addr", "show") == addr_before
        assert _ip(dp, "route", "show", "table", "main") == route_before
    finally:
        stop_watchers(state_dir)


def test_watcher_killed_after_the_host_lines_ran_is_taken_over_and_undone(
    dataplane_factory: DataplaneFactory, tmp_path: Path
) -> None:
    """The watcher is killed (-9) right after the ip lines ran, before it armed: no OVS row
    changed, yet its keeper's next generation sees the host differ from its backup and
    rolls it back."""
    dp = dataplane_factory()
    ns = dp.netns_of(HOST)
    router = str(dp.plan.router.address.ip)
    addr_before = _ip(dp, "addr", "show")
    route_before = _ip(dp, "route", "show", "table", "main")
    change = tmp_path / "routes.sh"
    change.write_text(f"# host: compute1\nip route add 198.51.100.0/24 via {router} dev br-ex\n"
                      "ip addr add 10.10.0.99/24 dev br-ex\n")
    state_dir = tmp_path / "state"
    argv = [
        "ip", "netns", "exec", ns, str(Path(sys.executable).parent / "ovnguard"), "apply",
        "--change", str(change), "--db", dp.lab.host_paths(HOST).ovsdb.remote,
        "--state-dir", str(state_dir), "--probe", "none", "--confirm-within", "60",
    ]  # fmt: skip
    env = {**os.environ, "OVNGUARD_GUARD_PAUSE": "after-apply:30"}
    cli = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           start_new_session=True, env=env)
    try:
        def paused() -> bool:
            logs = list(state_dir.glob("*/watcher.log")) if state_dir.is_dir() else []
            return bool(logs) and "fault point after-apply" in logs[0].read_text()

        assert wait_until(paused, 60)
        doc = latest_guard(state_dir)
        assert doc is not None and doc["status"] == "applying"
        assert "198.51.100.0/24" in _ip(dp, "route", "show", "table", "main")
        os.kill(int(doc["watcher"]["pid"]), signal.SIGKILL)
        assert wait_until(lambda: (latest_guard(state_dir) or {}).get("status") in
                          ("rolled-back", "failed", "rollback-failed"), 30)
        doc = latest_guard(state_dir)
        assert doc is not None
        print(json.dumps({k: doc.get(k) for k in ("status", "edits", "rollback", "watcher")},
                         indent=1))
        assert doc["status"] == "rolled-back", doc
        assert doc["watcher"]["generation"] == 2
        assert doc["rollback"]["verification"]["host"]["ok"]
        assert _ip(dp, "addr", "show") == addr_before
        assert _ip(dp, "route", "show", "table", "main") == route_before
    finally:
        if cli.poll() is None:
            os.killpg(cli.pid, signal.SIGKILL)
        cli.wait()
        stop_watchers(state_dir)
