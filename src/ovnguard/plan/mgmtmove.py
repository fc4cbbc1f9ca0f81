"""The host half of NIC separation: the management address leaves the OVS bridge for its own
NIC, with the bridge's MAC pinned first (the seed incident's fix, written there as netplan).

Two steps, after the physical network has its own bridge (nicsep.py steps 1-2), so the old
bridge no longer carries a logical switch when its NIC leaves:

3. **pin the bridge's MAC**: `ovs-vsctl set Bridge B other-config:hwaddr=MAC` with the MAC
   it has now. Without it ovs-vswitchd re-computes the bridge's MAC from its remaining ports
   the moment the NIC leaves (the lowest MAC of its NICs, else a random one): the bridge's
   MAC would change under whatever still talks to it.
4. **move the address and the default route to the NIC**, in ONE typed line joined by `&&`
   (the what-if checks it as one unit, and its parts follow each other within milliseconds):
   `ovs-vsctl del-port B NIC && ip addr del A dev B && ip addr add A dev NIC && ip link set
   NIC up && ip route replace default via GW dev NIC`. The NIC keeps its own MAC, which is
   the bridge's old one when it was the bridge's only NIC (so the LAN's ARP caches stay
   right). A host over SSH loses a few packets, not its session: run it under
   `ovnguard apply` on the host, which restores address, routes and port if it is cut off.

Not planned (a note says why): a bridge with several NICs or a bond (which one is the
management NIC is a decision), a bridge still mapped to another physical network (it needs
its wire), a management address the host model cannot place on the bridge.
"""

from __future__ import annotations

from ovnguard.model.bridgemac import mac_to_pin
from ovnguard.model.host import HostView
from ovnguard.plan.ctlargs import map_entry
from ovnguard.plan.model import AND, Step, Words
from ovnguard.simulation.mappings import named_entries


def _joined(*lines: Words) -> Words:
    out: list[str] = []
    for ln in lines:
        if out:
            out.append(AND)
        out += ln
    return tuple(out)


def management_steps(v: HostView, physnet: str, nic: str, notes: list[str]) -> list[Step]:
    """Steps 3-4 for this host (empty, with a note, when the address is not on a bridge or
    cannot be moved safely)."""
    m = v.management
    if m is None or m.bridge is None or m.ifname != m.bridge or m.prefixlen is None:
        return []  # not on a bridge's own port: nothing to move
    bridge = m.bridge
    br = v.bridges.get(bridge)
    if br is None:
        return []
    nics = [n.name for n in br.nics]
    if len(nics) != 1 or nics[0] == nic:
        notes.append(f"{m.cidr} stays on {bridge}: it has {len(nics)} NICs "
                     f"({', '.join(nics) or 'none'}); choose the management NIC and move the "
                     "address by hand")
        return []
    mnic = nics[0]
    port = br.port_of(mnic)
    if port is not None and len(port.interfaces) > 1:
        notes.append(f"{m.cidr} stays on {bridge}: {mnic} is in bond {port.name}")
        return []
    others = [n for n, b in named_entries(v.mappings_raw) if b == bridge and n != physnet]
    if others:
        notes.append(f"{m.cidr} stays on {bridge}: {', '.join(others)} still map to it and "
                     f"need its NIC {mnic}")
        return []
    gws = [r for r in v.main_routes() if r.dst == "default" and r.dev == bridge]
    gw = gws[0].gateway if gws else None
    steps: list[Step] = []
    mac = mac_to_pin(v, bridge)
    if br.hwaddr:
        pass  # already pinned
    elif mac is None:
        notes.append(f"{bridge}'s MAC is not known (no link.json): pin it by hand with "
                     f"`ovs-vsctl set Bridge {bridge} other-config:hwaddr=MAC` before step "
                     "moving the address")
    else:
        steps.append(Step(
            f"pin {bridge}'s MAC ({mac}) before {mnic} leaves it",
            f"ovs-vswitchd gives a bridge the lowest MAC of its NICs unless other-config:"
            f"hwaddr is set: when {mnic} leaves {bridge} its MAC would change (bridge-hwaddr-"
            "unpinned). Pinned first, nothing that still talks to the bridge sees a new MAC",
            (("ovs-vsctl", "set", "Bridge", bridge, map_entry("other_config", "hwaddr", mac)),),
            (("ovs-vsctl", "remove", "Bridge", bridge, "other_config", "hwaddr"),)))
    cidr = m.cidr
    move: list[Words] = [
        ("ovs-vsctl", "del-port", bridge, mnic),
        ("ip", "addr", "del", cidr, "dev", bridge),
        ("ip", "addr", "add", cidr, "dev", mnic),
        ("ip", "link", "set", mnic, "up"),
    ]
    back: list[Words] = [
        ("ip", "addr", "del", cidr, "dev", mnic),
        ("ovs-vsctl", "add-port", bridge, mnic),
        ("ip", "addr", "add", cidr, "dev", bridge),
        ("ip", "link", "set", bridge, "up"),
    ]
    if gw:
        move.append(("ip", "route", "replace", "default", "via", gw, "dev", mnic))
        back.append(("ip", "route", "replace", "default", "via", gw, "dev", bridge))
    else:
        notes.append(f"no default route via {bridge} was collected: add the one {v.name} "
                     f"needs on {mnic} in step moving the address")
    moved = [r for r in v.main_routes()
             if r.dev == bridge and r.dst != "default" and r.gateway is not None]
    if moved:
        notes.append("routes via " + bridge + " not moved by the plan: "
                     + ", ".join(f"{r.dst} via {r.gateway}" for r in moved)
                     + f"; add them on {mnic} in the same line")
    steps.append(Step(
        f"move the management address {cidr}" + (" and the default route" if gw else "")
        + f" from {bridge} to {mnic}, which leaves {bridge}",
        f"the fix of the incident: management on a NIC of its own, outside OVS, so no "
        f"logical switch can ever be bridged onto it. One line joined by `&&`: {mnic} is "
        f"out of {bridge} and holds the address within milliseconds, the default route "
        f"follows. Run it under `ovnguard apply` on {v.name}: if {v.name} is cut off, the "
        "guard restores the address, the routes and the port",
        (_joined(*move),), (_joined(*back),)))
    return steps
