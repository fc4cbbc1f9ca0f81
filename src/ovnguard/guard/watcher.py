"""The dead-man switch: a detached process that applies the change, keeps probing, and rolls
back at the deadline or at the first failed probe unless `ovnguard confirm` came first.

    python -m ovnguard.guard.watcher --detach GUARD_DIR

`--detach`: a new session, forked once more so it is nobody's child (not the CLI's: killing
the CLI, closing the terminal, losing the SSH session do not touch it); stdin and stdout are
/dev/null and the log file (the CLI sets that up when starting us). It talks to the database
through the remote the guard was given — on the NB host that should be the local unix
socket, which keeps working when the network does not.

The watcher, not the CLI, runs the tool: so the change can never be applied without a
watcher to take it back, whatever happens to the CLI in between.
"""

from __future__ import annotations

import os
import sys


def _daemonize() -> None:
    # The CLI started us with start_new_session=True; fork once more and let the session
    # leader exit, so we can never re-acquire a controlling terminal and the CLI reaps its
    # child at once.
    if os.fork() > 0:
        os._exit(0)


def main(argv: list[str]) -> int:
    args = [a for a in argv if a != "--detach"]
    if len(args) != 1:
        print("usage: python -m ovnguard.guard.watcher [--detach] GUARD_DIR", file=sys.stderr)
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
    return w.main()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
