"""`ovnguard apply`, `ovnguard confirm`, `ovnguard rollback`, `ovnguard guard status`: a
change applied with a dead-man switch (see docs/guard.md).

Exit codes: 0 done (apply: applied and armed; rollback: rolled back and verified),
1 refused / too late / rollback stopped or not verified, 2 bad input, 3 database unreachable
or the watcher could not start, 4 another guard holds the database.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from ovnguard.cli import options
from ovnguard.cli.out import echo
from ovnguard.errors import InputError, OvnguardError
from ovnguard.i18n import _
from ovnguard.report.formats import check_format, emit, format_help

STATE_DIR_HELP = _("State directory (default: $OVNGUARD_GUARD_DIR, else /var/lib/ovnguard/guard "
                   "as root, else ~/.local/state/ovnguard/guard).")


def _err(verb: str, e: OvnguardError) -> typer.Exit:
    echo(f"ovnguard {verb}: {e}", err=True)
    return typer.Exit(e.exit_code)


def _root(state_dir: Path | None) -> Path:
    from ovnguard.guard.state import default_state_dir, validate_state_dir

    return validate_state_dir(state_dir or default_state_dir())


def _pairs(items: list[str], option: str) -> dict[str, str]:
    out = {}
    for it in items:
        k, sep, v = it.partition("=")
        if not sep or not k or not v:
            raise InputError(_(
                    "{option} expects HOST=REMOTE, not {it!r}").format(
                    option=option, it=it))
        out[k] = v
    return out


APPLY_HELP = _("""Apply a change with a dead-man switch ("commit confirmed").

Runs the what-if first and refuses a dangerous change unless --force. Checks the
probes (only those passing now are watched), then starts a detached watcher that backs
up the database, applies every line as ONE transaction, and rolls it back at the
deadline, or at once when a probe fails, unless `ovnguard confirm` comes first. The
watcher survives this command, the terminal and the SSH session.

Exit codes: 0 applied and armed, 1 refused (nothing applied), 2 bad input,
3 database unreachable or watcher failed, 4 another guard holds this database,
5 applied and already taken back (a line or a probe failed at once).""")


def apply(
    change: Path | None = typer.Option(None, "--change", dir_okay=False,
                                       help=_("Change file (ovn-nbctl lines; or the ip and "
                                       "ovs-vsctl lines of one host, run on that host), as "
                                       "for `ovnguard check`. Required unless "
                                       "--host-state.")),
    host_state: Path | None = typer.Option(
        None, "--host-state", dir_okay=False, metavar="FILE",
        help=_("This host's proposed state as a netplan (or nmstate) YAML, applied under the "
        "guard: a netplan file is installed into --netplan-dir under its own name (what "
        "was there is backed up: bytes, mode, owner, or its absence) and its difference "
        "to the live state is applied as ip/ovs-vsctl edits; a rollback restores both. "
        "`netplan apply` is not run.")),
    netplan_dir: Path = typer.Option(Path("/etc/netplan"), "--netplan-dir", file_okay=False,
                                     help=_("Where --host-state installs a netplan file.")),
    nb: str | None = options.nb_option(_("NB database to change (default "
                                       "unix:/var/run/ovn/ovnnb_db.sock). On the NB host use "
                                       "the local unix: socket: the rollback must work when "
                                       "the network does not.")),
    sb: str | None = options.sb_option(_("SB database: read for the what-if when there is no "
                                       "--bundle, and to name lagging chassis.")),
    db: str | None = typer.Option(None, "--db", help=_("For ovs-vsctl changes: this host's "
                                  "Open_vSwitch database (default "
                                  "unix:/var/run/openvswitch/db.sock).")),
    host: str | None = typer.Option(None, "--host", help=_("Host of ovs-vsctl and ip lines "
                                    "that have no '# host:' line.")),
    from_addr: str | None = typer.Option(
        None, "--from", metavar="ADDR", help=_("The address you type the change from (default: "
        "the first word of $SSH_CLIENT): the what-if names the host line after which this "
        "host no longer reaches it."), show_default=False),
    bundle: Path | None = typer.Option(None, "--bundle", "-b", file_okay=False,
                                       help=_("Judge the change on this bundle (default: a "
                                       "snapshot of the live database).")),
    confirm_within: float = typer.Option(120.0, "--confirm-within", metavar="SECONDS",
                                         help=_("Roll back unless `ovnguard confirm` within "
                                         "this many seconds of the apply.")),
    probe: list[str] = typer.Option([], "--probe", metavar="SPEC",
                                    help=_("icmp:ADDR, tcp:ADDR[:PORT] (22), chassis[:SECONDS], "
                                    "cmd:COMMAND, or none. Repeatable. Default: icmp and "
                                    "tcp:22 to every host's management address.")),
    probe_netns: str | None = typer.Option(None, "--probe-netns", metavar="NS",
                                           help=_("Run icmp/tcp probes inside this network "
                                           "namespace.")),
    probe_cold: bool = typer.Option(False, "--probe-cold",
                                    help=_("Forget each target's ARP entry before each "
                                    "icmp/tcp probe: every probe starts with a broadcast, "
                                    "which an L2 loop breaks first.")),
    probe_interval: float = typer.Option(1.0, "--probe-interval", metavar="SECONDS",
                                         help=_("Seconds between probe rounds.")),
    probe_failures: int = typer.Option(1, "--probe-failures", metavar="N",
                                       help=_("Roll back when one probe fails N times in a "
                                       "row.")),
    auto_confirm_after: float | None = typer.Option(
        None, "--auto-confirm-after", metavar="SECONDS",
        help=_("Confirm by itself when every probe kept passing for this long.")),
    force: bool = typer.Option(False, "--force", help=_("Apply even when the what-if says "
                               "dangerous, or lines would be refused (the guard still "
                               "arms).")),
    state_dir: Path | None = typer.Option(None, "--state-dir", file_okay=False,
                                          help=STATE_DIR_HELP),
    chassis_db: list[str] = typer.Option([], "--chassis-db", metavar="HOST=REMOTE",
                                         help=_("A chassis' Open_vSwitch database, to check "
                                         "after a rollback that ovn-controller removed the "
                                         "patch ports the change made it create.")),
    repair_ports: bool = typer.Option(False, "--repair-ports",
                                      help=_("After a rollback, delete the patch ports the "
                                      "change made ovn-controller create on a --chassis-db "
                                      "chassis that did not follow within --verify-timeout "
                                      "(its control path may be what the change broke).")),
    give_up_after: float = typer.Option(600.0, "--give-up-after", metavar="SECONDS",
                                        help=_("Keep retrying an unreachable database this "
                                        "long once the rollback started.")),
    verify_timeout: float = typer.Option(10.0, "--verify-timeout", metavar="SECONDS",
                                         help=_("After a rollback, wait this long for chassis "
                                         "to catch up and patch ports to go.")),
    fmt: str = typer.Option("text", "--format", "-f",
                            help=format_help("GuardApplied", _("json: the guard's state"))),
    sentinel: bool = typer.Option(False, "--sentinel",
                                  help=_("Before applying, arm a sentinel on every host the "
                                  "what-if predicts patch ports for (through --sentinel-netns "
                                  "and --chassis-db: a lab); it deletes exactly those ports "
                                  "if the host loses its SB. See `guard sentinel`.")),
    sentinel_print: bool = typer.Option(False, "--sentinel-print",
                                        help=_("Print the `ovnguard guard sentinel` command to "
                                        "run on each such host before the apply, and apply "
                                        "nothing.")),
    sentinel_netns: list[str] = typer.Option([], "--sentinel-netns", metavar="HOST=NS",
                                             help=_("Run HOST's sentinel in this network "
                                             "namespace (the data-plane lab).")),
    sentinel_grace: float = typer.Option(60.0, "--sentinel-grace", metavar="SECONDS",
                                         help=_("Sentinels stay armed --confirm-within plus "
                                         "this long.")),
    sentinel_failures: int = typer.Option(3, "--sentinel-failures", metavar="N",
                                          help=_("A sentinel acts after N failed probe rounds "
                                          "in a row.")),
    short_c: Path | None = options.hidden_c_option(),
) -> None:
    from ovnguard.cli.check import operator_from
    from ovnguard.guard.arm import ApplyOptions, Refused, apply_guarded
    from ovnguard.report.guardaction import GuardApplied, GuardRefused, SentinelPlans

    def say(msg: str) -> None:
        if fmt == "text":
            echo(msg)

    try:
        options.no_short_c(short_c)
        if change is None and host_state is None:
            raise InputError(_("missing --change FILE (or --host-state FILE): the change to "
                               "apply"))
        check_format("GuardApplied", fmt)
        opts = ApplyOptions(
            change=change, nb=nb, sb=sb, db=db, host=host, bundle=bundle,
            confirm_within=confirm_within, probes=probe, probe_netns=probe_netns,
            probe_cold=probe_cold,
            probe_interval=probe_interval, probe_failures=probe_failures,
            auto_confirm_after=auto_confirm_after, force=force, state_dir=state_dir,
            chassis_dbs=_pairs(chassis_db, "--chassis-db"), repair_ports=repair_ports,
            give_up_after=give_up_after,
            verify_timeout=verify_timeout, operator=operator_from(from_addr),
            host_state=host_state, netplan_dir=netplan_dir,
        )
        armed: list[Any] = []
        if sentinel or sentinel_print or sentinel_netns:
            plans = _sentinel_plans(opts, sentinel, sentinel_print, sentinel_netns,
                                    sentinel_grace, sentinel_failures, say)
            if sentinel_print:
                emit(SentinelPlans(plans), fmt)
                raise typer.Exit(0)
            armed = _arm_sentinels(plans, opts, sentinel_netns, say)
        try:
            doc = apply_guarded(opts, say).to_doc()
        except BaseException:
            _stop_sentinels(armed, say)
            raise
        doc = _settle_sentinels(armed, doc, opts, say)
    except Refused as r:
        emit(GuardRefused(r.message, list(r.details)), fmt)
        raise typer.Exit(1) from None
    except OvnguardError as e:
        raise _err("apply", e) from None
    emit(GuardApplied(doc, str(state_dir) if state_dir else None), fmt)
    raise typer.Exit(apply_exit_code(doc.get("status")))


# The guard already took the change back (a line failed, or a probe failed within
# milliseconds): nothing of it stays, so a script must not go on as if it were applied.
ROLLED_BACK_AT_ONCE = 5


def apply_exit_code(status: object) -> int:
    """`apply`'s exit code for the guard's status when the watcher reported."""
    if status in ("rolling-back", "rolled-back", "rollback-conflict", "rollback-failed"):
        return ROLLED_BACK_AT_ONCE
    return {"refused": 1, "failed": 3}.get(str(status), 0)


def rollback_exit_code(doc: dict[str, Any]) -> int:
    """`rollback`'s exit code for the guard's state after it: 0 rolled back and verified, 1
    stopped (a conflict) or not verified, 3 gave up (database unreachable)."""
    status = doc.get("status")
    if status == "rolled-back":
        return 0 if doc.get("rollback", {}).get("verification", {}).get("ok") else 1
    return 3 if status == "rollback-failed" else 1


def _sentinel_plans(
    opts: Any, sentinel: bool, printing: bool, netns: list[str], grace: float, failures: int,
    say: Any,
) -> list[Any]:
    from ovnguard.guard import sentinel as sn

    if netns and not sentinel:
        raise InputError(_("--sentinel-netns needs --sentinel"))
    if sentinel and printing:
        raise InputError(_(
            "--sentinel arms the sentinels, --sentinel-print prints them: choose one"))
    if grace < 0:
        raise InputError(_("--sentinel-grace must not be negative"))
    if failures < 1:
        raise InputError(_("--sentinel-failures must be at least 1"))
    pred = sn.predict_added(opts)
    for n in pred.notes:
        say(_("warning: {note}").format(note=n))
    plans = sn.plans_from(pred.added, pred.remotes, opts.confirm_within + grace, failures)
    for p in plans:
        say(_("what-if: {host} gets {ports}").format(
            host=p.host, ports=", ".join(f"{port} ({b})" for b, port in p.ports)))
    if not plans:
        say(_("what-if: no host gets patch ports from this change: no sentinel needed"))
    return plans


def _arm_sentinels(plans: list[Any], opts: Any, netns: list[str], say: Any) -> list[Any]:
    from ovnguard.guard import sentinel as sn

    return sn.arm_planned(plans, opts.chassis_dbs, _pairs(netns, "--sentinel-netns"),
                          opts.state_dir, say)


def _stop_sentinels(armed: list[Any], say: Any) -> None:
    from ovnguard.guard import sentinel as sn

    for a in armed:
        if sn.stop_sentinel(a.path):
            say(_("sentinel on {host} stopped: nothing applied").format(host=a.host))


def _settle_sentinels(
    armed: list[Any], doc: dict[str, Any], opts: Any, say: Any
) -> dict[str, Any]:
    """Nothing applied: the sentinels have nothing to guard. Applied: note them in the
    guard's state (returned), and say if the watcher's what-if expected other ports."""
    from ovnguard.guard import sentinel as sn

    if not armed:
        return doc
    if doc.get("status") in ("refused", "unchanged", "failed"):
        _stop_sentinels(armed, say)
        return doc
    doc = sn.record_in_guard(_root(opts.state_dir), doc["id"], armed).to_doc()
    expected = doc.get("expected_ports", {})
    for a in armed:
        want = sorted(p["port"] for p in expected.get(a.host, {}).get("added", []))
        if want != sorted(a.watching):
            say((_("warning: sentinel on {host} watches {ports}, the guard expects {expected}")
                 if want else
                 _("warning: sentinel on {host} watches {ports}, the guard expects nothing")
                 ).format(host=a.host, ports=", ".join(a.watching), expected=", ".join(want)))
    return doc


CONFIRM_HELP = _("""Keep the change: cancel its pending rollback.

Exit codes: 0 confirmed, 1 too late (the rollback already started) or nothing to
confirm, 2 no such guard.""")


def confirm(
    guard_id: str | None = typer.Option(None, "--id", help=_("Guard id (default: the only "
                                        "active one).")),
    state_dir: Path | None = typer.Option(None, "--state-dir", file_okay=False,
                                          help=STATE_DIR_HELP),
    fmt: str = typer.Option("text", "--format", "-f",
                            help=format_help("GuardConfirmed", _("json: the guard's state"))),
) -> None:
    from ovnguard.guard.control import confirm as do_confirm
    from ovnguard.guard.sentinel import stop_sentinel
    from ovnguard.report.guardaction import GuardConfirmed

    try:
        check_format("GuardConfirmed", fmt)
        doc = do_confirm(_root(state_dir), guard_id).to_doc()
    except OvnguardError as e:
        raise _err("confirm", e) from None
    # A confirmed change is wanted: sentinels armed from here (lab mode) must not remove its
    # ports if a host loses its SB later. Sentinels started on the hosts themselves are
    # stopped there (`ovnguard guard sentinel-stop`).
    stopped = [sent.get("host", "?") for sent in doc.get("sentinels", [])
               if stop_sentinel(Path(sent["path"]))]
    emit(GuardConfirmed(doc, stopped), fmt)


ROLLBACK_HELP = _("""Undo the change now (also after a stopped rollback: retries it).

Exit codes: 0 rolled back and verified, 1 stopped (a conflicting edit; what differs
is printed) or not verified, 2 no such guard, 3 database unreachable (gave up).""")


def rollback(
    guard_id: str | None = typer.Option(None, "--id", help=_("Guard id (default: the only "
                                        "active one).")),
    state_dir: Path | None = typer.Option(None, "--state-dir", file_okay=False,
                                          help=STATE_DIR_HELP),
    force: bool = typer.Option(False, "--force", help=_("Overwrite items someone else changed "
                               "since the apply with their value from before the change.")),
    fmt: str = typer.Option("text", "--format", "-f",
                            help=format_help("GuardRolledBack", _("json: the guard's state"))),
) -> None:
    from ovnguard.guard.control import rollback as do_rollback
    from ovnguard.report.guardaction import GuardRolledBack

    def progress(message: str) -> None:
        # with --format json stdout holds only the document: the steps go to stderr
        echo(message, err=fmt == "json")

    try:
        check_format("GuardRolledBack", fmt)
        doc = do_rollback(_root(state_dir), guard_id, progress, force=force).to_doc()
    except OvnguardError as e:
        raise _err("rollback", e) from None
    emit(GuardRolledBack(doc), fmt)
    raise typer.Exit(rollback_exit_code(doc))


guard_app = typer.Typer(help=_("Guarded changes: status of the dead-man switches."),
                        no_args_is_help=True, add_completion=False)


STATUS_HELP = _("""Show guards: status, deadline, probes, timeline, rollback outcome.

Exit codes: 0 shown, 2 bad input or no such guard.""")


@guard_app.command("status", help=STATUS_HELP)
def status(
    guard_id: str | None = typer.Option(None, "--id", help=_("One guard (default: the active "
                                        "ones, else the last one).")),
    state_dir: Path | None = typer.Option(None, "--state-dir", file_okay=False,
                                          help=STATE_DIR_HELP),
    show_all: bool = typer.Option(False, "--all", help=_("Every guard in the state dir.")),
    fmt: str = typer.Option("text", "--format", "-f", help=format_help("GuardStatus")),
) -> None:
    from ovnguard.guard.control import status as do_status
    from ovnguard.report.guardstatus import GuardStatus

    try:
        check_format("GuardStatus", fmt)
        root = _root(state_dir)
        docs = do_status(root, guard_id, show_all)
    except OvnguardError as e:
        raise _err("guard status", e) from None
    emit(GuardStatus(str(root), docs), fmt)


RECOVER_HELP = _(
    """Take over every guard whose watcher died (kill -9, OOM) and whose keeper is gone too.

A new watcher generation continues where the dead one was: applying (the database is
compared with the backup; a change found there is rolled back), armed (watching on,
same deadline), rolling back (finished). Safe to run at any time, e.g. from a
systemd timer or cron every minute: guards with a live watcher are left alone.
Exit codes: 0 done (also: nothing to recover), 2 bad input.""")


@guard_app.command("recover", help=RECOVER_HELP)
def recover(
    state_dir: Path | None = typer.Option(None, "--state-dir", file_okay=False,
                                          help=STATE_DIR_HELP),
) -> None:
    from ovnguard.guard.recover import recover as do_recover

    try:
        done = do_recover(_root(state_dir), echo)
    except OvnguardError as e:
        raise _err("guard recover", e) from None
    if not done:
        echo(_("nothing to recover: every open guard has a live watcher"))


SENTINEL_HELP = _(
    """Arm a sentinel ON A CHASSIS: until the deadline, when this host cannot reach its SB
for N probe rounds in a row while a watched port exists, delete the watched ports (one
transaction, local socket), and keep watching. Nothing else is ever touched.

Run it on each host right before `ovnguard apply` (`apply --sentinel-print` prints
the commands). Exit codes: 0 armed, 1 not armed (nothing to watch, or no probe passes
now), 2 bad input, 3 database unreachable or the sentinel did not start.""")


@guard_app.command("sentinel", help=SENTINEL_HELP)
def sentinel(
    db: str = typer.Option("unix:/var/run/openvswitch/db.sock", "--db",
                           help=_("This host's Open_vSwitch database: use the local unix "
                           "socket, it works when the network does not.")),
    watch: list[str] = typer.Option(..., "--watch", metavar="PORT[,PORT...]",
                                    help=_("The patch ports the change makes ovn-controller "
                                    "create here (the what-if's `added` for this host). "
                                    "Repeatable.")),
    sb: str | None = typer.Option(None, "--sb", metavar="REMOTE",
                                  help=_("The SB as this host reaches it (tcp:ADDR:PORT, "
                                  "ssl:..., unix:PATH; comma-separated). Default: this "
                                  "host's external_ids:ovn-remote.")),
    until: float | None = typer.Option(None, "--until", metavar="EPOCH",
                                       help=_("Exit at this time (seconds since the epoch).")),
    seconds: float | None = typer.Option(None, "--for", metavar="SECONDS",
                                         help=_("Exit this many seconds from now.")),
    probe: list[str] = typer.Option([], "--probe", metavar="SPEC",
                                    help=_("Instead of a connect to the SB: icmp:ADDR, "
                                    "tcp:ADDR[:PORT], cmd:COMMAND, unix:PATH. Repeatable; a "
                                    "round fails when every probe fails.")),
    failures: int = typer.Option(3, "--failures", metavar="N",
                                 help=_("Act after N failed rounds in a row.")),
    interval: float = typer.Option(0.5, "--interval", metavar="SECONDS",
                                   help=_("Seconds between probe rounds.")),
    host: str | None = typer.Option(None, "--host", help=_("Name to record (default: the "
                                    "hostname).")),
    state_dir: Path | None = typer.Option(None, "--state-dir", file_okay=False,
                                          help=STATE_DIR_HELP + " " + _(
                                              "Sentinels live in its sentinels/ directory.")),
    fmt: str = typer.Option("text", "--format", "-f",
                            help=format_help("SentinelArmed", _("json: its state"))),
) -> None:
    import time

    from ovnguard.guard import sentinel as sn
    from ovnguard.report.guardaction import SentinelArmed

    try:
        check_format("SentinelArmed", fmt)
        deadline = sn.deadline_from(until, seconds, time.time())
        a = sn.arm_sentinel(db, watch, sb, deadline, probes=probe, failures=failures,
                            interval=interval, state_dir=state_dir, host=host)
    except OvnguardError as e:
        raise _err("guard sentinel", e) from None
    emit(SentinelArmed(a, sn.read_state(a.path), str(a.path / sn.STATE_FILE), failures, interval,
                       str(state_dir) if state_dir else None), fmt)


SENTINEL_STATUS_HELP = _(
    """Show this host's sentinels: status, what they watch, what they did and when.

Exit codes: 0 shown, 2 bad input or no such sentinel.""")


@guard_app.command("sentinel-status", help=SENTINEL_STATUS_HELP)
def sentinel_status(
    sentinel_id: str | None = typer.Option(None, "--id", help=_("One sentinel (default: the "
                                           "running ones, else the last one).")),
    show_all: bool = typer.Option(False, "--all", help=_("Every sentinel in the state dir.")),
    state_dir: Path | None = typer.Option(None, "--state-dir", file_okay=False,
                                          help=STATE_DIR_HELP),
    fmt: str = typer.Option("text", "--format", "-f", help=format_help("SentinelStatus")),
) -> None:
    from ovnguard.guard import sentinel as sn
    from ovnguard.report.guardaction import SentinelStatus

    try:
        check_format("SentinelStatus", fmt)
        root = sn.sentinels_root(state_dir)
        paths = (sn.find_sentinel(root, sentinel_id) if sentinel_id or not show_all
                 else sn.list_sentinels(root))
        if not paths and not show_all:
            paths = sn.list_sentinels(root)[-1:]
        docs = [{**sn.read_state(p), "alive": sn.alive(p), "path": str(p)} for p in paths]
    except OvnguardError as e:
        raise _err("guard sentinel-status", e) from None
    emit(SentinelStatus(str(root), docs, [sn.summary(p) for p in paths]), fmt)


SENTINEL_STOP_HELP = _(
    """Stop sentinels on this host (after `ovnguard confirm`, say: the change stays, and so
do the ports it made).

Exit codes: 0 done (also when none was running), 2 no such sentinel.""")


@guard_app.command("sentinel-stop", help=SENTINEL_STOP_HELP)
def sentinel_stop(
    sentinel_id: str | None = typer.Option(None, "--id", help=_("One sentinel (default: every "
                                           "running one).")),
    state_dir: Path | None = typer.Option(None, "--state-dir", file_okay=False,
                                          help=STATE_DIR_HELP),
) -> None:
    from ovnguard.guard import sentinel as sn

    try:
        paths = sn.find_sentinel(sn.sentinels_root(state_dir), sentinel_id)
    except OvnguardError as e:
        raise _err("guard sentinel-stop", e) from None
    stopped = [p for p in paths if sn.stop_sentinel(p)]
    for p in stopped:
        echo(_("stopped sentinel {name}").format(name=p.name))
    if not stopped:
        echo(_("no running sentinel"))


__all__ = ["apply", "confirm", "guard_app", "rollback"]
