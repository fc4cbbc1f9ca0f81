"""What the control node alone knows, held against real ovn-controller: predictions made from
NB + SB only (a bundle without hosts/, some hosts without files, `check --live` with only
--nb/--sb) equal the patch ports real ovn-controller 23.03 has before and creates after the
change (`ovn-nbctl --wait=hv`)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from helpers.lab_check import Port, settle
from ovnguard.assess import assess
from ovnguard.change.parse import read_change
from ovnguard.cli.demo import example_dir
from ovnguard.lab import Lab, parse_topology, seed_topology
from ovnguard.lab.export import export_bundle
from ovnguard.model.snapshot import Snapshot
from ovnguard.report.schema import Report
from ovnguard.simulation import realize
from ovnguard.sources.bundle import load_bundle

pytestmark = pytest.mark.lab

CHANGE = example_dir() / "change-corrected.sh"
OVNGUARD = str(Path(sys.executable).parent / "ovnguard")


@pytest.fixture
def lab_dir(tmp_path: Path) -> Iterator[Path]:
    for b in ("ovsdb-server", "ovs-vswitchd", "ovn-northd", "ovn-controller", "ovsdb-client"):
        if shutil.which(b) is None:
            pytest.skip(f"{b} not installed")
    yield tmp_path / "lab"
    Lab.down_dir(tmp_path / "lab")


def variants(lab: Lab, work: Path, partial: tuple[str, ...]) -> dict[str, Snapshot]:
    """The lab exported, then read with every host's files removed and with `partial`'s."""
    full = export_bundle(lab, work / "full")
    out = {}
    for name, drop in (("none", None), ("some", partial)):
        b = work / name
        shutil.copytree(full, b)
        if drop is None:
            shutil.rmtree(b / "hosts")
        for h in drop or ():
            shutil.rmtree(b / "hosts" / h)
        out[name] = load_bundle(b)
    return out


def predicted_ports(snap: Snapshot) -> set[Port]:
    return {(h, p.bridge, p.port) for h, hr in realize(snap).hosts.items()
            for p in hr.patch_ports}


def added(r: Report) -> set[Port]:
    return {(h, p.bridge, p.port) for h, d in r.realization.items() for p in d.added}


def removed(r: Report) -> set[Port]:
    return {(h, p.bridge, p.port) for h, d in r.realization.items() for p in d.removed}


def live_check(lab: Lab, *extra: str) -> tuple[int, Report]:
    p = subprocess.run([OVNGUARD, "check", "--live", "--nb", lab.nb_remote, "--sb",
                        lab.sb_remote, "--format", "json", *extra],
                       capture_output=True, text=True, timeout=120)
    assert p.stderr == "", p.stderr
    return p.returncode, Report.model_validate(json.loads(p.stdout))


def test_incident_change_predicted_from_nb_and_sb_alone(lab_dir: Path, tmp_path: Path) -> None:
    lab = Lab.up(seed_topology(3), lab_dir)
    real0 = settle(lab)
    snaps = variants(lab, tmp_path / "before", ("compute1",))
    for name, snap in snaps.items():
        # What every chassis has now, predicted without its Open_vSwitch DB.
        assert predicted_ports(snap) == real0, name
    change = read_change(CHANGE)
    reports = {name: assess(s, change).report for name, s in snaps.items()}
    rc, reports["live"] = live_check(lab, "--change", str(CHANGE))
    assert rc == 1
    # One host read live (its own OVS socket), the other chassis from SB.
    rc, reports["live-some"] = live_check(lab, "--ovs", lab.host_paths("network").ovsdb.remote,
                                          "--change", str(CHANGE))
    assert rc == 1
    assert {h for h, t in reports["live-some"].topology.items() if t.known_from == "sb"} == {
        "compute1", "controller"}
    assert all(h.ovs is None for h in load_bundle(tmp_path / "before" / "none").hosts.values())

    # Now for real, each line its own transaction, as the operator typed them.
    for inv in change.invocations:
        assert inv.tool == "ovn-nbctl"
        lab.nbctl("--wait=hv", *inv.argv)
    real1 = settle(lab)
    real_added, real_removed = real1 - real0, real0 - real1
    assert real_added == {("compute1", "br-ex", "patch-ln-physnet2-to-br-int"),
                          ("compute1", "br-int", "patch-br-int-to-ln-physnet2")}
    for name, r in reports.items():
        assert (added(r), removed(r)) == (real_added, real_removed), name
        assert r.verdict == "dangerous", name
        (loop,) = [f for f in r.findings if f.rule == "l2-loop"]
        assert (loop.severity, loop.hosts) == ("critical", ["compute1"]), name
    # ovn-controller's own log line, predicted from SB alone.
    log = (lab_dir / "hosts" / "compute1" / "ovn-controller.log").read_text()
    assert "skipping the new port 'ln-physnet2'" in log

    # State only, after the fact: the armed duplicate is found from NB + SB, and what every
    # chassis now has is predicted.
    after = variants(lab, tmp_path / "after", ("controller",))
    for name, snap in after.items():
        assert predicted_ports(snap) == real1, name
        a = assess(snap)
        assert a.report.verdict == "dangerous", name
        (loop,) = [f for f in a.assessment.findings if f.rule == "l2-loop"]
        assert loop.status == "present" and "compute1" in loop.hosts, name
    rc, r = live_check(lab)
    assert (rc, r.verdict) == (1, "dangerous")


ROUTED = """
hosts:
  - {name: hv1, bridges: [{name: br-ex, ports: [eth1]}], bridge_mappings: "physnet2:br-ex"}
  - {name: hv2, bridges: [{name: br-ex, ports: [eth1]}], bridge_mappings: "physnet2:br-ex"}
  - {name: hv3, bridges: [{name: br-ex, ports: [eth1]}], bridge_mappings: "physnet2:br-ex"}
  - {name: hv4, bridges: [{name: br-ex, ports: [eth1]}], bridge_mappings: "physnet2:br-ex"}
logical:
  switches: [{name: public}, {name: private}]
  ports:
    - {switch: public, name: provnet-1, type: localnet, addresses: [unknown],
       options: {network_name: physnet2}}
    - {switch: private, name: vm1, addresses: ["fa:16:3e:00:00:20 192.168.100.20"],
       bound_to: hv1, iface: tapvm1}
  routers:
    - name: r1
      ports:
        - {name: lrp-pub, mac: "fa:16:3e:aa:00:01", networks: [203.0.113.5/24],
           switch: public, gateway_chassis: [[hv3, 2], [hv4, 1]]}
        - {name: lrp-priv, mac: "fa:16:3e:aa:00:02", networks: [192.168.100.1/24],
           switch: private}
      nat:
        - {type: snat, external_ip: 203.0.113.5, logical_ip: 192.168.100.0/24}
"""


def test_gateway_chassis_locality_from_sb_alone(lab_dir: Path, tmp_path: Path) -> None:
    # The provider switch is local only where r1's gateway port may be (hv3, hv4): SB's
    # chassisredirect binding and HA group say so without any host file.
    lab = Lab.up(parse_topology(ROUTED), lab_dir)
    real0 = settle(lab)
    assert {p[0] for p in real0} == {"hv3", "hv4"}
    snaps = variants(lab, tmp_path / "before", ("hv3",))
    for name, snap in snaps.items():
        assert predicted_ports(snap) == real0, name
    (tmp_path / "dup.sh").write_text(
        "ovn-nbctl lsp-add public ln-physnet2 -- lsp-set-type ln-physnet2 localnet "
        "-- lsp-set-options ln-physnet2 network_name=physnet2\n")
    change = read_change(tmp_path / "dup.sh")
    reports = {name: assess(s, change).report for name, s in snaps.items()}
    lab.nbctl("--wait=hv", *change.invocations[0].argv)
    real1 = settle(lab)
    assert {p[0] for p in real1 - real0} == {"hv3", "hv4"}
    for name, r in reports.items():
        assert (added(r), removed(r)) == (real1 - real0, real0 - real1), name
        (loop,) = [f for f in r.findings if f.rule == "l2-loop"]
        assert (loop.severity, loop.hosts) == ("critical", ["hv3", "hv4"]), name

    # A distributed floating IP makes the provider switch local on the VM's chassis too
    # (always-redirect is off): read back from NB + SB alone, the loop has reached hv1.
    lab.nbctl("--wait=hv", "lr-nat-add", "r1", "dnat_and_snat", "203.0.113.9",
              "192.168.100.20", "vm1", "fa:16:3e:00:00:99")
    real2 = settle(lab)
    assert {p[0] for p in real2 - real1} == {"hv1"}
    for name, snap in variants(lab, tmp_path / "fip", ("hv1",)).items():
        assert predicted_ports(snap) == real2, name
        (loop,) = [f for f in assess(snap).assessment.findings if f.rule == "l2-loop"]
        assert set(loop.hosts) >= {"hv1", "hv3", "hv4"}, name
