"""Fixtures that start data-plane labs (a network namespace per host, OVS on the userspace
datapath) in tmp_path and always tear them down, pass or fail."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ovnguard.lab import netns
from ovnguard.lab.dataplane import REGISTRY_DIR, DataplaneLab, lab_id_for

NEEDED = (
    "ovsdb-server",
    "ovsdb-tool",
    "ovs-vswitchd",
    "ovn-northd",
    "ovn-controller",
    "ovn-nbctl",
    "ping",
)

DataplaneFactory = Callable[..., DataplaneLab]
Leftovers = Callable[[Path], list[str]]


def _require() -> None:
    reason = netns.why_unavailable()
    if reason:
        pytest.skip(reason)
    missing = [b for b in NEEDED if shutil.which(b) is None]
    if missing:
        pytest.skip(f"needs the OVS/OVN/iputils Debian packages ({', '.join(missing)} missing)")


def leftovers(run_dir: Path) -> list[str]:
    """Everything a torn-down lab must not leave, found without asking the lab: namespaces
    named after its id, processes mentioning its run dir, sockets and pidfiles, its cpu
    cgroup and its registry entry."""
    lab_id = lab_id_for(run_dir)
    names = sorted(os.listdir("/run/netns")) if os.path.isdir("/run/netns") else []
    found = [f"netns {n}" for n in names if f"-{lab_id}-" in n]
    token = (str(run_dir.absolute()) + os.sep).encode()
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            raw = Path(f"/proc/{entry.name}/cmdline").read_bytes()
            state = Path(f"/proc/{entry.name}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if token in raw and state != "Z":
            argv = raw.replace(b"\0", b" ")[:120].decode(errors="replace")
            found.append(f"process {entry.name}: {argv}")
    if run_dir.is_dir():
        for p in run_dir.rglob("*"):
            if p.is_socket() or p.suffix in (".pid", ".ctl", ".sock"):
                found.append(f"file {p}")
    for cg in (Path("/sys/fs/cgroup/cpu"), Path("/sys/fs/cgroup")):
        if (cg / f"ovnguard-{lab_id}").exists():
            found.append(f"cgroup {cg / f'ovnguard-{lab_id}'}")
    if (REGISTRY_DIR / f"{lab_id}.json").exists():
        found.append(f"registry {REGISTRY_DIR / f'{lab_id}.json'}")
    return found


@pytest.fixture
def dp_leftovers() -> Leftovers:
    return leftovers


@pytest.fixture
def dataplane_factory(tmp_path: Path) -> Iterator[DataplaneFactory]:
    """`dataplane_factory(topology=None, name="dp", **up_kwargs)` starts a data-plane lab
    in tmp_path/name; every lab started (or half started) is torn down at teardown."""
    _require()
    dirs: list[Path] = []

    def make(topology: Any = None, name: str = "dp", **kwargs: Any) -> DataplaneLab:
        run_dir = tmp_path / name
        dirs.append(run_dir)
        return DataplaneLab.up(topology, run_dir, **kwargs)

    yield make
    for d in dirs:
        DataplaneLab.down_dir(d)
        assert leftovers(d) == [], f"left behind by the lab in {d}"
