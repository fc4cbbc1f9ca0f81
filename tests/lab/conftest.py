"""Fixtures that start real labs (NB/SB, northd, chassis) in tmp_path and always stop them."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from helpers.proc_tools import processes_mentioning
from ovnguard.lab import Lab, Topology, seed_topology
from ovnguard.lab.layout import RunLayout

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples" / "topologies"
NEEDED = ("ovsdb-server", "ovsdb-tool", "ovs-vswitchd", "ovn-northd", "ovn-controller", "ovn-nbctl")

LabFactory = Callable[..., Lab]


def _require_binaries() -> None:
    missing = [b for b in NEEDED if shutil.which(b) is None]
    if missing:
        pytest.skip(f"needs the OVS/OVN Debian packages ({', '.join(missing)} missing)")




def runtime_leftovers(path: Path) -> list[Path]:
    """Sockets, pidfiles and control sockets left in a run dir."""
    out = []
    for p in path.rglob("*"):
        if p.is_socket() or p.suffix in (".pid", ".ctl", ".sock"):
            out.append(p)
    return out


@pytest.fixture
def lab_factory(tmp_path: Path) -> Iterator[LabFactory]:
    """`lab_factory(topology=None, name="lab", timeout=60)` starts a lab in tmp_path/name.
    Every lab started (or half started) is stopped at teardown, pass or fail."""
    _require_binaries()
    dirs: list[Path] = []

    def make(topology: Topology | None = None, name: str = "lab", timeout: float = 60.0) -> Lab:
        run_dir = tmp_path / name
        dirs.append(run_dir)
        return Lab.up(topology or seed_topology(3), run_dir, timeout=timeout)

    yield make
    for d in dirs:
        Lab.down_dir(d)
        assert processes_mentioning(d) == [], f"daemons left running for {d}"


@pytest.fixture
def seed_lab(lab_factory: LabFactory) -> Lab:
    """The 3-host seed cluster (controller, network, compute1), up and in sync."""
    return lab_factory()


@pytest.fixture
def run_layout(tmp_path: Path) -> RunLayout:
    return RunLayout.at(tmp_path / "lab")
