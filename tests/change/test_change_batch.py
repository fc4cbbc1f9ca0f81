"""Lines chained into one transaction of the real ovn-nbctl (change/batch.py) give the answer
the line-by-line run gives, and keep the number of real-tool runs of a long change bounded.

Held against the real tools on copies of the seed bundle: the same random change runs with
groups and line by line; statuses, problems, the database after, and the checked steps must
be the same (uuids ignored: the tool draws them at random).
"""

from __future__ import annotations

import random
from importlib.resources import files
from pathlib import Path

import pytest

from helpers.change_oracle import canonical
from ovnguard.change import apply as apply_mod
from ovnguard.change import parse_change
from ovnguard.change.apply import MAX_STEPS, run_change
from ovnguard.change.batch import GROUP_VERBS, attribute, groupable, plan_groups
from ovnguard.change.model import ChangeResult
from ovnguard.change.realtools import RealBackend
from ovnguard.change.tools import find_tools
from ovnguard.model.snapshot import Snapshot
from ovnguard.sources.bundle import load_bundle

pytestmark = pytest.mark.realdb

SEED = Path(str(files("ovnguard") / "examples" / "seed" / "bundle"))
PUBLIC = "neutron-5f1c9d2e-8a7b-4c3d-9e0f-1a2b3c4d5e6f"


@pytest.fixture(scope="module")
def seed() -> Snapshot:
    return load_bundle(SEED)


def run(snapshot: Snapshot, text: str, grouped: bool = True) -> tuple[ChangeResult, int]:
    with RealBackend(find_tools()) as backend:
        if not grouped:
            backend.runs_groups = False  # type: ignore[misc]
        r = run_change(snapshot, parse_change(text, "change.sh"), backend)
        return r, backend.runs


def random_line(rng: random.Random) -> str:
    switch = rng.choice(["sw0", "sw1", PUBLIC, "nosuch"])
    port = rng.choice(["p0", "p1", "p2", "p3", "vm-1"])
    return rng.choice([
        f"ovn-nbctl ls-add {switch}",
        f"ovn-nbctl --may-exist ls-add {switch}",
        f"ovn-nbctl lr-add r{rng.randint(0, 2)}",
        f"ovn-nbctl lsp-add {switch} {port}",
        f"ovn-nbctl --may-exist lsp-add {switch} {port}",
        f"ovn-nbctl lsp-del {port}",
        f"ovn-nbctl --if-exists lsp-del {port}",
        f"ovn-nbctl lsp-set-type {port} {rng.choice(['localnet', 'router', '', 'bogus'])}",
        f"ovn-nbctl lsp-set-options {port} network_name=physnet{rng.randint(1, 2)}",
        f"ovn-nbctl lsp-set-enabled {port} {rng.choice(['enabled', 'disabled', 'maybe'])}",
        f"ovn-nbctl lsp-add {switch} {port} -- lsp-set-type {port} localnet",
        # not groupable: run alone between groups
        f"ovn-nbctl lsp-set-addresses {port} '00:00:00:00:00:0{rng.randint(1, 3)} 10.9.9.9'",
        f"ovn-nbctl --id=@x create Logical_Switch name={switch}x",
        f"ovn-nbctl lsp-add {switch} {port} && ovn-nbctl ls-add after-{port}",
    ]) + "\n"


def same(a: ChangeResult, b: ChangeResult) -> None:
    assert [(x.invocation, x.status in ("applied", "unchanged"), x.status == "failed")
            for x in a.applied] == \
        [(x.invocation, x.status in ("applied", "unchanged"), x.status == "failed")
         for x in b.applied]
    assert [(p.kind, p.location.line, p.message) for p in a.problems] == \
        [(p.kind, p.location.line, p.message) for p in b.problems]
    assert canonical(a.snapshot.nb) == canonical(b.snapshot.nb)
    assert len(a.steps) == len(b.steps)
    for x, y in zip(a.steps, b.steps, strict=True):
        assert canonical(x.nb) == canonical(y.nb)


@pytest.mark.parametrize("seed_no", range(12))
def test_grouped_lines_give_the_line_by_line_answer(seed: Snapshot, seed_no: int,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(seed_no)
    text = "".join(random_line(rng) for _ in range(40))
    # few checked steps, so the groups are long (up to 10 lines) in a 40-line change
    monkeypatch.setattr(apply_mod, "MAX_STEPS", 4)
    grouped, _ = run(seed, text)
    alone, _ = run(seed, text, grouped=False)
    same(grouped, alone)
    assert any("chained" in n for n in grouped.notes)
    assert not any("chained" in n for n in alone.notes)


def test_duplicate_address_in_one_group_still_fails_its_line(seed: Snapshot,
                                                            monkeypatch: pytest.MonkeyPatch
                                                            ) -> None:
    # chained, the real ovn-nbctl misses this duplicate: lsp-set-addresses is never grouped
    text = (f"ovn-nbctl lsp-add {PUBLIC} a -- lsp-set-addresses a '00:00:00:00:00:01 10.9.9.9'\n"
            f"ovn-nbctl lsp-add {PUBLIC} b -- lsp-set-addresses b '00:00:00:00:00:02 10.9.9.9'\n")
    monkeypatch.setattr(apply_mod, "MAX_STEPS", 1)
    r, _ = run(seed, text)
    assert [a.status for a in r.applied] == ["applied", "failed"]
    assert "duplicate IPv4 address" in r.problems[0].message


def test_lines_run_alone_where_chaining_would_differ() -> None:
    c = parse_change(
        f"ovn-nbctl lsp-add {PUBLIC} a\n"
        f"ovn-nbctl lsp-set-addresses a 'fa:16:3e:00:00:01 10.0.0.9'\n"
        f"ovn-nbctl lsp-add {PUBLIC} a parent 0\n"
        "ovn-nbctl --id=@x create Logical_Switch name=x\n"
        "ovn-nbctl --dry-run ls-add y\n"
        "ovn-nbctl ls-add z\n"
        "# host: compute1\novs-vsctl add-br br-x\n", "c.sh")
    assert [groupable(i) for i in c.invocations] == [True, False, False, False, False, True,
                                                     False]
    assert set(GROUP_VERBS) == {"ovn-nbctl"}


def test_groups_never_cross_a_checked_step() -> None:
    c = parse_change("".join(f"ovn-nbctl ls-add s{i}\n" for i in range(10)), "c.sh")
    groups = plan_groups(c.invocations, 4)
    assert [[i.index for i in g] for g in groups] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]


def test_rows_go_to_the_lines_that_name_them(seed: Snapshot) -> None:
    text = "".join(f"ovn-nbctl lsp-add {PUBLIC} q{i}\n" for i in range(3))
    c = parse_change(text, "c.sh")
    with RealBackend(find_tools()) as backend:
        out = backend.execute_group(list(c.invocations), seed.nb, ("nb",))
    assert out.changes is not None
    per_line = attribute(c.invocations, out.changes)
    for i, mine in enumerate(per_line):
        names = {(ch.table, (ch.after or ch.before).name) for ch in mine  # type: ignore[union-attr]
                 if ch.table == "Logical_Switch_Port"}
        assert names == {("Logical_Switch_Port", f"q{i}")}
        assert ("Logical_Switch", PUBLIC) in {(ch.table, ch.after.name) for ch in mine
                                              if ch.after is not None}


# -- the cost of a long change, counted: real-tool runs and checked states are O(lines) ----

def test_a_long_change_runs_the_real_tool_a_bounded_number_of_times(seed: Snapshot) -> None:
    n = 2000
    text = "".join(f"ovn-nbctl lsp-add {PUBLIC} vm{i} -- lsp-set-type vm{i} router\n"
                   for i in range(n))
    r, runs = run(seed, text)
    assert {a.status for a in r.applied} == {"applied"}
    assert len(r.snapshot.nb.tables["Logical_Switch_Port"]) == \
        len(seed.nb.tables["Logical_Switch_Port"]) + n
    assert runs <= MAX_STEPS  # one transaction per checked step, not one per line
    assert len(r.steps) <= MAX_STEPS


def test_a_failing_line_in_a_long_change_costs_a_few_runs_more(seed: Snapshot) -> None:
    n = 2000
    lines = [f"ovn-nbctl lsp-add {PUBLIC} vm{i}\n" for i in range(n)]
    lines[1234] = "ovn-nbctl lsp-add nosuch-switch vmX\n"
    r, runs = run(seed, "".join(lines))
    failed = [a.location.line for a in r.applied if a.status == "failed"]
    assert failed == [1235]
    assert "nosuch-switch" in r.problems[0].message
    group = -(-n // MAX_STEPS)
    assert runs <= MAX_STEPS + 2 * group.bit_length() + 2  # halving down to the one line


def test_a_long_change_names_a_bounded_number_of_lines_per_finding(seed: Snapshot) -> None:
    from ovnguard.assess import assess
    from ovnguard.change.executor import RealToolExecutor
    from ovnguard.findings.verdict import CHAIN_LINES
    from ovnguard.report.assemble import CAUSE_LINES

    n = 600
    text = "".join(f"ovn-nbctl lsp-add {PUBLIC} vm{i} -- lsp-set-type vm{i} router\n"
                   for i in range(n))
    w = assess(seed, parse_change(text, "c.sh"), RealToolExecutor(find_tools()))
    introduced = [f for f in w.report.findings if f.status == "introduced"]
    assert len(introduced) >= n  # one per port the change adds outside Neutron
    for f in introduced:
        assert 1 <= len(f.change_lines) <= CAUSE_LINES
    by_port = {f.key: f for f in introduced}
    # the port's own line comes first, before the lines that only share its switch
    vm7 = next(f for k, f in by_port.items() if k.endswith("vm7"))
    assert 8 in vm7.change_lines
    for f in w.assessment.findings:
        if f.status == "introduced":
            assert sum(e.source.startswith("change:") for e in f.chain) <= CHAIN_LINES
    vm300 = next(f for f in w.assessment.findings if f.key.endswith("vm300"))
    assert "change:301" in {e.source for e in vm300.chain}


def test_a_chain_names_the_rarest_rows_lines_first_and_counts_the_rest() -> None:
    from ovnguard.findings.verdict import CHAIN_LINES, _ByRow
    from ovnguard.model.evidence import Evidence

    lines = [Evidence(f"line {i}", f"change:{i}", "Logical_Switch", "sw") for i in range(1, 101)]
    lines.insert(50, Evidence("line p", "change:p", "Logical_Switch_Port", "p"))
    picked, total = _ByRow(lines).pick({"sw", "p"}, set(), CHAIN_LINES)
    assert total == 101 and len(picked) == CHAIN_LINES
    assert picked[-1].source == "change:p"  # kept, in its place in the change's order
    assert [e.source for e in picked[:-1]] == [f"change:{i}" for i in range(1, CHAIN_LINES)]


def test_a_schema_the_real_server_refuses_makes_lines_unknown(tmp_path: Path) -> None:
    # found by the big fuzz run: a mangled refTable in nb.db's schema was a traceback
    import shutil

    b = tmp_path / "b"
    shutil.copytree(SEED, b)
    raw = (b / "nb.db").read_bytes()
    (b / "nb.db").write_bytes(raw.replace(b'"refTable":"Address_Set"',
                                          b'"refTable":"AddreQs_Set"', 1))
    snap = load_bundle(b)
    r, _ = run(snap, f"ovn-nbctl ls-add x\novn-nbctl lsp-add {PUBLIC} p\n")
    assert [a.status for a in r.applied] == ["unsupported", "unsupported"]
    assert all("would not load a copy" in p.message for p in r.problems)
