"""What a rule sees: one snapshot (before or after a change), what ovn-controller is predicted
to realize on each host, and the typed host views -- plus the shared lookups and evidence
builders that keep every rule's chain of facts in the same words."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import field
from functools import cached_property, lru_cache
from typing import Any

from ovnguard.change.model import Change, ChangeProblem, ChangeResult
from ovnguard.findings.finding import Finding
from ovnguard.i18n import _
from ovnguard.model.db import Database, Row, Uuid
from ovnguard.model.evidence import Evidence
from ovnguard.model.host import (
    COLLECT_HOSTS,
    HostView,
    IpNet,
    L2Segment,
    address_network,
    host_views,
    l2_segments,
)
from ovnguard.model.ovs import PATCH_OWNER_KEY_BY_TYPE
from ovnguard.model.snapshot import Snapshot
from ovnguard.record import record
from ovnguard.simulation.mappings import BridgeMappings
from ovnguard.simulation.types import HostRealization, PatchPort, Realization

# Datapaths `RuleContext.local_hosts` looks up one by one before it indexes all of them.
_ASK_EACH = 64
# The logical port types ovn-controller patches onto a provider bridge.
BRIDGED_TYPES = tuple(PATCH_OWNER_KEY_BY_TYPE)


def _str(v: object) -> str:
    return v if isinstance(v, str) else ""


@record
class NbIndex:
    """Lookups over OVN_Northbound the rules share (built once per context). `since`: the
    index of the NB this one was derived from (a what-if's state before, whose unchanged
    rows this NB shares): the switch ports' lookups are then that index's, with only the
    rows the change touched looked at again -- the result is the same either way
    (tests/findings/test_nb_index.py)."""

    db: Database
    since: NbIndex | None = field(default=None, compare=False, repr=False)

    @cached_property
    def lsps(self) -> dict[str, Row]:
        d = self._derived
        if d is not None:
            return d[0]
        return {r.name: r for r in self.db.rows("Logical_Switch_Port")}

    @cached_property
    def lsp_switch(self) -> dict[str, Row]:
        d = self._derived
        if d is not None:
            return d[1]
        return self._owners("Logical_Switch", "Logical_Switch_Port")

    @cached_property
    def lrps(self) -> dict[str, Row]:
        if self._same_routers:
            return self.since.lrps  # type: ignore[union-attr]
        return {r.name: r for r in self.db.rows("Logical_Router_Port")}

    @cached_property
    def lrp_router(self) -> dict[str, Row]:
        if self._same_routers:
            return self.since.lrp_router  # type: ignore[union-attr]
        return self._owners("Logical_Router", "Logical_Router_Port")

    @property
    def _same_routers(self) -> bool:
        """The routers and router ports are `since`'s (the same tables): so are their
        lookups."""
        old = self.since
        return old is not None and all(self.db.tables.get(t) is old.db.tables.get(t)
                                       for t in ("Logical_Router", "Logical_Router_Port"))

    def _owners(self, table: str, port_table: str) -> dict[str, Row]:
        """Port name -> the row of `table` (a switch or a router) whose `ports` holds it; a
        port two rows hold goes to the last one, a dangling reference is skipped."""
        out: dict[str, Row] = {}
        for owner in self.db.rows(table):
            for p in _held(owner, self.db, port_table):
                out[p.name] = owner
        return out

    @cached_property
    def _plain(self) -> bool:
        """Every switch port has a name of its own and one switch holding it: what
        `_derived` needs to patch the lookups by the rows that changed."""
        return (len(self.lsps) == len(self.db.tables.get("Logical_Switch_Port", {}))
                and len(self.lsp_switch) == sum(len(ls.set("ports"))
                                                for ls in self.db.rows("Logical_Switch")))

    @cached_property
    def _derived(self) -> tuple[dict[str, Row], dict[str, Row],
                                tuple[tuple[Row, Row], ...]] | None:
        """(lsps, lsp_switch, _bridged) from `since`'s and the switch and switch port rows
        that are not the same objects any more; None where that cannot be done safely (the
        caller builds them from all rows)."""
        old = self.since
        if old is None or not old._plain:
            return None
        ls0, ls1 = (d.tables.get("Logical_Switch", {}) for d in (old.db, self.db))
        p0, p1 = (d.tables.get("Logical_Switch_Port", {}) for d in (old.db, self.db))
        switches = self.db.changed_rows(old.db, "Logical_Switch")
        ports = self.db.changed_rows(old.db, "Logical_Switch_Port")
        if len(switches) + len(ports) > len(p1) // 8 + 16:
            return None  # most of it changed: as cheap to build afresh
        lsps, owner = dict(old.lsps), dict(old.lsp_switch)
        names: set[str] = set()  # the port names whose entries may change
        for u in ports:
            r0, r1 = p0.get(u), p1.get(u)
            for r in (r0, r1):
                if r is not None:
                    names.add(r.name)
            if r0 is not None and lsps.get(r0.name) is r0:
                del lsps[r0.name]
        for u in ports:
            r1 = p1.get(u)
            if r1 is not None:
                if r1.name in lsps:
                    return None  # a name two ports carry: which one wins is table order
                lsps[r1.name] = r1
        for u in switches:
            names.update(pr.name for pr in _held(ls0.get(u), old.db))
        holders: dict[str, Row] = {}
        for n in names:
            o = owner.pop(n, None)
            if o is not None and o.uuid not in switches and o.uuid in ls1:
                holders[o.uuid] = ls1[o.uuid]
        for holder in holders.values():
            # a switch that did not change still holds the port, perhaps under a new name
            for pr in _held(holder, self.db):
                if pr.name in names:
                    owner[pr.name] = holder
        for u in switches:
            r1 = ls1.get(u)
            if r1 is None:
                continue
            for pr in _held(r1, self.db):
                if pr.name in owner and owner[pr.name] is not r1:
                    return None  # two switches hold it: the last one in table order
                owner[pr.name] = r1
        bridged = [(p, ls) for p, ls in old._bridged if p.name not in names
                   and ls.uuid not in switches]
        for n in names | {p.name for u in switches for p in _held(ls1.get(u), self.db)}:
            p = lsps.get(n)
            if p is not None and _str(p.get("type")) in BRIDGED_TYPES and n in owner:
                bridged.append((p, owner[n]))
        return lsps, owner, tuple(sorted(bridged, key=_bridged_key))

    def switch_of(self, lport: str) -> Row | None:
        return self.lsp_switch.get(lport)

    def bridged_ports(self) -> list[tuple[Row, Row]]:
        """(port, switch) for every localnet / l2gateway port, sorted by switch then port."""
        return list(self._bridged)

    @cached_property
    def _bridged(self) -> tuple[tuple[Row, Row], ...]:
        # two rules ask, each over every switch port of the cloud
        d = self._derived
        if d is not None:
            return d[2]
        out = [
            (p, self.lsp_switch[p.name])
            for p in self.lsps.values()
            if _str(p.get("type")) in BRIDGED_TYPES and p.name in self.lsp_switch
        ]
        return tuple(sorted(out, key=_bridged_key))

    def switch_ports(self, ls: Row) -> list[Row]:
        got = self._switch_ports.get(ls.uuid)
        if got is None or got[0] is not ls:  # (a switch row of another database)
            got = self._switch_ports[ls.uuid] = (
                ls, tuple(sorted(_held(ls, self.db), key=lambda r: r.name)))
        return list(got[1])

    @cached_property
    def _switch_ports(self) -> dict[Uuid, tuple[Row, tuple[Row, ...]]]:
        return {}  # several rules ask for a bridged switch's ports, sorted

    @cached_property
    def out_of_band(self) -> Mapping[Uuid, tuple[Row, tuple[Row, ...]]]:
        """Switch uuid -> (the switch, its ports by name), for each switch Neutron made
        (external_ids:neutron:network_name) holding a port Neutron did not make (without
        external_ids:neutron:port_name, not its provnet-): what `neutron-out-of-band` reads.
        From `since`'s where the switch ports' lookups were (`_derived`): only the switches
        that changed or hold a port that did are looked at again."""
        old = self.since
        if old is None or self._derived is None:
            out: dict[Uuid, tuple[Row, tuple[Row, ...]]] = {}
            for row in self.db.rows("Logical_Switch"):
                got = self._out_of_band(row)
                if got is not None:
                    out[row.uuid] = got
            return out
        ls1 = self.db.tables.get("Logical_Switch", {})
        p0, p1 = (d.tables.get("Logical_Switch_Port", {}) for d in (old.db, self.db))
        switches = set(self.db.changed_rows(old.db, "Logical_Switch"))
        for u in self.db.changed_rows(old.db, "Logical_Switch_Port"):
            # each port has one switch on both sides (`_derived` holds to it)
            for r, owner in ((p0.get(u), old.lsp_switch), (p1.get(u), self.lsp_switch)):
                holder = owner.get(r.name) if r is not None else None
                if holder is not None:
                    switches.add(holder.uuid)
        out = dict(old.out_of_band)
        for u in switches:
            ls = ls1.get(u)
            got = self._out_of_band(ls) if ls is not None else None
            if got is None:
                out.pop(u, None)
            else:
                out[u] = got
        return out

    def _out_of_band(self, ls: Row) -> tuple[Row, tuple[Row, ...]] | None:
        if "neutron:network_name" not in ls.map("external_ids"):
            return None
        ports = self.switch_ports(ls)
        if all(p.name.startswith("provnet-") or "neutron:port_name" in p.map("external_ids")
               for p in ports):
            return None
        return ls, tuple(ports)

    def routers_on(self, ls: Row) -> list[tuple[Row, Row, Row]]:
        """(switch port of type router, router port, router) attached to `ls`."""
        out: list[tuple[Row, Row, Row]] = []
        for p in self.switch_ports(ls):
            if _str(p.get("type")) != "router":
                continue
            lrp = self.lrps.get(str(p.map("options").get("router-port", "")))
            lr = self.lrp_router.get(lrp.name) if lrp is not None else None
            if lrp is not None and lr is not None:
                out.append((p, lrp, lr))
        return out

    def nats(self, lr: Row) -> list[Row]:
        out = [self.db.row("NAT", str(u)) for u in lr.set("nat")]
        return [n for n in out if n is not None]


@lru_cache(maxsize=1 << 14)
def _address(ip: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """An address the rules compare with subnets (those of a bridged switch's ports, again
    for each subnet and what-if): parsed once."""
    try:
        return ipaddress.ip_address(ip)
    except ValueError:
        return None


def _bridged_key(pl: tuple[Row, Row]) -> tuple[str, str]:
    return pl[1].name, pl[0].name


def _held(owner: Row | None, db: Database, table: str = "Logical_Switch_Port"
          ) -> Iterator[Row]:
    """The rows of `table` in `db` that `owner` (a switch, a router) holds in its `ports`;
    a dangling reference is skipped."""
    for u in owner.set("ports") if owner is not None else ():
        p = db.row(table, str(u))
        if p is not None:
            yield p


def network_name(port: Row) -> str | None:
    v = port.map("options").get("network_name")
    return str(v) if v is not None else None


def port_tag(port: Row) -> int | None:
    for col in ("tag", "tag_request"):
        v = port.opt(col)
        if isinstance(v, int) and not isinstance(v, bool) and v > 0:
            return v
    return None


@record
class RuleContext:
    snapshot: Snapshot
    realization: Realization | None = None
    label: str = ""  # "before" / "after" / "" (no change)
    # the context of the state this one was derived from (a what-if's before): its NB
    # lookups are reused for the rows the change left alone (NbIndex)
    since: RuleContext | None = field(default=None, compare=False, repr=False)

    @classmethod
    def build(
        cls, snapshot: Snapshot, realization: Realization | None = None, label: str = "",
        since: RuleContext | None = None,
    ) -> RuleContext:
        return cls(snapshot, realization, label, since)

    @cached_property
    def findings(self) -> tuple[Finding, ...]:
        """Every rule's findings here, run once: a loaded model's before-context serves every
        what-if on it (`assess.Baseline`)."""
        from ovnguard.findings.registry import run_rules

        return tuple(run_rules(self))

    @cached_property
    def memo(self) -> dict[str, Any]:
        """What judging a change against this state (as the state before) makes that judging
        the next change against it would make again: its findings marked pre-existing
        (verdict.diff_findings), their rendering in the report (report.assemble)."""
        return {}

    # -- hosts
    @cached_property
    def hosts(self) -> Mapping[str, HostView]:
        return host_views(self.snapshot)

    def views(self) -> Iterator[HostView]:
        return iter(self.hosts.values())

    def mappings(self, host: str) -> BridgeMappings:
        """`host`'s ovn-bridge-mappings as ovn-controller reads them (HostView)."""
        return self.hosts[host].bridge_mappings

    def provider_bridges(self, host: str) -> Mapping[str, tuple[str, ...]]:
        """bridge -> physnets effectively mapped to it on `host` (HostView)."""
        return self.hosts[host].provider_bridges

    @cached_property
    def segments(self) -> tuple[L2Segment, ...]:
        # a function of the views: the state before's where every view is its (a what-if
        # that changes no host's management)
        old = self.since
        if old is not None and old.hosts.keys() == self.hosts.keys() and all(
                v is old.hosts[h] for h, v in self.hosts.items()):
            return old.segments
        return l2_segments(self.views())

    def segment_of(self, net: IpNet) -> L2Segment | None:
        return self._segment_by_network.get(net)

    @cached_property
    def _segment_by_network(self) -> dict[IpNet, L2Segment]:
        out: dict[IpNet, L2Segment] = {}
        for s in self.segments:
            out.setdefault(s.network, s)  # the first, where two name one subnet
        return out

    @cached_property
    def notes(self) -> tuple[str, ...]:
        """What the rules could not check, host by host."""
        out: list[str] = []
        from_sb = [v.name for v in self.views() if v.based_on == "sb"]
        if from_sb:
            out.append(f"{', '.join(from_sb)}: no conf.db: predicted from SB (each chassis' "
                       "reported ovn-bridge-mappings and bound ports; br-int assumed as "
                       "integration bridge); unknown: which NIC sits on their bridges (and, "
                       "without addr.json, which addresses), and so how far a loop or a "
                       f"bridged switch reaches (`{COLLECT_HOSTS}` collects them)")
        for v in self.views():
            if v.based_on == "sb":
                pass  # said above
            elif v.state.ovs is None:
                out.append(f"{v.name}: conf.db not collected and no SB Chassis for it: bridge, "
                           "mapping and ip-on-ovs-port rules skipped for this host")
            if v.state.addresses is None and v.based_on == "sb":
                pass  # said just above
            elif v.state.addresses is None:
                out.append(f"{v.name}: addresses not collected: management address unknown")
            elif v.management is None:
                out.append(f"{v.name}: no management address found (no inventory address, no "
                           "route to ovn-remote, no default route)")
        if self.realization is None:
            out.append("no realization given: rules about what ovn-controller creates skipped")
        return tuple(out)

    # -- realization
    def host_realization(self, host: str) -> HostRealization | None:
        if self.realization is None:
            return None
        return self.realization.hosts.get(host)

    def provider_patches(self, host: str) -> tuple[PatchPort, ...]:
        """Patch ports predicted on provider bridges (the `patch-<lport>-to-br-int` side).
        Several rules ask it of every host: made once per host here, and a what-if keeps
        the state before's where the host's realization is the same object."""
        got = self._provider_patches.get(host)
        if got is None:
            hr = self.host_realization(host)
            v = self.hosts.get(host)
            integ = v.integration_bridge if v is not None else "br-int"
            old = self.since._provider_patches.get(host) if self.since is not None else None
            if old is not None and old[0] is hr and old[1] == integ:
                got = old
            else:
                got = (hr, integ, () if hr is None else tuple(sorted(
                    p for p in hr.patch_ports if p.bridge != integ and p.lport)))
            self._provider_patches[host] = got
        return got[2]

    @cached_property
    def _provider_patches(self) -> dict[str, tuple[HostRealization | None, str,
                                                  tuple[PatchPort, ...]]]:
        return {}

    @cached_property
    def _local_index(self) -> dict[str, tuple[str, ...]]:
        """datapath name -> hosts where it is local, for every datapath at once: when rules
        ask about many datapaths, asking each host each time was datapaths x hosts
        lookups."""
        out: dict[str, list[str]] = {}
        if self.realization is not None:
            for h, hr in sorted(self.realization.hosts.items()):
                for name in hr.local_datapaths:
                    out.setdefault(name, []).append(h)
        return {name: tuple(hosts) for name, hosts in out.items()}

    @cached_property
    def _local_asked(self) -> dict[str, tuple[str, ...]]:
        return {}

    def local_hosts(self, datapath: str) -> tuple[str, ...]:
        """Hosts where `datapath` is predicted local. The rules ask about a few datapaths
        (the bridged switches): each is looked up in every host's local datapaths (by name,
        a dict lookup) and remembered; only past `_ASK_EACH` datapaths is the index of all
        of them built (a host on a routed provider network has thousands, and listing their
        names for every host cost more than the what-if's rules)."""
        asked = self._local_asked
        got = asked.get(datapath)
        if got is not None:
            return got
        if "_local_index" in self.__dict__ or len(asked) >= _ASK_EACH:
            return self._local_index.get(datapath, ())
        hosts = self.realization.hosts if self.realization is not None else {}
        got = asked[datapath] = tuple(h for h, hr in sorted(hosts.items())
                                      if datapath in hr.local_datapaths)
        return got

    # -- NB / SB
    @cached_property
    def nb(self) -> NbIndex:
        return NbIndex(self.snapshot.nb, self.since.nb if self.since is not None else None)

    def switch_name(self, lport: str) -> str | None:
        ls = self.nb.switch_of(lport)
        if ls is not None:
            return ls.name
        sb = self.snapshot.sb
        if sb is None:
            return None
        pb = sb.find_one("Port_Binding", lport, "logical_port")
        dp = sb.row("Datapath_Binding", str(pb.get("datapath"))) if pb is not None else None
        if dp is None:
            return None
        return str(dp.map("external_ids").get("name", "")) or None

    def nb_evidence(self, fact: str, table: str, row: str) -> Evidence:
        return Evidence(fact, self.snapshot.nb.source or "nb.db", table, row)

    def sb_evidence(self, fact: str, table: str, row: str) -> Evidence:
        src = self.snapshot.sb.source if self.snapshot.sb is not None else ""
        return Evidence(fact, src or "sb.db", table, row)

    def lport_facts(self, lport: str) -> list[Evidence]:
        """NB row, then SB (what ovn-northd publishes) for a localnet / l2gateway port."""
        out: list[Evidence] = []
        p = self.nb.lsps.get(lport)
        ls = self.nb.switch_of(lport)
        if p is not None:
            ptype = _str(p.get("type")) or "VIF"
            nn = network_name(p)
            tag = port_tag(p)
            parts = [f"Logical_Switch_Port {lport} type={ptype}"]
            if nn is not None:
                parts.append(f"options:network_name={nn}")
            if tag is not None:
                parts.append(f"tag={tag}")
            on = _(" on switch {name}").format(name=ls.name) if ls is not None else ""
            out.append(self.nb_evidence(" ".join(parts) + on, "Logical_Switch_Port", lport))
        sb = self.snapshot.sb
        pb = sb.find_one("Port_Binding", lport, "logical_port") if sb is not None else None
        if pb is not None:
            out.append(self.sb_evidence(
                _(
                        "ovn-northd published Port_Binding {lport} type={get} to every "
                        "chassis").format(
                        lport=lport, get=_str(pb.get('type'))), "Port_Binding", lport))
        elif p is not None:
            out.append(Evidence(
                _(
                        "ovn-northd publishes {lport} as a SB Port_Binding, which every chassis' "
                        "ovn-controller receives").format(
                        lport=lport), "ovn-northd", "Port_Binding", lport))
        return out

    def realization_facts(self, host: str, pp: PatchPort) -> list[Evidence]:
        """Why ovn-controller on `host` creates `pp`: the datapath is local, the physnet is
        mapped; then the patch port itself."""
        out: list[Evidence] = []
        hr = self.host_realization(host)
        sw = self.switch_name(pp.lport)
        if hr is not None and sw is not None:
            why_local = hr.local_datapaths.get(sw, ())
            out.append(Evidence(_("{sw} is a local datapath on {host}").format(sw=sw,
                host=host), "simulation", None, sw,
                                host))
            out.extend(why_local)
        if hr is not None:
            out.extend(hr.why.get(pp, ()))
            # What ovn-controller would log about this port (e.g. the duplicate-localnet WARN
            # it prints while creating both patch pairs anyway).
            for ev in hr.events:
                if ev.lport == pp.lport:
                    out.append(Evidence(_(
                            "ovn-controller on {host} logs {level} `{message}`").format(
                            host=host, level=ev.level, message=ev.message), "simulation",
                                "Port_Binding",
                                        ev.lport, host))
        v = self.hosts.get(host)
        if v is not None and pp.network_name:
            out.append(v.mappings_evidence())
        if v is not None and v.integration_bridge_assumed:
            out.append(v.assumed_evidence())
        out.append(Evidence(
            _(
                    "ovn-controller on {host} creates {port} on {bridge} (peer "
                    "patch-{value}-to-{lport})").format(
                    host=host, port=pp.port, bridge=pp.bridge,
                    value=v.integration_bridge if v else 'br-int', lport=pp.lport),
            "simulation", "Port", pp.port, host))
        return out

    def bridge_facts(self, v: HostView, bridge: str) -> list[Evidence]:
        """What `bridge` connects to on `v`: its NICs and the addresses it carries."""
        out: list[Evidence] = []
        if not v.bridges_known:
            return [v.unknown_bridge_evidence(bridge)]
        br = v.bridges.get(bridge)
        if br is not None:
            nics = ", ".join(n.name for n in br.nics) or "no NIC"
            out.append(v.ovs_evidence(_(
                    "{bridge} holds {nics}").format(
                    bridge=bridge, nics=nics), "Bridge", bridge))
        for a in v.addresses_on_bridge(bridge):
            out.append(v.address_evidence(a))
        return out

    def bridge_networks(self, v: HostView, bridge: str) -> set[IpNet]:
        """The subnets whose L2 segment `bridge` is part of on `v` (its addresses, the
        host's management if it rides the bridge)."""
        nets = {address_network(a) for a in v.addresses_on_bridge(bridge)}
        m = v.management
        if m is not None and m.bridge == bridge and m.network is not None:
            nets.add(m.network)
        return nets

    def management_networks(self) -> frozenset[IpNet]:
        return self._management_networks

    @cached_property
    def _management_networks(self) -> frozenset[IpNet]:
        return frozenset(s.network for s in self.segments)

    def ip_in(self, ip: str, nets: AbstractSet[IpNet]) -> bool:
        a = _address(ip)
        return a is not None and any(a.version == n.version and a in n for n in nets)


@record
class ChangeContext:
    """What a change-time rule sees (`registry.change_rule`): the change as read, what the
    executor did with each of its lines, and the rules' view of the snapshot before it."""

    change: Change
    result: ChangeResult
    before: RuleContext

    @cached_property
    def problems(self) -> tuple[ChangeProblem, ...]:
        """The problems found reading the change and applying it, each once (the same line
        may be reported by both)."""
        seen: set[tuple[str, str, int, str]] = set()
        out = []
        for p in (*self.change.problems, *self.result.problems):
            k = (p.kind, p.location.path, p.location.line, p.message)
            if k not in seen:
                seen.add(k)
                out.append(p)
        return tuple(out)
