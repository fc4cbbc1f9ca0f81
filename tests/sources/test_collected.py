"""Which Neutron files a host yields (plain, TripleO, kolla-ansible via config.json), and
how collections are written into a bundle (merge, replace, unsafe names)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ovnguard.errors import InputError
from ovnguard.sources.collected import (
    Collection,
    HostCollection,
    kolla_roots,
    neutron_files,
    read_tree,
    write_bundle,
)
from ovnguard.sources.inventory import read_inventory


def test_kolla_files_are_mapped_through_config_json(tmp_path: Path) -> None:
    svc = tmp_path / "etc/kolla/neutron-server"
    svc.mkdir(parents=True)
    (svc / "ml2_conf.ini").write_text("[ml2]\nmechanism_drivers = ovn\n")
    (svc / "neutron.conf").write_text("[DEFAULT]\ncore_plugin = ml2\n")
    (svc / "config.json").write_text(json.dumps({"command": "neutron-server", "config_files": [
        {"source": "/var/lib/kolla/config_files/neutron.conf", "dest": "/etc/neutron/neutron.conf"},
        {"source": "/var/lib/kolla/config_files/ml2_conf.ini",
         "dest": "/etc/neutron/plugins/ml2/ml2_conf.ini"},
        {"source": "/var/lib/kolla/config_files/neutron.conf", "dest": "/etc/other/x.conf"},
    ]}))
    meta = tmp_path / "etc/kolla/neutron-ovn-metadata-agent"
    meta.mkdir(parents=True)
    (meta / "neutron.conf").write_text("[DEFAULT]\ncore_plugin = other\n")
    (meta / "config.json").write_text(json.dumps({"config_files": [
        {"source": "/var/lib/kolla/config_files/neutron.conf",
         "dest": "/etc/neutron/neutron.conf"}]}))
    roots = kolla_roots(tmp_path)
    assert roots == ["/etc/kolla/neutron-ovn-metadata-agent", "/etc/kolla/neutron-server"]
    files, notes = neutron_files(read_tree(roots, base=tmp_path))
    assert sorted(files) == ["neutron/neutron.conf", "neutron/plugins/ml2/ml2_conf.ini"]
    assert files["neutron/plugins/ml2/ml2_conf.ini"].startswith(b"[ml2]")
    assert any("differ" in n for n in notes)  # two services disagree on neutron.conf
    # /etc/neutron wins when present
    plain = tmp_path / "etc/neutron"
    plain.mkdir()
    (plain / "neutron.conf").write_text("[DEFAULT]\n")
    files, _ = neutron_files(read_tree(["/etc/neutron", *roots], base=tmp_path))
    assert list(files) == ["neutron/neutron.conf"]


def test_write_bundle_merges_runs_and_replaces_a_host_whole(tmp_path: Path) -> None:
    out = tmp_path / "b"
    h = HostCollection("c1", files={"addr.json": b"[]\n"},
                       neutron={"neutron/old.ini": b"[x]\n"}, address="10.0.0.1")
    write_bundle(Collection(nb=b"NB", hosts=[h]), out)
    write_bundle(Collection(hosts=[HostCollection("c2", files={"addr.json": b"[]\n"},
                                                  address="10.0.0.2")]), out)
    write_bundle(Collection(hosts=[HostCollection("c1", files={"route.json": b"[]\n"})]), out)
    assert (out / "nb.db").read_bytes() == b"NB"  # a later run without NB keeps it
    assert sorted(p.name for p in (out / "hosts" / "c1").iterdir()) == ["route.json"]
    assert (out / "hosts" / "c2" / "addr.json").exists()
    assert read_inventory(out / "inventory.yaml").addresses() == {"c1": "10.0.0.1",
                                                                  "c2": "10.0.0.2"}
    assert not [p for p in (out / "hosts").iterdir() if p.name.startswith(".")]
    with pytest.raises(InputError, match="cannot be a directory name"):
        write_bundle(Collection(hosts=[HostCollection("../x", files={"a": b""})]), out)
    with pytest.raises(InputError, match="unsafe path"):
        write_bundle(Collection(hosts=[HostCollection("c3", neutron={"../../x.ini": b""})]),
                     out)
    assert not (out / "hosts" / "c3").exists()
