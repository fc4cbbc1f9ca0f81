"""What ovn-controller on one host reads from that host's Open_vSwitch database.

Source: ovn v23.03.1 controller/chassis.c (`get_ovs_chassis_id`, `chassis_parse_ovs_config`),
controller/ovn-controller.c (`br_int_name`), lib/ovn-util.c (`get_chassis_external_id_value`:
`<key>-<system-id>` wins over `<key>`), controller/binding.c (`build_local_bindings`),
controller/patch.c (`patch_run`: which ports count as ovn-controller's patch ports).

When a host has no Open_vSwitch DB in the bundle, the SB Chassis row (its reported
ovn-bridge-mappings) and SB Port_Binding.chassis stand in, and every fact says so.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import field
from functools import cached_property

from ovnguard.model.db import Database
from ovnguard.model.evidence import Evidence
from ovnguard.model.logical import SbChassis, Southbound
from ovnguard.model.mesh import is_tunnel_port
from ovnguard.model.ovs import INTEGRATION_BRIDGE, OWNER_KEYS, frozen_smap
from ovnguard.record import record
from ovnguard.simulation.mappings import KEY as MAPPINGS_KEY
from ovnguard.simulation.mappings import chassis_key

DEFAULT_BRIDGE_NAME = INTEGRATION_BRIDGE
# patch.c patch_run(): br-int ports with one of these external_ids are ovn-controller's; the
# last two are no longer created but still deleted on sight.
PATCH_KEYS = OWNER_KEYS
# external_ids keys (each also as "<key>-<system-id>") that ovn-controller copies into its SB
# Chassis row (chassis.c chassis_parse_ovs_config / chassis_build_other_config / encaps).
# A change to one rewrites SB Chassis, which every ovn-controller monitors.
CHASSIS_RECORD_KEYS = (
    "hostname", "ovn-bridge-mappings", "ovn-encap-type", "ovn-encap-ip", "ovn-encap-csum",
    "ovn-cms-options", "ovn-monitor-all", "ovn-enable-lflow-cache", "ovn-limit-lflow-cache",
    "ovn-memlimit-lflow-cache-kb", "ovn-trim-limit-lflow-cache",
    "ovn-trim-wmark-perc-lflow-cache", "ovn-trim-timeout-ms", "ovn-chassis-mac-mappings",
    "ovn-is-interconn", "ovn-transport-zones",
)


@record(slots=True)
class ControllerInterface:
    """An Interface row as ovn-controller reads it (binding.c, patch.c): flat, with its port
    and bridge names, ofport and error, and the Port's external_ids. Not model/ovs.py's
    OvsInterface (nested in its port and bridge, for the rules and plans): the simulation
    reads exactly the columns ovn-controller reads, in conf.db's order."""

    name: str
    type: str
    port: str
    bridge: str
    external_ids: Mapping[str, str]
    options: Mapping[str, str]
    ofport: int | None  # None: not assigned in this snapshot (no ovs-vswitchd yet)
    error: str | None = None
    port_external_ids: Mapping[str, str] = field(default_factory=dict)


@record
class HostConfig:
    host: str
    based_on: str  # "ovs" | "sb" | "none"
    source: str  # conf.db path (or SB path for the fallback)
    chassis: str | None  # system-id = SB Chassis name
    hostname: str  # what the chassis reports as Chassis.hostname
    integration_bridge: str
    mappings_raw: str | None
    mappings_key: str
    bridges: frozenset[str] | None  # None: unknown (fallback)
    interfaces: tuple[ControllerInterface, ...] = ()
    # Fallback only: logical ports SB says are bound to this chassis.
    sb_bound: frozenset[str] = frozenset()
    external_ids: Mapping[str, str] = field(default_factory=dict)
    encap_ok: bool = True
    # False when nothing suggests an ovn-controller runs here (not in SB, no ovn-remote).
    controller_expected: bool = True
    notes: tuple[str, ...] = ()
    problems: tuple[tuple[str, str], ...] = ()  # (level, real log line)

    def evidence(self, fact: str, table: str | None = None, row: str | None = None) -> Evidence:
        return Evidence(fact, self.source, table, row, self.host)

    def br_int_interfaces(self) -> list[ControllerInterface]:
        return [i for i in self.interfaces if i.bridge == self.integration_bridge]

    @cached_property
    def iface_ids(self) -> frozenset[str]:
        """The logical ports the integration bridge's interfaces name (external_ids:iface-id):
        what a change to those ports makes this host look at again."""
        return frozenset(i.external_ids["iface-id"] for i in self.br_int_interfaces()
                         if "iface-id" in i.external_ids)

    def chassis_record(self) -> dict[str, str]:
        """The values this host's ovn-controller writes into SB Chassis."""
        out = {}
        for k in CHASSIS_RECORD_KEYS:
            kk = chassis_key(self.external_ids, self.chassis, k)
            if kk in self.external_ids:
                out[k] = self.external_ids[kk]
        out["system-id"] = self.chassis or ""
        return out


def read_interfaces(ovs: Database) -> tuple[ControllerInterface, ...]:
    """Every interface but ovn-controller's own tunnels (model/mesh.py: encaps.c manages
    those from SB alone; binding.c and patch.c pass them over)."""
    out = []
    for br in ovs.rows("Bridge"):
        for pu in br.set("ports"):
            port = ovs.row("Port", str(pu))
            if port is None:
                continue
            if is_tunnel_port(port, (ovs.row("Interface", str(iu))
                                     for iu in port.set("interfaces"))):
                continue
            for iu in port.set("interfaces"):
                iface = ovs.row("Interface", str(iu))
                if iface is None:
                    continue
                ofport = iface.opt("ofport")
                err = iface.opt("error")
                out.append(ControllerInterface(
                    name=iface.name,
                    type=str(iface.get("type", "") or ""),
                    port=port.name,
                    bridge=br.name,
                    external_ids=frozen_smap(iface, "external_ids"),
                    options=frozen_smap(iface, "options"),
                    ofport=ofport if isinstance(ofport, int) else None,
                    error=str(err) if err is not None else None,
                    port_external_ids=frozen_smap(port, "external_ids"),
                ))
    # build_local_bindings() walks br_int->ports then port->interfaces, both in IDL (uuid)
    # order; the first interface claiming an iface-id wins.
    return tuple(out)


def _interface_order(ovs: Database) -> dict[str, tuple[str, str]]:
    order: dict[str, tuple[str, str]] = {}
    for br in ovs.rows("Bridge"):
        for pu in br.set("ports"):
            port = ovs.row("Port", str(pu))
            for iu in port.set("interfaces") if port is not None else ():
                iface = ovs.row("Interface", str(iu))
                if iface is not None:
                    order[iface.name] = (str(pu), str(iu))
    return order


def port_external_ids(ovs: Database) -> dict[str, Mapping[str, str]]:
    return {p.name: frozen_smap(p, "external_ids") for p in ovs.rows("Port")}


def host_config(host: str, ovs: Database | None, south: Southbound | None) -> HostConfig:
    if ovs is not None:
        # what ovn-controller reads from one host's Open_vSwitch DB, read once per DB (and
        # SB): a what-if re-predicting a host its change did not edit reads it again
        seen: dict[str, tuple[Southbound | None, HostConfig]] = ovs.memo(
            "hostconfig.host_config", lambda db: {})
        got = seen.get(host)
        if got is not None and got[0] is south:
            return got[1]
        hc = _from_ovs(host, ovs, south)
        seen[host] = (south, hc)
        return hc
    return _from_sb(host, south)


def _from_ovs(host: str, ovs: Database, south: Southbound | None) -> HostConfig:
    rows = sorted(ovs.rows("Open_vSwitch"), key=lambda r: r.uuid)
    if not rows:
        return HostConfig(host, "ovs", ovs.source, None, host, DEFAULT_BRIDGE_NAME, None,
                          MAPPINGS_KEY, frozenset(), notes=("Open_vSwitch table is empty",),
                          problems=(("INFO", "No Open_vSwitch row defined."),))
    cfg = rows[0]
    ext = frozen_smap(cfg, "external_ids")
    chassis = ext.get("system-id")
    problems: list[tuple[str, str]] = []
    notes: list[str] = []
    expected = True
    if chassis is None:
        problems.append(("WARN", "'system-id' in Open_vSwitch database is missing."))
    bk = chassis_key(ext, chassis, "ovn-bridge")
    br_int = ext.get(bk, DEFAULT_BRIDGE_NAME)
    hk = chassis_key(ext, chassis, "hostname")
    # get_hostname(): external_ids:hostname, else gethostname() -- the bundle's host name.
    hostname = ext.get(hk, host)
    mk = chassis_key(ext, chassis, MAPPINGS_KEY)
    enc_t = ext.get(chassis_key(ext, chassis, "ovn-encap-type"))
    enc_ip = ext.get(chassis_key(ext, chassis, "ovn-encap-ip"))
    encap_ok = bool(enc_t) and bool(enc_ip)
    if not encap_ok:
        problems.append(("INFO", "Need to specify an encap type and ip"))
    ifaces = read_interfaces(ovs)
    order = _interface_order(ovs)
    ifaces = tuple(sorted(ifaces, key=lambda i: (i.bridge, *order.get(i.name, ("", "")))))
    if south is not None and chassis is not None and chassis not in south.chassis \
            and "ovn-remote" not in ext:
        expected = False
        notes.append(f"chassis {chassis} is not in SB and ovn-remote is not set: "
                     "no ovn-controller seems to run on this host")
    return HostConfig(
        host=host, based_on="ovs", source=ovs.source, chassis=chassis, hostname=hostname,
        integration_bridge=br_int, mappings_raw=ext.get(mk), mappings_key=mk,
        bridges=frozenset(b.name for b in ovs.rows("Bridge")), interfaces=ifaces,
        external_ids=ext, encap_ok=encap_ok, controller_expected=expected,
        notes=tuple(notes), problems=tuple(problems),
    )


def _from_sb(host: str, south: Southbound | None) -> HostConfig:
    if south is None:
        return HostConfig(host, "none", "", None, host, DEFAULT_BRIDGE_NAME, None,
                          MAPPINGS_KEY, None,
                          notes=("no Open_vSwitch DB and no SB DB for this host: nothing "
                                 "can be predicted",))
    ch: SbChassis | None = south.chassis_for_host(host)
    if ch is None:
        return HostConfig(host, "none", south.source, None, host, DEFAULT_BRIDGE_NAME, None,
                          MAPPINGS_KEY, None,
                          notes=(f"no Open_vSwitch DB for this host and no SB Chassis with "
                                 f"hostname or name {host!r}",))
    bound = south.bound_to(ch.name)
    return HostConfig(
        host=host, based_on="sb", source=south.source, chassis=ch.name,
        hostname=ch.hostname or host, integration_bridge=DEFAULT_BRIDGE_NAME,
        mappings_raw=ch.bridge_mappings, mappings_key=MAPPINGS_KEY, bridges=None,
        sb_bound=bound,
        notes=(f"no Open_vSwitch DB for this host: chassis {ch.name}, its bridge mappings "
               "and its bound ports are taken from SB (Chassis, Port_Binding.chassis); the "
               "mapped bridges are assumed to exist and the integration bridge to be br-int",),
    )
