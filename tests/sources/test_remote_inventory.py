"""`collect --inventory` / `check --live --inventory` with the inventories operators have:
an Ansible INI inventory (kolla-ansible's shape) with host_vars/ and a DNS name, and a
dynamic inventory script read through the real ansible-inventory. Two real sshd hosts in
namespaces (tests/helpers/ssh_tools.py)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from helpers.real_db import RealDb
from helpers.ssh_tools import PREFIX, SshCluster, build_cluster, require_sshd, teardown
from ovnguard.lab import netns
from ovnguard.sources import ansible_cli
from ovnguard.sources.bundle import load_bundle
from ovnguard.sources.inventory import read_inventory


@pytest.fixture(scope="module")
def small_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshCluster]:
    require_sshd()
    d = tmp_path_factory.mktemp("sshinv")
    cluster = build_cluster(d, {"h01": "ok", "h02": "ok"})
    # `ip netns exec LAN` reads /etc/netns/LAN/hosts as /etc/hosts: a DNS name that exists
    # only for the collector in that namespace, and is removed with it
    etc = Path("/etc/netns") / cluster.lan
    try:
        etc.mkdir(parents=True)
        (etc / "hosts").write_text(f"127.0.0.1 localhost\n{cluster.host('h02').address} "
                                   "h02.cloud.test\n")
        nb = RealDb(d / "nb.db", "nb")
        nb.__enter__()
        cluster.dbs.append(nb)
        nb.run("ls-add public -- lsp-add public provnet-1 -- lsp-set-type provnet-1 localnet "
               "-- lsp-set-options provnet-1 network_name=physnet1")
        cluster.nb_sock = nb.sock
        yield cluster
    finally:
        shutil.rmtree(etc, ignore_errors=True)
        teardown(cluster)
        assert not [n for n in netns.list_namespaces(PREFIX) if cluster.id in n]


def test_collect_with_a_kolla_style_ini_inventory(small_cluster: SshCluster,
                                                  tmp_path: Path) -> None:
    c = small_cluster
    h01, h02 = c.host("h01"), c.host("h02")
    inv = tmp_path / "multinode"
    inv.write_text(
        f"[control]\nh01 ansible_host={h01.address}\n\n"
        "[compute]\nh02 ansible_host=h02.cloud.test\n\n"
        "[deployment]\nlocalhost ansible_connection=local\n\n"
        "[storage]\nstor01 ansible_host=10.77.0.99\n\n"
        "[baremetal:children]\ncontrol\ncompute\nstorage\n\n"
        "[all:vars]\nansible_user=root\n")
    (tmp_path / "host_vars").mkdir()
    (tmp_path / "host_vars" / "h01.yml").write_text(
        f"ovnguard_ovs_remote: unix:{h01.ovs_sock}\novnguard_nb_remote: unix:{c.nb_sock}\n")
    (tmp_path / "group_vars").mkdir()
    (tmp_path / "group_vars" / "compute.yml").write_text(
        f"ovnguard_ovs_remote: unix:{h02.ovs_sock}\n")
    out = tmp_path / "bundle"
    # kolla-ansible lists storage nodes too (no OVS there): --limit as with ansible-playbook
    p = c.run_cli("collect", "--inventory", str(inv), "--limit", "baremetal,!storage",
                  "--out", str(out), "--timeout", "20",
                  "--identity", str(c.keys.client), "--known-hosts", str(c.known_hosts))
    assert p.returncode == 0, p.stderr
    assert "collected 2/2 host(s)" in p.stderr
    assert "localhost not used: ansible_connection=local" in p.stderr
    assert "--limit baremetal,!storage: 2 of 3 host(s) used" in p.stderr
    assert "nb.db    from h01:" in p.stderr and "Traceback" not in p.stderr
    # the DNS name was resolved by connecting: the bundle records the address reached
    assert read_inventory(out / "inventory.yaml").addresses() == {"h01": h01.address,
                                                                  "h02": h02.address}
    snap = load_bundle(out)
    assert set(snap.hosts) == {"h01", "h02"}
    for h in (h01, h02):
        hs = snap.hosts[h.name]
        assert hs.inventory_address == h.address
        assert hs.ovs is not None
        assert next(hs.ovs.rows("Open_vSwitch")).map("external_ids")["hostname"] == h.name
    assert {r.name for r in snap.nb.rows("Logical_Switch")} == {"public"}


def test_check_live_with_a_dynamic_inventory_script(small_cluster: SshCluster,
                                                    tmp_path: Path) -> None:
    if ansible_cli.ansible_inventory_command() is None:
        pytest.skip("ansible-inventory not installed (pip install ansible-core)")
    c = small_cluster
    hostvars = {h.name: {"ansible_host": h.address, "ansible_user": "root",
                         "ovnguard_ovs_remote": f"unix:{h.ovs_sock}"}
                for h in (c.host("h01"), c.host("h02"))}
    script = tmp_path / "cloud_inventory.py"
    script.write_text("#!/usr/bin/env python3\nimport json, sys\n"
                      f"HV = {json.dumps(hostvars)}\n"
                      "print(json.dumps({'compute': {'hosts': sorted(HV)}, '_meta': "
                      "{'hostvars': HV}} if sys.argv[1:] == ['--list'] else {}))\n")
    script.chmod(0o755)
    change = tmp_path / "change.sh"
    change.write_text("ovn-nbctl lsp-add public vm1\n")
    p = c.run_cli("check", "--live", "--inventory", str(script), "--nb", f"unix:{c.nb_sock}",
                  "--change", str(change), "--format", "json", "--fail-on", "never",
                  "--timeout", "20", "--identity", str(c.keys.client), "--known-hosts",
                  str(c.known_hosts))
    assert (p.returncode, p.stderr) == (0, ""), p.stderr
    report = json.loads(p.stdout)
    assert [c["outcome"] for c in report["change_lines"]] == ["applied"]
    assert not [n for n in report["notes"] if "not collected" in n], report["notes"]
