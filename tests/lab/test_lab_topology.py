"""Topology file parsing and validation (pure: no daemons)."""

from __future__ import annotations

import ipaddress
import textwrap
from pathlib import Path

import pytest

from ovnguard.errors import InputError
from ovnguard.lab import load_topology, parse_topology, seed_topology
from ovnguard.lab.topology import host_names_for

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "topologies"

MINIMAL = """\
hosts:
  - name: h1
    bridges:
      - name: br-ex
        ports: [enp6s18]
    bridge_mappings: physnet1:br-ex
    management: {address: 10.0.0.5/24, interface: br-ex}
"""


def _error(text: str) -> InputError:
    with pytest.raises(InputError) as info:
        parse_topology(textwrap.dedent(text), "topo.yaml")
    return info.value


def test_seed_example_is_the_builtin_seed_topology() -> None:
    assert load_topology(EXAMPLES / "seed.yaml") == seed_topology(3)


def test_all_examples_load() -> None:
    files = sorted(EXAMPLES.glob("*.yaml"))
    assert len(files) >= 2
    for f in files:
        topo = load_topology(f)
        assert topo.hosts


def test_minimal_topology_defaults() -> None:
    topo = parse_topology(MINIMAL)
    h = topo.hosts[0]
    assert [b.name for b in h.bridges_with_integration()] == ["br-ex", "br-int"]
    assert h.management is not None
    assert h.management.effective_gateway == ipaddress.IPv4Address("10.0.0.1")
    assert topo.encap_ips() == {"h1": ipaddress.IPv4Address("127.0.0.2")}


def test_default_encap_ips_skip_explicit_ones() -> None:
    text = textwrap.dedent(
        """\
        hosts:
          - {name: a}
          - {name: b, encap_ip: 127.0.0.3}
          - {name: c}
        """
    )
    ips = parse_topology(text).encap_ips()
    assert {str(v) for v in ips.values()} == {"127.0.0.2", "127.0.0.3", "127.0.0.4"}
    assert str(ips["b"]) == "127.0.0.3"


def test_gateway_avoids_own_address() -> None:
    topo = parse_topology(MINIMAL.replace("10.0.0.5/24", "10.0.0.1/24"))
    mgmt = topo.hosts[0].management
    assert mgmt is not None
    assert str(mgmt.effective_gateway) == "10.0.0.2"


def test_yaml_syntax_error_names_file_and_line() -> None:
    err = _error(
        """\
        hosts:
          - name: h1
            bridges: [unclosed
        """
    )
    assert err.path == "topo.yaml"
    assert err.line is not None and err.line >= 3
    assert str(err).startswith("topo.yaml:")


def test_unknown_field_points_at_its_line() -> None:
    err = _error(
        """\
        hosts:
          - name: h1
            bridges:
              - name: br-ex
                prots: [enp6s18]
        """
    )
    assert err.line == 5  # the line of the unknown key itself
    assert "prots" in str(err)


def test_bad_address_points_at_its_line() -> None:
    err = _error(
        """\
        hosts:
          - name: h1
            bridges: [{name: br-ex, ports: [enp6s18]}]
            management:
              address: 10.0.0.300/24
              interface: br-ex
        """
    )
    assert err.line == 5
    assert "management.address" in str(err)


def test_management_interface_must_exist() -> None:
    err = _error(
        """\
        hosts:
          - name: h1
            bridges: [{name: br-ex, ports: [enp6s18]}]
            management: {address: 10.0.0.5/24, interface: eth9}
        """
    )
    assert err.line == 4
    assert "eth9" in str(err)


def test_management_on_a_nic_outside_ovs_is_fine() -> None:
    topo = parse_topology(
        textwrap.dedent(
            """\
            hosts:
              - name: h1
                nics: [enp6s18]
                bridges: [{name: br-ex, ports: [eth1]}]
                bridge_mappings: physnet1:br-ex
                management: {address: 10.0.0.5/24, interface: enp6s18}
            """
        )
    )
    assert topo.hosts[0].all_nics() == ["eth1", "enp6s18"]


def test_unknown_bound_host_points_at_its_line() -> None:
    err = _error(
        """\
        hosts:
          - name: compute1
        logical:
          switches:
            - name: sw
          ports:
            - switch: sw
              name: vm1
              bound_to: compute9
        """
    )
    assert err.line == 9
    assert "compute9" in str(err)


def test_duplicates_are_errors() -> None:
    err = _error(
        """\
        hosts:
          - name: a
          - name: a
        """
    )
    assert err.line == 3
    assert "duplicate host" in str(err)
    err = _error(
        """\
        hosts:
          - name: a
            bridges:
              - {name: br-ex, ports: [enp6s18]}
              - {name: br-pub, ports: [enp6s18]}
        """
    )
    assert "enp6s18" in str(err)


def test_gateway_chassis_must_be_a_host() -> None:
    err = _error(
        """\
        hosts:
          - name: network
        logical:
          switches: [{name: pub}]
          routers:
            - name: r1
              ports:
                - name: lrp-gw
                  mac: "fa:16:3e:00:00:01"
                  networks: [203.0.113.5/24]
                  switch: pub
                  gateway_chassis: [[netwrk, 1]]
        """
    )
    assert "netwrk" in str(err)
    assert err.line == 12


def test_managed_external_ids_are_rejected() -> None:
    err = _error(
        """\
        hosts:
          - name: a
            external_ids: {system-id: other}
        """
    )
    assert "system-id" in str(err)


def test_nat_logical_port_needs_mac() -> None:
    err = _error(
        """\
        hosts: [{name: a}]
        logical:
          routers:
            - name: r1
              nat:
                - type: dnat_and_snat
                  external_ip: 203.0.113.7
                  logical_ip: 10.0.0.7
                  logical_port: vm
        """
    )
    assert "external_mac" in str(err)


def test_top_level_must_be_a_mapping() -> None:
    err = _error("- just\n- a list\n")
    assert err.line == 1


def test_missing_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError) as info:
        load_topology(tmp_path / "nope.yaml")
    assert str(tmp_path / "nope.yaml") in str(info.value)


def test_default_host_names() -> None:
    assert host_names_for(1) == ["controller"]
    assert host_names_for(3) == ["controller", "network", "compute1"]
    assert host_names_for(5)[-1] == "compute3"
    with pytest.raises(InputError):
        host_names_for(0)


def test_large_seed_topology_has_unique_addresses() -> None:
    topo = seed_topology(250)
    addrs = [h.management.address for h in topo.hosts if h.management]
    assert len(set(addrs)) == 250
    assert len(set(topo.encap_ips().values())) == 250
