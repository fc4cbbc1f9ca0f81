"""The what-if engine held against real ovn-controller, on random clusters (hypothesis).

For each generated cluster and change: bring up a real lab (ovn-northd, NB/SB, one
ovsdb-server + ovs-vswitchd + ovn-controller per chassis), export a bundle, let
`ovnguard.assess` predict per host which patch ports ovn-controller adds and removes, then
run the same change lines with the real ovn-nbctl / ovs-vsctl against the lab, wait for
every chassis (`--wait=hv`), and compare with the ports that really appeared and vanished.

The examples are derandomized so CI sees the same 50 clusters every run; set
OVNGUARD_FIDELITY_EXAMPLES=500 and OVNGUARD_FIDELITY_RANDOM=1 to explore more by hand.
"""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from helpers.fidelity_clusters import NETWORK_NAMES, WEIGHTED_NAMES, Cluster, clusters, run_setup
from ovnguard.assess import assess
from ovnguard.change.parse import parse_change
from ovnguard.errors import LabError
from ovnguard.lab import Lab, parse_topology
from ovnguard.lab.export import export_bundle
from ovnguard.simulation.realize import realize
from ovnguard.sources.bundle import load_bundle

EXAMPLES = int(os.environ.get("OVNGUARD_FIDELITY_EXAMPLES", "50"))
RANDOM = os.environ.get("OVNGUARD_FIDELITY_RANDOM") == "1"
# pytest-timeout covers all examples of a test together: a lab example takes 1-5 s, more on
# a loaded machine.
pytestmark = [pytest.mark.lab, pytest.mark.timeout(max(900, 30 * EXAMPLES))]


@dataclass
class Scenario:
    cluster: Cluster
    change: str

    def __repr__(self) -> str:  # what hypothesis prints for a failing example
        return f"\n{self.cluster.dump()}--- change ---\n{self.change}"


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    c = draw(clusters())
    return Scenario(c, draw(_changes(c.hosts, c.switches, c.ports, c.routers)))


def _changes(hosts: list[str], switches: list[str], ports: list[dict[str, Any]],
             routers: list[dict[str, Any]]) -> st.SearchStrategy[str]:
    localnets = [p["name"] for p in ports if p.get("type") == "localnet"]
    bound = [p for p in ports if p.get("bound_to")]
    options: list[st.SearchStrategy[str]] = [
        # Add a localnet port (the seed's four lines).
        st.builds(
            lambda s, nn: (
                f"ovn-nbctl lsp-add {s} ln-new\n"
                "ovn-nbctl lsp-set-type ln-new localnet\n"
                f"ovn-nbctl lsp-set-options ln-new network_name={nn}\n"
                "ovn-nbctl lsp-set-addresses ln-new unknown\n"
            ),
            st.sampled_from(switches), st.sampled_from(WEIGHTED_NAMES),
        ),
        # Plug a new VM: NB port, then its VIF on one host's br-int.
        st.builds(
            lambda s, h: (
                f"ovn-nbctl lsp-add {s} vm-new -- lsp-set-addresses vm-new "
                "'fa:16:3e:99:99:99'\n"
                f"# host: {h}\n"
                "ovs-vsctl add-port br-int tap-new -- set interface tap-new type=internal "
                "external_ids:iface-id=vm-new\n"
            ),
            st.sampled_from(switches), st.sampled_from(hosts),
        ),
        # Remap a physnet on one host.
        st.builds(
            lambda h, m: f"# host: {h}\novs-vsctl set Open_vSwitch . "
                         f"external_ids:ovn-bridge-mappings={m}\n",
            st.sampled_from(hosts),
            st.sampled_from(["physnet2:br-ex", "physnet1:br-ex,physnet2:br-public",
                             "physnet2:br-public", "physnet1:br-public"]),
        ),
    ]
    if localnets:
        options.append(st.builds(lambda p: f"ovn-nbctl lsp-del {p}\n", st.sampled_from(localnets)))
        options.append(st.builds(
            lambda p, nn: f"ovn-nbctl lsp-set-options {p} network_name={nn}\n",
            st.sampled_from(localnets), st.sampled_from(NETWORK_NAMES)))
    if bound:
        # Unplug a VM (its VIF leaves the host's br-int): the patch ports it pulled in become
        # stale, kept until a recompute (docs/measurements.md).
        options.append(st.builds(
            lambda p: f"ovn-nbctl lsp-del {p['name']}\n", st.sampled_from(bound)))
    if routers:
        lrps = [rp["name"] for rp in routers[0]["ports"]]
        options.append(st.builds(
            lambda lrp, h, prio: f"ovn-nbctl lrp-set-gateway-chassis {lrp} {h} {prio}\n",
            st.sampled_from(lrps), st.sampled_from(hosts), st.integers(1, 20)))
    return st.one_of(options)


def _patch_ports(lab: Lab, host: str) -> set[tuple[str, str]]:
    return {
        (br, p)
        for br, ports in lab.chassis_ports(host).items()
        for p in ports
        if p.startswith("patch-")
    }


def _settled(lab: Lab, hosts: list[str]) -> dict[str, set[tuple[str, str]]]:
    """Ports once two reads 100 ms apart agree (ovn-controller finished its last loop)."""
    prev: dict[str, set[tuple[str, str]]] | None = None
    deadline = time.monotonic() + 5
    while True:
        cur = {h: _patch_ports(lab, h) for h in hosts}
        if cur == prev or time.monotonic() > deadline:
            return cur
        prev = cur
        time.sleep(0.1)


def _run_real(lab: Lab, change_text: str) -> None:
    change = parse_change(change_text, "change.sh")
    for inv in change.invocations:
        try:
            if inv.tool == "ovn-nbctl":
                # Each line seen by every chassis, as the prediction assumes (helpers.lab_check).
                lab.nbctl("--wait=hv", *inv.argv)
            elif inv.tool == "ovs-vsctl":
                assert inv.host is not None
                lab.vsctl(inv.host, *inv.argv)
        except LabError:
            pass  # refused by the real tool: exactly what the prediction must also say


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=not RANDOM,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    print_blob=True,
)
@given(sc=scenarios())
def test_predicted_realization_matches_real_ovn_controller(sc: Scenario) -> None:
    topo = parse_topology(yaml.safe_dump(sc.cluster.topology), "generated.yaml")
    hosts = sc.cluster.hosts
    with tempfile.TemporaryDirectory(prefix="ovng-fid-") as tmp:
        lab = Lab.up(topo, Path(tmp) / "lab")
        try:
            run_setup(lab, sc.cluster)
            lab.wait_hv()
            before = _settled(lab, hosts)
            bundle = export_bundle(lab, Path(tmp) / "bundle")
            snapshot = load_bundle(bundle)

            # The state: what the simulation says ovn-controller wants == what it made.
            wanted = realize(snapshot)
            for h in hosts:
                predicted = {(p.bridge, p.port) for p in wanted.hosts[h].patch_ports}
                assert predicted == before[h], f"state of {h}"

            whatif = assess(snapshot, parse_change(sc.change, "change.sh"))
            if whatif.change_result is not None and whatif.after is not None:
                # assess realizes the changed state incrementally (since=): it must equal
                # the state computed afresh, chains of evidence included.
                assert whatif.after == realize(whatif.change_result.snapshot)
            _run_real(lab, sc.change)
            lab.wait_hv()
            after = _settled(lab, hosts)
        finally:
            lab.down()

    event("state has patch ports" if any(before.values()) else "state has no patch port")
    if any(after[h] - before[h] for h in hosts):
        event("the change adds patch ports")
    if any(before[h] - after[h] for h in hosts):
        event("the change removes patch ports")
    if any(d.stale for d in whatif.deltas.values()):
        event("the change leaves stale patch ports")
    for h in hosts:
        d = whatif.deltas.get(h)
        added = {(p.bridge, p.port) for p in d.added} if d else set()
        removed = {(p.bridge, p.port) for p in d.removed} if d else set()
        stale = {(p.bridge, p.port) for p in d.stale} if d else set()
        assert added == after[h] - before[h], f"added on {h}"
        assert removed == before[h] - after[h], f"removed on {h}"
        # Stale ports are the ones real ovn-controller keeps until a recompute.
        assert stale <= after[h], f"stale on {h}"
        # And the JSON contract carries the same thing.
        out = whatif.report.realization.get(h)
        if out is not None:
            assert {(p.bridge, p.port) for p in out.added} == added
            assert {(p.bridge, p.port) for p in out.removed} == removed
