"""Host changes: the typed edits an `ip` line (or a netplan / nmstate file) makes to a host's
addresses, routes and links -- the one definition every later step reads (the what-if in
`change/hostapply.py`, the guard's backup and restore).

    cmd = parse_ip(["-6", "r", "add", "default", "via", "fd00::1", "dev", "eno1"], source)
    cmd.edits      # (RouteAdd(RouteSpec(dst="default", family="inet6", ...), source),)
    cmd.error      # what iproute2 itself would print and refuse the line with, or None
    cmd.unknown    # a valid line whose effect ovnguard does not model (never guessed), or None
    cmd.read_only  # `ip a`, `ip r show`, `ip route get`: changes nothing

The grammar is iproute2's (6.1: `ip/ip.c`, `ipaddress.c` ipaddr_modify, `iproute.c`
iproute_modify, `iplink.c` iplink_parse), keyword by keyword and in the same order, since its
abbreviations are "the first keyword in the table this word is a prefix of" (`matches()` in
lib/utils.c): `ip a` is `address`, `ip r` `route`, `ip l s` `link set`, `ip r d` `route
delete`, and `m` after `ip link set DEV` is `master`. What the kernel then does with the
request (routes it adds or flushes, the errors it answers) is `hostapply`'s job. The parser
itself is change/ipgrammar.py (and iproutes.py for `ip route`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from ovnguard.change.model import Location
from ovnguard.record import record

Family = Literal["inet", "inet6"]


@record(slots=True)
class Source:
    """Where an edit comes from: a change-file line, or a node of a netplan/nmstate file."""

    location: Location
    text: str  # the line as written, or what the file node says ("enp7s0: addresses[0]")

    def __str__(self) -> str:
        return f"{self.location}: {self.text}"


# --------------------------------------------------------------------------- the edits


@record(slots=True)
class AddrAdd:
    """`ip addr add|replace|change CIDR dev DEV`."""

    dev: str
    address: str  # without prefix
    prefixlen: int
    family: Family
    mode: Literal["add", "replace", "change"] = "add"
    noprefixroute: bool = False
    metric: int | None = None  # the prefix route's metric
    scope: str = "global"
    peer: str | None = None  # point-to-point peer prefix (its route is the peer's)
    source: Source | None = None

    @property
    def cidr(self) -> str:
        return f"{self.address}/{self.prefixlen}"


@record(slots=True)
class AddrDel:
    """`ip addr del ADDR[/LEN] dev DEV` (IPv4 without a length: the first address equal to
    ADDR on DEV, whatever its length -- iproute2's "wildcard deletion")."""

    dev: str
    address: str
    prefixlen: int | None
    family: Family
    source: Source | None = None


@record(slots=True)
class AddrFlush:
    """`ip [-4|-6] addr flush dev DEV`: every address of DEV (of that family)."""

    dev: str
    family: Family | None = None
    source: Source | None = None


@record(slots=True)
class LinkSet:
    """`ip link set DEV up|down|master BR|nomaster|address MAC|mtu N` (None: unchanged)."""

    dev: str
    up: bool | None = None
    master: str | None = None
    nomaster: bool = False
    address: str | None = None
    mtu: int | None = None
    source: Source | None = None


@record(slots=True)
class RouteSpec:
    """A route as `ip route` names it; None = not given (matches anything on delete)."""

    dst: str  # "default" or a prefix "10.0.0.0/24" (a host address gets /32 or /128)
    family: Family
    dev: str | None = None
    gateway: str | None = None
    prefsrc: str | None = None
    metric: int | None = None
    table: str = "main"
    protocol: str | None = None  # None: "boot" on add (iproute2's default)
    scope: str | None = None
    type: str = "unicast"
    onlink: bool = False


@record(slots=True)
class RouteAdd:
    """`ip route add|append|prepend` (add fails when the route exists; append/prepend add a
    second route for the same destination)."""

    route: RouteSpec
    mode: Literal["add", "append", "prepend"] = "add"
    source: Source | None = None


@record(slots=True)
class RouteReplace:
    """`ip route replace` (create: add when absent) or `ip route change` (must exist)."""

    route: RouteSpec
    create: bool = True
    source: Source | None = None


@record(slots=True)
class RouteDel:
    route: RouteSpec
    source: Source | None = None


@record(slots=True)
class OvsCommand:
    """An ovs-vsctl command a host-state file implies (netplan's openvswitch section is
    applied by netplan with exactly such commands); run by the change executor like an
    `ovs-vsctl` line of the change file."""

    argv: tuple[str, ...]  # after `ovs-vsctl`
    source: Source | None = None


HostEdit = AddrAdd | AddrDel | AddrFlush | LinkSet | RouteAdd | RouteReplace | RouteDel | OvsCommand


def edit_devices(edit: HostEdit) -> tuple[str, ...]:
    """The devices an edit touches (what a guard backs up before it runs)."""
    if isinstance(edit, (AddrAdd, AddrDel, AddrFlush)):
        return (edit.dev,)
    if isinstance(edit, LinkSet):
        return tuple(d for d in (edit.dev, edit.master) if d)
    if isinstance(edit, (RouteAdd, RouteReplace, RouteDel)):
        return (edit.route.dev,) if edit.route.dev else ()
    return ()


@record(slots=True)
class IpCommand:
    """One `ip` command line, parsed."""

    edits: tuple[HostEdit, ...] = ()
    error: str | None = None  # iproute2 refuses it before asking the kernel: its message
    unknown: str | None = None  # valid, but its effect is not modelled: why
    read_only: bool = False
    family: Family | None = None  # -4 / -6 / -f
    # from a host-state file (desired state): deleting what is already gone is no error
    desired: bool = False


def matches(word: str, keyword: str) -> bool:
    """iproute2's `matches(prefix, string) == 0`: `word` is a non-empty prefix of `keyword`."""
    return bool(word) and keyword.startswith(word)


def parse_ip(argv: Sequence[str], source: Source | None = None) -> IpCommand:
    """`argv`: the words after `ip`. Never raises on the operator's input (the grammar:
    change/ipgrammar.py)."""
    from ovnguard.change.ipgrammar import parse_ip_argv

    return parse_ip_argv(argv, source)


__all__ = [
    "AddrAdd", "AddrDel", "AddrFlush", "Family", "HostEdit", "IpCommand", "LinkSet",
    "OvsCommand", "RouteAdd", "RouteDel", "RouteReplace", "RouteSpec", "Source",
    "edit_devices", "matches", "parse_ip",
]
