"""ovn-bridge-mappings: what ovn-controller actually reads from it, and localnet ports that
match nothing."""

from __future__ import annotations

import re

from ovnguard.findings.context import ChangeContext, RuleContext, network_name
from ovnguard.findings.finding import Finding, Severity
from ovnguard.findings.registry import RuleSpec, change_rule, host_rule, rule
from ovnguard.i18n import N_, _
from ovnguard.model.evidence import Evidence
from ovnguard.model.host import HostView
from ovnguard.model.hostnames import few_hosts
from ovnguard.simulation.mappings import named_entries
from ovnguard.textdist import levenshtein

GROUP = N_("Bridge mappings")




def closest(name: str, candidates: set[str], limit: int = 2) -> str | None:
    best = sorted((levenshtein(name, c), c) for c in candidates if c != name)
    if best and best[0][0] <= max(1, min(limit, len(name) // 3)):
        return best[0][1]
    return None


def named_physnets(raw: str | None) -> set[str]:
    """Every physnet the text names, read by ovn-controller or not (for suggestions)."""
    return {n.strip() for n, _ in named_entries(raw) if n.strip()}


def _physnet_of(entry: str) -> str:
    return entry.partition(":")[0].strip()


# --------------------------------------------------------------------------- unmapped-physnet

UNMAPPED_PHYSNET = RuleSpec(
    id="unmapped-physnet",
    severity=Severity.medium,
    group=GROUP,
    title=N_("A localnet port's network_name is mapped on no chassis"),
    why=N_(
        "ovn-controller looks the port's options:network_name up in its own "
        "ovn-bridge-mappings; with no match it creates nothing and logs once, at INFO, "
        "`bridge not found for localnet port '...' with network name '...'; skipping` "
        "(controller/patch.c; measured with `phynet2`). Nothing fails, nothing is connected: "
        "VMs on the switch stay cut off from the physical network, and the next person to "
        "'fix' the typo on a live cloud realizes the port everywhere at once."
    ),
    severity_note=N_(
        "Harmless by itself, but it is a change that does not do what it says, and "
        "correcting it is the dangerous step (see l2-loop)."
    ),
    remediation_template=N_(
        "Check the physical network name: `ovn-nbctl lsp-set-options {lport} "
        "network_name={suggestion}` if that is what was meant -- then run ovnguard again: on "
        "a switch that already has a localnet port for that network it makes an L2 loop."
    ),
    example=N_(
        "`ovn-nbctl lsp-set-options ln-phynet2 network_name=phynet2` while every chassis maps "
        "physnet2 -> `localnet port ln-phynet2 on neutron-pub has network_name=phynet2, which "
        "no chassis maps (did you mean physnet2?)`"
    ),
)


def _physnets_of(v: HostView) -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    """(the physnets `v` maps effectively, those its mappings name, those named only by an
    entry ovn-controller ignores): a function of the host alone, so a what-if reads them
    again only for the hosts it changed (HostView.memo)."""
    bm = v.bridge_mappings
    lost = frozenset(_physnet_of(entry) for pr in bm.problems
                     for entry in (pr.entry, *pr.ignored) if entry)
    return frozenset(bm.mappings), frozenset(named_physnets(v.mappings_raw)), lost


@rule(UNMAPPED_PHYSNET)
def unmapped_physnet(ctx: RuleContext) -> list[Finding]:
    effective: set[str] = set()
    named: set[str] = set()
    any_info = False
    lost_on: dict[str, list[str]] = {}
    for v in ctx.views():
        if not v.mappings_known:  # neither its conf.db nor its SB Chassis row
            continue
        any_info = True
        mapped, names, unused = v.memo("unmapped-physnet", _physnets_of)
        effective |= mapped
        named |= names
        for physnet in unused:
            lost_on.setdefault(physnet, []).append(v.name)
    if not any_info:
        return []
    out: list[Finding] = []
    bridged = ctx.nb.bridged_ports()
    used = {nn for p, _ in bridged if (nn := network_name(p))}
    maps: list[Evidence] | None = None  # every host's mappings: made for a finding only
    for port, ls in bridged:
        nn = network_name(port)
        if nn is None or nn in effective:
            continue
        if maps is None:
            maps = [v.mappings_evidence() for v in ctx.views() if v.mappings_known]
        suggestion = closest(nn, named | used)
        hosts = ctx.local_hosts(ls.name)
        did = _(" (did you mean {suggestion}?)").format(suggestion=suggestion) if suggestion else ""
        lost = ""
        if nn in lost_on:
            lost = (_(
                    "; it is named on {lost_on} but that entry is ignored (see "
                    "malformed-bridge-mappings / mapping-missing-bridge)").format(
                    lost_on=', '.join(sorted(set(lost_on[nn])))))
        where = (_(
                "; {name} is local on {hosts}, which would have realized it").format(
                name=ls.name, hosts=few_hosts(hosts))
                 if hosts else "")
        ptype = str(port.get("type"))
        lport_facts = ctx.lport_facts(port.name)
        log = Evidence(
            _(
                    "ovn-controller logs `bridge not found for {ptype} port '{name}' with "
                    "network name '{nn}'; skipping` and creates no patch port").format(
                    ptype=ptype, name=port.name, nn=nn), "ovn-controller(patch.c)",
            "Port_Binding", port.name)
        out.append(UNMAPPED_PHYSNET.finding(
            key=f"{ls.name}/{port.name}",
            hosts=hosts,
            summary=(_(
                    "{ptype} port {name} on {name2} has network_name={nn}, which no chassis "
                    "maps{did}: nothing is realized anywhere{lost}{where}").format(
                    ptype=ptype, name=port.name, name2=ls.name, nn=nn, did=did, lost=lost,
                    where=where)),
            evidence=[*lport_facts, *maps, log],
            chain=[*lport_facts, log],
            fields={"lport": port.name, "suggestion": suggestion or "<physnet>"},
        ))
    return out


# --------------------------------------------------------------------------- mapping-missing-bridge

MAPPING_MISSING_BRIDGE = RuleSpec(
    id="mapping-missing-bridge",
    severity=Severity.medium,
    group=GROUP,
    title=N_("ovn-bridge-mappings names a bridge that does not exist"),
    why=N_(
        "ovn-controller (add_ovs_bridge_mappings) logs WARN `Bridge 'X' not found for network "
        "'Y'` and skips that entry: localnet ports of that physnet are not realized on this "
        "host until the bridge appears -- and then they all are, at once."
    ),
    severity_note=N_("A silent loss of provider connectivity on one host."),
    remediation_template=N_(
        "Create the bridge with its uplink (`ovs-vsctl add-br {bridge}` and add its NIC), or "
        "fix the entry for {physnet} in `external_ids:ovn-bridge-mappings` on {host}."
    ),
    example=N_(
        "compute2: ovn-bridge-mappings=physnet2:br-pub, no bridge br-pub -> `compute2: "
        "ovn-bridge-mappings maps physnet2 to br-pub, which does not exist`"
    ),
)


@rule(MAPPING_MISSING_BRIDGE)
def mapping_missing_bridge(ctx: RuleContext) -> list[Finding]:
    users: dict[str, list[str]] = {}
    for port, _ls in ctx.nb.bridged_ports():
        nn = network_name(port)
        if nn is not None:
            users.setdefault(nn, []).append(port.name)
    out: list[Finding] = []
    for v in ctx.views():
        for pr in ctx.mappings(v.name).problems:
            if pr.level != "WARN":
                continue
            physnet, _sep, bridge = pr.entry.partition(":")
            hint = ""
            if bridge != bridge.strip() and bridge.strip() in v.bridges:
                hint = f" (it has whitespace: {bridge!r}; {bridge.strip()} exists)"
            used = users.get(physnet, [])
            uses = f"; localnet port(s) {', '.join(sorted(used))} are not realized here" \
                if used else ""
            bridges = ", ".join(v.bridges) or "none"
            out.append(MAPPING_MISSING_BRIDGE.finding(
                key=f"{v.name}:{physnet}",
                hosts=[v.name],
                summary=(_(
                        "{name}: ovn-bridge-mappings maps {physnet} to {bridge}, which does not "
                        "exist{hint}: ovn-controller WARNs and skips it{uses}").format(
                        name=v.name, physnet=physnet, bridge=bridge, hint=hint, uses=uses)),
                evidence=[v.mappings_evidence(),
                          v.ovs_evidence(_(
                                  "bridges on {name}: {bridges}").format(
                                  name=v.name, bridges=bridges), "Bridge"),
                          Evidence(_(
                                  "ovn-controller logs WARN `{message}`").format(
                                  message=pr.message),
                                   "ovn-controller(patch.c)", None, None, v.name)],
                fields={"bridge": bridge.strip(), "physnet": physnet, "host": v.name},
            ))
    return out


# --------------------------------------------------------------------------- malformed

MALFORMED_BRIDGE_MAPPINGS = RuleSpec(
    id="malformed-bridge-mappings",
    severity=Severity.high,
    group=GROUP,
    title=N_("ovn-bridge-mappings is malformed: later entries are ignored"),
    why=N_(
        "ovn-controller splits the value on ',' and each entry at the first ':' with no "
        "whitespace trimming. An entry without ':' or with an empty side is an ERR "
        "(`Invalid ovn-bridge-mappings configuration`) and parsing stops: every later entry "
        "is ignored too. An empty entry (a doubled or trailing comma) stops parsing without "
        "any log. A space after a comma becomes part of the physnet name, which then never "
        "matches a localnet port's network_name. A physnet listed twice is kept twice and "
        "the lookup returns whichever entry the hash table holds first (the simulation "
        "emulates OVS 3.1's hmap), silently."
    ),
    severity_note=N_("Whole physical networks disappear from a host without an error a "
                  "monitoring system would catch."),
    remediation_template=N_(
        "Rewrite it as comma-separated physnet:bridge pairs with no spaces, e.g. "
        "`ovs-vsctl set open . external_ids:ovn-bridge-mappings={fixed}` on {host}."
    ),
    example=N_(
        "ovn-bridge-mappings=\"physnet1:br-ex,physnet3,physnet2:br-public\" -> `compute1: "
        "entry 'physnet3' is malformed: ovn-controller logs ERR and ignores it and every "
        "later entry: physnet2 are lost`"
    ),
)


@host_rule(MALFORMED_BRIDGE_MAPPINGS)
def malformed_bridge_mappings(v: HostView) -> list[Finding]:
    raw = v.mappings_raw
    if not raw:
        return []
    bm = v.bridge_mappings
    problems: list[str] = []
    logs: list[Evidence] = []
    lost: set[str] = set()
    for pr in bm.problems:
        if pr.level == "ERR":
            problems.append(f"entry '{pr.entry}' is malformed: ovn-controller logs ERR "
                            "`Invalid ovn-bridge-mappings configuration` and stops there")
            lost |= {_physnet_of(e) for e in (pr.entry, *pr.ignored)}
        elif pr.level == "INFO" and pr.entry == "":
            problems.append("an empty entry (doubled comma) ends parsing there, "
                            "without logging")
            lost |= {_physnet_of(e) for e in pr.ignored}
        elif pr.level == "INFO":  # one network mapped more than once
            problems.append(pr.message)
        else:
            continue
        if pr.logged:
            logs.append(Evidence(_(
                    "ovn-controller logs {level} `{message}`").format(
                    level=pr.level, message=pr.message),
                                 "ovn-controller(patch.c)", None, None, v.name))
    lost.discard("")
    if lost:
        problems.append(f"ignored: {', '.join(sorted(lost))}")
    for e in bm.entries:
        if e.network != e.network.strip():
            problems.append(f"physnet {e.network!r} has whitespace and never matches "
                            f"network_name={e.network.strip()}")
    if not problems:
        return []
    pairs: dict[str, str] = {}
    for network, bridge in named_entries(raw):
        physnet, bridge = network.strip(), bridge.strip()
        if physnet and bridge and physnet not in pairs:
            pairs[physnet] = bridge
    fixed = ",".join(f"{p}:{b}" for p, b in pairs.items()) or "<physnet>:<bridge>"
    return [MALFORMED_BRIDGE_MAPPINGS.finding(
        key=f"{v.name}",
        hosts=[v.name],
        summary=f"{v.name}: ovn-bridge-mappings \"{raw}\": " + "; ".join(problems),
        evidence=[v.mappings_evidence(), *logs],
        fields={"fixed": fixed, "host": v.name},
    )]


_PHYSNET_ARG = re.compile(r"(?:^|[:\s])network_name=([^\s,}]+)")


@change_rule(UNMAPPED_PHYSNET)
def unapplied_physnets(cc: ChangeContext) -> list[Finding]:
    """A physnet named by a line that did not apply, and that no chassis maps.

    The `unmapped-physnet` rule sees only what lands in NB. When a line is refused (the
    seed's placeholder switch name), its typo would go unnoticed until the operator fixes the
    first mistake and runs it again; so say now that the name is wrong too.
    """
    change, result, ctx = cc.change, cc.result, cc.before
    named: set[str] | None = None  # every host's physnets: read only for such a line
    status = {a.invocation: a.status for a in result.applied}
    out: list[Finding] = []
    for inv in change.invocations:
        if status.get(inv.index) == "applied":
            continue
        words = list(inv.argv)
        found = [m.group(1) for w in words for m in _PHYSNET_ARG.finditer(w)]
        found += [
            words[i + 1]
            for i, w in enumerate(words[:-1])
            if w == "--provider-physical-network"
        ]
        if found and named is None:
            named = set()
            for v in ctx.views():
                if v.mappings_known:
                    named |= v.memo("unmapped-physnet", _physnets_of)[1]
        if not named:
            continue
        for physnet in found:
            physnet = physnet.strip("\"'")
            if physnet in named:
                continue
            guess = closest(physnet, named)
            did = _(" (did you mean {guess}?)").format(guess=guess) if guess else ""
            line = inv.location.line
            out.append(
                UNMAPPED_PHYSNET.finding(
                    key=f"change:{line}:{physnet}",
                    hosts=(),
                    summary=(
                        _(
                                "line {line} names physical network {physnet}, which no chassis "
                                "maps{did}: even once the line applies, ovn-controller will "
                                "realize nothing for it").format(
                                line=line, physnet=physnet, did=did)
                    ),
                    evidence=[
                        Evidence(_(
                                "line {line}: {expanded}").format(
                                line=line, expanded=inv.expanded), f"change:{line}"),
                        Evidence(
                            _("physical networks mapped by the chassis: ") + ", ".join(sorted(
                                named)),
                            "ovn-bridge-mappings",
                        ),
                    ],
                    fields={"lport": "<port>", "suggestion": guess or "<physnet>"},
                ).marked("introduced")
            )
    return out
