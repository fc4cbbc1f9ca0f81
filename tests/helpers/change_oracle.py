"""Hold `apply_change` against the real ovn-nbctl / ovs-vsctl on a real ovsdb-server.

The same change file runs twice from the same database file: through ovnguard's model, and
line by line through the real tool on a copy of the file. Both must end in the same database
(compared row by row, references resolved to the rows they point at, uuids ignored) and the
same invocations must fail, with ovnguard's message equal to the tool's stderr.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from helpers.real_db import SCHEMAS, RealDb
from ovnguard.change import (
    Change,
    ChangeResult,
    Executor,
    ModelExecutor,
    apply_change,
    parse_change,
)
from ovnguard.model.db import Database, Uuid
from ovnguard.model.snapshot import HostState, Snapshot
from ovnguard.sources.ovsdb_file import read_database

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def canonical(db: Database) -> dict[str, list[str]]:
    """Every table as a sorted list of row descriptions with references spelled out."""
    schema = db.schema

    def atom(a: object, ref_table: str | None, depth: int) -> object:
        if isinstance(a, Uuid) and ref_table:
            return row_form(ref_table, a, depth + 1)
        return a

    def row_form(table: str, uuid: str, depth: int) -> object:
        row = db.row(table, uuid)
        if row is None:
            return ("<dangling>", table)
        if depth > 6:
            return ("<deep>", table, row.name)
        out = []
        for col, ctype in sorted(schema.tables[table].columns.items()):
            v = row.get(col, ctype.default())
            if isinstance(v, dict):
                items = sorted(
                    (
                        repr(atom(k, ctype.ref_table, depth)),
                        repr(atom(x, ctype.value_ref_table, depth)),
                    )
                    for k, x in v.items()
                )
                out.append((col, tuple(items)))
            elif isinstance(v, tuple):
                out.append((col, tuple(sorted(repr(atom(x, ctype.ref_table, depth)) for x in v))))
            else:
                out.append((col, repr(atom(v, ctype.ref_table, depth))))
        return tuple(out)

    return {
        t: sorted(repr(row_form(t, r.uuid, 0)) for r in db.rows(t))
        for t in sorted(schema.tables)
        if db.count(t)
    }


def normalize_message(msg: str) -> str:
    # Trailing blanks are not compared: the executor strips the tool's error text, and the
    # real ovn-nbctl ends some with a space (`lrp-set-redirect-type lrp1 ''` says "Invalid
    # redirect type: " -- found by the property test).
    return _UUID.sub("<uuid>", msg).rstrip()


@dataclass
class RealRun:
    returncode: int
    message: str  # the last stderr line ("ovn-nbctl: ..."), "" on success


def run_real(db: RealDb, argv: tuple[str, ...]) -> RealRun:
    _, prog = SCHEMAS[db.kind]
    r = subprocess.run(
        [prog, f"--db=unix:{db.sock}", *argv], capture_output=True, text=True, timeout=30
    )
    lines = [ln for ln in r.stderr.splitlines() if ln.startswith(f"{prog}: ")]
    return RealRun(r.returncode, lines[-1] if lines else "")


@dataclass
class Comparison:
    change: Change
    result: ChangeResult
    real: list[RealRun]
    model_failed: set[int]
    real_failed: set[int]
    model_messages: dict[int, str]
    real_messages: dict[int, str]
    model_db: dict[str, list[str]]
    real_db: dict[str, list[str]]

    def assert_same(self) -> None:
        assert self.model_failed == self.real_failed, self.explain()
        assert self.model_messages == self.real_messages, self.explain()
        assert self.model_db == self.real_db, self.explain()

    def explain(self) -> str:
        lines = []
        for inv, real in zip(self.change.invocations, self.real, strict=True):
            ours = self.model_messages.get(inv.index, "")
            lines.append(f"  {inv.expanded}\n    real: rc={real.returncode} {real.message!r}"
                         f"\n    ours: {ours!r}")
        for t in sorted(set(self.model_db) | set(self.real_db)):
            if self.model_db.get(t) != self.real_db.get(t):
                lines.append(f"  table {t} differs:\n    real: {self.real_db.get(t)}\n"
                             f"    ours: {self.model_db.get(t)}")
        return "\n".join(lines)


def compare(
    db_file: Path,
    kind: str,
    text: str,
    workdir: Path,
    host: str = "compute1",
    executor: Executor | None = None,
) -> Comparison:
    """Apply `text` to a snapshot of `db_file` (NB or one host's conf.db) and to a copy of
    `db_file` with the real tool; return both outcomes. `executor` is the one held against the
    real tool: the model by default, or the real-tool executor (then what is compared is the
    round trip: copy of the model's database, transaction records read back)."""
    base = read_database(db_file)
    if kind == "nb":
        snapshot = Snapshot(base, None, {})
    else:
        snapshot = Snapshot(_empty_nb(workdir), None, {host: HostState(host, ovs=base)})
    change = parse_change(text, "change.sh", default_host=host)
    assert not change.problems, change.problems
    result = apply_change(snapshot, change, executor or ModelExecutor())
    model_messages = {
        p.invocation: normalize_message(p.message)
        for p in result.problems
        if p.kind == "rejected" and p.invocation is not None
    }
    unexpected = [p for p in result.problems if p.kind != "rejected"]
    assert not unexpected, unexpected

    copy = workdir / f"real-{db_file.name}"
    shutil.copyfile(db_file, copy)
    real: list[RealRun] = []
    with RealDb(copy, kind) as db:
        _wait_ready(db)
        for inv in change.invocations:
            real.append(run_real(db, inv.argv))
        backup = db.backup(workdir / f"after-{db_file.name}")
    after = result.snapshot.nb if kind == "nb" else result.snapshot.hosts[host].ovs
    assert after is not None
    return Comparison(
        change,
        result,
        real,
        {a.invocation for a in result.applied if a.status == "failed"},
        {i for i, r in enumerate(real) if r.returncode != 0},
        model_messages,
        {i: normalize_message(r.message) for i, r in enumerate(real) if r.returncode != 0},
        canonical(after),
        canonical(read_database(backup)),
    )


def _wait_ready(db: RealDb) -> None:
    # The socket file exists from bind(); connections are refused until listen(). A refused
    # connection would look like a failed command, so wait until the server answers.
    deadline = time.monotonic() + 10
    while True:
        r = subprocess.run(["ovsdb-client", "list-dbs", f"unix:{db.sock}"],
                           capture_output=True, timeout=10)
        if r.returncode == 0:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"ovsdb-server on {db.sock} does not answer")
        time.sleep(0.01)


_EMPTY_NB: dict[Path, Database] = {}


def _empty_nb(workdir: Path) -> Database:
    path = workdir / "empty-nb.db"
    if path not in _EMPTY_NB:
        subprocess.run(["ovsdb-tool", "create", str(path), SCHEMAS["nb"][0]], check=True)
        _EMPTY_NB[path] = read_database(path)
    return _EMPTY_NB[path]

