"""Inventories: every form operators have (flat map, hosts:, Ansible YAML/INI/JSON,
openstack_user_config.yml), addresses and DNS names, errors with their file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from ovnguard.errors import InputError
from ovnguard.sources.inventory import (
    bundle_inventory,
    management_addresses,
    parse_inventory,
    read_inventory,
)


def test_hosts_form_and_ipv6(tmp_path: Path) -> None:
    f = tmp_path / "inventory.yaml"
    f.write_text(
        "# management addresses\n"
        "hosts:\n"
        "  compute1:\n"
        "    address: 10.10.0.21\n"
        "  compute2: 10.10.0.22\n"
        "  compute3: {address: 'FD00::0023'}\n"
        '  "6f1d0c5e-93a4-4c7e-8f0b-2f4b1d2a9e11": 10.10.0.24\n'
    )
    inv = read_inventory(f)
    assert inv.form == "hosts"
    assert inv.addresses() == {
        "compute1": "10.10.0.21",
        "compute2": "10.10.0.22",
        "compute3": "fd00::23",  # normalised, so it compares equal to addr.json's form
        "6f1d0c5e-93a4-4c7e-8f0b-2f4b1d2a9e11": "10.10.0.24",
    }
    assert [h.line for h in inv.hosts] == [3, 5, 6, 7]


def test_flat_map_is_what_the_contract_says() -> None:
    inv = parse_inventory("controller: 10.10.0.21\ncompute1: 10.10.0.23  # ssh here\n", "i")
    assert inv.form == "flat"
    assert inv.addresses() == {"controller": "10.10.0.21", "compute1": "10.10.0.23"}


def test_dns_names_are_kept_as_names() -> None:
    inv = parse_inventory("hosts:\n  compute1: compute1.example.org\n  c2: {address: c2}\n",
                          "i")
    assert inv.addresses() == {"compute1": "compute1.example.org", "c2": "c2"}
    assert [h.is_ip for h in inv.hosts] == [False, False]
    ips, notes = management_addresses(inv, "inventory.yaml")
    assert ips == {}
    assert len(notes) == 1 and "compute1 (compute1.example.org), c2" in notes[0]
    assert "not resolved" in notes[0]


def test_empty_hosts() -> None:
    assert parse_inventory("hosts:\n", "i").hosts == ()
    assert parse_inventory("hosts: {}\n", "i").hosts == ()
    assert parse_inventory("{}\n", "i").hosts == ()


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("hosts:\n  compute1:\n    address: 10.10.0.300\n", 3,
         "address of host 'compute1' is not an IP address or a DNS name: '10.10.0.300'"),
        ("hosts:\n  compute1: bad_name!\n", 2, "not an IP address or a DNS name"),
        ("hosts:\n  compute1: 10.10.0.21\n  compute1: 10.10.0.22\n", 3,
         "'compute1' given twice (first on line 2)"),
        ("hosts:\n  compute1:\n    adress: 10.10.0.21\n", 3, "unknown key 'adress'"),
        ("hosts:\n  compute1: {}\n", 2, "has no 'address'"),
        ("hosts:\n  compute1: [10.10.0.21]\n", 2, "expected an address or {address: ...}"),
        ("host:\n  compute1: 10.10.0.21\n", 1, "'host' is neither a host's address"),
        ("controller: 10.10.0.21\ncompute1:\n  address: 10.10.0.23\n", 2,
         "'compute1' is neither"),
        ("controller: 10.10.0.21\ncontroller: 10.10.0.22\n", 2, "given twice"),
        # Ansible groups with one flat entry among them: the odd one out is named
        ("all:\n  hosts:\n    a: {ansible_host: 10.0.0.1}\ng2:\n  hosts: {}\nfoo: 10.0.0.1\n",
         6, "'foo' is neither"),
        ("- compute1\n", 1, "expected a mapping of host names"),
        ("hosts:\n\tcompute1: 10.10.0.21\n", 2, "not valid YAML"),
        ("hosts:\n  compute1: {address: 10.10.0.21\n", 3, "not valid YAML"),
        ("hosts: [a, b]\n", 1, "'hosts' must map host names to addresses"),
        ("all:\n  hosts:\n    c1: {ansible_host: '{{ lookup(\"x\") }}'}\n", 3,
         "is a Jinja2 template"),
        ("compute_hosts:\n  c1: {ip: 10.0.0.1}\nnetwork_hosts:\n  c1: {ip: 10.0.0.2}\n", 4,
         "has ip 10.0.0.2 here but 10.0.0.1 on line 2"),
    ],
)
def test_errors_name_the_line(text: str, line: int, fragment: str) -> None:
    with pytest.raises(InputError) as ei:
        parse_inventory(text, "bundle/inventory.yaml", suffix=".yaml")
    assert (ei.value.path, ei.value.line) == ("bundle/inventory.yaml", line), str(ei.value)
    assert fragment in str(ei.value) and "\n" not in str(ei.value)


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("[compute]\ncompute1 ansible_host\n", 2, "expected key=value after the host name"),
        ("[compute:nodes]\nc1\n", 1, "unknown type 'nodes'"),
        ("[compute]\nc1\n[all:children]\ncompute\nstorage\n", 5,
         "[all:children] names a group that is never declared: 'storage'"),
        ("[storage:vars]\nx=1\n", 1, "[storage:vars] is for a group that is never declared"),
        ("[compute]\nc[01:3]\n", 2, "same width"),
        ("[compute]\nc1 ansible_host='unterminated\n", 2, "cannot parse host line"),
        ("[compute]\nc1 ansible_host=10.0.0.999\n", 2, "not an IP address or a DNS name"),
        ("[bad group]\n", 1, "invalid section header"),
    ],
)
def test_ini_errors_name_the_line(text: str, line: int, fragment: str) -> None:
    with pytest.raises(InputError) as ei:
        parse_inventory(text, "multinode")
    assert (ei.value.path, ei.value.line) == ("multinode", line), str(ei.value)
    assert fragment in str(ei.value) and "\n" not in str(ei.value)


def test_empty_file() -> None:
    with pytest.raises(InputError, match="empty file"):
        parse_inventory("# nothing\n", "inventory.yaml")


def test_openstack_ansible_user_config() -> None:
    # openstack_user_config.yml's shape: networks and overrides beside <group>_hosts, one
    # host in several groups with the same ip
    text = (
        "cidr_networks:\n  management: 172.29.236.0/22\n"
        "used_ips:\n  - '172.29.236.1,172.29.236.50'\n"
        "global_overrides:\n  internal_lb_vip_address: 172.29.236.9\n"
        "shared-infra_hosts:\n  infra1:\n    ip: 172.29.236.11\n"
        "network_hosts:\n  infra1:\n    ip: 172.29.236.11\n"
        "compute_hosts:\n  compute1:\n    ip: 172.29.236.12\n    container_vars: {}\n"
    )
    inv = parse_inventory(text, "openstack_user_config.yml", suffix=".yml")
    assert inv.form == "osa"
    assert inv.addresses() == {"infra1": "172.29.236.11", "compute1": "172.29.236.12"}
    assert inv.hosts[0].groups == ("shared-infra", "network")


def test_bundle_inventory_names_and_unreadable_one_is_a_note(tmp_path: Path) -> None:
    inv, name, notes = bundle_inventory(tmp_path)
    assert (inv, name) == (None, None) and "inventory.yaml missing" in notes[0]
    (tmp_path / "inventory").write_text("[compute]\ncompute1 ansible_host=10.0.0.1\n")
    (tmp_path / "inventory.ini").write_text("[compute]\ncompute1 ansible_host=10.0.0.9\n")
    inv, name, notes = bundle_inventory(tmp_path)
    assert name == "inventory.ini" and inv is not None
    assert inv.addresses() == {"compute1": "10.0.0.9"}
    assert notes == ["inventory not used: inventory.ini is the bundle's inventory"]
    (tmp_path / "inventory.yaml").write_text("controller: [\n")
    inv, name, notes = bundle_inventory(tmp_path)
    assert (inv, name) == (None, "inventory.yaml")
    assert notes[-1].startswith("inventory.yaml not used (inventory.yaml:2: not valid YAML")
    assert "management address of each host is not known" in notes[-1]
