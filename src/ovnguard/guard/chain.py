"""A change file as ONE transaction of the real tool (pure).

`ovn-nbctl` and `ovs-vsctl` run all commands of one invocation, chained with `--`, in one
OVSDB transaction: all of them apply or none does. The guard joins every line of a change
into one such invocation, so a change is never left half applied, and the rollback has
exactly one "before" to return to.

One guard acts on one database: the central NB (`ovn-nbctl` lines) or one host's
Open_vSwitch database (`ovs-vsctl` lines, all for the same host).
"""

from __future__ import annotations

from collections.abc import Sequence

from ovnguard.change.model import Change, Command
from ovnguard.change.shell import quote_words
from ovnguard.errors import InputError
from ovnguard.i18n import _
from ovnguard.record import record

NB = "OVN_Northbound"
OVS = "Open_vSwitch"


@record
class Target:
    database: str  # NB or OVS
    tool: str  # "ovn-nbctl" | "ovs-vsctl"
    host: str | None  # for ovs-vsctl: the host whose Open_vSwitch database it changes


def target_of(change: Change) -> Target:
    """Which database the change acts on; an InputError when the guard cannot apply it as
    one transaction."""
    where = change.path
    invs = change.invocations
    if not invs:
        raise InputError(_(
            "no ovn-nbctl or ovs-vsctl command line to apply"), where)
    tools = {inv.tool for inv in invs}
    if "openstack" in tools:
        line = next(i.location.line for i in invs if i.tool == "openstack")
        raise InputError(
            _(
            "the guard applies ovn-nbctl / ovs-vsctl lines only; run `openstack` commands "
            "through Neutron (its API, not its database, is the thing to change)"), where, line)
    if "ip" in tools:
        line = next(i.location.line for i in invs if i.tool == "ip")
        raise InputError(
            _(
            "`ip` lines are a host change: run `ovnguard apply` on that host with only its ip "
            "and ovs-vsctl lines (guard/hoststeps.py)"), where, line)
    if len(tools) > 1:
        raise InputError(
            _(
            "the change mixes ovn-nbctl and ovs-vsctl lines: one guard acts on one database "
            "(NB, or one host's Open_vSwitch); split it into one change per database"), where)
    for inv in invs:
        if inv.syntax_error:
            raise InputError(f"{inv.tool}: {inv.syntax_error}", where, inv.location.line)
        if inv.dry_run:
            raise InputError(_(
                "--dry-run changes nothing: there is nothing to guard"), where,
                             inv.location.line)
        if not inv.commands:
            raise InputError(_(
                "{tool} without a command (--help/--version) changes nothing").format(
                tool=inv.tool), where, inv.location.line)
    tool = tools.pop()
    if tool == "ovn-nbctl":
        return Target(NB, tool, None)
    host = one_host(
        [(inv.host, inv.location.line) for inv in invs], where,
        _("ovs-vsctl acts on one host's database: say which with a '# host: NAME' line above "
          "it or --host NAME"),
        _("the change has ovs-vsctl lines for several hosts ({names}): one guard acts on one "
          "host's database; split it per host and run each on its host"))
    return Target(OVS, tool, host)


def one_host(hosts: Sequence[tuple[str | None, int | None]], where: str, unnamed: str,
             several: str) -> str:
    """The one host all lines of a change act on, from each line's (host, line number);
    a host of None is a line whose host nobody named. Otherwise an InputError: `unnamed` at
    the first such line, or `several` with its {names} filled in. Both the OVSDB-only path
    (`target_of`) and a host change (`hoststeps.host_target`) ask this; the wording is the
    caller's, as each tells the operator what to split or name in its own terms."""
    missing = [line for host, line in hosts if host is None]
    if missing:
        raise InputError(unnamed, where, missing[0])
    names = {host for host, _line in hosts if host is not None}
    if len(names) > 1:
        raise InputError(several.format(names=", ".join(sorted(names))), where)
    # Callers always give at least one line (a host change without lines gives its default).
    (host,) = names
    return host


def command_words(cmd: Command) -> list[str]:
    opts = [k if v is None else f"{k}={v}" for k, v in cmd.options]
    return [*opts, cmd.verb, *cmd.args]


def chained_commands(change: Change) -> list[str]:
    """Every command of every line, each after a `--` (options of a command must follow
    one), without the lines' global options (--db, --wait, -t, output formats): the guard
    sets those itself."""
    words: list[str] = []
    for inv in change.invocations:
        for cmd in inv.commands:
            words += ["--", *command_words(cmd)]
    return words


def chain_argv(change: Change, target: Target, remote: str, timeout: float) -> list[str]:
    """The one command that applies the change. No --wait: the guard's probes, not the
    tool, find out whether the cluster followed (a `--wait=hv` would block on the very
    chassis a bad change cuts off)."""
    secs = max(1, int(timeout + 0.999))
    head = [target.tool, f"--db={remote}", f"--timeout={secs}"]
    if target.tool == "ovs-vsctl":
        head.append("--no-wait")
    return [*head, *chained_commands(change)]


def chain_text(change: Change, target: Target) -> str:
    """The chained command line as a change file line (for the what-if of the chain)."""
    head = [target.tool]
    text = quote_words([*head, *chained_commands(change)])
    if target.host is not None:
        return f"# host: {target.host}\n{text}\n"
    return text + "\n"
