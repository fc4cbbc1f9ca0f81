"""Whether this process does one piece of work and exits (`ovnguard check`: load, judge,
print), set by the console script (`cli.console_main`), never by `cli.main` run inside
another process. Long-lived holders of a loaded model -- the guard's daemons, a
test session, a library caller asking what-if after what-if -- keep the default, where
memory is given back and what a later what-if re-uses is kept. What changes in a one-shot
process: the collector freezes what each paused stretch made (ovnguard.gcpause) and the copy
of a snapshot written for the real tools is not kept for a later what-if that never comes
(sources/ovsdb_file.write_database: 130 MB at 200k ports).
"""

from __future__ import annotations

_one_shot = False


def one_shot_process() -> None:
    global _one_shot
    _one_shot = True


def is_one_shot() -> bool:
    return _one_shot
