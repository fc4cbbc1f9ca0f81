"""inventory.yaml: both forms, address validation, errors with the YAML line."""

from __future__ import annotations

from pathlib import Path

import pytest

from ovnguard.errors import InputError
from ovnguard.sources.inventory import parse_inventory, read_inventory


def test_both_forms_and_ipv6(tmp_path: Path) -> None:
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
    assert read_inventory(f) == {
        "compute1": "10.10.0.21",
        "compute2": "10.10.0.22",
        "compute3": "fd00::23",  # normalised, so it compares equal to addr.json's form
        "6f1d0c5e-93a4-4c7e-8f0b-2f4b1d2a9e11": "10.10.0.24",
    }


def test_empty_hosts() -> None:
    assert parse_inventory("hosts:\n", "i") == {}
    assert parse_inventory("hosts: {}\n", "i") == {}


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("hosts:\n  compute1:\n    address: 10.10.0.300\n", 3,
         "address of host 'compute1' is not an IP address: '10.10.0.300'"),
        ("hosts:\n  compute1: compute1.example.org\n", 2, "is not an IP address"),
        ("hosts:\n  compute1: 10.10.0.21\n  compute1: 10.10.0.22\n", 3,
         "'compute1' given twice (first on line 2)"),
        ("hosts:\n  compute1:\n    adress: 10.10.0.21\n", 3, "unknown key 'adress'"),
        ("hosts:\n  compute1:\n    ssh_user: root\n", 3, "unknown key 'ssh_user'"),
        ("hosts:\n  compute1: {}\n", 2, "has no 'address'"),
        ("hosts:\n  compute1: [10.10.0.21]\n", 2, "expected an address or {address: ...}"),
        ("host:\n  compute1: 10.10.0.21\n", 1, "unknown key 'host' (expected 'hosts')"),
        ("- compute1\n", 1, "expected a mapping with a 'hosts:' key"),
        ("hosts:\n\tcompute1: 10.10.0.21\n", 2, "not valid YAML"),
        ("hosts:\n  compute1: {address: 10.10.0.21\n", 3, "not valid YAML"),
        ("hosts: [a, b]\n", 1, "'hosts' must map host names to addresses"),
    ],
)
def test_errors_name_the_line(text: str, line: int, fragment: str) -> None:
    with pytest.raises(InputError) as ei:
        parse_inventory(text, "bundle/inventory.yaml")
    assert (ei.value.path, ei.value.line) == ("bundle/inventory.yaml", line)
    assert fragment in str(ei.value) and "\n" not in str(ei.value)


def test_empty_file() -> None:
    with pytest.raises(InputError, match="empty file"):
        parse_inventory("# nothing\n", "inventory.yaml")
