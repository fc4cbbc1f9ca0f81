"""`ovnguard rehearse`: the seed incident's change run for real on a replica of the seed
cluster (controller, network, compute1; only compute1 has a VIF on the provider switch)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from helpers.lab_tools import SEED_PROVNET, SEED_SWITCH, Exported
from helpers.proc_tools import processes_mentioning
from ovnguard.change import parse_change
from ovnguard.cli.rehearse import rehearse as rehearse_cmd
from ovnguard.errors import LabError
from ovnguard.lab import Lab
from ovnguard.lab.rehearse import RehearsalResult, rehearse
from ovnguard.lab.rehearse import rehearsal as rehearse_mod

# The bundle fixtures (seed_bundle, router_bundle, uuid_bundle, copy_bundle).
pytest_plugins = ("helpers.lab_fixtures",)

# The snippet of seed/000_cdc70d7609af371b.txt, verbatim (placeholder name, typo phynet2).
VERBATIM = """LS_NAME="neutron-<provider-network-UUID>"
PHYSNET="phynet2"

ovn-nbctl lsp-add ${LS_NAME} ln-${PHYSNET}
ovn-nbctl lsp-set-type ln-${PHYSNET} localnet
ovn-nbctl lsp-set-options ln-${PHYSNET} network_name=${PHYSNET}
ovn-nbctl lsp-set-addresses ln-${PHYSNET} "unknown"
"""


def snippet(switch: str, physnet: str) -> str:
    return VERBATIM.replace("neutron-<provider-network-UUID>", switch).replace(
        'PHYSNET="phynet2"', f'PHYSNET="{physnet}"'
    )


def run(bundle: Exported, text: str, name: str = "change.sh", **kw: object) -> RehearsalResult:
    return rehearse(bundle.bundle, parse_change(text, name), **kw)  # type: ignore[arg-type]


def added(r: RehearsalResult) -> dict[str, list[tuple[str, str]]]:
    return {
        h: [(p["bridge"], p["port"]) for p in d["added"]]
        for h, d in r.realization().items()
        if d["added"]
    }


def messages(r: RehearsalResult, host: str, daemon: str = "ovn-controller") -> list[str]:
    return [ln.message for ln in r.hosts[host].logs if ln.daemon == daemon]


@pytest.mark.lab
def test_seed_change_with_the_real_switch_name_loops_on_compute1(seed_bundle: Exported) -> None:
    r = run(seed_bundle, snippet(SEED_SWITCH, "physnet2"))
    assert [c.status for c in r.commands] == ["ok"] * 4
    assert [c.line for c in r.commands] == [4, 5, 6, 7]
    assert r.synced
    assert added(r) == {
        "compute1": [
            ("br-ex", "patch-ln-physnet2-to-br-int"),
            ("br-int", "patch-br-int-to-ln-physnet2"),
        ]
    }
    assert all(not d["removed"] for d in r.realization().values())
    warn = re.compile(
        rf"localnet port '{SEED_PROVNET}' already set for datapath '\d+', "
        r"skipping the new port 'ln-physnet2'"
    )
    assert any(warn.search(m) for m in messages(r, "compute1"))
    assert not any(warn.search(m) for h in ("controller", "network") for m in messages(r, h))
    # The loop: a broadcast from compute1's NIC goes round br-ex/br-int until OVS gives up.
    loops = r.hosts["compute1"].loops
    nic = next(t for t in loops if t.entry == "enp6s18")
    assert nic.bridge == "br-ex" and nic.depth_exceeded and nic.introduced_by_change
    assert nic.copies["enp6s18"] > 1
    assert nic.path[:4] == ("br-ex", "br-int", "br-ex", "br-int")
    assert {t.entry for t in loops} >= {
        "enp6s18",
        "patch-ln-physnet2-to-br-int",
        f"patch-{SEED_PROVNET}-to-br-int",
    }
    # Traced before the change too, and no loop there then.
    assert all(not t.loop for h in ("controller", "network") for t in r.hosts[h].traces)
    assert [t.entry for t in r.hosts["controller"].traces] == ["enp6s18"]
    assert r.verdict == "dangerous" and r.exit_code == 1
    assert "L2 loop on compute1, bridge br-ex" in r.dangers[0]


@pytest.mark.lab
def test_verbatim_snippet_fails_and_realizes_nothing(seed_bundle: Exported) -> None:
    r = run(seed_bundle, VERBATIM, "seed.sh")
    got = [(c.line, c.status, c.error) for c in r.commands]
    assert got == [
        (4, "failed", "ovn-nbctl: neutron-<provider-network-UUID>: switch name not found"),
        (5, "failed", "ovn-nbctl: ln-phynet2: port name not found"),
        (6, "failed", "ovn-nbctl: ln-phynet2: port name not found"),
        (7, "failed", "ovn-nbctl: ln-phynet2: port name not found"),
    ]
    assert all(c.exit_code == 1 for c in r.commands)
    assert added(r) == {}
    assert r.loops == []
    assert r.verdict == "risky" and r.exit_code == 0
    assert r.to_json()["commands"][0]["location"] == "seed.sh:4"


@pytest.mark.lab
def test_typo_physnet_realizes_nothing_and_only_compute1_says_why(seed_bundle: Exported) -> None:
    r = run(seed_bundle, snippet(SEED_SWITCH, "phynet2"))
    assert [c.status for c in r.commands] == ["ok"] * 4
    assert added(r) == {}
    why = "bridge not found for localnet port 'ln-phynet2' with network name 'phynet2'"
    # Measured: only the chassis where the switch is a local datapath (compute1, its VM)
    # looks at the port at all.
    who = sorted(h for h in r.hosts if any(why in m for m in messages(r, h)))
    assert who == ["compute1"]
    line = next(ln for ln in r.hosts["compute1"].logs if why in ln.message)
    assert line.level == "INFO" and line.module == "patch"
    assert r.loops == [] and r.exit_code == 0


@pytest.mark.lab
def test_removing_the_vm_leaves_a_stale_pair_until_recompute(seed_bundle: Exported) -> None:
    r = run(seed_bundle, "# host: compute1\novs-vsctl del-port br-int tap9a8b7c6d-5e\n")
    assert r.commands[0].status == "ok" and r.commands[0].host == "compute1"
    d = r.realization()["compute1"]
    assert d["added"] == [] and d["removed"] == []
    assert d["stale_until_recompute"] == [
        {"bridge": "br-ex", "port": f"patch-{SEED_PROVNET}-to-br-int"},
        {"bridge": "br-int", "port": f"patch-br-int-to-{SEED_PROVNET}"},
    ]
    assert any("Releasing lport" in m for m in messages(r, "compute1"))
    assert r.exit_code == 0


@pytest.mark.lab
def test_moving_the_mapping_to_a_new_bridge_is_refused_by_ovsdb(seed_bundle: Exported) -> None:
    """NIC separation done by rewriting ovn-bridge-mappings on a running chassis: real
    ovn-controller 23.03 tries to create the provnet patch port on br-public while the one
    of the same name still exists on br-ex; ovsdb-server rejects every such transaction."""
    change = (
        "# host: compute1\n"
        "ovs-vsctl add-br br-public -- add-port br-public eth2\n"
        "ovs-vsctl set Open_vSwitch . external_ids:ovn-bridge-mappings=physnet2:br-public\n"
    )
    r = run(seed_bundle, change)
    assert [c.status for c in r.commands] == ["ok", "ok"]
    assert r.realization()["compute1"] == {"added": [], "removed": []}
    assert "br-public" in r.hosts["compute1"].ports_after
    errors = [m for m in messages(r, "compute1") if "transaction error" in m]
    assert errors and "constraint violation" in errors[0]
    assert f"patch-{SEED_PROVNET}-to-br-int" in errors[0]


@pytest.mark.lab
def test_lines_that_cannot_be_rehearsed_say_why(seed_bundle: Exported) -> None:
    change = (
        "\n".join(
            [
                "ovs-vsctl show",
                "# host: compute1",
                "ovs-vsctl set-manager ptcp:6640",
                "ovs-vsctl set Open_vSwitch . external_ids:ovn-remote=tcp:192.0.2.1:6642",
                "# host: compute9",
                "ovs-vsctl list-br",
                "openstack server create vm1",
                "ovn-nbctl lsp-add $NOPE p1",
                "ovn-nbctl --db=tcp:192.0.2.1:6641 -t 3 ls-add sw1 && ovn-nbctl ls-add sw1 && "
                "ovn-nbctl ls-add sw2",
            ]
        )
        + "\n"
    )
    r = run(seed_bundle, change)
    single = {c.line: c for c in r.commands if c.line != 9}
    assert {n: c.status for n, c in single.items()} == {
        1: "not-rehearsed",
        3: "not-rehearsed",
        4: "not-rehearsed",
        6: "not-rehearsed",
        7: "not-rehearsed",
        8: "not-rehearsed",
    }
    assert "'# host: NAME'" in single[1].error
    assert "never connects outside the lab" in single[3].error
    assert "never connects outside the lab" in single[4].error
    assert "compute9 is not in the replica" in single[6].error
    assert "not rehearsable" in single[7].error
    assert "undefined variable $NOPE" in single[8].error
    line9 = [c for c in r.commands if c.line == 9]
    assert [c.status for c in line9] == ["ok", "failed", "skipped"]
    # The operator's --db and -t were replaced by the lab's.
    assert line9[0].ran[0][1].startswith("--db=unix:") and "-t" not in line9[0].ran[0]
    assert line9[1].error == "ovn-nbctl: sw1: a switch with this name already exists"


@pytest.mark.lab
def test_openstack_network_create_goes_through_ovn_nbctl(
    seed_bundle: Exported, tmp_path: Path
) -> None:
    change = (
        "openstack network create --provider-network-type vlan "
        "--provider-physical-network physnet2 --provider-segment 100 vlan100\n"
        "openstack network create --provider-network-type flat "
        "--provider-physical-network physnet2 public2\n"
    )
    run_dir = tmp_path / "kept"
    r = run(seed_bundle, change, run_dir=run_dir, keep_lab=True)
    try:
        first, second = r.commands
        assert first.status == "ok" and first.ran[0][0] == "ovn-nbctl"
        assert second.status == "failed"
        assert "Physical network physnet2 is in use" in second.error
        lab = Lab.attach(run_dir)
        out = json.loads(
            lab.nbctl(
                "--format=json",
                "--columns=name,tag_request,options",
                "find",
                "Logical_Switch_Port",
                "tag_request=100",
            )
        )
        ((name, tag, options),) = out["data"]
        assert name.startswith("provnet-") and tag == 100
        assert ["network_name", "physnet2"] in options[1]
        # No VIF on the new network anywhere: nothing realized.
        assert added(r) == {}
    finally:
        Lab.down_dir(run_dir)
    assert processes_mentioning(run_dir) == []


@pytest.mark.lab
def test_lab_is_torn_down_when_lines_fail(seed_bundle: Exported, tmp_path: Path) -> None:
    run_dir = tmp_path / "rehearsal"
    r = run(seed_bundle, VERBATIM, run_dir=run_dir)
    assert any(c.status == "failed" for c in r.commands)
    assert not r.kept and r.run_dir == str(run_dir)
    assert processes_mentioning(run_dir) == []
    assert not (run_dir / "lab.json").exists()
    assert (run_dir / "hosts" / "compute1" / "ovn-controller.log").exists()  # kept for reading
    # Without --run-dir the temporary run dir goes away entirely.
    r2 = run(seed_bundle, VERBATIM)
    assert not Path(r2.run_dir).exists()


@pytest.mark.lab
def test_lab_is_torn_down_when_the_rehearsal_itself_breaks(
    seed_bundle: Exported, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kw: object) -> object:
        raise LabError("broken on purpose")

    monkeypatch.setattr(rehearse_mod, "apply_for_real", broken)
    run_dir = tmp_path / "broken"
    with pytest.raises(LabError, match="broken on purpose"):
        run(seed_bundle, VERBATIM, run_dir=run_dir)
    assert processes_mentioning(run_dir) == []


@pytest.mark.lab
def test_keep_lab_leaves_the_replica_running(seed_bundle: Exported, tmp_path: Path) -> None:
    run_dir = tmp_path / "kept"
    r = run(seed_bundle, snippet(SEED_SWITCH, "physnet2"), run_dir=run_dir, keep_lab=True)
    try:
        assert r.kept
        lab = Lab.attach(run_dir)
        assert lab.status().healthy
        assert "ln-physnet2" in lab.nbctl("lsp-list", SEED_SWITCH)
        assert "patch-ln-physnet2-to-br-int" in lab.chassis_ports("compute1")["br-ex"]
    finally:
        Lab.down_dir(run_dir)
    assert processes_mentioning(run_dir) == []


def cli() -> typer.Typer:
    app = typer.Typer()
    app.command("rehearse")(rehearse_cmd)
    app.command("noop")(lambda: None)  # a second command keeps `rehearse` a subcommand
    return app


@pytest.mark.lab
def test_cli_json_and_exit_codes(seed_bundle: Exported, tmp_path: Path) -> None:
    change = tmp_path / "change.sh"
    change.write_text(snippet(SEED_SWITCH, "physnet2"))
    runner = CliRunner()
    res = runner.invoke(
        cli(),
        [
            "rehearse",
            "--bundle",
            str(seed_bundle.bundle),
            "--change",
            str(change),
            "--format",
            "json",
        ],
    )
    assert res.exit_code == 1, res.output
    doc = json.loads(res.stdout)
    assert doc["schema_version"] == "1.0" and doc["kind"] == "rehearsal"
    assert doc["verdict"] == "dangerous"
    assert doc["realization"]["compute1"]["added"] == [
        {"bridge": "br-ex", "port": "patch-ln-physnet2-to-br-int"},
        {"bridge": "br-int", "port": "patch-br-int-to-ln-physnet2"},
    ]
    assert doc["realization"]["controller"] == {"added": [], "removed": []}
    assert {lp["host"] for lp in doc["loops"]} == {"compute1"}
    assert doc["lab"]["kept"] is False

    change.write_text(VERBATIM)
    res = runner.invoke(cli(), ["rehearse", "-b", str(seed_bundle.bundle),
                                 "--change", str(change)])
    assert res.exit_code == 0, res.output
    assert "switch name not found" in res.stdout and "verdict: RISKY" in res.stdout


def test_cli_input_errors_exit_2(tmp_path: Path) -> None:
    runner = CliRunner()
    res = runner.invoke(
        cli(), ["rehearse", "--bundle", str(tmp_path), "--change", str(tmp_path / "missing.sh")]
    )
    assert res.exit_code == 2
    assert "missing.sh: no such file" in res.output and "Traceback" not in res.output
    change = tmp_path / "c.sh"
    change.write_text("ovn-nbctl ls-add x\n")
    res = runner.invoke(
        cli(), ["rehearse", "--bundle", str(tmp_path / "nope"), "--change", str(change)]
    )
    assert res.exit_code == 2 and "no such bundle directory" in res.output
    res = runner.invoke(
        cli(), ["rehearse", "--bundle", str(tmp_path), "--change", str(change), "--format", "sarif"]
    )
    assert res.exit_code == 2 and "--format must be text or json" in res.output


@pytest.mark.lab
def test_host_line_may_name_the_system_id(uuid_bundle: Exported) -> None:
    uuid = "3c1f2e4d-aaaa-4bbb-8ccc-0123456789ab"
    r = run(uuid_bundle, f"# host: {uuid}\novs-vsctl add-port br-public eth9\n")
    (c,) = r.commands
    assert c.status == "ok", c.error
    assert r.hosts["gw"].chassis == uuid
    assert "eth9" in r.hosts["gw"].ports_after["br-public"]
    assert "eth9" not in r.hosts["gw"].ports_before["br-public"]
    # Both provider bridges of gw (physnet1:br-ex, physnet2:br-public) are traced, from
    # every NIC (the new one too) and the provnet patch port; none loops.
    entries = {(t.bridge, t.entry) for t in r.hosts["gw"].traces}
    assert entries == {
        ("br-ex", "enp6s18"),
        ("br-public", "eth2"),
        ("br-public", "eth9"),
        ("br-public", "patch-provnet-pub-to-br-int"),
    }
    assert r.loops == [] and r.verdict == "safe"
