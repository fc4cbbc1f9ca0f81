"""ip-on-ovs-port, mgmt-bridge-secure-no-controller, bridge-hwaddr-unpinned,
control-plane-via-provider-bridge."""

from pathlib import Path
from typing import Any

import pytest

from helpers.rules_cluster import (
    NEUTRON_PUB,
    chassis_ids,
    ctx,
    host,
    incident_ovs,
    nb,
    separated_ovs,
    snapshot,
)
from ovnguard.findings.context import RuleContext
from ovnguard.findings.finding import Finding, Severity
from ovnguard.findings.registry import get_rule
from ovnguard.model.snapshot import Snapshot

pytestmark = pytest.mark.realdb


def _run(rule: str, c: RuleContext) -> list[Finding]:
    return get_rule(rule).check(c)


def _snap(tmp_path: Path, name: str, ovs: list[str], **kw: Any) -> Snapshot:
    return snapshot(nb(tmp_path, NEUTRON_PUB), [host(tmp_path, name, ovs, **kw)])


def test_ip_on_ovs_port_positive_management_nic(tmp_path: Path) -> None:
    snap = _snap(tmp_path, "compute4", ["add-br br-ex -- add-port br-ex enp6s18",
                                         chassis_ids("compute4", "physnet2:br-ex")])
    (f,) = _run("ip-on-ovs-port", ctx(snap))
    assert f.key == "compute4:enp6s18:10.10.0.41/24"
    assert f.severity == Severity.high and f.loses_management == ("compute4",)
    assert "its management address" in f.summary and "a port of br-ex" in f.summary
    assert "ip addr add 10.10.0.41/24 dev br-ex" in f.remediation
    assert any(e.table == "Interface" and e.row == "enp6s18" for e in f.evidence)


def test_ip_on_ovs_port_positive_non_management(tmp_path: Path) -> None:
    # gw5 is managed on enp6s18 (outside OVS); its storage NIC eth3 (198.51.100.51/24) is
    # made a port of br-storage: that address dies, management does not.
    snap = _snap(tmp_path, "gw5", ["add-br br-public -- add-port br-public eth2",
                                    "add-br br-storage -- add-port br-storage eth3",
                                    chassis_ids("gw5", "physnet2:br-public")])
    (f,) = _run("ip-on-ovs-port", ctx(snap))
    assert f.key == "gw5:eth3:198.51.100.51/24"
    assert f.loses_management == () and "no longer answers" in f.summary


def test_ip_on_ovs_port_negative(tmp_path: Path) -> None:
    snap = _snap(tmp_path, "compute3", separated_ovs("compute3"))
    assert _run("ip-on-ovs-port", ctx(snap)) == []
    snap = _snap(tmp_path, "compute1", incident_ovs("compute1"))  # the IP is on br-ex itself
    assert _run("ip-on-ovs-port", ctx(snap)) == []


def test_mgmt_bridge_secure_no_controller_positive(tmp_path: Path) -> None:
    snap = _snap(tmp_path, "compute1", [*incident_ovs("compute1"), "set-fail-mode br-ex secure"])
    (f,) = _run("mgmt-bridge-secure-no-controller", ctx(snap))
    assert (f.key, f.loses_management) == ("compute1:br-ex", ("compute1",))
    assert "set-fail-mode br-ex standalone" in f.remediation


def test_mgmt_bridge_secure_no_controller_negative(tmp_path: Path) -> None:
    with_ctl = [*incident_ovs("compute1"), "set-fail-mode br-ex secure",
                "set-controller br-ex tcp:127.0.0.1:6653"]
    assert _run("mgmt-bridge-secure-no-controller", ctx(_snap(tmp_path, "compute1", with_ctl))) \
        == []
    # br-int is secure with no Controller row by design (ovn-controller uses br-int.mgmt).
    sep = _snap(tmp_path, "compute3", separated_ovs("compute3"))
    assert _run("mgmt-bridge-secure-no-controller", ctx(sep)) == []


def test_bridge_hwaddr_unpinned_positive(tmp_path: Path) -> None:
    snap = _snap(tmp_path, "compute1", incident_ovs("compute1"))
    (f,) = _run("bridge-hwaddr-unpinned", ctx(snap))
    assert f.severity == Severity.low and f.key == "compute1:br-ex"
    # The MAC to pin is the one br-ex has now, from link.json.
    mac = next(lk.address for lk in snap.hosts["compute1"].links or () if lk.ifname == "br-ex")
    assert f"other_config:hwaddr={mac}" in f.remediation


def test_bridge_hwaddr_unpinned_negative(tmp_path: Path) -> None:
    pinned = [*incident_ovs("compute1"),
              'set bridge br-ex other_config:hwaddr="52:54:00:12:34:56"']
    assert _run("bridge-hwaddr-unpinned", ctx(_snap(tmp_path, "compute1", pinned))) == []
    # Bridges without an address (NIC-separated) are not at risk.
    assert _run("bridge-hwaddr-unpinned",
                ctx(_snap(tmp_path, "compute3", separated_ovs("compute3")))) == []


def test_control_plane_via_provider_bridge_positive(tmp_path: Path) -> None:
    ovs = ["add-br br-int", "add-br br-ex -- add-port br-ex eth1",
           chassis_ids("compute6", "physnet1:br-ex", remote="tcp:172.16.0.10:6642")]
    (f,) = _run("control-plane-via-provider-bridge", ctx(_snap(tmp_path, "compute6", ovs)))
    assert f.key == "compute6:tcp:172.16.0.10:6642"
    assert "leaves through br-ex, which physnet1 is mapped to" in f.summary
    assert any("172.16.0.0/16 via 192.168.100.1 dev br-ex" in e.fact for e in f.chain)


def test_control_plane_also_reads_neutron_ovn_connections(tmp_path: Path) -> None:
    # compute1 reaches ctl1's databases over the connected 10.10.0.0/24 on br-ex, which
    # physnet2 is mapped to; ml2_conf.ini adds the NB connection.
    ml2 = "[ml2]\nmechanism_drivers = ovn\n\n[ovn]\novn_nb_connection = tcp:10.10.0.10:6641\n"
    snap = _snap(tmp_path, "compute1", incident_ovs("compute1"),
                 neutron={"neutron/plugins/ml2/ml2_conf.ini": ml2})
    found = {f.key: f for f in _run("control-plane-via-provider-bridge", ctx(snap))}
    assert sorted(found) == ["compute1:tcp:10.10.0.10:6641", "compute1:tcp:10.10.0.10:6642"]
    nbf = found["compute1:tcp:10.10.0.10:6641"]
    assert "(NB)" in nbf.summary
    assert any(e.source == "hosts/compute1/etc/neutron/plugins/ml2/ml2_conf.ini"
               for e in nbf.evidence)
    # The databases' own host: its connection is local, no route, no finding.
    local = _snap(tmp_path, "ctl1", incident_ovs("ctl1"))
    assert _run("control-plane-via-provider-bridge", ctx(local)) == []


def test_control_plane_via_provider_bridge_negative(tmp_path: Path) -> None:
    snap = _snap(tmp_path, "compute3", separated_ovs("compute3"))
    assert _run("control-plane-via-provider-bridge", ctx(snap)) == []
