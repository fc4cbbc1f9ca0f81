"""Host changes line by line: the line after which a host is cut off from the operator, a
default route that goes, a bridge MAC that moves, an address left on an enslaved link.

The host model after every line of a change (`ChangeResult.steps`, named by
`step_invocations`) is checked, in order, because an address move is safe or not by its
order alone: `ip addr del` of the management address before it is added elsewhere cuts the
host off at that line, and the lines after it are never typed. `host_step_findings` is
called by the what-if (assess.py) with the operator's address (`check --from ADDR`, else
the first word of $SSH_CLIENT); the registered checks over one snapshot find only the
enslaved-address hazard, which needs no order.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field

from ovnguard.change.model import Change, ChangeResult, Invocation
from ovnguard.findings.context import RuleContext
from ovnguard.findings.finding import Finding, Severity
from ovnguard.findings.registry import RuleSpec, host_rule, rule
from ovnguard.i18n import N_, _
from ovnguard.model.bridgemac import RANDOM, current_mac, mac_after, vswitchd_mac
from ovnguard.model.evidence import Evidence
from ovnguard.model.host import HostView, host_views
from ovnguard.model.snapshot import IpLink, Snapshot

GROUP = N_("Host changes, line by line")
# Kinds of master a link's IP stack stops receiving under (the bridge/bond driver takes
# its frames, as OVS does with a NIC that is its port).
_ENSLAVING = ("bridge", "bond", "team")

HOST_CUT_OFF = RuleSpec(
    id="host-cut-off",
    severity=Severity.critical,
    group=GROUP,
    title=N_("A line of the change cuts a host off from the operator"),
    why=N_(
        "A host change is typed over the very path it changes. When a line removes the "
        "address the operator's session goes to, takes its link down, enslaves its link, "
        "or leaves the host no route back to the operator (the kernel flushes every IPv4 "
        "route of a link when its last address goes, the default route included), the "
        "session hangs at that line and the lines after it are never typed: the host "
        "stays half-changed until someone reaches its console."
    ),
    severity_note=N_("critical: the rest of the change, and its undo, need a console."),
    remediation_template=N_(
        "Reorder so the new path exists before the old one goes (add {address} on the new "
        "link and its routes first, delete it from {dev} last, in one line joined by `&&` "
        "or from a console), or run it guarded: `ovnguard apply`."
    ),
    example=N_(
        "`# host: compute1` / `ip addr del 10.10.0.23/24 dev br-ex` / `ip addr add "
        "10.10.0.23/24 dev enp6s18` -> `compute1 is cut off after line 2: 10.10.0.23 is no "
        "longer on any interface`"
    ),
)

DEFAULT_ROUTE_LOST = RuleSpec(
    id="default-route-lost",
    severity=Severity.high,
    group=GROUP,
    title=N_("A host loses its default route"),
    why=N_(
        "The default route needs its link up and an address in the gateway's subnet on it. "
        "Deleting that address (or the link's last IPv4 address), taking the link down, or "
        "deleting the route removes it, and the kernel does not bring a static route back "
        "when the address or link returns. Everything off the local subnet -- the OVN "
        "databases, the operator, package mirrors -- is unreachable until it is re-added."
    ),
    severity_note=N_("high; medium when a later line of the change adds it back."),
    remediation_template=N_(
        "Add the default route on the new link in the same step that moves the address "
        "(`ip route replace default via {gateway} dev NEWDEV`), before anything removes "
        "the old one."
    ),
    example=N_(
        "`ip addr del 10.10.0.23/24 dev br-ex` -> `compute1 loses its default route via "
        "10.10.0.1 after line 2`"
    ),
)

BRIDGE_MAC_MOVES = RuleSpec(
    id="bridge-mac-moves",
    severity=Severity.medium,
    group=GROUP,
    title=N_("A change moves the MAC of a bridge that carries an address"),
    why=N_(
        "ovs-vswitchd gives a bridge without other_config:hwaddr the lowest MAC among its "
        "ports' interfaces (not its own port; locally administered, multicast and zero MACs "
        "are skipped; of a bond, the first member by name: vswitchd/bridge.c "
        "find_local_hw_addr). A NIC joining or leaving the bridge can move that MAC: the "
        "host's address answers from a new MAC and upstream ARP/MAC tables go stale until "
        "they expire."
    ),
    severity_note=N_("medium: a transient outage of the address's users."),
    remediation_template=N_(
        "Pin it first: `ovs-vsctl set bridge {bridge} other_config:hwaddr={mac}` on {host}."
    ),
    example=N_(
        "`ovs-vsctl del-port br-ex enp6s18` -> `compute1: br-ex's MAC moves from "
        "7a:56:08:da:4d:4d to a random local MAC after line 3`"
    ),
)

ENSLAVED_ADDRESS = RuleSpec(
    id="ip-on-enslaved-link",
    severity=Severity.high,
    group=GROUP,
    title=N_("An address stays on a link enslaved to a Linux bridge or bond"),
    why=N_(
        "A link enslaved to a Linux bridge or bond hands every frame it receives to its "
        "master; the address on the link itself no longer answers (the address belongs on "
        "the master). The same holds for a NIC that is an OVS port (ip-on-ovs-port)."
    ),
    severity_note=N_("high; it cuts the host off when the address is its management address."),
    remediation_template=N_(
        "Move {cidr} to {master} (`ip addr del {cidr} dev {dev} && ip addr add {cidr} dev "
        "{master}`) in the same step that enslaves {dev}."
    ),
    example=N_(
        "`ip link set enp7s0 master br0` while enp7s0 holds 10.20.0.5/24 -> `compute1: "
        "10.20.0.5/24 is on enp7s0, enslaved to br0`"
    ),
)


def _link(v: HostView, dev: str) -> IpLink | None:
    return next((x for x in v.state.links or () if x.ifname == dev), None)


def _enslaved_to(v: HostView, dev: str) -> str | None:
    link = _link(v, dev)
    if link is None or not link.master:
        return None
    master = _link(v, link.master)
    return link.master if master is not None and master.kind in _ENSLAVING else None


@host_rule(ENSLAVED_ADDRESS)
def ip_on_enslaved_link(v: HostView) -> list[Finding]:
    out: list[Finding] = []
    m = v.management
    for a in v.global_addresses():
        master = _enslaved_to(v, a.ifname)
        if master is None:
            continue
        is_mgmt = m is not None and m.address == a.address
        out.append(ENSLAVED_ADDRESS.finding(
            key=f"{v.name}:{a.ifname}:{a.cidr}", hosts=[v.name],
            summary=(f"{v.name}: {a.cidr} is on {a.ifname}, enslaved to {master}: it no "
                     "longer answers" + (f", and it is how {v.name} is managed"
                                         if is_mgmt else "")),
            evidence=[v.address_evidence(a), Evidence(
                _("{ifname} master {master}").format(ifname=a.ifname, master=master),
                    v._file("link.json"), None, a.ifname,
                v.name)],
            fields={"cidr": a.cidr, "dev": a.ifname, "master": master},
            loses_management=[v.name] if is_mgmt else [],
        ))
    return out


@rule(HOST_CUT_OFF)
def _cut_off_check(ctx: RuleContext) -> list[Finding]:
    return []  # raised line by line by host_step_findings


@rule(DEFAULT_ROUTE_LOST)
def _default_route_check(ctx: RuleContext) -> list[Finding]:
    return []  # raised line by line by host_step_findings


@rule(BRIDGE_MAC_MOVES)
def _mac_check(ctx: RuleContext) -> list[Finding]:
    return []  # raised line by line by host_step_findings


# --------------------------------------------------------------------------- reachability


def _usable(v: HostView, dev: str) -> str | None:
    """Why traffic on `dev` no longer reaches the host's IP stack, or None."""
    from ovnguard.change.hostapply import link_up  # only a change to a host gets here

    if not link_up(v.state, dev):
        return _("{dev} is down").format(dev=dev)
    master = _enslaved_to(v, dev)
    if master is not None:
        return _("{dev} is enslaved to {master}").format(dev=dev, master=master)
    if v.state.ovs is not None and v.carrier(dev).kind == "ovs-nic":
        return _(
                "{dev} is a port of OVS bridge {bridge}").format(
                dev=dev, bridge=v.carrier(dev).bridge)
    return None


def cut_off_reason(v: HostView, address: str, operator: str | None) -> str | None:
    """Why the operator, connected to `address`, can no longer reach host `v` (None: can,
    or the model cannot tell)."""
    if v.state.addresses is None:
        return None
    holder = next((a for a in v.global_addresses() if a.address == address), None)
    if holder is None:
        return _(
                "{address} is no longer on any interface of {name}").format(
                address=address, name=v.name)
    why = _usable(v, holder.ifname)
    if why is not None:
        return _(
                "{address} is on {ifname}, and {why}").format(
                address=address, ifname=holder.ifname, why=why)
    if v.state.ovs is not None:
        c = v.carrier(holder.ifname)
        if c.kind in ("bridge", "internal-port") and not c.nics:
            return (_(
                    "{address} is on {ifname} of OVS bridge {bridge}, which no longer has a "
                    "NIC").format(
                    address=address, ifname=holder.ifname, bridge=c.bridge))
    if operator is None or v.state.routes is None:
        return None
    m = v.route_to(operator)
    if m is None or m.dev is None:
        return _(
                "{name} has no route back to {operator} (the operator)").format(
                name=v.name, operator=operator)
    why = _usable(v, m.dev)
    if why is not None:
        return _(
                "the route back to {operator} leaves through {dev}, and {why}").format(
                operator=operator, dev=m.dev, why=why)
    return None


def _default_gateways(v: HostView) -> dict[str, tuple[str | None, str | None]]:
    """family ("inet", "inet6") -> (gateway, dev) of its first default route."""
    out: dict[str, tuple[str | None, str | None]] = {}
    for r in v.main_routes():
        fam = r.family or ("inet6" if r.gateway and ":" in r.gateway else "inet")
        if r.dst == "default":
            out.setdefault(fam, (r.gateway, r.dev))
    return out


@dataclass
class _Trace:
    host: str
    address: str | None
    gateways: dict[str, tuple[str | None, str | None]]
    macs: dict[str, str | None]
    before: HostView
    cut: bool = False
    gw_lost_at: dict[str, int] = field(default_factory=dict)  # family -> line
    gw_back_at: dict[str, int] = field(default_factory=dict)


def host_step_findings(change: Change, result: ChangeResult,
                       operator: str | None = None) -> list[Finding]:
    """Walk the host states after every line: the line after which each host is cut off
    from `operator`, loses its default route, or sees a bridge MAC move."""
    if not result.steps or not result.step_invocations:
        return []
    invs = {inv.index: inv for inv in change.invocations}
    before: dict[str, HostView] = {}  # every host's view: made for the first host a line changes
    traces: dict[str, _Trace] = {}

    def trace(name: str) -> _Trace | None:
        # only for the hosts a line changes: a what-if on a thousand hosts that touches
        # none of them derives no host's starting point
        t = traces.get(name)
        if not before:
            before.update(host_views(result.before))
        v = before.get(name)
        if t is not None or v is None:
            return t
        m = v.management
        addr = v.state.inventory_address or (m.address if m is not None else None)
        if addr is not None and cut_off_reason(v, addr, operator) is not None:
            addr = None  # already unreachable: not this change's doing
        macs = {b: current_mac(v, b) or vswitchd_mac(v, b) for b in v.bridges
                if b != v.integration_bridge and v.addresses_on(b)}
        t = traces[name] = _Trace(name, addr, _default_gateways(v), macs, v)
        return t
    out: list[Finding] = []
    prev: Snapshot = result.before
    steps = [(snap, invs[i]) for snap, i in zip(result.steps, result.step_invocations,
                                                strict=False) if i in invs]
    # One typed line is one unit: `a && b` (or `a; b`, or a `\` continuation) is in the
    # shell's hands as a whole, a dropped session does not stop it; a host-state file
    # (--host-state) is applied at once by its tool. What counts is the state after a unit.
    chain: dict[int, int] = {}
    for inv in change.invocations:
        chain[inv.index] = chain.get(inv.index - 1, 0) + (0 if inv.after else 1)

    def unit(inv: Invocation) -> int:
        return chain.get(inv.index, inv.index)

    for k, (snap, inv) in enumerate(steps):
        line = inv.location.line
        if k + 1 < len(steps) and unit(steps[k + 1][1]) == unit(inv):
            continue
        where = "" if inv.location.path == change.path else f"{inv.location.path}:"
        line_ev = Evidence(f"{where}line {line}" + (f" on {inv.host}" if inv.host else "")
                           + f": {inv.expanded}", f"change:{line}", host=inv.host)
        for name in _changed_hosts(prev, snap):
            t = trace(name)
            if t is None:
                continue
            v = host_views_one(snap, name)
            out += _step(t, v, line, line_ev, operator)
        prev = snap
    for t in (traces[n] for n in before if n in traces):  # in host order, as before
        for fam, lost in sorted(t.gw_lost_at.items()):
            gw, dev = t.gateways[fam]
            back_at = t.gw_back_at.get(fam)
            back = (_("; line {back_at} adds one back").format(
                back_at=back_at) if back_at is not None
                    else _(" and no later line adds one back"))
            v6 = " IPv6" if fam == "inet6" else ""
            out.append(DEFAULT_ROUTE_LOST.finding(
                key=f"{t.host}:default:{fam}", hosts=[t.host],
                severity=Severity.medium if back_at is not None else None,
                summary=(_(
                        "{host} loses its{v6} default route (via {gw} dev {dev}) after line "
                        "{lost}{back}").format(
                        host=t.host, v6=v6, gw=gw, dev=dev, lost=lost, back=back)),
                evidence=[Evidence(_(
                        "line {lost}: the{v6} default route via {gw} dev {dev} is gone").format(
                        lost=lost, v6=v6, gw=gw, dev=dev), f"change:{lost}", host=t.host)],
                fields={"gateway": gw or "GATEWAY"},
            ).marked("introduced"))
    return out


def host_views_one(snapshot: Snapshot, name: str) -> HostView:
    state = snapshot.hosts[name]
    # a host with its Open_vSwitch DB needs no SB Chassis to stand in (host_views)
    return HostView(state) if state.ovs is not None else host_views(snapshot)[name]


def _changed_hosts(a: Snapshot, b: Snapshot) -> Iterable[str]:
    return [n for n, h in b.hosts.items() if a.hosts.get(n) is not h]


def _step(t: _Trace, v: HostView, line: int, line_ev: Evidence,
          operator: str | None) -> list[Finding]:
    out: list[Finding] = []
    if t.address is not None and not t.cut:
        why = cut_off_reason(v, t.address, operator)
        if why is not None:
            t.cut = True
            to = _("the operator ({operator})").format(operator=operator) if operator else _(
                "its operators")
            holder = next((a.ifname for a in v.global_addresses()
                           if a.address == t.address), None)
            out.append(HOST_CUT_OFF.finding(
                key=f"{t.host}:cut-off", hosts=[t.host],
                summary=(_(
                        "{host} is cut off from {to} after line {line}: {why}; the lines after "
                        "it are never typed").format(
                        host=t.host, to=to, line=line, why=why)),
                evidence=[line_ev, Evidence(why, f"change:{line}", host=t.host)],
                fields={"address": t.address, "dev": holder or "its old link"},
                loses_management=[t.host],
            ).marked("introduced"))
    gws = _default_gateways(v) if t.gateways else {}
    for fam in t.gateways:
        if fam not in gws and fam not in t.gw_lost_at:
            t.gw_lost_at[fam] = line
        elif fam in gws and fam in t.gw_lost_at and fam not in t.gw_back_at:
            t.gw_back_at[fam] = line
    for bridge, mac in list(t.macs.items()):
        now = mac_after(t.before, v, bridge)
        if mac is None or now is None or now == mac or not v.addresses_on(bridge):
            continue
        t.macs[bridge] = now
        shown = _("a random local MAC") if now == RANDOM else now
        out.append(BRIDGE_MAC_MOVES.finding(
            key=f"{t.host}:{bridge}:{line}", hosts=[t.host],
            summary=_("{host}: {bridge}'s MAC moves from {mac} to {shown} after line {line}; "
                      "it carries {cidrs}").format(
                host=t.host, bridge=bridge, mac=mac, shown=shown, line=line,
                cidrs=", ".join(a.cidr for a in v.addresses_on(bridge))),
            evidence=[line_ev, v.ovs_evidence(_(
                    "{bridge} has no other_config:hwaddr").format(
                    bridge=bridge),
                                              "Bridge", bridge)],
            fields={"bridge": bridge, "mac": mac, "host": t.host},
        ).marked("introduced"))
    return out


def operator_address(text: str | None) -> str | None:
    """`--from ADDR`, or $SSH_CLIENT's first word ("10.0.0.5 51234 22"); None if neither is
    an IP address."""
    if not text:
        return None
    word = text.split()[0] if text.split() else ""
    try:
        return str(ipaddress.ip_address(word))
    except ValueError:
        return None
