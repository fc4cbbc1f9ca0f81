"""Predict what ovn-controller (OVN 23.03 semantics) realizes on each chassis.

`realize(snapshot)` -> `Realization` (per host: local datapaths, wanted patch ports, events,
each with its chain of evidence); `realization_delta(before, after, before_r, after_r)` ->
per host `HostDelta` (patch ports added, removed at once, left stale until a recompute);
`realization_steps(snapshots)` for a change made of several transactions.
See docs/simulation.md for the semantics and their sources.
"""

from ovnguard.simulation.mappings import BridgeMappings, MappingProblem, parse_bridge_mappings
from ovnguard.simulation.northd import Binding, Datapath, PredictedSouthbound, predict_southbound
from ovnguard.simulation.realize import (
    OVN_VERSION,
    realization_delta,
    realization_steps,
    realize,
)
from ovnguard.simulation.types import (
    ControllerEvent,
    HostDelta,
    HostRealization,
    PatchPort,
    Realization,
)

__all__ = [
    "OVN_VERSION",
    "Binding",
    "BridgeMappings",
    "ControllerEvent",
    "Datapath",
    "HostDelta",
    "HostRealization",
    "MappingProblem",
    "PatchPort",
    "PredictedSouthbound",
    "Realization",
    "parse_bridge_mappings",
    "predict_southbound",
    "realization_delta",
    "realization_steps",
    "realize",
]
