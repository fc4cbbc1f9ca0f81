"""`Database.changed_rows(base, table)`: from the edits a replayed transaction records
(`edited_from`, chained over a change's lines) it names exactly the rows that comparing
every row names -- on a change the real ovn-nbctl makes, line by line."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from ovnguard.change.executor import default_executor
from ovnguard.change.parse import parse_change
from ovnguard.sources.bundle import load_bundle

pytestmark = pytest.mark.realdb

SEED = Path(__file__).resolve().parents[2] / "src" / "ovnguard" / "examples" / "seed" / "bundle"
# separate lines: separate transactions, so the state after is edited from the one before
# in steps (a row inserted then deleted, one edited twice)
CHANGE = """\
ovn-nbctl ls-add tmp1 -- lsp-add tmp1 p1 -- lsp-add tmp1 p2
ovn-nbctl lsp-set-addresses p1 unknown
ovn-nbctl lsp-del p2
ovn-nbctl lsp-set-options p1 a=b
ovn-nbctl ls-add tmp2
ovn-nbctl ls-del tmp2
"""


def test_changed_rows_from_the_edits_equal_a_full_comparison() -> None:
    s0 = load_bundle(SEED)
    result = default_executor().apply(s0, parse_change(CHANGE, "c.sh"))
    after = result.snapshot.nb
    assert after.edited_from is not None  # made by replaying what the tool committed
    scanned = replace(after, edited_from=None)  # the same rows, no record of the edits
    for table in after.schema.tables:
        got = after.changed_rows(s0.nb, table)
        assert got == scanned.changed_rows(s0.nb, table), table
    # tmp1 and p1; p2 and tmp2 came and went, and so are in neither
    tmp1, p1 = after.find_one("Logical_Switch", "tmp1"), after.find_one("Logical_Switch_Port",
                                                                        "p1")
    assert tmp1 is not None and p1 is not None
    assert after.changed_rows(s0.nb, "Logical_Switch") == {tmp1.uuid}
    assert after.changed_rows(s0.nb, "Logical_Switch_Port") == {p1.uuid}
    assert after.changed_rows(after, "Logical_Switch_Port") == set()
