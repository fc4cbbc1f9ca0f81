"""The simulation's contract -- snapshot in, realization out -- held against real
ovn-controller 23.03 for the changes that move locality: NAT (SNAT, centralized and
distributed floating IPs), HA chassis groups and gateway chassis on the gateway port, VLAN
localnets, localports, external ports, l2gateway ports.

For each random cluster (fidelity_clusters) and change: bring up a real lab, export the
state S0, run each change command with the real ovn-nbctl (each its own transaction,
`--wait=hv`), back up NB after each, and let the real daemons settle. The prediction is
`realization_steps` over [S0, S0 with NB after command 1, ...] -- what a change engine would
produce, whoever applied the commands -- held against the patch ports that really appeared
and vanished; stale ones must be exactly those real ovn-controller keeps but no longer
wants. Then every chassis recomputes and `realize` of the exported final state must equal
what each one has.

Derandomized in CI; OVNGUARD_FIDELITY_EXAMPLES=200 OVNGUARD_FIDELITY_RANDOM=1 by hand.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from helpers.fidelity_clusters import (
    HOSTS,
    NETWORK_NAMES,
    Argv,
    Cluster,
    clusters,
    resolve,
    run_setup,
)
from helpers.lab_check import LabCheck, settle
from ovnguard.lab import Lab, parse_topology
from ovnguard.simulation import realize

EXAMPLES = int(os.environ.get("OVNGUARD_FIDELITY_EXAMPLES", "25"))
RANDOM = os.environ.get("OVNGUARD_FIDELITY_RANDOM") == "1"
# pytest-timeout covers all examples of a test together: a lab example takes 1-5 s, more on
# a loaded machine.
pytestmark = [pytest.mark.lab, pytest.mark.timeout(max(900, 30 * EXAMPLES))]


@dataclass
class Scenario:
    cluster: Cluster
    steps: list[Argv]

    def __repr__(self) -> str:
        change = "".join(f"ovn-nbctl {' '.join(a)}\n" for a in self.steps)
        return f"\n{self.cluster.dump()}--- change (one transaction a line) ---\n{change}"


def _step_choices(c: Cluster) -> list[st.SearchStrategy[list[Argv]]]:
    host = st.sampled_from(c.hosts)
    prio = st.integers(1, 30).map(str)
    out: list[st.SearchStrategy[list[Argv]]] = [
        # A VLAN provider network as Neutron creates it: one transaction.
        st.builds(lambda s, nn, tag: [[
            "lsp-add", s, "ln-vlan", "--", "lsp-set-type", "ln-vlan", "localnet", "--",
            "lsp-set-addresses", "ln-vlan", "unknown", "--", "lsp-set-options", "ln-vlan",
            f"network_name={nn}", "--", "set", "Logical_Switch_Port", "ln-vlan", f"tag={tag}"]],
            st.sampled_from(c.switches), st.sampled_from(NETWORK_NAMES), st.integers(1, 4094)),
        # An l2gateway port bridging a switch onto a physnet on one chassis.
        st.builds(lambda s, nn, h: [[
            "lsp-add", s, "l2gw", "--", "lsp-set-type", "l2gw", "l2gateway", "--",
            "lsp-set-options", "l2gw", f"network_name={nn}", f"l2gateway-chassis={h}"]],
            st.sampled_from(c.switches), st.sampled_from(NETWORK_NAMES), host),
        # A new external port and its HA chassis group (ha-chassis-group-add has no
        # --may-exist: refused when the group exists, and the next lines use that one).
        st.builds(lambda s, h, p: [
            ["ha-chassis-group-add", "hg-ext"],
            ["ha-chassis-group-add-chassis", "hg-ext", h, p],
            ["lsp-add", s, "ext-new", "--", "lsp-set-type", "ext-new", "external", "--",
             "set", "Logical_Switch_Port", "ext-new", "ha_chassis_group=@hg:hg-ext"]],
            st.sampled_from(c.switches), host, prio),
        # A new localport (Neutron's metadata port; no interface yet).
        st.builds(lambda s: [["lsp-add", s, "meta-new", "--", "lsp-set-type", "meta-new",
                              "localport"]], st.sampled_from(c.switches)),
    ]
    if c.localnets:
        ln = st.sampled_from(c.localnets)
        out.append(st.builds(lambda p, t: [["set", "Logical_Switch_Port", p, f"tag={t}"]],
                             ln, st.integers(1, 4094)))
        out.append(st.builds(lambda p: [["clear", "Logical_Switch_Port", p, "tag"]], ln))
    if c.bound:
        # A VM port turned into a localport, or into an external port: its VIF no longer
        # makes the switch local.
        out.append(st.builds(lambda p, t: [["lsp-set-type", p, t]],
                             st.sampled_from(c.bound), st.sampled_from(["localport", "external"])))
    if c.localports:
        out.append(st.builds(lambda p: [["lsp-set-type", p, ""]], st.sampled_from(c.localports)))
    if c.externals:
        out.append(st.builds(lambda p: [["lsp-del", p]], st.sampled_from(c.externals)))
    for g in c.groups:
        out.append(st.builds(lambda h, p, g=g: [["ha-chassis-group-add-chassis", g, h, p]],
                             host, prio))
        out.append(st.builds(lambda h, g=g: [["ha-chassis-group-remove-chassis", g, h]], host))
    if c.routers:
        gw = c.lrps[0]
        out += [
            st.builds(lambda h, p: [["lrp-set-gateway-chassis", gw, h, p]], host, prio),
            st.builds(lambda h: [["lrp-del-gateway-chassis", gw, h]], host),
            # Move the gateway port to an HA chassis group (Neutron's newer way) or off it.
            st.builds(lambda h, p: [
                ["ha-chassis-group-add", "hg-new"],
                ["ha-chassis-group-add-chassis", "hg-new", h, p],
                ["set", "Logical_Router_Port", gw, "ha_chassis_group=@hg:hg-new"]], host, prio),
            st.just([["clear", "Logical_Router_Port", gw, "ha_chassis_group"]]),
            # SNAT only: the provider switch stays local on the gateway chassis only.
            st.builds(lambda k: [["lr-nat-add", "r0", "snat", f"172.24.4.{k}",
                                  "192.168.0.0/16"]], st.integers(200, 201)),
            # A centralized floating IP (no logical_port): changes nothing about locality.
            st.builds(lambda k: [["lr-nat-add", "r0", "dnat_and_snat", f"172.24.4.{k}",
                                  "192.168.1.77"]], st.integers(210, 211)),
            st.just([["lr-nat-del", "r0"]]),
        ]
        if c.routed_vms:
            # A distributed floating IP: the provider switch becomes local wherever r0 is.
            out.append(st.builds(lambda vm, k: [[
                "lr-nat-add", "r0", "dnat_and_snat", f"172.24.4.{k}",
                f"192.168.{vm[1]}.{10 + int(vm[0][-1])}", vm[0], f"fa:16:3e:cc:00:{k - 200:02x}"]],
                st.sampled_from(c.routed_vms), st.integers(220, 221)))
        if c.nat_ips:
            out.append(st.builds(lambda ip: [["lr-nat-del", "r0", "dnat_and_snat", ip]],
                                 st.sampled_from(c.nat_ips)))
            out.append(st.builds(lambda ip: [["lr-nat-del", "r0", "snat", ip]],
                                 st.sampled_from(c.nat_ips)))
    return out


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    c = draw(clusters())
    choices = _step_choices(c)
    steps: list[Argv] = []
    for _ in range(draw(st.sampled_from([1, 1, 2]))):
        steps += draw(st.one_of(choices))
    return Scenario(c, steps)


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=not RANDOM,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    print_blob=True,
)
@given(sc=scenarios())
def test_locality_changes_match_real_ovn_controller(sc: Scenario) -> None:
    assert set(sc.cluster.hosts) <= set(HOSTS)
    topo = parse_topology(yaml.safe_dump(sc.cluster.topology), "generated.yaml")
    with tempfile.TemporaryDirectory(prefix="ovng-loc-") as tmp:
        lab = Lab.up(topo, Path(tmp) / "lab")
        try:
            run_setup(lab, sc.cluster)
            chk = LabCheck(lab, Path(tmp) / "work")
            before = settle(lab)
            wanted0 = realize(chk.snapshot())
            assert {(h, p.bridge, p.port) for h, hr in wanted0.hosts.items()
                    for p in hr.patch_ports} == before, "state before the change"
            out = chk.step(nb=sc.steps, refusals_ok=True, resolve=lambda a: resolve(lab, a))
            for h in sc.cluster.hosts:
                lab.appctl_controller(h, "recompute")
            after_recompute = settle(lab)
            final = realize(chk.snapshot())
        finally:
            lab.down()

    event("state has patch ports" if before else "state has no patch port")
    event(f"{len(out.refused)} of {len(sc.steps)} commands refused")
    if out.real_added:
        event("the change adds patch ports")
    if out.real_removed:
        event("the change removes patch ports")
    if out.pred_stale:
        event("the change leaves stale patch ports")
    out.assert_matches()
    assert {(h, p.bridge, p.port) for h, hr in final.hosts.items()
            for p in hr.patch_ports} == after_recompute, "state after a recompute"
