"""Neutron (ML2/OVN) and the OVN state it owns: configuration nobody reads, and ports made by
hand on Neutron's switches."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ovnguard.findings.context import RuleContext, network_name
from ovnguard.findings.finding import Finding, Severity
from ovnguard.findings.registry import RuleSpec, rule
from ovnguard.i18n import N_, _, current_language
from ovnguard.model.db import Row, Uuid
from ovnguard.model.evidence import Evidence
from ovnguard.model.host import HostView

GROUP = N_("Neutron ML2/OVN")

AGENT_INI = "openvswitch_agent.ini"


def _parse_neutron_mappings(raw: str) -> dict[str, str]:
    # neutron.common.utils.parse_mappings strips whitespace around each entry and side.
    out: dict[str, str] = {}
    for entry in raw.replace("\n", ",").split(","):
        physnet, sep, bridge = entry.strip().partition(":")
        if sep and physnet.strip() and bridge.strip():
            out[physnet.strip()] = bridge.strip()
    return out


def _mechanism_drivers(neutron: Mapping[str, Mapping[str, Mapping[str, str]]]) -> set[str]:
    out: set[str] = set()
    for sections in neutron.values():
        val = sections.get("ml2", {}).get("mechanism_drivers")
        if val:
            out |= {d.strip() for d in val.split(",") if d.strip()}
    return out


def _is_ml2_ovn(v: HostView) -> tuple[bool, str]:
    drivers = _mechanism_drivers(v.state.neutron)
    if "ovn" in drivers:
        return True, _("ml2_conf.ini mechanism_drivers includes ovn")
    if drivers and "openvswitch" in drivers:
        return False, ""
    if v.ovn_remote or v.mappings_raw is not None:
        return True, _("the host runs ovn-controller (external_ids:ovn-remote is set)")
    return False, ""


# --------------------------------------------------------------------------- config drift

NEUTRON_CONFIG_DRIFT = RuleSpec(
    id="neutron-config-drift",
    severity=Severity.medium,
    group=GROUP,
    title=N_("openvswitch_agent.ini bridge_mappings on an ML2/OVN host"),
    why=N_(
        "Under ML2/OVN there is no neutron-openvswitch-agent: ovn-controller reads the "
        "mappings from OVS `external_ids:ovn-bridge-mappings`, and Neutron learns them from "
        "SB Chassis other_config. `[ovs] bridge_mappings` in openvswitch_agent.ini is read "
        "by nothing; editing it (as the seed incident's fix did) changes nothing, and when it "
        "disagrees with OVS it misleads whoever reads it next."
    ),
    severity_note=N_("No outage by itself, but it sends the next fix to the wrong place."),
    remediation_template=N_(
        "Make the change in OVS, the effective place: `ovs-vsctl set open . "
        "external_ids:ovn-bridge-mappings={effective}` on {host}; remove `bridge_mappings` "
        "from {path} (or the file) so nobody edits it again."
    ),
    example=N_(
        "compute1: openvswitch_agent.ini `[ovs] bridge_mappings = physnet1:br-ex,"
        "physnet2:br-public`, OVS ovn-bridge-mappings=physnet2:br-ex -> `compute1: "
        "openvswitch_agent.ini says physnet1:br-ex,physnet2:br-public but OVS (effective) "
        "says physnet2:br-ex`"
    ),
)


@rule(NEUTRON_CONFIG_DRIFT)
def neutron_config_drift(ctx: RuleContext) -> list[Finding]:
    out: list[Finding] = []
    for v in ctx.views():
        for rel, sections in sorted(v.state.neutron.items()):
            if not rel.endswith(AGENT_INI):
                continue
            raw = sections.get("ovs", {}).get("bridge_mappings")
            if raw is None:
                continue
            ovn, why_ovn = _is_ml2_ovn(v)
            if not ovn:
                continue
            agent = _parse_neutron_mappings(raw)
            effective = dict(ctx.mappings(v.name).mappings)
            ev = [v.neutron_evidence(_("[ovs] bridge_mappings = {raw}").format(raw=raw), rel,
                "bridge_mappings"),
                  v.mappings_evidence(),
                  Evidence(_(
                          "{name} is ML2/OVN: {why_ovn}").format(
                          name=v.name, why_ovn=why_ovn), "rule:neutron-config-drift",
                           None, None, v.name)]
            eff_text = ",".join(f"{p}:{b}" for p, b in effective.items()) or "(none)"
            # Without conf.db the chassis' own report in SB is the effective value.
            where = "OVS" if v.based_on == "ovs" else "SB Chassis (as the chassis reported)"
            if not v.mappings_known:
                differ = ""
            elif agent == effective:
                differ = (_(
                        "; it matches {where}, which is what ovn-controller actually reads").format(
                        where=where))
            else:
                only_agent = sorted(set(agent.items()) - set(effective.items()))
                differ = _("; it disagrees with {where} ovn-bridge-mappings, the effective one "
                           "({effective}): {entries}").format(
                    where=where, effective=eff_text, entries=", ".join(
                        _("{entry} is not in effect").format(entry=f"{p}:{b}")
                        for p, b in only_agent))
                only_ovs = sorted(set(effective.items()) - set(agent.items()))
                if only_ovs:
                    differ += (_("; in effect but not in the file: ")
                               + ", ".join(f"{p}:{b}" for p, b in only_ovs))
            out.append(NEUTRON_CONFIG_DRIFT.finding(
                key=f"{v.name}:{rel}",
                hosts=[v.name],
                summary=(_(
                        "{name}: {rel} sets [ovs] bridge_mappings = {raw}, which nothing reads "
                        "under ML2/OVN{differ}").format(
                        name=v.name, rel=rel, raw=raw, differ=differ)),
                evidence=ev,
                fields={"effective": eff_text if effective else ",".join(
                    f"{p}:{b}" for p, b in agent.items()), "host": v.name,
                    "path": f"/etc/{rel}"},
            ))
    return out


# --------------------------------------------------------------------------- out of band

NEUTRON_OUT_OF_BAND = RuleSpec(
    id="neutron-out-of-band",
    severity=Severity.medium,
    group=GROUP,
    title=N_("A hand-made port on a Neutron-owned switch"),
    why=N_(
        "Neutron owns switches `neutron-<network uuid>` (external_ids neutron:network_name) "
        "and keeps them in sync with its own database: its ports carry "
        "`neutron:port_name`, its localnet ports are `provnet-<segment>`. A port made with "
        "ovn-nbctl is invisible to Neutron: db-sync (`log` mode by default) reports it, "
        "`repair` mode deletes unknown `provnet-*` ports and leaves other hand-made ones such "
        "as `ln-x` alone, so the hand-made state lingers, unowned, until someone finds it "
        "in an outage."
    ),
    severity_note=N_("The state drifts from what the cloud's owner of record knows."),
    remediation_template=N_(
        "Do it through Neutron (e.g. a provider network/segment: `openstack network create "
        "--provider-network-type flat --provider-physical-network <physnet> ...`), or delete "
        "the hand-made port: `ovn-nbctl lsp-del {lport}`."
    ),
    example=N_(
        "`ovn-nbctl lsp-add neutron-3f6c... ln-physnet2` -> `ln-physnet2 on Neutron's switch "
        "neutron-3f6c... (network public) was not made by Neutron`"
    ),
)


@rule(NEUTRON_OUT_OF_BAND)
def neutron_out_of_band(ctx: RuleContext) -> list[Finding]:
    # The state before's findings by port (ctx.memo). A port of the state after that is the
    # state before's own row, on a switch with the same name, network and provnet- ports,
    # local on the same hosts, has the same finding: kept as the same object, it is marked
    # and rendered once (verdict.diff_findings, the report). A cloud with hand-made ports has
    # hundreds, on switches a change also edits (a provnet- port's options).
    made_in = (current_language(), ctx.snapshot.nb.source)  # what its evidence is written in
    memo: dict[str, Any] = ctx.since.memo if ctx.since is not None else {}
    before_sw: dict[Uuid, _Switch] = memo.get("neutron-out-of-band:switches", {})
    before: dict[Uuid, tuple[Row, _Switch, Finding]] = memo.get("neutron-out-of-band", {})
    switches: dict[Uuid, _Switch] = {}
    mine: dict[Uuid, tuple[Row, _Switch, Finding]] = {}
    out: list[Finding] = []
    # (only the switches holding such ports: ctx.nb.out_of_band; by name, then uuid)
    for ls, ports in sorted(ctx.nb.out_of_band.values(), key=lambda e: (e[0].name, e[0].uuid)):
        netname = str(ls.map("external_ids")["neutron:network_name"])
        provnets = tuple(p.name for p in ports if p.name.startswith("provnet-"))
        sw = (ls.name, netname, provnets, ctx.local_hosts(ls.name), made_in)
        old = before_sw.get(ls.uuid)
        sw = switches[ls.uuid] = old if old == sw else sw  # compared once, then by identity
        for p in ports:
            if p.name.startswith("provnet-") or "neutron:port_name" in p.map("external_ids"):
                continue
            got = before.get(p.uuid)
            if got is None or got[0] is not p or got[1] is not sw:
                got = (p, sw, _out_of_band(ctx, ls, p, sw))
            mine[p.uuid] = got
            out.append(got[2])
    if ctx.since is None:
        ctx.memo["neutron-out-of-band:switches"] = switches
        ctx.memo["neutron-out-of-band"] = mine
    return out


# what a switch's out-of-band findings read of it: its name, network, provnet- ports, the
# hosts it is local on, and the language and NB file its evidence is written in
_Switch = tuple[str, str, tuple[str, ...], tuple[str, ...], tuple[str, str]]


def _out_of_band(ctx: RuleContext, ls: Row, p: Row, sw: _Switch) -> Finding:
    _name, netname, provnets, hosts, _made_in = sw
    ptype = str(p.get("type")) or "VIF"
    extra = ""
    if ptype == "localnet" and provnets:
        nn = network_name(p)
        extra = (_(
                "; it is a second localnet port beside Neutron's {provnets} "
                "(network_name={nn})").format(
                provnets=', '.join(provnets), nn=nn))
    return NEUTRON_OUT_OF_BAND.finding(
        key=f"{ls.name}/{p.name}",
        hosts=hosts,
        summary=(_(
                "{name} ({ptype}) on Neutron's switch {name2} (network {netname}) was "
                "not made by Neutron: db-sync reports it and repair mode leaves it "
                "behind{extra}").format(
                name=p.name, ptype=ptype, name2=ls.name, netname=netname, extra=extra)),
        evidence=[
            ctx.nb_evidence(_(
                    "Logical_Switch {name} "
                    "external_ids:neutron:network_name={netname}").format(
                    name=ls.name, netname=netname), "Logical_Switch",
                            ls.name),
            ctx.nb_evidence(_(
                    "Logical_Switch_Port {name} type={ptype} has no "
                    "external_ids:neutron:port_name").format(
                    name=p.name, ptype=ptype), "Logical_Switch_Port",
                            p.name),
        ],
        fields={"lport": p.name},
    )
