"""Host-state files (change/hoststate.py, netplan.py, nmstate.py): netplan through the
installed `netplan generate`, nmstate by its schema, both through the same what-if."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import ovnguard
from ovnguard.assess import assess
from ovnguard.change.hoststate import read_host_state, with_host_state
from ovnguard.errors import InputError
from ovnguard.model.snapshot import Snapshot
from ovnguard.report.schema import Report
from ovnguard.sources.bundle import load_bundle

SEED = Path(ovnguard.__file__).parent / "examples" / "seed" / "bundle"


@pytest.fixture(scope="module")
def seed() -> Snapshot:
    return load_bundle(SEED)


def introduced(report: Report, rule: str) -> list:  # type: ignore[type-arg]
    return [f for f in report.findings if f.rule == rule and f.introduced_by_change]


# --------------------------------------------------------------------------- host-state files

NETPLAN = """network:
  version: 2
  renderer: networkd
  ethernets:
    enp6s18:
      addresses: [10.10.0.23/24]
      routes:
        - to: default
          via: 10.10.0.1
  bridges:
    br-ex:
      interfaces: []
      openvswitch:
        other-config:
          hwaddr: "bc:24:11:d8:07:71"
"""

needs_netplan = pytest.mark.skipif(shutil.which("netplan") is None and
                                   not Path("/usr/sbin/netplan").exists(),
                                   reason="netplan (netplan.io) is not installed")


@needs_netplan
def test_netplan_file_through_netplan_generate(tmp_path: Path, seed: Snapshot) -> None:
    f = tmp_path / "50-cloud.yaml"
    f.write_text(NETPLAN)
    d = read_host_state(f)
    assert d.kind == "netplan"
    links = {link.name: link for link in d.links}
    assert links["enp6s18"].addresses == (("10.10.0.23", 24, "inet"),)
    assert links["enp6s18"].line == 5 and links["br-ex"].addresses == ()
    (default,) = links["enp6s18"].routes
    assert (default[0].dst, default[0].gateway) == ("default", "10.10.0.1")
    assert (("set", "Bridge", "br-ex", "other-config:hwaddr=bc:24:11:d8:07:71"), 11) in d.ovs
    # enp6s18 stays a port of br-ex (netplan only adds ports), so its address is dead there:
    # the whole file is one step, named by the line that leaves the address on enp6s18
    report = assess(seed, with_host_state(None, "compute1", d, seed)).report
    assert report.verdict == "dangerous"
    (cut,) = introduced(report, "host-cut-off")
    assert "port of OVS bridge br-ex" in cut.summary
    assert introduced(report, "ip-on-ovs-port")
    pinned = seed.hosts["compute1"]
    after = assess(seed, with_host_state(None, "compute1", d, seed)).change_result
    assert after is not None and pinned is not after.snapshot.hosts["compute1"]


@needs_netplan
def test_netplan_errors_name_file_and_line(tmp_path: Path) -> None:
    f = tmp_path / "bad.yaml"
    f.write_text("network:\n  version: 2\n  ethernets:\n    eth0:\n      addresses: [nonsense]\n")
    with pytest.raises(InputError) as e:
        read_host_state(f)
    assert e.value.line == 5 and "netplan" in str(e.value)


NMSTATE = """interfaces:
- name: br-ex
  type: ovs-interface
  state: up
  ipv4:
    enabled: false
- name: br-public
  type: ovs-bridge
  state: up
  bridge:
    port:
    - name: enp7s0
    - name: br-public
- name: enp6s18
  type: ethernet
  state: up
  ipv4:
    enabled: true
    dhcp: false
    address:
    - ip: 10.10.0.23
      prefix-length: 24
- name: eth5
  type: ethernet
  ipv4:
    dhcp: true
dns-resolver:
  config: {}
routes:
  config:
  - destination: 0.0.0.0/0
    next-hop-address: 10.10.0.1
    next-hop-interface: enp6s18
  - destination: 0.0.0.0/0
    next-hop-address: 10.10.0.1
    next-hop-interface: br-ex
    state: absent
"""


def test_nmstate_file(tmp_path: Path, seed: Snapshot) -> None:
    f = tmp_path / "nncp.yaml"
    f.write_text(NMSTATE)
    d = read_host_state(f)
    assert d.kind == "nmstate"
    assert (("--may-exist", "add-br", "br-public"), 7) in d.ovs
    assert (("--may-exist", "add-port", "br-public", "enp7s0"), 7) in d.ovs
    links = {link.name: link for link in d.links}
    assert links["br-ex"].addresses == () and "inet" in links["br-ex"].families
    assert links["enp6s18"].addresses == (("10.10.0.23", 24, "inet"),)
    assert links["enp6s18"].routes[0][0].gateway == "10.10.0.1"
    assert links["br-ex"].absent_routes[0][1] == 34
    assert "DHCP" in (links["eth5"].unknown or "").upper()
    assert any(line == 27 and "dns-resolver" in what for line, what in d.unknown)
    ch = with_host_state(None, "compute1", d, seed)
    report = assess(seed, ch).report
    # enp6s18 is still br-ex's port: the address put on it is dead, br-ex's is gone
    (cut,) = introduced(report, "host-cut-off")
    assert cut.hosts == ["compute1"]
    unknown = [f.summary for f in report.findings if f.rule == "unsupported-command"]
    assert any("dhcp" in u for u in unknown) and any("dns-resolver" in u for u in unknown)
    # eth5 is no device of compute1: creating links is not modelled, never "rejected"
    assert any("eth5 is not a device of compute1" in u for u in unknown)
    assert not [f for f in report.findings if f.rule == "change-rejected"]


def test_nmstate_errors_name_file_and_line(tmp_path: Path) -> None:
    f = tmp_path / "bad.yaml"
    f.write_text("interfaces:\n- name: eth0\n  ipv4:\n    address:\n    - ip: 10.0.0.300\n"
                 "      prefix-length: 24\n")
    with pytest.raises(InputError) as e:
        read_host_state(f)
    assert e.value.line == 5
    f.write_text("just: text\n")
    with pytest.raises(InputError):
        read_host_state(f)
