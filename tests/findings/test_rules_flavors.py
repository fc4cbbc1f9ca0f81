"""Rules read each host's deployment flavor (hosts/<host>/deployment.json): ovn-kubernetes'
shared gateway mode keeps the node IP on br-ex on purpose, so that layout is said at info,
not flagged; a second localnet port on it is still an L2 loop. Bundles: the flavor fixtures
(tests/fixtures/flavors, lab exports of the seed cluster laid out as each flavor)."""

from __future__ import annotations

from pathlib import Path

from ovnguard.assess import assess
from ovnguard.change import parse_change
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
