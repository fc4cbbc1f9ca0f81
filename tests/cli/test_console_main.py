"""The console script is `console_main`: in its own process `check` is one piece of work
(ovnguard.oneshot: the collector freezes, no copy kept for a later what-if); `main()` run
inside a longer-lived process (the tests' in-process runs) leaves that process as it is."""

from __future__ import annotations

import os
import signal
import sys

import pytest

from ovnguard import cli, oneshot
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


def test_the_console_script_puts_back_the_signal_handlers_it_replaced(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(oneshot, "_one_shot", False)

    def ours(_signo: int, _frame: object) -> None:
        pass

    before = (signal.signal(signal.SIGTERM, ours), signal.signal(signal.SIGHUP, ours))
    try:
        assert _run(console_main, ["--version"], monkeypatch) == 0
        assert signal.getsignal(signal.SIGTERM) is ours
        assert signal.getsignal(signal.SIGHUP) is ours
    finally:
        signal.signal(signal.SIGTERM, before[0])
        signal.signal(signal.SIGHUP, before[1])


def test_sigterm_unwinds_the_console_script_but_kills_a_child_forked_from_it(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # pyroute2 reads another namespace in a forked child and stops it with SIGTERM; had the
    # child unwound, it would have run the parent's cleanup and then the parent's work
    monkeypatch.setattr(cli, "_owner_pid", os.getpid())
    before = signal.signal(signal.SIGTERM, cli._terminated)
    try:
        pid = os.fork()
        if pid == 0:
            try:
                os.kill(os.getpid(), signal.SIGTERM)
                os._exit(0)  # survived the signal: wrong
            except BaseException:
                os._exit(3)  # unwound: wrong
        _, status = os.waitpid(pid, 0)
        assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGTERM, status
        with pytest.raises(cli.Terminated) as e:
            os.kill(os.getpid(), signal.SIGTERM)
        assert e.value.signo == signal.SIGTERM
    finally:
        signal.signal(signal.SIGTERM, before)
