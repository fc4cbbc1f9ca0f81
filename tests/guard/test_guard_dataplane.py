"""The guard against the seed incident with real packets (data-plane lab: a network
namespace per host on a shared LAN, OVS on the userspace datapath).

No `--probe`: the default probes (ICMP and TCP/22 to every host's management address from
the bundle's inventory) run from the LAN's namespace, cold (ARP entry forgotten before each
probe, so every probe starts with the broadcast a loop breaks first).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from helpers.guard_tools import ARMED_OR_TAKEN_BACK, PATCH, SEED_CHANGE, GuardEnv, nb_rows
from ovnguard.lab.dataplane import DataplaneLab, format_matrix

pytest_plugins = ("helpers.guard_fixtures",)

pytestmark = [pytest.mark.lab, pytest.mark.dataplane, pytest.mark.timeout(90)]


def test_loop_cuts_compute1_off_guard_restores_nb_and_management(
    dp_genv: tuple[GuardEnv, DataplaneLab], wait_for: Callable[..., bool]
) -> None:
    genv, dp = dp_genv
    before = nb_rows(genv.nb)
    assert all(dp.reachability().values())
    res = genv.apply(
        genv.change(SEED_CHANGE), "--force", "--confirm-within", "30",
        "--probe-netns", dp.netns_of("router"), "--probe-cold", "--probe-interval", "0.5",
        "--chassis-db", f"compute1={genv.chassis_db('compute1')}",
    )
    assert res.exit_code in ARMED_OR_TAKEN_BACK, res.output
    managed = sorted(str(a) for a in dp.hosts.values())
    for addr in managed:
        assert f"probe icmp:{addr}: passes now, watched" in res.output
        assert f"probe tcp:{addr}:22: passes now, watched" in res.output
    doc = genv.wait_status("rolled-back", timeout=40)
    tl = doc["timeline"]
    first = doc["probing"]["first_failure"]
    assert any(a in first["probe"] for a in managed), first
    assert tl["first_probe_failure"] < tl["deadline"]
    print(f"\nloop detected {tl['first_probe_failure'] - tl['applied']:.2f}s after the apply "
          f"({first['probe']}: {first['detail']}); NB restored "
          f"{tl['restored'] - tl['first_probe_failure']:.3f}s after the first failed probe, "
          f"{tl['restored'] - tl['applied']:.2f}s after the apply")
    assert tl["restored"] - tl["first_probe_failure"] <= 2.0
    assert doc["rollback"]["verification"]["ok"]
    assert nb_rows(genv.nb) == before
    assert PATCH not in genv.ports("compute1")
    t0 = time.monotonic()
    assert wait_for(lambda: all(dp.reachability().values()), timeout=15, interval=0.2), \
        format_matrix(dp.reachability())
    print(f"every pair reachable again {time.monotonic() - t0:.2f}s after the check started")


def test_harmless_change_keeps_passing_cold_probes_until_confirmed(
    dp_genv: tuple[GuardEnv, DataplaneLab],
) -> None:
    """The control experiment: the same probes, a change that loops nothing, no rollback."""
    genv, dp = dp_genv
    res = genv.apply(
        genv.change("ovn-nbctl ls-add scratch\n"), "--confirm-within", "30",
        "--probe-netns", dp.netns_of("router"), "--probe-cold", "--probe-interval", "0.2",
    )
    assert res.exit_code == 0, res.output
    assert "what-if: SAFE" in res.output
    time.sleep(4)
    doc = genv.state()
    assert doc["status"] == "armed", doc.get("probing")
    assert doc["probing"]["rounds"] >= 5
    assert all(r["ok"] for r in doc["probing"]["last"])
    assert genv.run("confirm", "--state-dir", str(genv.state_dir)).exit_code == 0
    assert "scratch" in genv.lab.nbctl("--bare", "--columns=name", "list", "Logical_Switch")
