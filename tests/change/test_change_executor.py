# ruff: noqa: E501  (change lines as operators paste them: long, verbatim)
"""The executor seam: the real tools on copies of a bundle's databases, Neutron-realistic
changes, the lines of issue #9 that the model got wrong, wrappers operators paste, and the
bounds that keep a long change linear."""

from __future__ import annotations

import shutil
import time
from importlib.resources import files
from pathlib import Path

import pytest

from ovnguard.assess import assess
from ovnguard.change import (
    ChangeResult,
    ModelExecutor,
    RealToolExecutor,
    default_executor,
    parse_change,
)
from ovnguard.change.apply import MAX_STEPS
from ovnguard.change.parse import MAX_CHAINED
from ovnguard.change.tools import find_tools
from ovnguard.model.snapshot import Snapshot
from ovnguard.sources.bundle import load_bundle
from ovnguard.versions import SEMANTICS, ClusterVersions, cluster_versions, version_notes

pytestmark = pytest.mark.realdb

SEED = Path(str(files("ovnguard") / "examples" / "seed" / "bundle"))
PUBLIC = "neutron-5f1c9d2e-8a7b-4c3d-9e0f-1a2b3c4d5e6f"


@pytest.fixture(scope="module")
def seed() -> Snapshot:
    return load_bundle(SEED)


def real(snapshot: Snapshot, text: str) -> ChangeResult:
    return RealToolExecutor(find_tools()).apply(snapshot, parse_change(text, "change.sh"))


def statuses(r: ChangeResult) -> list[str]:
    return [a.status for a in r.applied]


# -- Neutron-realistic changes: every line applied, none "unsupported" ----------------------

NEUTRON = {
    "provider network with port security": """
ovn-nbctl ls-add neutron-net2
ovn-nbctl set Logical_Switch neutron-net2 'external_ids:"neutron:network_name"=prov2'
ovn-nbctl lsp-add neutron-net2 provnet-seg2 -- lsp-set-type provnet-seg2 localnet -- lsp-set-addresses provnet-seg2 unknown -- lsp-set-options provnet-seg2 network_name=physnet2
ovn-nbctl lsp-add neutron-net2 port-a -- lsp-set-addresses port-a "fa:16:3e:11:22:33 192.0.2.10" -- lsp-set-port-security port-a "fa:16:3e:11:22:33 192.0.2.10"
""",
    "VLAN provider network": """
ovn-nbctl ls-add neutron-vlan100
ovn-nbctl lsp-add neutron-vlan100 provnet-vlan100 "" 100 -- lsp-set-type provnet-vlan100 localnet -- lsp-set-addresses provnet-vlan100 unknown -- lsp-set-options provnet-vlan100 network_name=physnet2
""",
    "router with HA chassis group gateway": f"""
ovn-nbctl lr-add neutron-router1
ovn-nbctl lrp-add neutron-router1 lrp-gw fa:16:3e:00:00:01 203.0.113.1/24
ovn-nbctl ha-chassis-group-add hagrp-router1 -- ha-chassis-group-add-chassis hagrp-router1 controller 30 -- ha-chassis-group-add-chassis hagrp-router1 network 20
ovn-nbctl --id=@g get HA_Chassis_Group hagrp-router1 -- set Logical_Router_Port lrp-gw ha_chassis_group=@g
ovn-nbctl lsp-add {PUBLIC} gw-port -- lsp-set-type gw-port router -- lsp-set-addresses gw-port router -- lsp-set-options gw-port router-port=lrp-gw
""",
    "distributed floating IP": """
ovn-nbctl lr-add neutron-router2 -- lrp-add neutron-router2 lrp-gw2 fa:16:3e:00:00:02 203.0.113.2/24
ovn-nbctl ls-add neutron-tenant -- lsp-add neutron-tenant vm-port -- lsp-set-addresses vm-port "fa:16:3e:aa:bb:cc 10.0.0.5"
ovn-nbctl lr-nat-add neutron-router2 dnat_and_snat 203.0.113.50 10.0.0.5 vm-port fa:16:3e:aa:bb:cc
ovn-nbctl lr-nat-add neutron-router2 snat 203.0.113.2 10.0.0.0/24
""",
    "security-group ACLs and port groups": """
ovn-nbctl pg-add pg_sg1
ovn-nbctl set Port_Group pg_sg1 'external_ids:"neutron:security_group_id"=sg1'
ovn-nbctl pg-set-ports pg_sg1 9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d
ovn-nbctl --type=port-group acl-add pg_sg1 to-lport 1002 "outport == @pg_sg1 && ip4 && tcp.dst == 22" allow-related
ovn-nbctl --type=port-group acl-add pg_sg1 from-lport 1002 "inport == @pg_sg1 && ip4" allow-related
ovn-nbctl set Port_Group pg_sg1 external_ids:a=b
""",
    "load balancer": f"""
ovn-nbctl lb-add lb-web 203.0.113.80:80 10.0.0.5:8080,10.0.0.6:8080 tcp
ovn-nbctl ls-lb-add {PUBLIC} lb-web
""",
}


@pytest.mark.parametrize("name", sorted(NEUTRON))
def test_neutron_realistic_changes_are_applied_by_the_real_tools(seed: Snapshot, name: str
                                                                 ) -> None:
    r = real(seed, NEUTRON[name])
    assert r.executor == "real-tools"
    assert not r.problems, r.problems
    assert set(statuses(r)) == {"applied"}, statuses(r)


def test_neutron_changes_reach_the_what_if_without_unsupported(seed: Snapshot) -> None:
    text = NEUTRON["distributed floating IP"] + NEUTRON["provider network with port security"]
    w = assess(seed, parse_change(text, "change.sh"), RealToolExecutor(find_tools()))
    assert w.report.versions is not None and w.report.versions.executor == "real-tools"
    assert not [f for f in w.report.findings if "unsupported" in f.rule]
    assert {c.outcome for c in w.report.change_lines} == {"applied"}


def test_the_model_calls_what_it_cannot_simulate_unknown_never_rejected(seed: Snapshot) -> None:
    r = ModelExecutor().apply(seed, parse_change(NEUTRON["load balancer"], "c.sh"))
    assert r.executor == "model"
    assert {p.kind for p in r.problems} == {"unsupported-command"}
    assert "unsupported" in statuses(r) and "failed" not in statuses(r)


# -- the lines of issue #9 -----------------------------------------------------------------

def test_issue_reproducers_get_the_real_answer(seed: Snapshot) -> None:
    r = real(seed, f"""
ovn-nbctl pg-add pg0
ovn-nbctl set Port_Group pg0 external_ids:a=b
ovn-nbctl lr-add lr0 -- lrp-add lr0 lrp0 00:00:00:01:02:03:04 192.0.2.1/24
ovn-nbctl get Logical_Switch {PUBLIC} _uuid
""")
    assert statuses(r) == ["applied", "applied", "failed", "unchanged"]
    (p,) = r.problems
    assert p.kind == "rejected" and "00:00:00:01:02:03:04" in p.message
    assert p.message.startswith("ovn-nbctl: ")


def test_fake_bridges_and_ids_on_a_host(seed: Snapshot) -> None:
    r = real(seed, """# host: compute1
ovs-vsctl add-br vlan9 br-ex 9
ovs-vsctl del-br vlan9
ovs-vsctl -- --id=@p get port br-ex -- set bridge br-ex ports=@p
ovs-vsctl -- --id=@a create Controller target='"ptcp:1"' -- --id=@a create Controller target='"ptcp:2"'
""")
    assert statuses(r)[:3] == ["applied", "applied", "applied"]
    assert statuses(r)[3] == "failed"
    assert "@a" in r.problems[-1].message


def test_a_line_that_ends_the_nbctl_daemon_reports_the_tool_error(seed: Snapshot) -> None:
    # `add Logical_Switch . ...` makes ovn-nbctl exit (ctl_fatal): the daemon is replaced and
    # the line reported as the tool says it; the lines after it still run.
    r = real(seed, "ovn-nbctl add Logical_Switch . options a=b\novn-nbctl ls-add after\n")
    assert statuses(r) == ["failed", "applied"]
    assert r.problems[0].message.startswith("ovn-nbctl: ")


def test_ovn_sbctl_runs_on_the_sb_copy_and_says_northd_overwrites(seed: Snapshot) -> None:
    r = real(seed, "ovn-sbctl set Chassis compute1 external_ids:x=y\n")
    assert statuses(r) == ["applied"]
    assert r.applied[0].database == "OVN_Southbound"
    assert r.snapshot.sb is not None and r.snapshot.nb is seed.nb
    assert any("northd" in n for n in r.notes)


def test_wrappers_operators_paste() -> None:
    c = parse_change("""sudo microovn.ovn-nbctl ls-add a
kubectl exec -n openstack ovn-ovsdb-nb-0 -c ovsdbserver-nb -- ovn-nbctl --db=tcp:192.0.2.1:6641 --timeout=5 --leader-only ls-add b
kubectl -n ovn-kubernetes exec ovnkube-db-0 -- ovn-nbctl ls-add c
oc exec ovnkube-node-x -c nbdb -- ovn-nbctl show
podman exec -it ovn_controller ovs-vsctl show
docker exec --user root ovn_northd ovn-sbctl chassis-del x
microovn.ovs-vsctl add-br br-x
""", "c.sh", default_host="compute1")
    assert not c.problems
    assert [(i.tool, i.argv[-1]) for i in c.invocations] == [
        ("ovn-nbctl", "a"), ("ovn-nbctl", "b"), ("ovn-nbctl", "c"), ("ovn-nbctl", "show"),
        ("ovs-vsctl", "show"), ("ovn-sbctl", "x"), ("ovs-vsctl", "br-x")]


def test_global_options_that_point_elsewhere_are_not_used(seed: Snapshot) -> None:
    # --db would reach a live database, --wait would wait for northd: neither happens.
    r = real(seed, "ovn-nbctl --db=tcp:192.0.2.1:6641 --wait=hv --timeout=5 ls-add x\n")
    assert statuses(r) == ["applied"]


# -- executors, start-up per database, versions ----------------------------------------------

def test_default_executor_is_the_real_tools_here(seed: Snapshot) -> None:
    assert default_executor().name == "real-tools"
    assert default_executor(model=True).name == "model"


def test_ovn_bindir_points_at_other_binaries(tmp_path: Path, seed: Snapshot) -> None:
    # A directory of tools (e.g. copied out of the cluster's container): they are the ones run.
    for name in ("ovsdb-server", "ovsdb-client", "ovn-nbctl", "ovn-sbctl", "ovs-vsctl"):
        found = shutil.which(name)
        assert found is not None
        (tmp_path / name).symlink_to(found)
    tools = find_tools(tmp_path)
    assert tools.complete and all(p.startswith(str(tmp_path)) for p in tools.paths.values())
    assert tools.versions()["ovn-nbctl"].startswith(SEMANTICS.ovn)
    r = RealToolExecutor(tools).apply(seed, parse_change("ovn-nbctl ls-add x\n", "c.sh"))
    assert statuses(r) == ["applied"]


def test_a_wait_that_never_ends_on_a_copy_is_unknown(seed: Snapshot) -> None:
    r = real(seed, "ovn-nbctl wait-until Logical_Switch nosuch\novn-nbctl ls-add y\n")
    assert statuses(r) == ["unsupported", "applied"]
    assert r.problems[0].kind == "unsupported-command"


def test_servers_start_only_for_databases_the_change_touches(seed: Snapshot) -> None:
    from ovnguard.change.apply import run_change
    from ovnguard.change.realtools import RealBackend

    with RealBackend(find_tools()) as b:
        run_change(seed, parse_change("# host: network\novs-vsctl add-br br-y\n", "c"), b)
        assert set(b.servers) == {("host", "network")}
        assert not b.daemons


def test_cluster_versions_read_from_the_bundle(seed: Snapshot) -> None:
    v = cluster_versions(seed)
    assert (v.nb_schema, v.sb_schema, v.northd) == ("7.0.0", "20.27.0", "23.03.1")
    assert version_notes(v, {"ovn-nbctl": "23.03.1"}) == []
    other = ClusterVersions(nb_schema="7.3.0", northd="24.03.2", ovs={"a": "3.3.0", "b": "3.1.0"})
    notes = " ".join(version_notes(other, {"ovn-nbctl": "23.03.1"}))
    assert "24.03.2" in notes and SEMANTICS.ovn in notes and "--ovn-bindir" in notes
    assert "different OVS releases" in notes


def test_report_says_which_executor_and_versions(seed: Snapshot) -> None:
    w = assess(seed, parse_change("ovn-nbctl ls-add x\n", "c.sh"), ModelExecutor())
    v = w.report.versions
    assert v is not None and v.executor == "model" and v.semantics["ovn"] == SEMANTICS.ovn
    assert v.cluster.northd == "23.03.1"
    w = assess(seed, parse_change("ovn-nbctl ls-add x\n", "c.sh"), RealToolExecutor(find_tools()))
    assert w.report.versions is not None and w.report.versions.tools["ovn-nbctl"]


# -- bounds that keep a long change linear (counts, and times bounded far above measured) --

def test_a_long_change_keeps_a_bounded_number_of_snapshots(seed: Snapshot) -> None:
    text = "".join(f"ovn-nbctl ls-add s{i}\n" for i in range(3 * MAX_STEPS + 5))
    r = real(seed, text)
    assert set(statuses(r)) == {"applied"}
    assert len(r.steps) <= MAX_STEPS + 1
    assert r.steps[-1] is r.snapshot
    assert any("after every" in n for n in r.notes)


def test_too_many_chained_commands_are_refused_by_name() -> None:
    line = "ovs-vsctl " + " -- ".join(f"add-br b{i}" for i in range(MAX_CHAINED + 1))
    c = parse_change(f"# host: compute1\n{line}\n", "c.sh")
    assert not c.invocations
    (p,) = c.problems
    assert p.kind == "unsupported-command" and str(MAX_CHAINED) in p.message


def test_a_one_mebibyte_word_is_read_in_linear_time() -> None:
    word = "a" * (1 << 20)
    t = time.perf_counter()
    c = parse_change(f'ovn-nbctl ls-add {word} "{word}"\n', "c.sh")
    elapsed = time.perf_counter() - t
    assert c.invocations[0].argv[1:] == (word, word)
    assert elapsed < 5, elapsed  # measured 0.05 s; it was 18 s char by char


def test_kept_copies_see_what_neutron_wrote_and_are_put_back(seed: Snapshot) -> None:
    # What a Neutron line writes is committed by another client than the ovn-nbctl daemon:
    # the daemon must show it before its next line, which names the switch Neutron made.
    # Run twice on kept copies: the second run finds the copy as loaded (no such switch).
    create = ("openstack network create --provider-network-type flat "
              "--provider-physical-network physnet1 --external public1\n")
    with RealToolExecutor(find_tools()) as ex:
        first = ex.apply(seed, parse_change("ovn-nbctl ls-list\n" + create, "c.sh"))
        assert statuses(first) == ["unchanged", "applied"]  # ls-list: read only
        (made,) = [r.name for r in first.snapshot.nb.rows("Logical_Switch")
                   if r.name.startswith("neutron-") and seed.nb.find_one("Logical_Switch",
                                                                          r.name) is None]
        text = "ovn-nbctl ls-list\n" + create + f"ovn-nbctl ls-del {made}\n"
        for _ in range(2):
            r = ex.apply(seed, parse_change(text, "c.sh"))  # the same seed: the same uuids
            assert statuses(r) == ["unchanged", "applied", "applied"], r.problems
            assert r.snapshot.nb.find_one("Logical_Switch", made) is None
        again = ex.apply(seed, parse_change(f"ovn-nbctl ls-del {made}\n", "d.sh"))
        assert statuses(again) == ["failed"]  # put back: the copy never had it
