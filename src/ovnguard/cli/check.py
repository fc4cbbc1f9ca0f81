"""`ovnguard check`: judge a bundle's state, or what a change would do to it."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from ovnguard.cli import options
from ovnguard.errors import InputError
from ovnguard.i18n import _
from ovnguard.report.formats import check_format, emit, format_help

if TYPE_CHECKING:
    from ovnguard.model.snapshot import Snapshot
    from ovnguard.sources.live import SslFiles

if TYPE_CHECKING:
    from ovnguard.change.executor import Executor
    from ovnguard.change.model import Change


class ExecutorChoice(StrEnum):
    auto = "auto"
    real_tools = "real-tools"
    model = "model"


class Level(StrEnum):
    risky = "risky"
    dangerous = "dangerous"
    never = "never"


def exit_code(verdict: str, fail_on: Level) -> int:
    from ovnguard.report.schema import VERDICT_ORDER

    if fail_on is Level.never:
        return 0
    return 1 if VERDICT_ORDER[verdict] >= VERDICT_ORDER[fail_on.value] else 0


LIVE = _("Live state (--live, docs/collect.md)")
SOS = _("sos reports (--sosreport, docs/collect.md)")


CHECK_HELP = _("""Predict what a change does to every host, before you run it.

Reads the bundle (or live state, or sos reports), applies the change to throwaway copies of
the databases with the real ovn-nbctl / ovs-vsctl (never to a live database; ovnguard's
model of them where they are not installed), predicts per host which patch ports
ovn-controller would create or remove, runs every hazard rule before and after, and gives
a verdict: safe, risky or dangerous (some host loses management, or an L2 loop).
Exit codes: 0 verdict below --fail-on, 1 at or above it, 2 bad input.

Examples:

  ovnguard check --bundle ./bundle                       # armed hazards now

  ovnguard check --bundle ./bundle --change fix.sh       # what would fix.sh do?

  ovnguard check -b ./bundle --change move-ip.sh --from 10.0.0.5   # which line cuts me off?

  ovnguard check -b ./bundle --host-state compute1=50-cloud-init.yaml   # netplan/nmstate

  ovnguard check -b ./bundle --change fix.sh --format json | jq .verdict

  ovnguard check --live --nb tcp:10.10.0.11:6641 --sb tcp:10.10.0.11:6642 --change fix.sh

  OVN_NB_DB=tcp:10.10.0.11:6641 OVN_SB_DB=tcp:10.10.0.11:6642 ovnguard check --live

  ovnguard check --live --inventory multinode --nb tcp:10.10.0.11:6641

  ovnguard check --sosreport sosreport-ctl1-*.tar.xz sosreport-cmp*.tar.xz""")


def check(
    bundle: Path | None = typer.Option(
        None,
        "--bundle",
        "-b",
        help=_(
                "Bundle directory (nb.db, sb.db, hosts/<host>/conf.db, addr.json, route.json "
                "...; see docs/bundle.md). Make one with `ovnguard collect`, `ovnguard lab "
                "export` or the native commands."),
        file_okay=False,
    ),
    change: Path | None = typer.Option(
        None,
        "--change",
        help=_(
                "Change file: ovn-nbctl / ovs-vsctl / `openstack network create` / `ip` lines as "
                "you would paste them (VAR=value, ${VAR}, `# host: NAME` for ovs-vsctl and ip). "
                "Never run by a shell. Without it, the current state is checked."),
        dir_okay=False,
    ),
    host: str | None = typer.Option(
        None, "--host", help=_(
            "Host that ovs-vsctl and ip lines act on when no `# host:` comment says.")
    ),
    host_state: list[str] = typer.Option(
        [], "--host-state", metavar="HOST=FILE", help=_(
                "A host's proposed network state as a whole file: a netplan YAML (validated and "
                "rendered by the installed `netplan generate`, its openvswitch bridges included) "
                "or an nmstate YAML. Applied after the change's lines as the difference to the "
                "collected state (docs/change-file.md). Repeatable."), show_default=False),
    from_addr: str | None = typer.Option(
        None, "--from", metavar="ADDR", help=_(
                "The address you type the change from (default: the first word of $SSH_CLIENT): "
                "host lines are checked for the line after which a host no longer reaches it."),
        show_default=False),
    fmt: str = typer.Option(
        "text", "--format", "-f", help=format_help(
            "Report", _(
                    "text for a terminal, json with its schema in docs/json.md, sarif for "
                    "code-scanning UIs, html a self-contained page with a topology picture"))
    ),
    output: Path | None = typer.Option(
        None, "--output", "-o", help=_("Write the report here instead of stdout."), dir_okay=False
    ),
    fail_on: Level = typer.Option(
        Level.risky, "--fail-on", help=_("Exit 1 when the verdict is at or above this level.")
    ),
    verbose: bool = typer.Option(
        False, "--verbose", "-v", help=_(
                "Text: every line of the change, every finding with its evidence, pre-existing "
                "findings one by one.")
    ),
    quiet: bool = typer.Option(
        False, "--quiet", "-q", help=_("Text: the verdict line only (the exit code says it too).")
    ),
    introduced: bool = typer.Option(
        False, "--introduced", help=_(
                "Only what the change introduces: its findings (and existing hazards it "
                "extends to more hosts), the hosts they reach and whose ports change; every "
                "format. Needs --change.")
    ),
    live: bool = typer.Option(
        False, "--live", help=_(
                "Check live state instead of a bundle: NB/SB from --nb/--sb (or this central "
                "node's sockets), this host (OVS socket, netlink, Neutron files) or the hosts of "
                "--inventory over SSH. Read-only; nothing is written anywhere."),
        rich_help_panel=LIVE),
    nb: str | None = options.nb_option(
        _("OVN_Northbound remote (unix:PATH, tcp:IP:PORT, ssl:IP:PORT), as ovn-nbctl --db."),
        rich_help_panel=LIVE),
    sb: str | None = options.sb_option(
        _("OVN_Southbound remote, as --nb (ovn-sbctl --db)."), rich_help_panel=LIVE),
    ovs: str | None = typer.Option(
        None, "--ovs", help=_("This host's Open_vSwitch remote (default: the usual sockets)."),
        rich_help_panel=LIVE),
    private_key: Path | None = options.private_key_option(rich_help_panel=LIVE),
    certificate: Path | None = options.certificate_option(rich_help_panel=LIVE),
    ca_cert: Path | None = options.ca_cert_option(rich_help_panel=LIVE),
    inventory: Path | None = typer.Option(
        None, "--inventory", help=_(
                "Read every host of this inventory over SSH: a `host: address` map, ovnguard's "
                "hosts.yaml, an Ansible inventory (INI, YAML; dynamic ones through "
                "ansible-inventory) or openstack_user_config.yml (docs/collect.md)."),
        rich_help_panel=LIVE),
    limit: str | None = typer.Option(
        None, "--limit", help=_(
                "With --inventory: only these hosts or groups, as Ansible's --limit "
                "(`compute,network`, globs, `!storage`, `&ovn-controller`)."),
        rich_help_panel=LIVE),
    timeout: float = typer.Option(
        30.0, "--timeout", help=_("Seconds per host (SSH) or per database read."),
        rich_help_panel=LIVE),
    concurrency: int = typer.Option(
        64, "--concurrency", "-j", help=_("SSH: hosts read at the same time."),
        rich_help_panel=LIVE),
    identity: list[Path] = typer.Option(
        [], "--identity", "-i", help=_("SSH private key (default: ~/.ssh/id_* and the agent)."),
        dir_okay=False, rich_help_panel=LIVE),
    known_hosts: Path | None = typer.Option(
        None, "--known-hosts", help=_("known_hosts file (default: ~/.ssh/known_hosts)."),
        dir_okay=False, rich_help_panel=LIVE),
    user: str | None = typer.Option(
        None, "--user", "-l", help=_("SSH user where the inventory names none."),
        rich_help_panel=LIVE),
    ovn_bindir: Path | None = typer.Option(
        None, "--ovn-bindir", help=_(
                "Directory with the ovn-nbctl, ovn-sbctl, ovs-vsctl, ovsdb-server and "
                "ovsdb-client to apply the change with (e.g. copied out of the cluster's "
                "container, for another OVN release); default: those on PATH."),
        file_okay=False, show_default=False),
    executor: ExecutorChoice = typer.Option(
        ExecutorChoice.auto, "--executor", help=_(
                "How change lines are applied: real-tools (the real ovn-nbctl/ovs-vsctl on "
                "throwaway copies of the databases; never a live one), model (ovnguard's "
                "re-implementation, for machines without the tools), or auto (real tools when "
                "installed).")),
    sosreport: bool = typer.Option(
        False, "--sosreport", help=_(
                "Check the sos reports (directories or .tar.xz/.tar.gz archives) given as "
                "arguments: one per node, central node(s) included."),
        rich_help_panel=SOS),
    reports: list[Path] | None = typer.Argument(
        None, metavar="[SOSREPORT...]", help=_("With --sosreport: the sos reports."),
        show_default=False),
) -> None:
    from ovnguard.assess import assess
    from ovnguard.change.parse import read_change

    ssl = options.ssl_files(private_key, certificate, ca_cert)
    modes = [m for m, on in (("--bundle", bundle is not None), ("--live", live),
                             ("--sosreport", sosreport)) if on]
    if len(modes) != 1:
        raise InputError(_(
            "give exactly one of --bundle DIR, --live or --sosreport DIR...; got {value}").format(
            value=' and '.join(modes) if modes else 'none'), "check")
    if reports and not sosreport:
        raise InputError(_(
                "unexpected argument {reports} (sos reports need --sosreport)").format(
                reports=reports[0]),
                         "check")
    check_format("Report", fmt)
    if introduced and change is None and not host_state:
        raise InputError(_("--introduced needs --change (or --host-state): without a change "
                           "nothing is introduced"), "--introduced")
    operator = operator_from(from_addr)
    if bundle is not None:
        from ovnguard.sources.bundle import load_bundle

        if not bundle.is_dir():
            raise InputError(_("bundle directory not found"), str(bundle))
        snapshot = load_bundle(bundle)
    elif live:
        if limit is not None and inventory is None:
            raise InputError(_("--limit needs --inventory"), "--limit")
        snapshot = _live_snapshot(nb, sb, ovs, ssl, inventory, limit, timeout, concurrency,
                                  identity, known_hosts, user)
    else:
        from ovnguard.sources.sosreport import load_sosreports

        if not reports:
            raise InputError(_("--sosreport needs at least one sos report directory or archive"),
                             "check")
        snapshot = load_sosreports(reports)
    ch = read_change(change, default_host=host) if change is not None else None
    ch = _with_host_states(ch, host_state, snapshot)
    whatif = assess(snapshot, ch,
                    executor=_executor(executor, ovn_bindir) if ch is not None else None,
                    operator=operator)
    report = whatif.report
    if bundle is None:
        # What the live read or the sos reports lacked (a host unreachable, a file sos did
        # not keep) must reach the operator: it narrows what the verdict covers.
        report = report.model_copy(
            update={"notes": list(dict.fromkeys([*snapshot.notes, *report.notes]))})
    if introduced:
        from ovnguard.report.introduced import introduced_only

        report = introduced_only(report)
    emit(report, fmt, output, verbose=verbose, quiet=quiet)
    raise typer.Exit(exit_code(report.verdict, fail_on))


def operator_from(from_addr: str | None) -> str | None:
    """--from ADDR, else $SSH_CLIENT's client address (read here, at the edge)."""
    import os

    from ovnguard.findings.rules.hostchange import operator_address

    if from_addr is not None:
        addr = operator_address(from_addr)
        if addr is None or len(from_addr.split()) != 1:
            raise InputError(_(
                    "--from {from_addr!r}: not an IP address").format(
                    from_addr=from_addr), "--from")
        return addr
    return operator_address(os.environ.get("SSH_CLIENT"))


def _with_host_states(ch: Change | None, specs: list[str], snapshot: Snapshot
                      ) -> Change | None:
    if not specs:
        return ch
    from ovnguard.change.hoststate import read_host_state, with_host_state

    for spec in specs:
        name, sep, path = spec.partition("=")
        if not sep or not name or not path:
            raise InputError(_("--host-state {spec!r}: expected HOST=FILE").format(spec=spec),
                "--host-state")
        if name not in snapshot.hosts:
            raise InputError(_(
                "--host-state: host {name} is not in the bundle (hosts: {names})").format(
                name=name, names=', '.join(sorted(snapshot.hosts)[:5])), "--host-state")
        ch = with_host_state(ch, name, read_host_state(path), snapshot)
    return ch


def _executor(choice: ExecutorChoice, bindir: Path | None) -> Executor:
    from ovnguard.change.executor import ModelExecutor, RealToolExecutor, default_executor
    from ovnguard.change.tools import find_tools

    if choice == ExecutorChoice.model:
        return ModelExecutor()
    if choice == ExecutorChoice.real_tools:
        tools = find_tools(bindir)
        if not tools.complete:
            raise InputError(
                _(
                "--executor real-tools: not found: {names} (install ovn-central/ovn-host and "
                "openvswitch-switch, or give --ovn-bindir)").format(
                names=', '.join(tools.missing)),
                str(bindir) if bindir else "PATH")
        return RealToolExecutor(tools)
    return default_executor(bindir)


def _live_snapshot(
    nb: str | None, sb: str | None, ovs: str | None, ssl: SslFiles | None,
    inventory: Path | None, limit: str | None, timeout: float, concurrency: int,
    identity: list[Path],
    known_hosts: Path | None, user: str | None,
) -> Snapshot:
    """Collect in memory (nothing written) and build the Snapshot `load_bundle` would."""
    from ovnguard.sources.collected import to_snapshot
    from ovnguard.sources.live import LocalOptions, collect_local, ovsdb_backup
    if inventory is None:
        return to_snapshot(collect_local(
            LocalOptions(nb=nb, sb=sb, ovs=ovs, ssl=ssl, timeout=timeout), need_nb=True))
    from ovnguard.sources.inventory import limit_hosts, load_inventory
    from ovnguard.sources.remote import SshOptions, collect_targets, targets_of, with_user

    inv = load_inventory(inventory)
    if limit is not None:
        inv = limit_hosts(inv, limit)
    targets = with_user(targets_of(inv), user)
    collection = collect_targets(
        targets, SshOptions(identities=tuple(identity), known_hosts=known_hosts, user=user),
        concurrency=concurrency, timeout=timeout)
    collection.problems[:0] = inv.notes
    if nb is not None:
        collection.nb = ovsdb_backup(nb, "OVN_Northbound", ssl, timeout)
        collection.sources["nb.db"] = nb
    if sb is not None:
        collection.sb = ovsdb_backup(sb, "OVN_Southbound", ssl, timeout)
        collection.sources["sb.db"] = sb
    return to_snapshot(collection)
