"""Reading a bundle for planning: the bundle itself, plus each host's link MACs from
addr.json when link.json was not collected (`ip -j addr show` lists every link with its MAC
too, and pinning a bridge's MAC needs only that)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from ovnguard.model.snapshot import Snapshot
from ovnguard.sources.bundle import load_bundle
from ovnguard.sources.iproute import read_links


def load_for_plan(bundle: str | Path) -> Snapshot:
    snapshot = load_bundle(bundle)
    for state in list(snapshot.hosts.values()):
        addr = state.files.get("addr.json")
        if state.links is None and addr:
            # Same top-level keys per link (ifname, address, operstate, mtu); a malformed
            # file is an InputError naming it, as from the bundle reader.
            snapshot = snapshot.with_host(replace(state, links=read_links(addr)))
    return snapshot
