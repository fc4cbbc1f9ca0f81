"""contrib/ansible/collect.yml against real sshd hosts in namespaces: the bundle it writes is
the bundle `collect --inventory` writes. Needs `ansible-playbook` (ansible-core); skipped
without it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from helpers.ssh_tools import SshCluster
from ovnguard.sources.bundle import load_bundle

pytest_plugins = ("helpers.ssh_fixtures",)
PLAYBOOK = Path(__file__).resolve().parents[2] / "contrib" / "ansible" / "collect.yml"


@pytest.fixture
def ansible_playbook() -> str:
    # The test extras install ansible-core into the same venv as pytest, which is not
    # necessarily on PATH (make runs .venv/bin/python directly).
    beside = Path(sys.executable).parent / "ansible-playbook"
    ap = (os.environ.get("ANSIBLE_PLAYBOOK") or shutil.which("ansible-playbook")
          or (str(beside) if beside.exists() else None))
    if ap is None:
        pytest.skip("ansible-playbook not installed (pip install ansible-core)")
    return ap


def test_playbook_writes_the_same_bundle_as_collect(ansible_playbook: str,
                                                    ssh_cluster: SshCluster,
                                                    tmp_path: Path) -> None:
    ap = ansible_playbook
    hosts = [ssh_cluster.host(n) for n in ("h01", "h02", "h03")]
    nd = tmp_path / "neutron"
    (nd / "plugins" / "ml2").mkdir(parents=True)
    (nd / "plugins" / "ml2" / "ml2_conf.ini").write_text("[ml2]\nmechanism_drivers = ovn\n")
    # the playbook copies files as they are: their secrets are left out when the bundle is read
    (nd / "neutron.conf").write_text("[database]\nconnection = mysql://neutron:S3cr3t@db/neutron\n")
    inv = tmp_path / "inv.ini"
    inv.write_text(
        "".join(f"{h.name} ansible_host={h.address} ovnguard_ovs_remote=unix:{h.ovs_sock} "
                f"ovnguard_neutron_dir={nd}\n" for h in hosts)
        + "[all:vars]\nansible_user=root\n"
        + f"ansible_ssh_private_key_file={ssh_cluster.keys.client}\n"
        + f"ansible_ssh_common_args='-o UserKnownHostsFile={ssh_cluster.known_hosts} "
          "-o StrictHostKeyChecking=yes'\nansible_python_interpreter=/usr/bin/python3\n")
    out = tmp_path / "bundle"
    p = subprocess.run(["ip", "netns", "exec", ssh_cluster.lan, ap, "-i", str(inv),
                        str(PLAYBOOK), "-e", f"ovnguard_bundle={out}"],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-2000:]
    subprocess.run(["ovsdb-tool", "create", str(out / "nb.db"),
                    "/usr/share/ovn/ovn-nb.ovsschema"], check=True)
    snap = load_bundle(out)
    assert set(snap.hosts) == {"h01", "h02", "h03"}
    for h in hosts:
        hs = snap.hosts[h.name]
        assert hs.inventory_address == h.address
        assert hs.ovs is not None
        assert next(hs.ovs.rows("Open_vSwitch")).map("external_ids")["hostname"] == h.name
        assert f"{h.address}/24" in {a.cidr for a in hs.addresses or ()}
        assert hs.links is not None and hs.routes is not None
        assert hs.neutron["neutron/plugins/ml2/ml2_conf.ini"]["ml2"]["mechanism_drivers"] == "ovn"
        assert hs.neutron["neutron/neutron.conf"]["database"]["connection"] == \
            "mysql://neutron:<redacted>@db/neutron"
    # `ovnguard collect --inventory` on the very same INI inventory (its ansible_host,
    # ansible_user and ovnguard_* variables) writes the same bundle, without Ansible
    out2 = tmp_path / "bundle-collect"
    p = ssh_cluster.run_cli("collect", "--inventory", str(inv), "--out", str(out2),
                            "--identity", str(ssh_cluster.keys.client),
                            "--known-hosts", str(ssh_cluster.known_hosts))
    assert p.returncode == 0, p.stderr
    (out2 / "nb.db").write_bytes((out / "nb.db").read_bytes())
    snap2 = load_bundle(out2)
    assert set(snap2.hosts) == set(snap.hosts)
    for name, hs in snap.hosts.items():
        other = snap2.hosts[name]
        assert other.inventory_address == hs.inventory_address
        assert other.neutron == hs.neutron
        assert {a.cidr for a in other.addresses or ()} == {a.cidr for a in hs.addresses or ()}
        assert hs.ovs is not None and other.ovs is not None
        for table in ("Open_vSwitch", "Bridge", "Port", "Interface"):
            assert sorted(str(r.get("name", "")) for r in other.ovs.rows(table)) == \
                sorted(str(r.get("name", "")) for r in hs.ovs.rows(table)), table
