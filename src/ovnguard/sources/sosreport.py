"""sos reports (directories or .tar.xz / .tar.gz / .tar.bz2 archives) into a Snapshot.

What sos actually keeps (sos/report/plugins, read at sos 4.10):
- openvswitch: copies `/etc/openvswitch/conf.db`, `/var/lib/openvswitch/conf.db`,
  `/usr/local/etc/openvswitch/conf.db` (and `$OVS_DBDIR/conf.db`): a raw standalone DB file,
  the same format as `ovsdb-client backup`. kolla-ansible keeps conf.db in the
  `openvswitch_db` volume, which sos does not copy.
- ovn_central: copies `ovnnb_db.db` / `ovnsb_db.db` from /var/lib/ovn, /var/lib/openvswitch,
  /var/lib/openvswitch/ovn, /etc/openvswitch, /usr/local/etc/openvswitch, /var/lib/ovn/etc
  and MicroOVN's data dir. A clustered (raft) file is converted with
  `ovsdb-tool cluster-to-standalone` into a temporary file when ovsdb-tool is installed.
- networking: only text forms, no `-j`: `ip -o addr`, `ip route show table all`,
  `ip -6 route show table all`, `ip -d address`, `ip -s -d link` (sos_commands/networking/,
  named by sos's `_mangle_command`: spaces -> `_`). They are parsed by `sources/iptext.py`.
- openstack_neutron: copies `/etc/neutron/` (and TripleO's puppet-generated copy).
- host: `hostname` (a symlink at the top of the report).
Files larger than sos's `--log-size` (25 MiB by default) are not copied whole: only their
tail lands in `sos_strings/<plugin>/<path with dots>.tailed`, which is no database; the notes
say so and how to get the whole file.
"""

from __future__ import annotations

import os
import re
import tarfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, cast

import orjson

from ovnguard.errors import InputError
from ovnguard.i18n import _
from ovnguard.model.snapshot import Snapshot
from ovnguard.sources import safeio
from ovnguard.sources.collected import (
    KOLLA_DIR,
    NEUTRON_ROOTS,
    Collection,
    HostCollection,
    neutron_files,
    to_snapshot,
)
from ovnguard.sources.flavors import (
    ALL_CONF_DB_FILES,
    ALL_NB_FILES,
    ALL_SB_FILES,
    DEPLOYMENT_FILE,
    FLAVORS,
    detect,
)
from ovnguard.sources.iptext import parse_addr_oneline, parse_link_text, parse_route_text
from ovnguard.sources.live import ovs_hostname
from ovnguard.sources.ovsdb_file import MAGIC_CLUSTER, cluster_to_standalone
from ovnguard.sources.redact import redact_files

CONF_DB = tuple(dict.fromkeys((
    "etc/openvswitch/conf.db", "var/lib/openvswitch/conf.db",
    "usr/local/etc/openvswitch/conf.db",
    # where the other deployment flavors keep it (sources/flavors.py), for reports that
    # copied them (sos's own plugins do not: kolla's volume, MicroOVN's switch dir)
    *(f.lstrip("/") for f in ALL_CONF_DB_FILES))))
CENTRAL_DIRS = ("var/lib/ovn", "var/lib/openvswitch/ovn", "var/lib/openvswitch",
                "etc/openvswitch", "usr/local/etc/openvswitch", "var/lib/ovn/etc",
                "var/snap/microovn/common/data/central/db")
NB_FILES = tuple(dict.fromkeys((*(f"{d}/ovnnb_db.db" for d in CENTRAL_DIRS),
                                *(f.lstrip("/") for f in ALL_NB_FILES))))
SB_FILES = tuple(dict.fromkeys((*(f"{d}/ovnsb_db.db" for d in CENTRAL_DIRS),
                                *(f.lstrip("/") for f in ALL_SB_FILES))))
# What tells the host's deployment flavor (sos's docker, podman and snap plugins).
CONTAINER_LISTS = {"docker": ("sos_commands/docker/docker_ps",
                              "sos_commands/docker/docker_ps_-a"),
                   "podman": ("sos_commands/podman/podman_ps",
                              "sos_commands/podman/podman_ps_-a")}
SNAP_LIST = ("sos_commands/snap/snap_list_--all", "installed-snaps")
NET = "sos_commands/networking/"
HOSTNAME = ("sos_commands/host/hostname", "sos_commands/general/hostname", "hostname")
ADDR_ONELINE = (NET + "ip_-o_addr", "ip_addr")
ADDR_DETAIL = (NET + "ip_-d_address", NET + "ip_address")
LINK_DETAIL = (NET + "ip_-s_-d_link", NET + "ip_-d_link", NET + "ip_-d_address",
               NET + "ip_link", NET + "ip_address")
ROUTES = (NET + "ip_route_show_table_all", "ip_route")
ROUTES6 = (NET + "ip_-6_route_show_table_all",)
TREE_PREFIXES = (*(r.lstrip("/") + "/" for r in NEUTRON_ROOTS), KOLLA_DIR.lstrip("/") + "/neutron")
WANTED = frozenset({*CONF_DB, *NB_FILES, *SB_FILES, *HOSTNAME, *ADDR_ONELINE, *ADDR_DETAIL,
                    *LINK_DETAIL, *ROUTES, *ROUTES6, *SNAP_LIST,
                    *(f for fs in CONTAINER_LISTS.values() for f in fs)})
# One kept member (a database) and all kept members together: what a report of a central
# node of a large cloud holds, well short of what would exhaust memory.
MAX_FILE = 512 * safeio.MiB
MAX_KEPT = 2 * safeio.GiB
_ARCHIVE_ERRORS: tuple[type[BaseException], ...] = (tarfile.TarError, *safeio.DECOMPRESS_ERRORS)


@dataclass
class SosFiles:
    """The files of one sos report that matter here, by path relative to its top."""

    label: str  # how notes name the report
    files: dict[str, bytes] = field(default_factory=dict)
    tailed: list[str] = field(default_factory=list)  # sos_strings/*.tailed names
    dirname: str = ""

    def first(self, names: Iterable[str]) -> tuple[str, bytes] | None:
        for n in names:
            if n in self.files:
                return n, self.files[n]
        return None


def _wanted(rel: str) -> bool:
    return rel in WANTED or rel.startswith(TREE_PREFIXES) or (
        rel.startswith("sos_strings/") and rel.endswith(".tailed"))


def _read_dir(root: Path) -> SosFiles:
    s = SosFiles(label=root.name, dirname=root.name)
    for rel in sorted(WANTED):
        p = root / rel
        if p.is_symlink() and not p.exists():
            continue  # sos links commands it did not run to nothing
        if safeio.exists(p):
            s.files[rel] = safeio.read_bytes(p, limit=MAX_FILE)
    for prefix in TREE_PREFIXES:
        base = root / prefix.rstrip("/")
        parent = base.parent
        if not safeio.is_dir(parent):
            continue
        for top in sorted(parent.glob(base.name + "*")):
            if not safeio.is_dir(top):
                continue
            for p in sorted(top.rglob("*")):
                if p.is_file() and not p.is_symlink():
                    s.files[p.relative_to(root).as_posix()] = safeio.read_bytes(p)
    strings = root / "sos_strings"
    if strings.is_dir():
        s.tailed = sorted(p.relative_to(root).as_posix() for p in strings.rglob("*.tailed"))
    return s


def _read_tar(path: Path) -> SosFiles:
    s = SosFiles(label=path.name)
    links: dict[str, str] = {}
    kept = 0
    try:
        # Read as a stream through a decompressor that counts: the total and the ratio to
        # the compressed size are bounded, so a bomb is refused instead of unpacked.
        with safeio.open_regular(path) as raw, tarfile.open(
            fileobj=cast(IO[bytes], safeio.BoundedStream(raw, os.fstat(raw.fileno()).st_size,
                                                          str(path))),
            mode="r|",
        ) as tar:
            for m in tar:
                parts = PurePosixPath(m.name).parts
                if len(parts) < 2 or ".." in parts:
                    continue
                if not s.dirname:
                    s.dirname = parts[0]
                rel = "/".join(parts[1:])
                if not _wanted(rel):
                    continue
                if rel.startswith("sos_strings/"):
                    s.tailed.append(rel)
                    continue
                if m.issym() and rel in WANTED:
                    links[rel] = str(PurePosixPath(rel).parent / m.linkname)
                    continue
                if not m.isreg() or m.size > MAX_FILE:
                    continue
                kept += m.size
                if kept > MAX_KEPT:
                    raise InputError(_(
                            "the files ovnguard reads from this archive add up to more than "
                            "{value} GiB: refusing it").format(
                            value=MAX_KEPT // safeio.GiB),
                                     str(path))
                f = tar.extractfile(m)
                if f is not None:
                    s.files[rel] = f.read()
    except tarfile.CompressionError as e:
        raise InputError(_(
                "cannot decompress ({e}); unpack it first (`tar xf`, or `tar --zstd -xf` for "
                ".tar.zst) and pass the directory").format(
                e=e),
                         str(path)) from None
    except _ARCHIVE_ERRORS as e:
        raise InputError(_("not a readable sos archive ({name})").format(name=type(e).__name__),
                         str(path)) from None
    for rel, target in links.items():
        target = "/".join(p for p in PurePosixPath(target).parts if p != ".")
        if rel not in s.files and target in s.files:
            s.files[rel] = s.files[target]
    return s


def read_sos(path: str | Path) -> SosFiles:
    p = Path(path)
    if safeio.is_dir(p):
        if not (p / "sos_commands").is_dir() and not (p / "sos_reports").is_dir():
            raise InputError(_("not a sos report directory (no sos_commands/ in it)"), str(p))
        return _read_dir(p)
    if safeio.exists(p):
        return _read_tar(p)  # refuses what is not a regular file, by name
    raise InputError(_("no such sos report (directory or archive)"), str(p))


def _standalone(raw: bytes, label: str, notes: list[str]) -> bytes:
    """A clustered (raft) DB file converted to standalone (ovsdb_file.cluster_to_standalone:
    the installed ovsdb-tool), with a note; else as is."""
    if not raw.startswith(MAGIC_CLUSTER):
        return raw
    out = cluster_to_standalone(raw, label)
    notes.append(f"{label} is a clustered (raft) file: read through "
                 "`ovsdb-tool cluster-to-standalone`")
    return out


def _tailed_note(s: SosFiles, rel: str) -> str | None:
    dotted = rel.replace("/", ".")
    for t in s.tailed:
        if t.endswith(dotted + ".tailed"):
            return (f"sos kept only the tail of /{rel} ({t}): it was larger than sos's "
                    "--log-size; re-run sos with --log-size=0, or take "
                    "`ovsdb-client backup` instead")
    return None


def _host_name(s: SosFiles, conf: bytes | None, label: str) -> str:
    if conf is not None:
        try:
            hn = ovs_hostname(conf, label)
        except InputError:
            hn = None
        if hn:
            return hn
    found = s.first(HOSTNAME)
    if found is not None:
        name = found[1].decode(errors="replace").strip().split()
        if name:
            return name[0]
    m = re.match(r"^sosreport-(.+?)(?:-\d{4}-\d{2}-\d{2}|-[0-9a-f]{6,}|-\d+)", s.dirname)
    if m:
        return m.group(1)
    raise InputError(_(
        "cannot tell which host this sos report is from (no hostname file, no conf.db)"), s.label)


def _host(s: SosFiles) -> HostCollection:
    label = s.label
    conf = s.first(CONF_DB)
    conf_bytes = None
    problems: list[str] = []
    if conf is not None:
        conf_bytes = _standalone(conf[1], f"{label}/{conf[0]}", problems)
    h = HostCollection(name=_host_name(s, conf_bytes, f"{label}/{conf[0]}" if conf else label))
    h.problems.extend(problems)
    if conf is not None and conf_bytes is not None:
        h.files["conf.db"] = conf_bytes
        h.sources["conf.db"] = f"{label}/{conf[0]}"
    else:
        why = next((n for n in (_tailed_note(s, c) for c in CONF_DB) if n), None)
        h.problems.append("conf.db not collected: " + (why or (
            "the report has no /etc/openvswitch/conf.db (sos's openvswitch plugin did not "
            "run, or OVS keeps it elsewhere: kolla's openvswitch_db volume is not copied)")))

    addr = s.first(ADDR_ONELINE)
    detail = s.first(ADDR_DETAIL)
    if addr is not None:
        doc = parse_addr_oneline(addr[1].decode(errors="replace"), f"{label}/{addr[0]}")
        _json(h, "addr.json", doc, f"{label}/{addr[0]}")
    elif detail is not None:
        _links, doc = parse_link_text(detail[1].decode(errors="replace"), f"{label}/{detail[0]}")
        _json(h, "addr.json", doc, f"{label}/{detail[0]}")
    else:
        h.problems.append("addr.json not collected: no `ip -o addr` or `ip -d address` "
                          "output in the report (sos's networking plugin did not run)")
    link = s.first(LINK_DETAIL)
    if link is not None:
        links, _doc = parse_link_text(link[1].decode(errors="replace"), f"{label}/{link[0]}")
        _json(h, "link.json", links, f"{label}/{link[0]}")
        if not any("linkinfo" in lk for lk in links) and "-d" not in link[0]:
            h.problems.append(f"{label}/{link[0]} has no `-d` details: interface kinds "
                              "(bridge, openvswitch, veth) not known")
    else:
        h.problems.append("link.json not collected: no `ip -s -d link` or `ip -d address` "
                          "output in the report")
    route = s.first(ROUTES)
    if route is not None:
        src = f"{label}/{route[0]}"
        routes = parse_route_text(route[1].decode(errors="replace"), src)
        six = s.first(ROUTES6)
        # iproute2 >= 4.x prints both families for `table all`; older ones IPv4 only
        if six is not None and not any(":" in str(r.get("dst", "")) for r in routes):
            routes += parse_route_text(six[1].decode(errors="replace"), f"{label}/{six[0]}")
        _json(h, "route.json", routes, src)
    else:
        h.problems.append("route.json not collected: no `ip route show table all` output in "
                          "the report")
    _deployment(s, h)
    tree = {"/" + rel: data for rel, data in s.files.items() if rel.startswith(TREE_PREFIXES)}
    h.neutron, notes = neutron_files(tree)
    h.problems.extend(notes)
    if not h.neutron:
        h.problems.append("Neutron configuration not collected: no /etc/neutron in the report "
                          "(sos's openstack_neutron plugin did not run, or not a Neutron node)")
    return h


def _ps_names(text: str) -> list[str]:
    """NAMES, the last column of `docker ps` / `podman ps` (header line first)."""
    lines = text.splitlines()
    if not lines or "NAMES" not in lines[0]:
        return []
    return [ln.split()[-1] for ln in lines[1:] if ln.split()]


def _deployment(s: SosFiles, h: HostCollection) -> None:
    """The host's flavor from what the report holds: containers sos listed, snaps, and
    flavor paths it copied."""
    containers: dict[str, str] = {}
    for rt, names in CONTAINER_LISTS.items():
        found = s.first(names)
        if found is not None:
            for n in _ps_names(found[1].decode(errors="replace")):
                containers.setdefault(n, rt)
    snaps: list[str] = []
    found = s.first(SNAP_LIST)
    if found is not None:
        snaps = [ln.split()[0] for ln in found[1].decode(errors="replace").splitlines()[1:]
                 if ln.split()]
    markers = {m for f in FLAVORS for m in f.markers}
    paths = {m for m in markers for rel in s.files
             if ("/" + rel).startswith(m.rstrip("*").rstrip("/"))}
    det = detect(paths, containers, snaps)
    h.files[DEPLOYMENT_FILE] = det.to_json()
    h.sources[DEPLOYMENT_FILE] = f"{s.label}: {', '.join(det.evidence)}"


def _json(h: HostCollection, name: str, doc: object, source: str) -> None:
    h.files[name] = orjson.dumps(doc) + b"\n"
    h.sources[name] = source


def sos_collection(paths: Sequence[str | Path], keep_secrets: bool = False) -> Collection:
    """Every report is one host; NB/SB come from the first report (argument order) that has
    them, and the notes say which and what is missing. Secrets in Neutron's files are
    redacted unless `keep_secrets` (sources/redact.py)."""
    c = Collection(source="sosreport: " + ", ".join(str(p) for p in paths))
    seen: dict[str, str] = {}
    tails: dict[str, list[str]] = {"nb.db": [], "sb.db": []}
    for p in paths:
        s = read_sos(p)
        for which, files, attr in (("nb.db", NB_FILES, "nb"), ("sb.db", SB_FILES, "sb")):
            found = s.first(files)
            if found is None:
                tails[which] += [f"{s.label}: {n}" for n in (_tailed_note(s, f) for f in files)
                                 if n]
                continue
            label = f"{s.label}/{found[0]}"
            if getattr(c, attr) is None:
                setattr(c, attr, _standalone(found[1], label, c.problems))
                c.sources[which] = label
            else:
                c.problems.append(f"{label} not used: {which} already read from "
                                  f"{c.sources[which]}")
        h = _host(s)
        if not keep_secrets:
            h.problems.extend(redact_files(h.neutron, keep_hint=False))
        if h.name in seen:
            raise InputError(_(
                    "{seen} and {label} are both from host {name}; give one report per "
                    "host").format(
                    seen=seen[h.name], label=s.label, name=h.name), str(p))
        seen[h.name] = s.label
        c.hosts.append(h)
    for which, files, attr in (("nb.db", NB_FILES, "nb"), ("sb.db", SB_FILES, "sb")):
        if getattr(c, attr) is None:
            c.problems.append(
                f"{which} not in any report: "
                + ("; ".join(tails[which]) if tails[which] else
                   f"sos's ovn_central plugin copies /{files[0]} on a central node; add that "
                   "node's report"))
    return c


def load_sosreports(paths: Sequence[str | Path]) -> Snapshot:
    if not paths:
        raise InputError(_("no sos report given"), "--sosreport")
    return to_snapshot(sos_collection(paths))
