"""`realize(snapshot)`: what ovn-controller 23.03 realizes on every host, and
`realization_delta(...)`: what changes on each host when a change lands.

The delta compares real state with real state: the patch ports a host has *now* (its
Open_vSwitch DB; ovn-controller's are the br-int ports carrying external_ids
`ovn-localnet-port` / `ovn-l2gateway-port`, and their peers) against what it will have once
ovn-controller has reacted to the change. How it reacts depends on how it processes the
change (ovn v23.03.1 controller/ovn-controller.c engine, controller/binding.c):

- `patch_run()` runs on every main-loop iteration over the current `local_datapaths` and
  deletes at once any patch port whose logical port, network mapping or bridge is gone;
- `local_datapaths` only grow incrementally; they are rebuilt (and so shrink) only by a
  full recompute of the runtime_data engine node. Without one, a datapath that stopped being
  local keeps its patch ports: they are *stale* (docs/measurements.md: "stays until a full
  recompute").
- A full recompute happens when the runtime_data node gets an input change it has no
  handler for, or whose handler gives up: the host's Open_vSwitch external_ids
  (`en_ovs_open_vswitch`, no handler), any SB Chassis row (`en_sb_chassis`, no handler --
  so one host's ovn-bridge-mappings change makes every chassis recompute), a non-VIF OVS
  Interface added/removed/changed (binding_handle_ovs_interface_changes() returns false for
  patch/tunnel interfaces -- including the patch ports ovn-controller itself just created or
  deleted), or a deleted SB datapath that was local (runtime_data_sb_datapath_binding_handler).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import field
from functools import cached_property
from types import MappingProxyType
from typing import Any, cast

from ovnguard.i18n import _, current_language
from ovnguard.model.db import Database, diff, differing
from ovnguard.model.evidence import Evidence
from ovnguard.model.ovs import PATCH_OWNER_KEY_BY_TYPE
from ovnguard.model.snapshot import Snapshot
from ovnguard.record import record
from ovnguard.simulation.bfd import BfdBasis, bfd_basis, claimed_roots, peers_of
from ovnguard.simulation.controller import (
    Chain,
    HostPrediction,
    realize_host,
    realize_host_seeded,
    realize_patches,
    unreached_seeds,
)
from ovnguard.simulation.hostconfig import HostConfig, host_config
from ovnguard.simulation.locality import Lazy
from ovnguard.simulation.northd import (
    GLOBAL_TYPES,
    PredictedSouthbound,
    claimers,
    predict_southbound,
)
from ovnguard.simulation.patchrun import (
    Key,
    OvsPatch,
    OvsState,
    conflict_message,
    ovn_ports,
    ovs_state,
    patch_run,
    synthetic_state,
)
from ovnguard.simulation.types import (
    LAB_NOTES,
    OVN_SRC,
    HostDelta,
    HostRealization,
    PatchPort,
    Realization,
)
from ovnguard.versions import SEMANTICS

OVN_VERSION = SEMANTICS.ovn  # the one place that says which: ovnguard.versions
# Interface columns ovn-controller 23.03 monitors with change tracking (ovn-controller.c
# ctrl_register_ovs_idl, binding.c, physical.c, encaps.c, bfd.c, vif-plug.c).
TRACKED_INTERFACE_COLUMNS = frozenset({
    "name", "type", "options", "ofport", "external_ids", "bfd", "bfd_status", "mtu",
    "status", "mtu_request",
})


def realize(snapshot: Snapshot, since: Realization | None = None) -> Realization:
    """What ovn-controller wants on every host. `since`: the realization of an earlier
    snapshot this one was derived from (e.g. the state before a change); only the hosts
    whose inputs differ are computed again -- the result is the same either way."""
    base = _basis(since)
    psb = predict_southbound(snapshot.nb, snapshot.sb, base.psb if base is not None else None)
    return _realize(snapshot, psb, base)[0]


@record
class _Basis:
    """What a Realization was computed from (kept in Realization.basis)."""

    snapshot: Snapshot
    psb: PredictedSouthbound
    preds: Mapping[str, HostPrediction]
    # what was derived from this realization once (its BFD peers: a loaded model's state
    # before is compared with every what-if's state after)
    memo: dict[str, tuple[Realization, Any]] = field(default_factory=dict, compare=False)
    # host -> (its prediction, its OVS DB, the first step from this state of a change that
    # left both alone): every later what-if on this state reuses it (`_quiet_step`)
    steps: dict[str, tuple[HostPrediction, Database | None, str, _Step]] = field(
        default_factory=dict, compare=False)


def _basis(r: Realization | None, snapshot: Snapshot | None = None) -> _Basis | None:
    b = r.basis if r is not None else None
    if not isinstance(b, _Basis) or (snapshot is not None and b.snapshot is not snapshot):
        return None
    return b


def _realize(snapshot: Snapshot, psb: PredictedSouthbound, since: _Basis | None = None,
             ) -> tuple[Realization, dict[str, HostPrediction]]:
    how = _unaffected(since, snapshot, psb) if since is not None else None
    preds: dict[str, HostPrediction] = {}
    for h in sorted(snapshot.hosts):
        old = since.preds.get(h) if since is not None and how is not None else None
        got = how(h, old) if old is not None and how is not None else _AGAIN
        if got == _KEEP and old is not None:
            preds[h] = old
        elif got == _PATCHES and old is not None and old.localized is not None:
            preds[h] = realize_patches(psb, old.config, old.localized)
        else:
            preds[h] = _predict(psb, h, snapshot.hosts[h].ovs)
    hosts = {h: p.realization for h, p in preds.items()}
    basis = _Basis(snapshot, psb, MappingProxyType(preds))
    return Realization(MappingProxyType(hosts), SEMANTICS, psb.events, basis), preds


# Binding types any chassis may claim (binding.c considers them on every chassis): a change
# to one can change any host.
_GLOBAL_TYPES = frozenset(GLOBAL_TYPES)
# Binding types a chassis reads only when one of its own interfaces names the port (binding.c
# consider_vif_lport / consider_localport): a VIF or localport of another host -- created,
# updated or deleted by Neutron -- changes neither what a chassis binds, nor which
# datapaths are local to it (local_data.c follows patch and l3gateway links only), nor
# its patch ports (localnet and l2gateway ports) -- unless a link names it as its peer (a
# router-type port whose router-port is a VIF). A container port is not one of them
# (its parent's host reads it), nor a parent (a host binding its children reads its type).
_BOUND_HERE_ONLY = frozenset({"", "localport"})
# What `_unaffected` says of a host: its prediction carries over; only its localnet ports
# and patch ports are looked at again (`realize_patches`); it is predicted again.
_KEEP, _PATCHES, _AGAIN = "keep", "patches", "again"


def _unaffected(since: _Basis, snapshot: Snapshot, psb: PredictedSouthbound,
                ) -> Callable[[str, HostPrediction], str] | None:
    """Which hosts' predictions carry over unchanged from `since` (ovn-controller's
    incremental engine in spirit: a host recomputes only when an input it reads changed).
    A host reads: its own Open_vSwitch DB and SB (same objects), the bindings its
    interfaces name (and their children), the bindings any chassis may claim, and the
    bindings, links and localnet ports of its local datapaths; of the ports of a type any
    chassis may consider (gateway, HA, virtual), those naming its chassis. Where the only
    bindings of its local datapaths that changed are localnet ports, what it binds and
    which datapaths are local stay as they were (controller.Localized): only its patch
    ports are predicted again. None: no host carries over."""
    psb0 = since.psb
    if (snapshot.sb is not since.snapshot.sb or psb.nb_source != psb0.nb_source
            or psb.language != psb0.language):  # (every explanation is in one language)
        return None
    b0, b1 = psb0.bindings, psb.bindings
    names = psb.changed_bindings(psb0)
    dps: set[str] = set()  # datapaths where what decides locality may have changed
    ln_dps: set[str] = set()  # datapaths where only localnet ports changed
    parents: set[str] = set()
    claiming: set[str] = set()  # chassis that may claim a changed port of a global type
    any_global = False
    for n in names:
        pair = (b0.get(n), b1.get(n))
        if (all(b is None or (b.type in _BOUND_HERE_ONLY and b.parent_port is None)
                for b in pair) and n not in psb0.children and n not in psb.children
                and n not in psb0.link_peers and n not in psb.link_peers):
            continue  # read only by a host whose interface names it (`touched`)
        x, y = pair
        if (x is not None and y is not None and x.type == y.type == "chassisredirect"
                and x.datapath == y.datapath and x.options == y.options
                and x.options.get("always-redirect") == "true"):
            # A gateway port that redirects always, moved to other chassis (its HA group
            # changed, nothing else): a chassis outside the group neither claims it nor
            # follows its link, on either side (`_need_add_peer`: no evidence read), so
            # only the members before and after see it (the walks' explanations on them
            # quote the group)
            any_global = True
            claiming |= claimers(x) | claimers(y)
            continue
        only_localnet = all(b is None or b.type == "localnet" for b in pair)
        for b in pair:
            if b is None:
                continue
            if b.parent_port is not None:
                parents.add(b.parent_port)
            if b.type in _GLOBAL_TYPES:
                any_global = True
                claiming |= claimers(b)
            # a host where its datapath is local reads it too (the walk that explains its
            # local datapaths reads the links and chassis-redirect ports on the way)
            (ln_dps if only_localnet else dps).add(b.datapath)
    if any_global:
        # A port of a global type is claimed only by the chassis it names (its HA group's
        # members, its l2/l3gateway-chassis, the chassis SB binds a virtual port to), and
        # makes links conditional on those chassis only (LinkIndex.conditional) -- unless
        # what every chassis follows changed: a gateway port's always-redirect, a missing
        # chassis-redirect port. Then every chassis is predicted again.
        li0, li1 = psb0.link_index, psb.link_index
        if li0 is not li1 and (li0.always != li1.always or li0.warns != li1.warns):
            return None
    d0, d1 = psb0.datapaths, psb.datapaths
    dps |= differing(d0, d1)
    dps |= differing(psb0.links, psb.links)
    ln_dps |= differing(psb0.localnets, psb.localnets)
    touched = names | parents
    hosts0 = since.snapshot.hosts

    def how(h: str, p: HostPrediction) -> str:
        before = hosts0.get(h)
        if before is None or before.ovs is not snapshot.hosts[h].ovs:
            return _AGAIN
        if not p.active:
            return _KEEP  # nothing is realized without a chassis, whatever NB says
        hc = p.config
        if hc.chassis in claiming:
            return _AGAIN
        if any(d in p.local for d in dps):  # (dps is small, p.local is thousands)
            return _AGAIN
        if hc.based_on == "sb":
            if not hc.sb_bound.isdisjoint(touched):
                return _AGAIN
        elif not hc.iface_ids.isdisjoint(touched):
            return _AGAIN
        return _PATCHES if any(d in p.local for d in ln_dps) else _KEEP

    return how


def _predict(psb: PredictedSouthbound, host: str, ovs: Database | None,
             seed: Mapping[str, Chain] | None = None) -> HostPrediction:
    return realize_host(psb, host_config(host, ovs, psb.southbound), seed)


# --- recompute triggers ----------------------------------------------------------------------


def _ext_ids(ovs: Database | None) -> dict[str, str] | None:
    if ovs is None:
        return None
    rows = sorted(ovs.rows("Open_vSwitch"), key=lambda r: r.uuid)
    return {str(k): str(v) for k, v in rows[0].map("external_ids").items()} if rows else {}


def _changed_keys(a: Mapping[str, str], b: Mapping[str, str]) -> list[str]:
    return sorted(differing(a, b))


def _interface_triggers(host: str, ovs0: Database, ovs1: Database) -> list[Evidence]:
    out = []
    for c in diff(ovs0, ovs1):
        if c.table != "Interface":
            continue
        if c.kind == "update" and not (set(c.columns) & TRACKED_INTERFACE_COLUMNS):
            continue
        row = c.after if c.after is not None else c.before
        assert row is not None
        typ = str(row.get("type", "") or "")
        egress = "ovn-egress-iface" in row.map("external_ids")
        if typ in ("", "internal") and not egress:
            continue
        what = {"insert": "added", "delete": "removed", "update": "changed"}[c.kind]
        out.append(Evidence(
            _(
                    "the change {what} {host}'s interface {name} of type {value}; ovn-controller "
                    "handles only VIF interface changes incrementally and recomputes (binding.c "
                    "binding_handle_ovs_interface_changes)").format(
                    what=what, host=host, name=row.name, value=typ or 'system'),
            ovs1.source, "Interface", row.name, host))
    return out


def _chassis_record_changes(before: Snapshot, after: Snapshot,
                            pre0: Mapping[str, HostPrediction],
                            pre1: Mapping[str, HostPrediction],
                            psb0: PredictedSouthbound,
                            psb1: PredictedSouthbound) -> list[Evidence]:
    out = []
    for h in sorted(set(pre0) & set(pre1)):
        if before.hosts[h].ovs is None or after.hosts[h].ovs is None:
            continue
        if pre0[h] is pre1[h]:
            continue  # one prediction, one config: the same record
        c0, c1 = pre0[h].config, pre1[h].config
        if c0.chassis is None and c1.chassis is None:
            continue
        keys = _changed_keys(c0.chassis_record(), c1.chassis_record())
        if keys:
            out.append(Evidence(
                _(
                        "the change alters what {h} writes to its SB Chassis row ({keys}); every "
                        "ovn-controller recomputes on SB Chassis changes (ovn-controller.c: "
                        "en_sb_chassis is an input of runtime_data without a handler)").format(
                        h=h, keys=', '.join(keys)),
                c1.source, "Open_vSwitch", "external_ids", h))
    s0, s1 = psb0.southbound, psb1.southbound
    if s0 is not None and s1 is not None and s0.chassis != s1.chassis:
        out.append(Evidence(_(
            "the change alters SB Chassis rows; every ovn-controller recomputes"), s1.source,
                "Chassis"))
    return out


# --- the delta -------------------------------------------------------------------------------


@record
class HostRuntime:
    """What ovn-controller on one host holds after it has reacted: its patch ports and its
    local datapaths (stale ones included, until a recompute)."""

    ovn: Mapping[Key, OvsPatch]
    local: frozenset[str]


@record
class _Step:
    present: Mapping[Key, OvsPatch]
    final: Mapping[Key, OvsPatch]
    stale: tuple[Key, ...]
    why: Mapping[Key, tuple[Evidence, ...]]
    recompute: tuple[Evidence, ...]
    notes: tuple[str, ...]
    runtime: HostRuntime
    pports: Mapping[Key, PatchPort]
    # The step read nothing of the state after but which of these logical ports' bindings
    # name a datapath that is not local (none did, so no datapath was kept for its patch
    # ports): with the host's prediction and OVS DB unchanged and nothing making everyone
    # recompute, another change that leaves this true gives this very step. None: it read
    # more (recompute triggers, ports removed or stale, datapaths kept).
    pure: tuple[str, ...] | None = None

    @cached_property
    def alone(self) -> HostDelta:
        """The delta of a change that is this one step."""
        return _delta(self.present, self.final, self.stale, self.pports, self.why,
                      self.recompute, dict.fromkeys(self.notes))


def realization_delta(before: Snapshot, after: Snapshot, before_r: Realization | None = None,
                      after_r: Realization | None = None) -> dict[str, HostDelta]:
    """Per host: patch ports added, removed (at once) and left stale when `after` (one
    transaction, or several applied at once) replaces `before`."""
    return realization_steps([before, after], [before_r, after_r])


def realization_steps(snapshots: Sequence[Snapshot],
                      realizations: Sequence[Realization | None] | None = None,
                      ) -> dict[str, HostDelta]:
    """The net effect of a change made of several transactions, one snapshot after each
    (`snapshots[0]` is the state before). Separate `ovn-nbctl` runs are separate
    transactions, and ovn-controller reacts to each: a port created in between can stay
    stale (e.g. removing the last gateway chassis, then setting a new one, makes the
    provider switch local everywhere for a moment)."""
    if len(snapshots) < 2:
        raise ValueError("need the state before and after at least one step")
    rs = list(realizations) if realizations is not None else [None] * len(snapshots)
    psbs: list[PredictedSouthbound] = []
    reals: list[Realization] = []
    preds: list[Mapping[str, HostPrediction]] = []
    for r, s in zip(rs, snapshots, strict=True):
        # Each state from scratch only once: a realization the caller made of this very
        # snapshot brings its predictions; otherwise only the hosts whose inputs changed
        # since the previous state are computed again.
        basis = _basis(r, s)
        if basis is None:
            psb = predict_southbound(s.nb, s.sb, psbs[-1] if psbs else None)
            real, _bfd_peers = _realize(s, psb, _basis(reals[-1]) if reals else None)
            basis = _basis(real, s)
            assert basis is not None
        psbs.append(basis.psb)
        reals.append(r if r is not None else real)
        preds.append(basis.preds)
    runtime: dict[str, HostRuntime | None] = {}
    initial: dict[str, Mapping[Key, OvsPatch]] = {}
    why: dict[str, dict[Key, tuple[Evidence, ...]]] = {}
    pports: dict[str, dict[Key, PatchPort]] = {}
    recompute: dict[str, list[Evidence]] = {}
    notes: dict[str, list[str]] = {}
    last: dict[str, _Step] = {}
    alone: set[str] = set()  # hosts whose delta is their one step's (`_Step.alone`)
    quiet_steps = b.steps if (b := _basis(reals[0], snapshots[0])) is not None else None
    for i in range(1, len(snapshots)):
        before, after = snapshots[i - 1], snapshots[i]
        psb0, psb1 = psbs[i - 1], psbs[i]
        everyone = _chassis_record_changes(before, after, preds[i - 1], preds[i], psb0,
                                           psb1)
        bfd0 = _bfd(psb0, reals[i - 1])
        if _same_bfd_inputs(psb0, reals[i - 1], psb1, reals[i]):
            bfd1 = _bfd_carried(psb0, reals[i - 1], psb1, reals[i], bfd0)
        else:
            bfd1 = _bfd(psb1, reals[i], (psb0, reals[i - 1]))
        shared = _SharedLocal(psb1.datapaths)
        for h in sorted(after.hosts):
            hs0 = before.hosts.get(h)
            r1 = reals[i].hosts.get(h)
            if r1 is None:
                continue
            ch = r1.chassis
            bfd_ev = []
            if ch is not None and bfd0.get(ch, frozenset()) != bfd1.get(ch, frozenset()):
                bfd_ev.append(Evidence(
                    _(
                            "{h}'s BFD peers change ({value} -> {value2}): bfd_run() rewrites "
                            "Interface.bfd on its tunnel ports, a non-VIF interface change, so "
                            "ovn-controller recomputes (bfd.c bfd_calculate_chassis; northd "
                            "ref_chassis)").format(
                            h=h, value=', '.join(sorted(bfd0.get(ch, ()))) or 'none',
                            value2=', '.join(sorted(bfd1.get(ch, ()))) or 'none'),
                                psb1.nb_source, "HA_Chassis_Group", None, h))
            p0 = preds[i - 1].get(h) or _predict(psb0, h, None)
            ovs1 = after.hosts[h].ovs
            # The first step on a host whose inputs the change left alone (same prediction,
            # same OVS DB, nothing making everyone recompute) is the same for every change
            # that keeps its `pure` condition: computed once per loaded model.
            quiet = (i == 1 and quiet_steps is not None and not everyone and not bfd_ev
                     and hs0 is not None and hs0.ovs is ovs1 and preds[i][h] is p0)
            step = _quiet_step(quiet_steps, h, p0, ovs1, psb1) if quiet else None
            if step is not None and len(snapshots) == 2:
                # a change of one step, on a host it leaves alone: the delta is this step's
                # alone, made once per loaded model like the step
                alone.add(h)
                last[h] = step
                continue
            if step is None:
                step = _host_step(h, hs0.ovs if hs0 else None, ovs1, psb0, psb1,
                                  p0, preds[i][h], [*everyone, *bfd_ev], runtime.get(h), shared)
                if quiet and step.pure is not None and quiet_steps is not None:
                    quiet_steps[h] = (p0, ovs1, current_language(), step)
            if h not in initial:
                initial[h] = step.present
            runtime[h] = step.runtime
            why.setdefault(h, {}).update(step.why)
            pports.setdefault(h, {}).update(step.pports)
            recompute.setdefault(h, []).extend(step.recompute)
            seen = notes.setdefault(h, [])
            seen.extend(n for n in step.notes if n not in seen)
            last[h] = step
    out: dict[str, HostDelta] = {}
    for h, step in last.items():
        if h in alone:
            out[h] = step.alone
            continue
        out[h] = _delta(initial[h], step.final, step.stale, pports[h], why[h], recompute[h],
                        notes[h])
    return out


def _delta(present: Mapping[Key, OvsPatch], final: Mapping[Key, OvsPatch],
           stale_keys: Iterable[Key], pp: Mapping[Key, PatchPort],
           why: Mapping[Key, tuple[Evidence, ...]], recompute: Iterable[Evidence],
           notes: Iterable[str]) -> HostDelta:
    added = sorted(set(final) - set(present))
    removed = sorted(set(present) - set(final))
    stale = sorted(set(stale_keys) & set(final))
    return HostDelta(
        added=tuple(pp[k] for k in added),
        removed=tuple(pp[k] for k in removed),
        stale=tuple(pp[k] for k in stale),
        why=MappingProxyType({pp[k]: why.get(k, ()) for k in (*added, *removed, *stale)}),
        recompute=tuple(recompute),
        notes=tuple(notes),
    )


def _quiet_step(steps: Mapping[str, tuple[HostPrediction, Database | None, str, _Step]] | None,
                h: str, p: HostPrediction, ovs: Database | None,
                psb1: PredictedSouthbound) -> _Step | None:
    got = steps.get(h) if steps is not None else None
    if (got is None or got[0] is not p or got[1] is not ovs
            or got[2] != current_language()):  # its evidence is written in one language
        return None
    step = got[3]
    assert step.pure is not None
    for lport in step.pure:
        b = psb1.bindings.get(lport)
        if b is not None and b.datapath not in p.local:
            return None  # its patch ports would keep that datapath: compute the step
    return step


# Binding types whose every field bfd_peers reads (HA groups, router links); of any other
# binding it reads only the ports some chassis claims.
_BFD_TYPES = frozenset({"chassisredirect", "external", "patch", "l3gateway"})


def _same_bfd_inputs(psb0: PredictedSouthbound, r0: Realization,
                     psb1: PredictedSouthbound, r1: Realization) -> bool:
    """Whether `bfd_peers` reads the same in both states (then its answer is the same): the
    same SB chassis, every host claiming the same ports, the same routers and datapaths,
    and no binding that differs is of a type it reads or claimed by anyone."""
    if r0.hosts.keys() != r1.hosts.keys():
        return False
    for h, hr1 in r1.hosts.items():
        hr0 = r0.hosts[h]
        if hr1 is not hr0 and (hr1.chassis != hr0.chassis
                               or hr1.bound_ports.keys() != hr0.bound_ports.keys()):
            return False
    changed = _bfd_basis_changes(psb0, psb1)
    return changed is not None and not any(
        n in hr.bound_ports for n in changed for hr in r1.hosts.values())


def _bfd_basis_changes(psb0: PredictedSouthbound, psb1: PredictedSouthbound
                       ) -> set[str] | None:
    """Where `bfd_basis` reads the same in both (the same SB chassis, routers and
    datapaths, no binding that differs of a type it reads): the ports whose bindings differ
    (the claims of which read them again); None where it does not."""
    if (psb0.southbound is not psb1.southbound
            or psb0.topology.routers.keys() != psb1.topology.routers.keys()
            or psb0.datapaths != psb1.datapaths):
        return None
    b0, b1 = psb0.bindings, psb1.bindings
    out: set[str] = set()
    for n in psb1.changed_bindings(psb0):
        x, y = b0.get(n), b1.get(n)
        if x == y:
            continue
        if any(b is not None and b.type in _BFD_TYPES for b in (x, y)):
            return None
        out.add(n)
    return out


def _bfd(psb: PredictedSouthbound, r: Realization,
         prev: tuple[PredictedSouthbound, Realization] | None = None
         ) -> dict[str, frozenset[str]]:
    """`_bfd_peers`, once per realization; `prev`: the state before, whose claims of the
    chassis the change left alone are taken over where they read the same."""
    basis = r.basis if isinstance(r.basis, _Basis) and r.basis.psb is psb else None
    got = basis.memo.get("bfd") if basis is not None else None
    if got is not None and got[0] is r:
        return cast(dict[str, frozenset[str]], got[1])
    peers = _bfd_peers(psb, r, prev)
    if basis is not None:
        basis.memo["bfd"] = (r, peers)
    return peers


def _bfd_carried(psb0: PredictedSouthbound, r0: Realization, psb1: PredictedSouthbound,
                 r1: Realization, peers: dict[str, frozenset[str]]
                 ) -> dict[str, frozenset[str]]:
    """`peers`, `_bfd(psb0, r0)`, as `r1`'s own where `_same_bfd_inputs` holds: remembered
    with r0's claims for r1 (the next step of a multi-line change asks for them: they were
    made again for every chassis)."""
    b0, b1 = r0.basis, r1.basis
    if not isinstance(b1, _Basis) or b1.psb is not psb1 or "bfd" in b1.memo:
        return peers
    b1.memo["bfd"] = (r1, peers)
    # the basis reads the same and no claimed port's binding differs: r0's claims hold
    made = b0.memo.get("bfd-claims") if isinstance(b0, _Basis) and b0.psb is psb0 else None
    if made is not None and made[0] is r0:
        b1.memo["bfd-claims"] = (r1, made[1])
    return peers


# what `_bfd_peers` read of a realization: the basis, and per chassis the host's realization
# it read the claims of with the router groups they ref
_BfdMade = tuple[BfdBasis, dict[str, tuple[HostRealization, frozenset[str]]]]


def _bfd_peers(psb: PredictedSouthbound, r: Realization,
               prev: tuple[PredictedSouthbound, Realization] | None = None
               ) -> dict[str, frozenset[str]]:
    """`bfd.bfd_peers` of the chassis' claims in `r`. With `prev` (whose own were made
    so): its basis where the change left what that reads alone, and its claims of each
    chassis whose host claims the same ports (its realization the same object, or ports
    of the same names) none of whose bindings differs; the rest made again."""
    known = {hr.chassis for hr in r.hosts.values() if hr.chassis}
    if psb.southbound is not None:
        known |= set(psb.southbound.chassis)
    old: _BfdMade | None = None
    changed: set[str] | None = None
    if prev is not None:
        pb = prev[1].basis
        # (only a realization's own: one passed for another snapshot has another basis)
        memo = (pb.memo.get("bfd-claims") if isinstance(pb, _Basis) and pb.psb is prev[0]
                else None)
        old = cast(_BfdMade, memo[1]) if memo is not None and memo[0] is prev[1] else None
        changed = _bfd_basis_changes(prev[0], psb) if old is not None else None
        if old is None or changed is None or old[0].known != known:
            old = None
    bb = old[0] if old is not None else bfd_basis(psb, known)
    claims: dict[str, tuple[HostRealization, frozenset[str]]] = {}
    for hr in r.hosts.values():
        if not hr.chassis:
            continue
        mine = old[1].get(hr.chassis) if old is not None else None
        if mine is None or (changed and not changed.isdisjoint(hr.bound_ports)):
            mine = (hr, claimed_roots(bb, psb, hr.chassis, hr.bound_ports))
        elif mine[0] is not hr:
            # a host predicted again (its patch ports) that claims the same ports: the same
            # router groups (what claimed_roots reads of it is the port names)
            mine = ((hr, mine[1]) if mine[0].bound_ports.keys() == hr.bound_ports.keys()
                    else (hr, claimed_roots(bb, psb, hr.chassis, hr.bound_ports)))
        claims[hr.chassis] = mine  # (a chassis two hosts name: the last one's, as before)
    if isinstance(r.basis, _Basis) and r.basis.psb is psb:
        r.basis.memo["bfd-claims"] = (r, (bb, claims))
    return peers_of(bb, {c: roots for c, (_hr, roots) in claims.items()})


class _SharedLocal:
    """What `_host_step` works out of a host's local datapaths before (ovn-controller's
    runtime state) against the state after, once per step for every host with the same
    set: the hosts that reach the provider network share one set of thousands of datapaths
    (`LinkIndex.shared`; 109 of the 1,000 hosts of `bench/check_scale.py`'s cloud, one set
    of 5,501), where each operation costs ~0.1-0.25 ms a host; the others' sets, of
    hundreds, are mostly their own. Looked up by the sets themselves: a frozenset keeps its
    hash, and the one a host holds is found by identity."""

    __slots__ = ("_datapaths", "_gone", "_kept", "_unreached")

    def __init__(self, datapaths: Mapping[str, object]) -> None:
        self._datapaths = datapaths  # the state after's
        self._gone: dict[frozenset[str], list[str]] = {}
        self._kept: dict[frozenset[str], dict[str, None]] = {}
        self._unreached: dict[tuple[frozenset[str], frozenset[str]], list[str]] = {}

    def gone(self, local0: frozenset[str]) -> list[str]:
        """The datapaths of `local0` deleted, sorted."""
        got = self._gone.get(local0)
        if got is None:
            got = self._gone[local0] = sorted(local0 - self._datapaths.keys())
        return got

    def kept(self, local0: frozenset[str]) -> dict[str, None]:
        """The datapaths of `local0` that still exist, sorted, as Lazy keys (one dict for
        every host that had the same set)."""
        got = self._kept.get(local0)
        if got is None:
            got = self._kept[local0] = dict.fromkeys(sorted(local0 & self._datapaths.keys()))
        return got

    def unreached(self, local0: frozenset[str], local1: frozenset[str]) -> list[str]:
        """The datapaths of `kept(local0)` not in `local1`, sorted (empty: `local0`'s
        datapaths that still exist are all in `local1`)."""
        key = (local0, local1)
        got = self._unreached.get(key)
        if got is None:
            got = self._unreached[key] = unreached_seeds(local0, local1, self._datapaths)
        return got


def _host_step(h: str, ovs0: Database | None, ovs1: Database | None,
               psb0: PredictedSouthbound, psb1: PredictedSouthbound,
               p0: HostPrediction, p1: HostPrediction,
               everyone: list[Evidence], runtime0: HostRuntime | None,
               shared: _SharedLocal | None = None) -> _Step:
    notes: list[str] = []
    hc1: HostConfig = p1.config
    br_int = hc1.integration_bridge

    snap0 = ovs_state(p0.config) if ovs0 is not None else None
    if runtime0 is None:
        if snap0 is None:
            snap0 = synthetic_state(p0.pairs)
            notes.append(f"no Open_vSwitch DB for {h} before the change: its patch ports are "
                         "assumed to be the ones predicted for the before state")
        # the prediction's own set of local datapaths (shared by the chassis that have the
        # same), not a copy: the memos below then find it by identity
        runtime0 = HostRuntime(ovn_ports(snap0, p0.config.integration_bridge, p0.pairs),
                               p0.realization.local_datapath_uuids)
    present0 = runtime0.ovn

    # The OVS state ovn-controller sees once the operator's change is in: the host's DB
    # after the change, with ovn-controller's own ports as it left them.
    if ovs1 is not None:
        base = ovs_state(hc1)
        base_ovn = ovn_ports(base, br_int, ())
        have = {(p.bridge, p.port) for p in base.patches}
        dropped = set()
        if snap0 is not None:
            dropped = {k for k in ovn_ports(snap0, p0.config.integration_bridge, p0.pairs)
                       if k not in have}
        keep = {k: p for k, p in present0.items() if k not in dropped}
        st1 = OvsState(
            tuple(p for p in base.patches if (p.bridge, p.port) not in base_ovn)
            + tuple(keep.values()),
            frozenset((base.names - {k[1] for k in base_ovn}) | {k[1] for k in keep}),
            {**{n: b for n, b in base.port_bridge.items()}, **{k[1]: k[0] for k in keep}},
        )
    else:
        st1 = OvsState(tuple(present0.values()), frozenset(k[1] for k in present0),
                       {k[1]: k[0] for k in present0})

    if not p1.active:
        # ovn-controller.c main loop: binding and patch_run() only run with a chassis.
        final0 = ovn_ports(st1, br_int, ())
        notes.append(f"ovn-controller on {h} has no chassis after the change (see its "
                     "events), so it leaves its patch ports as they are")
        known0 = {k: PatchPort(k[0], k[1], o.lport or "") for k, o in
                  (*present0.items(), *final0.items())}
        return _Step(present0, final0, (), {}, (), tuple(notes),
                     HostRuntime(MappingProxyType(dict(final0)), runtime0.local), known0, ())

    # Recompute triggers known before ovn-controller acts.
    triggers: list[Evidence] = list(everyone)
    if ovs0 is not None and ovs0 is ovs1:
        pass  # the host's OVS DB is the one it was: no trigger from it
    elif ovs0 is not None and ovs1 is not None:
        e0, e1 = _ext_ids(ovs0) or {}, _ext_ids(ovs1) or {}
        keys = _changed_keys(e0, e1)
        if keys:
            triggers.append(Evidence(
                _(
                        "the change edits {h}'s Open_vSwitch external_ids ({keys}); runtime_data "
                        "has no incremental handler for that and recomputes (ovn-controller.c: "
                        "en_ovs_open_vswitch input without handler)").format(
                        h=h, keys=', '.join(keys)),
                ovs1.source, "Open_vSwitch", "external_ids", h))
        triggers.extend(_interface_triggers(h, ovs0, ovs1))
    else:
        notes.append(f"{h}'s OVS changes are unknown (no Open_vSwitch DB on one side): "
                     "recompute triggers from OVS are not considered")
    if shared is None:
        shared = _SharedLocal(psb1.datapaths)
    fresh = runtime0.local is p0.realization.local_datapath_uuids
    # (p0's local datapaths are psb0's)
    gone = () if fresh and psb1.datapaths is psb0.datapaths else shared.gone(runtime0.local)
    for u in gone:
        name = psb0.datapath_label(u) if u in psb0.datapaths else u
        triggers.append(Evidence(
            _(
                    "{name}, local on {h}, is deleted; ovn-controller recomputes "
                    "(runtime_data_sb_datapath_binding_handler)").format(
                    name=name, h=h), psb1.nb_source, None, name, h))

    # Incremental processing keeps every datapath that was local (and, seen from the OVS
    # state, any datapath whose patch ports exist: it was local when they were made).
    made: dict[str, Chain] = {}
    for p in st1.patches:
        b = psb1.bindings.get(p.lport or "") if p.key is not None else None
        if (b is not None and b.datapath not in made and b.datapath not in p1.local
                and b.datapath not in runtime0.local):
            made[b.datapath] = (Evidence(
                _(
                        "{h} already has patch port {port} for {logical_port}, so "
                        "{datapath_label} was local when it was made").format(
                        h=h, port=p.port, logical_port=b.logical_port,
                        datapath_label=psb1.datapath_label(b.datapath)),
                OVN_SRC + "controller/patch.c", None,
                None, h),)

    def was_local(u: str) -> Chain:  # written only if an explanation is read
        return made[u] if u in made else (Evidence(
            _(
                    "{datapath_label} was local on {h} before the change; ovn-controller 23.03 "
                    "removes local datapaths only in a full recompute (local_data.c; "
                    "docs/measurements.md: stale patch ports)").format(
                    datapath_label=psb1.datapath_label(u), h=h),
                        OVN_SRC + "controller/local_data.c",
            None,
            None, h),)

    # Only datapaths the full computation would not have change anything.
    local_p1 = p1.realization.local_datapath_uuids
    if made:
        seed = Lazy([*shared.kept(runtime0.local), *made], was_local)
        inc = realize_host_seeded(psb1, p1, seed) if not seed.keys() <= p1.local.keys() else p1
    elif (runtime0.local is local_p1
          or not (unreached := shared.unreached(runtime0.local, local_p1))):
        inc = p1  # every datapath kept (a subset of what was local) is local anyway
    else:
        inc = realize_host_seeded(psb1, p1, Lazy.sharing(shared.kept(runtime0.local),
                                                         was_local), unreached)

    run_full = patch_run(st1, br_int, p1.pairs)
    run_inc = run_full if inc is p1 else patch_run(st1, br_int, inc.pairs)
    recompute = list(triggers)
    if not recompute and run_inc.changes:
        what = ", ".join(f"{'creates' if x in run_inc.created else 'deletes'} {x[1]}"
                         for x in [*run_inc.created, *run_inc.deleted][:4])
        recompute.append(Evidence(
            _(
                    "ovn-controller on {h} {what}; its own patch-port changes are non-VIF "
                    "interface changes, so the next iteration recomputes (binding.c "
                    "binding_handle_ovs_interface_changes)").format(
                    h=h, what=what), OVN_SRC + "controller/binding.c",
            "Interface", None, h))
    run = run_full if recompute else run_inc
    final = run.final
    for bridge, name, holder in run.conflicts:
        notes.append(f"{conflict_message(name)} -- {h} already has {name} on {holder}, so "
                     f"ovn-controller cannot create it on {bridge}; its OVS transaction fails "
                     "on every iteration and none of its patch port changes apply")
    # With a failing transaction nothing moves: leftovers are not "stale until recompute".
    stale = tuple(sorted(k for k in final
                         if k not in run_full.wanted and not recompute and not run.conflicts))
    # the realization's own set (shared by chassis with the same local datapaths), not a copy
    local1 = (p1 if recompute else inc).realization.local_datapath_uuids

    known: dict[Key, PatchPort] = {}
    for src in (p0.realization.patch_ports, inc.realization.patch_ports,
                p1.realization.patch_ports):
        for pp in src:
            known[(pp.bridge, pp.port)] = pp
    for k, o in (*present0.items(), *final.items()):
        known.setdefault(k, PatchPort(k[0], k[1], o.lport or ""))

    why: dict[Key, tuple[Evidence, ...]] = {}
    for k in set(final) - set(present0):
        pp = known[k]
        why[k] = p1.realization.why.get(pp) or inc.realization.why.get(pp, ())
    for k in set(present0) - set(final):
        why[k] = _removal_reason(h, k, known[k], present0, st1.patches, psb1, p1, recompute)
    for k in stale:
        pp = known[k]
        why[k] = (*_stale_reason(h, pp, psb1), *inc.realization.why.get(pp, ()))
    pure = None
    if not triggers and not made and not stale and set(present0) <= set(final):
        pure = tuple(p.lport or "" for p in st1.patches if p.key is not None)
    return _Step(present0, final, stale, why, tuple(recompute), tuple(notes),
                 HostRuntime(MappingProxyType(dict(final)), local1), known, pure)


def _removal_reason(h: str, k: Key, pp: PatchPort,
                    present0: Mapping[Key, OvsPatch], inv1: tuple[OvsPatch, ...],
                    psb1: PredictedSouthbound, p1: HostPrediction,
                    recompute: list[Evidence]) -> tuple[Evidence, ...]:
    if not any((p.bridge, p.port) == k for p in inv1):
        return (Evidence(_(
                "the change itself removes {k} from {k2} on {h}").format(
                k=k[1], k2=k[0], h=h), "", "Port",
                         k[1], h),)
    lport = pp.lport or (present0[k].lport if k in present0 else None) or ""
    b = psb1.bindings.get(lport)
    at_once = ("; patch_run() deletes it (and its peer) at once (patch.c: ports left in "
               "existing_ports are removed)")
    if b is None or b.type not in PATCH_OWNER_KEY_BY_TYPE:  # the types patch_run() bridges
        return (Evidence(_(
                "logical port {value} is no longer a localnet/l2gateway port in "
                "NB{at_once}").format(
                value=lport or '?', at_once=at_once), psb1.nb_source, "Logical_Switch_Port",
                         lport or None),)
    network = b.network_name
    bridge = p1.mappings.bridge_for(network) if network else None
    if bridge is None:
        return (Evidence(_(
                "{h} no longer maps {network} to a bridge (ovn-bridge-mappings "
                "{mappings_raw!r}){at_once}").format(
                h=h, network=network, mappings_raw=p1.config.mappings_raw, at_once=at_once),
                    p1.config.source,
                         "Open_vSwitch", f"external_ids:{p1.config.mappings_key}", h),)
    if b.datapath not in p1.local:
        return (Evidence(_(
                "{datapath_label} is no longer local on {h}, and ovn-controller recomputes, so "
                "patch_run() deletes the pair").format(
                datapath_label=psb1.datapath_label(b.datapath), h=h),
                         OVN_SRC + "controller/patch.c",
                         None, None, h), *recompute)
    return (Evidence(_(
            "{k} on {k2} is not the port ovn-controller wants for {lport} (now {network} -> "
            "{bridge}){at_once}").format(
            k=k[1], k2=k[0], lport=lport, network=network, bridge=bridge, at_once=at_once),
                p1.config.source, "Port", k[1],
                     h),)


def _stale_reason(h: str, pp: PatchPort, psb1: PredictedSouthbound) -> tuple[Evidence, ...]:
    b = psb1.bindings.get(pp.lport)
    dp = psb1.datapath_label(b.datapath) if b is not None else "its datapath"
    return (Evidence(
        _(
                "{dp} is no longer local on {h}, but ovn-controller 23.03 keeps local datapaths "
                "until a full recompute, so {port} stays on {bridge} until then (`ovn-appctl -t "
                "ovn-controller recompute`, a restart, or a change that makes it "
                "recompute)").format(
                dp=dp, h=h, port=pp.port, bridge=pp.bridge), LAB_NOTES, None, None, h),)
