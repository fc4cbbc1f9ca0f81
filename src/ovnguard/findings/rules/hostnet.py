"""How each host's own addresses ride OVS: addresses OVS swallows, bridges that pass nothing
after a restart, bridge MACs that move, a control plane that depends on a provider bridge."""

from __future__ import annotations

from ovnguard.findings.finding import Finding, Severity
from ovnguard.findings.registry import RuleSpec, host_rule
from ovnguard.i18n import N_, _
from ovnguard.model.bridgemac import current_mac
from ovnguard.model.evidence import Evidence
from ovnguard.model.host import HostView, parse_remote_targets

GROUP = N_("Host networking under OVS")


# --------------------------------------------------------------------------- ip-on-ovs-port

IP_ON_OVS_PORT = RuleSpec(
    id="ip-on-ovs-port",
    severity=Severity.high,
    group=GROUP,
    title=N_("An IP address is on a NIC that is an OVS port"),
    why=N_(
        "Once a NIC is a port of an OVS bridge, OVS takes every frame that arrives on it; the "
        "kernel IP stack behind the NIC's own address no longer receives anything (OVS FAQ: "
        "'I added my Ethernet port to a bridge and now I can't reach the machine'). The "
        "address has to move to the bridge's internal port. When it is the management "
        "address, adding the NIC to the bridge cuts the host off at that moment."
    ),
    severity_note=N_(
        "The finding predicts loss of management (verdict dangerous) when the address "
        "is the host's management address."
    ),
    remediation_template=N_(
        "Move {cidr} and the routes via {ifname} to {bridge}'s internal port in one step "
        "(`ip addr del {cidr} dev {ifname}; ip addr add {cidr} dev {bridge}; ip link set "
        "{bridge} up` plus the default route), from a console -- or keep {ifname} out of "
        "{bridge}."
    ),
    example=N_(
        "compute4: enp6s18 holds 10.10.0.41/24 and the change runs `ovs-vsctl add-port br-ex "
        "enp6s18` -> `compute4: 10.10.0.41/24 (its management address) is on enp6s18, a port "
        "of br-ex: OVS takes its traffic, compute4 loses management`"
    ),
)


@host_rule(IP_ON_OVS_PORT)
def ip_on_ovs_port(v: HostView) -> list[Finding]:
    out: list[Finding] = []
    for a in v.global_addresses():
        c = v.carrier(a.ifname)
        if c.kind != "ovs-nic" or c.bridge is None:
            continue
        m = v.management
        is_mgmt = m is not None and m.address == a.address
        lose = [v.name] if is_mgmt else []
        tail = (f", {v.name} loses management" if is_mgmt
                else "; that address no longer answers")
        mev = list(m.evidence) if is_mgmt and m is not None else []
        outcome = Evidence(
            f"frames arriving on {a.ifname} go to OVS bridge {c.bridge}, not to "
            f"{a.cidr}" + tail, "rule:ip-on-ovs-port", None, a.ifname, v.name)
        out.append(IP_ON_OVS_PORT.finding(
            key=f"{v.name}:{a.ifname}:{a.cidr}",
            hosts=[v.name],
            summary=(_(
                    "{name}: {cidr}{value} is on {ifname}, a port of {bridge}: OVS takes its "
                    "traffic{tail}").format(
                    name=v.name, cidr=a.cidr,
                    value=' (its management address)' if is_mgmt else '', ifname=a.ifname,
                    bridge=c.bridge, tail=tail)),
            evidence=[v.address_evidence(a), *c.evidence, *mev, outcome],
            chain=[*c.evidence, v.address_evidence(a), outcome],
            fields={"cidr": a.cidr, "ifname": a.ifname, "bridge": c.bridge},
            loses_management=lose,
        ))
    return out


# --------------------------------------------------------------------------- secure, no controller

MGMT_BRIDGE_SECURE = RuleSpec(
    id="mgmt-bridge-secure-no-controller",
    severity=Severity.high,
    group=GROUP,
    title=N_("The management bridge is fail_mode=secure with no controller"),
    why=N_(
        "In fail_mode=secure OVS installs no flows of its own; only a controller does. With "
        "no Controller row, nothing programs the bridge after ovs-vswitchd restarts (reboot, "
        "package upgrade): its flow table is empty and it passes nothing, so a host whose "
        "management rides it is cut off at boot, usually discovered at the worst time. "
        "(br-int is secure by design: ovn-controller programs it over its management socket, "
        "so it is not flagged.)"
    ),
    severity_note=N_(
        "It predicts loss of management at the next restart, so it makes the verdict "
        "dangerous (a node that does not come back after a reboot)."
    ),
    remediation_template=N_(
        "`ovs-vsctl set-fail-mode {bridge} standalone` on {host} (or give {bridge} a "
        "controller that programs it), before the next restart."
    ),
    example=N_(
        "compute1: br-ex carries 10.10.0.21/24 and `ovs-vsctl set-fail-mode br-ex secure` "
        "-> `compute1: br-ex carries its management address and is fail_mode=secure with no "
        "controller: after a restart it passes nothing`"
    ),
)


@host_rule(MGMT_BRIDGE_SECURE)
def mgmt_bridge_secure(v: HostView) -> list[Finding]:
    out: list[Finding] = []
    m = v.management
    if m is None or m.bridge is None or m.bridge == v.integration_bridge:
        return out
    br = v.bridges.get(m.bridge)
    if br is None or br.fail_mode != "secure" or br.controllers:
        return out
    fm = v.ovs_evidence(_("{name} fail_mode=secure, no controller").format(name=br.name),
        "Bridge", br.name)
    outcome = Evidence(
        _(
                "after ovs-vswitchd restarts, {name} has no flows and passes nothing: "
                "{name2} is unreachable at {cidr}").format(
                name=br.name, name2=v.name, cidr=m.cidr),
                    "rule:mgmt-bridge-secure-no-controller",
        None, br.name, v.name)
    carrier = m.carrier.evidence if m.carrier else ()
    out.append(MGMT_BRIDGE_SECURE.finding(
        key=f"{v.name}:{br.name}",
        hosts=[v.name],
        summary=(_(
                "{name}: {name2} carries its management address {cidr} and is "
                "fail_mode=secure with no controller: after a restart it passes nothing and "
                "{name} is cut off").format(
                name=v.name, name2=br.name, cidr=m.cidr)),
        evidence=[*m.evidence, *carrier, fm, outcome],
        chain=[*m.evidence, *carrier, fm, outcome],
        fields={"bridge": br.name, "host": v.name},
        loses_management=[v.name],
    ))
    return out


# --------------------------------------------------------------------------- hwaddr

BRIDGE_HWADDR = RuleSpec(
    id="bridge-hwaddr-unpinned",
    severity=Severity.low,
    group=GROUP,
    title=N_("An IP-carrying bridge has no pinned MAC"),
    why=N_(
        "Without other_config:hwaddr, ovs-vswitchd gives a bridge the lowest MAC among its "
        "ports (vswitchd/bridge.c; bond: first member). Adding or removing a NIC changes the "
        "bridge's MAC and the host's address moves to a new MAC: upstream ARP and MAC tables "
        "go stale until they expire (the seed incident's 'bridge MAC reset'). OVN's patch "
        "ports have random local MACs and are skipped, so ovn-controller never moves it."
    ),
    severity_note=N_("A transient outage, on NIC changes only."),
    remediation_template=N_(
        "Pin it to the current MAC: `ovs-vsctl set bridge {bridge} "
        "other_config:hwaddr={mac}` on {host}."
    ),
    example=N_(
        "compute1: br-ex holds 10.10.0.21/24, its NIC enp6s18, no other_config:hwaddr -> "
        "`compute1: br-ex carries 10.10.0.21/24 but its MAC is not pinned`"
    ),
)


@host_rule(BRIDGE_HWADDR)
def bridge_hwaddr(v: HostView) -> list[Finding]:
    out: list[Finding] = []
    for br in v.bridges.values():
        if br.name == v.integration_bridge or br.hwaddr or not br.nics:
            continue
        addrs = v.addresses_on(br.name)
        if not addrs:
            continue
        mac = current_mac(v, br.name)
        nics = ", ".join(f"{n.name}" + (f" ({n.mac_in_use})" if n.mac_in_use else "")
                         for n in br.nics)
        cidrs = ", ".join(a.cidr for a in addrs)
        out.append(BRIDGE_HWADDR.finding(
            key=f"{v.name}:{br.name}",
            hosts=[v.name],
            summary=(_(
                    "{name}: {name2} carries {cidrs} but other_config:hwaddr is not set: its "
                    "MAC follows the lowest MAC of its NICs ({nics}) and changes when a NIC "
                    "is added or removed").format(
                    name=v.name, name2=br.name, cidrs=cidrs, nics=nics)),
            evidence=[*(v.address_evidence(a) for a in addrs),
                      v.ovs_evidence(_(
                              "{name} has no other_config:hwaddr; NICs: {nics}").format(
                              name=br.name, nics=nics),
                                     "Bridge", br.name)],
            fields={"bridge": br.name, "mac": mac or "<its current MAC>", "host": v.name},
        ))
    return out


# --------------------------------------------------------------------------- control plane

CONTROL_PLANE = RuleSpec(
    id="control-plane-via-provider-bridge",
    severity=Severity.high,
    group=GROUP,
    title=N_("The route to the OVN databases goes through a provider bridge"),
    why=N_(
        "ovn-controller reaches the Southbound DB (external_ids:ovn-remote), and "
        "neutron-server the NB/SB (ml2_conf.ini [ovn]), over the host's routes. When that "
        "route leaves through a bridge that ovn-bridge-mappings also patches logical "
        "switches into, a mistake on a provider network (a loop, an address conflict) cuts "
        "the very path the fix would arrive on: ovn-controller keeps the broken state, and "
        "`ovn-nbctl lsp-del` from the controller no longer reaches the host."
    ),
    severity_note=N_("It makes every provider-network mistake unrecoverable remotely. Info on "
                   "hosts deployed by ovn-kubernetes, whose shared gateway mode routes the "
                   "node's traffic over the gateway bridge by design."),
    remediation_template=N_(
        "Route {remote} over an interface outside OVS (the management NIC), or unmap "
        "{bridge} ({physnets}) on {host}; see `ovnguard plan separate-nic`."
    ),
    example=N_(
        "compute1: ovn-remote=tcp:10.10.0.10:6642, route 10.10.0.0/24 dev br-ex, "
        "ovn-bridge-mappings=physnet2:br-ex -> `compute1: the route to tcp:10.10.0.10:6642 "
        "(SB) leaves through br-ex, which physnet2 is mapped to`"
    ),
)


def _remotes(v: HostView) -> list[tuple[str, str, str | None, Evidence]]:
    """(what, target, ip, evidence) for the OVN DB connections this host makes."""
    out: list[tuple[str, str, str | None, Evidence]] = []
    for target, ip in v.ovn_remote_targets():
        out.append(("SB", target, ip, v.ovs_evidence(
            _("ovn-remote is {ovn_remote}").format(ovn_remote=v.ovn_remote), "Open_vSwitch",
                "external_ids:ovn-remote")))
    for rel, sections in sorted(v.state.neutron.items()):
        ovn = sections.get("ovn", {})
        for key, what in (("ovn_nb_connection", "NB"), ("ovn_sb_connection", "SB")):
            val = ovn.get(key)
            for target, ip in parse_remote_targets(val):
                out.append((what, target, ip, v.neutron_evidence(
                    _("[ovn] {key} = {val}").format(key=key, val=val), rel, key)))
    return out


@host_rule(CONTROL_PLANE)
def control_plane_via_provider_bridge(v: HostView) -> list[Finding]:
    out: list[Finding] = []
    provider = v.provider_bridges
    if not provider:
        return out
    seen: set[str] = set()
    for what, target, ip, ev in _remotes(v):
        if ip is None or target in seen:
            continue
        m = v.route_to(ip)
        if m is None or m.route is None or m.dev is None:
            continue
        c = v.carrier(m.dev)
        if c.bridge is None or c.bridge not in provider:
            continue
        seen.add(target)
        physnets = ", ".join(provider[c.bridge])
        mapping = v.mappings_evidence()
        # ovn-kubernetes' shared gateway mode routes the node's traffic over br-ex on
        # purpose: said at info, not flagged as a fault
        by_design = v.state.deployment == "ovn-kubernetes"
        summary = (_(
                "{name}: the route to {target} ({what}) leaves through {bridge}, which "
                "{physnets} is mapped to: a provider-network mistake cuts this host off from "
                "the OVN databases").format(
                name=v.name, target=target, what=what, bridge=c.bridge, physnets=physnets))
        if by_design:
            summary += (_(
                    " (by design in ovn-kubernetes' shared gateway mode, not a "
                    "misconfiguration)"))
        out.append(CONTROL_PLANE.finding(
            key=f"{v.name}:{target}",
            hosts=[v.name],
            severity=Severity.info if by_design else None,
            summary=summary,
            evidence=[ev, *m.evidence, *c.evidence, mapping],
            chain=[ev, *m.evidence, *c.evidence, mapping],
            fields={"remote": target, "bridge": c.bridge, "physnets": physnets,
                    "host": v.name},
        ))
    return out
