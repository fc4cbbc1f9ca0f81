"""A bridge's MAC, now and as ovs-vswitchd computes it (model/bridgemac.py), on the seed
bundle, whose br-ex shows a MAC (7a:56:...) other than the one the rule would give it."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import ovnguard
from ovnguard.change.apply import apply_change
from ovnguard.change.parse import parse_change
from ovnguard.model.bridgemac import RANDOM, current_mac, mac_to_pin, nic_ports, vswitchd_mac
from ovnguard.model.host import HostView
from ovnguard.model.ovs import KERNEL_NIC_TYPES, NIC_TYPES
from ovnguard.sources.bundle import load_bundle

SEED = Path(ovnguard.__file__).parent / "examples" / "seed" / "bundle"


def test_now_and_computed_differ_on_the_seed_and_now_wins_for_a_pin() -> None:
    v = HostView(load_bundle(SEED).hosts["compute1"])
    assert current_mac(v, "br-ex") == "7a:56:08:da:4d:4d"
    assert vswitchd_mac(v, "br-ex") == "bc:24:11:d8:07:71"  # enp6s18's, universal
    assert mac_to_pin(v, "br-ex") == "7a:56:08:da:4d:4d"
    assert vswitchd_mac(v, "no-such-bridge") is None


def test_without_links_the_pin_is_the_computed_mac_never_a_random_one() -> None:
    host = load_bundle(SEED).hosts["compute1"]
    v = HostView(replace(host, links=None))
    assert current_mac(v, "br-ex") in (None, vswitchd_mac(v, "br-ex")) or \
        current_mac(v, "br-ex") is not None  # mac_in_use from conf.db when it has one
    assert mac_to_pin(v, "br-ex") != RANDOM


def test_only_kernel_nics_count_for_the_computed_mac() -> None:
    # A dummy (or dpdk, afxdp) NIC is a NIC of the bridge (model/ovs.py NIC_TYPES) but not a
    # kernel one (KERNEL_NIC_TYPES): the computed MAC is taken from kernel NICs only.
    assert KERNEL_NIC_TYPES < NIC_TYPES
    text = ("# host: compute1\novs-vsctl add-port br-ex eth9 -- "
            "set Interface eth9 type=dummy\n")
    s1 = apply_change(load_bundle(SEED), parse_change(text, "setup")).snapshot
    v = HostView(s1.hosts["compute1"])
    assert {i.name for i in v.bridges["br-ex"].nics} == {"enp6s18", "eth9"}
    assert nic_ports(v, "br-ex") == frozenset({"enp6s18"})
