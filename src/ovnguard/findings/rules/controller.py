"""What ovn-controller itself will fail to do: its OVS transaction rejected, so the host keeps
the patch ports it has, whatever NB, SB and the mappings now say."""

from __future__ import annotations

from ovnguard.findings.context import RuleContext
from ovnguard.findings.finding import Finding, Severity
from ovnguard.findings.registry import RuleSpec, rule
from ovnguard.i18n import N_, _
from ovnguard.model.evidence import Evidence
from ovnguard.simulation.types import EventKind

GROUP = N_("ovn-controller")

CONTROLLER_TXN_FAILS = RuleSpec(
    id="controller-transaction-fails",
    severity=Severity.high,
    group=GROUP,
    title=N_("ovn-controller's own OVS transaction will be rejected"),
    why=N_(
        "ovn-controller names a localnet's provider-side patch port after the logical port "
        "only (`patch-<lport>-to-br-int`), whatever bridge it belongs on. When a physnet is "
        "re-mapped to another bridge while the old port still exists, the new port would "
        "have the same name: ovsdb-server rejects the whole transaction (`transaction error: "
        "... multiple rows in \"Port\" table to have identical values ... constraint "
        "violation`), on every loop, also after `ovn-appctl recompute` (measured, OVN "
        "23.03.1). Nothing of that host's patch-port changes applies any more: the old "
        "bridging stays, and later changes to that host silently do nothing."
    ),
    severity_note=N_(
        "high: the host keeps the hazard the change meant to remove, and stops following "
        "any further change; no packet is lost by the failure itself."
    ),
    remediation_template=N_(
        "Delete the old patch port in the same transaction as the mapping change, e.g. "
        "`ovs-vsctl --if-exists del-port {port} -- set Open_vSwitch . "
        "external_ids:ovn-bridge-mappings=...` on {host}; `ovnguard plan separate-nic` "
        "writes the steps in a working order."
    ),
    example=N_(
        "`ovs-vsctl add-br br-public -- add-port br-public eth2` then "
        "`ovs-vsctl set Open_vSwitch . external_ids:ovn-bridge-mappings=physnet2:br-public` "
        "on a host whose br-ex holds patch-provnet-...-to-br-int."
    ),
)


@rule(CONTROLLER_TXN_FAILS)
def controller_transaction_fails(ctx: RuleContext) -> list[Finding]:
    out: list[Finding] = []
    if ctx.realization is None:
        return out
    for host, hr in sorted(ctx.realization.hosts.items()):
        for ev in hr.events:
            if ev.kind is not EventKind.ovs_transaction_fails:
                continue
            port = ev.lport or _port_in(ev.message)
            log = Evidence(
                _(
                        "ovn-controller on {host} logs WARN `{message}...` on every loop").format(
                        host=host, message=ev.message[:160]),
                "ovn-controller(patch.c)", "Port", port or None, host)
            out.append(CONTROLLER_TXN_FAILS.finding(
                key=f"{host}/{port}",
                hosts=(host,),
                summary=(
                    _(
                            "{host}: ovn-controller's OVS transaction will be rejected (a new "
                            "patch port would reuse the name {value} of one that still exists): "
                            "the host keeps its current patch ports and stops applying "
                            "patch-port changes").format(
                            host=host, value=port or '?')
                ),
                evidence=[*ev.evidence, log],
                chain=[*ev.evidence, log],
                fields={"port": port or "<old patch port>", "host": host},
            ))
    return out


def _port_in(message: str) -> str:
    # '... identical values (patch-provnet-x-to-br-int) for index ...'
    start = message.find("identical values (")
    if start < 0:
        return ""
    rest = message[start + len("identical values ("):]
    return rest.split(")", 1)[0]
