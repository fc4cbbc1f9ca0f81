"""`ovnguard apply --host-state FILE` with a netplan file, on a host of the data-plane lab
(compute1 as a network namespace, real OVS, real `ping`), a temp dir standing in for
/etc/netplan: the guard backs up the host (netlink) and the netplan file it writes, installs
the file, applies its difference to the live state as ip edits, and
(a) when the file moves the management address off br-ex (the probe to the operator fails)
    restores addresses and routes byte-for-byte as `ip -j` printed them and the netplan dir
    exactly as it was (the old file's bytes, mode; the new file gone);
(b) when the change is confirmed, keeps the file and its effect.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from helpers.dataplane_fixtures import DataplaneFactory
from helpers.guard_tools import ARMED_OR_TAKEN_BACK, latest_guard, latest_guard_log, stop_watchers
from ovnguard.lab import netns
from ovnguard.lab.dataplane import DataplaneLab
from ovnguard.lab.process import wait_until

pytest_plugins = ("helpers.dataplane_fixtures",)
pytestmark = [pytest.mark.lab, pytest.mark.dataplane, pytest.mark.timeout(180)]

HOST = "compute1"
OPERATOR = "192.0.2.10"  # RFC 5737, on the lab's router namespace: reached via the default route
# An existing netplan file of the host, with the name the new one takes (it is replaced), and
# one the change does not touch.
OLD = "network:\n  version: 2\n  ethernets:\n    enp6s18: {}\n"
OTHER = "network:\n  version: 2\n"


def _ip(dp: DataplaneLab, *args: str) -> str:
    return netns.ip(dp.netns_of(HOST), "-j", *args)


def _dir(d: Path) -> dict[str, tuple[bytes, int, int]]:
    """Every entry of the netplan dir: bytes, mode, owner."""
    return {p.name: (p.read_bytes(), p.stat().st_mode, p.stat().st_uid)
            for p in sorted(d.iterdir())}


def _setup(dp: DataplaneLab, tmp_path: Path) -> tuple[Path, Path, str]:
    netplan_dir = tmp_path / "netplan"
    netplan_dir.mkdir()
    (netplan_dir / "60-ovnguard.yaml").write_text(OLD)
    os.chmod(netplan_dir / "60-ovnguard.yaml", 0o640)
    (netplan_dir / "50-cloud-init.yaml").write_text(OTHER)
    os.chmod(netplan_dir / "50-cloud-init.yaml", 0o600)
    netns.ip(dp.plan.router.netns, "addr", "add", f"{OPERATOR}/32", "dev", "lo")
    iface = dp.plan.node(HOST).address
    return netplan_dir, tmp_path / "state", f"{iface.ip}/{iface.network.prefixlen}"


def _apply(dp: DataplaneLab, proposed: Path, netplan_dir: Path, state_dir: Path,
           *extra: str) -> subprocess.CompletedProcess[str]:
    argv = [
        "ip", "netns", "exec", dp.netns_of(HOST), str(Path(sys.executable).parent / "ovnguard"),
        "apply", "--host-state", str(proposed), "--netplan-dir", str(netplan_dir),
        "--host", HOST, "--db", dp.lab.host_paths(HOST).ovsdb.remote,
        "--state-dir", str(state_dir), "--from", OPERATOR, "--probe", f"icmp:{OPERATOR}",
        "--probe-interval", "0.5", "--verify-timeout", "5", *extra,
    ]  # fmt: skip
    res = subprocess.run(argv, capture_output=True, text=True, timeout=120,
                         env={**os.environ, "PYTHONUNBUFFERED": "1"})
    print(f"\n--- apply (exit {res.returncode}):\n{res.stdout}{res.stderr}")
    return res


def test_netplan_file_that_moves_the_address_is_rolled_back_file_and_all(
    dataplane_factory: DataplaneFactory, tmp_path: Path
) -> None:
    dp = dataplane_factory()
    netplan_dir, state_dir, cidr = _setup(dp, tmp_path)
    assert dp.ping("router", HOST), "compute1 unreachable before the change"
    proposed = tmp_path / "60-ovnguard.yaml"
    proposed.write_text("network:\n  version: 2\n  renderer: networkd\n  ethernets:\n"
                        f"    enp6s18:\n      addresses: [{cidr}]\n    br-ex: {{}}\n")
    addr_before = _ip(dp, "addr", "show")
    route_before = _ip(dp, "route", "show", "table", "main")
    dir_before = _dir(netplan_dir)
    try:
        refused = _apply(dp, proposed, netplan_dir, state_dir, "--confirm-within", "20")
        assert refused.returncode == 1 and "DANGEROUS" in refused.stdout, refused.stdout
        assert _dir(netplan_dir) == dir_before and latest_guard(state_dir) is None
        res = _apply(dp, proposed, netplan_dir, state_dir, "--confirm-within", "20",
                     "--force")
        assert res.returncode in ARMED_OR_TAKEN_BACK, res.stdout + res.stderr
        assert "`netplan apply` is not run" in res.stdout
        assert wait_until(lambda: (latest_guard(state_dir) or {}).get("status") in
                          ("rolled-back", "rollback-conflict", "rollback-failed"), 40)
        doc = latest_guard(state_dir)
        assert doc is not None
        log = latest_guard_log(state_dir)
        print(log)
        assert doc["status"] == "rolled-back", doc
        assert "probe" in doc["rollback"]["reason"], doc["rollback"]["reason"]
        # what ran: the file, then its edits (the address added on the NIC, then deleted
        # from the bridge)
        assert f"write {netplan_dir.resolve()}/60-ovnguard.yaml" in log
        assert f"ip addr add {cidr} dev enp6s18" in log
        assert f"ip addr del {cidr} dev br-ex" in log
        host = doc["rollback"]["verification"]["host"]
        assert host["ok"] and host["differences"] == [], host
        assert any(a.startswith(f"restored {netplan_dir.resolve()}/60-ovnguard.yaml")
                   for a in host["actions"]), host["actions"]
        assert wait_until(lambda: dp.ping("router", HOST), 10), "still cut off"
        assert _ip(dp, "addr", "show") == addr_before
        assert _ip(dp, "route", "show", "table", "main") == route_before
        assert _dir(netplan_dir) == dir_before  # bytes, mode, owner; no temp file left
    finally:
        stop_watchers(state_dir)


def test_confirmed_netplan_file_stays(dataplane_factory: DataplaneFactory,
                                      tmp_path: Path) -> None:
    dp = dataplane_factory()
    netplan_dir, state_dir, cidr = _setup(dp, tmp_path)
    (netplan_dir / "60-ovnguard.yaml").unlink()  # this time a new file
    proposed = tmp_path / "60-ovnguard.yaml"
    proposed.write_text("network:\n  version: 2\n  renderer: networkd\n  ethernets:\n"
                        f"    br-ex:\n      addresses: [{cidr}, 198.18.0.5/24]\n")
    dir_before = _dir(netplan_dir)
    try:
        res = _apply(dp, proposed, netplan_dir, state_dir, "--confirm-within", "60")
        assert res.returncode == 0, res.stdout + res.stderr
        doc = latest_guard(state_dir)
        assert doc is not None and doc["status"] == "armed", doc
        assert "198.18.0.5" in _ip(dp, "addr", "show", "dev", "br-ex")
        ok = subprocess.run([str(Path(sys.executable).parent / "ovnguard"), "confirm",
                             "--state-dir", str(state_dir)], capture_output=True, text=True,
                            timeout=60)
        print(ok.stdout, ok.stderr)
        assert ok.returncode == 0, ok.stdout + ok.stderr
        doc = latest_guard(state_dir)
        assert doc is not None and doc["status"] == "confirmed", doc
        after = _dir(netplan_dir)
        assert set(after) == set(dir_before) | {"60-ovnguard.yaml"}
        assert after["60-ovnguard.yaml"][0] == proposed.read_bytes()
        assert after["60-ovnguard.yaml"][1] & 0o777 == 0o600
        assert dp.ping("router", HOST)
        assert "198.18.0.5" in _ip(dp, "addr", "show", "dev", "br-ex")
    finally:
        stop_watchers(state_dir)


def test_nmstate_file_is_applied_as_edits_only_and_rolled_back(
    dataplane_factory: DataplaneFactory, tmp_path: Path
) -> None:
    """An nmstate file: no file written anywhere (NetworkManager's profiles are nmstatectl's
    job), its edits applied and undone by `ovnguard rollback`."""
    dp = dataplane_factory()
    netplan_dir, state_dir, cidr = _setup(dp, tmp_path)
    proposed = tmp_path / "nmstate.yaml"
    proposed.write_text(
        "interfaces:\n- name: br-ex\n  type: ovs-interface\n  state: up\n  ipv4:\n"
        f"    enabled: true\n    address:\n    - ip: {cidr.split('/')[0]}\n"
        f"      prefix-length: {cidr.split('/')[1]}\n    - ip: 198.18.0.7\n"
        "      prefix-length: 24\n")
    addr_before = _ip(dp, "addr", "show")
    route_before = _ip(dp, "route", "show", "table", "main")
    dir_before = _dir(netplan_dir)
    try:
        res = _apply(dp, proposed, netplan_dir, state_dir, "--confirm-within", "60")
        assert res.returncode == 0, res.stdout + res.stderr
        assert "NetworkManager's profiles are not written" in res.stdout
        assert "198.18.0.7" in _ip(dp, "addr", "show", "dev", "br-ex")
        assert _dir(netplan_dir) == dir_before
        rb = subprocess.run(["ip", "netns", "exec", dp.netns_of(HOST),
                             str(Path(sys.executable).parent / "ovnguard"), "rollback",
                             "--state-dir", str(state_dir)], capture_output=True, text=True,
                            timeout=60)
        print(rb.stdout, rb.stderr)
        assert rb.returncode == 0, rb.stdout + rb.stderr
        assert wait_until(lambda: (latest_guard(state_dir) or {}).get("status") in
                          ("rolled-back", "rollback-conflict", "rollback-failed"), 30)
        doc = latest_guard(state_dir)
        assert doc is not None and doc["status"] == "rolled-back", doc
        assert doc["rollback"]["verification"]["host"]["ok"], doc["rollback"]
        assert _ip(dp, "addr", "show") == addr_before
        assert _ip(dp, "route", "show", "table", "main") == route_before
        assert _dir(netplan_dir) == dir_before
    finally:
        stop_watchers(state_dir)
