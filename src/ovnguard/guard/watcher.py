"""The dead-man switch: a detached process that applies the change, keeps probing, and rolls
back at the deadline or at the first failed probe unless `ovnguard confirm` came first.

    python -m ovnguard.guard.watcher --detach [--resume | --keeper] GUARD_DIR

`--detach`: a new session, forked once more so it is nobody's child (not the CLI's: killing
the CLI, closing the terminal, losing the SSH session do not touch it); stdin and stdout are
/dev/null and the log file (set up by `launch`). It talks to the database through the remote
the guard was given — on the NB host that should be the local unix socket, which keeps
working when the network does not.

The watcher, not the CLI, runs the tool: so the change can never be applied without a
watcher to take it back, whatever happens to the CLI in between. `--keeper` is the small
process the first watcher starts beside itself: when the watcher dies (kill -9, OOM) while
the guard is still open, it starts `--resume`, the next generation, which takes the guard
over where it was (recover.py).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

from ovnguard.i18n import _

MODES = {"--resume": "resume", "--keeper": "keeper"}


def launch(path: Path, mode: str = "run", wait: bool = True) -> None:
    """Start a detached watcher (or keeper) for the guard in `path`; returns once the
    launcher has forked it away (`wait`), or at once (the launcher is reaped by a thread:
    the first watcher does not delay the apply for its keeper)."""
    from ovnguard.guard import faultpoints, ovsdb, trust
    from ovnguard.guard.state import GuardError

    flags = [f for f, m in MODES.items() if m == mode]
    env = ovsdb.tool_env()
    if mode != "run":
        env.pop(faultpoints.ENV, None)  # fault points stop the first generation only
    log = trust.open_file(path / "watcher.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    try:
        p = subprocess.Popen(
            [sys.executable, "-m", "ovnguard.guard.watcher", "--detach", *flags, str(path)],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
            close_fds=True, cwd="/", env=env,
        )
    finally:
        os.close(log)
    # The launcher forks the real process and exits at once.
    if not wait:
        threading.Thread(target=p.wait, name="reap-launcher", daemon=True).start()
        return
    try:
        p.wait(timeout=30)
    except subprocess.TimeoutExpired:
        p.kill()
        raise GuardError(_(
            "the {mode} watcher did not start (launcher hung)").format(
            mode=mode), 3) from None


def _daemonize() -> None:
    # The CLI started us with start_new_session=True; fork once more and let the session
    # leader exit, so we can never re-acquire a controlling terminal and the CLI reaps its
    # child at once.
    if os.fork() > 0:
        os._exit(0)


def main(argv: list[str]) -> int:
    args = [a for a in argv if a != "--detach" and a not in MODES]
    modes = [MODES[a] for a in argv if a in MODES]
    if len(args) != 1 or len(modes) > 1:
        print("usage: python -m ovnguard.guard.watcher [--detach] [--resume|--keeper] "
              "GUARD_DIR", file=sys.stderr)
        return 2
    if "--detach" in argv:
        _daemonize()
    os.umask(0o077)
    from ovnguard.guard.run import Watcher
    from ovnguard.guard.state import GuardError

    try:
        w = Watcher.at(args[0])
    except GuardError as e:
        print(f"ovnguard watcher: {e}; not started", file=sys.stderr)
        return 2
    return w.main(modes[0] if modes else "run")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
