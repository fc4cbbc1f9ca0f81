"""The console script is `console_main`: in its own process `check` is one piece of work
(ovnguard.oneshot: the collector freezes, no copy kept for a later what-if); `main()` run
inside a longer-lived process (the tests' in-process runs) leaves that process as it is."""

from __future__ import annotations

import sys

import pytest

from ovnguard import oneshot
from ovnguard.cli import console_main, main


def _run(entry: object, argv: list[str], monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(sys, "argv", ["ovnguard", *argv])
    with pytest.raises(SystemExit) as e:
        entry()  # type: ignore[operator]
    return int(e.value.code or 0)


def test_main_in_process_never_makes_the_process_one_shot(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(oneshot, "_one_shot", False)
    assert _run(main, ["check", "--bundle", "/nonexistent"], monkeypatch) == 2
    assert not oneshot.is_one_shot()


def test_the_console_script_makes_check_one_shot_and_only_check(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(oneshot, "_one_shot", False)
    assert _run(console_main, ["--version"], monkeypatch) == 0
    assert not oneshot.is_one_shot()
    assert _run(console_main, ["check", "--bundle", "/nonexistent"], monkeypatch) == 2
    assert oneshot.is_one_shot()  # monkeypatch puts it back for the rest of the session
