"""A what-if on a loaded model (a previous assessment's baseline) says exactly what a fresh
assessment says."""

from __future__ import annotations

from pathlib import Path

from ovnguard.assess import assess
from ovnguard.change.parse import read_change
from ovnguard.sources.bundle import load_bundle

SEED = Path(__file__).resolve().parents[1] / "src" / "ovnguard" / "examples" / "seed"


def test_baseline_reuse_gives_the_fresh_answer() -> None:
    snap = load_bundle(SEED / "bundle")
    first = assess(snap, read_change(SEED / "change-verbatim.sh"))
    assert first.baseline is not None and first.baseline.snapshot is snap
    for name in ("change-corrected.sh", "change-typo.sh"):
        change = read_change(SEED / name)
        reused = assess(snap, change, baseline=first.baseline)
        fresh = assess(snap, change)
        assert reused.report == fresh.report, name
        if name == "change-corrected.sh":  # the incident's change, names fixed
            assert reused.report.verdict == "dangerous"
        assert reused.baseline is first.baseline


def test_a_baseline_of_another_snapshot_is_not_used() -> None:
    snap = load_bundle(SEED / "bundle")
    other = load_bundle(SEED / "bundle")
    b = assess(other).baseline
    w = assess(snap, read_change(SEED / "change-corrected.sh"), baseline=b)
    assert w.baseline is not b and w.baseline is not None and w.baseline.snapshot is snap


def test_what_ifs_on_one_model_share_what_the_change_cannot_alter() -> None:
    """A finding of the state before that the state after holds as the same object (a host
    rule's, on a host the change left alone) is marked pre-existing once and rendered once
    for every what-if on the loaded model; each report still equals a fresh one's."""
    snap = load_bundle(SEED / "bundle")
    first = assess(snap, read_change(SEED / "change-verbatim.sh"))
    change = read_change(SEED / "change-typo.sh")
    one = assess(snap, change, baseline=first.baseline)
    two = assess(snap, change, baseline=first.baseline)
    assert two.report == one.report == assess(load_bundle(SEED / "bundle"), change).report
    kept = [(f, g) for f, g in zip(one.assessment.findings, two.assessment.findings,
                                   strict=True)
            if f.status == "pre-existing" and f is g]
    assert kept, "no finding was marked once"
    shared = [(a, b) for (a, b, f) in zip(one.report.findings, two.report.findings,
                                          one.assessment.findings, strict=True)
              if a is b and f.status == "pre-existing"]
    assert len(shared) == len(kept)
