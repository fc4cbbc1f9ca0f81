"""Host rules (`registry.host_rule`: a check that reads one host's view only) keep their
findings on the view, which the states before and after a change share for every host the
change leaves alone: a what-if on a loaded model checks again only the hosts it changes,
and its assessment is the one the bundle read afresh gives."""

from __future__ import annotations

from pathlib import Path

import pytest

from ovnguard.assess import assess
from ovnguard.change.executor import default_executor
from ovnguard.change.parse import parse_change
from ovnguard.findings import registry
from ovnguard.model.host import host_views
from ovnguard.sources.bundle import load_bundle

pytestmark = pytest.mark.realdb

SEED = Path(__file__).resolve().parents[2] / "src" / "ovnguard" / "examples" / "seed" / "bundle"
# one host's OVS changes (a bridge more); NB changes too, which no host rule reads
CHANGE = """\
# host: compute1
ovs-vsctl add-br br-test
ovn-nbctl ls-add tmp1
"""


def test_host_rules_recheck_only_the_hosts_a_change_touches() -> None:
    keys = [f"rule.{r.id}" for r in registry.all_rules() if r.per_host is not None]
    assert {"rule.ip-on-ovs-port", "rule.bridge-hwaddr-unpinned",
            "rule.control-plane-via-provider-bridge"} <= set(keys)
    s0 = load_bundle(SEED)
    warm = assess(s0, None)  # the loaded model: every host checked once
    before = host_views(s0)
    for v in before.values():
        assert all(k in v.__dict__["_memo"] for k in keys), v.name
    change = parse_change(CHANGE, "c.sh")
    w = assess(s0, change, default_executor(), baseline=warm.baseline)
    assert w.change_result is not None
    after = host_views(w.change_result.snapshot)
    # compute1's view is new (checked again); every other host's is the one checked before
    assert [h for h in after if after[h] is not before[h]] == ["compute1"]
    # ... and the assessment is the one a fresh read of the bundle gives, every host checked
    f = assess(load_bundle(SEED), change, default_executor())
    assert w.assessment == f.assessment
    assert w.report == f.report
