"""A bridge's MAC, now and as ovs-vswitchd computes it (model/bridgemac.py), on the seed
bundle, whose br-ex shows a MAC (7a:56:...) other than the one the rule would give it."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import ovnguard
from ovnguard.model.bridgemac import RANDOM, current_mac, mac_to_pin, vswitchd_mac
from ovnguard.model.host import HostView
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
