"""`ovnguard lab ...`: a real OVN (northd, NB/SB, N chassis) on this machine."""

from __future__ import annotations

import shlex
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer

from ovnguard.cli.out import echo, one_line_errors
from ovnguard.errors import InputError
from ovnguard.i18n import _
from ovnguard.report.formats import check_format, emit, format_help

app = typer.Typer(
    short_help=(
        _("A real OVN on this machine (northd, NB/SB, N chassis) to rehearse changes and ex"
        "port bundles.")
    ),
    help=(
        _("Run a real OVN on this machine: NB and SB ovsdb-servers, ovn-northd, and N chassis, "
        "each with its own ovsdb-server, ovs-vswitchd (dummy datapath) and ovn-controller, "
        "from the Debian packages (openvswitch-switch, ovn-central, ovn-host).\n\n"
        "Everything lives in the run dir (default ./.lab, or $OVNGUARD_LAB_DIR, or "
        "--run-dir): nb/ sb/ northd/ for the central daemons, hosts/<name>/ per chassis "
        "(conf.db, db.sock, *.log), and lab.json describing the lab.\n\n"
        'Typical use:  ovnguard lab up --chassis 3;  eval "$(ovnguard lab env)";  '
        "ovn-nbctl show;  ovnguard lab export bundle/;  ovnguard lab down")
    ),
    no_args_is_help=True,
)

def _label(text: str) -> str:
    """A label of `lab up`'s summary, padded by display width (Korean takes two columns)."""
    from ovnguard.report.labels import pad

    return pad(text, 9)


RUN_DIR_HELP = _("Lab run dir (default: $OVNGUARD_LAB_DIR, else ./.lab).")
MAX_CHASSIS = 500


def _progress_printer() -> tuple[Callable[[str, int, int], None] | None, Callable[[], None]]:
    """A rich progress display on a terminal; nothing when output goes to a file or pipe."""
    if not sys.stderr.isatty():
        return None, lambda: None
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    labels = {
        "central": "NB/SB ovsdb-servers + ovn-northd",
        "chassis": "chassis (ovsdb-server, ovs-vswitchd, ovn-controller)",
        "register": "chassis registered in SB",
        "sync": "ovn-nbctl --wait=hv sync",
    }
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    tasks: dict[str, Any] = {}
    progress.start()

    def update(stage: str, done: int, total: int) -> None:
        if stage not in tasks:
            tasks[stage] = progress.add_task(labels.get(stage, stage), total=total)
        progress.update(tasks[stage], completed=done, total=total)

    return update, progress.stop


UP_HELP = _("""Start a lab and wait until every chassis is registered in SB and in sync.

Starts NB and SB ovsdb-server and ovn-northd (logs in RUN_DIR/{nb,sb,northd}/), then per
chassis an ovsdb-server, ovs-vswitchd --enable-dummy=override and ovn-controller (logs in
RUN_DIR/hosts/<name>/). A run dir left by a killed lab is cleaned first; a running lab
there is an error (stop it with `ovnguard lab down`).""")


@app.command("up", help=UP_HELP)
def up(
    chassis: int | None = typer.Option(
        None,
        "--chassis",
        "-n",
        help=(
            _("Build N chassis named controller, network, compute1..compute(N-2), each with "
            "br-ex holding NIC enp6s18 and the management address 10.10.0.(21+i)/24, "
            "physnet2:br-ex, plus Neutron's provider network with its provnet localnet port "
            "and a VM port bound on compute1. Default 3 when no --topology.")
        ),
    ),
    topology: Path | None = typer.Option(
        None,
        "--topology",
        "-t",
        help=(
            _("Topology YAML file (hosts, bridges, mappings, logical switches/routers); "
            "see docs/lab.md.")
        ),
    ),
    from_bundle: Path | None = typer.Option(
        None,
        "--from-bundle",
        help=(
            _("Build a replica of the cluster in this bundle: its NB, and one chassis per "
            "hosts/<host>/ with that host's bridges, NICs, VIFs and external_ids "
            "(see docs/rehearse.md).")
        ),
    ),
    run_dir: Path | None = typer.Option(None, "--run-dir", help=RUN_DIR_HELP),
    timeout: float = typer.Option(
        60.0, "--timeout", help=_("Seconds to wait for every chassis to register and sync.")
    ),
    dataplane: bool = typer.Option(
        False,
        "--dataplane",
        help=(
            _("Real packets: each host a network namespace on a shared LAN, OVS on its "
            "userspace datapath, the management address on br-ex, so ping/TCP between hosts "
            "are real (needs root; see docs/dataplane.md).")
        ),
    ),
    control: str = typer.Option(
        "management",
        "--control",
        help=(
            _("With --dataplane: 'management' = ovn-controller reaches the SB over the "
            "management LAN (as in production: a loop can cut it off); 'local' = over a unix "
            "socket the LAN cannot break.")
        ),
    ),
) -> None:
    from ovnguard.lab import Lab, load_topology, seed_topology

    with one_line_errors("lab up"):
        if chassis is not None and topology is not None:
            raise InputError(_("give either --chassis or --topology, not both"))
        if from_bundle is not None and (chassis is not None or topology is not None):
            raise InputError(_(
                    "--from-bundle builds every chassis from the bundle; do not combine it with "
                    "--chassis or --topology"))
        if dataplane:
            _up_dataplane(topology, chassis, from_bundle, run_dir, control, timeout)
            return
        notes: tuple[str, ...] = ()
        if from_bundle is not None:
            from ovnguard.lab.replica import plan_replica

            plan = plan_replica(from_bundle)
            topo = plan.topology
            notes = (*plan.notes, *(n for h in plan.hosts for n in h.notes))
        elif topology is not None:
            topo = load_topology(topology)
        else:
            n = 3 if chassis is None else chassis
            if not 1 <= n <= MAX_CHASSIS:
                raise InputError(_(
                        "--chassis must be between 1 and {MAX_CHASSIS}, not {n}").format(
                        MAX_CHASSIS=MAX_CHASSIS, n=n))
            topo = seed_topology(n)
        show, stop = _progress_printer()
        started = time.monotonic()
        try:
            if from_bundle is not None:
                from ovnguard.lab.replica import start_replica

                lab = start_replica(plan, run_dir, timeout=timeout, progress=show)
            else:
                lab = Lab.up(topo, run_dir, timeout=timeout, progress=show)
        finally:
            stop()
        took = time.monotonic() - started
        names = lab.host_names()
        shown = ", ".join(names[:8]) + (f", ... ({len(names) - 8} more)" if len(names) > 8 else "")
        root = lab.run_dir
        echo(_(
                "lab up in {took:.2f}s: {count} chassis registered ({shown})").format(
                took=took, count=len(names), shown=shown))
        # (the labels are made outside the f-strings: Babel does not look inside them)
        run_l, logs_l, try_l, stop_l = (_label(t) for t in (_("run dir"), _("logs"), _("try"),
                                                            _("stop")))
        echo(f"  {run_l} {root}")
        echo(f"  {_label('NB')} {lab.nb_remote}")
        echo(f"  {_label('SB')} {lab.sb_remote}")
        echo(f"  {logs_l} {root}/{{nb,sb,northd}}/*.log, {root}/hosts/<name>/*.log")
        hint = "" if run_dir is None else f" --run-dir {shlex.quote(str(run_dir))}"
        echo(f'  {try_l} eval "$(ovnguard lab env{hint})"; ovn-nbctl show; '
             "ovn-sbctl show")
        echo(f"  {stop_l} ovnguard lab down{hint}")
        if from_bundle is not None:
            echo("  " + _label(_("replica")) + " " + _("of {bundle}").format(bundle=from_bundle))
        for note in notes:
            echo("  " + _label(_("note")) + f" {note}")


STATUS_HELP = _(
    """Show each daemon (pid, running) and each chassis (registered in SB Chassis or not).

Exit 0 when every daemon runs and every chassis is registered, 1 otherwise, 3 when there
is no lab in the run dir.""")


@app.command("status", help=STATUS_HELP)
def status(
    run_dir: Path | None = typer.Option(None, "--run-dir", help=RUN_DIR_HELP),
    fmt: str = typer.Option("text", "--format", "-f", help=format_help("LabStatus")),
) -> None:
    from ovnguard.lab import Lab

    with one_line_errors("lab status"):
        check_format("LabStatus", fmt)
        st = Lab.attach(run_dir).status()
        emit(st, fmt)
        if not st.healthy:
            raise typer.Exit(1)


def _up_dataplane(
    topology: Path | None,
    chassis: int | None,
    from_bundle: Path | None,
    run_dir: Path | None,
    control: str,
    timeout: float,
) -> None:
    from ovnguard.lab import load_topology
    from ovnguard.lab.dataplane import DataplaneLab

    if chassis is not None or from_bundle is not None:
        raise InputError(_("--dataplane takes --topology (or nothing, for the seed cluster)"))
    if control not in ("management", "local"):
        raise InputError(_(
                "--control must be 'management' or 'local', not {control!r}").format(
                control=control))
    topo = load_topology(topology) if topology is not None else None
    started = time.monotonic()
    dp = DataplaneLab.up(topo, run_dir, control="local" if control == "local" else "management",
                         timeout=timeout)
    echo(_(
            "data-plane lab up in {seconds:.2f}s (ovn-controller reaches the SB over: "
            "{control})").format(seconds=time.monotonic() - started, control=control))
    for node, addr in sorted(dp.addresses.items()):
        echo(f"  {node:12} {addr}   netns {dp.netns_of(node)}")
    hint = "" if run_dir is None else f" --run-dir {shlex.quote(str(run_dir))}"
    try_l, stop_l = _label(_("try")), _label(_("stop"))
    echo(f"  {try_l} ip netns exec {dp.netns_of(sorted(dp.hosts)[0])} ping "
         f"{dp.addresses[sorted(dp.hosts)[-1]]}")
    echo(f"  {stop_l} ovnguard lab down{hint}")


DOWN_HELP = _("""Stop every daemon of the lab (TERM, then KILL) and remove its sockets and pidfiles.

Works from any process and also on the remains of a killed lab. Only processes whose
command line mentions the run dir are ever signalled. Logs and DB files stay in the run
dir for post-mortems unless --purge.""")


@app.command("down", help=DOWN_HELP)
def down(
    run_dir: Path | None = typer.Option(None, "--run-dir", help=RUN_DIR_HELP),
    purge: bool = typer.Option(
        False, "--purge",
        help=_("Also delete the run dir (databases and logs); default keeps them.")
    ),
) -> None:
    from ovnguard.lab import Lab
    from ovnguard.lab.dataplane import STATE_FILE, DataplaneLab
    from ovnguard.lab.layout import RunLayout, default_run_dir

    with one_line_errors("lab down"):
        root = RunLayout.at(run_dir if run_dir is not None else default_run_dir()).root
        # A data-plane lab also owns namespaces and listeners: its own teardown removes them.
        stop = DataplaneLab.down_dir if (root / STATE_FILE).exists() else Lab.down_dir
        if stop(run_dir, purge=purge):
            echo(_("lab stopped") + (_(" and run dir removed") if purge else ""))
        else:
            echo(_("no lab in the run dir; nothing to stop"))


EXPORT_HELP = _(
    """Write a bundle of the running lab: nb.db, sb.db, hosts/<host>/{conf.db, addr.json,
route.json, link.json}, inventory.yaml — the layout `ovnguard check --bundle` reads.

The .db files are `ovsdb-client backup` of the lab's real servers; the ip -j JSON files
are synthesized from the topology and each chassis' interfaces.""")


@app.command("export", help=EXPORT_HELP)
def export(
    dest: Path = typer.Argument(..., help=_("Directory to write the bundle to (new or empty).")),
    run_dir: Path | None = typer.Option(None, "--run-dir", help=RUN_DIR_HELP),
    force: bool = typer.Option(False, "--force", help=_("Write into a non-empty directory.")),
) -> None:
    from ovnguard.lab import Lab
    from ovnguard.lab.export import export_bundle

    with one_line_errors("lab export"):
        out = export_bundle(Lab.attach(run_dir), dest, force=force)
        echo(_("bundle written to {out}").format(out=out))


ENV_HELP = _("""Print shell `export` lines that point the stock OVN/OVS tools at the lab.

ovn-nbctl and ovn-sbctl talk to the lab's NB/SB; with --host, also ovs-vsctl, ovs-ofctl
and `ovn-appctl -t ovn-controller` talk to that chassis:

    eval "$(ovnguard lab env --host compute1)"
""")


@app.command("env", help=ENV_HELP)
def env(
    host: str | None = typer.Option(
        None, "--host", help=_("Also point ovs-vsctl/ovs-ofctl/ovn-appctl at this chassis.")
    ),
    run_dir: Path | None = typer.Option(None, "--run-dir", help=RUN_DIR_HELP),
) -> None:
    from ovnguard.lab import Lab, environ_for

    with one_line_errors("lab env"):
        lab = Lab.attach(run_dir)
        for k, v in environ_for(lab, host).items():
            echo(f"export {k}={shlex.quote(v)}")
