"""`ovnguard apply` with a dead-man switch, against a real OVN (the seed cluster: NB/SB,
northd, three chassis with ovs-vswitchd and ovn-controller on the dummy datapath).

The stand-in for "compute1 lost management" in a lab without a data plane is a `cmd:` probe
that fails as soon as real ovn-controller has created the incident's patch port on compute1.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable

import pytest

from helpers.guard_tools import (
    ARMED_OR_TAKEN_BACK,
    PATCH,
    SEED_CHANGE,
    SEED_PROVNET,
    SEED_SWITCH,
    GuardEnv,
    cli_subprocess,
    keeper_pid,
    nb_rows,
)
from ovnguard.lab.process import clean_env, cmdline, is_alive, read_pidfile

pytest_plugins = ("helpers.guard_fixtures",)

pytestmark = [pytest.mark.lab, pytest.mark.timeout(60)]


def loss_probe(genv: GuardEnv) -> str:
    return (f"cmd:! ovs-vsctl --db={genv.chassis_db('compute1')} --timeout=2 "
            f"port-to-br {PATCH}")


def test_failed_probe_rolls_back_by_itself_nb_exactly_as_before(genv: GuardEnv) -> None:
    before = nb_rows(genv.nb)
    res = genv.apply(
        genv.change(SEED_CHANGE), "--force", "--confirm-within", "3",
        "--probe", loss_probe(genv), "--probe-interval", "0.1",
        "--chassis-db", f"compute1={genv.chassis_db('compute1')}",
    )
    assert res.exit_code in ARMED_OR_TAKEN_BACK, res.output
    assert "DANGEROUS, applied because of --force" in res.output
    assert "passes now, watched" in res.output
    doc = genv.wait_status("rolled-back", timeout=8)
    tl = doc["timeline"]
    # The probe, not the 3 s deadline, triggered it.
    assert doc["rollback"]["reason"].startswith("probe cmd:")
    assert tl["restored"] < tl["deadline"]
    failure_to_restored = tl["restored"] - tl["first_probe_failure"]
    apply_to_restored = tl["restored"] - tl["applied"]
    print(f"\nfirst failed probe -> NB restored: {failure_to_restored:.3f}s; "
          f"apply -> NB restored: {apply_to_restored:.3f}s")
    assert 0 <= failure_to_restored <= 2.0
    assert doc["edits"] == [f"Logical_Switch {SEED_SWITCH} (ports)",
                            "Logical_Switch_Port ln-physnet2 (inserted)"]
    v = doc["rollback"]["verification"]
    assert v["ok"] and v["rows_ok"] and v["differences"] == []
    assert v["ports"]["compute1"].startswith("ok: patch-ln-physnet2-to-br-int gone from br-ex")
    assert after_equals(genv, before)
    assert PATCH not in genv.ports("compute1")
    assert f"patch-{SEED_PROVNET}-to-br-int" in genv.ports("compute1")
    # The lock went with the guard: a new apply is possible.
    assert not list((genv.state_dir / "locks").iterdir())


def after_equals(genv: GuardEnv, before: dict[str, dict[str, dict[str, object]]]) -> bool:
    after = nb_rows(genv.nb)
    assert after == before
    return True


def test_cli_killed_right_after_apply_rollback_still_runs_at_deadline(
    genv: GuardEnv, wait_for: Callable[..., bool]
) -> None:
    before = nb_rows(genv.nb)
    change = genv.change(SEED_CHANGE)
    proc = cli_subprocess(["apply", "--change", str(change), "--nb", genv.nb, "--bundle",
                           str(genv.bundle), "--state-dir", str(genv.state_dir), "--force",
                           "--confirm-within", "2", "--probe", "none"])
    try:
        assert wait_for(lambda: bool(genv.guards()) and genv.state()["status"] in (
            "applying", "armed"), timeout=20, interval=0.005), "no guard was started"
        cli_sid = os.getsid(proc.pid)
        proc.send_signal(signal.SIGKILL)
        # Killed while it was still waiting for the watcher to report.
        assert proc.wait(5) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
    doc = genv.wait_status("armed", timeout=10)
    watcher = doc["watcher"]["pid"]
    assert is_alive(watcher)
    # Its own session: the terminal (and SSH) going away does not reach it.
    assert os.getsid(watcher) not in (cli_sid, os.getsid(0))
    assert "ln-physnet2" in genv.lab.nbctl("--bare", "--columns=name", "list",
                                           "Logical_Switch_Port")
    doc = genv.wait_status("rolled-back", timeout=10)
    assert doc["rollback"]["reason"] == "not confirmed within 2s"
    assert doc["timeline"]["restored"] >= doc["timeline"]["deadline"]
    print(f"\napply -> NB restored: {doc['timeline']['restored'] - doc['timeline']['applied']:.3f}s"
          f" (deadline 2s)")
    assert after_equals(genv, before)
    assert wait_for(lambda: PATCH not in genv.ports("compute1"), timeout=5)


def _nb_server(genv: GuardEnv) -> tuple[int, list[str]]:
    pidfile = genv.lab.run_dir / "nb" / "ovsdb-server.pid"
    if not pidfile.exists():
        pidfile = next((genv.lab.run_dir / "nb").glob("*.pid"))
    pid = read_pidfile(pidfile)
    assert pid is not None
    return pid, cmdline(pid)


def test_nb_restarted_during_window_rollback_lands_once_it_is_back(
    genv: GuardEnv, wait_for: Callable[..., bool]
) -> None:
    before = nb_rows(genv.nb)
    res = genv.apply(genv.change(SEED_CHANGE), "--force", "--confirm-within", "1.5",
                     "--probe", "none", "--give-up-after", "30")
    assert res.exit_code == 0, res.output
    pid, argv = _nb_server(genv)
    assert os.path.basename(argv[0]) == "ovsdb-server"
    os.kill(pid, signal.SIGTERM)
    assert wait_for(lambda: not is_alive(pid), timeout=5)
    # The deadline passes while NB is down: the watcher keeps trying.
    assert wait_for(lambda: "unreachable" in genv.log(), timeout=6), genv.log()
    assert genv.state()["status"] == "rolling-back"
    time.sleep(1.0)
    subprocess.run(argv, check=True, timeout=20, env=clean_env(), capture_output=True)
    back = time.time()
    doc = genv.wait_status("rolled-back", timeout=10)
    assert doc["rollback"]["attempts"] >= 2
    assert doc["timeline"]["restored"] - back < 2.0  # backoff caps at 1 s
    assert doc["rollback"]["verification"]["ok"]
    assert after_equals(genv, before)


def test_concurrent_unrelated_edits_survive_the_rollback(
    genv: GuardEnv, wait_for: Callable[..., bool]
) -> None:
    res = genv.apply(genv.change(SEED_CHANGE), "--force", "--confirm-within", "30",
                     "--probe", "none")
    assert res.exit_code == 0, res.output
    genv.wait_status("armed")
    # Someone else, meanwhile: a new switch, a column the change did not touch on the row
    # it did touch, and another element of the very set it changed (Logical_Switch.ports).
    genv.lab.nbctl("ls-add", "other")
    genv.lab.nbctl("set", "Logical_Switch", SEED_SWITCH, "external_ids:owner=someone")
    genv.lab.nbctl("lsp-add", SEED_SWITCH, "vm2")
    res = genv.run("rollback", "--state-dir", str(genv.state_dir))
    assert res.exit_code == 0, res.output
    assert "delete Logical_Switch_Port ln-physnet2 (inserted by the change)" in res.output
    names = genv.lab.nbctl("--bare", "--columns=name", "list", "Logical_Switch_Port").split()
    assert "ln-physnet2" not in names and "vm2" in names
    assert "other" in genv.lab.nbctl("--bare", "--columns=name", "list", "Logical_Switch")
    assert genv.lab.nbctl("get", "Logical_Switch", SEED_SWITCH,
                          "external_ids:owner").strip() == '"someone"' or \
        genv.lab.nbctl("get", "Logical_Switch", SEED_SWITCH,
                       "external_ids:owner").strip() == "someone"
    ports = genv.lab.nbctl("--bare", "--columns=ports", "list", "Logical_Switch",
                           SEED_SWITCH).split()
    assert len(ports) == 3  # provnet, the VM's port, vm2
    doc = genv.state()
    v = doc["rollback"]["verification"]
    assert v["ok"], v
    others = " ".join(v["changed_by_others"])
    assert "Logical_Switch other (inserted)" in others and "Logical_Switch_Port vm2" in others
    assert doc["rollback"]["reason"] == "requested by `ovnguard rollback`"


def test_conflicting_edit_stops_the_rollback_and_says_what_differs(
    genv: GuardEnv,
) -> None:
    res = genv.apply(genv.change(SEED_CHANGE), "--force", "--confirm-within", "1",
                     "--probe", "none")
    assert res.exit_code == 0, res.output
    genv.lab.nbctl("lsp-set-options", "ln-physnet2", "network_name=physnet9")
    doc = genv.wait_status("rollback-conflict", timeout=8)
    assert doc["rollback"]["conflicts"] == [{
        "table": "Logical_Switch_Port", "row": "Logical_Switch_Port ln-physnet2",
        "uuid": doc["rollback"]["conflicts"][0]["uuid"], "column": "options",
        "expected": "{network_name=physnet2} (as the change left it)",
        "found": "{network_name=physnet9}",
    }]
    # Nothing was written: the port is there with the other edit.
    assert genv.lab.nbctl("get", "Logical_Switch_Port", "ln-physnet2",
                          "options:network_name").strip() == "physnet9"
    # The guard still holds the database.
    other = genv.apply(genv.change("ovn-nbctl ls-add x\n", "x.sh"), "--probe", "none")
    assert other.exit_code == 4 and "rollback-conflict" in other.output
    res = genv.run("rollback", "--state-dir", str(genv.state_dir))
    assert res.exit_code == 1
    assert ("Logical_Switch_Port: Logical_Switch_Port ln-physnet2" in res.output
            and "column options: expected {network_name=physnet2} (as the change left it), "
            "found {network_name=physnet9}" in res.output)
    res = genv.run("rollback", "--force", "--state-dir", str(genv.state_dir))
    assert res.exit_code == 0, res.output
    assert "ln-physnet2" not in genv.lab.nbctl("--bare", "--columns=name", "list",
                                               "Logical_Switch_Port")


def test_confirm_keeps_the_change_past_the_deadline(
    genv: GuardEnv, wait_for: Callable[..., bool]
) -> None:
    res = genv.apply(genv.change(SEED_CHANGE), "--force", "--confirm-within", "1.5",
                     "--probe", "none")
    assert res.exit_code == 0, res.output
    res = genv.run("confirm", "--state-dir", str(genv.state_dir))
    assert res.exit_code == 0, res.output
    assert "the change stays" in res.output
    doc = genv.state()
    deadline = doc["timeline"]["deadline"]
    time.sleep(max(0.0, deadline - time.time()) + 1.0)
    doc = genv.state()
    assert doc["status"] == "confirmed" and "rollback" not in doc
    assert not is_alive(doc["watcher"]["pid"]) or wait_for(
        lambda: not is_alive(doc["watcher"]["pid"]), timeout=3)
    assert "ln-physnet2" in genv.lab.nbctl("--bare", "--columns=name", "list",
                                           "Logical_Switch_Port")
    assert wait_for(lambda: PATCH in genv.ports("compute1"), timeout=5)
    # Too late to confirm twice, nothing to roll back.
    assert genv.run("confirm", "--state-dir", str(genv.state_dir)).exit_code == 2
    res = genv.run("rollback", "--state-dir", str(genv.state_dir))
    assert res.exit_code == 2 and "no active guard" in res.output


def test_dangerous_without_force_is_refused_and_nothing_written(genv: GuardEnv) -> None:
    before = nb_rows(genv.nb)
    res = genv.apply(genv.change(SEED_CHANGE), "--probe", "none")
    assert res.exit_code == 1, res.output
    assert res.output.startswith("REFUSED: the what-if says DANGEROUS: l2-loop")
    assert "nothing applied" in res.output
    assert "ovn-controller creates patch-ln-physnet2-to-br-int on br-ex" in res.output
    assert nb_rows(genv.nb) == before
    assert genv.guards() == []
    assert not (genv.state_dir / "locks").exists() or not list(
        (genv.state_dir / "locks").iterdir())


def test_second_apply_while_armed_is_refused_naming_the_guard(genv: GuardEnv) -> None:
    res = genv.apply(genv.change(SEED_CHANGE), "--force", "--confirm-within", "30",
                     "--probe", "none")
    assert res.exit_code == 0, res.output
    first = genv.state()["id"]
    res = genv.apply(genv.change("ovn-nbctl ls-add other\n", "other.sh"), "--probe", "none")
    assert res.exit_code == 4
    assert f"another guard is armed on OVN_Northbound at {genv.nb}: {first}" in res.output
    assert "rollback at" in res.output and f"ovnguard confirm --state-dir {genv.state_dir} " \
        f"--id {first}" in res.output
    assert "other" not in genv.lab.nbctl("--bare", "--columns=name", "list", "Logical_Switch")
    assert genv.run("confirm", "--state-dir", str(genv.state_dir)).exit_code == 0
    res = genv.apply(genv.change("ovn-nbctl ls-add other\n", "other.sh"), "--probe", "none",
                     "--confirm-within", "30")
    assert res.exit_code == 0, res.output
    assert genv.run("confirm", "--state-dir", str(genv.state_dir), "--id",
                    genv.state()["id"]).exit_code == 0


def test_refused_by_the_real_tool_nothing_applied(genv: GuardEnv) -> None:
    before = nb_rows(genv.nb)
    verbatim = SEED_CHANGE.replace(SEED_SWITCH, "neutron-<provider-network-UUID>")
    res = genv.apply(genv.change(verbatim), "--probe", "none")
    assert res.exit_code == 1
    assert "REFUSED: some lines would not apply" in res.output
    assert "switch name not found" in res.output and f"did you mean: {SEED_SWITCH}" in \
        res.output
    assert genv.guards() == []
    res = genv.apply(genv.change(verbatim), "--probe", "none", "--force")
    assert res.exit_code == 1, res.output
    assert ("the tool refused the change; nothing applied: ovn-nbctl: "
            "neutron-<provider-network-UUID>: switch name not found") in res.output
    assert genv.state()["status"] == "refused"
    assert nb_rows(genv.nb) == before
    assert not list((genv.state_dir / "locks").iterdir())


def test_deleted_row_is_re_inserted_with_its_uuid_and_ports_come_back(
    genv: GuardEnv, wait_for: Callable[..., bool]
) -> None:
    """The inverse of a delete: Neutron's own localnet port removed, then restored (same
    uuid, back in Logical_Switch.ports), and ovn-controller re-creates its patch port."""
    before = nb_rows(genv.nb)
    patch = f"patch-{SEED_PROVNET}-to-br-int"
    res = genv.apply(genv.change(f"ovn-nbctl lsp-del {SEED_PROVNET}\n"), "--force",
                     "--confirm-within", "30", "--probe", "none",
                     "--chassis-db", f"compute1={genv.chassis_db('compute1')}")
    assert res.exit_code == 0, res.output
    assert wait_for(lambda: patch not in genv.ports("compute1"), timeout=5)
    res = genv.run("rollback", "--state-dir", str(genv.state_dir))
    assert res.exit_code == 0, res.output
    assert f"re-insert Logical_Switch_Port {SEED_PROVNET}" in res.output
    assert f"compute1: ok: {patch} back on br-ex" in res.output
    assert after_equals(genv, before)
    assert patch in genv.ports("compute1")


def test_host_local_change_on_a_chassis_database(genv: GuardEnv) -> None:
    """ovs-vsctl lines for one host, against that host's own conf.db."""
    db = genv.chassis_db("compute1")
    before = genv.lab.chassis_ports("compute1")
    mappings = genv.lab.vsctl("compute1", "get", "Open_vSwitch", ".",
                              "external_ids:ovn-bridge-mappings").strip()
    change = genv.change(
        "# host: compute1\n"
        "ovs-vsctl add-br br-public\n"
        "ovs-vsctl set Open_vSwitch . external_ids:ovn-bridge-mappings=physnet2:br-public\n")
    res = genv.run("apply", "--change", str(change), "--db", db, "--bundle",
                   str(genv.bundle), "--state-dir", str(genv.state_dir), "--probe", "none",
                   "--confirm-within", "1")
    assert res.exit_code == 0, res.output
    assert "Bridge br-public (inserted)" in res.output
    doc = genv.wait_status("rolled-back", "rollback-conflict", timeout=8)
    assert doc["status"] == "rolled-back", json.dumps(doc.get("rollback"), indent=1)
    assert doc["database"] == "Open_vSwitch" and doc["host"] == "compute1"
    assert doc["rollback"]["verification"]["ok"]
    assert genv.lab.chassis_ports("compute1") == before
    assert genv.lab.vsctl("compute1", "get", "Open_vSwitch", ".",
                          "external_ids:ovn-bridge-mappings").strip() == mappings


def test_status_json_timeline_and_auto_confirm(genv: GuardEnv) -> None:
    res = genv.apply(genv.change("ovn-nbctl ls-add scratch\n"), "--confirm-within", "20",
                     "--probe", "cmd:true", "--probe-interval", "0.1",
                     "--auto-confirm-after", "0.5")
    assert res.exit_code == 0, res.output
    doc = genv.wait_status("confirmed", timeout=8)
    assert doc["confirmed_by"].startswith("auto: every probe passed")
    res = genv.run("guard", "status", "--state-dir", str(genv.state_dir), "--format", "json")
    assert res.exit_code == 0
    out = json.loads(res.stdout)
    assert out["schema_version"] == 1
    g = out["guards"][0]
    assert g["status"] == "confirmed" and g["verdict"] == "safe"
    assert 0.5 <= g["durations"]["applied_to_confirmed"] < 5
    assert g["probes"][0]["spec"] == "cmd:true"
    assert "scratch" in genv.lab.nbctl("--bare", "--columns=name", "list", "Logical_Switch")
    text = genv.run("guard", "status", "--state-dir", str(genv.state_dir)).output
    assert g["id"] in text and "confirmed" in text


def test_dropped_probes_and_chassis_probe(genv: GuardEnv) -> None:
    res = genv.apply(
        genv.change("ovn-nbctl ls-add scratch\n"), "--confirm-within", "20",
        "--sb", genv.lab.sb_remote,
        "--probe", "chassis:2", "--probe", "cmd:exit 3", "--probe", "tcp:127.0.0.1:9",
        "--verify-timeout", "1",
    )
    assert res.exit_code == 0, res.output
    assert "probe chassis:2: passes now, watched" in res.output
    assert "probe cmd:exit 3: dropped, it fails before the change (exit 3)" in res.output
    assert "probe tcp:127.0.0.1:9: dropped, it fails before the change (Connection refused)" \
        in res.output
    doc = genv.state()
    assert [p["spec"] for p in doc["probes"]] == ["chassis:2"]
    assert {p["probe"] for p in doc["dropped_probes"]} == {"cmd:exit 3", "tcp:127.0.0.1:9"}
    # Stop ovn-controller on compute1: the chassis probe fails, the rollback runs.
    pid = read_pidfile(genv.lab.host_paths("compute1").controller_pidfile)
    assert pid is not None
    os.kill(pid, signal.SIGSTOP)
    try:
        doc = genv.wait_status("rolled-back", "rollback-conflict", timeout=15)
    finally:
        os.kill(pid, signal.SIGCONT)
    assert doc["rollback"]["reason"].startswith("probe chassis:2 failed: not every chassis "
                                                "caught up within 2s (behind: compute1)")
    assert "scratch" not in genv.lab.nbctl("--bare", "--columns=name", "list",
                                           "Logical_Switch")


def test_without_a_bundle_the_live_nb_is_judged_and_the_blind_spot_said(
    genv: GuardEnv,
) -> None:
    # On the control node with NB and SB only, every chassis is predicted from SB: the
    # incident's loop is seen and the change refused.
    before = nb_rows(genv.nb)
    res = genv.apply(genv.change(SEED_CHANGE), "--sb", genv.lab.sb_remote, "--probe", "none",
                     "--confirm-within", "30", bundle=False)
    assert res.exit_code == 1, res.output
    assert res.output.startswith("REFUSED: the what-if says DANGEROUS: l2-loop")
    assert nb_rows(genv.nb) == before
    res = genv.apply(genv.change(SEED_CHANGE), "--sb", genv.lab.sb_remote, "--probe", "none",
                     "--confirm-within", "30", "--force", bundle=False)
    assert res.exit_code == 0, res.output
    assert ("warning: the what-if knew no host's Open_vSwitch database (no --bundle): every "
            "chassis was predicted from SB alone") in res.output
    whatif = json.loads((genv.guards()[-1] / "whatif.json").read_text())
    assert whatif["verdict"] == "dangerous"
    assert whatif["realization"]["compute1"]["added"] == [
        {"bridge": "br-ex", "port": "patch-ln-physnet2-to-br-int"},
        {"bridge": "br-int", "port": "patch-br-int-to-ln-physnet2"}]
    assert [c["outcome"] for c in whatif["change_lines"]] == ["applied"] * 4
    res = genv.run("rollback", "--state-dir", str(genv.state_dir))
    assert res.exit_code == 0, res.output


def test_watcher_killed_status_warns_and_rollback_does_it_itself(
    genv: GuardEnv, wait_for: Callable[..., bool]
) -> None:
    before = nb_rows(genv.nb)
    res = genv.apply(genv.change(SEED_CHANGE), "--force", "--confirm-within", "30",
                     "--probe", "none")
    assert res.exit_code == 0, res.output
    # The keeper first (it would start the next generation: test_guard_faults.py), then
    # the watcher: no process of this guard is left.
    keeper = keeper_pid(genv)
    os.kill(keeper, signal.SIGKILL)
    assert wait_for(lambda: not is_alive(keeper), timeout=5)
    pid = genv.state()["watcher"]["pid"]
    os.kill(pid, signal.SIGKILL)
    assert wait_for(lambda: not is_alive(pid), timeout=5)
    text = genv.run("guard", "status", "--state-dir", str(genv.state_dir)).output
    assert "(not running)" in text and "WARNING: no watcher runs for this armed guard" in text
    res = genv.run("rollback", "--state-dir", str(genv.state_dir))
    assert res.exit_code == 0, res.output
    doc = genv.state()
    assert doc["status"] == "rolled-back"
    assert doc["rollback"]["by"].startswith("ovnguard rollback (pid ")
    assert after_equals(genv, before)
