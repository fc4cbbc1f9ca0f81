"""Naming SB Chassis as hosts (hostname, then name) for chassis no host files stand for."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers.real_db import RealDb
from ovnguard.model.logical import chassis_for_host, chassis_host_names, read_chassis
from ovnguard.sources.bundle import SB_KEEP, read_db_file

pytestmark = pytest.mark.realdb


def sb(tmp: Path, cmds: list[str]) -> Path:
    path = tmp / "sb.db"
    with RealDb(path, "sb") as db:
        for c in cmds:
            db.run(c)
        db.backup(tmp / "sb-backup.db")
    return tmp / "sb-backup.db"


def test_hostname_then_name_and_each_name_maps_back(tmp_path: Path) -> None:
    f = sb(tmp_path, [
        "chassis-add aaa geneve 10.0.0.1 -- set chassis aaa hostname=compute1 "
        "other_config:ovn-bridge-mappings=physnet2:br-ex",
        # a stale record of the same node, reinstalled with a new system-id
        "chassis-add bbb geneve 10.0.0.2 -- set chassis bbb hostname=compute1",
        "chassis-add ccc geneve 10.0.0.3",  # no hostname at all
        # old OVN: the copy in external_ids
        "chassis-add ddd geneve 10.0.0.4 -- set chassis ddd hostname=compute4 "
        "external_ids:ovn-bridge-mappings=physnet1:br-ex",
    ])
    chassis = read_chassis(read_db_file(f, "OVN_Southbound", SB_KEEP))
    named = chassis_host_names(chassis)
    assert {h: c.name for h, c in named.items()} == {
        "compute1": "aaa", "bbb": "bbb", "ccc": "ccc", "compute4": "ddd"}
    for host, c in named.items():
        assert chassis_for_host(chassis, host) is c
    assert (chassis["aaa"].bridge_mappings, chassis["aaa"].bridge_mappings_column) == (
        "physnet2:br-ex", "other_config")
    assert (chassis["ddd"].bridge_mappings, chassis["ddd"].bridge_mappings_column) == (
        "physnet1:br-ex", "external_ids")
    assert chassis["ccc"].bridge_mappings is None
    # a name a collected host already has is not reused
    assert "compute4" not in chassis_host_names({"ddd": chassis["ddd"]}, taken={"compute4"})
