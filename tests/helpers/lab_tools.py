"""Helpers for the rehearsal tests: export a real lab as a bundle, and find processes of a
lab that were left running."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from helpers.proc_tools import processes_mentioning
from ovnguard.lab import Lab, Topology
from ovnguard.lab.export import export_bundle

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples" / "topologies"
SEED_SWITCH = "neutron-5f1c9d2e-8a7b-4c3d-9e0f-1a2b3c4d5e6f"
SEED_PROVNET = "provnet-0b7e4f1a-2c3d-4e5f-8a9b-c0d1e2f3a4b5"
NEEDED = (
    "ovsdb-server",
    "ovsdb-tool",
    "ovs-vswitchd",
    "ovn-northd",
    "ovn-controller",
    "ovn-nbctl",
    "ovsdb-client",
)


@dataclass(frozen=True)
class Exported:
    """A bundle and what the lab it came from looked like when it was exported."""

    bundle: Path
    ports: dict[str, dict[str, list[str]]]  # host -> bridge -> ports (lab.chassis_ports)




def export_lab(
    topology: Topology, dest: Path, prepare: Callable[[Lab], None] | None = None
) -> Exported:
    run_dir = dest.parent / (dest.name + "-lab")
    lab = Lab.up(topology, run_dir)
    try:
        if prepare is not None:
            prepare(lab)
            lab.wait_hv()
        export_bundle(lab, dest)
        ports = {h: lab.chassis_ports(h) for h in lab.host_names()}
    finally:
        lab.down()
    assert processes_mentioning(run_dir) == []
    return Exported(dest, ports)
