"""`ovnguard demo`: the incident ovnguard was built for, told by ovnguard itself.

It runs the real engine on a bundle exported from a real OVN 23.03 lab that reproduces the
seed cluster (scripts/make_examples.py), nothing is canned: change the example files and the
story changes.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.markup import escape
from rich.rule import Rule
from rich.text import Text

from ovnguard.i18n import N_, _
from ovnguard.report.labels import (
    outcome_label,
    pad,
    plan_status_label,
    severity_label,
    verdict_label,
)
from ovnguard.report.safe import visible_data, visible_lines, visible_model

if TYPE_CHECKING:  # the report's dataclasses load when the demo runs, not for --help
    from ovnguard.assess import WhatIf
    from ovnguard.change.executor import Executor
    from ovnguard.model.snapshot import Snapshot
    from ovnguard.report.schema import Report

STORY = N_(
    "An operator of an OpenStack cloud (ML2/OVN, three Proxmox VMs: controller, network, "
    "compute1) could not reach VMs on the public network, and pasted four ovn-nbctl lines to "
    "add a localnet port (`ovn-nbctl lsp-add ${LS_NAME} ln-${PHYSNET}` ...). Seconds later "
    "the node lagged and SSH dropped; then every other node dropped, and even the Proxmox UI "
    "was unreachable. Recovery took re-plugged cables, reboots and an `lsp-del`.\n\n"
    "On every node br-ex held the management NIC enp6s18 and the management address, and "
    "physnet2 was mapped to br-ex. Here is what ovnguard says before anyone presses enter."
)


def example_dir(name: str = "seed") -> Path:
    return Path(str(resources.files("ovnguard") / "examples" / name))


def _headline(console: Console, report: Report) -> None:
    from ovnguard.report.text import VERDICT_STYLE

    t = Text()
    t.append(f" {verdict_label(report.verdict)} ", style=VERDICT_STYLE[report.verdict])
    t.append("  " + report.summary)
    console.print(t)


def _short(console: Console, report: Report, statuses: tuple[str, ...]) -> None:
    from ovnguard.report.text import OUTCOME_STYLE, SEVERITY_STYLE

    report = visible_model(report)  # names in the data are shown, never acted on
    _headline(console, report)
    for cl in report.change_lines:
        line = Text("  " + _("line {line}: ").format(line=cl.line), style="dim")
        line.append(outcome_label(cl.outcome), style=OUTCOME_STYLE[cl.outcome])
        if cl.message:
            line.append(f"  {cl.message}")
        if cl.suggestions:
            line.append("  " + _("(did you mean {names}?)").format(
                names=", ".join(cl.suggestions)), style="cyan")
        console.print(line)
    for f in report.findings:
        if f.status not in statuses or f.rule == "change-rejected":
            continue
        line = Text("  ")
        line.append(pad(severity_label(f.severity), 8), style=SEVERITY_STYLE[f.severity])
        line.append(f" {f.rule}: ", style="bold")
        line.append(f.summary)
        console.print(line)


DEMO_HELP = _("""Tell the story of the incident ovnguard was built for, on a replica of its cluster.

Four acts on the bundled example (a bundle exported from a real OVN lab): what was
already armed; the snippet as pasted (every line fails: placeholder switch name, typo
in the physnet); the switch name fixed (nothing happens, and that is the trap); both
fixed: the L2 loop that took every node down, host by host, with the chain of events;
and the fix (NIC separation) planned and proven by the same engine. Then run it
yourself: `ovnguard check --bundle DIR --change FILE`.""")


def demo(
    act: str = typer.Option(
        "all", "--act", help=_("all, or one act: state, verbatim, typo, corrected, fix.")
    ),
    verbose: bool = typer.Option(False, "--verbose", "-v", help=_("Every finding's evidence.")),
) -> None:
    from ovnguard.assess import assess
    from ovnguard.change.executor import default_executor
    from ovnguard.sources.bundle import load_bundle

    ex = example_dir()
    bundle = ex / "bundle"
    # soft_wrap: piped or narrow, lines are never broken (a command split in two cannot be
    # pasted); the terminal wraps them as it likes
    console = Console(highlight=False, soft_wrap=True)
    snapshot = load_bundle(bundle)
    acts = ["state", "verbatim", "typo", "corrected", "fix"] if act == "all" else [act]
    if any(a not in ("state", "verbatim", "typo", "corrected", "fix") for a in acts):
        raise typer.BadParameter(_("unknown act {act!r}").format(act=act), param_hint="--act")

    if act == "all":
        console.print(Rule(_("The incident")))
        console.print(_(STORY))
        console.print(Text("\n" + _("bundle: {bundle}").format(bundle=bundle), style="dim"))

    # the model loaded and judged once, the real tools' copies of its databases kept: each
    # act below is one more what-if on it
    executor = default_executor()
    with executor:
        _acts(console, acts, act, ex, snapshot, assess(snapshot), executor, verbose)


def _acts(console: Console, acts: list[str], act: str, ex: Path, snapshot: Snapshot,
          loaded: WhatIf, executor: Executor, verbose: bool) -> None:
    from ovnguard.assess import assess
    from ovnguard.change.parse import read_change
    from ovnguard.report.text import render_text

    bundle = ex / "bundle"

    def whatif(path: Path) -> Report:
        return assess(snapshot, read_change(path), executor, baseline=loaded.baseline).report

    if "state" in acts:
        console.print(Rule(_("1. Before any change: what is already armed")))
        _short(console, loaded.report, ("present",))
    if "verbatim" in acts:
        console.print(Rule(_("2. The snippet exactly as pasted")))
        path = ex / "change-verbatim.sh"
        console.print(Text(visible_lines(path.read_text().strip()), style="dim"))
        _short(console, whatif(path), ("introduced",))
        console.print("  " + _(
            "As written, nothing would have happened: the switch name is a placeholder and "
            "`phynet2` is mapped nowhere. The trap is the next attempt."
        ))
    if "typo" in acts:
        console.print(Rule(_("3. Switch name fixed, typo kept")))
        path = ex / "change-typo.sh"
        _short(console, whatif(path), ("introduced",))
        console.print("  " + _(
            "The port lands in NB and SB; ovn-controller on compute1 (where the switch is "
            "local) finds no bridge for `phynet2` and logs one INFO line. Nothing visible "
            "happens, so the operator 'fixes' the name..."
        ))
    if "corrected" in acts:
        console.print(Rule(_("4. Both fixed: what took every node down")))
        path = ex / "change-corrected.sh"
        render_text(whatif(path), verbose=verbose)
    if act in ("all", "fix"):
        from ovnguard.plan import plan_separate_nic

        console.print(Rule(_("5. The fix: NIC separation, proven before anyone touches a host")))
        plan = visible_data(plan_separate_nic(snapshot, "physnet2", "br-public", "eth2"))
        v = plan.verification
        status = plan.status
        style = "bold green" if status == "proven" else "bold yellow"
        hosts = ", ".join(p.name for p in plan.parts)
        console.print(Text(f" {plan_status_label(status)} ", style=style) + Text("  " + (
            _("physnet2 -> br-public (uplink eth2) on {hosts}; the plan's end state: "
              "{verdict}, dangerous findings left: {dangerous}, resolved: {resolved}").format(
                hosts=hosts, verdict=verdict_label(v.end_verdict), dangerous=len(v.dangerous),
                resolved=", ".join(sorted({f.rule for f in v.resolved})))
            if v is not None else
            _("physnet2 -> br-public (uplink eth2) on {hosts}").format(hosts=hosts))))
        for part in plan.parts:
            for i, step in enumerate(part.steps, 1):
                for cmd in step.commands:
                    console.print(Text(f"  [{part.name}] {i}. ", style="dim")
                                  + Text(" ".join(cmd)))
        console.print("  " + _(
            "The old patch port is deleted in the same transaction as the mapping change: on "
            "OVN 23.03 changing only the mapping moves nothing (ovn-controller's transactions "
            "fail on a name clash; measured). Full plan with rollbacks: `ovnguard plan "
            "separate-nic --bundle {bundle} --physnet physnet2 --bridge br-public "
            "--nic eth2`.").format(bundle=escape(str(bundle))))
    if act == "all" or act == "corrected":
        console.print(Rule())
        console.print(_(
            "Next: rehearse it on a real OVN on this machine "
            "(`ovnguard rehearse --bundle {bundle} --change {change}`), "
            "or check your own cluster (`ovnguard check --bundle DIR --change FILE`).").format(
                bundle=escape(str(bundle)), change=escape(str(path))))
