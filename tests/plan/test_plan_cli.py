"""The `ovnguard plan` verbs: text, JSON, files, exit codes, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from helpers.plan_tools import PROVNET_EX, SEED_BUNDLE
from ovnguard.change import read_change
from ovnguard.cli import app as root
from ovnguard.cli.plan import app

runner = CliRunner()
SEP = ["separate-nic", "--bundle", str(SEED_BUNDLE), "--physnet", "physnet2",
       "--bridge", "br-public", "--nic", "eth2"]


def test_separate_nic_json_and_files(tmp_path: Path) -> None:
    out = tmp_path / "plan"
    r = runner.invoke(app, [*SEP, "--format", "json", "--out", str(out)])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["schema_version"] == "1.0" and doc["kind"] == "plan"
    assert doc["plan"] == "separate-nic" and doc["status"] == "proven"
    assert doc["parameters"]["physnet"] == "physnet2"
    assert [p["name"] for p in doc["parts"]] == ["controller", "network", "compute1"]
    c1 = doc["parts"][2]
    assert c1["plan_file"] == str(out / "plan-compute1.sh")
    assert [s["n"] for s in c1["steps"]] == [1, 2, 3, 4]
    # issue 13: br-ex's MAC pinned, then the management address and default route move to
    # the NIC in one typed line
    assert c1["steps"][2]["commands"] == [
        "ovs-vsctl set Bridge br-ex other_config:hwaddr=7a:56:08:da:4d:4d"]  # br-ex's link
    assert c1["steps"][3]["commands"] == [
        "ovs-vsctl del-port br-ex enp6s18 && ip addr del 10.10.0.23/24 dev br-ex && ip addr "
        "add 10.10.0.23/24 dev enp6s18 && ip link set enp6s18 up && ip route replace default "
        "via 10.10.0.1 dev enp6s18"]
    assert c1["steps"][1]["commands"][0].startswith(
        f"ovs-vsctl --if-exists del-port {PROVNET_EX} -- set Open_vSwitch .")
    assert c1["steps"][0]["console_needed"] is False
    v = doc["verification"]
    assert v["proven"] is True and v["reasons"] == []
    assert v["end_state"]["dangerous"] == []
    assert "mgmt-bridge-localnet" in [f["rule"] for f in v["end_state"]["resolved"]]
    assert v["end_state"]["remaining_targets"] == []
    assert {t["rule"] for t in doc["targets"]} <= {"mgmt-bridge-localnet",
                                                   "control-plane-via-provider-bridge"}
    assert v["reached"]["step-by-step"]["ok"] and v["reached"]["at-once"]["ok"]
    assert v["rollback"] == {"restores": True, "differences": []}
    assert v["realization"]["compute1"]["added"] == [{"bridge": "br-public",
                                                      "port": PROVNET_EX}]
    written = sorted(p.name for p in out.iterdir())
    # the seed bundle names no deployment tool: only the host NIC side, as netplan
    # one netplan per host since issue 13 (each pins its own br-ex MAC)
    assert written == sorted([*(f"{k}-{h}.sh" for k in ("plan", "rollback")
                                for h in ("compute1", "controller", "network")),
                              *(f"deploy-{i}-netplan.yaml" for i in (1, 2, 3))])
    assert [d["tool"] for d in doc["deployment"]] == ["netplan"] * 3
    assert any("no deployment flavor known" in n for n in doc["notes"])
    # `ovnguard check --change` reads the files as they are.
    for f in out.glob("*.sh"):
        assert read_change(f).problems == ()
        if f.name.startswith("rollback-"):
            # undoes the plan from its end state (v["rollback"] above checks that); on the
            # bundle's state its `ip addr del` of the moved address has nothing to delete
            continue
        chk = runner.invoke(root, ["check", "--bundle", str(SEED_BUNDLE), "--change", str(f),
                                   "--format", "json"])
        # each host's part alone introduces nothing (the pin keeps the MAC br-ex shows)
        doc = json.loads(chk.stdout)
        assert doc["verdict"] == "safe", chk.output
        assert not [f["rule"] for f in doc["findings"] if f["introduced_by_change"]], \
            chk.output


def test_separate_nic_text() -> None:
    r = runner.invoke(app, SEP)
    assert r.exit_code == 0, r.output
    assert "apply in this order: controller, network, compute1" in r.stdout
    flat = " ".join(r.stdout.split())  # long lines are wrapped
    resolved = flat.split(" resolved: ", 1)[1].split(" introduced: ", 1)[0]
    assert "mgmt-bridge-localnet (high) on compute1" in resolved
    assert "dangerous findings left: none" in r.stdout
    assert r.stdout.rstrip().endswith("rollback gets back to the bundle's state")


def test_console_needed_and_not_proven_exit_1() -> None:
    args = [a if a != "eth2" else "enp6s18" for a in SEP] + ["--hosts", "compute1"]
    r = runner.invoke(app, args)
    assert r.exit_code == 1, r.output
    assert "[CONSOLE NEEDED]" in r.stdout
    assert "NOT PROVEN" in r.stdout and "compute1 is cut off" in r.stdout


def test_fix_nothing_to_do() -> None:
    r = runner.invoke(app, ["fix", "--bundle", str(SEED_BUNDLE), "--rule", "l2-loop"])
    assert r.exit_code == 0, r.output
    assert "nothing to do" in r.stdout


def test_fix_json_on_the_seed() -> None:
    r = runner.invoke(app, ["fix", "-b", str(SEED_BUNDLE), "-f", "json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["plan"] == "fix" and doc["status"] == "proven"
    assert {s["fixes"]["rule"] for p in doc["parts"] for s in p["steps"]} == {
        "bridge-hwaddr-unpinned"}


def test_errors_are_one_line_exit_2(tmp_path: Path) -> None:
    r = runner.invoke(app, ["separate-nic", "-b", str(tmp_path / "nope"), "-p", "physnet2",
                            "--bridge", "br-public", "--nic", "eth2"])
    assert r.exit_code == 2
    assert r.stderr.strip().count("\n") == 0 and "bundle directory not found" in r.stderr
    r = runner.invoke(app, [*SEP[:4], "phynet2", *SEP[5:]])
    assert r.exit_code == 2 and "did you mean physnet2?" in r.stderr
    r = runner.invoke(app, ["fix", "-b", str(SEED_BUNDLE), "--rule", "nope"])
    assert r.exit_code == 2 and "no mechanical fix" in r.stderr
