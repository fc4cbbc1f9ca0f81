"""Which command lines of a long change may run as one transaction, and whose rows are whose.

Each command line is its own transaction, and the real ovn-nbctl pays for every transaction
in proportion to the whole database (it rebuilds its name caches per run): 10,000 separate
`lsp-add` lines on one switch take minutes, the same lines `--`-chained into one invocation
well under three seconds. So in a change longer than `apply.MAX_STEPS` lines -- where the
states in between are already only checked every k-th line -- consecutive lines that would
give the same result chained are run as one invocation of the tool (`ovn-nbctl A -- B -- C`),
one group per checked step at most, so the states that are checked are exactly the states
the line-by-line run passes through.

The same result: chained commands see most effects of the commands before them in the same
transaction, like a later line sees an earlier line's commit -- but not all. ovn-nbctl 23.03
adds a port to its switch as a partial set update, which later commands of the same
transaction do not see in the switch's port list: `lsp-set-addresses` then misses a
duplicate address on a port added earlier in the group (measured: two lines giving two new
ports one address fail line by line, and pass chained), and `lsp-add` with a parent and tag
allocates tags from that list. So only the verbs in `GROUP_VERBS`, each held against the
line-by-line run by tests/change/test_change_batch.py, are grouped; every other line runs as
its own transaction, exactly as before. And lines are grouped only where nothing else differs:
- ovn-nbctl only, on the Northbound copy (ovs-vsctl lines run one by one: chaining them is
  not held against the line-by-line run yet, and a host's database is small);
- no global option left after the executor's own (`--dry-run`, `--bare`, ... run alone);
- no `--id=@name` and no `@name` reference (the names would be shared in one transaction);
- nothing the tool refuses to parse.
If a group fails, nothing of it was committed: it is split in halves and each half run again,
down to the single line that fails, which then fails exactly as on its own -- with the tool's
own message, attributed to its line -- and the lines after it run against the state before it.

Whose rows: one transaction gives one set of row changes for the whole group. Each changed
row is given to the lines of the group that name it (its name or uuid is one of the line's
words: `lsp-add sw p1` names the switch sw and the port p1); a row no line names (a root
row's reference set, a port deleted with its switch) to every line of the group. The report
says so in its notes.
"""

from __future__ import annotations

from collections.abc import Sequence

from ovnguard.change.model import Invocation
from ovnguard.change.syntax import EXECUTOR_DROPS, strip_global_options
from ovnguard.model.db import RowChange

# verb -> the most positional arguments a grouped command may have (`lsp-add SWITCH PORT`,
# not `lsp-add SWITCH PORT PARENT TAG`, which allocates a tag from the switch's port list).
GROUP_VERBS: dict[str, dict[str, int]] = {
    "ovn-nbctl": {"ls-add": 1, "lr-add": 1, "lsp-add": 2, "lsp-del": 1, "lsp-set-type": 2,
                  "lsp-set-options": 99, "lsp-set-enabled": 2},
}
# One group is one request to the tool: stay far below any message or argv limit.
MAX_GROUP_BYTES = 256 * 1024


def groupable(inv: Invocation) -> bool:
    """Whether `inv` gives the same result chained with its neighbours as on its own."""
    verbs = GROUP_VERBS.get(inv.tool)
    if verbs is None or inv.syntax_error is not None or inv.unsupported:
        return False
    if not inv.commands or any(k.lstrip("-") not in EXECUTOR_DROPS
                               for k, _ in inv.global_options):
        return False
    for c in inv.commands:
        if len(c.args) > verbs.get(c.verb, -1) or any(k == "--id" for k, _ in c.options):
            return False
        if any(a.startswith("@") or "=@" in a for a in c.args):
            return False
    return True


def group_words(invs: Sequence[Invocation]) -> list[str]:
    """The argv (after the program name) that runs `invs` chained, as one transaction."""
    words: list[str] = []
    for inv in invs:
        own = strip_global_options(inv.argv, EXECUTOR_DROPS)
        while own and own[0] == "--":
            own = own[1:]
        if own:
            if words:
                words.append("--")
            words.extend(own)
    return words


def plan_groups(invs: Sequence[Invocation], every: int) -> list[list[Invocation]]:
    """Consecutive runs of `invs` to execute together: never across a checked step (after
    every `every`-th line), never mixing tools or hosts, lines that must run alone alone."""
    if every <= 1:
        return [[inv] for inv in invs]
    out: list[list[Invocation]] = []
    cur: list[Invocation] = []
    size = 0

    def close() -> None:
        nonlocal cur, size
        if cur:
            out.append(cur)
        cur, size = [], 0

    for k, inv in enumerate(invs):
        if not groupable(inv):
            close()
            out.append([inv])
        else:
            nbytes = sum(len(w) + 1 for w in inv.argv)
            if cur and (cur[0].tool != inv.tool or cur[0].host != inv.host
                        or size + nbytes > MAX_GROUP_BYTES):
                close()
            cur.append(inv)
            size += nbytes
        if k % every == every - 1:
            close()
    close()
    return out


def attribute(invs: Sequence[Invocation], changes: Sequence[RowChange]
              ) -> list[tuple[RowChange, ...]]:
    """Per line of a group run as one transaction: the changed rows it names (those the
    fewest lines name first), then the rows no line of the group names."""
    keys: dict[str, list[int]] = {}
    for i, c in enumerate(changes):
        row = c.after if c.after is not None else c.before
        u = str(c.uuid)
        for k in {row.name if row is not None else "", u, u[:8]} - {""}:
            keys.setdefault(k, []).append(i)
    named: list[set[int]] = []
    claims = [0] * len(changes)
    for inv in invs:
        mine = {i for w in inv.argv for i in keys.get(w, ())}
        for i in mine:
            claims[i] += 1
        named.append(mine)
    orphans = [i for i in range(len(changes)) if not claims[i]]
    # the rows the fewest lines name first: a line's first row is what its evidence in the
    # report stands on (the port `lsp-add sw p1` adds, not the switch every line touches)
    return [tuple(changes[i] for i in [*sorted(mine, key=lambda i: (claims[i], i)), *orphans])
            for mine in named]
