"""The change-time rules (findings.registry.change_rule): unsupported-command, change-rejected,
unknown-host, undefined-variable, and unmapped-physnet for a physnet only a refused line names.

Each change is read by the product's parser and applied by the default executor (the real
ovn-nbctl / ovs-vsctl against copies of real databases), as `ovnguard check` does."""

from pathlib import Path

import pytest

from helpers.rules_cluster import NEUTRON_PUB, ctx, host, incident_ovs, nb, snapshot
from ovnguard.change.executor import default_executor
from ovnguard.change.parse import parse_change
from ovnguard.findings.context import ChangeContext
from ovnguard.findings.finding import Finding, Severity
from ovnguard.findings.registry import get_rule, run_change_rules
from ovnguard.model.snapshot import Snapshot

pytestmark = pytest.mark.realdb


def _cluster(tmp_path: Path) -> Snapshot:
    return snapshot(nb(tmp_path, NEUTRON_PUB), [
        host(tmp_path, "compute1", incident_ovs("compute1")),
        host(tmp_path, "compute2", incident_ovs("compute2")),
    ])


def _run(rule: str, snap: Snapshot, text: str) -> list[Finding]:
    change = parse_change(text, "change.sh", default_host="compute1")
    result = default_executor().apply(snap, change)
    found = run_change_rules(ChangeContext(change, result, ctx(snap, label="before")))
    assert all(f.status == "introduced" for f in found)  # they belong to the change
    # over a snapshot, a change-time rule finds nothing
    if rule != "unmapped-physnet":
        assert get_rule(rule).check(ctx(snap)) == []
    return [f for f in found if f.rule == rule]


# The seed's snippet as pasted: the placeholder switch name, and a typo in the physnet.
SEED_LINE = ("ovn-nbctl lsp-add 'neutron-<provider-network-UUID>' ln-phynet2 "
             "-- lsp-set-type ln-phynet2 localnet "
             "-- lsp-set-options ln-phynet2 network_name=phynet2\n")


def test_change_rejected_positive_placeholder_switch(tmp_path: Path) -> None:
    (f,) = _run("change-rejected", _cluster(tmp_path), SEED_LINE)
    assert f.severity == Severity.medium and f.hosts == ()
    assert f.key.startswith("change.sh:1:rejected:")
    assert "switch name not found" in f.summary
    assert f.remediation.startswith("Fix the line")
    assert "Nothing of a refused line is applied" in f.remediation
    assert [e.source for e in f.evidence] == ["change:1", "change:1"]


def test_change_rejected_negative_existing_switch(tmp_path: Path) -> None:
    text = "ovn-nbctl lsp-add neutron-pub ln-x -- lsp-set-type ln-x localnet\n"
    assert _run("change-rejected", _cluster(tmp_path), text) == []


def test_unsupported_command_positive_pipe(tmp_path: Path) -> None:
    (f,) = _run("unsupported-command", _cluster(tmp_path), "ovn-nbctl show | grep pub\n")
    assert f.key.startswith("change.sh:1:unsupported-command:")
    assert "shell operator '|' is not supported" in f.summary
    assert "ovnguard rehearse" in f.remediation


def test_unsupported_command_negative(tmp_path: Path) -> None:
    assert _run("unsupported-command", _cluster(tmp_path), "ovn-nbctl ls-add sw9\n") == []


def test_undefined_variable_positive(tmp_path: Path) -> None:
    (f,) = _run("undefined-variable", _cluster(tmp_path), "ovn-nbctl lsp-add ${LS} ln-x\n")
    assert "undefined variable $LS" in f.summary and f.summary.startswith("line 1:")


def test_undefined_variable_negative(tmp_path: Path) -> None:
    text = "LS=neutron-pub\novn-nbctl lsp-add ${LS} ln-x\n"
    assert _run("undefined-variable", _cluster(tmp_path), text) == []


def test_unknown_host_positive(tmp_path: Path) -> None:
    text = "# host: compute9\novs-vsctl add-port br-ex eth2\n"
    (f,) = _run("unknown-host", _cluster(tmp_path), text)
    assert "host compute9 is not in the bundle" in f.summary
    assert "hosts known: compute1, compute2" in f.remediation


def test_unknown_host_negative(tmp_path: Path) -> None:
    text = "# host: compute2\novs-vsctl --may-exist add-br br-public\n"
    assert _run("unknown-host", _cluster(tmp_path), text) == []


def test_unmapped_physnet_positive_named_by_a_refused_line(tmp_path: Path) -> None:
    # The line is refused (placeholder switch), so NB never holds phynet2: only the
    # change-time check can say the name is wrong too.
    (f,) = _run("unmapped-physnet", _cluster(tmp_path), SEED_LINE)
    assert f.key == "change:1:phynet2" and f.hosts == ()
    assert "did you mean physnet2?" in f.summary
    assert "network_name=physnet2" in f.remediation
    assert f.evidence[-1].fact == "physical networks mapped by the chassis: physnet2"


def test_unmapped_physnet_negative_mapped_or_applied(tmp_path: Path) -> None:
    snap = _cluster(tmp_path)
    refused_but_mapped = SEED_LINE.replace("phynet2", "physnet2")
    assert _run("unmapped-physnet", snap, refused_but_mapped) == []
    # an applied line: NB holds it and the snapshot rule judges it, not the change-time one
    applied = SEED_LINE.replace("'neutron-<provider-network-UUID>'", "neutron-pub")
    assert _run("unmapped-physnet", snap, applied) == []
