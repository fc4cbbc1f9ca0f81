"""SSH fan-out against real sshd hosts in network namespaces (tests/helpers/ssh_fixtures.py):
ten hosts collected, one down, one hanging and one with an unknown host key reported with
why, the concurrency limit and per-host timeout honoured, nothing needed on the hosts but
stock commands."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpers.ssh_tools import SshCluster, write_inventory
from ovnguard.errors import InputError
from ovnguard.sources.bundle import load_bundle
from ovnguard.sources.remote import commands, parse_targets, untar_tree

pytest_plugins = ("helpers.ssh_fixtures",)


def _neutron_dir(tmp: Path) -> Path:
    d = tmp / "neutron-h01"
    (d / "plugins" / "ml2").mkdir(parents=True)
    (d / "plugins" / "ml2" / "ml2_conf.ini").write_text(
        "[ml2]\nmechanism_drivers = ovn\n[ml2_type_flat]\nflat_networks = physnet1\n")
    (d / "rootwrap.d").mkdir()
    (d / "rootwrap.d" / "x.filters").write_text("not collected\n")
    return d


def test_fan_out_collects_good_hosts_and_reports_each_failure_with_why(
    ssh_cluster: SshCluster, tmp_path: Path
) -> None:
    nd = _neutron_dir(tmp_path)
    inv = write_inventory(ssh_cluster, tmp_path / "hosts.yaml", {
        "h01": f"nb: unix:{ssh_cluster.nb_sock}\nneutron_dir: {nd}",
    })
    out = tmp_path / "bundle"
    p = ssh_cluster.run_cli("collect", "--inventory", str(inv), "--out", str(out),
                            "--timeout", "4", *ssh_cluster.ssh_args())
    assert p.returncode == 1, p.stderr  # some hosts failed; the rest is written
    err = p.stderr
    assert "collected 10/13 host(s)" in err, err
    assert "FAILED   hdown: connection refused by 10.77.0.21:22" in err
    assert "FAILED   hkey: host key of 10.77.0.23 not verifiable" in err
    # the hanging host: connected, but no command finished within the host's deadline
    assert "FAILED   hhang: timed out after 4s: no command finished" in err
    assert "nb.db    from h01:" in err
    assert "Traceback" not in err

    good = [f"h{i:02d}" for i in range(1, 11)]
    assert sorted(p.name for p in (out / "hosts").iterdir()) == good
    snap = load_bundle(out)  # the written bundle is a bundle
    for i, name in enumerate(good, start=1):
        hs = snap.hosts[name]
        assert hs.ovs is not None
        ovs_row = next(hs.ovs.rows("Open_vSwitch"))
        assert ovs_row.map("external_ids")["hostname"] == name
        # addresses are that namespace's own, read by `ip -j` over SSH
        assert hs.addresses is not None
        assert any(a.address == f"10.77.0.{10 + i}" and a.ifname == "eth0"
                   for a in hs.addresses)
        assert hs.routes is not None and any(r.dst == "default" and r.gateway == "10.77.0.1"
                                             for r in hs.routes)
        assert hs.links is not None and any(lk.ifname == "eth0" and lk.kind == "veth"
                                            for lk in hs.links)
        assert hs.inventory_address == f"10.77.0.{10 + i}"
    # neutron config came over `tar` from h01 only, and only oslo.config files
    assert snap.hosts["h01"].neutron["neutron/plugins/ml2/ml2_conf.ini"]["ml2"] == {
        "mechanism_drivers": "ovn"}
    assert not (out / "hosts/h01/etc/neutron/rootwrap.d").exists()
    assert snap.nb.find("Logical_Switch_Port", "ln-physnet1")


def test_concurrency_limit_is_honoured_on_the_servers(
    ssh_cluster: SshCluster, tmp_path: Path
) -> None:
    ok = [h for h in ssh_cluster.hosts if h.kind == "ok"]
    inv = tmp_path / "hosts.yaml"
    inv.write_text("hosts:\n" + "".join(
        f"  {h.name}: {{address: {h.address}, ovs: 'unix:{h.ovs_sock}'}}\n" for h in ok))
    mark = ssh_cluster.log.stat().st_size
    p = ssh_cluster.run_cli("collect", "--inventory", str(inv), "--out",
                            str(tmp_path / "b"), "-j", "3", *ssh_cluster.ssh_args())
    assert p.returncode == 0, p.stderr
    lines = ssh_cluster.log.read_bytes()[mark:].decode().split("\n")
    spans: dict[tuple[str, str], list[float]] = {}
    for line in filter(None, lines):
        ts, _what, host, port = line.split()
        spans.setdefault((host, port), []).append(float(ts))
    # one SSH connection (one session) per host
    assert len(spans) == len(ok)
    events = sorted([(min(v), 1) for v in spans.values()] + [(max(v), -1) for v in
                                                             spans.values()])
    live = peak = 0
    for _, step in events:
        live += step
        peak = max(peak, live)
    assert 2 <= peak <= 3, peak


def test_live_check_over_ssh_reads_hosts_in_memory_and_names_the_missing(
    ssh_cluster: SshCluster, tmp_path: Path
) -> None:
    inv = write_inventory(ssh_cluster, tmp_path / "hosts.yaml",
                          {"h01": f"nb: unix:{ssh_cluster.nb_sock}"})
    p = ssh_cluster.run_cli("check", "--live", "--inventory", str(inv), "--timeout", "4",
                            "--format", "json", *ssh_cluster.ssh_args())
    assert p.returncode in (0, 1), p.stderr
    report = json.loads(p.stdout)
    good = {f"h{i:02d}" for i in range(1, 11)}
    # failed hosts keep their inventory address (as in a written bundle's inventory.yaml)
    assert set(report["topology"]) == good | {"hdown", "hhang", "hkey"}
    assert all(report["topology"][h]["bridges"] for h in good)
    assert not report["topology"]["hdown"]["bridges"]
    notes = "\n".join(report["notes"])
    assert "hdown: not collected: connection refused" in notes
    assert "hhang: not collected: timed out after 4s" in notes
    assert not list(tmp_path.glob("**/conf.db"))  # nothing written


def test_inventory_errors_name_the_line() -> None:
    with pytest.raises(InputError, match=r"h\.yaml:3: host 'a': unknown key 'adress'"):
        parse_targets("hosts:\n  a:\n    adress: 1.2.3.4\n", "h.yaml")
    with pytest.raises(InputError, match=r"h\.yaml:2: host 'b': port must be 1-65535"):
        parse_targets("hosts:\n  b: {address: x, port: 0}\n", "h.yaml")
    with pytest.raises(InputError, match=r"'a' given twice \(first on line 2\)"):
        parse_targets("hosts:\n  a: 1.1.1.1\n  a: 1.1.1.2\n", "h.yaml")
    with pytest.raises(InputError, match="not usable as a directory name"):
        parse_targets("hosts:\n  ../x: 1.1.1.1\n", "h.yaml")
    ts = parse_targets("defaults: {user: admin, sudo: true}\nhosts:\n  a: 10.0.0.1\n"
                       "  b: {address: b.example, user: root, nb: true}\n", "h.yaml")
    assert [(t.name, t.user, t.sudo, t.nb) for t in ts] == [
        ("a", "admin", True, None), ("b", "root", True, "")]
    # sudo wraps only what needs root; the ip commands run as the user
    cmds = commands(ts[0], 10)
    assert cmds["conf.db"].startswith("sudo -n sh -c ")
    assert cmds["addr.json"] == "ip -j addr show"


def test_untar_keeps_regular_files_inside_the_prefix(tmp_path: Path) -> None:
    import io
    import tarfile

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in (("etc/neutron/a.ini", b"[x]\n"), ("../evil.ini", b"[y]\n"),
                           ("/abs.ini", b"[z]\n")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        link = tarfile.TarInfo("etc/neutron/l.ini")
        link.type = tarfile.SYMTYPE
        link.linkname = "/etc/shadow"
        tar.addfile(link)
    assert untar_tree(buf.getvalue(), "/") == {"/etc/neutron/a.ini": b"[x]\n"}
    with pytest.raises(InputError, match="not a tar stream"):
        untar_tree(b"garbage" * 100, "/")


def test_asyncssh_is_imported_without_warnings_on_stderr() -> None:
    # cryptography 51 deprecates DSA, and importing asyncssh printed ten lines of
    # CryptographyDeprecationWarning before every fan-out (CI's check --live test failed on
    # its stderr); even with every warning shown (-W default) nothing is printed now
    import subprocess
    import sys

    p = subprocess.run([sys.executable, "-W", "default", "-c",
                        "from ovnguard.sources.remote import _asyncssh; _asyncssh()"],
                       capture_output=True, text=True, timeout=60)
    assert (p.returncode, p.stderr) == (0, "")
