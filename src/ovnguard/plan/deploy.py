"""A plan's change in the deployment tool's own terms, so the next deploy keeps it.

`ovs-vsctl set Open_vSwitch . external_ids:ovn-bridge-mappings=...` by hand is undone by the
next run of whatever deployed the host: kolla-ansible, OpenStack-Ansible and EDPM set the
key on every run, the ovn-chassis charm on every config change, ovnkube-node at start
(sources/flavors.py says which and from what). So beside the ovs-vsctl steps the plan says
the same end state as that tool's variables, and warns on each host whose tool owns a key
the plan edits by hand. Host NICs and bridge MAC pinning are said as netplan YAML (or as
os-net-config, which TripleO/EDPM use instead): `openvswitch: other-config: hwaddr`
becomes `ovs-vsctl set Bridge B other-config:hwaddr=...` when netplan applies it.

Everything is derived from the plan's end state (the plan's own lines applied to the
bundle, as the what-if does), host by host; hosts with the same values share one output.
The variable names were checked against the tools' sources (docs/plan.md cites them).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import field, replace
from typing import Any

import yaml

from ovnguard.change.apply import apply_change
from ovnguard.change.parse import parse_change
from ovnguard.model.host import HostView
from ovnguard.model.ovs import OvsBridge
from ovnguard.model.snapshot import IpRoute, Snapshot
from ovnguard.plan.model import DeployChange, Plan
from ovnguard.plan.verify import combined_plan
from ovnguard.record import record
from ovnguard.simulation.mappings import named_entries
from ovnguard.sources.flavors import BY_ID, Detection

# ovn-kubernetes' own entry (go-controller/pkg/types/const.go PhysicalNetworkName): the only
# one ovnkube-node rewrites; other entries of the key are kept by it.
OVNK_PHYSNET = "physnet"


@record
class _HostEnd:
    """What a host's plan changes, read from before / after."""

    host: str
    entries: tuple[tuple[str, str], ...]  # mapping entries after the plan, in order
    mappings_changed: bool
    uplinks: dict[str, tuple[str, ...]]  # mapped bridge -> its NICs after the plan
    changed_bridges: dict[str, tuple[str, ...]]  # bridge whose NICs the plan changed -> NICs
    pins: dict[str, str]  # bridge -> other_config:hwaddr the plan sets
    physnets_changed: frozenset[str]
    # For netplan, which states a device whole: every OVS bridge's NICs after the plan, the
    # bridges whose NICs it changes (one left empty included), and the devices whose global
    # addresses or main-table routes it changes (the management address move), with what
    # they hold after it.
    bridge_nics: dict[str, tuple[str, ...]] = field(default_factory=dict)
    reshaped: frozenset[str] = frozenset()
    addrs: dict[str, tuple[str, ...]] = field(default_factory=dict)
    routes: dict[str, tuple[dict[str, object], ...]] = field(default_factory=dict)
    takes_away: bool = False  # the plan removes a port, address or route a device had


def _entries(raw: str | None) -> tuple[tuple[str, str], ...]:
    # Each entry trimmed as a whole, like the text an operator reads ("a:b, c:d").
    trimmed = ((n.lstrip(), b.rstrip()) for n, b in named_entries(raw))
    return tuple((n, b) for n, b in trimmed if n and b)


def _nics(b: OvsBridge | None) -> tuple[str, ...]:
    return tuple(sorted(i.name for i in b.nics)) if b is not None else ()


def _netplan_route(r: IpRoute) -> dict[str, object]:
    out: dict[str, object] = {"to": r.dst}
    if r.gateway:
        out["via"] = r.gateway
    else:
        out["scope"] = "link"
    if r.metric is not None:
        out["metric"] = r.metric
    return out


def _by_dev(v: HostView) -> tuple[dict[str, tuple[str, ...]],
                                  dict[str, tuple[dict[str, object], ...]]]:
    """Each device's global addresses and the main-table routes a configuration states
    (not the kernel's own prefix routes, which follow from the addresses)."""
    addrs: dict[str, list[str]] = {}
    for a in v.global_addresses():
        addrs.setdefault(a.ifname, []).append(a.cidr)
    routes: dict[str, list[dict[str, object]]] = {}
    for r in v.main_routes():
        if r.dev and r.protocol != "kernel":
            routes.setdefault(r.dev, []).append(_netplan_route(r))
    return ({k: tuple(x) for k, x in addrs.items()},
            {k: tuple(x) for k, x in routes.items()})


def _host_end(before: Snapshot, after: Snapshot, host: str) -> _HostEnd | None:
    sb, sa = before.hosts.get(host), after.hosts.get(host)
    if sb is None or sa is None or sb.ovs is None or sa.ovs is None:
        return None
    vb, va = HostView(sb), HostView(sa)
    eb, ea = _entries(vb.mappings_raw), _entries(va.mappings_raw)
    changed = {n for n, b in set(eb) ^ set(ea)}
    bb, ba = vb.bridges, va.bridges
    nics_after = {name: _nics(br) for name, br in ba.items()}
    reshaped = frozenset(n for n, nics in nics_after.items() if nics != _nics(bb.get(n)))
    pins = {name: br.hwaddr for name, br in ba.items()
            if br.hwaddr and br.hwaddr != (bb[name].hwaddr if name in bb else None)}
    ab, rb = _by_dev(vb)
    aa, ra = _by_dev(va)
    touched = {d for d in ab.keys() | aa.keys() | rb.keys() | ra.keys()
               if ab.get(d, ()) != aa.get(d, ()) or rb.get(d, ()) != ra.get(d, ())}

    def lost(old: Mapping[str, tuple[Any, ...]], new: Mapping[str, tuple[Any, ...]]) -> bool:
        return any(x not in new.get(k, ()) for k, xs in old.items() for x in xs)

    takes_away = (lost({n: _nics(br) for n, br in bb.items()}, nics_after)
                  or lost(ab, aa) or lost(rb, ra))
    return _HostEnd(host, ea, vb.mappings_raw != va.mappings_raw,
                    {br: _nics(ba.get(br)) for _, br in ea},
                    {n: nics for n, nics in nics_after.items() if n in reshaped and nics},
                    {k: v for k, v in pins.items() if v}, frozenset(changed),
                    nics_after, reshaped,
                    {d: aa.get(d, ()) for d in touched}, {d: ra.get(d, ()) for d in touched},
                    takes_away)


def _yaml(doc: object) -> str:
    return yaml.safe_dump(doc, sort_keys=False, default_flow_style=False)


def _kolla(e: _HostEnd, runtime: str | None) -> tuple[str, list[str]]:
    nets = ",".join(n for n, _ in e.entries)
    brs = ",".join(b for _, b in e.entries)
    notes = []
    ifaces = []
    for _, b in e.entries:
        nics = e.uplinks.get(b, ())
        if len(nics) != 1:
            notes.append(f"kolla-ansible pairs one neutron_external_interface with each "
                         f"bridge; {b} has {len(nics)} NIC(s) ({', '.join(nics) or 'none'}): "
                         "use a bond device name, or leave the bridge's ports to the host")
        ifaces.append(nics[0] if nics else "")
    notes.append(f"on kolla hosts ovs-vsctl is in the containers: run the plan's lines as "
                 f"`{runtime or 'docker'} exec openvswitch_vswitchd ovs-vsctl ...` (change "
                 "files accept that prefix)")
    notes.append("kolla-ansible adds neutron_external_interface to neutron_bridge_name on "
                  "network hosts (and computes with computes_need_external_bridge); it never "
                  "removes a port, and with its default (eth1 on br-ex) it is what puts a NIC "
                  "into br-ex: keep the management NIC out of neutron_external_interface")
    return _yaml({"neutron_physical_networks": nets, "neutron_bridge_name": brs,
                  "neutron_external_interface": ",".join(ifaces)}), notes


def _vlan_tags(snapshot: Snapshot, physnet: str) -> list[int]:
    """VLAN tags of the NB's localnet ports on `physnet` (tag_request, or tag)."""
    tags: set[int] = set()
    for r in snapshot.nb.rows("Logical_Switch_Port"):
        if r.get("type") != "localnet" or r.map("options").get("network_name") != physnet:
            continue
        for col in ("tag_request", "tag"):
            v = r.get(col)
            for t in (v if isinstance(v, tuple) else (v,)):
                if isinstance(t, int) and t > 0:
                    tags.add(t)
    return sorted(tags)


def _osa(e: _HostEnd, snapshot: Snapshot) -> tuple[str, list[str]]:
    mappings = ",".join(f"{n}:{b}" for n, b in e.entries)
    ifmap = ",".join(f"{b}:{nic}" for _, b in e.entries for nic in e.uplinks.get(b, ())[:1])
    # the same as openstack_user_config.yml provider_networks, which os_neutron turns into
    # neutron_provider_networks when that is not set (openstack.osa.provider_networks:
    # on metal net_name:container_bridge, and container_bridge:network_interface)
    nets = []
    for n, b in e.entries:
        net: dict[str, object] = {"container_bridge": b}
        nics = e.uplinks.get(b, ())
        if nics:
            net["network_interface"] = nics[0]
        tags = _vlan_tags(snapshot, n)
        net["type"] = "vlan" if tags else "flat"
        if tags:
            net["range"] = ",".join(f"{t}:{t}" for t in tags)
        net["net_name"] = n
        net["group_binds"] = ["neutron_ovn_controller"]
        nets.append({"network": net})
    text = (_yaml({"neutron_provider_networks": {
        "network_mappings": mappings, "network_interface_mappings": ifmap}})
        + "# or, in openstack_user_config.yml (global_overrides), with "
          "neutron_provider_networks left unset:\n"
        + "\n".join("# " + ln for ln in _yaml({"provider_networks": nets}).splitlines())
        + "\n")
    return text, [
        "neutron_provider_networks is one dict: keep its other keys (network_types, "
        "network_vlan_ranges, ...) as they are in your configuration; when it is not set, "
        "os_neutron derives it from provider_networks in openstack_user_config.yml: change "
        "those entries instead (the commented form; a vlan entry's range is the tags the "
        "NB's localnet ports use, widen it to your ranges)"]


def _edpm(e: _HostEnd) -> tuple[str, list[str]]:
    return _yaml({"edpm_ovn_bridge_mappings": [f"{n}:{b}" for n, b in e.entries]}), [
        "TripleO (not EDPM): the same in NeutronBridgeMappings"]


def _os_net_config(e: _HostEnd) -> str | None:
    bridges = sorted(set(e.changed_bridges) | set(e.pins))
    if not bridges:
        return None
    cfg = []
    for b in bridges:
        nics = e.changed_bridges.get(b) or e.uplinks.get(b, ())
        entry: dict[str, object] = {"type": "ovs_bridge", "name": b, "use_dhcp": False,
                                    "members": [{"type": "interface", "name": n,
                                                 "primary": i == 0}
                                                for i, n in enumerate(nics)]}
        if b in e.pins:
            # after the primary member's MAC, which os-net-config's ifcfg writer pins itself
            entry["ovs_extra"] = [f"set bridge {b} other-config:hwaddr={e.pins[b]}"]
        cfg.append(entry)
    return _yaml({"network_config": cfg})


def _ip_config(e: _HostEnd, dev: str, into: dict[str, object]) -> None:
    if dev in e.addrs or dev in e.routes:
        into["addresses"] = list(e.addrs.get(dev, ()))
        into["routes"] = [dict(r) for r in e.routes.get(dev, ())]


def netplan_yaml(e: _HostEnd) -> str | None:
    """netplan for the devices the plan changes (networkd renderer): the bridges whose NICs
    or MAC change, their NICs, and the devices an address or route moves between, each
    with its whole end state (ports, addresses, routes), so that it can replace the
    device's definition (see `_netplan_where`)."""
    ip_devs = e.addrs.keys() | e.routes.keys()
    bridges = sorted(e.reshaped | e.pins.keys() | (ip_devs & e.bridge_nics.keys()))
    if not bridges and not ip_devs:
        return None
    eths: dict[str, dict[str, object]] = {}
    brs: dict[str, dict[str, object]] = {}
    for b in bridges:
        nics = e.bridge_nics.get(b, ())
        for n in nics:
            eths[n] = {}
        ovs: dict[str, object] = {}
        if b in e.pins:
            ovs["other-config"] = {"hwaddr": e.pins[b]}
        brs[b] = {"interfaces": list(nics)}
        _ip_config(e, b, brs[b])
        brs[b]["openvswitch"] = ovs
    for dev in sorted(ip_devs):
        if dev not in brs:
            _ip_config(e, dev, eths.setdefault(dev, {}))
    return _yaml({"network": {"version": 2, "renderer": "networkd", "ethernets": eths,
                              "bridges": brs}})


def _netplan_where(e: _HostEnd) -> str:
    if not e.takes_away:
        return ("/etc/netplan/60-ovnguard.yaml, merged with the file that defines these "
                "bridges' addresses")
    # Measured with `netplan generate` (0.106): across files netplan appends lists, so a
    # second file cannot take a port, an address or a route away from a device: the old
    # definition would put them back at the next boot (and two default routes conflict).
    return ("the host's netplan file: REPLACE the definitions of these devices with the "
            "ones below (netplan appends lists across files: a second file cannot take a "
            "port, an address or a route away, and the next boot would undo the plan)")


_Row = tuple[str, str, str, str, str, tuple[str, ...]]  # host, tool, title, where, text, notes


def _group(rows: list[_Row]) -> list[DeployChange]:
    """One DeployChange per identical (tool, title, where, text, notes), with its hosts."""
    merged: dict[tuple[str, str, str, str, tuple[str, ...]], list[str]] = {}
    for host, tool, title, where, text, notes in rows:
        merged.setdefault((tool, title, where, text, notes), []).append(host)
    return [DeployChange(tool=k[0], title=k[1], where=k[2], text=k[3], notes=k[4],
                         hosts=tuple(sorted(v))) for k, v in merged.items()]


def deployment_changes(snapshot: Snapshot, plan: Plan,
                       detections: Mapping[str, Detection]) -> tuple[
                           tuple[DeployChange, ...], tuple[str, ...]]:
    """The plan's end state in each host's deployment tool's terms, and the warnings for
    keys that tool rewrites."""
    if plan.empty:
        return (), ()
    after = apply_change(snapshot, parse_change(combined_plan(plan).text, "plan")).snapshot
    rows: list[_Row] = []
    owners: dict[str, list[str]] = {}  # manages_mappings text -> hosts
    unknown: list[str] = []
    for part in plan.parts:
        if part.host is None or not part.steps:
            continue
        e = _host_end(snapshot, after, part.host)
        if e is None:
            continue
        det = detections.get(part.host)
        state = snapshot.hosts.get(part.host)
        if det is None and state is not None and state.deployment is not None:
            det = Detection(state.deployment)  # e.g. taken from the NB (flavors.nb_detection)
        fid = det.flavor if det is not None else None
        if fid is None:
            unknown.append(part.host)
        f = BY_ID.get(fid) if fid else None
        owned = e.mappings_changed and f is not None and f.manages_mappings is not None
        if owned and fid == "ovn-kubernetes" and OVNK_PHYSNET not in e.physnets_changed:
            owned = False  # ovnkube-node rewrites only its own entry
        if owned and f is not None and f.manages_mappings:
            owners.setdefault(f.manages_mappings, []).append(part.host)
        h = part.host
        if e.mappings_changed:
            if fid == "kolla-ansible":
                text, notes = _kolla(e, det.runtime if det else None)
                rows.append((h, fid, "kolla-ansible variables", "/etc/kolla/globals.yml when "
                             "every host has these values, else each host's variables in "
                             "the inventory (host_vars)", text, tuple(notes)))
            elif fid == "openstack-ansible":
                text, notes = _osa(e, snapshot)
                rows.append((h, fid, "OpenStack-Ansible variables",
                             "/etc/openstack_deploy/host_vars/<host>.yml (or "
                             "user_variables.yml when every host has these values)", text,
                             tuple(notes)))
            elif fid == "tripleo-edpm":
                text, notes = _edpm(e)
                rows.append((h, fid, "EDPM variables", "the OpenStackDataPlaneNodeSet's "
                             "spec.nodeTemplate.ansible.ansibleVars (or a node's own "
                             "ansible.ansibleVars)", text,
                             tuple(notes)))
            elif fid == "charmed-openstack":
                # the charm's options are space-delimited (charm-layer-ovn config.yaml)
                maps = " ".join(f"{n}:{b}" for n, b in e.entries)
                ifm = " ".join(f"{b}:{nic}" for _, b in e.entries
                               for nic in e.uplinks.get(b, ())[:1])
                rows.append((h, fid, "juju config of the ovn-chassis application",
                             "run where juju is", f"juju config ovn-chassis "
                             f"ovn-bridge-mappings='{maps}' bridge-interface-mappings='{ifm}'\n",
                             ("the charm's options apply to every unit of the application: "
                              "hosts that need other values need their own application",)))
            elif fid == "microovn":
                rows.append((h, fid, "MicroOVN", "this host", "",
                             ("MicroOVN does not rewrite ovn-bridge-mappings (only its BGP "
                              "redirect touches it): the plan's ovs-vsctl lines stand; run "
                              "them as `microovn.ovs-vsctl` (the snap's own client)",)))
            elif fid == "ovn-kubernetes":
                rows.append((h, fid, "ovn-kubernetes", "ovnkube-node", "", (
                    f"ovnkube-node rewrites only its own '{OVNK_PHYSNET}' entry (to the "
                    "gateway bridge, at every start) and keeps the others; br-ex carrying "
                    "the node IP is its shared-gateway design, not a fault",)))
        if fid == "tripleo-edpm":
            onc = _os_net_config(e)
            if onc:
                rows.append((h, "os-net-config", "os-net-config (edpm_network_config_template)",
                             "merge into the host's network_config", onc,
                             ("os-net-config owns the host's bridges on TripleO/EDPM: a "
                              "bridge or MAC set by hand is reverted by its next run; it pins "
                              "an ovs_bridge's MAC to its `primary: true` member by itself",)))
        else:
            npl = netplan_yaml(e)
            if npl:
                rows.append((h, "netplan", "netplan (hosts whose network netplan configures)",
                             _netplan_where(e), npl,
                             ("`netplan generate` accepts it (tested); other-config:hwaddr "
                              "pins the bridge MAC as `ovs-vsctl set Bridge B "
                              "other-config:hwaddr=` does, at every boot",)))
    said = tuple(f"WARNING {', '.join(hosts)}: external_ids:ovn-bridge-mappings is managed "
                 f"by {who}; the plan's ovs-vsctl step is undone by its next run unless the "
                 "deployment tool's configuration below is changed too"
                 for who, hosts in owners.items())
    if unknown:
        said += (f"no deployment flavor known for {', '.join(sorted(unknown))} (no "
                  "hosts/<host>/deployment.json; `ovnguard collect` writes it): if a deployment "
                  "tool manages external_ids:ovn-bridge-mappings there, make the same change "
                  "in its configuration (docs/deployments.md)",)
    return tuple(_group(rows)), said


def with_deployment(snapshot: Snapshot, plan: Plan,
                    detections: Mapping[str, Detection]) -> Plan:
    changes, notes = deployment_changes(snapshot, plan, detections)
    return replace(plan, deployment=changes, notes=(*plan.notes, *notes))
