"""Rules read each host's deployment flavor (hosts/<host>/deployment.json): ovn-kubernetes'
shared gateway mode keeps the node IP on br-ex on purpose, so that layout is said at info,
not flagged; a second localnet port on it is still an L2 loop. Bundles: the flavor fixtures
(tests/fixtures/flavors, lab exports of the seed cluster laid out as each flavor)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from helpers.real_db import RealDb
from ovnguard.assess import assess
from ovnguard.change import parse_change
from ovnguard.plan import plan_separate_nic
from ovnguard.plan.deploy import with_deployment
from ovnguard.report.schema import Report
from ovnguard.sources.bundle import load_bundle

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "flavors"
SEED = Path(__file__).resolve().parents[2] / "src" / "ovnguard" / "examples" / "seed"


def _run(fid: str, change: str | None = None) -> Report:
    snap = load_bundle(FIXTURES / fid)
    if change is None:
        return assess(snap).report
    return assess(snap, parse_change((SEED / change).read_text(), change)).report


def test_ovn_kubernetes_br_ex_layout_is_by_design() -> None:
    r = _run("ovn-kubernetes")
    mgmt = [f for f in r.findings if f.rule == "mgmt-bridge-localnet"]
    assert mgmt and {f.severity for f in mgmt} == {"info"}
    assert "by design" in mgmt[0].summary
    assert r.verdict == "safe"
    # the same layout deployed otherwise is the incident's precondition: high
    other = _run("packages")
    assert {f.severity for f in other.findings if f.rule == "mgmt-bridge-localnet"} == {"high"}
    assert other.verdict == "risky"


def test_ovn_kubernetes_still_flags_the_loop() -> None:
    r = _run("ovn-kubernetes", "change-corrected.sh")
    loops = [f for f in r.findings if f.rule == "l2-loop"]
    assert loops and loops[0].severity == "critical"
    assert "compute1" in loops[0].hosts and loops[0].introduced_by_change
    assert r.verdict == "dangerous"


@pytest.mark.skipif(shutil.which("ovsdb-server") is None, reason="needs openvswitch-switch")
def test_without_deployment_json_the_nb_says_ovn_kubernetes(tmp_path: Path) -> None:
    # the same bundle with no deployment.json: plain layout, high
    b = tmp_path / "b"
    shutil.copytree(FIXTURES / "packages", b)
    for f in b.glob("hosts/*/deployment.json"):
        f.unlink()
    assert {h.deployment for h in load_bundle(b).hosts.values()} == {None}
    # ovn-kubernetes' cluster router, made by the real ovn-nbctl in the bundle's NB
    with RealDb(b / "nb.db", "nb") as nb:
        nb.run("lr-add ovn_cluster_router -- set Logical_Router ovn_cluster_router "
               "external_ids:k8s-cluster-router=yes")
    snap = load_bundle(b)
    assert {h.deployment for h in snap.hosts.values()} == {"ovn-kubernetes"}
    assert any("taken as ovn-kubernetes: NB Logical_Router ovn_cluster_router "
               "external_ids:k8s-cluster-router=yes" in n for n in snap.notes)
    r = assess(snap).report
    assert {f.severity for f in r.findings if f.rule == "mgmt-bridge-localnet"} == {"info"}
    # and the plan speaks of ovn-kubernetes there too (no deployment.json to read)
    plan = with_deployment(snap, plan_separate_nic(snap, "physnet2", "br-public", "eth2"), {})
    assert "ovn-kubernetes" in [d.tool for d in plan.deployment]
