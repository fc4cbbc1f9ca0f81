"""Lay a lab chassis out the way a deployment flavor does (sources/flavors.py), under a
directory standing for that host's `/`.

A lab chassis keeps its sockets in its own run dir; real hosts keep them where their
deployment tool puts them (kolla's /run/openvswitch bind mount, MicroOVN's
/var/snap/microovn/common/run/switch, ...). `lay_out` builds a root directory in which
those paths are symlinks to the running lab's sockets, plus the files by which the flavor
is recognised (/etc/kolla/<service>/config.json, the snap's directories, ovn-kubernetes'
CNI configuration) and the Neutron configuration where that flavor keeps it. Then
`ovnguard collect --root ROOT` reads the chassis exactly as it would read such a host,
with no --ovs/--nb/--sb: the default paths are what is under test. Containers cannot run
here, so `docker exec`-style access is not laid out (its command construction is tested
on its own, see tests/sources/test_flavors.py).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from ovnguard.sources.flavors import flavor

if TYPE_CHECKING:
    from ovnguard.lab.lab import Lab

# Neutron's ML2/OVN settings as a compute or network node carries them (metadata agent).
_METADATA_INI = """[DEFAULT]
debug = False

[ovn]
ovn_nb_connection = {nb}
ovn_sb_connection = {sb}
"""

_OVNK_CNI = {"cniVersion": "0.4.0", "name": "ovn-kubernetes", "type": "ovn-k8s-cni-overlay",
             "ipam": {}, "dns": {}, "logFile": "/var/log/ovn-kubernetes/ovn-k8s-cni-overlay.log"}


def _put(root: Path, host_path: str, text: str) -> None:
    p = root / host_path.lstrip("/")
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text, encoding="utf-8")


def _link(root: Path, host_path: str, target: Path) -> None:
    p = root / host_path.lstrip("/")
    p.parent.mkdir(parents=True, exist_ok=True)
    if p.is_symlink() or p.exists():
        p.unlink()
    p.symlink_to(target)


def _sock(remote: str) -> Path:
    return Path(remote.removeprefix("unix:"))


def lay_out(lab: Lab, host: str, flavor_id: str, root: Path, *, central: bool = False) -> Path:
    """Make `root` look like `host` deployed as `flavor_id`; with `central`, the host also
    serves NB/SB at that flavor's socket paths (the lab's central servers). Additive: the
    lab itself is not touched. Returns `root`."""
    f = flavor(flavor_id)
    root.mkdir(parents=True, exist_ok=True)
    _link(root, f.ovs_sockets[0], lab.host_paths(host).ovsdb.sock)
    if central and f.nb_sockets and f.sb_sockets:
        _link(root, f.nb_sockets[0], _sock(lab.nb_remote))
        _link(root, f.sb_sockets[0], _sock(lab.sb_remote))
    ini = _METADATA_INI.format(nb=lab.nb_remote, sb=lab.sb_remote)
    if f.id == "kolla-ansible":
        for service in ("openvswitch-vswitchd", "openvswitch-db-server", "ovn-controller"):
            _put(root, f"/etc/kolla/{service}/config.json",
                 json.dumps({"command": service, "config_files": []}) + "\n")
        # kolla copies each file at container start: config.json says to where
        svc = "/etc/kolla/neutron-ovn-metadata-agent"
        _put(root, f"{svc}/neutron_ovn_metadata_agent.ini", ini)
        _put(root, f"{svc}/config.json", json.dumps({
            "command": "neutron-ovn-metadata-agent",
            "config_files": [{
                "source": "/var/lib/kolla/config_files/neutron_ovn_metadata_agent.ini",
                "dest": "/etc/neutron/neutron_ovn_metadata_agent.ini",
                "owner": "neutron", "perm": "0600"}]}) + "\n")
    elif f.id == "tripleo-edpm":
        (root / "var/lib/openvswitch/ovn").mkdir(parents=True, exist_ok=True)
        _put(root, "/var/lib/openstack/configs/ovn/ovsdb-config", "")
        _put(root, "/var/lib/config-data/puppet-generated/neutron/etc/neutron/"
             "neutron_ovn_metadata_agent.ini", ini)
    elif f.id == "openstack-ansible":
        (root / "openstack/venvs/neutron-untagged/bin").mkdir(parents=True, exist_ok=True)
        _put(root, "/etc/neutron/neutron_ovn_metadata_agent.ini", ini)
    elif f.id == "microovn":
        for d in ("data/switch/db", "data/central/db", "logs"):
            (root / "var/snap/microovn/common" / d).mkdir(parents=True, exist_ok=True)
    elif f.id == "charmed-openstack":
        (root / "var/lib/juju/agents/unit-ovn-chassis-0/charm").mkdir(parents=True,
                                                                       exist_ok=True)
        _put(root, "/etc/neutron/neutron_ovn_metadata_agent.ini", ini)
    elif f.id == "ovn-kubernetes":
        _put(root, "/etc/cni/net.d/10-ovn-kubernetes.conf", json.dumps(_OVNK_CNI) + "\n")
        (root / "var/run/ovn-kubernetes").mkdir(parents=True, exist_ok=True)
    else:  # packages
        _put(root, "/etc/neutron/neutron_ovn_metadata_agent.ini", ini)
    return root
