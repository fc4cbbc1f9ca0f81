"""`lab export DIR`: a bundle (docs/bundle.md) taken from a running lab.

The OVSDB files come from the lab's real servers via `ovsdb-client backup`, never typed by
hand; addr/route/link JSON are synthesized (iproute.py) because lab hosts have no kernel of
their own.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from ovnguard.errors import LabError
from ovnguard.i18n import _
from ovnguard.lab.iproute import LabInterface, addr_json, devices, link_json, route_json
from ovnguard.lab.process import run_bytes
from ovnguard.model.ovs import json_scalar, json_tables, json_uuid, json_uuids, list_args

if TYPE_CHECKING:
    from ovnguard.lab.lab import Lab
    from ovnguard.lab.protocol import OvnLab


def _backup(remote: str, database: str, dest: Path) -> None:
    data = run_bytes(["ovsdb-client", "--timeout=30", "backup", remote, database], timeout=35)
    if not data:
        raise LabError(_(
            "ovsdb-client backup {remote} {database} printed nothing").format(
            remote=remote, database=database))
    dest.write_bytes(data)








def ovs_interfaces(lab: OvnLab, host: str) -> list[LabInterface]:
    out = lab.vsctl(host, *list_args(("Bridge", "name,ports"), ("Port", "_uuid,interfaces"),
                                     ("Interface", "_uuid,name,type,mac_in_use,mtu")))
    bridges, ports, ifaces = json_tables(out)
    port_ifaces = {json_uuid(row[0]): json_uuids(row[1]) for row in ports["data"]}
    iface_rows = {json_uuid(row[0]): row for row in ifaces["data"]}
    result: list[LabInterface] = []
    for br_name, port_set in sorted(bridges["data"], key=lambda r: r[0]):
        for p in json_uuids(port_set):
            for i in port_ifaces.get(p, []):
                row = iface_rows.get(i)
                if row is None:
                    continue
                _uuid, name, typ, mac, mtu = row
                result.append(
                    LabInterface(
                        name=name, type=typ, bridge=br_name, mac=json_scalar(mac),
                        mtu=json_scalar(mtu),
                    )
                )
    return sorted(result, key=lambda r: (r.bridge, r.name))


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def export_bundle(lab: Lab, dest: str | Path, *, force: bool = False) -> Path:
    """Write a bundle (docs/bundle.md layout) of the running lab to `dest`."""
    dest = Path(dest).absolute()
    if dest.exists() and any(dest.iterdir()) and not force:
        raise LabError(_(
            "{dest} is not empty; choose a new directory (or --force to overwrite)").format(
            dest=dest))
    hosts_dir = dest / "hosts"
    hosts_dir.mkdir(parents=True, exist_ok=True)
    topo = lab.topology

    def one_host(name: str) -> None:
        hdir = hosts_dir / name
        hdir.mkdir(exist_ok=True)
        _backup(lab.host_paths(name).ovsdb.remote, "Open_vSwitch", hdir / "conf.db")
        host = topo.host(name)
        devs = devices(host, ovs_interfaces(lab, name))
        _write_json(hdir / "addr.json", addr_json(devs))
        _write_json(hdir / "route.json", route_json(host, devs))
        _write_json(hdir / "link.json", link_json(devs))

    with ThreadPoolExecutor(max_workers=8) as pool:
        futures = [
            pool.submit(_backup, lab.nb_remote, "OVN_Northbound", dest / "nb.db"),
            pool.submit(_backup, lab.sb_remote, "OVN_Southbound", dest / "sb.db"),
            *(pool.submit(one_host, h) for h in lab.host_names()),
        ]
        for f in futures:
            f.result()

    inventory = {
        "hosts": {
            h.name: {"address": str(h.management.address.ip)}
            for h in topo.hosts
            if h.management is not None
        }
    }
    (dest / "inventory.yaml").write_text(
        "# Management addresses (what operators SSH to), from the lab topology.\n"
        + yaml.safe_dump(inventory, sort_keys=False),
        encoding="utf-8",
    )
    return dest
