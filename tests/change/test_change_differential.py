"""apply_change() against the real ovn-nbctl 23.03 / ovs-vsctl 3.1 on a real ovsdb-server.

Every case runs the same lines through the model and through the real tool from the same
database file; the resulting databases, the set of failing lines and the error texts must be
identical (see tests/helpers/change_oracle.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers.change_oracle import compare
from helpers.real_db import make_db

pytestmark = pytest.mark.realdb

PUBLIC = "neutron-6f1d43a0-5a4e-4f0b-9d1c-2b7e8f6a9c01"
PRIVATE = "neutron-0b9e2c55-3d7a-4c61-8e2f-7a1b5c9d4e02"
ROUTER = "neutron-9a8b7c6d-1e2f-4a3b-8c9d-0e1f2a3b4c5d"
SEED = """LS_NAME="neutron-<provider-network-UUID>"
PHYSNET="phynet2"

ovn-nbctl lsp-add ${LS_NAME} ln-${PHYSNET}
ovn-nbctl lsp-set-type ln-${PHYSNET} localnet
ovn-nbctl lsp-set-options ln-${PHYSNET} network_name=${PHYSNET}
ovn-nbctl lsp-set-addresses ln-${PHYSNET} "unknown"
"""


@pytest.fixture(scope="module")
def nb_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Neutron-like NB: a provider network with its localnet port, a tenant network with
    two VMs, a router with a gateway port on the provider network."""
    d = tmp_path_factory.mktemp("nb")
    return make_db(
        d / "nb.db",
        "nb",
        [
            ["ls-add", PUBLIC, "--", "set", "Logical_Switch", PUBLIC,
             'external_ids:"neutron:network_name"=public'],
            f"lsp-add {PUBLIC} provnet-1a2b -- lsp-set-type provnet-1a2b localnet -- "
            "lsp-set-options provnet-1a2b network_name=physnet2 -- "
            "lsp-set-addresses provnet-1a2b unknown",
            ["ls-add", PRIVATE, "--", "set", "Logical_Switch", PRIVATE,
             'external_ids:"neutron:network_name"=private'],
            f"lsp-add {PRIVATE} vm1 -- lsp-set-addresses vm1 'fa:16:3e:00:00:01 10.0.0.5'",
            f"lsp-add {PRIVATE} vm2 -- lsp-set-addresses vm2 'fa:16:3e:00:00:02 10.0.0.6 fd00::6'",
            f"lr-add {ROUTER} -- lrp-add {ROUTER} lrp-gw fa:16:3e:00:00:10 172.24.4.10/24 "
            "-- lrp-set-gateway-chassis lrp-gw compute1 2",
            "set NB_Global . options:mac_prefix=0a:00:00",
        ],
    )


@pytest.fixture(scope="module")
def ovs_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("ovs")
    return make_db(
        d / "conf.db",
        "vswitch",
        [
            "add-br br-int -- set bridge br-int fail_mode=secure",
            "add-br br-ex -- add-port br-ex enp6s18",
            "set Open_vSwitch . external_ids:ovn-bridge-mappings=physnet2:br-ex "
            "external_ids:system-id=compute1 external_ids:hostname=compute1",
            "add-port br-int tap1 -- set interface tap1 external_ids:iface-id=vm1",
        ],
    )


NB_CASES: dict[str, str] = {
    # The read-only verbs the model claims: they change nothing but can fail.
    "read-only": (
        "ovn-nbctl init\novn-nbctl sync\novn-nbctl show\novn-nbctl ls-list\n"
        "ovn-nbctl lr-list\novn-nbctl comment hello\n"
        f"ovn-nbctl lrp-list {ROUTER}\novn-nbctl lrp-list nosuch\n"
        "ovn-nbctl lsp-get-options vm1\novn-nbctl lsp-get-addresses vm1\n"
        "ovn-nbctl lsp-get-enabled vm1\novn-nbctl lsp-get-parent vm1\n"
        "ovn-nbctl lsp-get-tag vm1\novn-nbctl lsp-get-up vm1\novn-nbctl lsp-get-ls vm1\n"
        "ovn-nbctl lsp-get-ls nosuch\novn-nbctl lrp-get-enabled lrp-gw\n"
        "ovn-nbctl lrp-get-enabled nosuch\n"
        "ovn-nbctl find Logical_Switch_Port name=vm1\novn-nbctl find Nosuch a=b\n"
    ),
    "seed-verbatim": SEED,
    "seed-corrected": SEED.replace("neutron-<provider-network-UUID>", PUBLIC).replace(
        "phynet2", "physnet2"
    ),
    "chained-localnet": (
        f"ovn-nbctl lsp-add {PUBLIC} ln-physnet2 -- lsp-set-type ln-physnet2 localnet \\\n"
        "  -- lsp-set-options ln-physnet2 network_name=physnet2 \\\n"
        "  -- lsp-set-addresses ln-physnet2 unknown\n"
    ),
    "chain-fails-in-the-middle": (
        f"ovn-nbctl lsp-add {PUBLIC} ln-a -- lsp-set-type ln-a bogus -- lsp-set-options ln-a x=y\n"
        "ovn-nbctl lsp-add " + PUBLIC + " ln-a\n"
    ),
    "switches": (
        "ovn-nbctl ls-add sw1\novn-nbctl ls-add sw1\novn-nbctl --may-exist ls-add sw1\n"
        "ovn-nbctl ls-add\novn-nbctl --may-exist ls-add\novn-nbctl ls-add --add-duplicate sw1\n"
        "ovn-nbctl --may-exist --add-duplicate ls-add sw1\n"
        "ovn-nbctl ls-del sw1\novn-nbctl ls-del sw1\novn-nbctl --if-exists ls-del sw1\n"
        "ovn-nbctl ls-add sw2 -- ls-add sw2\n"
    ),
    "ports": (
        "ovn-nbctl lsp-add nosuch p1\n"
        f"ovn-nbctl lsp-add {PRIVATE} p1\n"
        f"ovn-nbctl lsp-add {PRIVATE} p1\n"
        f"ovn-nbctl --may-exist lsp-add {PRIVATE} p1\n"
        f"ovn-nbctl --may-exist lsp-add {PUBLIC} p1\n"
        f"ovn-nbctl lsp-add {PRIVATE} c1 p1 7\n"
        f"ovn-nbctl lsp-add {PRIVATE} c2 p1 4096\n"
        f"ovn-nbctl lsp-add {PRIVATE} c3 p1\n"
        f"ovn-nbctl --may-exist lsp-add {PRIVATE} c1 p1 8\n"
        f"ovn-nbctl --may-exist lsp-add {PRIVATE} c1 p2 7\n"
        f"ovn-nbctl --may-exist lsp-add {PRIVATE} p1 p1 7\n"
        "ovn-nbctl lsp-del c1\novn-nbctl lsp-del c1\novn-nbctl --if-exists lsp-del c1\n"
        "ovn-nbctl lsp-set-type p1 localport\novn-nbctl lsp-set-type p1 bogus\n"
        "ovn-nbctl lsp-set-type p1 ''\n"
        "ovn-nbctl lsp-set-options p1 a=1 b=2 noequals c=\n"
        "ovn-nbctl lsp-set-options p1 x=1\novn-nbctl lsp-set-options p1\n"
        "ovn-nbctl lsp-set-enabled p1 disabled\novn-nbctl lsp-set-enabled p1 ENABLED\n"
        "ovn-nbctl lsp-set-enabled p1 maybe\n"
        "ovn-nbctl lsp-set-addresses p1 'fa:16:3e:00:00:09 10.0.0.5'\n"
        "ovn-nbctl lsp-set-addresses p1 'fa:16:3e:00:00:09 fd00::6'\n"
        "ovn-nbctl lsp-set-addresses p1 'fa:16:3e:00:00:09 10.0.0.9' unknown\n"
        "ovn-nbctl lsp-set-addresses p1 router\novn-nbctl lsp-set-addresses p1 dynamic\n"
        "ovn-nbctl lsp-set-addresses p1 'dynamic 10.0.0.50'\n"
        "ovn-nbctl lsp-set-addresses p1 10.0.0.9\novn-nbctl lsp-set-addresses p1\n"
        "ovn-nbctl lsp-get-type nosuch\novn-nbctl lsp-list nosuch\novn-nbctl show\n"
    ),
    "routers": (
        "ovn-nbctl lr-add r1\novn-nbctl lr-add r1\novn-nbctl --may-exist lr-add r1\n"
        "ovn-nbctl lrp-add r1 lrp1 00:00:00:00:00:01 10.1.0.1/24 fd01::1/64 peer=lrp9\n"
        "ovn-nbctl lrp-add r1 lrp1 00:00:00:00:00:01 10.1.0.1/24\n"
        "ovn-nbctl --may-exist lrp-add r1 lrp1 00:00:00:00:00:01 10.1.0.1/24 fd01::1/64 peer=lrp9\n"
        "ovn-nbctl --may-exist lrp-add r1 lrp1 00:00:00:00:00:02 10.1.0.1/24 fd01::1/64\n"
        "ovn-nbctl --may-exist lrp-add r1 lrp1 00:00:00:00:00:01 10.1.0.1/24 fd01::1/64\n"
        "ovn-nbctl lrp-add r1 lrp2 zz:00:00:00:00:01 10.2.0.1/24\n"
        "ovn-nbctl lrp-add r1 lrp2 00:00:00:00:00:03 10.2.0.300/24\n"
        "ovn-nbctl lrp-add r1 lrp2 00:00:00:00:00:03 peer=x\n"
        "ovn-nbctl lrp-add r1 lrp2 00:00:00:00:00:03 10.2.0.1/24 options:gateway_mtu=1400\n"
        "ovn-nbctl lrp-add nosuch lrp3 00:00:00:00:00:04 10.3.0.1/24\n"
        "ovn-nbctl lrp-set-gateway-chassis lrp1 compute1\n"
        "ovn-nbctl lrp-set-gateway-chassis lrp1 compute2 20\n"
        "ovn-nbctl lrp-set-gateway-chassis lrp1 compute2 30\n"
        "ovn-nbctl lrp-set-gateway-chassis lrp1 compute3 99999\n"
        "ovn-nbctl lrp-set-gateway-chassis nosuch compute1\n"
        "ovn-nbctl lrp-del-gateway-chassis lrp1 compute9\n"
        "ovn-nbctl lrp-del-gateway-chassis lrp1 compute2\n"
        "ovn-nbctl lrp-del-gateway-chassis lrp1 compute1x\n"
        "ovn-nbctl lrp-set-enabled lrp2 disabled\novn-nbctl lrp-set-options lrp2 a=b\n"
        "ovn-nbctl lrp-del lrp2\novn-nbctl lrp-del lrp2\novn-nbctl --if-exists lrp-del lrp2\n"
        "ovn-nbctl lr-del r1\novn-nbctl lr-del r1\novn-nbctl lrp-get-gateway-chassis lrp-gw\n"
    ),
    "generic-set-add-remove-clear": (
        "ovn-nbctl set Logical_Switch_Port vm1 external_ids:owner=alice "
        "options:requested-chassis=compute1\n"
        "ovn-nbctl set logical_switch_port vm1 'external_ids:\"a b\"=\"c d\"' tag_request=5\n"
        "ovn-nbctl set Logical_Switch_Port vm1 enabled=false "
        "addresses='[\"fa:16:3e:00:00:01 10.0.0.5\", unknown]'\n"
        "ovn-nbctl set Logical_Switch_Port vm1 'external_ids={x=1,y=2}'\n"
        "ovn-nbctl add Logical_Switch_Port vm1 external_ids x=9 z=3\n"
        "ovn-nbctl add Logical_Switch_Port vm1 external_ids x=8 "
        "-- add Logical_Switch_Port vm1 external_ids y=7\n"
        "ovn-nbctl add Logical_Switch_Port vm1 addresses router\n"
        "ovn-nbctl remove Logical_Switch_Port vm1 external_ids x y=2 z=4\n"
        "ovn-nbctl remove Logical_Switch_Port vm1 addresses router\n"
        "ovn-nbctl clear Logical_Switch_Port vm1 external_ids tag_request\n"
        "ovn-nbctl clear Logical_Switch_Port vm1 name\n"
        "ovn-nbctl remove Logical_Switch_Port vm1 name vm1\n"
        "ovn-nbctl set Logical_Switch_Port vm1 tag_request=[]\n"
        "ovn-nbctl add Logical_Switch_Port vm1 tag_request 3 "
        "-- add Logical_Switch_Port vm1 tag_request 4\n"
        "ovn-nbctl add Logical_Switch_Port vm1 tag_request 4 "
        "-- set Logical_Switch_Port vm1 type=''\n"
        "ovn-nbctl add Logical_Switch_Port vm1 tag_request 5\n"
        "ovn-nbctl set Logical_Switch private other_config:mcast_snoop=true\n"
        "ovn-nbctl set Logical_Switch nosuch other_config:a=b\n"
        "ovn-nbctl --if-exists set Logical_Switch nosuch other_config:a=b\n"
        "ovn-nbctl set NB_Global . options:northd_probe_interval=5000\n"
        "ovn-nbctl set Logical_Sw vm1 name=x\n"
        "ovn-nbctl set Nosuch x a=b\n"
        "ovn-nbctl set Logical_Switch_Port vm1 nosuch=1\n"
        "ovn-nbctl set Logical_Switch_Port vm1 enabled=maybe\n"
        "ovn-nbctl set Logical_Switch_Port vm1 tag_request=x\n"
        "ovn-nbctl set Logical_Switch_Port vm1 type\n"
        "ovn-nbctl set Logical_Switch_Port vm1 type=\n"
        "ovn-nbctl set Logical_Switch_Port vm1 options={a}\n"
        "ovn-nbctl set Logical_Switch_Port vm1 addresses:x=y\n"
        "ovn-nbctl set Logical_Switch_Port vm1 options=a=1,a=2\n"
        "ovn-nbctl set Logical_Switch_Port vm1 'enabled=[true,false]'\n"
        "ovn-nbctl set Logical_Switch_Port vm2 name=vm1\n"
        "ovn-nbctl set Logical_Switch " + PRIVATE + " ports=[]\n"
        "ovn-nbctl set Logical_Switch " + PRIVATE
        + " ports=11111111-2222-3333-4444-555555555555\n"
        "ovn-nbctl get Logical_Switch_Port vm1 external_ids:owner\n"
        "ovn-nbctl get Logical_Switch_Port vm1 external_ids:nosuch\n"
        "ovn-nbctl list Logical_Switch_Port vm1 nosuch\n"
    ),
    "create-destroy-ids": (
        "ovn-nbctl create Logical_Switch name=made external_ids:k=v\n"
        "ovn-nbctl create Gateway_Chassis name=orphan chassis_name=c\n"
        "ovn-nbctl --id=@gc create Gateway_Chassis name=gc1 chassis_name=compute5 priority=7 "
        "-- add Logical_Router_Port lrp-gw gateway_chassis @gc\n"
        "ovn-nbctl add Logical_Router_Port lrp-gw gateway_chassis @nope\n"
        "ovn-nbctl --id=gc create Gateway_Chassis name=x chassis_name=y\n"
        "ovn-nbctl set Gateway_Chassis lrp-gw-compute1 priority=4\n"
        "ovn-nbctl destroy Logical_Switch_Port vm2\n"
        "ovn-nbctl destroy Logical_Switch made\novn-nbctl destroy Logical_Switch made\n"
        "ovn-nbctl --if-exists destroy Logical_Switch made\n"
        "ovn-nbctl destroy Logical_Switch --all made\n"
        "ovn-nbctl ls-add t1 -- ls-add t2\novn-nbctl --all destroy Logical_Router\n"
    ),
    "syntax": (
        "ovn-nbctl frobnicate\novn-nbctl ls-del\novn-nbctl ls-add a b\n"
        "ovn-nbctl --if-exists ls-add x\novn-nbctl ls-add --if-exists x\n"
        "ovn-nbctl --foo ls-add x\novn-nbctl --wait=bogus ls-add x\novn-nbctl -t 0 ls-add x\n"
        "ovn-nbctl ls-add x --may-exist\novn-nbctl\novn-nbctl --may-exist\n"
        "ovn-nbctl ls-add y -- -- ls-add z\novn-nbctl --may-exist -- ls-add z\n"
        "ovn-nbctl --dry-run ls-add dry\novn-nbctl --db=unix:/nonexistent --version\n"
    ),
    "shell-semicolons": "ovn-nbctl ls-add j1 ; ovn-nbctl ls-add j1 ; ovn-nbctl ls-add j2\n",
    "neutron-aliases": (
        "ovn-nbctl set Logical_Switch public other_config:vlan-passthru=false\n"
        "ovn-nbctl lsp-add public p9\n"
        "ovn-nbctl ls-del private\n"
        "ovn-nbctl lsp-set-addresses vm1 unknown\n"
        "ovn-nbctl lsp-del vm1 -- lsp-add " + PUBLIC + " vm1\n"
    ),
}


@pytest.mark.parametrize("name", sorted(NB_CASES))
def test_nb_lines_match_real_ovn_nbctl(name: str, nb_file: Path, tmp_path: Path) -> None:
    cmp = compare(nb_file, "nb", NB_CASES[name], tmp_path)
    cmp.assert_same()


def test_seed_snippet_every_line_rejected_with_suggestions(nb_file: Path, tmp_path: Path) -> None:
    cmp = compare(nb_file, "nb", SEED, tmp_path)
    cmp.assert_same()
    assert cmp.real_failed == {0, 1, 2, 3}
    problems = cmp.result.problems
    assert [p.location.line for p in problems] == [4, 5, 6, 7]
    first = problems[0]
    assert first.message == "ovn-nbctl: neutron-<provider-network-UUID>: switch name not found"
    assert first.command == "ovn-nbctl lsp-add 'neutron-<provider-network-UUID>' ln-phynet2"
    # Both neutron-* switches are candidates; the provider network (it has a localnet port)
    # comes first.
    assert first.suggestions == (PUBLIC, PRIVATE)
    for p in problems[1:]:
        assert p.message == "ovn-nbctl: ln-phynet2: port name not found"
        assert p.note == "ln-phynet2 would have been created by line 4, which failed"
    assert cmp.result.snapshot.nb is cmp.result.before.nb  # nothing applied


def test_seed_snippet_corrected_applies_cleanly(nb_file: Path, tmp_path: Path) -> None:
    cmp = compare(nb_file, "nb", NB_CASES["seed-corrected"], tmp_path)
    cmp.assert_same()
    assert not cmp.result.problems
    port = cmp.result.snapshot.nb.find_one("Logical_Switch_Port", "ln-physnet2")
    assert port is not None
    assert port["type"] == "localnet"
    assert port["options"] == {"network_name": "physnet2"}
    assert port["addresses"] == ("unknown",)
    kinds = [[(c.table, c.kind) for c in a.changes] for a in cmp.result.applied]
    assert kinds[0] == [("Logical_Switch", "update"), ("Logical_Switch_Port", "insert")]
    assert kinds[1:] == [[("Logical_Switch_Port", "update")]] * 3


def test_empty_nb_gets_nb_global_like_the_real_tool(tmp_path: Path) -> None:
    import subprocess

    from helpers.real_db import SCHEMAS

    empty = tmp_path / "empty.db"
    subprocess.run(["ovsdb-tool", "create", str(empty), SCHEMAS["nb"][0]], check=True)
    cmp = compare(empty, "nb", "ovn-nbctl ls-list\novn-nbctl ls-add a\n", tmp_path)
    cmp.assert_same()
    assert "NB_Global" in cmp.model_db


OVS_CASES: dict[str, str] = {
    "read-only": (
        "ovs-vsctl --no-wait init\novs-vsctl show\novs-vsctl list-br\n"
        "ovs-vsctl comment x\novs-vsctl list-ifaces br-ex\novs-vsctl list-ifaces nosuch\n"
        "ovs-vsctl get-fail-mode br-ex\novs-vsctl br-get-external-id br-ex\n"
        "ovs-vsctl br-get-external-id nosuch\novs-vsctl iface-to-br eth1\n"
        "ovs-vsctl iface-to-br nosuch\novs-vsctl find Bridge name=br-ex\n"
    ),
    "bridges": (
        "ovs-vsctl --no-wait add-br br-public\novs-vsctl --no-wait add-br br-public\n"
        "ovs-vsctl --no-wait --may-exist add-br br-public\n"
        "ovs-vsctl --no-wait add-br enp6s18\novs-vsctl --no-wait add-br ''\n"
        "ovs-vsctl --no-wait add-br br-v br-ex 100\novs-vsctl --no-wait add-br br-v2 br-ex 100\n"
        "ovs-vsctl --no-wait add-br br-w nosuch 5\novs-vsctl --no-wait add-br br-w br-ex 5000\n"
        "ovs-vsctl --no-wait add-br a b\n"
        "ovs-vsctl --no-wait --may-exist add-br br-v br-ex 101\n"
        "ovs-vsctl --no-wait --may-exist add-br br-v\n"
        "ovs-vsctl --no-wait add-port br-v vport1\n"
        "ovs-vsctl --no-wait del-br br-v\n"
        "ovs-vsctl --no-wait del-br nosuch\novs-vsctl --no-wait --if-exists del-br nosuch\n"
        "ovs-vsctl --no-wait del-br br-public\n"
    ),
    "ports": (
        "ovs-vsctl --no-wait add-port br-ex eth2\novs-vsctl --no-wait add-port br-ex eth2\n"
        "ovs-vsctl --no-wait add-port br-nope eth3\n"
        "ovs-vsctl --no-wait --may-exist add-port br-ex eth2\n"
        "ovs-vsctl --no-wait --may-exist add-port br-int eth2\n"
        "ovs-vsctl --no-wait add-port br-int br-ex\n"
        "ovs-vsctl --no-wait add-port br-ex p1 tag=5 -- set interface p1 type=patch "
        "options:peer=p2\n"
        "ovs-vsctl --no-wait add-port br-ex p3 nosuch=1\n"
        "ovs-vsctl --no-wait add-bond br-ex bond0 eth5 eth6 lacp=active\n"
        "ovs-vsctl --no-wait add-bond br-ex bond1 eth7\n"
        "ovs-vsctl --no-wait del-port eth2\novs-vsctl --no-wait del-port eth2\n"
        "ovs-vsctl --no-wait --if-exists del-port eth2\n"
        "ovs-vsctl --no-wait del-port br-ex\novs-vsctl --no-wait del-port br-int p1\n"
        "ovs-vsctl --no-wait del-port br-ex p1\n"
        "ovs-vsctl --no-wait --with-iface del-port eth6\n"
        "ovs-vsctl --no-wait del-br br-ex\n"
    ),
    "open-vswitch-and-columns": (
        "ovs-vsctl --no-wait set Open_vSwitch . "
        "external_ids:ovn-bridge-mappings=physnet1:br-ex,physnet2:br-public\n"
        "ovs-vsctl --no-wait remove Open_vSwitch . external_ids ovn-bridge-mappings\n"
        "ovs-vsctl --no-wait remove Open_vSwitch . external_ids ovn-bridge-mappings\n"
        "ovs-vsctl --no-wait set Open_vSwitch . 'external_ids:hostname=\"my host\"'\n"
        "ovs-vsctl --no-wait set interface enp6s18 type=internal external_ids:iface-id=lsp1\n"
        "ovs-vsctl --no-wait set interface nosuch type=internal\n"
        "ovs-vsctl --no-wait set bridge br-ex other-config:hwaddr=aa:bb:cc:dd:ee:ff\n"
        "ovs-vsctl --no-wait set bridge br-ex other_config:hwaddr=\"aa:bb:cc:dd:ee:f1\"\n"
        "ovs-vsctl --no-wait set bridge br-ex fail_mode=secure\n"
        "ovs-vsctl --no-wait set-fail-mode br-ex bogus\n"
        "ovs-vsctl --no-wait set-fail-mode br-ex standalone\n"
        "ovs-vsctl --no-wait del-fail-mode br-ex\n"
        "ovs-vsctl --no-wait set-fail-mode nosuch secure\n"
        "ovs-vsctl --no-wait set bridge br-ex name=br-foo\n"
        "ovs-vsctl --no-wait add-br br-new -- set bridge br-new name=br-new2\n"
        "ovs-vsctl --no-wait br-set-external-id br-ex bridge-id br-ex\n"
        "ovs-vsctl --no-wait clear bridge br-int fail_mode\n"
        "ovs-vsctl --no-wait set port enp6s18 tag=10 trunks=20,30\n"
        "ovs-vsctl --no-wait add port enp6s18 trunks 40 -- remove port enp6s18 trunks 20\n"
        "ovs-vsctl --no-wait list-ports nosuch\novs-vsctl --no-wait port-to-br nosuch\n"
        "ovs-vsctl --no-wait frobnicate\n"
    ),
}


@pytest.mark.parametrize("name", sorted(OVS_CASES))
def test_ovs_lines_match_real_ovs_vsctl(name: str, ovs_file: Path, tmp_path: Path) -> None:
    cmp = compare(ovs_file, "vswitch", OVS_CASES[name], tmp_path)
    cmp.assert_same()
