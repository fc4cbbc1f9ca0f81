"""Every inventory form on the shipped seed bundle gives the same verdict, findings and
realization as its own inventory.yaml; an inventory that cannot be used is a note, never
the end of the check."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ovnguard.assess import assess
from ovnguard.change.parse import read_change
from ovnguard.cli.demo import example_dir
from ovnguard.sources.bundle import load_bundle

EX = example_dir()
OVNGUARD = str(Path(sys.executable).parent / "ovnguard")
ADDRESSES = {"controller": "10.10.0.21", "network": "10.10.0.22", "compute1": "10.10.0.23"}

FORMS: dict[str, dict[str, str]] = {
    "flat": {"inventory.yaml": "controller: 10.10.0.21\nnetwork: 10.10.0.22\n"
                               "compute1: 10.10.0.23\n"},
    "ansible-yaml": {
        "inventory.yml": (
            "all:\n  vars:\n    ansible_user: root\n  children:\n"
            "    control:\n      hosts:\n        controller: {ansible_host: 10.10.0.21}\n"
            "    network:\n      hosts:\n        network:\n          ansible_host: 10.10.0.22\n"
            "    compute:\n      hosts:\n        compute1:\n"),
        "host_vars/compute1.yml": "ansible_host: 10.10.0.23\n",
    },
    "kolla-multinode": {
        "inventory": (
            "[control]\ncontroller ansible_host=10.10.0.21\n\n[network]\n"
            "network ansible_host=10.10.0.22\n\n[compute]\ncompute1\n\n[deployment]\n"
            "localhost ansible_connection=local\n\n[baremetal:children]\ncontrol\nnetwork\n"
            "compute\n\n[ovn-controller:children]\ncompute\nnetwork\n\n[all:vars]\n"
            "ansible_become=true\n"),
        "host_vars/compute1": "ansible_host: 10.10.0.23\n",
    },
    "ansible-ini": {"inventory.ini": "controller ansible_host=10.10.0.21\n"
                                     "network ansible_host=10.10.0.22\n"
                                     "compute1 ansible_host=10.10.0.23 ansible_port=22\n"},
    "ansible-json": {"inventory": json.dumps({
        "_meta": {"hostvars": {h: {"ansible_host": a} for h, a in ADDRESSES.items()}},
        "all": {"children": ["ungrouped"]},
        "ungrouped": {"hosts": list(ADDRESSES)}})},
    "openstack-ansible": {"inventory.yml": (
        "cidr_networks:\n  management: 10.10.0.0/24\n"
        "shared-infra_hosts:\n  controller: {ip: 10.10.0.21}\n"
        "network_hosts:\n  controller: {ip: 10.10.0.21}\n  network: {ip: 10.10.0.22}\n"
        "compute_hosts:\n  compute1: {ip: 10.10.0.23}\n")},
}


def with_inventory(tmp: Path, files: dict[str, str]) -> Path:
    b = tmp / "bundle"
    shutil.copytree(EX / "bundle", b)
    (b / "inventory.yaml").unlink()
    for rel, text in files.items():
        (b / rel).parent.mkdir(parents=True, exist_ok=True)
        (b / rel).write_text(text)
    return b


def judged(bundle: Path, change: Path | None) -> dict[str, Any]:
    snap = load_bundle(bundle)
    report = assess(snap, read_change(change) if change else None).report
    return {
        "verdict": report.verdict,
        "findings": sorted((f.rule, f.severity, tuple(f.hosts), f.status)
                           for f in report.findings),
        "realization": {h: d.model_dump() for h, d in report.realization.items()},
        "addresses": {h: s.inventory_address for h, s in snap.hosts.items()},
        "notes": [n for n in report.notes if "inventory" not in n],
    }


@pytest.mark.parametrize("change", [None, EX / "change-corrected.sh"],
                         ids=["state", "incident-change"])
@pytest.mark.parametrize("form", list(FORMS))
def test_every_form_judges_the_seed_bundle_the_same(tmp_path: Path, form: str,
                                                    change: Path | None) -> None:
    baseline = judged(EX / "bundle", change)
    assert baseline["addresses"] == ADDRESSES
    got = judged(with_inventory(tmp_path, FORMS[form]), change)
    assert got == baseline


def test_flat_map_through_the_cli_was_exit_2_now_judged(tmp_path: Path) -> None:
    b = with_inventory(tmp_path, FORMS["flat"])
    p = subprocess.run([OVNGUARD, "check", "--bundle", str(b), "--change",
                        str(EX / "change-corrected.sh"), "--format", "json"],
                       capture_output=True, text=True, timeout=120)
    assert (p.returncode, p.stderr) == (1, "")
    assert json.loads(p.stdout)["verdict"] == "dangerous"


@pytest.mark.parametrize(
    ("files", "note"),
    [
        ({"inventory.yaml": "controller: [\n"},
         "inventory.yaml not used (inventory.yaml:2: not valid YAML"),
        ({"inventory": "[compute]\ncompute1 ansible_host\n"},
         "inventory not used (inventory:2: expected key=value after the host name"),
        ({"inventory.yml": "all:\n  hosts:\n    compute1:\n", "host_vars/compute1.yml": "- x\n"},
         "inventory.yml not used (host_vars/compute1.yml:1: a vars file must map"),
    ],
)
def test_unusable_inventory_is_a_note_and_the_check_goes_on(
        tmp_path: Path, files: dict[str, str], note: str) -> None:
    b = with_inventory(tmp_path, files)
    p = subprocess.run([OVNGUARD, "check", "--bundle", str(b), "--change",
                        str(EX / "change-corrected.sh"), "--format", "json"],
                       capture_output=True, text=True, timeout=120)
    assert p.stderr == "" and p.returncode == 1
    report = json.loads(p.stdout)
    assert report["verdict"] == "dangerous"
    assert any(n.startswith(note) and "management address of each host is not known" in n
               for n in report["notes"]), report["notes"]


def test_dns_names_are_not_resolved_and_the_notes_say_so(tmp_path: Path) -> None:
    b = with_inventory(tmp_path, {"inventory": "[all]\ncontroller\nnetwork\n"
                                                "compute1 ansible_host=cmp1.cloud.example\n"})
    snap = load_bundle(b)
    assert {h: s.inventory_address for h, s in snap.hosts.items()} == dict.fromkeys(ADDRESSES)
    named = [n for n in snap.notes if "DNS name" in n]
    assert named == ["inventory gives a DNS name, not an address, for controller, network, "
                     "compute1 (cmp1.cloud.example): names are not resolved when checking a "
                     "bundle, so the management address is taken from the host's routes "
                     "(`ovnguard collect` records the address it reached)"]
    assert not [n for n in snap.notes if "has no address for" in n]
    # the management addresses the routes give are the inventory's own
    report = assess(snap, read_change(EX / "change-corrected.sh")).report
    assert report.verdict == "dangerous"
