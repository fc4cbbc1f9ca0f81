"""Ansible inventories read by ovnguard, held against the real `ansible-inventory --list`
(ansible-core, a test extra): kolla-ansible's INI `multinode` shape, YAML with children,
host_vars/ and group_vars/, the --list JSON, and a dynamic inventory script."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from ovnguard.errors import InputError
from ovnguard.sources import ansible_cli
from ovnguard.sources.inventory import Inventory, load_inventory, read_inventory
from ovnguard.sources.remote import targets_of

# kolla-ansible's ansible/inventory/multinode, in its shape (our hosts and values): the
# node groups, a deployment host that is `localhost ansible_connection=local`, service
# groups made of children, a child named before the group is declared, host ranges.
MULTINODE = """\
# These hostnames must resolve from the deployment host, or give ansible_host.
[control]
ctl[01:02] ansible_user=kolla

[network]
net01 ansible_host=10.30.0.21

[compute]
cmp01 ansible_host=10.30.0.31 ansible_port=2222
cmp02:2200 ansible_host=cmp02.cloud.example

[monitoring]

[storage]

[deployment]
localhost       ansible_connection=local

[baremetal:children]
control
network
compute
storage
monitoring

[iscsid:children]
compute
storage
ironic-conductor

[ironic:children]
control

[ironic-conductor:children]
ironic

[ovn-controller:children]
ovn-controller-compute
ovn-controller-network

[ovn-controller-compute:children]
compute

[ovn-controller-network:children]
network

[ovn-database:children]
control

[all:vars]
ansible_become=true
ansible_user=root

[compute:vars]
ansible_user=nova
"""

YAML = """\
all:
  vars:
    ansible_user: root
  children:
    control:
      hosts:
        ctl01: {ansible_host: 10.30.0.11}
        ctl02:
    network:
      hosts:
        net01:
          ansible_host: 10.30.0.21
          ansible_port: 2201
    compute:
      vars:
        ansible_user: nova
      hosts:
        cmp[01:02]:
      children:
        gpu:
          hosts:
            cmp03: {ansible_host: 10.30.0.33}
"""


def ansible_inventory() -> str:
    cmd = ansible_cli.ansible_inventory_command()
    if cmd is None:
        pytest.skip("ansible-inventory not installed (pip install ansible-core)")
    return cmd


def real_list(path: Path) -> dict[str, Any]:
    p = subprocess.run([ansible_inventory(), "-i", str(path), "--list"], capture_output=True,
                       text=True, timeout=120, check=True)
    return json.loads(p.stdout)


def same_as_ansible(inv: Inventory, path: Path) -> None:
    """Every host Ansible sees (but the local deployment host) with the variables ovnguard
    uses, and their values, as ansible-inventory --list gives them."""
    real = real_list(path)["_meta"]["hostvars"]
    real = {h: v for h, v in real.items() if v.get("ansible_connection") != "local"}
    assert {h.name for h in inv.hosts} == set(real)
    for h in inv.hosts:
        ours = {k: v.value for k, v in h.vars.items()}
        assert ours == real[h.name], h.name


def test_kolla_multinode_shape_matches_ansible(tmp_path: Path) -> None:
    path = tmp_path / "multinode"
    path.write_text(MULTINODE)
    (tmp_path / "host_vars").mkdir()
    (tmp_path / "host_vars" / "ctl01.yml").write_text("ansible_host: 10.30.0.11\n")
    (tmp_path / "group_vars" / "control").mkdir(parents=True)
    (tmp_path / "group_vars" / "control" / "ovn.yml").write_text(
        "ovnguard_nb_remote: unix:/var/run/ovn/ovnnb_db.sock\n"
        "ovnguard_ovsdb_client: docker exec ovn_nb_db ovsdb-client\n")
    (tmp_path / "group_vars" / "all.yml").write_text("ansible_user: deploy\n")
    inv = read_inventory(path)
    assert inv.form == "ansible-ini"
    same_as_ansible(inv, path)
    assert inv.addresses() == {"ctl01": "10.30.0.11", "ctl02": "ctl02", "net01": "10.30.0.21",
                               "cmp01": "10.30.0.31", "cmp02": "cmp02.cloud.example"}
    assert any("localhost not used: ansible_connection=local" in n for n in inv.notes)
    cmp01 = next(h for h in inv.hosts if h.name == "cmp01")
    assert set(cmp01.groups) >= {"compute", "baremetal", "iscsid", "ovn-controller",
                                 "ovn-controller-compute"}
    t = {t.name: t for t in targets_of(inv)}
    # group_vars/ files come after every group's inventory vars (ansible-core's default
    # precedence): group_vars/all.yml beats [compute:vars]
    assert (t["cmp01"].address, t["cmp01"].port, t["cmp01"].user) == ("10.30.0.31", 2222,
                                                                       "deploy")
    assert (t["cmp02"].address, t["cmp02"].port, t["cmp02"].mgmt) == ("cmp02.cloud.example",
                                                                       2200, None)
    # the host line's ansible_user beats every group's
    assert (t["net01"].user, t["ctl02"].user) == ("deploy", "kolla")
    assert t["ctl01"].nb == "unix:/var/run/ovn/ovnnb_db.sock" and t["ctl01"].sudo
    assert t["ctl01"].ovsdb_client == "docker exec ovn_nb_db ovsdb-client"
    assert t["net01"].nb is None


def test_yaml_inventory_matches_ansible(tmp_path: Path) -> None:
    path = tmp_path / "inventory.yml"
    path.write_text(YAML)
    (tmp_path / "host_vars").mkdir()
    (tmp_path / "host_vars" / "cmp01.yaml").write_text("ansible_host: 10.30.0.31\n")
    (tmp_path / "host_vars" / "cmp02").write_text("ansible_host: 10.30.0.32\n")
    inv = read_inventory(path)
    assert inv.form == "ansible-yaml"
    same_as_ansible(inv, path)
    assert inv.addresses() == {"ctl01": "10.30.0.11", "ctl02": "ctl02", "net01": "10.30.0.21",
                               "cmp01": "10.30.0.31", "cmp02": "10.30.0.32",
                               "cmp03": "10.30.0.33"}
    t = {t.name: t for t in targets_of(inv)}
    assert (t["cmp03"].user, t["net01"].port, t["ctl01"].user) == ("nova", 2201, "root")


def test_list_json_reads_like_the_inventory_it_came_from(tmp_path: Path) -> None:
    src = tmp_path / "src" / "multinode"
    src.parent.mkdir()
    src.write_text(MULTINODE)
    listed = tmp_path / "openstack_inventory.json"
    listed.write_text(json.dumps(real_list(src)))
    inv = read_inventory(listed)
    assert inv.form == "ansible-json"
    assert inv.addresses() == read_inventory(src).addresses()


def test_dynamic_inventory_script_goes_through_ansible_inventory(tmp_path: Path) -> None:
    ansible_inventory()
    script = tmp_path / "cloud.py"
    script.write_text(
        "#!/usr/bin/env python3\n"
        "import json, sys\n"
        "if sys.argv[1:] == ['--list']:\n"
        "    print(json.dumps({'compute': {'hosts': ['cmp01', 'cmp02'],\n"
        "                      'vars': {'ansible_user': 'nova'}},\n"
        "        '_meta': {'hostvars': {'cmp01': {'ansible_host': '10.30.0.31'},\n"
        "                               'cmp02': {'ansible_host': '10.30.0.32',\n"
        "                                         'ansible_port': 2222}}}}))\n"
        "else:\n"
        "    print('{}')\n")
    script.chmod(0o755)
    inv = load_inventory(script)
    assert inv.form == "ansible-inventory"
    assert inv.addresses() == {"cmp01": "10.30.0.31", "cmp02": "10.30.0.32"}
    t = {t.name: t for t in targets_of(inv)}
    assert (t["cmp02"].user, t["cmp02"].port) == ("nova", 2222)
    # a bundle's inventory is data: never executed
    with pytest.raises(InputError):
        read_inventory(script)


def test_dynamic_inventory_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ansible_inventory()
    script = tmp_path / "broken.sh"
    script.write_text("#!/bin/sh\necho 'no json here'\n")
    script.chmod(0o755)
    with pytest.raises(InputError) as ei:
        load_inventory(script)
    assert str(ei.value).startswith(f"{script}: ansible-inventory could not read it")
    assert "\n" not in str(ei.value)
    # without ansible-inventory: what is needed, in one line
    monkeypatch.setattr(ansible_cli, "ansible_inventory_command", lambda: None)
    with pytest.raises(InputError) as ei:
        load_inventory(script)
    assert "an executable (dynamic inventory script): reading it needs ansible-inventory" \
        in str(ei.value)


def test_static_file_with_the_x_bit_is_still_read_here(tmp_path: Path) -> None:
    path = tmp_path / "multinode"
    path.write_text(MULTINODE)
    os.chmod(path, 0o755)  # a git checkout or a copy from a USB stick
    assert load_inventory(path).form == "ansible-ini"


def test_vault_and_unsafe_tags(tmp_path: Path) -> None:
    path = tmp_path / "inventory.yml"
    path.write_text("all:\n  hosts:\n    c1:\n      ansible_host: !unsafe 10.30.0.1\n"
                    "      secret: !vault |\n        $ANSIBLE_VAULT;1.1;AES256\n        3131\n"
                    "    c2:\n      ansible_host: !vault |\n        $ANSIBLE_VAULT;1.1;AES\n")
    with pytest.raises(InputError) as ei:
        read_inventory(path)
    assert (ei.value.line, "vault-encrypted") == (9, "vault-encrypted") or \
        "vault-encrypted" in str(ei.value)
    assert "c2" in str(ei.value)


def test_unexpected_group_key_is_noted_as_ansible_warns() -> None:
    from ovnguard.sources.inventory import parse_inventory

    inv = parse_inventory("all:\n  hosts:\n    c1: {ansible_host: 10.0.0.1}\n  host_vars: {}\n",
                          "inv.yml", suffix=".yml")
    assert inv.addresses() == {"c1": "10.0.0.1"}
    assert inv.notes == ("inv.yml:4: key 'host_vars' of group 'all' ignored (a group has "
                         "hosts, vars and children)",)


def test_a_directory_of_inventories_goes_through_ansible_inventory(tmp_path: Path) -> None:
    ansible_inventory()
    d = tmp_path / "inventory"
    d.mkdir()
    (d / "01-control").write_text("[control]\nctl01 ansible_host=10.30.0.11\n")
    (d / "02-compute.yml").write_text("compute:\n  hosts:\n    cmp01: {ansible_host: 10.30.0.31}\n")
    (d / "group_vars").mkdir()
    (d / "group_vars" / "compute.yml").write_text("ansible_user: nova\n")
    inv = load_inventory(d)
    assert inv.form == "ansible-inventory" and inv.source == str(d)
    assert inv.addresses() == {"ctl01": "10.30.0.11", "cmp01": "10.30.0.31"}
    assert {t.name: t.user for t in targets_of(inv)} == {"ctl01": None, "cmp01": "nova"}


def test_limit_selects_hosts_and_groups_as_ansible_does(tmp_path: Path) -> None:
    from ovnguard.sources.inventory import limit_hosts

    path = tmp_path / "multinode"
    path.write_text(MULTINODE + "[storage]\nstor01 ansible_host=10.30.0.41\n")
    inv = read_inventory(path)

    def names(pattern: str) -> list[str]:
        return sorted(h.name for h in limit_hosts(inv, pattern).hosts)

    assert names("compute") == ["cmp01", "cmp02"]
    assert names("control,net01") == ["ctl01", "ctl02", "net01"]
    assert names("baremetal,!storage") == ["cmp01", "cmp02", "ctl01", "ctl02", "net01"]
    assert names("all:&ovn-controller") == ["cmp01", "cmp02", "net01"]
    assert names("cmp*") == ["cmp01", "cmp02"]
    assert names("!control") == ["cmp01", "cmp02", "net01", "stor01"]
    assert limit_hosts(inv, "compute").notes[-1] == "--limit compute: 2 of 6 host(s) used"
    with pytest.raises(InputError) as ei:
        limit_hosts(inv, "nosuchgroup")
    assert str(ei.value) == f"{path}: --limit nosuchgroup matches no host of this inventory"


def test_odd_values_are_errors_or_strings_never_noise() -> None:
    import warnings

    from ovnguard.sources.inventory import parse_inventory

    # an unknown YAML tag: one line naming where
    with pytest.raises(InputError) as ei:
        parse_inventory("all:\n  hosts:\n    c1:\n      ansible_host: !10.30.0.21\n", "inv.yml",
                        suffix=".yml")
    assert (ei.value.line, "\n" in str(ei.value)) == (4, False)
    # `1if` is not a Python literal: a string (as in Ansible), and no SyntaxWarning on
    # stderr while finding that out
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        inv = parse_inventory("[compute]\nc1 ansible_host=cmp1x rack=1if\n", "multinode")
    assert not seen
    assert inv.hosts[0].vars["rack"].value == "1if"


def test_script_json_with_plain_host_lists() -> None:
    # what older dynamic inventory scripts print: `group: [host, ...]`, hostvars in _meta
    from ovnguard.sources.inventory import parse_inventory

    inv = parse_inventory('{"compute": ["cmp01", "cmp02"], "control": {"hosts": ["ctl01"]},'
                          ' "_meta": {"hostvars": {"cmp01": {"ansible_host": "10.30.0.31"}}}}',
                          "inventory.json", suffix=".json")
    assert inv.form == "ansible-json"
    assert inv.addresses() == {"cmp01": "10.30.0.31", "cmp02": "cmp02", "ctl01": "ctl01"}
