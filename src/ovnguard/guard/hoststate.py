"""A host's own network state, backed up before a guarded host change and restored after it.

What is kept (over netlink, pyroute2 -- what `ip` itself speaks):

* links: up/down, master (a Linux bridge or bond; OVS ports are OVSDB rows, restored with
  the guard's OVS rows), MAC address, MTU;
* addresses of every link, in the kernel's order (the order decides which IPv4 address is
  primary and which `secondary`), with their settable flags (`nodad`, `noprefixroute`,
  `mngtmpaddr`, `homeaddress`, `autojoin`) and lifetimes: a dynamic address (DHCP, SLAAC)
  comes back with what was left of its lifetime at backup time, minus the time since;
* the routes of the main table, the default route included;
* the files the change writes (`apply --host-state`: the netplan file): bytes, mode, owner,
  or that the file did not exist (the rollback then removes it).

Not kept: IPv6 link-local addresses and the routes the kernel derives from an address or a
link coming up (`proto kernel`): the kernel makes them again itself; other routing tables and
policy rules; neighbours; anything a link's driver holds (see docs/guard.md for the list).

The verification is the operator's own view: `ip -j addr show` and `ip -j route show table
main` read again and compared with what they printed before the change, equal modulo the
fields `normalize_addr` / `normalize_route` name (kernel counters, not state).
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import stat as stat_mod
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field
from typing import Any

from ovnguard.record import record

Log = Callable[[str], None]

FOREVER = 0xFFFFFFFF
# IFA_F_* a new address can be given (the others are the kernel's: secondary, tentative,
# dadfailed, deprecated, permanent).
SETTABLE_IFA_FLAGS = 0x2 | 0x10 | 0x100 | 0x200 | 0x400
IFA_F_PERMANENT = 0x80
RTPROT_KERNEL = 2
RT_TABLE_MAIN = 254
RTNH_F_ONLINK = 0x4
IFF_UP = 0x1


class HostStateError(Exception):
    """Netlink (or `ip`) could not be used: the host backup or restore cannot be done."""


@record
class Link:
    ifname: str
    index: int
    up: bool
    master: str | None
    mac: str | None
    mtu: int
    kind: str | None = None


@record
class Address:
    ifname: str
    family: int  # socket.AF_INET / AF_INET6
    local: str
    prefixlen: int
    peer: str | None = None  # IFA_ADDRESS when it differs from IFA_LOCAL (point-to-point)
    broadcast: str | None = None
    label: str | None = None
    scope: int = 0
    flags: int = 0  # IFA_FLAGS as the kernel reports them
    valid_lft: int = FOREVER
    preferred_lft: int = FOREVER

    @property
    def key(self) -> tuple[str, int, str, int]:
        return (self.ifname, self.family, self.local, self.prefixlen)

    @property
    def kernel_made(self) -> bool:
        """An IPv6 link-local address: the kernel makes it when the link comes up."""
        return self.family == socket.AF_INET6 and self.local.lower().startswith("fe80:")

    def describe(self) -> str:
        return f"{self.local}/{self.prefixlen} dev {self.ifname}"


@record
class Route:
    family: int
    dst: str | None  # None: the default route
    dst_len: int
    gateway: str | None = None
    oif: str | None = None
    priority: int | None = None
    proto: int = 3  # boot, as `ip route add` makes them
    scope: int = 0
    type: int = 1  # unicast
    prefsrc: str | None = None
    tos: int = 0
    onlink: bool = False
    multipath: bool = False  # not restored (say so), only compared

    @property
    def key(self) -> tuple[int, str | None, int, int, int | None, int]:
        """The kernel's identity of a route in a table: two routes with the same key cannot
        both exist (replace swaps one for the other)."""
        return (self.family, self.dst, self.dst_len, self.tos, self.priority, self.type)

    @property
    def kernel_made(self) -> bool:
        return self.proto == RTPROT_KERNEL

    def describe(self) -> str:
        dst = "default" if self.dst is None else f"{self.dst}/{self.dst_len}"
        via = f" via {self.gateway}" if self.gateway else ""
        dev = f" dev {self.oif}" if self.oif else ""
        metric = f" metric {self.priority}" if self.priority is not None else ""
        return f"{dst}{via}{dev}{metric}"


@record
class SavedFile:
    """A file as it was before the change: its bytes (base64), mode and owner, or absent
    (`data` None: the rollback removes what the change wrote there)."""

    path: str
    data: str | None
    mode: int = 0o600
    uid: int = 0
    gid: int = 0

    @classmethod
    def read(cls, path: str) -> SavedFile:
        try:
            with open(path, "rb") as fh:
                raw = fh.read()
                stat = os.fstat(fh.fileno())
        except FileNotFoundError:
            return cls(path, None)
        except OSError as e:
            raise HostStateError(f"cannot back up {path}: {e.strerror}") from None
        return cls(path, base64.b64encode(raw).decode("ascii"), stat_mod.S_IMODE(stat.st_mode),
                   stat.st_uid, stat.st_gid)

    def describe(self) -> str:
        if self.data is None:
            return f"{self.path} (absent)"
        return (f"{self.path} ({len(base64.b64decode(self.data))} bytes, mode "
                f"{self.mode:04o}, owner {self.uid}:{self.gid})")


@record
class HostBackup:
    """Everything restored, plus what `ip -j` printed (for the byte-for-byte check)."""

    taken: float
    links: tuple[Link, ...]
    addresses: tuple[Address, ...]
    routes: tuple[Route, ...]
    ip_addr: str  # `ip -j addr show`, as printed
    ip_route: str  # `ip -j route show table main`, as printed
    files: tuple[SavedFile, ...] = ()  # files the change writes (a netplan file), as before

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> HostBackup:
        try:
            return cls(
                taken=float(doc["taken"]),
                links=tuple(Link(**x) for x in doc["links"]),
                addresses=tuple(Address(**x) for x in doc["addresses"]),
                routes=tuple(Route(**x) for x in doc["routes"]),
                ip_addr=str(doc["ip_addr"]),
                ip_route=str(doc["ip_route"]),
                files=tuple(SavedFile(**x) for x in doc.get("files", ())),
            )
        except (KeyError, TypeError, ValueError) as e:
            raise HostStateError(f"host backup unreadable ({e})") from None


# --- reading ---------------------------------------------------------------------------


@contextmanager
def _ipr() -> Iterator[Any]:
    try:
        from pyroute2 import IPRoute
    except ImportError as e:  # pragma: no cover - a declared dependency
        raise HostStateError(f"pyroute2 is not installed ({e})") from None
    try:
        ipr = IPRoute()
    except OSError as e:
        raise HostStateError(f"cannot open netlink: {e.strerror or e}") from None
    try:
        yield ipr
    finally:
        ipr.close()


def _links(ipr: Any) -> tuple[Link, ...]:
    raw = list(ipr.get_links())
    names = {m["index"]: m.get("IFLA_IFNAME") for m in raw}
    out = []
    for m in raw:
        info = m.get("IFLA_LINKINFO")
        kind = info.get("IFLA_INFO_KIND") if info is not None else None
        master = m.get("IFLA_MASTER")
        out.append(Link(
            ifname=str(m.get("IFLA_IFNAME")), index=int(m["index"]),
            up=bool(m["flags"] & IFF_UP), master=names.get(master) if master else None,
            mac=m.get("IFLA_ADDRESS"), mtu=int(m.get("IFLA_MTU") or 0),
            kind=str(kind) if kind else None))
    return tuple(out)


def _addresses(ipr: Any, names: dict[int, str]) -> tuple[Address, ...]:
    out = []
    for m in ipr.get_addr():
        local = m.get("IFA_LOCAL") or m.get("IFA_ADDRESS")
        peer = m.get("IFA_ADDRESS")
        cache = m.get("IFA_CACHEINFO") or {}
        out.append(Address(
            ifname=names.get(m["index"], str(m["index"])), family=int(m["family"]),
            local=str(local), prefixlen=int(m["prefixlen"]),
            peer=str(peer) if peer and peer != local else None,
            broadcast=m.get("IFA_BROADCAST"), label=m.get("IFA_LABEL"),
            scope=int(m["scope"]), flags=int(m.get("IFA_FLAGS") or m["flags"]),
            valid_lft=int(cache.get("ifa_valid", FOREVER)),
            preferred_lft=int(cache.get("ifa_preferred", FOREVER))))
    return tuple(out)


def _routes(ipr: Any, names: dict[int, str]) -> tuple[Route, ...]:
    out = []
    for fam in (socket.AF_INET, socket.AF_INET6):
        for m in ipr.get_routes(family=fam, table=RT_TABLE_MAIN):
            if m.get("RTA_TABLE", m["table"]) != RT_TABLE_MAIN or m["flags"] & 0x200:
                continue  # another table, or a cached clone
            oif = m.get("RTA_OIF")
            out.append(Route(
                family=fam, dst=m.get("RTA_DST"), dst_len=int(m["dst_len"]),
                gateway=m.get("RTA_GATEWAY"), oif=names.get(oif) if oif else None,
                priority=m.get("RTA_PRIORITY"), proto=int(m["proto"]),
                scope=int(m["scope"]), type=int(m["type"]), prefsrc=m.get("RTA_PREFSRC"),
                tos=int(m["tos"]), onlink=bool(m["flags"] & RTNH_F_ONLINK),
                multipath=m.get("RTA_MULTIPATH") is not None))
    return tuple(out)


def ip_json(*args: str) -> str:
    """What `ip -j ARGS` prints (the operator's own view of the state)."""
    ip = shutil.which("ip")
    if ip is None:
        raise HostStateError("`ip` (iproute2) not found")
    try:
        p = subprocess.run([ip, "-j", *args], capture_output=True, text=True, timeout=10,
                           check=False, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise HostStateError(f"`ip -j {' '.join(args)}` did not answer in 10 s") from None
    if p.returncode != 0:
        raise HostStateError(f"`ip -j {' '.join(args)}`: {p.stderr.strip()}")
    return p.stdout


def capture(files: Sequence[str] = ()) -> HostBackup:
    """The host's links, addresses and routes now (and the text of `files`)."""
    with _ipr() as ipr:
        links = _links(ipr)
        names = {lk.index: lk.ifname for lk in links}
        addresses = _addresses(ipr, names)
        routes = _routes(ipr, names)
    saved = [SavedFile.read(f) for f in files]
    return HostBackup(time.time(), links, addresses, routes,
                      ip_json("addr", "show"), ip_json("route", "show", "table", "main"),
                      tuple(saved))


# --- comparing -------------------------------------------------------------------------

# Fields of `ip -j addr` that are the kernel's counters, not state anyone set: the time left
# of a dynamic address's lifetime (it counts down every second).
_COUNTERS = ("valid_life_time", "preferred_life_time")


def normalize_addr(text: str) -> list[dict[str, Any]]:
    """`ip -j addr show` output as compared after a rollback: equal as printed except that
    (1) a dynamic address's remaining lifetimes are dropped (a permanent one's
    4294967295 is kept), (2) IPv6 link-local addresses are dropped (the kernel re-makes
    them when a link comes up, `tentative` while DAD runs), and (3) links are ordered by
    name, not ifindex (an OVS internal port re-created by the OVS rollback gets a new
    ifindex: its `ifindex` is then the one field that differs)."""
    doc = json.loads(text or "[]")
    out = []
    for link in doc:
        link = dict(link)
        infos = []
        for a in link.get("addr_info", []):
            if a.get("family") == "inet6" and str(a.get("local", "")).startswith("fe80:"):
                continue
            a = dict(a)
            if a.get("valid_life_time") != FOREVER:
                for k in _COUNTERS:
                    a.pop(k, None)
            infos.append(a)
        link["addr_info"] = infos
        out.append(link)
    return sorted(out, key=lambda lk: str(lk.get("ifname")))


def normalize_route(text: str) -> list[dict[str, Any]]:
    """`ip -j route show table main` as compared: as printed, minus IPv6 `fe80::/64` (the
    kernel's, per link) -- the same exclusions as `normalize_addr`."""
    doc = json.loads(text or "[]")
    return [r for r in doc if not str(r.get("dst", "")).startswith("fe80::")]


def differences(before: HostBackup, addr_now: str, route_now: str) -> list[str]:
    """What differs between the backup's `ip -j` output and now's, one line per item."""
    out: list[str] = []
    a0, a1 = normalize_addr(before.ip_addr), normalize_addr(addr_now)
    by0 = {lk.get("ifname"): lk for lk in a0}
    by1 = {lk.get("ifname"): lk for lk in a1}
    for name in sorted(set(by0) | set(by1), key=str):
        x, y = by0.get(name), by1.get(name)
        if x is None:
            out.append(f"link {name}: new (not there before the change)")
        elif y is None:
            out.append(f"link {name}: gone (it was there before the change)")
        else:
            x = {k: v for k, v in x.items() if k != "ifindex"}
            y = {k: v for k, v in y.items() if k != "ifindex"}
            for k in sorted(set(x) | set(y)):
                if x.get(k) != y.get(k):
                    out.append(f"link {name} {k}: was {json.dumps(x.get(k))}, now "
                               f"{json.dumps(y.get(k))}")
    r0, r1 = normalize_route(before.ip_route), normalize_route(route_now)
    out += [f"route gone: {json.dumps(r)}" for r in r0 if r not in r1]
    out += [f"route new: {json.dumps(r)}" for r in r1 if r not in r0]
    if not out and [r for r in r0 if r in r1] != [r for r in r1 if r in r0]:
        out.append("routes: the same, in another order")
    return out


def file_differences(before: HostBackup) -> list[str]:
    """Backed-up files that differ now (content, mode, owner, existence)."""
    out = []
    for f in before.files:
        now = SavedFile.read(f.path)
        if now != f:
            out.append(f"file {now.describe()}: was {f.describe()}")
    return out


def changed(before: HostBackup) -> list[str]:
    """What differs now from the backup (empty: the host is as it was)."""
    return differences(before, ip_json("addr", "show"), ip_json("route", "show", "table",
                                                                  "main")
                       ) + file_differences(before)


# --- restoring -------------------------------------------------------------------------


@dataclass
class HostRestore:
    actions: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    not_restorable: list[str] = field(default_factory=list)


def _index(ipr: Any, name: str) -> int | None:
    found = ipr.link_lookup(ifname=name)
    return int(found[0]) if found else None


def _try(out: HostRestore, what: str, fn: Callable[..., Any], *args: Any, **kw: Any) -> None:
    try:
        fn(*args, **kw)
        out.actions.append(what)
    except Exception as e:  # NetlinkError and friends: record, go on with the rest
        out.errors.append(f"{what}: {e}")


def _restore_links(ipr: Any, b: HostBackup, out: HostRestore) -> None:
    now = {lk.ifname: lk for lk in _links(ipr)}
    for lk in b.links:
        cur = now.get(lk.ifname)
        if cur is None:
            out.not_restorable.append(
                f"link {lk.ifname} is gone: a guard cannot re-create a device (a NIC, a "
                "veth); OVS internal ports come back with the OVS rows")
            continue
        idx = cur.index
        if cur.master != lk.master:
            m = _index(ipr, lk.master) if lk.master else 0
            if m is None:
                out.errors.append(f"link {lk.ifname}: master {lk.master} is gone")
            else:
                _try(out, f"ip link set {lk.ifname} "
                     + (f"master {lk.master}" if lk.master else "nomaster"),
                     ipr.link, "set", index=idx, master=m)
        if lk.mac and cur.mac != lk.mac and lk.kind != "openvswitch":
            _try(out, f"ip link set {lk.ifname} address {lk.mac}",
                 ipr.link, "set", index=idx, address=lk.mac)
        if cur.mtu != lk.mtu and lk.mtu:
            _try(out, f"ip link set {lk.ifname} mtu {lk.mtu}",
                 ipr.link, "set", index=idx, mtu=lk.mtu)
        if cur.up != lk.up:
            _try(out, f"ip link set {lk.ifname} {'up' if lk.up else 'down'}",
                 ipr.link, "set", index=idx, state="up" if lk.up else "down")


def _add_address(ipr: Any, a: Address, elapsed: float) -> None:
    kw: dict[str, Any] = {"index": _index(ipr, a.ifname), "address": a.local,
                          "prefixlen": a.prefixlen, "scope": a.scope}
    if a.peer:
        kw.update(local=a.local, address=a.peer)
    if a.broadcast:
        kw["broadcast"] = a.broadcast
    if a.label and a.family == socket.AF_INET:
        kw["label"] = a.label
    flags = a.flags & SETTABLE_IFA_FLAGS
    if flags:
        kw["flags"] = flags
    if a.valid_lft != FOREVER:
        left = int(a.valid_lft - elapsed)
        kw["valid_lft"] = max(1, left)
        kw["preferred_lft"] = max(0, min(kw["valid_lft"], int(a.preferred_lft - elapsed)))
    ipr.addr("add", **kw)


def _del_address(ipr: Any, a: Address) -> None:
    kw: dict[str, Any] = {"index": _index(ipr, a.ifname), "address": a.local,
                          "prefixlen": a.prefixlen}
    if a.peer:
        kw.update(local=a.local, address=a.peer)
    ipr.addr("del", **kw)


def _restore_addresses(ipr: Any, b: HostBackup, out: HostRestore) -> None:
    names = {lk.index: lk.ifname for lk in _links(ipr)}
    now = [a for a in _addresses(ipr, names) if not a.kernel_made]
    want = [a for a in b.addresses if not a.kernel_made]
    elapsed = time.time() - b.taken
    groups = sorted({(a.ifname, a.family) for a in [*now, *want]})
    for ifname, fam in groups:
        cur = [a for a in now if (a.ifname, a.family) == (ifname, fam)]
        goal = [a for a in want if (a.ifname, a.family) == (ifname, fam)]
        if [a.key for a in cur] == [a.key for a in goal]:
            continue
        if _index(ipr, ifname) is None:
            out.not_restorable.extend(f"address {a.describe()}: the link is gone"
                                      for a in goal)
            continue
        # Keep the common head; delete the rest last-first (deleting a primary IPv4 address
        # first would take its secondaries with it), then add what is missing in order.
        head = 0
        while head < min(len(cur), len(goal)) and cur[head].key == goal[head].key:
            head += 1
        for a in reversed(cur[head:]):
            _try(out, f"ip addr del {a.describe()}", _del_address, ipr, a)
        for a in goal[head:]:
            _try(out, f"ip addr add {a.describe()}", _add_address, ipr, a, elapsed)


def _route_kw(ipr: Any, r: Route) -> dict[str, Any]:
    kw: dict[str, Any] = {"family": r.family, "dst_len": r.dst_len, "table": RT_TABLE_MAIN,
                          "proto": r.proto, "scope": r.scope, "type": r.type, "tos": r.tos}
    if r.dst is not None:
        kw["dst"] = r.dst
    if r.gateway:
        kw["gateway"] = r.gateway
    if r.oif:
        kw["oif"] = _index(ipr, r.oif)
    if r.priority is not None:
        kw["priority"] = r.priority
    if r.prefsrc:
        kw["prefsrc"] = r.prefsrc
    if r.onlink:
        kw["flags"] = RTNH_F_ONLINK
    return kw


def _restore_routes(ipr: Any, b: HostBackup, out: HostRestore) -> None:
    names = {lk.index: lk.ifname for lk in _links(ipr)}
    now = {r.key: r for r in _routes(ipr, names)}
    want = {r.key: r for r in b.routes}
    for key, r in now.items():
        if key not in want and not r.kernel_made:
            _try(out, f"ip route del {r.describe()}",
                 ipr.route, "del", **_route_kw(ipr, r))
    # Routes through a gateway need the route to the gateway first: direct ones first.
    for r in sorted(want.values(), key=lambda r: r.gateway is not None):
        if now.get(r.key) == r:
            continue
        if r.multipath:
            out.not_restorable.append(f"route {r.describe()}: multipath routes are not "
                                      "restored")
            continue
        if r.oif and _index(ipr, r.oif) is None:
            out.not_restorable.append(f"route {r.describe()}: its link is gone")
            continue
        _try(out, f"ip route replace {r.describe()}",
             ipr.route, "replace", **_route_kw(ipr, r))


def write_file(path: str, raw: bytes, mode: int, owner: tuple[int, int] | None) -> None:
    """Write `path` whole or not at all: a temporary file beside it (a name netplan does not
    read: no `.yaml` suffix), its mode and owner set, then renamed over it."""
    d, name = os.path.split(path)
    tmp = os.path.join(d, f".{name}.ovnguard-tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(raw)
            fh.flush()
            os.fsync(fh.fileno())
        if owner is not None and (os.geteuid() == 0 or owner == (os.getuid(), os.getgid())):
            os.chown(tmp, *owner)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with suppress(OSError):
            os.unlink(tmp)
        raise


def _restore_files(b: HostBackup, out: HostRestore) -> None:
    for f in b.files:
        now = SavedFile.read(f.path)
        if now == f:
            continue
        try:
            if f.data is None:
                os.unlink(f.path)
                out.actions.append(f"removed {f.path} (the change wrote it)")
                continue
            write_file(f.path, base64.b64decode(f.data), f.mode, (f.uid, f.gid))
            out.actions.append(f"restored {f.describe()}")
        except OSError as e:
            out.errors.append(f"{f.path}: {e.strerror}")


def wait_for_links(b: HostBackup, timeout: float) -> list[str]:
    """Wait until every backed-up link exists again (OVS re-creates internal ports a moment
    after its rows come back); the names still missing."""
    deadline = time.monotonic() + timeout
    want = {lk.ifname for lk in b.links}
    while True:
        with _ipr() as ipr:
            have = {lk.ifname for lk in _links(ipr)}
        missing = sorted(want - have)
        if not missing or time.monotonic() >= deadline:
            return missing
        time.sleep(0.05)


def restore(b: HostBackup, *, link_timeout: float = 5.0) -> HostRestore:
    """Put links, addresses and routes (and backed-up files) back as in `b`. Links first
    (an address needs its link, a route its address), then addresses, then routes."""
    out = HostRestore()
    _restore_files(b, out)
    wait_for_links(b, link_timeout)
    with _ipr() as ipr:
        _restore_links(ipr, b, out)
        _restore_addresses(ipr, b, out)
        _restore_routes(ipr, b, out)
    return out


def restore_and_verify(b: HostBackup, *, timeout: float, log: Log) -> dict[str, Any]:
    """Restore, then compare `ip -j` output with the backup's until equal or `timeout`
    (a link coming up settles its operstate a moment later). The record for guard.json."""
    t0 = time.time()
    try:
        r = restore(b, link_timeout=min(timeout, 5.0) if timeout > 0 else 0.0)
    except HostStateError as err:
        log(f"host: could not restore: {err}")
        return {"ok": False, "error": str(err)}
    restored = time.time()
    for a in r.actions:
        log(f"host: {a}")
    for e in r.errors:
        log(f"host: FAILED {e}")
    for n in r.not_restorable:
        log(f"host: not restorable: {n}")
    deadline = time.monotonic() + max(timeout, 0.5)
    diffs: list[str] = []
    while True:
        try:
            diffs = changed(b)
        except HostStateError as e:
            diffs = [f"could not read back: {e}"]
        if not diffs or time.monotonic() >= deadline:
            break
        # A restore that netlink accepted but something undid meanwhile: try once more.
        if time.monotonic() >= deadline - max(timeout, 0.5) / 2 and r.errors:
            with _ipr() as ipr:
                _restore_addresses(ipr, b, r)
                _restore_routes(ipr, b, r)
        time.sleep(0.1)
    ok = not diffs and not r.errors
    files = f" and {len(b.files)} file(s)" if b.files else ""
    log(f"host: verified: `ip -j addr` and `ip -j route show table main`{files} as before "
        "the change" if not diffs else "host: differs from the backup: " + "; ".join(diffs))
    return {"ok": ok, "actions": r.actions, "errors": r.errors,
            "not_restorable": r.not_restorable, "differences": diffs,
            "restored": round(restored, 3), "verified": round(time.time(), 3),
            "took": round(restored - t0, 3)}
