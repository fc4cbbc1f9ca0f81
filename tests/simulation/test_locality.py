"""`LinkIndex.local` is the closure of the datapaths a chassis binds over the links followed
on every chassis and those followed on this chassis only (a gateway chassis' redirect and
l3gateway links), whatever the graph: held to a plain walk over both kinds of link."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from ovnguard.simulation.locality import LinkIndex

DPS = [f"dp{i}" for i in range(12)]
edges = st.lists(st.tuples(st.sampled_from(DPS), st.sampled_from(DPS)), max_size=30)


def index(always: list[tuple[str, str]], conditional: list[tuple[str, str]]) -> LinkIndex:
    # (the graph as LinkIndex.__init__ classifies a predicted SB's links into it)
    ix = LinkIndex.__new__(LinkIndex)
    ix.always, ix.conditional, ix.warns = {}, {"gw": list(conditional)}, set()
    for a, b in always:
        ix.always.setdefault(a, []).append(b)
    ix._reach, ix._shared, ix._unions = {}, {}, {}
    return ix


def walk(always: list[tuple[str, str]], conditional: list[tuple[str, str]],
         roots: list[str]) -> set[str]:
    seen, stack = set(roots), list(roots)
    while stack:
        dp = stack.pop()
        for a, b in (*always, *conditional):
            if a == dp and b not in seen:
                seen.add(b)
                stack.append(b)
    return seen


@settings(max_examples=300, deadline=None)
@given(always=edges, conditional=edges,
       roots=st.lists(st.sampled_from(DPS), max_size=4, unique=True))
def test_local_is_the_closure_over_both_kinds_of_link(
        always: list[tuple[str, str]], conditional: list[tuple[str, str]],
        roots: list[str]) -> None:
    ix = index(always, conditional)
    assert set(ix.local(roots, "gw") or ()) == walk(always, conditional, roots)
    # another chassis follows only the links every chassis follows
    assert set(ix.local(roots, "other") or ()) == walk(always, [], roots)
    # the memoized reaches, asked again, give the same
    assert set(ix.local(roots, "gw") or ()) == walk(always, conditional, roots)
