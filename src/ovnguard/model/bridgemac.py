"""A bridge's MAC: the one it has now, and the one ovs-vswitchd would give it.

The two can differ. ovs-vswitchd (vswitchd/bridge.c, bridge_pick_local_hw_addr) gives a
bridge without `other_config:hwaddr` the lowest universal unicast MAC among its NICs, but what
a host shows is the truth about that host: the data-plane lab's userspace datapath kept a
random MAC on br-ex beside a NIC with a universal one. So "now" is what the host's link shows
(what the LAN's ARP caches know), and the computed one is used only where the ports the rule
looks at change. One definition, for the rules, the plans and the what-if.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ovnguard.model.ovs import KERNEL_NIC_TYPES

if TYPE_CHECKING:
    from ovnguard.model.host import HostView

RANDOM = "random"  # no NIC qualifies: ovs-vswitchd keeps a random local MAC


def current_mac(v: HostView, bridge: str) -> str | None:
    """The MAC `bridge` has now: its link (link.json, or addr.json's link part), else its
    own interface's mac_in_use from the Open_vSwitch DB; None when neither was collected."""
    for link in v.state.links or ():
        if link.ifname == bridge and link.address:
            return link.address.lower()
    br = v.bridges.get(bridge)
    iface = br.interface(bridge) if br is not None else None
    return iface.mac_in_use.lower() if iface is not None and iface.mac_in_use else None


def nic_ports(v: HostView, bridge: str) -> frozenset[str]:
    """The interfaces whose MACs ovs-vswitchd chooses from (system NICs, not the bridge's
    own port, internal ports, tunnels or patch ports)."""
    br = v.bridges.get(bridge)
    if br is None:
        return frozenset()
    out: set[str] = set()
    for port in br.ports:
        if not port.interfaces:
            continue
        iface = min(port.interfaces, key=lambda i: i.name)
        if iface.name != bridge and iface.type in KERNEL_NIC_TYPES:
            out.add(iface.name)
    return frozenset(out)


def vswitchd_mac(v: HostView, bridge: str) -> str | None:
    """The MAC ovs-vswitchd gives `bridge`: other_config:hwaddr, else the lowest universal
    unicast MAC of its NICs (RANDOM when none); None when a NIC's MAC is not known."""
    br = v.bridges.get(bridge)
    if br is None:
        return None
    if br.hwaddr:
        return br.hwaddr.lower()
    macs: list[str] = []
    for name in sorted(nic_ports(v, bridge)):
        iface = br.interface(name)
        link = next((x for x in v.state.links or () if x.ifname == name), None)
        mac = (iface.mac_in_use if iface is not None else None) or (
            link.address if link is not None else None)
        if mac is None:
            return None
        macs.append(mac.lower())
    macs = [m for m in macs if _is_universal_unicast(m)]
    return min(macs, key=lambda m: bytes.fromhex(m.replace(":", ""))) if macs else RANDOM


def _is_universal_unicast(mac: str) -> bool:
    try:
        first = int(mac.split(":")[0], 16)
    except ValueError:
        return False
    return not first & 0x03 and mac.replace(":", "").strip("0") != ""


def mac_after(before: HostView, after: HostView, bridge: str) -> str | None:
    """`bridge`'s MAC in `after`, a later state of the host seen in `before`: a pinned
    hwaddr is applied; otherwise it stays what it is now unless what ovs-vswitchd computes
    changed (a NIC with a lower MAC joined, the NIC it took its MAC from left, the pin was
    removed), when it becomes the new computed one."""
    br_after = after.bridges.get(bridge)
    if br_after is None:
        return None
    if br_after.hwaddr:
        return br_after.hwaddr.lower()
    computed = vswitchd_mac(after, bridge)
    if computed == vswitchd_mac(before, bridge):
        return current_mac(before, bridge) or computed
    return computed


def mac_to_pin(v: HostView, bridge: str) -> str | None:
    """The MAC a plan pins `bridge` to (other_config:hwaddr) so it never moves: the one it
    has now, else the one ovs-vswitchd computes (never a random one); None if unknown."""
    mac = current_mac(v, bridge) or vswitchd_mac(v, bridge)
    return None if mac == RANDOM else mac
