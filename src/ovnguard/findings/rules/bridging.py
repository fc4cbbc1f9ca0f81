"""Logical switches bridged onto physical segments: into the management LAN, twice into the
same LAN (a loop), or onto addresses the hosts already use."""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from collections.abc import Callable
from functools import partial

from ovnguard.findings.context import RuleContext, port_tag
from ovnguard.findings.finding import Finding, Severity
from ovnguard.findings.registry import RuleSpec, rule
from ovnguard.i18n import N_, _
from ovnguard.model.db import Row
from ovnguard.model.evidence import Evidence
from ovnguard.model.host import COLLECT_HOSTS, HostView, IpNet, hosts_in
from ovnguard.model.hostnames import few_hosts
from ovnguard.model.snapshot import IpAddress
from ovnguard.record import record
from ovnguard.simulation.types import PatchPort

GROUP = N_("Bridging logical switches onto physical segments")


def _mgmt_touch(ctx: RuleContext, v: HostView, bridge: str) -> tuple[list[Evidence], set[IpNet]]:
    """Evidence that `bridge` is part of a management L2 segment on `v`, and which."""
    evs: list[Evidence] = []
    nets: set[IpNet] = set()
    m = v.management
    if m is not None and m.bridge == bridge:
        evs.extend(m.evidence)
        if m.carrier is not None:
            evs.extend(m.carrier.evidence)
        evs.append(Evidence(_(
                "{name}'s management address {cidr} rides {bridge}").format(
                name=v.name, cidr=m.cidr, bridge=bridge),
                            "rule", None, bridge, v.name))
        if m.network is not None:
            nets.add(m.network)
    mgmt_nets = ctx.management_networks()
    for a in v.addresses_on_bridge(bridge):
        for n in mgmt_nets:
            if ctx.ip_in(a.address, {n}) and n not in nets:
                seg = ctx.segment_of(n)
                who = ", ".join(seg.hosts) if seg else ""
                evs.append(v.address_evidence(a))
                evs.append(Evidence(_(
                        "{cidr} on {bridge} is in management subnet {n} ({who})").format(
                        cidr=a.cidr, bridge=bridge, n=n, who=who), "rule", None, bridge, v.name))
                nets.add(n)
    return evs, nets


# --------------------------------------------------------------------------- mgmt-bridge-localnet

BY_DESIGN = "ovn-kubernetes"  # HostState.deployment whose gateway bridge carries the node IP

MGMT_BRIDGE_LOCALNET = RuleSpec(
    id="mgmt-bridge-localnet",
    severity=Severity.high,
    group=GROUP,
    title=N_("A logical switch is bridged into the management network"),
    why=N_(
        "ovn-controller realizes a localnet (or l2gateway) port as a patch pair between br-int "
        "and the bridge its physnet is mapped to (controller/patch.c), on every chassis where "
        "the switch is a local datapath. When that bridge also carries the host's management "
        "address (its internal port holds the IP, or its NIC does), the logical switch and "
        "the management LAN become one broadcast domain: VM and router ARP, DHCP and "
        "broadcasts reach the management LAN, and any address or loop mistake on the logical "
        "switch hits the hosts' own reachability (the seed incident: br-ex held enp6s18 and "
        "the management IP)."
    ),
    severity_note=N_(
        "Not critical: this alone is how many small clouds run; it is the precondition "
        "that turns l2-loop and address-conflict into a cluster-wide outage. Info on "
        "hosts deployed by ovn-kubernetes (hosts/<host>/deployment.json): its shared "
        "gateway mode keeps the node IP on the gateway bridge by design."
    ),
    remediation_template=N_(
        "Separate the NICs: keep the management address on a NIC (or bridge) that no "
        "ovn-bridge-mappings entry names, and map {physnet} to a bridge with its own uplink, "
        "e.g. `ovs-vsctl set open . external_ids:ovn-bridge-mappings={physnet}:br-public` "
        "with `ovs-vsctl add-br br-public -- add-port br-public eth2`; plan it with "
        "`ovnguard plan separate-nic` and apply it from a console, not over {bridge}."
    ),
    example=N_(
        "compute1: br-ex holds enp6s18 and 10.10.0.21/24 (its management address); "
        "ovn-bridge-mappings=physnet2:br-ex; provnet-1 (localnet, physnet2) of neutron-pub is "
        "local there -> `logical switch neutron-pub is bridged into the management segment "
        "10.10.0.0/24 through br-ex (provnet-1) on compute1`"
    ),
)


@rule(MGMT_BRIDGE_LOCALNET)
def mgmt_bridge_localnet(ctx: RuleContext) -> list[Finding]:
    groups: dict[tuple[str, str], list[tuple[HostView, PatchPort, list[Evidence], set[IpNet]]]]
    groups = defaultdict(list)
    for v in ctx.views():
        for pp in ctx.provider_patches(v.name):
            evs, touched = _mgmt_touch(ctx, v, pp.bridge)
            if not evs:
                continue
            sw = ctx.switch_name(pp.lport) or "?"
            groups[(sw, pp.lport)].append((v, pp, evs, touched))
    out: list[Finding] = []
    for (sw, lport), all_members in sorted(groups.items()):
        # ovn-kubernetes' shared gateway mode puts the node IP on br-ex and patches the
        # node's external switch into it on purpose: said, not flagged (l2-loop still is)
        by_design = [m for m in all_members if m[0].state.deployment == BY_DESIGN]
        others = [m for m in all_members if m[0].state.deployment != BY_DESIGN]
        for members, design in ((others, False), (by_design, True)):
            if members:
                out.append(_mgmt_finding(ctx, sw, lport, members, design))
    return out


def _mgmt_finding(ctx: RuleContext, sw: str, lport: str,
                  members: list[tuple[HostView, PatchPort, list[Evidence], set[IpNet]]],
                  by_design: bool) -> Finding:
    evidence: list[Evidence] = list(ctx.lport_facts(lport))
    chain: list[Evidence] = list(evidence)
    nets: set[IpNet] = set()
    bridges: set[str] = set()
    for i, (v, pp, evs, n) in enumerate(members):
        facts = [*ctx.realization_facts(v.name, pp), *ctx.bridge_facts(v, pp.bridge), *evs]
        evidence.extend(facts)
        if i == 0:
            chain.extend(facts)
        nets |= n
        bridges.add(pp.bridge)
    hosts = [v.name for v, *_ in members]
    seg = ", ".join(sorted(str(n) for n in nets)) or _("of the hosts")
    physnet = members[0][1].network_name or "?"
    summary = (_(
            "logical switch {sw} is bridged into the management segment {seg} through {bridges} "
            "({lport}, physnet {physnet}) on {count} host(s): {hosts}").format(
            sw=sw, seg=seg, bridges='/'.join(sorted(bridges)), lport=lport, physnet=physnet,
            count=len(hosts), hosts=few_hosts(hosts)))
    if by_design:
        summary += (_(
                " -- by design: ovn-kubernetes' shared gateway mode keeps the node IP on the "
                "gateway bridge; not a misconfiguration, but a second localnet port there loops "
                "the node's own LAN"))
        evidence.append(Evidence(_(
                "{hosts}: deployed by ovn-kubernetes (deployment.json, or the NB's "
                "ovn-kubernetes cluster router)").format(
                hosts=few_hosts(hosts)),
                                 "rule", None, None, hosts[0]))
    return MGMT_BRIDGE_LOCALNET.finding(
        key=f"{sw}/{lport}" + ("/by-design" if by_design else ""),
        hosts=hosts,
        summary=summary,
        evidence=evidence,
        chain=chain,
        fields={"physnet": physnet, "bridge": "/".join(sorted(bridges))},
        severity=Severity.info if by_design else None,
    )


# --------------------------------------------------------------------------- l2-loop

L2_LOOP = RuleSpec(
    id="l2-loop",
    severity=Severity.critical,
    group=GROUP,
    title=N_("Two localnet ports of one switch on one bridge: an L2 loop"),
    why=N_(
        "Nothing in ovn-nbctl or ovn-northd rejects a second localnet port on a switch. "
        "ovn-controller 23.03 warns `localnet port 'A' already set for datapath, skipping the "
        "new port 'B'` and still creates both patch pairs (measured, docs/measurements.md). "
        "The switch's "
        "flood group sends a broadcast that arrived from one localnet out of the other, so a "
        "broadcast entering the bridge from its NIC goes bridge -> patch A -> br-int -> patch "
        "B -> bridge ... (`ofproto/trace`: over max translation depth 64, 64 copies out of "
        "the NIC per packet). The bridge then learns the upstream router's MAC on a patch "
        "port and the host's own unicast to it is dropped; with two looped hosts on one LAN "
        "the storm sustains itself from ovn-controller's GARPs and reaches every machine on "
        "that LAN -- hosts with no misconfiguration, and the hypervisor. Two physnets mapped "
        "to the same bridge loop the same way. With different VLAN tags the two ports do not "
        "loop but bridge the two VLANs together."
    ),
    severity_note=N_(
        "It takes down management of every host on the segment at once, which is "
        "what the seed incident saw. Also critical when the host's files are missing (a "
        "check with NB and SB only): a provider bridge normally has an uplink, so unknown is "
        "not safe. High when the bridge is known to hold no NIC (the copies stay inside the "
        "host)."
    ),
    remediation_template=N_(
        "Keep one localnet port per physical network on {switch}: delete the extra one "
        "(`ovn-nbctl lsp-del {extra}`), and if a second physnet is needed map it to a bridge "
        "with its own uplink. If it is already looping, deleting the port stops it within "
        "~50 ms (measured); run it from a console or a host off the looped segment."
    ),
    example=N_(
        "neutron-pub has provnet-1 (physnet2); the change adds ln-physnet2 (localnet, "
        "physnet2); compute1 and net1 map physnet2:br-ex, br-ex holds enp6s18 and the "
        "management address -> `L2 loop: neutron-pub's localnet ports ln-physnet2, provnet-1 "
        "are both on br-ex of compute1, net1 ...; hosts managed in 10.10.0.0/24 lose "
        "management`"
    ),
)


def _nics(v: HostView, bridge: str) -> list[str]:
    br = v.bridges.get(bridge)
    return [n.name for n in br.nics] if br is not None else []


@record
class _Loop:
    host: HostView
    bridge: str
    ports: tuple[PatchPort, ...]


@rule(L2_LOOP)
def l2_loop(ctx: RuleContext) -> list[Finding]:
    loops: dict[tuple[str, tuple[str, ...]], list[_Loop]] = defaultdict(list)
    for v in ctx.views():
        by_bridge_switch: dict[tuple[str, str], list[PatchPort]] = defaultdict(list)
        for pp in ctx.provider_patches(v.name):
            sw = ctx.switch_name(pp.lport)
            if sw is not None:
                by_bridge_switch[(pp.bridge, sw)].append(pp)
        for (bridge, sw), pps in sorted(by_bridge_switch.items()):
            lports = tuple(sorted({p.lport for p in pps}))
            if len(lports) >= 2:
                loops[(sw, lports)].append(_Loop(v, bridge, tuple(sorted(pps))))
    out: list[Finding] = []
    views = list(ctx.views())
    for (sw, lports), members in sorted(loops.items()):
        tags = {port_tag(ctx.nb.lsps[lp]) if lp in ctx.nb.lsps else None for lp in lports}
        vlan_bridge = len(tags) > 1
        evidence: list[Evidence] = []
        chain: list[Evidence] = []
        for lp in lports:
            facts = ctx.lport_facts(lp)
            evidence.extend(facts)
            chain.extend(facts)
        nets: set[IpNet] = set()
        per_net: dict[IpNet, int] = defaultdict(int)  # looped hosts on each segment
        lose: set[str] = set()
        looped = []
        for i, lo in enumerate(members):
            v = lo.host
            looped.append(v.name)
            facts = []
            for pp in lo.ports:
                facts.extend(ctx.realization_facts(v.name, pp))
            facts.extend(ctx.bridge_facts(v, lo.bridge))
            evs, mnets = _mgmt_touch(ctx, v, lo.bridge)
            facts.extend(evs)
            evidence.extend(facts)
            if i == 0:
                chain.extend(facts)
            member_nets = ctx.bridge_networks(v, lo.bridge) | mnets
            for n in member_nets:
                per_net[n] += 1
            nets |= member_nets
            m = v.management
            if m is not None and m.bridge == lo.bridge:
                lose.add(v.name)
        first = members[0]
        # Unknown (no host files: predicted from SB) is not "no uplink": only a bridge known
        # to hold no NIC keeps the loop inside its host.
        unknown = [lo.host.name for lo in members if not lo.host.bridges_known]
        uplinked = [lo for lo in members
                    if not lo.host.bridges_known or _nics(lo.host, lo.bridge)]
        nic_names = _nics(first.host, first.bridge)
        nic = nic_names[0] if nic_names else _("its NIC")
        a, b = (p.port for p in first.ports[:2])
        segment_hosts = hosts_in(views, nets)
        blast = sorted(set(looped) | set(segment_hosts))
        seg_text = ", ".join(sorted(str(n) for n in nets))
        storm: set[IpNet] = set()
        if vlan_bridge:
            severity = Severity.high
            tag_text = ", ".join(str(t) if t else "untagged" for t in sorted(tags, key=str))
            consequence = (
                _(
                        "the ports carry different VLAN tags ({tag_text}): {bridge} bridges "
                        "those VLANs into one broadcast domain").format(
                        tag_text=tag_text, bridge=first.bridge)
            )
            lose_hosts: set[str] = set()
        elif not uplinked:
            # Every looped bridge is known to hold no NIC: the copies stay inside the host.
            severity = Severity.high
            lose_hosts = set()
            consequence = (
                _(
                        "{bridge} holds no NIC, so a broadcast on {sw} goes {a} -> {bridge} -> "
                        "{b} -> br-int ... until OVS stops at translation depth 64 inside the "
                        "host; nothing reaches a LAN, but adding an uplink to {bridge} makes it "
                        "a storm").format(
                        bridge=first.bridge, sw=sw, a=a, b=b)
            )
        else:
            severity = Severity.critical
            # One looped host amplifies (64 copies per broadcast) and loses its own unicast;
            # two on one LAN feed each other: a self-sustaining storm for everyone on it.
            storm = {n for n, count in per_net.items() if count >= 2}
            lose_hosts = lose | set(hosts_in(views, storm))
            if first.host.bridges_known:
                consequence = (
                    _(
                            "a broadcast entering {bridge} from {nic} goes {bridge} -> {a} -> "
                            "br-int -> {b} -> {bridge} ... (64 copies per packet out of {nic}); "
                            "{bridge} learns the router's MAC on a patch port and the host's own "
                            "unicast to it is dropped").format(
                            bridge=first.bridge, nic=nic, a=a, b=b)
                )
            else:
                consequence = (
                    _(
                            "{bridge} and br-int are looped through {a} and {b}; a provider "
                            "bridge normally has an uplink, and then a broadcast entering from "
                            "it goes {bridge} -> {a} -> br-int -> {b} -> {bridge} ... (64 copies "
                            "per packet out of the uplink), {bridge} learns the router's MAC on "
                            "a patch port and the host's own unicast through it is dropped").format(
                            bridge=first.bridge, a=a, b=b)
                )
        outcome = [Evidence(_(
                "on {name}: {consequence}").format(
                name=first.host.name, consequence=consequence), "rule:l2-loop",
                            None, first.bridge, first.host.name)]
        # Hosts whose addresses are missing too: who loses management there is unknown.
        blind = [lo.host.name for lo in members
                 if not lo.host.bridges_known and lo.host.state.addresses is None]
        if blind and not vlan_bridge:
            outcome.append(Evidence(
                _(
                        "unknown for {blind} (no host files): which LAN the copies flood and "
                        "which hosts lose management there").format(
                        blind=few_hosts(blind)), "not collected", "Bridge",
                first.bridge))
        if not vlan_bridge and nets:
            others = few_hosts(segment_hosts) or _("no other collected host")
            lost_text = few_hosts(lose_hosts) or _("none")
            if storm:
                spread = (_(
                        "{count} looped hosts on one LAN feed each other's copies back: a "
                        "self-sustaining storm reaches every machine on it").format(
                        count=len(looped)))
            else:
                spread = (_(
                        "one looped host sends 64 copies of every broadcast to every machine on "
                        "it"))
            outcome.append(Evidence(
                _(
                        "{seg_text} is one broadcast domain: {spread} ({others}, and any machine "
                        "on that LAN not in the bundle); predicted to lose management: "
                        "{lost_text}").format(
                        seg_text=seg_text, spread=spread, others=others, lost_text=lost_text),
                "rule:l2-loop"))
        chain.extend(outcome)
        evidence.extend(outcome)
        where = few_hosts(looped)
        summary = (_(
                "L2 loop: {sw}'s localnet ports {lports} are both on {bridge} of {where}: "
                "{consequence}").format(
                sw=sw, lports=', '.join(lports), bridge=first.bridge, where=where,
                consequence=consequence))
        if vlan_bridge:
            summary = (_(
                    "VLAN bridging: {sw}'s localnet ports {lports} are both on {bridge} of "
                    "{where}: {consequence}").format(
                    sw=sw, lports=', '.join(lports), bridge=first.bridge, where=where,
                    consequence=consequence))
        elif nets:
            flood = _("the storm floods") if storm else _("the copies flood")
            summary += (_(
                    "; {flood} {seg_text}, {count} host(s) lose management: {lose_hosts}").format(
                    flood=flood, seg_text=seg_text, count=len(lose_hosts),
                    lose_hosts=few_hosts(lose_hosts)))
        if unknown and not vlan_bridge and uplinked:
            if blind:
                summary += _("; unknown without host files: whether {bridge} of {hosts} has an "
                             "uplink and carries management ({blind}) (`{collect}` collects "
                             "it)").format(bridge=first.bridge, hosts=few_hosts(unknown),
                                           blind=few_hosts(blind), collect=COLLECT_HOSTS)
            else:
                summary += _("; unknown without host files: whether {bridge} of {hosts} has an "
                             "uplink (`{collect}` collects it)").format(
                    bridge=first.bridge, hosts=few_hosts(unknown), collect=COLLECT_HOSTS)
        extra = lports[-1]
        for lp in lports:
            if not lp.startswith("provnet-"):
                extra = lp
                break
        out.append(L2_LOOP.finding(
            key=f"{sw}:{'+'.join(lports)}",
            hosts=blast,
            summary=summary,
            evidence=evidence,
            chain=chain,
            fields={"switch": sw, "extra": extra},
            severity=severity,
            loses_management=lose_hosts,
        ))
    return out


# --------------------------------------------------------------------------- address-conflict

ADDRESS_CONFLICT = RuleSpec(
    id="address-conflict",
    severity=Severity.high,
    group=GROUP,
    title=N_("A logical address collides with a host address on the bridged segment"),
    why=N_(
        "Once a logical switch is bridged onto a physical segment, its router ports, VIFs and "
        "NAT external IPs answer ARP on that segment. An address equal to a host's address "
        "there makes the upstream switch and router flip the MAC for it between the host and "
        "OVN (ARP/MAC flip): the host loses the address's traffic. A provider subnet equal to "
        "the management subnet hands management addresses to VMs and routers sooner or later."
    ),
    severity_note=N_("It silently steals a host's traffic; critical needs a loop."),
    remediation_template=N_(
        "Give {switch} addresses outside the hosts' subnet ({address} is {owner}'s), e.g. a "
        "separate provider subnet/VLAN, or exclude host addresses from the allocation pool; "
        "never put the management subnet on a provider network that is bridged into it."
    ),
    example=N_(
        "neutron-pub is bridged into 10.10.0.0/24 through br-ex, and its router port lrp-gw "
        "has 10.10.0.21/24 = compute1's management address -> `10.10.0.21 is both compute1's "
        "address on br-ex and router port lrp-gw of neutron-pub ...`"
    ),
)


def _lsp_ips(p: Row) -> list[str]:
    """IPs in `addresses` ("MAC IP ...") and `dynamic_addresses`; "unknown", "router" and
    "dynamic" entries carry none."""
    out: list[str] = []
    dyn = p.opt("dynamic_addresses")
    for entry in (*p.set("addresses"), *((dyn,) if dyn else ())):
        for tok in str(entry).split()[1:]:
            try:
                out.append(str(ipaddress.ip_address(tok.partition("/")[0])))
            except ValueError:
                continue
    return out


_LSP_FACT = N_("Logical_Switch_Port {name} of {sw} has address {ip}")
_LRP_FACT = N_("router port {name} of {name2} on {sw} has {net}")
_NAT_FACT = N_("NAT ({get}) of {name} has external_ip {ext}")


def _nb_fact(ctx: RuleContext, template: str, table: str, row: str, **kw: object) -> Evidence:
    return ctx.nb_evidence(_(template).format(**kw), table, row)


@rule(ADDRESS_CONFLICT)
def address_conflict(ctx: RuleContext) -> list[Finding]:
    # switch -> bridged nets -> [(host, bridge)]
    bridged: dict[str, dict[IpNet, set[tuple[str, str]]]] = defaultdict(lambda: defaultdict(set))
    for v in ctx.views():
        for pp in ctx.provider_patches(v.name):
            sw = ctx.switch_name(pp.lport)
            if sw is None:
                continue
            for n in ctx.bridge_networks(v, pp.bridge):
                bridged[sw][n].add((v.name, pp.bridge))
    if not bridged:
        return []
    mgmt_nets = ctx.management_networks()
    host_addrs: dict[str, list[tuple[HostView, IpAddress]]] = defaultdict(list)
    for v in ctx.views():
        for a in v.global_addresses():
            host_addrs[a.address].append((v, a))
    out: list[Finding] = []
    for sw, by_net in sorted(bridged.items()):
        ls = ctx.snapshot.nb.find_one("Logical_Switch", sw)
        if ls is None:
            continue
        nets = set(by_net)
        # each logical address with what says so, written only for an address that is in
        # a bridged subnet (a provider network's switch has thousands of ports)
        logical: list[tuple[str, int | None, Callable[[], Evidence]]] = []
        for p in ctx.nb.switch_ports(ls):
            for ip in _lsp_ips(p):
                logical.append((ip, None, partial(
                    _nb_fact, ctx, _LSP_FACT, "Logical_Switch_Port", p.name,
                    name=p.name, sw=sw, ip=ip)))
        for _lsp, lrp, lr in ctx.nb.routers_on(ls):
            for net in lrp.set("networks"):
                lip, _sep, lplen = str(net).partition("/")
                logical.append((lip, int(lplen) if lplen.isdigit() else None, partial(
                    _nb_fact, ctx, _LRP_FACT, "Logical_Router_Port", lrp.name,
                    name=lrp.name, name2=lr.name, sw=sw, net=net)))
            for nat in ctx.nb.nats(lr):
                ext = str(nat.get("external_ip", ""))
                logical.append((ext, None, partial(
                    _nb_fact, ctx, _NAT_FACT, "NAT", str(nat.uuid),
                    get=nat.get('type'), name=lr.name, ext=ext)))
        seen_subnets: set[IpNet] = set()
        made: set[str] = set()
        for ip, plen, make_lev in logical:
            if not ctx.ip_in(ip, nets):
                continue
            lev = make_lev()
            for hv, a in host_addrs.get(ip, ()):
                if f"{sw}:{ip}" in made:
                    continue
                made.add(f"{sw}:{ip}")
                where = sorted(by_net[next(n for n in nets if ctx.ip_in(ip, {n}))])
                m = hv.management
                is_mgmt = m is not None and m.address == ip
                bridge_ev = [Evidence(_(
                        "{sw} is bridged onto {b} on {h}").format(
                        sw=sw, b=b, h=h), "rule", None, b, h)
                             for h, b in where]
                out.append(ADDRESS_CONFLICT.finding(
                    key=f"{sw}:{ip}",
                    hosts=[hv.name],
                    summary=(_("{ip} is both {host}'s address on {ifname} (its management "
                               "address) and a logical address on {sw}, which is bridged onto "
                               "that segment: ARP/MAC flip, {host} loses management")
                             if is_mgmt else
                             _("{ip} is both {host}'s address on {ifname} and a logical "
                               "address on {sw}, which is bridged onto that segment: ARP/MAC "
                               "flip")).format(ip=ip, host=hv.name, ifname=a.ifname, sw=sw),
                    evidence=[lev, hv.address_evidence(a), *bridge_ev],
                    chain=[lev, *bridge_ev, hv.address_evidence(a)],
                    fields={"switch": sw, "address": ip, "owner": hv.name},
                    loses_management=[hv.name] if is_mgmt else [],
                ))
            if plen is None:
                continue
            lnet = ipaddress.ip_network(f"{ip}/{plen}", strict=False)
            if lnet in mgmt_nets and lnet in nets and lnet not in seen_subnets:
                seen_subnets.add(lnet)
                seg = ctx.segment_of(lnet)
                seg_hosts = seg.hosts if seg else ()
                out.append(ADDRESS_CONFLICT.finding(
                    key=f"{sw}:subnet:{lnet}",
                    hosts=seg_hosts,
                    summary=(_(
                            "provider subnet {lnet} on {sw} is the management subnet, and {sw} "
                            "is bridged into it: its addresses will collide with the hosts' "
                            "({seg_hosts})").format(
                            lnet=lnet, sw=sw, seg_hosts=', '.join(seg_hosts))),
                    evidence=[lev, *(seg.evidence if seg else ())],
                    fields={"switch": sw, "address": str(lnet),
                            _("owner"): _("the management subnet")},
                ))
    return out
