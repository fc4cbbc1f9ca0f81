"""NIC separation (the seed incident's "개선 방안"): give physical network P a bridge of its
own, BR, with its own uplink NIC, so that no logical switch is patched into the bridge that
carries a host's management address.

Per host, in this order:

1. **BR with its uplink**: `ovs-vsctl add-br BR -- add-port BR NIC`. Nothing is mapped to BR
   yet, so nothing moves; the management path is untouched unless NIC is the management
   NIC or the only uplink of the management bridge (then the step is marked *console
   needed*: it cuts the host off wherever it is run from over the network).
2. **Move P to BR, and delete the old provider-side patch ports in the same transaction**:
   `ovs-vsctl --if-exists del-port patch-<lport>-to-br-int ... -- set Open_vSwitch .
   external_ids:ovn-bridge-mappings=...P:BR...`. Measured on OVN 23.03: changing the mapping
   alone moves nothing -- ovn-controller tries to create `patch-<lport>-to-br-int` on BR
   while the port of that name still sits on OLD (it only deletes ports on br-int), ovsdb-
   server refuses every one of its transactions (`constraint violation`) and a recompute
   does not help. With the old port gone in the same transaction ovn-controller simply
   creates the new one on BR; its br-int side keeps its name and peer. Unmapping P first and
   mapping it again in a second transaction also works in the lab, but only if
   ovn-controller gets to run in between; one transaction does not depend on timing.

Then (plan/mgmtmove.py, unless `move_management=False`) the management address leaves OLD
for its own NIC: OLD's MAC pinned first, then address and default route moved in one line.
With it kept, the address stays on OLD (e.g. br-ex with enp6s18): OLD is no longer named by
any mapping entry for P, so no switch of P is patched into it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from ovnguard.errors import InputError
from ovnguard.findings.context import RuleContext
from ovnguard.findings.rules.mappings import closest
from ovnguard.findings.verdict import evaluate
from ovnguard.i18n import _
from ovnguard.model.db import Row
from ovnguard.model.host import HostView
from ovnguard.model.ovs import LOCALNET_KEYS, OvsInterface, OvsPort
from ovnguard.model.snapshot import Snapshot
from ovnguard.plan.ctlargs import column_args, map_entry
from ovnguard.plan.mgmtmove import management_steps
from ovnguard.plan.model import Part, Plan, Step, Words
from ovnguard.plan.verify import verify
from ovnguard.record import record
from ovnguard.simulation.mappings import KEY, named_entries, parse_bridge_mappings, remapped
from ovnguard.simulation.realize import realize
from ovnguard.simulation.types import Realization

# Interface / Port columns that belong to the device and its place, not to the daemons.
_IFACE_SKIP = ("name", "ofport", "mac_in_use", "ifindex", "status", "statistics",
               "link_state", "link_speed", "link_resets", "duplex", "admin_state", "mtu",
               "lacp_current", "bfd_status", "error")
_PORT_SKIP = ("name", "interfaces", "status", "statistics", "bond_active_slave",
              "rstp_status", "rstp_statistics")


def mapped_physnet_hosts(snapshot: Snapshot, physnet: str) -> list[str]:
    """Hosts whose ovn-bridge-mappings name `physnet` (what ovn-controller reads)."""
    out = []
    for h, state in sorted(snapshot.hosts.items()):
        if state.ovs is None:
            continue
        v = HostView(state)
        bm = parse_bridge_mappings(v.mappings_raw, frozenset(v.bridges), v.mappings_key)
        if physnet in bm.mappings or any(e.network == physnet for e in bm.entries):
            out.append(h)
        elif any(network == physnet for network, _ in named_entries(v.mappings_raw)):
            out.append(h)  # named, but its bridge is missing: still this physnet's host
    return out


def _all_physnets(snapshot: Snapshot) -> set[str]:
    out = set()
    for state in snapshot.hosts.values():
        if state.ovs is not None:
            raw = HostView(state).mappings_raw or ""
            out |= {network for network, _ in named_entries(raw)}
    return out


def _lport_network(snapshot: Snapshot, lport: str) -> str | None:
    row = snapshot.nb.find_one("Logical_Switch_Port", lport)
    if row is None:
        return None
    v = row.map("options").get("network_name")
    return str(v) if v is not None else None


def ports_to_move(snapshot: Snapshot, realization: Realization, v: HostView, physnet: str,
                  new_bridge: str) -> list[tuple[str, str]]:
    """(bridge, port) of every provider-side patch port of `physnet` on this host that is
    not on `new_bridge`: the ones in its OVS DB, and the ones ovn-controller wants now
    (in case it made them after the bundle was collected)."""
    br_int = v.integration_bridge
    found: set[tuple[str, str]] = set()
    for br in v.bridges.values():
        if br.name in (br_int, new_bridge):
            continue
        for p in br.ports:
            lport = next((p.external_ids[k] for k in LOCALNET_KEYS if k in p.external_ids), None)
            if lport is not None and _lport_network(snapshot, lport) == physnet:
                found.add((br.name, p.name))
    hr = realization.hosts.get(v.name)
    if hr is not None:
        for pp in hr.patch_ports:
            if pp.network_name == physnet and pp.bridge not in (br_int, new_bridge):
                found.add((pp.bridge, pp.port))
    return sorted(found)


def _set_mappings(key: str, value: str | None) -> Words:
    if value is None:
        return ("remove", "Open_vSwitch", ".", "external_ids", key)
    return ("set", "Open_vSwitch", ".", map_entry("external_ids", key, value))


def _row(v: HostView, table: str, uuid: str) -> Row | None:
    return v.state.ovs.row(table, uuid) if v.state.ovs is not None else None


def _readd(v: HostView, bridge: str, port: OvsPort, iface: OvsInterface) -> list[str]:
    """`add-port BRIDGE NIC` plus the NIC's own settings (type, options, MTU request ...)
    and its Port's (tag, trunks, ...), so that the rollback restores them."""
    assert v.state.ovs is not None
    words = ["add-port", bridge, iface.name]
    irow = _row(v, "Interface", iface.uuid)
    prow = _row(v, "Port", port.uuid)
    iargs = column_args(v.state.ovs, irow, _IFACE_SKIP) if irow is not None else []
    pargs = column_args(v.state.ovs, prow, _PORT_SKIP) if prow is not None else []
    if iargs:
        words += ["--", "set", "Interface", iface.name, *iargs]
    if pargs:
        words += ["--", "set", "Port", port.name, *pargs]
    return words


def _nic_step(v: HostView, physnet: str, bridge: str, nic: str,
              notes: list[str]) -> Step | None:
    creating = bridge not in v.bridges
    found = v.bridge_of_interface(nic)
    m = v.management
    mgmt = _("its management address {cidr}").format(cidr=m.cidr) if m is not None else _(
        "its management address")
    console: str | None = None
    if found is not None and found[0].name == bridge:
        return None  # the uplink is already there
    if found is not None:
        old_br, iface = found
        if old_br.name == v.integration_bridge:
            raise _HostRefused(_(
                    "{nic} is a port of the integration bridge {name}, not an uplink").format(
                    nic=nic, name=old_br.name))
        port = old_br.port_of(nic)
        assert port is not None
        if len(port.interfaces) > 1:
            raise _HostRefused(_(
                    "{nic} is a member of bond {name} on {name2}: split the bond by hand "
                    "first").format(
                    nic=nic, name=port.name, name2=old_br.name))
        others = [n.name for n in old_br.nics if n.name != nic]
        if m is not None and m.bridge == old_br.name and not others:
            console = (_(
                    "{nic} is the only uplink of {name}, which carries {mgmt}: moving it to "
                    "{bridge} cuts {name2}'s management path. Run it from a console, or give the "
                    "management address its own NIC first").format(
                    nic=nic, name=old_br.name, mgmt=mgmt, bridge=bridge, name2=v.name))
        elif others:
            notes.append(_(
                    "{name} keeps {others} when {nic} leaves it").format(
                    name=old_br.name, others=', '.join(others), nic=nic))
        lost = [n for n, b in named_entries(v.mappings_raw) if b == old_br.name and n != physnet]
        if lost:
            notes.append(_(
                    "{lost} stay mapped to {name}, which loses its uplink {nic}").format(
                    lost=', '.join(lost), name=old_br.name, nic=nic))
        first = ["add-br", bridge, "--"] if creating else []
        move: Words = ("ovs-vsctl", *first, "del-port", old_br.name, nic, "--", "add-port",
                       bridge, nic)
        undo_first = (["--if-exists", "del-br", bridge] if creating
                      else ["del-port", bridge, nic])
        back: Words = ("ovs-vsctl", *undo_first, "--", *_readd(v, old_br.name, port, iface))
        title = (_("move the uplink {nic} from {old} to a new bridge {bridge}") if creating
                 else _("move the uplink {nic} from {old} to {bridge}")).format(
            nic=nic, old=old_br.name, bridge=bridge)
        why = (_(
                "{physnet} needs a bridge with its own wire out of the host; {nic} is that wire. "
                "One transaction, so {nic} is never in two bridges. Nothing is mapped to "
                "{bridge} yet, so no logical switch moves in this step").format(
                physnet=physnet, nic=nic, bridge=bridge))
        return Step(title, why, (move,), (back,), console)
    addrs = v.addresses_on(nic)
    if addrs:
        cidrs = ", ".join(a.cidr for a in addrs)
        if m is not None and m.ifname == nic:
            console = (_(
                    "{nic} carries {mgmt}: as a port of {bridge} its address is dead (OVS takes "
                    "every frame, see ip-on-ovs-port) and {name} is cut off. Use another NIC, or "
                    "move the address off it first, from a console").format(
                    nic=nic, mgmt=mgmt, bridge=bridge, name=v.name))
        else:
            notes.append(_(
                    "{nic} carries {cidrs}: as a port of {bridge} that address stops working "
                    "(ip-on-ovs-port); remove it from the NIC first").format(
                    nic=nic, cidrs=cidrs, bridge=bridge))
    if v.state.links is not None and not any(lk.ifname == nic for lk in v.state.links):
        known = ", ".join(sorted(lk.ifname for lk in v.state.links)) or "none"
        notes.append(_(
                "{nic} is not among {name}'s links (link.json: {known}): connect and name the "
                "NIC before step 1, or pass the right --nic").format(
                nic=nic, name=v.name, known=known))
    elif v.state.links is None:
        notes.append(_(
                "{name}'s link.json was not collected: check that {nic} exists").format(
                name=v.name, nic=nic))
    if creating:
        cmd: Words = ("ovs-vsctl", "add-br", bridge, "--", "add-port", bridge, nic)
        inv: Words = ("ovs-vsctl", "--if-exists", "del-br", bridge)
        title = _("create {bridge} with its uplink {nic}").format(bridge=bridge, nic=nic)
    else:
        cmd = ("ovs-vsctl", "add-port", bridge, nic)
        inv = ("ovs-vsctl", "--if-exists", "del-port", bridge, nic)
        title = _("add the uplink {nic} to {bridge}").format(nic=nic, bridge=bridge)
    why = (_(
            "{physnet} needs a bridge of its own with a wire to its physical network and no host "
            "address on it; nothing is mapped to {bridge} yet, so no logical switch moves in "
            "this step").format(
            physnet=physnet, bridge=bridge))
    return Step(title, why, (cmd,), (inv,), console)


class _HostRefused(Exception):
    pass


@record
class _HostPlan:
    part: Part
    notes: tuple[str, ...] = ()  # plan-level: why a host has no steps
    moves: tuple[str, ...] = ()  # the patch ports that move on this host


def _host_part(snapshot: Snapshot, realization: Realization, host: str, physnet: str,
               bridge: str, nic: str, move_management: bool = True) -> _HostPlan:
    """The steps for one host, and plan-level notes (why a host has none)."""
    state = snapshot.hosts[host]
    if state.ovs is None:
        return _HostPlan(Part(host, host, ()), (_(
                "{host}: no conf.db in the bundle, nothing planned").format(
                host=host),))
    v = HostView(state)
    br_int = v.integration_bridge
    if bridge == br_int:
        raise InputError(_(
                "--bridge {bridge} is {host}'s integration bridge").format(
                bridge=bridge, host=host))
    if nic in (bridge, br_int):
        raise InputError(_("--nic {nic} is a bridge's own port, not an uplink").format(nic=nic))
    bm = parse_bridge_mappings(v.mappings_raw, frozenset(v.bridges), v.mappings_key)
    broken = [p for p in bm.problems if p.level == "ERR" or (p.level == "INFO" and
                                                              p.entry == "")]
    if broken:
        return _HostPlan(Part(host, host, ()), (
            _(
                    "{host}: ovn-bridge-mappings {mappings_raw!r} is malformed ({message}); fix "
                    "it first (malformed-bridge-mappings)").format(
                    host=host, mappings_raw=v.mappings_raw, message=broken[0].message),))
    notes: list[str] = []
    try:
        nic_step = _nic_step(v, physnet, bridge, nic, notes)
    except _HostRefused as e:
        return _HostPlan(Part(host, host, ()), (f"{host}: {e}",))
    steps = [nic_step] if nic_step else []
    old = bm.bridge_for(physnet)
    key = v.mappings_key if v.mappings_raw is not None else KEY
    moving: list[tuple[str, str]] = []
    if old != bridge:
        moving = ports_to_move(snapshot, realization, v, physnet, bridge)
        new_raw = remapped(v.mappings_raw, physnet, bridge)
        cmd: list[str] = ["ovs-vsctl"]
        undo: list[str] = ["ovs-vsctl"]
        # Without a bridge name: a line that also works where the plan (or its rollback)
        # ran half-way, whichever bridge the port is on by then; ovn-controller re-creates
        # at once a port it still wants where it is.
        for _lport, port in moving:
            cmd += ["--if-exists", "del-port", port, "--"]
            undo += ["--if-exists", "del-port", port, "--"]
        cmd += _set_mappings(key, new_raw)
        undo += _set_mappings(key, v.mappings_raw)
        src = _(" (from {old})").format(old=old) if old else ""
        if moving:
            names = ", ".join(p for _, p in moving)
            title = (_(
                    "map {physnet} to {bridge}{src}, deleting the old patch port(s) {names} in "
                    "the same transaction").format(
                    physnet=physnet, bridge=bridge, src=src, names=names))
            why = (_(
                    "ovn-controller then creates {names} on {bridge}. Changing only the mapping "
                    "moves nothing on OVN 23.03: ovn-controller tries to create the port on "
                    "{bridge} while the one of the same name is still on {old}, and ovsdb-server "
                    "refuses each of its transactions (constraint violation; measured, a "
                    "recompute does not help). The inverse deletes them from {bridge} for the "
                    "same reason").format(
                    names=names, bridge=bridge, old=old))
            notes.append(_(
                    "from step {value} on, traffic of {physnet} on this host leaves through "
                    "{nic}: it must be cabled to {physnet}'s network. The VMs' provider traffic "
                    "pauses while the patch pair is re-made").format(
                    value=len(steps) + 1, physnet=physnet, nic=nic))
        else:
            title = (_("map {physnet} to {bridge} instead of {old}") if old
                     else _("map {physnet} to {bridge}")).format(
                physnet=physnet, bridge=bridge, old=old)
            why = _("no logical switch of {physnet} is patched on this host now, so nothing "
                    "moves; ports made later go to {bridge}").format(physnet=physnet, bridge=bridge)
        steps.append(Step(title, why, (tuple(cmd),), (tuple(undo),)))
    if move_management:
        steps += management_steps(v, physnet, nic, notes)
    return _HostPlan(Part(host, host, tuple(steps), tuple(notes)),
                     moves=tuple(p for _, p in moving))


def plan_separate_nic(snapshot: Snapshot, physnet: str, bridge: str, nic: str,
                      hosts: Sequence[str] | None = None, *, check: bool = True,
                      move_management: bool = True) -> Plan:
    """Ordered steps per host (with inverses), then, with `check`, the what-if's proof.
    `move_management`: also pin the management bridge's MAC and move the management
    address to its NIC (plan/mgmtmove.py)."""
    for opt, value, bad in (("--physnet", physnet, ",: \t"), ("--bridge", bridge, ",: \t"),
                            ("--nic", nic, ",: \t/")):
        if not value or any(c in value for c in bad):
            raise InputError(_(
                "{opt} {value}: not a name (no spaces, commas or colons)").format(
                opt=opt, value=repr(value)))
    mapped = mapped_physnet_hosts(snapshot, physnet)
    if hosts:
        unknown = [h for h in hosts if h not in snapshot.hosts]
        if unknown:
            raise InputError(_(
                "--hosts: no such host in the bundle: {names} (hosts: {names2})").format(
                names=', '.join(unknown), names2=', '.join(sorted(snapshot.hosts))))
        selected = list(dict.fromkeys(hosts))
    else:
        if not mapped:
            known = _all_physnets(snapshot)
            guess = closest(physnet, known)
            did = f"; did you mean {guess}?" if guess else ""
            raise InputError(_(
                "no host maps physical network {physnet} in ovn-bridge-mappings (mapped: "
                "{value}){did}").format(
                physnet=physnet, value=', '.join(sorted(known)) or 'none', did=did))
        selected = mapped
    realization = realize(snapshot)
    planned = [_host_part(snapshot, realization, h, physnet, bridge, nic, move_management)
               for h in selected]
    notes = [n for hp in planned for n in hp.notes]
    # Hosts where nothing moves first: a canary that touches no traffic.
    planned.sort(key=lambda hp: (bool(hp.moves), hp.part.name))
    parts = [hp.part for hp in planned]
    for p in parts:
        if p.host and not p.steps and not any(n.startswith(f"{p.name}:") for n in notes):
            notes.append(f"{p.name}: {physnet} is already on {bridge} with {nic}; nothing to do")
    if any(p.steps for p in parts):
        order = ", ".join(p.name for p in parts if p.steps)
        notes.append(f"apply one host at a time, in this order: {order} (hosts where no patch "
                     "port moves come first); check each with `ovnguard check --change` and "
                     "re-collect the bundle right before, since the steps name the patch "
                     "ports the bundle shows")
    before = evaluate(RuleContext.build(snapshot, realization))
    targets = tuple(
        (f.rule, f.key) for f in before.findings
        if (f.rule == "mgmt-bridge-localnet" and _key_physnet(snapshot, f.key) == physnet
            and set(f.hosts) & set(selected))
        or (f.rule == "control-plane-via-provider-bridge" and set(f.hosts) & set(selected))
    )
    plan = Plan(
        kind="separate-nic",
        bundle=snapshot.source,
        parameters={"physnet": physnet, "bridge": bridge, "nic": nic,
                    "hosts": ",".join(selected)},
        parts=tuple(parts),
        notes=tuple(notes),
        targets=targets,
    )
    if check and not plan.empty:
        plan = replace(plan, verification=verify(snapshot, plan))
    return plan


def _key_physnet(snapshot: Snapshot, key: str) -> str | None:
    """mgmt-bridge-localnet's key is "<switch>/<lport>"."""
    lport = key.rpartition("/")[2]
    return _lport_network(snapshot, lport)
