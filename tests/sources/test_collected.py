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


def test_read_tree_reads_only_regular_files_bounded_and_says_what_it_skipped(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    from ovnguard.sources import collected, safeio

    etc = tmp_path / "etc/neutron"
    (etc / "plugins/ml2").mkdir(parents=True)
    (etc / "neutron.conf").write_text("[DEFAULT]\ncore_plugin = ml2\n")
    os.mkfifo(etc / "fifo.ini")  # read whole, this blocked `collect` forever
    (etc / "dev.conf").symlink_to("/dev/zero")  # and this ended in MemoryError
    (etc / "plugins/ml2/big.ini").write_bytes(b"[x]\n" + b"#" * 200)
    (etc / "loop").symlink_to(etc)  # a symlinked directory is not followed
    monkeypatch.setattr(safeio, "MAX_TEXT_BYTES", 100)
    monkeypatch.setattr(safeio.read_bytes, "__defaults__", (None, 100, "file"))
    notes: list[str] = []
    tree = read_tree(["/etc/neutron"], base=tmp_path, notes=notes)
    assert sorted(tree) == ["/etc/neutron/neutron.conf"]
    text = "\n".join(notes)
    assert "/etc/neutron/fifo.ini" in text and "not a regular file" in text
    assert "/etc/neutron/dev.conf" in text
    assert "/etc/neutron/plugins/ml2/big.ini" in text and "larger than" in text
    # a count bound, said once, the rest not read
    for i in range(5):
        (etc / f"n{i}.conf").write_text("[DEFAULT]\n")
    monkeypatch.setattr(collected, "MAX_TREE_FILES", 3)
    notes = []
    tree = read_tree(["/etc/neutron"], base=tmp_path, notes=notes)
    assert len(tree) == 3 and any("more than 3 files" in n for n in notes)
