"""ovnguard.gcpause: the collector is off inside a paused stretch and back on after it; in a
one-shot process (the CLI's `check`) what the stretch made is frozen, elsewhere it is not."""

from __future__ import annotations

import gc

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
