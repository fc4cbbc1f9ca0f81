"""ovnguard.gcpause: the collector is off inside a paused stretch and back on after it; in a
one-shot process (the CLI's `check`) what the stretch made is frozen, elsewhere it is not,
and a stretch that made a large part of the heap ends with one full collection."""

from __future__ import annotations

import gc
import sys

import pytest

from ovnguard import gcpause, oneshot


def test_paused_then_back_on_without_freezing_by_default() -> None:
    assert gc.isenabled()
    frozen = gc.get_freeze_count()
    with gcpause.gc_paused():
        assert not gc.isenabled()
        with gcpause.gc_paused():  # nested: left as it is
            assert not gc.isenabled()
        assert not gc.isenabled()
        kept = [[i] for i in range(1000)]
    assert gc.isenabled() and gc.get_freeze_count() == frozen and kept


def test_a_one_shot_process_freezes_what_the_stretch_made(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(oneshot, "_one_shot", False)
    oneshot.one_shot_process()
    try:
        with gcpause.gc_paused():
            made = [[i] for i in range(1000)]
        assert gc.isenabled() and gc.get_freeze_count() >= 1000 and made
    finally:
        gc.unfreeze()  # this test session is not one-shot: let the collector see them again


def _collections_at_exit(make: int) -> list[int]:
    """The generations collected when a paused stretch that made `make` containers ends
    (and by the first allocation after it), in a process that is not one-shot."""
    seen: list[int] = []

    def cb(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            seen.append(info["generation"])

    gc.collect()  # the test session's own garbage out of the way
    gc.callbacks.append(cb)
    try:
        with gcpause.gc_paused():
            made = [[i] for i in range(make)]
            seen.clear()
        after = [[i] for i in range(10)]  # the first allocations after the stretch
    finally:
        gc.callbacks.remove(cb)
    assert made and after
    return seen


def test_a_stretch_that_made_much_of_the_heap_is_settled_by_one_full_collection(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Loading a model or its first assessment: one full collection when the stretch ends,
    not a young collection over all of it at the next allocation (which was the first
    what-if's) and a full one later."""
    monkeypatch.setattr(oneshot, "_one_shot", False)
    monkeypatch.setattr(gcpause, "SETTLE_MIN", 20_000)
    # each [i] is ~3 memory blocks (the list, its items, the int): a quarter of the blocks
    # the process holds is well over the share once they are made
    big = max(20_000, sys.getallocatedblocks() // 4)
    assert _collections_at_exit(big) == [2]
    # above the floor but a small share of a large heap (a what-if on a loaded model): the
    # collector as usual
    monkeypatch.setattr(gcpause, "SETTLE_MIN", 1_000)
    assert sys.getallocatedblocks() > 5_000 * gcpause.SETTLE_SHARE * 2  # (the test session's)
    assert 2 not in _collections_at_exit(5_000)


def test_below_the_floor_nothing_is_settled(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(oneshot, "_one_shot", False)
    monkeypatch.setattr(sys, "getallocatedblocks", lambda: 0)  # any share of the heap
    assert 2 not in _collections_at_exit(gcpause.SETTLE_MIN // 2)
