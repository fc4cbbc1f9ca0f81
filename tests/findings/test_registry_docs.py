"""The rule registry and docs/rules.md, generated from it."""

import re
from pathlib import Path

from ovnguard.findings.docs import render_markdown
from ovnguard.findings.finding import Severity
from ovnguard.findings.registry import all_rules

DOCS = Path(__file__).resolve().parents[2] / "docs" / "rules.md"

EXPECTED = {
    "mgmt-bridge-localnet": Severity.high,
    "l2-loop": Severity.critical,
    "address-conflict": Severity.high,
    "ip-on-ovs-port": Severity.high,
    "mgmt-bridge-secure-no-controller": Severity.high,
    "bridge-hwaddr-unpinned": Severity.low,
    "control-plane-via-provider-bridge": Severity.high,
    "unmapped-physnet": Severity.medium,
    "mapping-missing-bridge": Severity.medium,
    "malformed-bridge-mappings": Severity.high,
    "neutron-config-drift": Severity.medium,
    "neutron-out-of-band": Severity.medium,
    "controller-transaction-fails": Severity.high,
    # Raised from the change step by ovnguard.assess (tests/cli/test_check.py).
    "unsupported-command": Severity.medium,
    "change-rejected": Severity.medium,
    "unknown-host": Severity.medium,
    "undefined-variable": Severity.medium,
    # Host changes line by line (findings/rules/hostchange.py, test_rules_hostchange.py).
    "host-cut-off": Severity.critical,
    "default-route-lost": Severity.high,
    "bridge-mac-moves": Severity.medium,
    "ip-on-enslaved-link": Severity.high,
}


def test_registry_holds_every_rule_with_a_stable_id() -> None:
    rules = all_rules()
    assert {r.id: r.spec.severity for r in rules} == EXPECTED
    for r in rules:
        s = r.spec
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", s.id)
        assert s.title and s.why and s.example and s.group and s.remediation_template
        # Every template field must be fillable: the checks pass exactly these names.
        s.remediation_template.format(**{f: "x" for f in s.fields()})


def test_docs_are_in_sync_with_the_registry() -> None:
    assert DOCS.read_text() == render_markdown(), (
        "docs/rules.md is stale: run `python -m ovnguard.findings.docs > docs/rules.md`")


def test_docs_document_every_rule_and_the_verdict() -> None:
    text = DOCS.read_text()
    for rid in EXPECTED:
        assert f"### `{rid}`" in text
    for word in ("dangerous", "risky", "safe", "introduced", "pre-existing", "resolved"):
        assert f"`{word}`" in text or f"**{word}**" in text
