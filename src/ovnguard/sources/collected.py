"""What a collection brings back, as the native bytes of each bundle file, and the two things
done with it: write it as a bundle (docs/bundle.md) or turn it into a Snapshot directly.

Every live source (this host over its sockets and netlink, many hosts over SSH, sos reports)
produces a `Collection`; keeping the raw bytes of `ovsdb-client backup` and `ip -j` is what
makes `collect --out DIR` and `check --live` read the same thing: `to_snapshot` parses the
bytes with the very functions `load_bundle` uses, and matches hosts to chassis the same way
(`match_hosts`), so a live check and a check of the bundle written from the same collection
agree (tests/sources/test_live_lab.py holds them side by side).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from types import MappingProxyType

import orjson
import yaml

from ovnguard.errors import InputError
from ovnguard.i18n import _
from ovnguard.model.db import Database
from ovnguard.model.ovs import ovs_external_id
from ovnguard.model.snapshot import HostState, Snapshot
from ovnguard.sources import safeio
from ovnguard.sources.bundle import (
    MAKE,
    NB_NAME,
    OVS_NAME,
    SB_NAME,
    SB_SKIP,
    _apply_inventory,
    add_chassis_hosts,
    match_hosts,
    without_tunnel_mesh,
)
from ovnguard.sources.flavors import DEPLOYMENT_FILE, read_detection, with_nb_flavor
from ovnguard.sources.inventory import read_inventory
from ovnguard.sources.iproute import parse_addresses, parse_links, parse_routes
from ovnguard.sources.neutron_ini import CONFIG_SUFFIXES, parse_ini
from ovnguard.sources.ovsdb_file import LeaveOut, parse_database

HOST_FILES = ("conf.db", "addr.json", "route.json", "link.json")

_MISSING = {
    "conf.db": "OVS bridges, ports and bridge mappings of {host} not checked",
    "addr.json": "management addresses of {host} not known",
    "route.json": "control-plane path of {host} not checked",
    "link.json": "link types and bridge membership of {host} not checked",
}


@dataclass
class HostCollection:
    """One host's files. `files` keys are bundle names (conf.db, addr.json, ...); `neutron`
    keys are paths under etc/ ("neutron/plugins/ml2/ml2_conf.ini"). `sources` says where each
    file came from (a socket, a command, a path in a sos report), `problems` why a file is
    missing; `failed` is set when nothing at all could be read (connection refused...)."""

    name: str
    files: dict[str, bytes] = field(default_factory=dict)
    neutron: dict[str, bytes] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    address: str | None = None  # management address, for inventory.yaml
    failed: str | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.failed is None


@dataclass
class Collection:
    """A whole cluster's worth (or a part of it: one host, or NB/SB only)."""

    nb: bytes | None = None
    sb: bytes | None = None
    hosts: list[HostCollection] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)  # "nb.db" -> remote
    problems: list[str] = field(default_factory=list)
    source: str = "live"

    def host(self, name: str) -> HostCollection | None:
        return next((h for h in self.hosts if h.name == name), None)


# ---------------------------------------------------------------------------------------
# Neutron configuration: which files, under which bundle path


def _kolla_dest_map(config_json: bytes, service_dir: str) -> dict[str, str]:
    """kolla's /etc/kolla/<service>/config.json maps each file the container copies at start
    (`source` /var/lib/kolla/config_files/X) to where Neutron reads it (`dest`); on the host
    the file is /etc/kolla/<service>/X. Returns host path -> dest (under /etc/neutron)."""
    try:
        doc = orjson.loads(config_json)
    except orjson.JSONDecodeError:
        return {}
    out: dict[str, str] = {}
    entries = doc.get("config_files", []) if isinstance(doc, dict) else []
    for e in entries if isinstance(entries, list) else []:
        if not isinstance(e, dict):
            continue
        src, dest = e.get("source"), e.get("dest")
        if not isinstance(src, str) or not isinstance(dest, str):
            continue
        if not dest.startswith("/etc/neutron/"):
            continue
        base = "/var/lib/kolla/config_files/"
        if not src.startswith(base):
            continue
        out[f"{service_dir}/{src[len(base):]}"] = dest
    return out


# Where Neutron's configuration lives on a host, besides /etc/neutron: TripleO's
# puppet-generated copy (bind-mounted into the containers).
NEUTRON_ROOTS = (
    "/etc/neutron",
    "/var/lib/config-data/puppet-generated/neutron/etc/neutron",
)
KOLLA_DIR = "/etc/kolla"


def neutron_files(tree: Mapping[str, bytes]) -> tuple[dict[str, bytes], list[str]]:
    """Pick Neutron's oslo.config files out of `tree` (absolute host path -> content).

    /etc/neutron first, else TripleO's puppet-generated copy, else kolla-ansible's
    /etc/kolla/neutron-*/ (through each service's config.json). Returns
    {"neutron/<rel>": bytes} and notes."""
    notes: list[str] = []
    for root in NEUTRON_ROOTS:
        prefix = root + "/"
        found = {
            "neutron/" + p[len(prefix):]: data
            for p, data in sorted(tree.items())
            if p.startswith(prefix) and PurePosixPath(p).suffix in CONFIG_SUFFIXES
        }
        if found:
            if root != NEUTRON_ROOTS[0]:
                notes.append(f"Neutron configuration read from {root}")
            return found, notes
    out: dict[str, bytes] = {}
    origin: dict[str, str] = {}
    configs = sorted(p for p in tree if p.startswith(KOLLA_DIR + "/neutron")
                     and p.endswith("/config.json"))
    for cj in configs:
        service_dir = cj.rsplit("/", 1)[0]
        for host_path, dest in sorted(_kolla_dest_map(tree[cj], service_dir).items()):
            if host_path not in tree or PurePosixPath(dest).suffix not in CONFIG_SUFFIXES:
                continue
            rel = "neutron/" + dest[len("/etc/neutron/"):]
            if rel in out:
                if out[rel] != tree[host_path]:
                    notes.append(f"{host_path} and {origin[rel]} are both {dest} and differ; "
                                 f"kept {origin[rel]}")
                continue
            out[rel] = tree[host_path]
            origin[rel] = host_path
    if out:
        notes.append("Neutron configuration read from kolla-ansible's /etc/kolla/neutron-*/ "
                     "(mapped through each service's config.json)")
    return out, notes


# A Neutron config tree is a few dozen files; a bound keeps a strange root (a mount of
# something else) from being read whole.
MAX_TREE_FILES = 2_000
MAX_TREE_BYTES = 256 * 1024 * 1024


def read_tree(roots: Iterable[str | Path], base: Path = Path("/"),
              notes: list[str] | None = None) -> dict[str, bytes]:
    """Files under each of `roots` (absolute host paths, looked up under `base`) -> bytes.
    Only what `neutron_files` may pick (.ini, .conf, kolla config.json) is read, each through
    the bounded reader (regular files only, at most safeio.MAX_TEXT_BYTES), at most
    MAX_TREE_FILES files and MAX_TREE_BYTES in all; symlinked directories are not followed.
    What could not be read is said in `notes` (one line naming the file), never raised."""
    out: dict[str, bytes] = {}
    total = 0
    said = notes if notes is not None else []
    for root in roots:
        top = base / str(root).lstrip("/")
        if not top.is_dir():
            continue
        for d, dirs, names in os.walk(top, onerror=lambda e: said.append(
                f"{e.filename}: not read: {e.strerror or type(e).__name__}")):
            dirs.sort()
            for name in sorted(names):
                p = Path(d) / name
                if p.suffix not in CONFIG_SUFFIXES and name != "config.json":
                    continue
                key = "/" + p.relative_to(base).as_posix()
                if len(out) >= MAX_TREE_FILES or total >= MAX_TREE_BYTES:
                    said.append(f"{key}: not read: more than {MAX_TREE_FILES} files or "
                                f"{MAX_TREE_BYTES >> 20} MiB of configuration under "
                                f"{root}; the rest is not used")
                    return out
                try:
                    data = safeio.read_bytes(p, key)
                except InputError as e:
                    said.append(f"not used: {e}")
                    continue
                out[key] = data
                total += len(data)
    return out


def kolla_roots(base: Path = Path("/")) -> list[str]:
    d = base / KOLLA_DIR.lstrip("/")
    try:
        return [f"{KOLLA_DIR}/{p.name}" for p in sorted(d.iterdir())
                if p.name.startswith("neutron") and p.is_dir()]
    except OSError:
        return []


# ---------------------------------------------------------------------------------------
# Writing a bundle


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def safe_host_dir(name: str) -> str:
    """A host name as a directory name: no path separators, no dot-only names."""
    if not name or name in (".", "..") or "/" in name or "\0" in name:
        raise InputError(_("host name {name!r} cannot be a directory name").format(name=name),
            "hosts")
    return name


def write_bundle(collection: Collection, out: Path) -> list[str]:
    """Write (or merge into) the bundle at `out`. NB/SB replace what is there; each
    collected host's directory is replaced whole (a stale neutron file from an earlier run
    would otherwise look current); hosts not in this collection are left alone, so several
    runs (central node, each compute node) can fill one bundle. Returns what was written."""
    out.mkdir(parents=True, exist_ok=True)
    written: list[str] = []
    for name, data in (("nb.db", collection.nb), ("sb.db", collection.sb)):
        if data is not None:
            _atomic_write(out / name, data)
            written.append(name)
    hosts_dir = out / "hosts"
    for h in collection.hosts:
        if not h.files and not h.neutron:
            continue
        hosts_dir.mkdir(exist_ok=True)
        final = hosts_dir / safe_host_dir(h.name)
        tmp = Path(tempfile.mkdtemp(dir=hosts_dir, prefix=f".{h.name}."))
        try:
            for fname, data in h.files.items():
                (tmp / fname).write_bytes(data)
            for rel, data in h.neutron.items():
                parts = PurePosixPath(rel).parts
                if not parts or ".." in parts or PurePosixPath(rel).is_absolute():
                    raise InputError(_(
                            "unsafe path {rel!r} in the Neutron files of {name}").format(
                            rel=rel, name=h.name),
                                     "etc")
                p = tmp / "etc" / rel
                p.parent.mkdir(parents=True, exist_ok=True)
                p.write_bytes(data)
            if final.exists():
                old = hosts_dir / f".{h.name}.old"
                shutil.rmtree(old, ignore_errors=True)
                final.rename(old)
                tmp.rename(final)
                shutil.rmtree(old, ignore_errors=True)
            else:
                tmp.rename(final)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        written.append(f"hosts/{h.name}")
    addresses = {h.name: h.address for h in collection.hosts if h.address}
    if addresses:
        inv_path = out / "inventory.yaml"
        # an earlier collect's inventory.yaml (any form ovnguard reads) is merged into
        merged = read_inventory(inv_path).addresses() if inv_path.is_file() else {}
        merged.update(addresses)
        text = ("# Management addresses (what operators SSH to), written by ovnguard collect.\n"
                + yaml.safe_dump({"hosts": {k: {"address": v} for k, v in sorted(merged.items())}},
                                 sort_keys=False))
        _atomic_write(inv_path, text.encode())
        written.append("inventory.yaml")
    return written


# ---------------------------------------------------------------------------------------
# Straight to a Snapshot (check --live, check --sosreport)


def _db(raw: bytes, source: str, expected: str, make: str,
        skip: frozenset[str] = frozenset(), leave_out: LeaveOut | None = None) -> Database:
    # Every table and column, as load_bundle reads a bundle's files: the change executor
    # loads these into real ovsdb-servers, and a table left out would make valid lines fail.
    db = parse_database(raw, source, skip=skip, leave_out=leave_out)
    if db.name != expected:
        raise InputError(_(
                "this holds the {name} database, expected {expected} (`{make}`)").format(
                name=db.name, expected=expected, make=make), source)
    return db


def _conf_db(raw: bytes, source: str) -> Database:
    """As `load_bundle` holds a host's conf.db: without ovn-controller's tunnel ports, which
    the bytes (kept) still hold for a real tool that needs every row."""
    return without_tunnel_mesh(
        lambda leave_out: _db(raw, source, OVS_NAME, MAKE["conf.db"], leave_out=leave_out),
        raw)


def to_snapshot(collection: Collection) -> Snapshot:
    """The Snapshot `load_bundle` would give for the bundle `write_bundle` writes, without
    writing it. Sources in evidence name where each part came from (host:socket, ...)."""
    if collection.nb is None:
        why = "; ".join(collection.problems) or "no Northbound database was read"
        raise InputError(_("no OVN_Northbound database: {why}").format(why=why), collection.source)
    nb = _db(collection.nb, collection.sources.get("nb.db", "nb.db"), NB_NAME, MAKE["nb.db"])
    notes: list[str] = [*collection.problems]
    sb: Database | None = None
    if collection.sb is not None:
        sb = _db(collection.sb, collection.sources.get("sb.db", "sb.db"), SB_NAME,
                 MAKE["sb.db"], SB_SKIP)
    else:
        notes.append("sb.db missing: chassis, port bindings and gateway placement not "
                     "known, so hosts are not matched to chassis")

    parsed: dict[str, HostState] = {}
    sysids: dict[str, str | None] = {}
    per_host: dict[str, list[str]] = {}
    for h in collection.hosts:
        if h.failed is not None and not h.files:
            notes.append(f"{h.name}: not collected: {h.failed}")
            continue
        src = {k: h.sources.get(k, f"{h.name}:{k}") for k in (*HOST_FILES, "etc")}
        ovs = _conf_db(h.files["conf.db"], src["conf.db"]) if "conf.db" in h.files else None
        neutron = {}
        for rel, data in sorted(h.neutron.items()):
            label = f"{h.name}:etc/{rel}"
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                raise InputError(_("not UTF-8 text"), label) from None
            if data.strip() and not any(line.startswith("[") for line in text.splitlines()):
                per_host.setdefault(h.name, []).append(
                    f"{label} has no [section], so it is not an oslo.config file: ignored")
                continue
            neutron[rel] = MappingProxyType(parse_ini(text, label))
        state = HostState(
            name=h.name,
            ovs=ovs,
            addresses=(parse_addresses(h.files["addr.json"], src["addr.json"])
                       if "addr.json" in h.files else None),
            routes=(parse_routes(h.files["route.json"], src["route.json"])
                    if "route.json" in h.files else None),
            links=(parse_links(h.files["link.json"], src["link.json"])
                   if "link.json" in h.files else None),
            neutron=MappingProxyType(neutron),
            files=MappingProxyType({k: src[k] for k in HOST_FILES if k in h.files}
                                   | {f"etc/{r}": f"{h.name}:etc/{r}" for r in neutron}),
            deployment=_deployment(h, per_host),
        )
        parsed[h.name] = state
        sysids[h.name] = ovs_external_id(ovs, "system-id")
        msgs = per_host.setdefault(h.name, [])
        causes = {}
        for p in h.problems:
            fname, sep, cause = p.partition(" not collected: ")
            if sep and (fname in _MISSING or fname == "Neutron configuration"):
                causes[fname] = cause
            else:
                msgs.append(f"{h.name}: {p}")
        for fname, what in _MISSING.items():
            if fname not in h.files:
                why = f" ({causes[fname]})" if fname in causes else ""
                msgs.append(f"{h.name}: {fname} not collected{why}: "
                            f"{what.format(host=h.name)}")
        if not h.neutron:
            ncause = causes.get("Neutron configuration")
            msgs.append(f"{h.name}: no Neutron configuration collected"
                        f"{f' ({ncause})' if ncause else ''}: Neutron configuration of "
                        f"{h.name} not checked")

    chassis = list(sb.rows("Chassis")) if sb is not None else []
    matches, match_notes = match_hosts(sysids, chassis)
    hosts: dict[str, HostState] = {}
    for m in matches:
        state = parsed[m.dirname]
        if sb is not None and m.chassis is None:
            notes.append(f"{m.dirname} matches no SB Chassis (by hostname, name or conf.db "
                         "system-id): ovn-controller on it is not connected or it is not a "
                         "chassis")
        elif m.how not in ("", "hostname"):
            notes.append(f"{m.dirname} is SB Chassis {m.chassis} (matched by {m.how}), "
                         f"hostname {m.host}")
        notes.extend(per_host.get(m.dirname, []))
        hosts[m.host] = replace(state, name=m.host)
    matched = {m.chassis for m in matches if m.chassis}
    if not collection.hosts:
        notes.append("no host collected: no host's OVS bridges, NICs, addresses or routes "
                     "read")
    notes.extend(add_chassis_hosts(hosts, sb, matched, "host collected"))
    addresses = {h.name: h.address for h in collection.hosts if h.address}
    if addresses:
        # inventory keys are the collected names; map them to the host keys they became
        renamed = {m.dirname: m.host for m in matches}
        notes.extend(_apply_inventory({renamed.get(k, k): v for k, v in addresses.items()},
                                      hosts, chassis))
    else:
        notes.append("no management address known (no inventory): management reachability "
                     "of the hosts not checked")
    return with_nb_flavor(Snapshot(
        nb=nb,
        sb=sb,
        hosts=MappingProxyType(dict(sorted(hosts.items()))),
        source=collection.source,
        notes=tuple([*notes, *match_notes]),
    ))


def _deployment(h: HostCollection, per_host: dict[str, list[str]]) -> str | None:
    data = h.files.get(DEPLOYMENT_FILE)
    if data is None:
        return None
    try:
        return read_detection(data, f"{h.name}:{DEPLOYMENT_FILE}").flavor
    except InputError as e:
        per_host.setdefault(h.name, []).append(f"{DEPLOYMENT_FILE} not used: {e}")
        return None
