"""Plans for armed hazards whose fix is mechanical, each with its inverse, each proposed
only when the what-if of the result agrees.

- `bridge-hwaddr-unpinned`: `ovs-vsctl set Bridge B other_config:hwaddr=<its current MAC>`
  (from link.json, or addr.json); inverse `ovs-vsctl remove Bridge B other_config hwaddr`.
- `l2-loop`: `ovn-nbctl lsp-del <the non-Neutron localnet port>`, keeping Neutron's
  `provnet-*`; inverse `ovn-nbctl lsp-add SWITCH PORT -- set Logical_Switch_Port PORT
  <every column it had>`.
- `unmapped-physnet`: `ovn-nbctl lsp-set-options PORT ... network_name=<the mapped name it
  was meant to be>`; inverse: the options it had.

Correcting a typo'd network_name is exactly how the seed incident's outage would have
happened (the switch already had Neutron's localnet port for physnet2: the corrected port is
a second one, an L2 loop). So that fix is checked twice before it is proposed: structurally
(does the switch already have a localnet port for that physnet? then it loops wherever the
switch is local, now or when a VM lands) and by the what-if (`assess`). When it fails, the
typo'd port is not proposed for correction; if it is a hand-made duplicate of Neutron's port
it is proposed for deletion instead (it realizes nothing today, so deleting it changes no
OVS port anywhere).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace

from ovnguard.assess import Baseline, WhatIf, assess
from ovnguard.change.executor import Executor, default_executor
from ovnguard.change.parse import parse_change
from ovnguard.errors import InputError
from ovnguard.findings.finding import Finding
from ovnguard.findings.rules.mappings import closest, named_physnets
from ovnguard.i18n import _
from ovnguard.model.bridgemac import mac_to_pin
from ovnguard.model.db import Row
from ovnguard.model.host import HostView
from ovnguard.model.snapshot import Snapshot
from ovnguard.plan.ctlargs import column_args
from ovnguard.plan.model import NORTHBOUND, NotProposed, Part, Plan, Step, Words, line_text
from ovnguard.plan.verify import is_dangerous
from ovnguard.plan.verify import verify as verify_plan
from ovnguard.record import record

SUPPORTED = ("bridge-hwaddr-unpinned", "l2-loop", "unmapped-physnet")
# Findings whose fix is a NIC separation, not a one-liner.
SEPARATE_NIC_RULES = ("mgmt-bridge-localnet", "control-plane-via-provider-bridge")
# Logical_Switch_Port columns ovn-northd (or ovn-nbctl itself) writes, or that lsp-add sets.
_LSP_SKIP = ("name", "up", "dynamic_addresses")


@record
class _Fix:
    part: str  # host name or NORTHBOUND
    host: str | None
    step: Step


def _not(f: Finding, reason: str) -> NotProposed:
    return NotProposed(f.rule, f.key, f.hosts, f.summary, reason)


def is_neutron_localnet(row: Row) -> bool:
    """Neutron ML2/OVN names its localnet ports `provnet-<segment>` and tags them with
    `neutron:provnet-physical-network` (ovn_client.create_provnet_port)."""
    return row.name.startswith("provnet-") or \
        "neutron:provnet-physical-network" in row.map("external_ids")


def _whatif(snapshot: Snapshot, fixes: Sequence[_Fix], baseline: Baseline | None,
            executor: Executor | None) -> list[Finding]:
    """Dangerous findings the fixes introduce (as a change on the snapshot), asked of the
    model loaded for the plan: only the candidate's side is computed again, on the copies
    the plan's executor keeps."""
    lines: list[str] = []
    for fx in fixes:
        if fx.host:
            lines.append(f"# host: {fx.host}")
        lines += [line_text(w) for w in fx.step.commands]
    wi = assess(snapshot, parse_change("\n".join(lines) + "\n", "candidate"), executor,
                baseline=baseline)
    return [f for f in wi.assessment.counted if is_dangerous(f)]


def _describe(found: Iterable[Finding]) -> str:
    return "; ".join(f"{f.rule} ({f.severity.name}) on {', '.join(f.hosts) or 'no host'}: "
                     f"{f.summary}" for f in found)


# --------------------------------------------------------------------------- hwaddr


def _fix_hwaddr(snapshot: Snapshot, f: Finding) -> list[_Fix] | NotProposed:
    host, _sep, bridge = f.key.partition(":")
    state = snapshot.hosts.get(host)
    if state is None or not bridge:
        return _not(f, _("cannot tell the host and bridge from {key!r}").format(key=f.key))
    v = HostView(state)
    mac = mac_to_pin(v, bridge)
    if mac is None:
        return _not(f, _(
                "{bridge}'s current MAC is in neither link.json nor addr.json of {host}: pin it "
                "by hand to what `ip link show {bridge}` prints").format(
                bridge=bridge, host=host))
    step = Step(
        title=_(
                "pin {bridge}'s MAC to {mac}, the one it has now").format(
                bridge=bridge, mac=mac),
        why=(_(
                "without other_config:hwaddr ovs-vswitchd gives {bridge} the lowest MAC of its "
                "NICs, so adding or removing a NIC changes the MAC of the host's address and "
                "upstream ARP/MAC tables go stale; pinned to the current MAC nothing changes now "
                "and nothing changes later").format(
                bridge=bridge)),
        commands=(("ovs-vsctl", "set", "Bridge", bridge, f"other_config:hwaddr={mac}"),),
        inverse=(("ovs-vsctl", "remove", "Bridge", bridge, "other_config", "hwaddr"),),
        fixes=(f.rule, f.key),
    )
    return [_Fix(host, host, step)]


# --------------------------------------------------------------------------- l2-loop


def recreate_lsp(snapshot: Snapshot, switch: str, row: Row) -> Words:
    """`lsp-add` plus every configured column: the inverse of `lsp-del`."""
    args = column_args(snapshot.nb, row, _LSP_SKIP)
    words: list[str] = ["ovn-nbctl", "lsp-add", switch, row.name]
    if args:
        words += ["--", "set", "Logical_Switch_Port", row.name, *args]
    return tuple(words)


def _delete_lsp(snapshot: Snapshot, switch: str, row: Row, f: Finding,
                why: str, title: str, warning: str | None = None) -> _Fix:
    console = None
    if f.loses_management:
        console = (_(
                "the loop cuts management of {loses_management}: run it where the NB database is "
                "reachable without crossing the looped segment (a console on the NB host); "
                "deleting the port stops the loop within ~50 ms (measured)").format(
                loses_management=', '.join(f.loses_management)))
    step = Step(title=title, why=why,
                commands=(("ovn-nbctl", "lsp-del", row.name),),
                inverse=(recreate_lsp(snapshot, switch, row),),
                console=console, fixes=(f.rule, f.key), inverse_warning=warning)
    return _Fix(NORTHBOUND, None, step)


def _fix_loop(snapshot: Snapshot, f: Finding) -> list[_Fix] | NotProposed:
    switch, _sep, ports = f.key.rpartition(":")
    rows = [snapshot.nb.find_one("Logical_Switch_Port", p) for p in ports.split("+")]
    if not switch or any(r is None for r in rows) or len(rows) < 2:
        return _not(f, _(
                "cannot tell the switch and its localnet ports from {key!r}").format(
                key=f.key))
    lsps = [r for r in rows if r is not None]
    neutron = [r for r in lsps if is_neutron_localnet(r)]
    extra = [r for r in lsps if not is_neutron_localnet(r)]
    if not neutron:
        return _not(f, _(
                "none of {names} is Neutron's provnet port: decide which one is meant, then "
                "`ovn-nbctl lsp-del` the other").format(
                names=', '.join(r.name for r in lsps)))
    if not extra:
        return _not(f, _(
                "{names} are all Neutron's: two segments of one network on one bridge. Map their "
                "physnets to bridges with their own uplinks, or fix the network's segments in "
                "Neutron").format(
                names=', '.join(r.name for r in lsps)))
    keep = ", ".join(r.name for r in neutron)
    out = []
    for r in extra:
        why = (_(
                "{switch} has two localnet ports for one physical network; Neutron's {keep} is "
                "the one Neutron knows and keeps in sync, {name} was made by hand. The inverse "
                "re-creates it with every column it had").format(
                switch=switch, keep=keep, name=r.name))
        out.append(_delete_lsp(
            snapshot, switch, r, f, why, _(
                    "delete {name}, the hand-made duplicate of {keep}").format(
                    name=r.name, keep=keep),
            warning=(_(
                    "re-creating {name} re-creates the L2 loop ({rule}): undo this only to get "
                    "back exactly where you were, from a console").format(
                    name=r.name, rule=f.rule))))
    return out


# --------------------------------------------------------------------------- unmapped-physnet


def _mapped_names(snapshot: Snapshot) -> set[str]:
    named: set[str] = set()
    for state in snapshot.hosts.values():
        if state.ovs is not None:
            named |= named_physnets(HostView(state).mappings_raw)
    return named


def _localnets(snapshot: Snapshot, switch: Row) -> list[Row]:
    out = []
    for u in switch.set("ports"):
        p = snapshot.nb.row("Logical_Switch_Port", str(u))
        if p is not None and p.get("type") == "localnet":
            out.append(p)
    return out


def _fix_unmapped(snapshot: Snapshot, f: Finding, baseline: Baseline | None,
                  executor: Executor | None) -> tuple[list[_Fix], list[NotProposed]]:
    switch_name, _sep, lport = f.key.rpartition("/")
    port = snapshot.nb.find_one("Logical_Switch_Port", lport)
    switch = snapshot.nb.find_one("Logical_Switch", switch_name)
    if port is None or switch is None:
        return [], [_not(f, _("cannot find the port and switch of {key!r}").format(key=f.key))]
    options = {str(k): str(v) for k, v in port.map("options").items()}
    typo = options.get("network_name", "")
    used = {str(p.map("options").get("network_name", "")) for p in
            snapshot.nb.rows("Logical_Switch_Port") if p.get("type") in ("localnet",
                                                                          "l2gateway")}
    named = _mapped_names(snapshot)
    guess = closest(typo, named | (used - {typo, ""}))
    if guess is None or guess not in named:
        return [], [_not(f, _(
                "no mapped physical network is close to {typo!r} (mapped: {value}): decide which "
                "one is meant").format(
                typo=typo, value=', '.join(sorted(named)) or 'none'))]
    new = {**options, "network_name": guess}
    fixed = Step(
        title=f"set {lport}'s network_name to {guess} (was {typo})",
        why=(_(
                "no chassis maps {typo}, so ovn-controller realizes nothing for {lport}; {guess} "
                "is the mapped name closest to it").format(
                typo=typo, lport=lport, guess=guess)),
        commands=(("ovn-nbctl", "lsp-set-options", lport,
                   *(f"{k}={v}" for k, v in sorted(new.items()))),),
        inverse=(("ovn-nbctl", "lsp-set-options", lport,
                  *(f"{k}={v}" for k, v in sorted(options.items()))),),
        fixes=(f.rule, f.key),
    )
    twins = [p for p in _localnets(snapshot, switch)
             if p.name != lport and str(p.map("options").get("network_name", "")) == guess]
    refused: list[str] = []
    if twins:
        refused.append(
            _(
                    "{switch_name} already has {names} for {guess}: {lport} with "
                    "network_name={guess} would be a second localnet port for the same physical "
                    "network -- an L2 loop on every chassis where the switch is local, now or "
                    "once a VM lands there (l2-loop; the seed incident).").format(
                    switch_name=switch_name, names=', '.join(p.name for p in twins),
                    guess=guess, lport=lport))
    dangers = _whatif(snapshot, [_Fix(NORTHBOUND, None, fixed)], baseline, executor)
    if dangers:
        refused.append(_("The what-if of the correction says: ") + _describe(dangers))
    if not refused:
        return [_Fix(NORTHBOUND, None, fixed)], []
    skipped = [NotProposed(f.rule, f.key, f.hosts,
                           f"correcting {lport} to network_name={guess}",
                           " ".join(refused))]
    if twins and not is_neutron_localnet(port):
        why = (_(
                "{lport} was made by hand and realizes nothing (its network_name {typo} is "
                "mapped nowhere); what it was meant to do, {names} already does. Deleting it "
                "removes the trap without touching any OVS port").format(
                lport=lport, typo=typo, names=', '.join(p.name for p in twins)))
        alt = _delete_lsp(
            snapshot, switch_name, port, f, why, f"delete {lport} instead of correcting it",
            warning=(_(
                    "{lport} comes back with network_name={typo}: realizing nothing, and still "
                    "one typo away from an L2 loop").format(
                    lport=lport, typo=typo)))
        more = _whatif(snapshot, [alt], baseline, executor)
        if not more:
            return [alt], skipped
        skipped.append(_not(f, _("deleting it instead: the what-if says ") + _describe(more)))
    return [], skipped


# --------------------------------------------------------------------------- the plan


def plan_fixes(snapshot: Snapshot, rules: Sequence[str] = (), *, check: bool = True) -> Plan:
    """Steps for every armed finding of `rules` (default: every supported rule)."""
    for r in rules:
        if r in SEPARATE_NIC_RULES:
            raise InputError(_(
                    "--rule {r}: not a one-line fix; plan it with `ovnguard plan "
                    "separate-nic`").format(
                    r=r))
        if r not in SUPPORTED:
            raise InputError(_(
                    "--rule {r}: no mechanical fix for it (plan fix knows: {SUPPORTED})").format(
                    r=r, SUPPORTED=', '.join(SUPPORTED)))
    wanted = tuple(dict.fromkeys(rules)) or SUPPORTED
    # the model every candidate and the verification re-use, and the copies of its databases
    # they are applied to, kept between them
    with default_executor() as executor:
        return _plan_fixes(snapshot, wanted, check, assess(snapshot), executor)


def _plan_fixes(snapshot: Snapshot, wanted: tuple[str, ...], check: bool, loaded: WhatIf,
                executor: Executor) -> Plan:
    before = loaded.assessment
    fixes: list[_Fix] = []
    skipped: list[NotProposed] = []
    targets: list[tuple[str, str]] = []
    for f in before.findings:
        if f.rule not in wanted:
            continue
        if f.rule == "bridge-hwaddr-unpinned":
            got: list[_Fix] | NotProposed = _fix_hwaddr(snapshot, f)
        elif f.rule == "l2-loop":
            got = _fix_loop(snapshot, f)
        else:
            made, refused = _fix_unmapped(snapshot, f, loaded.baseline, executor)
            skipped += refused
            got = made
        if isinstance(got, NotProposed):
            skipped.append(got)
            continue
        if got:
            targets.append((f.rule, f.key))
        fixes += got
    if NORTHBOUND in snapshot.hosts and any(fx.part == NORTHBOUND for fx in fixes):
        raise InputError(_(
                "a host is named {NORTHBOUND!r}: its plan files would collide with the "
                "northbound ones").format(
                NORTHBOUND=NORTHBOUND))
    parts = _parts(fixes)
    plan = Plan(
        kind="fix",
        bundle=snapshot.source,
        parameters={"rules": ",".join(wanted)},
        parts=parts,
        not_proposed=tuple(skipped),
        targets=tuple(targets),
    )
    if check and not plan.empty:
        plan = replace(plan, verification=verify_plan(snapshot, plan, loaded.baseline,
                                                      executor))
    return plan


def _parts(fixes: Sequence[_Fix]) -> tuple[Part, ...]:
    by_part: dict[str, list[_Fix]] = {}
    for fx in fixes:
        by_part.setdefault(fx.part, []).append(fx)
    out: list[Part] = []
    # The northbound part first: a loop is stopped before anything else is touched.
    for name in sorted(by_part, key=lambda n: (n != NORTHBOUND, n)):
        steps: list[Step] = []
        seen: set[tuple[Words, ...]] = set()
        for fx in by_part[name]:
            if fx.step.commands in seen:  # one port behind two findings
                continue
            seen.add(fx.step.commands)
            steps.append(fx.step)
        out.append(Part(name, by_part[name][0].host, tuple(steps)))
    return tuple(out)
