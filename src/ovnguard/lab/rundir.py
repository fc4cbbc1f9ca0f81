"""A lab's run directory: claiming it, locking it, cleaning its runtime files. Shared by the
dummy-datapath lab and the data-plane lab, so `lab up`/`lab down` of either never race."""

from __future__ import annotations

import contextlib
import fcntl
import shutil
import stat
from collections.abc import Iterator, Sequence
from pathlib import Path

from ovnguard.errors import LabError
from ovnguard.i18n import _
from ovnguard.lab.layout import RunLayout, first_existing

RUNTIME_SUFFIXES = (".pid", ".ctl", ".sock", ".mgmt", ".snoop", ".tmp")


def schema_path(candidates: tuple[str, ...], package: str) -> str:
    found = first_existing(candidates)
    if found is None:
        raise LabError(
            _(
            "{value} not found: install the Debian package {package} (apt-get install "
            "openvswitch-switch ovn-central ovn-host)").format(
            value=candidates[0], package=package)
        )
    return found


@contextlib.contextmanager
def locked(layout: RunLayout) -> Iterator[None]:
    """Serialise up/down on one run dir (two `lab up` racing would kill each other's work)."""
    if not layout.root.is_dir():
        # Nothing there to protect (and nothing to create: down must not leave a dir behind).
        yield
        return
    with layout.lock.open("a") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise LabError(
                _(
                "another ovnguard is starting or stopping the lab in {root}").format(
                root=layout.root)
            ) from None
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def claim_run_dir(layout: RunLayout) -> None:
    """Create the run dir, or accept an existing one only if it is empty or already a lab's.
    Checked before anything is written there: a user's directory stays untouched."""
    root = layout.root
    if root.exists() and not root.is_dir():
        raise LabError(_(
            "run dir {root} exists and is not a directory").format(
            root=root))
    if root.is_dir() and not layout.marker.exists() and any(root.iterdir()):
        raise LabError(
            _(
            "run dir {root} is not empty and holds no lab ({name} missing); refusing to delete "
            "anything there — pick another --run-dir").format(
            root=root, name=layout.marker.name)
        )
    root.mkdir(parents=True, exist_ok=True)
    layout.marker.write_text("This directory is an ovnguard lab run dir.\n")


def refuse_running_lab(layout: RunLayout, live: Sequence[int], message: str) -> None:
    """A lab whose daemons (`live`: their pids) still run in the run dir is never replaced:
    LabError. `message`: the translated "... {root} ({count} daemons, e.g. pid {value}) ...",
    each lab's own, as each says how to stop it."""
    if live:
        raise LabError(message.format(root=layout.root, count=len(live), value=live[0]))


def empty_run_dir(layout: RunLayout) -> None:
    """Delete everything in a claimed run dir but its lock (held by the caller) and its
    marker (it stays a lab's run dir). Called once no daemon of a lab there is left."""
    keep = {layout.lock.name, layout.marker.name}
    for p in layout.root.iterdir():
        if p.name in keep:
            continue
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p)
        else:
            p.unlink()


def remove_runtime_files(root: Path) -> None:
    if not root.is_dir():
        return
    for p in root.rglob("*"):
        try:
            mode = p.lstat().st_mode
        except FileNotFoundError:
            continue
        if stat.S_ISSOCK(mode) or (stat.S_ISREG(mode) and p.name.endswith(RUNTIME_SUFFIXES)):
            with contextlib.suppress(FileNotFoundError):
                p.unlink()
