"""Collect this host's live state (and NB/SB from their servers) into a `Collection`.

OVSDB is read with `ovsdb-client backup REMOTE DB`: its output is the standalone database
file format, i.e. exactly the bundle's own `nb.db` / `conf.db` contract, and
`parse_database` reads it from memory. Why not the Python IDL: a bundle is a file, the
backup needs no schema handling of ours (ovsdb-client fetches the server's schema), and at
hundreds of chassis the IDL's per-row change tracking is overhead for a one-shot read.
`backup` only sends `get_schema` and a `transact` of `select`s: it never writes, so neither
`collect` nor `check --live` can change a database (tests/sources hold the file's bytes and
mtime unchanged).

Addresses, routes and links come from netlink (`netlink.read_ip_json`, pyroute2) in the
`ip -j` shape; Neutron's configuration from /etc/neutron (or TripleO's puppet-generated copy,
or kolla-ansible's /etc/kolla/neutron-*).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

from ovnguard.errors import InputError
from ovnguard.i18n import _
from ovnguard.record import record
from ovnguard.sources.collected import (
    NEUTRON_ROOTS,
    Collection,
    HostCollection,
    kolla_roots,
    neutron_files,
    read_tree,
)
from ovnguard.sources.flavors import (
    ALL_NB_SOCKETS,
    ALL_OVS_SOCKETS,
    ALL_SB_SOCKETS,
    DEPLOYMENT_FILE,
    Detection,
    Runner,
    detect_host,
)
from ovnguard.sources.ovsdb_file import parse_database

# Where the Open_vSwitch and NB/SB sockets are: every deployment flavor's places
# (sources/flavors.py, docs/deployments.md); the detected flavor's come first.
OVS_SOCKETS = ALL_OVS_SOCKETS
NB_SOCKETS = ALL_NB_SOCKETS
SB_SOCKETS = ALL_SB_SOCKETS

NB = "OVN_Northbound"
SB = "OVN_Southbound"
OVS = "Open_vSwitch"


@record
class SslFiles:
    """`-p/-c/-C` of ovn-nbctl and ovsdb-client: needed for `ssl:` remotes."""

    private_key: Path | None = None
    certificate: Path | None = None
    ca_cert: Path | None = None

    def args(self) -> list[str]:
        out = []
        for flag, p in (("--private-key", self.private_key), ("--certificate",
                        self.certificate), ("--ca-cert", self.ca_cert)):
            if p is not None:
                out.append(f"{flag}={p}")
        return out

    def check(self, remote: str) -> None:
        if not remote.startswith("ssl:"):
            return
        missing = [flag for flag, p in (("-p/--private-key", self.private_key),
                                        ("-c/--certificate", self.certificate),
                                        ("-C/--ca-cert", self.ca_cert)) if p is None]
        if missing:
            raise InputError(_(
                    "an ssl: remote needs {missing} (as ovn-nbctl does)").format(
                    missing=', '.join(missing)),
                             remote)
        for p in (self.private_key, self.certificate, self.ca_cert):
            if p is not None and not p.is_file():
                raise InputError(_("no such file"), str(p))


def normalize_remote(remote: str) -> str:
    """A bare path means a unix socket (`ovs-vsctl --db` accepts the same)."""
    if remote.startswith(("unix:", "tcp:", "ssl:")):
        return remote
    if remote.startswith("/") or remote.startswith("."):
        return f"unix:{os.path.abspath(remote)}"
    raise InputError(_("not an OVSDB remote: expected unix:PATH, tcp:IP:PORT or ssl:IP:PORT"),
                     remote)


def backup_argv(remote: str, database: str, ssl: SslFiles | None = None,
                timeout: float = 30.0, client: Sequence[str] = ("ovsdb-client",)) -> list[str]:
    argv = [*client, f"--timeout={max(1, int(timeout))}"]
    if remote.startswith("ssl:") and ssl is not None:
        argv += ssl.args()
    return [*argv, "backup", remote, database]


def ovsdb_backup(remote: str, database: str, ssl: SslFiles | None = None,
                 timeout: float = 30.0, client: Sequence[str] | None = None) -> bytes:
    """`ovsdb-client backup REMOTE DATABASE`: the standalone DB file, as bytes.

    Errors (server unreachable, wrong database, bad certificate) are an InputError naming the
    remote with ovsdb-client's own message."""
    remote = normalize_remote(remote)
    (ssl or SslFiles()).check(remote)
    argv = backup_argv(remote, database, ssl, timeout, client or ("ovsdb-client",))
    # OVS_*/OVN_* variables of the caller (OVS_RUNDIR...) do not change an explicit remote,
    # but an inherited OVS_CTL_TIMEOUT-style setting should not either: run clean.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OVS_", "OVN_"))}
    try:
        proc = subprocess.run(argv, capture_output=True, timeout=timeout + 5, env=env,
                              check=False)
    except FileNotFoundError:
        raise InputError(_(
                "{argv} not found: install openvswitch-common (Debian) or openvswitch "
                "(RHEL)").format(
                argv=argv[0]), remote) from None
    except subprocess.TimeoutExpired:
        raise InputError(_(
                "ovsdb-client backup {database} timed out after {timeout:g}s").format(
                database=database, timeout=timeout),
                         remote) from None
    if proc.returncode != 0 or not proc.stdout:
        err = proc.stderr.decode(errors="replace").strip().splitlines()
        msg = err[-1] if err else f"exit {proc.returncode}"
        raise InputError(_(
                "ovsdb-client backup {database} failed: {msg}").format(
                database=database, msg=msg), remote)
    return proc.stdout


def first_socket(candidates: Sequence[str], root: Path = Path("/")) -> str | None:
    """The first of `candidates` (absolute host paths, looked up under `root`) that is a
    socket, as a unix: remote. A symlink to a socket counts, as it does for connect()."""
    for c in candidates:
        p = root / c.lstrip("/")
        try:
            if p.is_socket():
                return f"unix:{p}"
        except OSError:
            continue
    return None


def ovs_hostname(conf_db: bytes, source: str) -> str | None:
    """The chassis hostname ovn-controller registers: Open_vSwitch external_ids:hostname
    (what ovn-controller uses when set) - the gethostname() fallback is the caller's."""
    db = parse_database(conf_db, source, keep={"Open_vSwitch": ("external_ids",)})
    for row in db.rows("Open_vSwitch"):
        v = row.map("external_ids").get("hostname")
        return str(v) if v else None
    return None


@record
class LocalOptions:
    """What `collect` / `check --live` read on this host. `None` remotes mean "look for the
    default socket"; `host=False`-style switches are expressed by `collect_host`."""

    nb: str | None = None
    sb: str | None = None
    ovs: str | None = None
    ssl: SslFiles | None = None
    host_name: str | None = None
    collect_host: bool = True
    neutron_dirs: tuple[Path, ...] | None = None  # None: the defaults
    netns: str | None = None  # read netlink in this namespace (tests, namespaced hosts)
    timeout: float = 30.0
    # The host's filesystem root: default paths (sockets, /etc/kolla, /etc/neutron, the
    # flavor markers) are looked up under it. "/" on a host; a mounted image or a lab
    # chassis laid out as a deployment flavor otherwise.
    root: Path = Path("/")
    flavor: str | None = None  # None: detect (sources/flavors.py)
    runner: Runner | None = None  # docker/podman/snap listing; None: the real commands


def host_detection(opts: LocalOptions) -> Detection:
    if opts.flavor is not None:
        from ovnguard.sources.flavors import flavor

        flavor(opts.flavor)  # an unknown name is an InputError
        return Detection(opts.flavor, ("given with --flavor",))
    return detect_host(opts.root, opts.runner)


def local_client(det: Detection, which: str) -> tuple[str, ...] | None:
    """How to run ovsdb-client here: None (the host's own) when it is installed, else the
    flavor's (kolla: `docker|podman exec <container> ovsdb-client`, which reaches the same
    socket paths; MicroOVN: `microovn.ovsdb-client`)."""
    if shutil.which("ovsdb-client") is not None:
        return None
    return det.ovsdb_client(which)


def _central(collection: Collection, which: str, remote: str | None,
             defaults: Sequence[str], database: str, opts: LocalOptions,
             required: bool, det: Detection) -> None:
    explicit = remote is not None
    r = normalize_remote(remote) if remote is not None else first_socket(defaults, opts.root)
    if r is None:
        collection.problems.append(
            f"{which} not collected: no --{which[:2]} given (nor "
            f"${'OVN_NB_DB' if which == 'nb.db' else 'OVN_SB_DB'}) and no {database} socket here "
            f"(looked at {', '.join(defaults[:2])}, ...)")
        return
    try:
        data = ovsdb_backup(r, database, opts.ssl, opts.timeout,
                            local_client(det, "nb" if which == "nb.db" else "sb"))
    except InputError as e:
        if explicit or required:
            raise
        collection.problems.append(f"{which} not collected: {e}")
        return
    if which == "nb.db":
        collection.nb = data
    else:
        collection.sb = data
    collection.sources[which] = r


def collect_local(opts: LocalOptions, *, need_nb: bool = False) -> Collection:
    """Collect NB/SB (explicit remotes, else local default sockets if present) and this
    host's Open_vSwitch DB, netlink state and Neutron files."""
    collection = Collection(source="live")
    det = host_detection(opts)
    _central(collection, "nb.db", opts.nb, det.nb_sockets(), NB, opts, need_nb, det)
    _central(collection, "sb.db", opts.sb, det.sb_sockets(), SB, opts, False, det)
    if opts.collect_host:
        if opts.ovs is None and first_socket(det.ovs_sockets(), opts.root) is None:
            # a workstation reading NB/SB from afar is not a chassis: no host directory
            collection.problems.append(
                "this host not collected: no Open_vSwitch socket here (looked at "
                f"{', '.join(det.ovs_sockets()[:2])}, ... for a {det.flavor} host); pass "
                "--ovs REMOTE if it has one")
        else:
            collection.hosts.append(collect_this_host(opts, det))
    return collection


def collect_this_host(opts: LocalOptions, det: Detection | None = None) -> HostCollection:
    t0 = time.monotonic()
    det = det or host_detection(opts)
    h = HostCollection(name=opts.host_name or "")
    sockets = det.ovs_sockets()
    ovs = normalize_remote(opts.ovs) if opts.ovs else first_socket(sockets, opts.root)
    if ovs is None:
        h.problems.append(f"conf.db not collected: no Open_vSwitch socket (looked at "
                          f"{', '.join(sockets)}); pass --ovs")
    else:
        try:
            h.files["conf.db"] = ovsdb_backup(ovs, OVS, opts.ssl, opts.timeout,
                                              local_client(det, "ovs"))
            h.sources["conf.db"] = ovs
        except InputError as e:
            if opts.ovs:
                raise
            h.problems.append(f"conf.db not collected: {e}")
    if not h.name:
        hn = ovs_hostname(h.files["conf.db"], ovs or "conf.db") if "conf.db" in h.files else None
        h.name = hn or socket.gethostname()
    for k, v in h.sources.items():
        h.sources[k] = f"{h.name}:{v}"
    from ovnguard.sources.netlink import read_ip_json

    try:
        ipj = read_ip_json(opts.netns)
    except InputError as e:
        for fname in ("addr.json", "route.json", "link.json"):
            h.problems.append(f"{fname} not collected: {e}")
    else:
        where = f"{h.name}:netlink{f' (netns {opts.netns})' if opts.netns else ''}"
        for fname, data in ipj.files().items():
            h.files[fname] = data
            h.sources[fname] = where
    h.files[DEPLOYMENT_FILE] = det.to_json()
    h.sources[DEPLOYMENT_FILE] = f"{h.name}:{', '.join(det.evidence) or det.flavor}"
    if opts.neutron_dirs is None:
        # keys are host paths ("/etc/kolla/..."), wherever the root is mounted
        tree = read_tree([*NEUTRON_ROOTS, *kolla_roots(opts.root)], base=opts.root,
                         notes=h.problems)
    else:
        tree = {}
        for d in opts.neutron_dirs:
            # an explicit directory stands for /etc/neutron itself
            sub = read_tree(["/"], base=d, notes=h.problems)
            tree.update({"/etc/neutron" + k: v for k, v in sub.items()})
    h.neutron, notes = neutron_files(tree)
    h.problems.extend(notes)
    h.seconds = time.monotonic() - t0
    return h
