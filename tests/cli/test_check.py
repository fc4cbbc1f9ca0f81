"""`ovnguard check` and `ovnguard demo` end to end, as an operator runs them (subprocess).

The bundle is the shipped example, exported from a real OVN lab (scripts/make_examples.py).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ovnguard.cli.demo import example_dir
from ovnguard.report.schema import Report

EX = example_dir()
BUNDLE = EX / "bundle"
OVNGUARD = str(Path(sys.executable).parent / "ovnguard")
SWITCH = "neutron-5f1c9d2e-8a7b-4c3d-9e0f-1a2b3c4d5e6f"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([OVNGUARD, *args], capture_output=True, text=True, timeout=120)


def check_json(change: Path | None = None, *extra: str) -> tuple[int, Report]:
    args = ["check", "--bundle", str(BUNDLE), "--format", "json", *extra]
    if change is not None:
        args += ["--change", str(change)]
    p = run(*args)
    assert p.stderr == "", p.stderr
    return p.returncode, Report.model_validate(json.loads(p.stdout))


def test_verbatim_seed_snippet_is_risky_every_line_rejected_with_suggestions() -> None:
    rc, r = check_json(EX / "change-verbatim.sh")
    assert (rc, r.verdict) == (1, "risky")
    assert [c.outcome for c in r.change_lines] == ["rejected"] * 4
    first = r.change_lines[0]
    assert first.message == "ovn-nbctl: neutron-<provider-network-UUID>: switch name not found"
    assert first.suggestions == [SWITCH]
    # The typo is named now, not after the operator fixes the switch name.
    typo = [f for f in r.findings if f.rule == "unmapped-physnet" and f.introduced_by_change]
    assert typo and "did you mean physnet2?" in typo[0].summary
    assert all(not (d.added or d.removed) for d in r.realization.values())


def test_switch_fixed_typo_kept_realizes_nothing_and_says_why() -> None:
    rc, r = check_json(EX / "change-typo.sh")
    assert (rc, r.verdict) == (1, "risky")
    assert [c.outcome for c in r.change_lines] == ["applied"] * 4
    assert all(not d.added for d in r.realization.values())
    rules = {f.rule for f in r.findings if f.status == "introduced"}
    assert "unmapped-physnet" in rules and "l2-loop" not in rules


def test_corrected_seed_change_is_dangerous_loop_on_compute1_every_host_in_blast_radius() -> None:
    rc, r = check_json(EX / "change-corrected.sh")
    assert (rc, r.verdict) == (1, "dangerous")
    assert {h: sorted((p.bridge, p.port) for p in d.added) for h, d in r.realization.items()} == {
        "compute1": [("br-ex", "patch-ln-physnet2-to-br-int"),
                     ("br-int", "patch-br-int-to-ln-physnet2")],
        "controller": [],
        "network": [],
    }
    loop = next(f for f in r.findings if f.rule == "l2-loop")
    assert loop.introduced_by_change and loop.severity == "critical"
    # One looped host floods the whole management LAN it shares with the others.
    assert loop.hosts == ["compute1", "controller", "network"]
    assert "compute1" in loop.loses_management
    assert r.chain[0].source == "change:5"
    assert any("enp6s18" in e.fact for e in r.chain)


def test_state_only_reports_the_armed_hazards_and_schema_version() -> None:
    rc, r = check_json()
    assert r.schema_version == "2.0"
    assert all(f.status == "present" for f in r.findings)
    rules = {f.rule for f in r.findings}
    assert {"mgmt-bridge-localnet", "neutron-config-drift", "bridge-hwaddr-unpinned"} <= rules
    assert rc == (1 if r.verdict != "safe" else 0)


def test_fail_on_threshold() -> None:
    rc, r = check_json(EX / "change-typo.sh", "--fail-on", "dangerous")
    assert (rc, r.verdict) == (0, "risky")
    rc, r = check_json(EX / "change-corrected.sh", "--fail-on", "never")
    assert (rc, r.verdict) == (0, "dangerous")


def test_unsupported_command_is_a_finding_never_ignored(tmp_path: Path) -> None:
    change = tmp_path / "c.sh"
    change.write_text("ovn-nbctl lb-add lb0 10.0.0.10:80 10.0.0.2:80\n")
    # The model executor (a machine without the OVN tools) does not implement lb-add.
    rc, r = check_json(change, "--executor", "model")
    assert r.verdict in ("risky", "dangerous") and rc == 1
    assert [c.outcome for c in r.change_lines] == ["unsupported"]
    assert any(f.rule == "unsupported-command" and f.introduced_by_change for f in r.findings)
    assert r.versions is not None and r.versions.executor == "model"
    # The real tools (the default here) run it.
    rc, r = check_json(change)
    assert [c.outcome for c in r.change_lines] == ["applied"]
    assert r.versions is not None and r.versions.executor == "real-tools"
    assert r.versions.tools["ovn-nbctl"].startswith(r.versions.cluster.northd[:5] or "?")


def test_text_sarif_and_html_formats(tmp_path: Path) -> None:
    p = run("check", "-b", str(BUNDLE), "--change", str(EX / "change-corrected.sh"))
    assert p.returncode == 1
    assert "DANGEROUS" in p.stdout and "How it unfolds" in p.stdout
    assert "\x1b[" not in p.stdout  # no colour codes when stdout is not a TTY
    p = run("check", "-b", str(BUNDLE), "--change", str(EX / "change-corrected.sh"), "-f", "sarif")
    sarif = json.loads(p.stdout)
    assert sarif["version"] == "2.1.0"
    assert any(res["ruleId"] == "l2-loop" and res["level"] == "error"
               for res in sarif["runs"][0]["results"])
    out = tmp_path / "r.html"
    p = run("check", "-b", str(BUNDLE), "--change", str(EX / "change-corrected.sh"), "-f", "html",
            "-o", str(out))
    html = out.read_text()
    assert "<svg" in html and "patch-ln-physnet2-to-br-int" in html and "DANGEROUS" in html


def _one_line_error(p: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert p.returncode == 2, (p.returncode, p.stdout, p.stderr)
    assert "Traceback" not in p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1, p.stderr
    for n in needles:
        assert n in lines[0], lines[0]


def test_bad_inputs_are_one_line_errors_exit_2(tmp_path: Path) -> None:
    _one_line_error(run("check", "--bundle", str(tmp_path / "nope")), "nope")
    b = tmp_path / "b"
    shutil.copytree(BUNDLE, b)
    (b / "hosts" / "compute1" / "addr.json").write_text('[{"ifname": "lo",\n  oops}]\n')
    _one_line_error(run("check", "--bundle", str(b)), "hosts/compute1/addr.json:2")
    shutil.copy(BUNDLE / "hosts" / "compute1" / "addr.json", b / "hosts" / "compute1")
    (b / "nb.db").write_bytes(b"not a database\n")
    _one_line_error(run("check", "--bundle", str(b)), "nb.db")
    change = tmp_path / "c.sh"
    change.write_text("LS=x\novn-nbctl lsp-add 'unterminated ${LS}\n")
    _one_line_error(run("check", "--bundle", str(BUNDLE), "--change", str(change)), "c.sh:2")
    _one_line_error(run("check", "--bundle", str(BUNDLE), "--change", str(tmp_path / "none")),
                    "none")


def test_help_teaches() -> None:
    p = run("--help")
    assert p.returncode == 0 and "demo" in p.stdout and "check" in p.stdout
    p = run("check", "--help")
    assert "--change" in p.stdout and "Exit codes" in p.stdout
    assert run("--version").stdout.startswith("ovnguard ")


def test_committed_json_schema_is_in_sync() -> None:
    from ovnguard.report.schema import json_schema

    path = Path(__file__).resolve().parents[2] / "docs" / "report.schema.json"
    assert json.loads(path.read_text()) == json.loads(json.dumps(json_schema())), (
        "docs/report.schema.json is stale: "
        "python -m ovnguard.report.schema > docs/report.schema.json"
    )


@pytest.mark.parametrize(
    ("text", "rule", "needle"),
    [
        ("# host: compute9\novs-vsctl add-port br-ex eth2\n", "unknown-host", "compute9"),
        ("ovn-nbctl lsp-add ${LS} ln-x\n", "undefined-variable", "LS"),
    ],
)
def test_change_step_findings(tmp_path: Path, text: str, rule: str, needle: str) -> None:
    change = tmp_path / "c.sh"
    change.write_text(text)
    rc, r = check_json(change)
    assert rc == 1 and r.verdict in ("risky", "dangerous")
    found = [f for f in r.findings if f.rule == rule]
    assert found and found[0].introduced_by_change and needle in found[0].summary
    # Negative: the same kind of line, right, raises nothing of that rule.
    ok = tmp_path / "ok.sh"
    ok.write_text(f"LS={SWITCH}\n# host: compute1\novs-vsctl set bridge br-ex "
                  "other_config:hwaddr=02:00:00:00:00:01\novn-nbctl ls-add ${LS}-copy\n")
    _, r2 = check_json(ok)
    assert not [f for f in r2.findings if f.rule == rule]


def test_naive_nic_separation_is_flagged_and_the_working_order_is_not(tmp_path: Path) -> None:
    # Measured on OVN 23.03.1 (docs/plan.md): re-mapping physnet2 while the old patch port
    # exists makes ovn-controller's transaction fail on a name clash; nothing moves.
    naive = tmp_path / "naive.sh"
    naive.write_text(
        "# host: compute1\n"
        "ovs-vsctl add-br br-public -- add-port br-public eth2\n"
        "ovs-vsctl set Open_vSwitch . external_ids:ovn-bridge-mappings=physnet2:br-public\n")
    rc, r = check_json(naive)
    assert (rc, r.verdict) == (1, "risky")
    stuck = [f for f in r.findings if f.rule == "controller-transaction-fails"]
    assert stuck and stuck[0].hosts == ["compute1"] and stuck[0].introduced_by_change
    # The host keeps its bridging into management: not "resolved" by a change that fails.
    assert not [f for f in r.findings
                if f.rule == "mgmt-bridge-localnet" and f.status == "resolved"]
    port = "patch-provnet-0b7e4f1a-2c3d-4e5f-8a9b-c0d1e2f3a4b5-to-br-int"
    good = tmp_path / "good.sh"
    good.write_text(
        "# host: compute1\n"
        "ovs-vsctl add-br br-public -- add-port br-public eth2\n"
        f"ovs-vsctl --if-exists del-port {port} -- set Open_vSwitch . "
        "external_ids:ovn-bridge-mappings=physnet2:br-public\n")
    _, r2 = check_json(good)
    assert not [f for f in r2.findings if f.rule == "controller-transaction-fails"]
    assert {(p.bridge, p.port) for p in r2.realization["compute1"].added} >= {
        ("br-public", port)}
    assert any(f.rule == "mgmt-bridge-localnet" and f.status == "resolved" for f in r2.findings)
