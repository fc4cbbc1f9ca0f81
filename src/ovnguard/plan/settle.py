"""What the hosts' Open_vSwitch databases look like once every ovn-controller has reacted.

A change file edits NB and the hosts' OVS databases; ovn-controller then creates and deletes
its patch ports in those same OVS databases. Applying a change (`apply_change`) gives the
first half only. A plan needs the second half too: its later steps (and its rollback) run on
hosts where ovn-controller has already moved the ports -- the rollback's `del-port br-public
patch-...` deletes a port that only ovn-controller made.

`settle(before, after)` writes the simulation's prediction (`realization_delta`) into the
OVS databases, as the one ovs-vsctl transaction per host that ovn-controller's patch_run()
makes (patch.c create_patch_port(): a Port and an Interface of type patch with options:peer,
and the `ovn-localnet-port` / `ovn-l2gateway-port` external_id on the Port). A host whose
transaction the simulation predicts to fail (a name clash, see simulation/patchrun.py) gets
nothing, exactly like the real host.
"""

from __future__ import annotations

from ovnguard.change.apply import apply_change
from ovnguard.change.parse import parse_change
from ovnguard.model.host import HostView
from ovnguard.model.ovs import PATCH_OWNER_KEY_BY_TYPE
from ovnguard.model.snapshot import Snapshot
from ovnguard.plan.model import line_text
from ovnguard.record import record
from ovnguard.simulation.realize import realization_delta
from ovnguard.simulation.types import HostDelta, PatchPort, Realization


@record
class Settled:
    snapshot: Snapshot
    deltas: dict[str, HostDelta]
    problems: tuple[str, ...] = ()  # the model refused what ovn-controller would write


def _peer(pp: PatchPort, br_int: str) -> str:
    if pp.port == f"patch-{br_int}-to-{pp.lport}":
        return f"patch-{pp.lport}-to-{br_int}"
    return f"patch-{br_int}-to-{pp.lport}"


def _lport_key(snapshot: Snapshot, lport: str) -> str:
    row = snapshot.nb.find_one("Logical_Switch_Port", lport)
    typ = str(row.get("type", "")) if row is not None else ""
    return PATCH_OWNER_KEY_BY_TYPE.get(typ, PATCH_OWNER_KEY_BY_TYPE["localnet"])


def controller_writes(snapshot: Snapshot, deltas: dict[str, HostDelta]) -> str:
    """The change-file text of what ovn-controller writes on each host for `deltas`."""
    lines: list[str] = []
    for host, d in sorted(deltas.items()):
        state = snapshot.hosts.get(host)
        if state is None or state.ovs is None or not (d.added or d.removed):
            continue
        br_int = HostView(state).integration_bridge
        words: list[str] = ["ovs-vsctl"]
        for pp in d.removed:
            words += ["--if-exists", "del-port", pp.bridge, pp.port, "--"]
        for pp in d.added:
            key = _lport_key(snapshot, pp.lport)
            words += ["add-port", pp.bridge, pp.port, "--",
                      "set", "Interface", pp.port, "type=patch",
                      f"options:peer={_peer(pp, br_int)}", "--",
                      "set", "Port", pp.port, f"external_ids:{key}={pp.lport}", "--"]
        lines += [f"# host: {host}", line_text(tuple(words[:-1]))]
    return "\n".join(lines) + "\n" if lines else ""


def settle(before: Snapshot, after: Snapshot, before_r: Realization | None = None,
           after_r: Realization | None = None) -> Settled:
    """`after` with each host's patch ports as ovn-controller leaves them once it has
    reacted to the difference from `before` (which must already be settled)."""
    deltas = realization_delta(before, after, before_r, after_r)
    text = controller_writes(after, deltas)
    if not text:
        return Settled(after, deltas)
    result = apply_change(after, parse_change(text, "ovn-controller"))
    problems = tuple(str(p) for p in result.problems)
    return Settled(result.snapshot, deltas, problems)
