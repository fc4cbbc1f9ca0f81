"""Deployment flavors: where each way of deploying OVN keeps its sockets, databases and
configuration, how to tell which one a host (or a bundle) is, and which deployment tool
owns the keys a plan edits. One table, read by collection (`live`, `remote`, `sosreport`)
and by `plan` (docs/deployments.md says what is read where, and from which source).

Paths come from the tools' own sources (read for this table):
- kolla-ansible: ansible/roles/openvswitch/defaults/main.yml (containers `openvswitch_db`,
  `openvswitch_vswitchd`; `/run/openvswitch` bind-mounted from the host; the DB in the
  `openvswitch_db` volume), ansible/roles/ovn-db/defaults/main.yml (`ovn_nb_db`,
  `ovn_sb_db`, `ovn_northd`; sockets `/run/ovn/ovn{nb,sb}_db.sock`), ansible/roles/
  ovn-controller (`ovn_controller`), `node_config_directory: /etc/kolla`.
- TripleO / EDPM: edpm-ansible roles/edpm_ovn (OVS from the host's packages at
  /var/run/openvswitch; `ovn_controller` in podman with `/var/lib/openvswitch/ovn:/run/ovn`;
  configs under /var/lib/openstack/configs), TripleO's /var/lib/config-data/puppet-generated.
- OpenStack-Ansible: os_neutron (services in venvs /openstack/venvs/neutron-*; OVS and OVN
  from distro packages).
- MicroOVN: snap/snapcraft.yaml, snapcraft/ovn.env (OVS_RUNDIR $SNAP_COMMON/run/switch,
  OVS_DBDIR $SNAP_COMMON/data/switch/db, central DBs in $SNAP_COMMON/data/central/db);
  `microovn.ovsdb-client` is one of the snap's apps.
- ovn-kubernetes: dist/templates (ovs-node / ovnkube-node pods mount /run/openvswitch,
  /var/run/ovn-kubernetes, /etc/cni/net.d; `10-ovn-kubernetes.conf` from
  go-controller/pkg/config/config.go).
"""

from __future__ import annotations

import fnmatch
import shutil
import subprocess
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import field, replace
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING

import orjson

from ovnguard.errors import InputError
from ovnguard.i18n import _
from ovnguard.record import record
from ovnguard.sources import safeio

if TYPE_CHECKING:
    from ovnguard.model.db import Database
    from ovnguard.model.snapshot import Snapshot

# A command runner: argv -> stdout text, or None when the command is absent / failed.
Runner = Callable[[Sequence[str]], "str | None"]

DEPLOYMENT_FILE = "deployment.json"  # hosts/<host>/deployment.json in a bundle


@record
class Flavor:
    id: str
    title: str
    # Where the Open_vSwitch socket is, first found wins; NB/SB sockets on central nodes.
    ovs_sockets: tuple[str, ...]
    nb_sockets: tuple[str, ...] = ()
    sb_sockets: tuple[str, ...] = ()
    # Database files on disk (what a sos report or a copy of the host holds).
    conf_db_files: tuple[str, ...] = ()
    nb_files: tuple[str, ...] = ()
    sb_files: tuple[str, ...] = ()
    # Paths whose presence on a host says "this flavor" (globs allowed in the last part).
    markers: tuple[str, ...] = ()
    # Container names (docker or podman) that say "this flavor".
    containers: tuple[str, ...] = ()
    snap: str | None = None
    # Where ovsdb-client runs when the host has none of its own: the OVS DB container
    # (`<runtime> exec <container> ovsdb-client`) or the snap's command.
    ovs_container: str | None = None
    nb_container: str | None = None
    sb_container: str | None = None
    snap_client: str | None = None
    # The deployment tool that (re)writes Open_vSwitch external_ids:ovn-bridge-mappings on
    # its next run, and from what: a plan that edits the key by hand warns with this.
    manages_mappings: str | None = None


OVS_DEFAULT = ("/var/run/openvswitch/db.sock", "/run/openvswitch/db.sock",
               "/usr/local/var/run/openvswitch/db.sock")
NB_DEFAULT = ("/var/run/ovn/ovnnb_db.sock", "/run/ovn/ovnnb_db.sock",
              "/var/run/openvswitch/ovnnb_db.sock")


def _sb(nb: Iterable[str]) -> tuple[str, ...]:
    return tuple(s.replace("ovnnb_db", "ovnsb_db") for s in nb)


MICROOVN = "/var/snap/microovn/common"
SUNBEAM = "/var/snap/openstack-hypervisor/common"

FLAVORS: tuple[Flavor, ...] = (
    Flavor(
        id="kolla-ansible", title="kolla-ansible (docker or podman containers)",
        ovs_sockets=("/run/openvswitch/db.sock", "/var/run/openvswitch/db.sock"),
        nb_sockets=("/run/ovn/ovnnb_db.sock",), sb_sockets=("/run/ovn/ovnsb_db.sock",),
        # named volumes: docker keeps them under /var/lib/docker/volumes/<name>/_data
        conf_db_files=("/var/lib/docker/volumes/openvswitch_db/_data/conf.db",
                       "/var/lib/containers/storage/volumes/openvswitch_db/_data/conf.db"),
        nb_files=("/var/lib/docker/volumes/ovn_nb_db/_data/ovnnb.db",
                  "/var/lib/containers/storage/volumes/ovn_nb_db/_data/ovnnb.db"),
        sb_files=("/var/lib/docker/volumes/ovn_sb_db/_data/ovnsb.db",
                  "/var/lib/containers/storage/volumes/ovn_sb_db/_data/ovnsb.db"),
        markers=("/etc/kolla/openvswitch-vswitchd", "/etc/kolla/openvswitch-db-server",
                 "/etc/kolla/ovn-controller", "/etc/kolla/ovn-nb-db", "/etc/kolla/neutron-*"),
        containers=("openvswitch_vswitchd", "openvswitch_db", "ovn_controller", "ovn_nb_db",
                    "ovn_sb_db", "ovn_northd"),
        ovs_container="openvswitch_db", nb_container="ovn_nb_db", sb_container="ovn_sb_db",
        manages_mappings=("kolla-ansible (ansible/roles/ovn-controller/tasks/setup-ovs.yml "
                          "sets it from neutron_physical_networks and neutron_bridge_name "
                          "on every deploy / reconfigure)"),
    ),
    Flavor(
        id="tripleo-edpm", title="TripleO / EDPM (podman containers, OVS from packages)",
        ovs_sockets=("/var/run/openvswitch/db.sock", "/run/openvswitch/db.sock"),
        # ovn_controller and the central DBs share the host's /var/lib/openvswitch/ovn as
        # their /run/ovn (edpm_ovn defaults: /var/lib/openvswitch/ovn:/run/ovn)
        nb_sockets=("/var/lib/openvswitch/ovn/ovnnb_db.sock",),
        sb_sockets=("/var/lib/openvswitch/ovn/ovnsb_db.sock",),
        conf_db_files=("/etc/openvswitch/conf.db",),
        nb_files=("/var/lib/openvswitch/ovn/ovnnb_db.db",),
        sb_files=("/var/lib/openvswitch/ovn/ovnsb_db.db",),
        markers=("/var/lib/openstack/configs/ovn", "/var/lib/config-data/puppet-generated",
                 "/var/lib/kolla/config_files/ovn_controller.json",
                 "/var/lib/config-data/ansible-generated"),
        containers=("ovn_controller", "ovn_metadata_agent"),
        manages_mappings=("EDPM (roles/edpm_ovn sets it from edpm_ovn_bridge_mappings on "
                          "every deploy) / TripleO (NeutronBridgeMappings)"),
    ),
    Flavor(
        id="openstack-ansible", title="OpenStack-Ansible (venvs, OVS/OVN from packages)",
        ovs_sockets=OVS_DEFAULT, nb_sockets=NB_DEFAULT, sb_sockets=_sb(NB_DEFAULT),
        conf_db_files=("/etc/openvswitch/conf.db", "/var/lib/openvswitch/conf.db"),
        nb_files=("/var/lib/ovn/ovnnb_db.db", "/var/lib/openvswitch/ovnnb_db.db"),
        sb_files=("/var/lib/ovn/ovnsb_db.db", "/var/lib/openvswitch/ovnsb_db.db"),
        markers=("/openstack/venvs/neutron-*", "/etc/openstack_deploy"),
        manages_mappings=("OpenStack-Ansible (os_neutron tasks/providers/setup_ovs_ovn.yml "
                          "runs `ovs-vsctl set open . external-ids:ovn-bridge-mappings=` from "
                          "neutron_provider_networks.network_mappings)"),
    ),
    Flavor(
        id="microovn", title="MicroOVN (snap)",
        ovs_sockets=(f"{MICROOVN}/run/switch/db.sock",),
        nb_sockets=(f"{MICROOVN}/run/ovn/ovnnb_db.sock",),
        sb_sockets=(f"{MICROOVN}/run/ovn/ovnsb_db.sock",),
        conf_db_files=(f"{MICROOVN}/data/switch/db/conf.db",),
        nb_files=(f"{MICROOVN}/data/central/db/ovnnb_db.db",),
        sb_files=(f"{MICROOVN}/data/central/db/ovnsb_db.db",),
        markers=(MICROOVN,), snap="microovn", snap_client="microovn.ovsdb-client",
        # MicroOVN itself leaves ovn-bridge-mappings to the operator (it touches the key
        # only for its BGP redirect); a charm on top (ovn-chassis) may own it: said there.
        manages_mappings=None,
    ),
    Flavor(
        id="charmed-openstack", title="Charmed OpenStack (ovn-chassis charm) / Sunbeam",
        ovs_sockets=(*OVS_DEFAULT, f"{SUNBEAM}/run/openvswitch/db.sock"),
        nb_sockets=NB_DEFAULT, sb_sockets=_sb(NB_DEFAULT),
        conf_db_files=("/etc/openvswitch/conf.db", f"{SUNBEAM}/etc/openvswitch/conf.db"),
        markers=("/var/lib/juju/agents/unit-ovn-chassis-*", SUNBEAM),
        snap="openstack-hypervisor",
        manages_mappings=("the ovn-chassis charm (its `ovn-bridge-mappings` and "
                          "`bridge-interface-mappings` config options)"),
    ),
    Flavor(
        id="ovn-kubernetes", title="ovn-kubernetes (ovs-node / ovnkube-node pods)",
        ovs_sockets=("/var/run/openvswitch/db.sock", "/run/openvswitch/db.sock"),
        nb_sockets=("/var/run/ovn/ovnnb_db.sock",), sb_sockets=("/var/run/ovn/ovnsb_db.sock",),
        conf_db_files=("/etc/openvswitch/conf.db", "/var/lib/openvswitch/conf.db"),
        markers=("/etc/cni/net.d/10-ovn-kubernetes.conf", "/var/run/ovn-kubernetes"),
        containers=("ovnkube-node", "ovs-daemons", "ovnkube-controller"),
        manages_mappings=("ovnkube-node (go-controller/pkg/node/gateway_init.go rewrites its "
                          "own `physnet` entry to the gateway bridge at every start)"),
    ),
    Flavor(
        id="packages", title="distribution packages (systemd services)",
        ovs_sockets=OVS_DEFAULT, nb_sockets=NB_DEFAULT, sb_sockets=_sb(NB_DEFAULT),
        conf_db_files=("/etc/openvswitch/conf.db", "/var/lib/openvswitch/conf.db",
                       "/usr/local/etc/openvswitch/conf.db"),
        nb_files=("/var/lib/ovn/ovnnb_db.db", "/var/lib/openvswitch/ovnnb_db.db",
                  "/etc/openvswitch/ovnnb_db.db"),
        sb_files=("/var/lib/ovn/ovnsb_db.db", "/var/lib/openvswitch/ovnsb_db.db",
                  "/etc/openvswitch/ovnsb_db.db"),
    ),
)
BY_ID: Mapping[str, Flavor] = {f.id: f for f in FLAVORS}
PACKAGES = BY_ID["packages"]


def flavor(fid: str) -> Flavor:
    try:
        return BY_ID[fid]
    except KeyError:
        raise InputError(_(
                "unknown deployment flavor {fid!r} (expected one of {BY_ID})").format(
                fid=fid, BY_ID=', '.join(BY_ID)), "flavor") from None


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


# Every flavor's sockets, in the order collection tries them when nothing was detected.
ALL_OVS_SOCKETS = _unique(s for f in (PACKAGES, *FLAVORS) for s in f.ovs_sockets)
ALL_NB_SOCKETS = _unique(s for f in (PACKAGES, *FLAVORS) for s in f.nb_sockets)
ALL_SB_SOCKETS = _unique(s for f in (PACKAGES, *FLAVORS) for s in f.sb_sockets)
ALL_CONF_DB_FILES = _unique(s for f in (PACKAGES, *FLAVORS) for s in f.conf_db_files)
ALL_NB_FILES = _unique(s for f in (PACKAGES, *FLAVORS) for s in f.nb_files)
ALL_SB_FILES = _unique(s for f in (PACKAGES, *FLAVORS) for s in f.sb_files)


@record
class Detection:
    """Which flavor a host is, and why. `runtime` is the container engine that runs its
    containers (docker / podman), when one was seen."""

    flavor: str
    evidence: tuple[str, ...] = ()
    runtime: str | None = None
    containers: tuple[str, ...] = field(default=())

    @property
    def spec(self) -> Flavor:
        return flavor(self.flavor)

    def to_json(self) -> bytes:
        return orjson.dumps({"flavor": self.flavor, "evidence": list(self.evidence),
                             "runtime": self.runtime, "containers": list(self.containers)},
                            option=orjson.OPT_INDENT_2) + b"\n"

    def ovs_sockets(self) -> tuple[str, ...]:
        """This flavor's sockets first, then every other flavor's."""
        return _unique((*self.spec.ovs_sockets, *ALL_OVS_SOCKETS))

    def nb_sockets(self) -> tuple[str, ...]:
        return _unique((*self.spec.nb_sockets, *ALL_NB_SOCKETS))

    def sb_sockets(self) -> tuple[str, ...]:
        return _unique((*self.spec.sb_sockets, *ALL_SB_SOCKETS))

    def ovsdb_client(self, which: str = "ovs") -> tuple[str, ...] | None:
        """How to run ovsdb-client for `which` (ovs/nb/sb) where the host has none of its
        own: `<runtime> exec <container> ovsdb-client` or the snap's command."""
        f = self.spec
        if f.snap_client:
            return (f.snap_client,)
        ctr = {"ovs": f.ovs_container, "nb": f.nb_container, "sb": f.sb_container}[which]
        if ctr and self.runtime:
            return (self.runtime, "exec", ctr, "ovsdb-client")
        return None


def _exists(root: Path, pattern: str) -> list[str]:
    p = Path(pattern)
    parent = root / str(p.parent).lstrip("/")
    if any(c in p.name for c in "*?["):
        try:
            return sorted("/" + q.relative_to(root).as_posix() for q in parent.glob(p.name))
        except OSError:
            return []
    return [pattern] if (parent / p.name).exists() else []


def default_runner(argv: Sequence[str]) -> str | None:
    if shutil.which(argv[0]) is None:
        return None
    try:
        proc = subprocess.run(list(argv), capture_output=True, text=True, timeout=15,
                              check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return proc.stdout if proc.returncode == 0 else None


CONTAINER_LIST = {rt: (rt, "ps", "--format", "{{.Names}}") for rt in ("docker", "podman")}


def list_containers(runner: Runner) -> dict[str, str]:
    """Running container name -> runtime (docker, podman)."""
    out: dict[str, str] = {}
    for rt, argv in CONTAINER_LIST.items():
        text = runner(argv)
        for name in (text or "").split():
            out.setdefault(name, rt)
    return out


def detect(paths: Iterable[str], containers: Mapping[str, str] | None = None,
           snaps: Iterable[str] = ()) -> Detection:
    """The flavor that explains what was seen: `paths` that exist on the host, running
    `containers` (name -> runtime) and installed `snaps`. The flavor with the most
    evidence wins; ties go to the order of FLAVORS; nothing: "packages"."""
    present = set(paths)
    containers = containers or {}
    snapset = set(snaps)
    best: Detection | None = None
    best_n = 0
    for f in FLAVORS:
        if f is PACKAGES:
            continue
        ev: list[str] = [m for m in f.markers if m in present]
        seen = [c for c in f.containers if c in containers]
        ev += [f"container {c} ({containers[c]})" for c in seen]
        if f.snap and f.snap in snapset:
            ev.append(f"snap {f.snap}")
        if len(ev) > best_n:
            runtimes = sorted({containers[c] for c in seen})
            best = Detection(f.id, tuple(ev), runtimes[0] if runtimes else None, tuple(seen))
            best_n = len(ev)
    return best or Detection(PACKAGES.id, ("no deployment tool's paths, containers or "
                                           "snaps found",))


def detect_host(root: Path = Path("/"), runner: Runner | None = None) -> Detection:
    """Detect the flavor of the host whose filesystem is at `root` (`/` for this one; a
    mounted image, or a lab chassis laid out as a flavor). Containers and snaps are asked
    of `runner` (docker/podman ps, snap list) only when one is given or root is `/`."""
    # a glob marker counts as the pattern itself when anything matches it
    found = {m for f in FLAVORS for m in f.markers if _exists(root, m)}
    if runner is None and root == Path("/"):
        runner = default_runner
    containers: dict[str, str] = list_containers(runner) if runner else {}
    snaps: list[str] = []
    if runner is not None:
        text = runner(("snap", "list")) or ""
        snaps = [line.split()[0] for line in text.splitlines()[1:] if line.split()]
    return detect(found, containers, snaps)


def detect_listing(text: str) -> Detection:
    """Detect from what `remote.deployment_cmd` printed on a host: `path P`,
    `container RUNTIME NAME`, `snap NAME` lines (anything else is ignored)."""
    markers = {m for f in FLAVORS for m in f.markers}
    paths: set[str] = set()
    containers: dict[str, str] = {}
    snaps: list[str] = []
    for line in text.splitlines():
        kind, _sep, rest = line.strip().partition(" ")
        if kind == "path":
            paths |= {m for m in markers if fnmatch.fnmatchcase(rest, m)}
        elif kind == "container":
            rt, _sep, name = rest.partition(" ")
            if rt in CONTAINER_LIST and name:
                containers.setdefault(name.strip(), rt)
        elif kind == "snap" and rest:
            snaps.append(rest.strip())
    return detect(paths, containers, snaps)


def read_detection(data: bytes, source: str) -> Detection:
    """hosts/<host>/deployment.json of a bundle."""
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError as e:
        raise InputError(_("not valid JSON: {e}").format(e=e), source) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("flavor"), str):
        raise InputError(_(
            "expected {{\"flavor\": \"<one of {names}>\", ...}}").format(
            names=', '.join(BY_ID)),
                         source)
    fid = doc["flavor"]
    if fid not in BY_ID:
        raise InputError(_(
                "unknown flavor {fid!r} (expected one of {BY_ID})").format(
                fid=fid, BY_ID=', '.join(BY_ID)),
                         source)
    ev = doc.get("evidence") or []
    rt = doc.get("runtime")
    ctrs = doc.get("containers") or []
    return Detection(fid, tuple(str(e) for e in ev) if isinstance(ev, list) else (),
                     rt if isinstance(rt, str) else None,
                     tuple(str(c) for c in ctrs) if isinstance(ctrs, list) else ())


def nb_detection(nb: Database) -> Detection | None:
    """What the Northbound database itself says: ovn-kubernetes makes its cluster router
    with external_ids:k8s-cluster-router=yes (go-controller/pkg/ovn/topology/
    topologyfactory.go). Used for hosts that carry no deployment.json."""
    for row in nb.rows("Logical_Router"):
        if str(row.map("external_ids").get("k8s-cluster-router", "")) == "yes":
            return Detection("ovn-kubernetes", (
                f"NB Logical_Router {row.get('name')} external_ids:k8s-cluster-router=yes",))
    return None


def with_nb_flavor(snapshot: Snapshot) -> Snapshot:
    """Hosts whose flavor is not known take the one the NB shows, if any (and a note)."""
    det = nb_detection(snapshot.nb)
    unknown = [h for h, s in snapshot.hosts.items() if s.deployment is None]
    if det is None or not unknown:
        return snapshot
    hosts = {h: (replace(s, deployment=det.flavor) if s.deployment is None else s)
             for h, s in snapshot.hosts.items()}
    note = (f"deployment of {', '.join(sorted(unknown))} taken as {det.flavor}: "
            f"{det.evidence[0]}")
    return replace(snapshot, hosts=MappingProxyType(hosts), notes=(*snapshot.notes, note))


def bundle_deployments(bundle: str | Path) -> tuple[dict[str, Detection], list[str]]:
    """Per host directory of a bundle, its flavor: from hosts/<host>/deployment.json (what
    `ovnguard collect` writes), else from the files the host directory holds (kolla's
    config.json mapping, TripleO's puppet-generated copy). Returns detections and notes
    (an unusable deployment.json is a note, never a failure: it is optional)."""
    out: dict[str, Detection] = {}
    notes: list[str] = []
    hosts = Path(bundle) / "hosts"
    if not hosts.is_dir():
        return out, notes
    for d in sorted(p for p in hosts.iterdir() if p.is_dir() and not p.name.startswith(".")):
        f = d / DEPLOYMENT_FILE
        if f.is_file():
            try:
                out[d.name] = read_detection(safeio.read_bytes(f, limit=safeio.MiB), str(f))
            except (InputError, OSError) as e:
                notes.append(f"{f} not used: {e}")
    return out, notes


def summarize(detections: Mapping[str, Detection]) -> dict[str, list[str]]:
    """flavor -> hosts, for reports."""
    out: dict[str, list[str]] = {}
    for host, det in sorted(detections.items()):
        out.setdefault(det.flavor, []).append(host)
    return out
