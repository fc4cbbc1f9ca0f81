"""A host's proposed state as a whole file (`check --host-state HOST=FILE`: a netplan or an
nmstate YAML) -> the same host edits an `ip` line makes (change/host.py), and the
ovs-vsctl commands for its Open vSwitch part, appended to the change as invocations.

    desired = read_host_state(path)                 # netplan.py / nmstate.py
    change = with_host_state(change, host, desired, snapshot)

The edits are the difference between the host as collected and the file: on every link the
file configures, the addresses it lists replace those there (netplan's networkd and nmstate
both make a configured link's addresses exactly the listed ones), its routes are added,
routes nmstate marks `state: absent` are deleted; links the file does not name are left
alone. Order: Open vSwitch first (the bridges exist before addresses go on them), then
links, addresses and routes added, then addresses removed -- the order that keeps a host
reachable where the file allows it; the whole file counts as ONE step for the line-by-line
check (a tool applies it at once, nobody types in between).
"""

from __future__ import annotations

from dataclasses import field, replace
from pathlib import Path

from ovnguard.change.host import (
    AddrAdd,
    AddrDel,
    Family,
    HostEdit,
    IpCommand,
    LinkSet,
    RouteAdd,
    RouteDel,
    RouteReplace,
    RouteSpec,
    Source,
)
from ovnguard.change.model import Change, ChangeProblem, Command, Invocation, Location
from ovnguard.change.shell import quote_words
from ovnguard.change.syntax import parse_ctl_argv
from ovnguard.errors import InputError
from ovnguard.i18n import _
from ovnguard.model.snapshot import Snapshot
from ovnguard.record import record


@record(slots=True)
class DesiredLink:
    name: str
    line: int  # where the file configures it
    # (address, prefixlen, family) per family the file is authoritative for; a family not
    # in `families` is left as it is
    addresses: tuple[tuple[str, int, Family], ...] = ()
    families: frozenset[str] = frozenset()
    routes: tuple[tuple[RouteSpec, int], ...] = ()  # (route, line)
    absent_routes: tuple[tuple[RouteSpec, int], ...] = ()
    mac: str | None = None
    mtu: int | None = None
    up: bool | None = None
    master: str | None = None
    unknown: str | None = None  # e.g. DHCP: the addresses are not knowable here


@record(slots=True)
class DesiredState:
    path: str
    kind: str  # "netplan" | "nmstate"
    links: tuple[DesiredLink, ...] = ()
    ovs: tuple[tuple[tuple[str, ...], int], ...] = ()  # (ovs-vsctl argv, line)
    notes: tuple[str, ...] = ()
    unknown: tuple[tuple[int, str], ...] = field(default=())  # (line, what is not modelled)


def read_host_state(path: str | Path) -> DesiredState:
    """A netplan YAML (top-level `network:`) or an nmstate YAML (`interfaces:` / `routes:`)."""
    from ovnguard.sources import safeio

    p = Path(path)
    text = safeio.read_text(p, what="host state file")
    doc = safeio.load_yaml(text, str(p))
    if isinstance(doc, dict) and "network" in doc:
        from ovnguard.change.netplan import read_netplan

        return read_netplan(text, str(p))
    if isinstance(doc, dict) and ("interfaces" in doc or "routes" in doc):
        from ovnguard.change.nmstate import read_nmstate

        return read_nmstate(text, str(p))
    raise InputError(_("not a netplan file (no top-level `network:`) nor an nmstate state "
                       "(no top-level `interfaces:` or `routes:`)"), str(p), 1)


def ip_argv(edit: HostEdit) -> tuple[str, ...]:
    """The `ip` words that make `edit` (how a report shows a file's edit as a line)."""
    if isinstance(edit, AddrAdd):
        return ("addr", "add", edit.cidr, "dev", edit.dev)
    if isinstance(edit, AddrDel):
        plen = f"/{edit.prefixlen}" if edit.prefixlen is not None else ""
        return ("addr", "del", f"{edit.address}{plen}", "dev", edit.dev)
    if isinstance(edit, LinkSet):
        words = ["link", "set", "dev", edit.dev]
        if edit.address:
            words += ["address", edit.address]
        if edit.mtu:
            words += ["mtu", str(edit.mtu)]
        if edit.master:
            words += ["master", edit.master]
        if edit.up is not None:
            words.append("up" if edit.up else "down")
        return tuple(words)
    if isinstance(edit, (RouteAdd, RouteReplace, RouteDel)):
        r = edit.route
        verb = "del" if isinstance(edit, RouteDel) else "replace"
        words = (["-6"] if r.family == "inet6" else []) + ["route", verb, r.dst]
        for k, v in (("via", r.gateway), ("dev", r.dev), ("src", r.prefsrc),
                     ("metric", str(r.metric) if r.metric is not None else None)):
            if v:
                words += [k, v]
        if r.onlink:
            words.append("onlink")
        return tuple(words)
    return ()


def desired_edits(snapshot: Snapshot, host: str, d: DesiredState
                  ) -> tuple[list[tuple[HostEdit, int]], list[tuple[int, str]]]:
    """(edits with their file line, in the order they are applied; (line, unknown))."""
    state = snapshot.hosts.get(host)
    unknown = list(d.unknown)
    links: list[tuple[HostEdit, int]] = []
    adds: list[tuple[HostEdit, int]] = []
    dels: list[tuple[HostEdit, int]] = []
    current = list(state.addresses or ()) if state is not None else []
    known = {x.ifname for x in state.links or ()} if state is not None else set()
    # devices the file's own ovs-vsctl commands create (a bridge's internal port)
    made = {argv[i + 1] for argv, _ in d.ovs for i, w in enumerate(argv[:-1])
            if w == "add-br"}
    for link in d.links:
        src = Source(Location(d.path, link.line), f"{link.name} ({d.kind})")
        if link.unknown:
            unknown.append((link.line, link.unknown))
        if state is not None and state.links is not None and link.name not in known \
                and link.name not in made:
            unknown.append((link.line, _(
                "{device} is not a device of {host}: the file would create it (a bond, VLAN "
                "or bridge), which is not modelled").format(device=link.name, host=host)))
            continue
        if link.mac or link.mtu or link.master or link.up is not None:
            links.append((LinkSet(link.name, link.up, link.master, False, link.mac, link.mtu,
                                  src), link.line))
        want = {(a, p) for a, p, _ in link.addresses}
        have = [a for a in current if a.ifname == link.name and a.scope == "global"
                and a.family in link.families]
        for a, p, fam in link.addresses:
            if not any(h.address == a and h.prefixlen == p for h in have):
                adds.append((AddrAdd(link.name, a, p, fam, source=src), link.line))
        for h in have:
            if (h.address, h.prefixlen) not in want:
                dels.append((AddrDel(link.name, h.address, h.prefixlen,
                                     "inet6" if h.family == "inet6" else "inet", src),
                             link.line))
        for r, line in link.routes:
            adds.append((RouteReplace(r, True, Source(Location(d.path, line),
                                                       f"{link.name} route {r.dst}")), line))
        for r, line in link.absent_routes:
            dels.append((RouteDel(r, Source(Location(d.path, line),
                                            f"{link.name} route {r.dst} absent")), line))
    return [*links, *adds, *dels], unknown


def with_host_state(change: Change | None, host: str, d: DesiredState, snapshot: Snapshot
                    ) -> Change:
    """`change` (or an empty one) with the file's edits appended as invocations of `host`."""
    base = change or Change(d.path, ())
    invs = list(base.invocations)
    problems = list(base.problems)
    first = True

    def add(inv: Invocation) -> None:
        nonlocal first
        invs.append(replace(inv, after="" if first else ";"))
        first = False

    for argv, line in d.ovs:
        loc = Location(d.path, line)
        parsed = parse_ctl_argv("ovs-vsctl", list(argv))
        cmds = tuple(Command(loc, "ovs-vsctl", c.verb, c.args, c.options,
                             parsed.global_options, host, len(invs), k)
                     for k, c in enumerate(parsed.commands))
        add(Invocation(len(invs), loc, "ovs-vsctl", quote_words(["ovs-vsctl", *argv]),
                       argv, host, parsed.global_options, cmds, syntax_error=parsed.error))
    edits, unknown = desired_edits(snapshot, host, d)
    for edit, line in edits:
        loc = Location(d.path, line)
        words = ip_argv(edit)
        add(Invocation(len(invs), loc, "ip", quote_words(["ip", *words]), words, host,
                       ip=IpCommand((edit,), desired=True)))
    for line, what in unknown:
        problems.append(ChangeProblem(
            "unsupported-command", Location(d.path, line), f"{d.kind} {Path(d.path).name}",
            _("{what}: what it does to {host} is unknown").format(what=what, host=host)))
    return replace(base, invocations=tuple(invs), problems=tuple(problems))


__all__ = ["DesiredLink", "DesiredState", "desired_edits", "ip_argv", "read_host_state",
           "with_host_state"]
