"""Which datapaths are local on a chassis, computed from indexes built once per predicted SB.

`add_local_datapath__()` (ovn v23.03.1 controller/local_data.c) walks from each datapath a
chassis binds through patch/l3gateway ports to their peers, as `need_add_peer_to_local()`
allows. Whether a link is followed depends on the chassis only for two kinds of link: an
`l3gateway` port (followed on its `l3gateway-chassis`) and a distributed gateway port whose
`cr-` port has `always-redirect` (followed on the members of its HA chassis group). Every
other link is followed everywhere (plain patch ports; gateway ports without
always-redirect) or nowhere (a `chassis-redirect-port` with no binding). So:

- `LinkIndex` classifies every link once and remembers, per chassis, the conditional links it
  may follow; a chassis with none (most of a large cloud) gets its local datapaths as the
  union of the memoized unconditional reach of each root; the others walk.
- The explanation of each local datapath (the chain of evidence `controller._closure()`
  builds) is only needed when a rule or the report reads it; `Lazy` computes it then.

The set of local datapaths is exactly the walk's (same links, same rule); only the order of
iteration differs (sorted instead of breadth first).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, KeysView, Mapping, Set
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from ovnguard.simulation.northd import PredictedSouthbound

K = TypeVar("K")
V = TypeVar("V")


class Lazy(Mapping[K, V]):
    """A mapping whose keys are known now and whose values are computed on first read."""

    __slots__ = ("_cache", "_keys", "_value")

    def __init__(self, keys: Iterable[K], value: Callable[[K], V]) -> None:
        self._keys = dict.fromkeys(keys)
        self._value = value
        self._cache: dict[K, V] = {}

    @classmethod
    def sharing(cls, keys: dict[K, None], value: Callable[[K], V]) -> Lazy[K, V]:
        """A Lazy over `keys` itself, not a copy (a Lazy never changes its keys): for key sets
        many mappings share (LinkIndex.shared)."""
        out = cls((), value)
        out._keys = keys
        return out

    def __getitem__(self, key: K) -> V:
        try:
            return self._cache[key]
        except KeyError:
            if key not in self._keys:
                raise
        v = self._cache[key] = self._value(key)
        return v

    def __contains__(self, key: object) -> bool:
        return key in self._keys

    def keys(self) -> KeysView[K]:
        # the dict's own view: set operations on it run in C (a what-if compares thousands of
        # local datapaths per host it re-predicts)
        return self._keys.keys()

    def __iter__(self) -> Iterator[K]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)

    def __repr__(self) -> str:
        return f"Lazy({dict(self)!r})"


class LinkIndex:
    """The link graph of one predicted SB, classified for need_add_peer_to_local()."""

    def __init__(self, psb: PredictedSouthbound) -> None:
        self.always: dict[str, list[str]] = {}  # datapath -> peer datapaths, on every chassis
        self.conditional: dict[str, list[tuple[str, str]]] = {}  # chassis -> (dp, peer dp)
        # Datapaths with a gateway port whose chassis-redirect port has no binding: walking
        # them logs a warning, so their hosts take the full walk (in its order).
        self.warns: set[str] = set()
        for dp, names in psb.links.items():
            for name in names:
                pb = psb.bindings[name]
                peer = psb.bindings[pb.options["peer"]].datapath
                if pb.type == "l3gateway":
                    ch = pb.options.get("l3gateway-chassis")
                    if ch is not None:
                        self.conditional.setdefault(ch, []).append((dp, peer))
                    continue
                crp = pb.options.get("chassis-redirect-port")
                cr = psb.bindings.get(crp) if crp is not None else None
                if crp is None or (cr is not None
                                   and cr.options.get("always-redirect") != "true"):
                    self.always.setdefault(dp, []).append(peer)
                elif cr is None:
                    self.warns.add(dp)
                else:
                    for ch in {m.chassis_name for m in cr.ha_chassis}:
                        self.conditional.setdefault(ch, []).append((dp, peer))
        self._reach: dict[str, frozenset[str]] = {}
        self._shared: dict[frozenset[str], tuple[dict[str, None], frozenset[str]]] = {}
        self._unions: dict[tuple[frozenset[str], frozenset[str]],
                           tuple[dict[str, None], frozenset[str]]] = {}

    def again(self, psb: PredictedSouthbound) -> LinkIndex:
        """The index of `psb`, a prediction with this one's links whose chassisredirect
        bindings may differ (a gateway port moved): built again, with this one's memos where
        they still hold -- the walks over links followed on every chassis when those links
        are the same, the shared sets always (they depend on nothing else)."""
        new = LinkIndex(psb)
        if new.always == self.always:
            new._reach = self._reach
        new._shared, new._unions = self._shared, self._unions
        return new

    def shared(self, found: Iterable[str]) -> tuple[dict[str, None], frozenset[str]]:
        """`found` in sorted order (as Lazy keys) and as a frozenset, one pair for every
        chassis with the same local datapaths. On a Neutron-shaped cloud every chassis that
        reaches the provider network reaches the same thousands (each router's gateway port
        sits on it): on the bench's 1,000 x 50 cloud 109 hosts share one set of 5,501, while
        each of the others has its own ~550 (892 distinct sets). When the walk still made
        nearly every chassis reach every datapath, two containers of all of them per chassis
        were the biggest part of a realization's memory (137 + 77 MiB). A frozenset
        `found` (`local` gives one of its memos where it can) is looked up as it is: its hash
        is kept, and the pair's own set is found by identity."""
        fs = found if isinstance(found, frozenset) else frozenset(found)
        got = self._shared.get(fs)
        if got is None:
            got = self._shared[fs] = (dict.fromkeys(sorted(fs)), fs)
        return got

    def union(self, base: frozenset[str], more: Set[str]) -> tuple[dict[str, None],
                                                                    frozenset[str]]:
        """`shared(base | more)`, remembered by the pair: the local datapaths of a chassis
        that kept a few datapaths the change left unreachable (`base`: a shared set of
        hundreds or thousands, whose hash and identity make the lookup O(1); `more`: a handful)."""
        key = (base, frozenset(more))
        got = self._unions.get(key)
        if got is None:
            got = self._unions[key] = self.shared(base | key[1])
        return got

    def reach(self, root: str) -> frozenset[str]:
        """Datapaths reachable from `root` over links followed on every chassis (memoized)."""
        got = self._reach.get(root)
        if got is None:
            seen = {root}
            stack = [root]
            while stack:
                for peer in self.always.get(stack.pop(), ()):
                    if peer not in seen:
                        seen.add(peer)
                        stack.append(peer)
            got = self._reach[root] = frozenset(seen)
        return got

    def local(self, roots: Iterable[str], chassis: str) -> Set[str] | None:
        """The datapaths local on `chassis` given the ones it binds (`roots`); None when the
        walk would log a warning (the caller walks, to keep the log lines in order). Where one
        root's reach holds all the others (most chassis of a Neutron-shaped cloud), that
        memo itself, not a copy. On a chassis with links of its own (a gateway chassis:
        hundreds), the memoized reaches of the peers those links lead to are added until
        none leads further -- the same closure as a walk over both kinds of link, without
        walking the thousands of datapaths the memos hold."""
        out: set[str] | frozenset[str] = frozenset()
        copied = False

        def add(r: str) -> None:
            nonlocal out, copied
            if not out:
                out = self.reach(r)
                return
            if not copied:
                out, copied = set(out), True
            out |= self.reach(r)

        for r in roots:
            if r not in out:
                add(r)
        extra = self.conditional.get(chassis)
        while extra:
            grown = False
            for dp, peer in extra:
                if dp in out and peer not in out:
                    add(peer)
                    grown = True
            if not grown:
                break
        if self.warns and not self.warns.isdisjoint(out):
            return None
        return out

