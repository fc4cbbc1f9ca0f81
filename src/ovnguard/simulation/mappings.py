"""`ovn-bridge-mappings` parsed exactly like ovn-controller 23.03 does.

Source: ovn v23.03.1 controller/patch.c `add_ovs_bridge_mappings()`:

    while ((cur = strsep(&next, ",")) && *cur) {
        network = strsep(&bridge, ":");            /* bridge = cur */
        if (!bridge || !*network || !*bridge) {
            VLOG_ERR("Invalid ovn-bridge-mappings configuration: '%s'", mappings_cfg);
            break;                                 /* every later entry is ignored */
        }
        if (!get_bridge(bridge_table, bridge)) {
            VLOG_WARN("Bridge '%s' not found for network '%s'", bridge, network);
            continue;
        }
        shash_add(bridge_mappings, network, ovs_bridge);
    }

Consequences reproduced here, several of them silent in the real daemon:
- only the first ':' splits, so "physnet1:br:ex" maps physnet1 to a bridge named "br:ex";
- no whitespace is trimmed: " physnet2:br-ex" maps the network " physnet2";
- an empty entry (",," or a trailing ",") ends the loop *without any log*, so everything
  after ",," is silently ignored;
- a malformed entry (no ':', empty network or bridge) logs ERR with the whole string and
  ends the loop: every later entry is ignored too;
- a network listed twice is added twice (`shash_add`, not `shash_add_once`); lookups
  (`shash_find_data`) then return whichever node comes first in the hash bucket, which
  depends on how often the hmap was resized -- emulated below from OVS 3.1 lib/hmap.c.

The value is read with `get_chassis_external_id_value()` (lib/ovn-util.c): the key
`ovn-bridge-mappings-<system-id>` wins over `ovn-bridge-mappings`.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from types import MappingProxyType

from ovnguard.record import record

KEY = "ovn-bridge-mappings"


@record(slots=True)
class MappingEntry:
    network: str
    bridge: str
    position: int  # 0-based index of the entry in the comma-separated list


@record(slots=True)
class MappingProblem:
    level: str  # "ERR" | "WARN" as ovn-controller logs it; "INFO" for silent ones
    message: str  # the real log line when `logged`, else a description
    entry: str  # the entry at fault
    ignored: tuple[str, ...] = ()  # entries that never take effect because of it
    logged: bool = True  # False: ovn-controller says nothing about it


@record
class BridgeMappings:
    raw: str | None  # None: key not set
    key: str  # which external_ids key held it
    entries: tuple[MappingEntry, ...]  # accepted entries (bridge exists), in order
    mappings: Mapping[str, str]  # network -> bridge that ovn-controller uses
    problems: tuple[MappingProblem, ...] = ()

    def bridge_for(self, network: str) -> str | None:
        return self.mappings.get(network)


def chassis_key(external_ids: Mapping[str, str], chassis_id: str | None, key: str) -> str:
    """The external_ids key ovn-controller reads for `key` (chassis-specific first)."""
    if chassis_id is not None and f"{key}-{chassis_id}" in external_ids:
        return f"{key}-{chassis_id}"
    return key


def parse_bridge_mappings(raw: str | None, bridges: Collection[str] | None,
                          key: str = KEY) -> BridgeMappings:
    """Parse like `add_ovs_bridge_mappings()`. `bridges` = names of existing OVS bridges;
    None when unknown (then every bridge is assumed to exist and no WARN is predicted)."""
    if not raw:
        return BridgeMappings(raw, key, (), MappingProxyType({}))
    tokens = raw.split(",")  # strsep(&next, ",") yields exactly these, in order
    accepted: list[MappingEntry] = []
    problems: list[MappingProblem] = []
    for i, cur in enumerate(tokens):
        later = tuple(t for t in tokens[i + 1 :] if t)
        if cur == "":
            if later:
                problems.append(MappingProblem(
                    "INFO",
                    f"empty entry in ovn-bridge-mappings '{raw}' ends parsing: "
                    f"{', '.join(repr(t) for t in later)} silently ignored",
                    "", later, logged=False))
            break
        network, sep, bridge = cur.partition(":")
        if not sep or not network or not bridge:
            problems.append(MappingProblem(
                "ERR", f"Invalid ovn-bridge-mappings configuration: '{raw}'", cur, later))
            break
        if bridges is not None and bridge not in bridges:
            problems.append(MappingProblem(
                "WARN", f"Bridge '{bridge}' not found for network '{network}'", cur))
            continue
        accepted.append(MappingEntry(network, bridge, i))
    effective = _shash_lookup_order(accepted)
    for network, winner in effective.items():
        dup = [e for e in accepted if e.network == network]
        if len(dup) > 1:
            problems.append(MappingProblem(
                "INFO",
                f"network '{network}' is mapped {len(dup)} times "
                f"({', '.join(e.bridge for e in dup)}); ovn-controller uses '{winner}'",
                network, logged=False))
    return BridgeMappings(
        raw, key, tuple(accepted), MappingProxyType(effective), tuple(problems)
    )


def _written(raw: str | None) -> Iterator[tuple[str, str, str]]:
    """Each non-empty entry of the text: (the entry as written, network, bridge), split on
    the first ':' and nothing trimmed, like `parse_bridge_mappings` splits it."""
    for entry in (raw or "").split(","):
        if entry:
            network, _, bridge = entry.partition(":")
            yield entry, network, bridge


def named_entries(raw: str | None) -> tuple[tuple[str, str], ...]:
    """Every (network, bridge) the text names, as written (split on the first ':', nothing
    trimmed), whether ovn-controller reads it or not: the entries after ",," or after an
    invalid one too. For what an operator wrote (suggestions, rewrites), never for what takes
    effect -- that is `parse_bridge_mappings`."""
    return tuple((network, bridge) for _, network, bridge in _written(raw))


def remapped(raw: str | None, network: str, bridge: str) -> str:
    """The text with `network` mapped to `bridge`, as a plan writes it: in the place of the
    first entry that names `network` (later ones dropped), else appended; every other entry
    kept exactly as written -- one without a ':' too, which `named_entries` cannot tell from
    one ending in ':' -- and the empty ones (",,") left out."""
    out: list[str] = []
    done = False
    for entry, name, _ in _written(raw):
        if name == network:
            if not done:
                out.append(f"{network}:{bridge}")
                done = True
            continue
        out.append(entry)
    if not done:
        out.append(f"{network}:{bridge}")
    return ",".join(out)


def _calc_mask(capacity: int) -> int:
    # OVS 3.1 lib/hmap.c calc_mask()
    mask = capacity // 2
    for shift in (1, 2, 4, 8, 16, 32):
        mask |= mask >> shift
    mask |= (mask & 1) << 1
    return mask


def _shash_lookup_order(entries: list[MappingEntry]) -> dict[str, str]:
    """Which bridge `shash_find_data(mappings, network)` returns for each network.

    Nodes with one key share one hash, so they sit in one bucket chain. hmap_insert_fast()
    pushes at the chain head; resize() walks each old chain head to tail pushing at the new
    head, which reverses the relative order of equal-key nodes. The lookup returns the first
    match in the chain.
    """
    chains: dict[str, list[str]] = {}
    mask = 0
    for n, e in enumerate(entries, start=1):
        chains.setdefault(e.network, []).insert(0, e.bridge)
        if n // 2 > mask:  # hmap_insert_at()
            new_mask = _calc_mask(n)
            if new_mask > mask:  # hmap_expand_at() -> resize()
                mask = new_mask
                for chain in chains.values():
                    chain.reverse()
    return {net: chain[0] for net, chain in chains.items()}
