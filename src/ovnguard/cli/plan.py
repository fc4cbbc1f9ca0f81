"""`ovnguard plan ...`: remediation plans as change files, proven by the what-if."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from ovnguard.cli.out import one_line_errors
from ovnguard.errors import InputError
from ovnguard.i18n import _
from ovnguard.report.formats import check_format, emit, format_help

if TYPE_CHECKING:
    from ovnguard.model.snapshot import Snapshot
    from ovnguard.plan.model import Plan

app = typer.Typer(
    short_help=(
        _("Remediation plans (NIC separation, mechanical fixes) as change files with rollba"
        "cks, proven by the what-if.")
    ),
    help=(
        _("Remediation plans: per host, ordered steps as change files (plan-<host>.sh) with "
        "their inverses (rollback-<host>.sh), steps that cut a host's management path "
        "marked 'console needed', and the end state proven by the what-if: the whole plan "
        "applied to the bundle, no dangerous finding left, ovn-controller's patch ports "
        "where they are wanted (step by step and all at once), and the rollback back to the "
        "bundle's state. Beside the steps, the same change in the terms of each host's "
        "deployment tool (kolla-ansible globals.yml, OpenStack-Ansible, EDPM, juju, netplan), "
        "with a warning where that tool rewrites a key the plan edits by hand "
        "(hosts/<host>/deployment.json; docs/deployments.md).\n\n"
        "Exit codes: 0 proven (or nothing to do), 1 not proven (the output says why), "
        "2 bad input.")
    ),
    no_args_is_help=True,
)


BUNDLE_HELP = _("Bundle directory (nb.db, sb.db, hosts/<host>/conf.db, addr.json ...; "
                "docs/bundle.md). Re-collect it right before applying a plan.")
OUT_HELP = _("Write plan-<host>.sh and rollback-<host>.sh (plan-northbound.sh for ovn-nbctl "
             "steps) into this directory; `ovnguard check --change` and `ovnguard rehearse "
             "--change` read them as they are. The deployment tools' side goes into "
             "deploy-<n>-<tool>.yaml.")


def _emit(plan: Plan, fmt: str, out: Path | None) -> None:
    from ovnguard.plan.render import WrittenPlan, write_files

    files = None
    if out is not None and not plan.empty:
        if out.exists() and not out.is_dir():
            raise InputError(_("--out is not a directory"), str(out))
        try:
            files = write_files(plan, out)
        except OSError as e:
            raise InputError(_(
                    "cannot write the plan files: {strerror}").format(
                    strerror=e.strerror), str(out)) from None
    emit(WrittenPlan(plan, files), fmt)


def _exit(plan: Plan) -> None:
    raise typer.Exit(1 if plan.status == "not-proven" else 0)


def _bundle(bundle: Path) -> Snapshot:
    from ovnguard.plan.load import load_for_plan

    if not bundle.is_dir():
        raise InputError(_("bundle directory not found"), str(bundle))
    return load_for_plan(bundle)


def _deployment(bundle: Path, snapshot: Snapshot, plan: Plan) -> Plan:
    """The same change in each host's deployment tool's terms (hosts/<h>/deployment.json)."""
    from ovnguard.plan.deploy import with_deployment
    from ovnguard.sources.flavors import bundle_deployments

    detections, notes = bundle_deployments(bundle)
    plan = with_deployment(snapshot, plan, detections)
    return replace(plan, notes=(*plan.notes, *notes)) if notes else plan


SEPARATE_NIC_HELP = _(
    """NIC separation: move a physical network off the bridge that carries the hosts'
management address, onto a bridge of its own with its own uplink, and the management
address onto its own NIC.

Per host: (1) create --bridge with --nic (nothing moves yet); (2) map --physnet to it,
deleting the old provider-side patch ports in the same transaction -- otherwise real
ovn-controller (23.03, measured) cannot create the new ones (same name) and nothing
moves. Then, where the management address sits on a bridge whose only NIC is the
management NIC: (3) pin that bridge's MAC (other-config:hwaddr) before the NIC leaves;
(4) move the address and the default route to the NIC, in one `&&`-joined line. Apply
each host's file with `ovnguard apply` ON that host: it restores address, routes and
ports if the host is cut off.

Example:

  ovnguard plan separate-nic -b bundle/ -p physnet2 --bridge br-public --nic eth2 -o plan/""")


@app.command("separate-nic", help=SEPARATE_NIC_HELP)
def separate_nic(
    bundle: Path = typer.Option(..., "--bundle", "-b", help=BUNDLE_HELP),
    physnet: str = typer.Option(..., "--physnet", "-p",
                                help=_("The physical network to move (network_name of its "
                                     "localnet ports, e.g. physnet2).")),
    bridge: str = typer.Option(..., "--bridge", help=_("Its new bridge, e.g. br-public; "
                                                      "created when it does not exist.")),
    nic: str = typer.Option(..., "--nic", help=_("The new bridge's uplink NIC, e.g. eth2.")),
    hosts: str | None = typer.Option(
        None, "--hosts", help=_("Comma-separated hosts (default: every host whose "
                              "ovn-bridge-mappings names --physnet).")),
    keep_management: bool = typer.Option(
        False, "--keep-management", help=_("Leave the management address on its bridge (steps "
        "1-2 only): no MAC pin, no address move.")),
    out: Path | None = typer.Option(None, "--out", "-o", help=OUT_HELP, file_okay=False),
    fmt: str = typer.Option("text", "--format", "-f",
                            help=format_help("WrittenPlan", "json: docs/plan.md")),
) -> None:
    from ovnguard.plan.nicsep import plan_separate_nic

    with one_line_errors("plan separate-nic"):
        check_format("WrittenPlan", fmt)
        snapshot = _bundle(bundle)
        selected = [h.strip() for h in hosts.split(",") if h.strip()] if hosts else None
        plan = _deployment(bundle, snapshot,
                           plan_separate_nic(snapshot, physnet, bridge, nic, selected,
                                             move_management=not keep_management))
        _emit(plan, fmt, out)
    _exit(plan)


FIX_HELP = _("""Mechanical fixes for armed findings, each with its inverse, each checked by the
what-if before it is proposed.

bridge-hwaddr-unpinned: pin the bridge's MAC to the one it has now. l2-loop: delete the
hand-made localnet port, keep Neutron's provnet-*. unmapped-physnet: correct the typo'd
network_name -- unless that makes a second localnet port for the same physical network
(an L2 loop, as in the seed incident); then it is not proposed, and a hand-made
duplicate is deleted instead.""")


@app.command("fix", help=FIX_HELP)
def fix(
    bundle: Path = typer.Option(..., "--bundle", "-b", help=BUNDLE_HELP),
    rule: list[str] = typer.Option(
        [], "--rule", "-r", help=_("Only findings of this rule (repeatable): "
                                 "bridge-hwaddr-unpinned, l2-loop, unmapped-physnet.")),
    out: Path | None = typer.Option(None, "--out", "-o", help=OUT_HELP, file_okay=False),
    fmt: str = typer.Option("text", "--format", "-f",
                            help=format_help("WrittenPlan", "json: docs/plan.md")),
) -> None:
    from ovnguard.plan.fixes import plan_fixes

    with one_line_errors("plan fix"):
        check_format("WrittenPlan", fmt)
        snapshot = _bundle(bundle)
        plan = _deployment(bundle, snapshot, plan_fixes(snapshot, rule))
        _emit(plan, fmt, out)
    _exit(plan)
