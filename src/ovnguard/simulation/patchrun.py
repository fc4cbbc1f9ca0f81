"""patch.c `patch_run()` applied to one host's OVS state: which patch ports exist, which
ovn-controller creates, which it deletes, and when its transaction fails.

Source: ovn v23.03.1 controller/patch.c `patch_run()`, `create_patch_port()`,
`match_patch_port()`, `remove_port()`:
- ovn-controller's own ports are the br-int ports whose Port external_ids hold one of
  PATCH_KEYS (`existing_ports`); only those are ever deleted, each with its peer port
  (looked up by the name in the Interface's options:peer);
- a wanted port counts as present when its bridge has *any* patch interface whose
  options:peer names the wanted other end (whatever the port's own name);
- creations and deletions go into one OVSDB transaction. Port and Interface names are
  unique (vswitch schema indexes), so creating a name that another port keeps makes the
  whole transaction fail -- seen in the lab when a physnet's mapping moves to another bridge:
  the old provider-side port is not ovn-controller's (not on br-int) and is never deleted,
  the new one cannot be created, and ovn-controller retries forever
  (`ovsdb_idl|WARN|transaction error: ... constraint violation`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from ovnguard.record import record
from ovnguard.simulation.hostconfig import PATCH_KEYS, HostConfig
from ovnguard.simulation.types import PatchPort

Key = tuple[str, str]  # (bridge, port)


def patch_port_name(src: str, dst: str) -> str:
    """patch.c patch_port_name()."""
    return f"patch-{src}-to-{dst}"


class PatchPair(NamedTuple):
    """Both ends of what `add_bridge_mappings_by_type()` creates for one logical port.
    (A NamedTuple: large clouds make hundreds of thousands of these.)"""

    lport: str
    key: str  # external_ids key on both ports: ovn-localnet-port | ovn-l2gateway-port
    network: str
    br_int: str
    bridge: str  # the mapped (provider) bridge
    datapath: str  # NB uuid
    int_name: str = ""  # patch-<br-int>-to-<lport>, on br-int
    ext_name: str = ""  # patch-<lport>-to-<br-int>, on the provider bridge

    @staticmethod
    def make(lport: str, key: str, network: str, br_int: str, bridge: str,
             datapath: str) -> PatchPair:
        return PatchPair(lport, key, network, br_int, bridge, datapath,
                         patch_port_name(br_int, lport), patch_port_name(lport, br_int))

    def ports(self) -> tuple[PatchPort, PatchPort]:
        return (PatchPort(self.br_int, self.int_name, self.lport, self.network),
                PatchPort(self.bridge, self.ext_name, self.lport, self.network))


class OvsPatch(NamedTuple):
    bridge: str
    port: str
    peer: str | None  # Interface options:peer
    lport: str | None  # value of the PATCH_KEYS entry on the Port
    key: str | None


@record
class OvsState:
    patches: tuple[OvsPatch, ...]
    names: frozenset[str]  # every Port and Interface name (both unique in OVSDB)
    port_bridge: dict[str, str]  # port name -> bridge


def ovs_state(hc: HostConfig) -> OvsState:
    """The patch ports, port names and bridges of `hc`'s OVS DB. Made once per host
    configuration and remembered on it, as a `cached_property` is: the steps of a change
    and the predictions that read the same OVS DB share the configuration, and each step
    read it twice (thousands of hosts, at every step of a multi-line change). Read, never
    changed."""
    got: OvsState | None = hc.__dict__.get("_ovs_state")
    if got is None:
        got = hc.__dict__["_ovs_state"] = _read_ovs_state(hc)
    return got


def _read_ovs_state(hc: HostConfig) -> OvsState:
    patches = []
    for i in hc.interfaces:
        if i.type != "patch":
            continue
        key = next((k for k in PATCH_KEYS if k in i.port_external_ids), None)
        patches.append(OvsPatch(i.bridge, i.port, i.options.get("peer"),
                                i.port_external_ids[key] if key else None, key))
    names = {i.name for i in hc.interfaces} | {i.port for i in hc.interfaces}
    return OvsState(tuple(patches), frozenset(names), {i.port: i.bridge for i in hc.interfaces})


def synthetic_state(pairs: Iterable[PatchPair]) -> OvsState:
    """The state a host would be in if exactly `pairs` were realized (no OVS DB known)."""
    patches = []
    for p in pairs:
        patches.append(OvsPatch(p.br_int, p.int_name, p.ext_name, p.lport, p.key))
        patches.append(OvsPatch(p.bridge, p.ext_name, p.int_name, p.lport, p.key))
    return OvsState(tuple(patches), frozenset(x.port for x in patches),
                    {x.port: x.bridge for x in patches})


def ovn_ports(state: OvsState, br_int: str, pairs: Iterable[PatchPair]) -> dict[Key, OvsPatch]:
    """ovn-controller's patch ports in this state: keyed br-int ports, their peers, and any
    patch port that already plays the part of a wanted one (same bridge, same peer)."""
    by_name = {p.port: p for p in state.patches}
    out: dict[Key, OvsPatch] = {}
    for p in state.patches:
        if p.bridge == br_int and p.key is not None:
            out[(p.bridge, p.port)] = p
            peer = by_name.get(p.peer or "")
            if peer is not None:
                out[(peer.bridge, peer.port)] = peer
    index = _by_bridge_peer(state)
    for pair in pairs:
        for src, dst_name in ((pair.br_int, pair.ext_name), (pair.bridge, pair.int_name)):
            m = index.get((src, dst_name))
            if m is not None:
                out[(m.bridge, m.port)] = m
    return out


def _by_bridge_peer(state: OvsState) -> dict[tuple[str, str | None], OvsPatch]:
    """match_patch_port(): the first patch port on a bridge whose peer is a given name."""
    index: dict[tuple[str, str | None], OvsPatch] = {}
    for p in state.patches:
        index.setdefault((p.bridge, p.peer), p)
    return index


@record
class PatchRun:
    final: dict[Key, OvsPatch]  # ovn-controller's patch ports afterwards
    created: tuple[Key, ...]
    deleted: tuple[Key, ...]
    wanted: frozenset[Key]  # the ports (existing or to create) that realize the pairs
    # (bridge, name, bridge already holding that name): the transaction fails.
    conflicts: tuple[tuple[str, str, str], ...] = ()

    @property
    def changes(self) -> bool:
        return bool(self.created or self.deleted) and not self.conflicts


def patch_run(state: OvsState, br_int: str, pairs: Iterable[PatchPair]) -> PatchRun:
    pairs = list(pairs)
    existing = {p.port: p for p in state.patches if p.bridge == br_int and p.key is not None}
    created: list[Key] = []
    wanted: set[Key] = set()
    new: list[OvsPatch] = []
    index = _by_bridge_peer(state)
    for pair in pairs:
        for src, src_name, dst_name in ((pair.br_int, pair.int_name, pair.ext_name),
                                        (pair.bridge, pair.ext_name, pair.int_name)):
            match = index.get((src, dst_name))
            if match is not None:
                existing.pop(match.port, None)  # shash_find_and_delete(existing, name)
                wanted.add((match.bridge, match.port))
            else:
                created.append((src, src_name))
                wanted.add((src, src_name))
                new.append(OvsPatch(src, src_name, dst_name, pair.lport, pair.key))
    by_name = {p.port: p for p in state.patches}
    deleted: list[Key] = []
    for p in existing.values():
        peer = by_name.get(p.peer or "")
        if peer is not None:
            deleted.append((peer.bridge, peer.port))
        deleted.append((p.bridge, p.port))
    gone = {name for _, name in deleted}
    conflicts = tuple((b, n, state.port_bridge.get(n, "?")) for b, n in created
                      if n in state.names and n not in gone)
    final = ovn_ports(state, br_int, pairs)
    if conflicts:
        return PatchRun(final, tuple(created), tuple(deleted), frozenset(wanted), conflicts)
    for d in deleted:
        final.pop(d, None)
    for n in new:
        final[(n.bridge, n.port)] = n
    return PatchRun(final, tuple(created), tuple(deleted), frozenset(wanted))


def may_conflict(state: OvsState, pairs: Iterable[PatchPair]) -> bool:
    """Cheap pre-check for patch_run(): is any port to create named like an existing one?"""
    index = _by_bridge_peer(state)
    for pair in pairs:
        if (pair.br_int, pair.ext_name) not in index and pair.int_name in state.names:
            return True
        if (pair.bridge, pair.int_name) not in index and pair.ext_name in state.names:
            return True
    return False


def conflict_message(name: str) -> str:
    """The start of what ovsdb_idl logs (WARN) when the transaction fails; the rest names
    row uuids that only exist at run time."""
    return ('transaction error: {"details":"Transaction causes multiple rows in \\"Port\\" '
            f'table to have identical values ({name}) for index on column \\"name\\".')
