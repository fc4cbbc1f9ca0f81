"""`openstack network create` as Neutron ML2/OVN realizes it in the Northbound DB.

What is written follows neutron (master, 2026) `neutron/plugins/ml2/drivers/ovn/mech_driver/
ovsdb/ovn_client.py`: `create_network()` adds the switch `neutron-<network id>` with
`_gen_network_parameters()`' external_ids/other_config, and for a segment with a physical
network `create_provnet_port()` adds the localnet port `provnet-<segment id>` (type localnet,
addresses `unknown`, `options:network_name`, `tag_request` = VLAN id, `external_ids:
neutron:provnet-physical-network`), all in one NB transaction. Configuration-dependent values
use Neutron's defaults (`[ovs] igmp_*`, `[ovn] localnet_learn_fdb`, `fdb_age_threshold=300`,
`broadcast_arps_to_all_routers=True`, MTU 1500). The metadata port Neutron creates when
`[ovn] ovn_metadata_enabled` is set is a localport and is not modelled.

Validation follows the ML2 type drivers (`type_flat.py`, `type_vlan.py`
validate_provider_segment) with `flat_networks` / `network_vlan_ranges` from the ml2_conf.ini
copies in the bundle when there are any (Neutron's defaults otherwise: `*` and none), and the
"in use" checks against the provider networks already present in the NB DB.
"""

from __future__ import annotations

from collections.abc import Mapping

from ovnguard.change.model import Command
from ovnguard.change.txn import CtlError, Txn
from ovnguard.i18n import _
from ovnguard.record import record

_FLAGS = frozenset({
    "--external", "--internal", "--share", "--no-share", "--enable", "--disable",
    "--default", "--no-default", "--enable-port-security", "--disable-port-security",
    "--transparent-vlan", "--no-transparent-vlan", "--no-tag", "--no-qos-policy",
})
_VALUED = frozenset({
    "--provider-network-type", "--provider-physical-network", "--provider-segment", "--mtu",
    "--description", "--project", "--project-domain", "--availability-zone-hint", "--tag",
    "--dns-domain", "--qos-policy",
})


class UnsupportedNeutron(Exception):
    pass


@record(slots=True)
class Ml2Config:
    flat_networks: tuple[str, ...] | None  # None: Neutron's default '*'
    vlan_ranges: Mapping[str, tuple[tuple[int, int], ...]] | None  # None: not known


def ml2_config(neutron: Mapping[str, Mapping[str, Mapping[str, str]]]) -> Ml2Config:
    """From parsed ini copies (HostState.neutron): path -> section -> key -> value."""
    flat: tuple[str, ...] | None = None
    vlan: dict[str, tuple[tuple[int, int], ...]] | None = None
    for path in sorted(neutron):
        sections = neutron[path]
        f = sections.get("ml2_type_flat", {}).get("flat_networks")
        if f is not None:
            items = tuple(x.strip() for x in f.split(",") if x.strip())
            flat = None if items == ("*",) else items
        v = sections.get("ml2_type_vlan", {}).get("network_vlan_ranges")
        if v is not None:
            vlan = {}
            for item in (x.strip() for x in v.split(",") if x.strip()):
                parts = item.split(":")
                ranges = vlan.get(parts[0], ())
                if len(parts) == 3 and parts[1].isdigit() and parts[2].isdigit():
                    ranges = (*ranges, (int(parts[1]), int(parts[2])))
                vlan[parts[0]] = ranges
    return Ml2Config(flat, vlan)


def _invalid(msg: str) -> CtlError:
    return CtlError(f"Invalid input for operation: {msg}.")


def _parse(args: tuple[str, ...]) -> tuple[dict[str, str], set[str], str]:
    values: dict[str, str] = {}
    flags: set[str] = set()
    positional: list[str] = []
    i = 0
    while i < len(args):
        a = args[i]
        key, eq, val = a.partition("=")
        if key in _VALUED:
            if not eq:
                if i + 1 >= len(args):
                    raise CtlError(f"error: argument {key}: expected one argument")
                i += 1
                val = args[i]
            values[key] = val
        elif a in _FLAGS:
            flags.add(a)
        elif a.startswith("-"):
            raise CtlError(f"error: unrecognized arguments: {a}")
        else:
            positional.append(a)
        i += 1
    if len(positional) != 1:
        if not positional:
            raise CtlError("error: the following arguments are required: <name>")
        raise CtlError(f"error: unrecognized arguments: {' '.join(positional[1:])}")
    return values, flags, positional[0]


def _provnets(txn: Txn) -> list[tuple[str, int | None]]:
    """(physical network, VLAN) of the provider networks Neutron already made."""
    out = []
    for sw in txn.rows("Logical_Switch"):
        if not sw.name.startswith("neutron-"):
            continue
        for pu in sw.set("ports"):
            p = txn.row("Logical_Switch_Port", pu)
            if p is None or p.get("type") != "localnet" or not p.name.startswith("provnet-"):
                continue
            tag = p.opt("tag_request")
            out.append((str(p.map("options").get("network_name", "")),
                        tag if isinstance(tag, int) else None))
    return out


def network_create(txn: Txn, cmd: Command, ml2: Ml2Config) -> None:
    values, flags, name = _parse(cmd.args)
    ntype = values.get("--provider-network-type")
    physnet = values.get("--provider-physical-network")
    seg_s = values.get("--provider-segment")
    if ntype is None and (physnet or seg_s):
        raise UnsupportedNeutron(_(
            "--provider-physical-network without --provider-network-type: the type Neutron "
            "picks depends on its tenant_network_types"))
    segment: int | None = None
    if seg_s is not None:
        if not seg_s.lstrip("-").isdigit():
            raise CtlError(f"error: argument --provider-segment: invalid int value: '{seg_s}'")
        segment = int(seg_s)
    existing = _provnets(txn)
    if ntype == "flat":
        if not physnet:
            raise _invalid("physical_network required for flat provider network")
        if ml2.flat_networks is not None and not ml2.flat_networks:
            raise _invalid("Flat provider networks are disabled")
        if ml2.flat_networks and physnet not in ml2.flat_networks:
            raise _invalid(f"physical_network '{physnet}' unknown for flat provider network")
        if segment is not None:
            raise _invalid("segmentation_id prohibited for flat provider network")
        if (physnet, None) in existing:
            raise CtlError(
                f"Unable to create the flat network. Physical network {physnet} is in use."
            )
    elif ntype == "vlan":
        if physnet:
            if ml2.vlan_ranges is not None and physnet not in ml2.vlan_ranges:
                raise _invalid(f"physical_network '{physnet}' unknown for VLAN provider network")
            if segment is not None and not 1 <= segment <= 4094:
                raise _invalid("segmentation_id out of range (1 through 4094)")
        elif segment is not None:
            raise _invalid("segmentation_id requires physical_network for VLAN provider network")
        if physnet is None or segment is None:
            segment = _allocate_vlan(physnet, ml2, existing)
        assert physnet is not None
        if (physnet, segment) in existing:
            raise CtlError(
                f"Unable to create the network. The VLAN {segment} on physical network "
                f"{physnet} is in use."
            )
    elif ntype in ("geneve", "vxlan", "gre", "local") or ntype is None:
        physnet = None
    else:
        raise _invalid(f"network_type value '{ntype}' not supported")

    net_id = txn.new_uuid()
    ext = {
        "neutron:network_name": name,
        "neutron:mtu": values.get("--mtu", "1500" if physnet else "1442"),
        "neutron:revision_number": "1",
        "neutron:availability_zone_hints": values.get("--availability-zone-hint", ""),
        "neutron:provnet-network-type": ntype or "geneve",
    }
    other = {
        "mcast_snoop": "false",
        "mcast_flood_unregistered": "false",
        "vlan-passthru": "true" if "--transparent-vlan" in flags else "false",
    }
    if physnet:
        ext["neutron:provnet-physical-network"] = physnet
        other["fdb_age_threshold"] = "300"
    if "--external" in flags:
        other["broadcast-arps-to-all-routers"] = "true"
    ports: tuple[str, ...] = ()
    if physnet:
        seg_id = txn.new_uuid()
        port = txn.insert(
            "Logical_Switch_Port",
            {
                "name": f"provnet-{seg_id}",
                "type": "localnet",
                "addresses": ("unknown",),
                "tag_request": (segment,) if segment is not None else (),
                "options": {
                    "network_name": physnet,
                    "mcast_flood_reports": "true",
                    "mcast_flood": "false",
                    "localnet_learn_fdb": "false",
                },
                "external_ids": {"neutron:provnet-physical-network": physnet},
            },
        )
        ports = (port,)
    txn.insert(
        "Logical_Switch",
        {"name": f"neutron-{net_id}", "external_ids": ext, "other_config": other,
         "ports": ports},
    )


# Neutron allocates a random free VLAN (ml2 helpers.py get_random_unallocated_segment); the
# lowest free one stands for it, which is enough to predict what a localnet port does.
def _allocate_vlan(
    physnet: str | None, ml2: Ml2Config, existing: list[tuple[str, int | None]]
) -> int:
    if physnet is None or ml2.vlan_ranges is None:
        raise UnsupportedNeutron(_(
            "a VLAN network without --provider-physical-network/--provider-segment: which "
            "VLAN Neutron allocates depends on network_vlan_ranges (not in the bundle)"))
    used = {v for p, v in existing if p == physnet}
    for lo, hi in ml2.vlan_ranges.get(physnet, ()):
        for v in range(lo, hi + 1):
            if v not in used:
                return v
    raise CtlError(
        "Unable to create the network. No tenant network is available for allocation."
    )
