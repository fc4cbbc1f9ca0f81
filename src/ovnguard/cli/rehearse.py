"""`ovnguard rehearse`: run a change for real on a replica of the cluster in a bundle."""

from __future__ import annotations

from pathlib import Path

import typer

from ovnguard.cli import options
from ovnguard.cli.out import echo
from ovnguard.errors import InputError, OvnguardError
from ovnguard.i18n import _
from ovnguard.report.formats import check_format, emit, format_help

REHEARSE_HELP = _(
    """Rehearse a change on a real OVN replica of the bundle's cluster, and report what
really happened.

Starts a lab with the bundle's NB and one chassis per bundle host (its bridges, NICs,
VIFs, ovn-bridge-mappings; all on the dummy datapath), runs each line of the change as
the real tool against it, waits for `ovn-nbctl --wait=hv sync`, and reports per host the
patch ports real ovn-controller added and removed, what ovn-controller, ovs-vswitchd and
ovn-northd logged, the commands that failed (with the tool's own error), and L2 loops
found by `ofproto/trace` of a broadcast into every provider bridge.

Exit codes: 0 nothing dangerous seen, 1 an L2 loop (or a chassis that stopped following
the NB, or a daemon that died), 2 input error, 3 lab error.""")


def rehearse(
    bundle: Path = typer.Option(
        ..., "--bundle", "-b", help=_("Bundle directory (nb.db, sb.db, hosts/<host>/conf.db ...).")
    ),
    change: Path | None = typer.Option(
        None,
        "--change",
        help=_("Change file: ovn-nbctl / ovs-vsctl lines ('# host: NAME' before ovs-vsctl), "
        "VAR=value, `openstack network create`. Required."),
    ),
    fmt: str = typer.Option("text", "--format", "-f", help=format_help("RehearsalResult")),
    keep_lab: bool = typer.Option(
        False,
        "--keep-lab",
        help=_("Leave the replica running after the rehearsal, for inspection "
        "(`ovnguard lab env --run-dir DIR`, then `ovnguard lab down --run-dir DIR`)."),
    ),
    run_dir: Path | None = typer.Option(
        None,
        "--run-dir",
        help=_("Where the replica lives (default: a temporary directory, removed afterwards "
        "unless --keep-lab). Logs and databases stay there after the rehearsal."),
    ),
    host: str | None = typer.Option(
        None, "--host", help=_("Host for ovs-vsctl lines that have no '# host:' line above.")
    ),
    timeout: float = typer.Option(60.0, "--timeout", help=_("Seconds for the replica to start.")),
    sync_timeout: float = typer.Option(
        10.0, "--sync-timeout", help=_("Seconds for every chassis to catch up after the change.")
    ),
    short_c: Path | None = options.hidden_c_option(),
) -> None:
    from ovnguard.change import read_change
    from ovnguard.lab.rehearse import rehearse as run_rehearsal

    try:
        options.no_short_c(short_c)
        if change is None:
            raise InputError(_("missing --change FILE: the change to rehearse"))
        check_format("RehearsalResult", fmt)
        parsed = read_change(change, default_host=host)
        result = run_rehearsal(
            bundle,
            parsed,
            run_dir=run_dir,
            keep_lab=keep_lab,
            timeout=timeout,
            sync_timeout=sync_timeout,
        )
    except OvnguardError as e:
        echo(f"ovnguard rehearse: {e}", err=True)
        raise typer.Exit(e.exit_code) from None
    emit(result, fmt)
    raise typer.Exit(result.exit_code)
