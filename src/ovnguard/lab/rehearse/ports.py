"""A chassis' ports as the lab's ovs-vsctl reports them, and the patch ports a change
added or removed.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import field

from ovnguard.lab.protocol import OvnLab
from ovnguard.model.ovs import (
    INTEGRATION_BRIDGE,
    LOCALNET_KEYS,
    NIC_TYPES,
    json_smap,
    json_tables,
    json_uuid,
    json_uuids,
    list_args,
)
from ovnguard.record import record
from ovnguard.simulation.mappings import KEY as MAPPINGS_KEY
from ovnguard.simulation.mappings import named_entries
from ovnguard.simulation.types import HostDelta, PatchPort

# --- a chassis' ports ------------------------------------------------------------------


@record
class LivePort:
    """A port as the running lab shows it (`ovs-vsctl` on the chassis), read without the
    model (model/ovs.py, model/host.py): the rehearsal is what holds the model honest, so it
    does not read the lab through it."""

    bridge: str
    name: str
    type: str  # of its (first) interface
    external_ids: Mapping[str, str] = field(default_factory=dict)  # the Port's

    @property
    def is_patch(self) -> bool:
        return self.type == "patch"

    @property
    def localnet(self) -> str | None:
        return next((self.external_ids[k] for k in LOCALNET_KEYS if k in self.external_ids),
                    None)

    @property
    def is_nic(self) -> bool:
        return self.type in NIC_TYPES


@record
class HostOvs:
    ports: tuple[LivePort, ...]
    external_ids: Mapping[str, str]  # of the Open_vSwitch row

    @property
    def integration_bridge(self) -> str:
        return self.external_ids.get("ovn-bridge") or INTEGRATION_BRIDGE

    def provider_bridges(self) -> list[str]:
        """Bridges in ovn-bridge-mappings and bridges holding a localnet patch port,
        except the integration bridge."""
        raw = self.external_ids.get(MAPPINGS_KEY)
        names = {bridge.strip() for _, bridge in named_entries(raw)}
        names |= {p.bridge for p in self.ports if p.localnet}
        present = {p.bridge for p in self.ports}
        return sorted(n for n in names if n in present and n != self.integration_bridge)


def read_host(lab: OvnLab, host: str) -> HostOvs:
    """Every port of every bridge of a chassis (the bridge's local port excluded), and the
    Open_vSwitch external_ids."""
    out = lab.vsctl(host, *list_args(("Bridge", "name,ports"),
                                     ("Port", "_uuid,name,interfaces,external_ids"),
                                     ("Interface", "_uuid,type"),
                                     ("Open_vSwitch", "external_ids")))
    bridges, ports, ifaces, root = json_tables(out)
    itype = {json_uuid(row[0]): row[1] for row in ifaces["data"]}
    port_rows = {json_uuid(row[0]): row for row in ports["data"]}
    result = []
    for br_name, port_set in bridges["data"]:
        for u in json_uuids(port_set):
            row = port_rows.get(u)
            if row is None or row[1] == br_name:
                continue
            _, name, iface_set, ext = row
            first = json_uuids(iface_set)
            typ = itype.get(first[0], "") if first else ""
            result.append(LivePort(br_name, name, typ, json_smap(ext)))
    ext_ids = json_smap(root["data"][0][0]) if root["data"] else {}
    return HostOvs(tuple(sorted(result, key=lambda p: (p.bridge, p.name))), ext_ids)


def bridge_ports(ports: Iterable[LivePort]) -> dict[str, tuple[str, ...]]:
    out: dict[str, list[str]] = {}
    for p in ports:
        out.setdefault(p.bridge, []).append(p.name)
    return {b: tuple(sorted(ps)) for b, ps in sorted(out.items())}


def patch_delta(
    before: Iterable[LivePort], after: Iterable[LivePort], recomputed: Iterable[LivePort] | None
) -> HostDelta:
    """Patch ports added / removed by the change, and those only a recompute removes."""
    b = {PatchPort(p.bridge, p.name) for p in before if p.is_patch}
    a = {PatchPort(p.bridge, p.name) for p in after if p.is_patch}
    stale: set[PatchPort] = set()
    if recomputed is not None:
        r = {PatchPort(p.bridge, p.name) for p in recomputed if p.is_patch}
        stale = (a & b) - r
    return HostDelta(
        added=tuple(sorted(a - b)), removed=tuple(sorted(b - a)), stale=tuple(sorted(stale))
    )






