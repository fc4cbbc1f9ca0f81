"""Fixtures for the rehearsal tests: bundles exported from real labs, once per session.

Not a conftest.py: tests/lab's modules import `conftest` by name, and a second conftest
module would shadow theirs depending on collection order. Test modules load this one with
`pytest_plugins = ("helpers.lab_fixtures",)`."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from helpers.lab_tools import EXAMPLES, NEEDED, Exported, export_lab
from ovnguard.lab import load_topology, seed_topology

REHEARSE_DATA = Path(__file__).resolve().parents[1] / "lab" / "rehearse" / "data"


def _require_binaries() -> None:
    missing = [b for b in NEEDED if shutil.which(b) is None]
    if missing:
        pytest.skip(f"needs the OVS/OVN Debian packages ({', '.join(missing)} missing)")


@pytest.fixture(scope="session")
def seed_bundle(tmp_path_factory: pytest.TempPathFactory) -> Exported:
    """`lab export` of the seed cluster (controller, network, compute1)."""
    _require_binaries()
    return export_lab(seed_topology(3), tmp_path_factory.mktemp("seed") / "bundle")


@pytest.fixture(scope="session")
def router_bundle(tmp_path_factory: pytest.TempPathFactory) -> Exported:
    """`lab export` of examples/topologies/seed-router.yaml (gateway chassis: network)."""
    _require_binaries()
    return export_lab(
        load_topology(EXAMPLES / "seed-router.yaml"),
        tmp_path_factory.mktemp("router") / "bundle",
    )


@pytest.fixture
def copy_bundle(tmp_path: Path) -> Callable[[Exported], Path]:
    """A private copy of a session bundle, for tests that edit it."""

    def make(src: Exported) -> Path:
        dest = tmp_path / "bundle-copy"
        shutil.copytree(src.bundle, dest)
        return dest

    return make


@pytest.fixture(scope="session")
def uuid_bundle(tmp_path_factory: pytest.TempPathFactory) -> Exported:
    """`lab export` of data/gateway-uuid.yaml: host gw registers with a UUID system-id."""
    _require_binaries()
    return export_lab(
        load_topology(REHEARSE_DATA / "gateway-uuid.yaml"),
        tmp_path_factory.mktemp("uuid") / "bundle",
    )
