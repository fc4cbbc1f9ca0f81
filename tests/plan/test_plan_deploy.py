"""The plan's change in each deployment tool's terms (plan/deploy.py), on the bundle fixture
of each flavor (tests/fixtures/flavors, exported from the lab laid out as that flavor).

The emitted variables are held against what the tools document and do with them:
- kolla-ansible ansible/group_vars/all/neutron.yml defines neutron_external_interface,
  neutron_bridge_name, neutron_physical_networks; ansible/roles/ovn-controller/tasks/
  setup-ovs.yml makes ovn-bridge-mappings as `neutron_physical_networks.split(',') |
  zip(neutron_bridge_name.split(',')) | map('join', ':') | join(',')`;
- edpm-ansible roles/edpm_ovn/defaults/main.yml: `ovn-bridge-mappings:
  edpm_ovn_bridge_mappings | join(',')`;
- openstack-ansible-plugins library/provider_networks: openstack_user_config.yml's
  provider_networks -> network_mappings (net_name:container_bridge on metal) and
  network_interface_mappings (container_bridge:network_interface);
- openstack-ansible-os_neutron tasks/providers/setup_ovs_ovn.yml: `ovs-vsctl set open .
  external-ids:ovn-bridge-mappings={{ neutron_provider_networks.network_mappings }}` and
  `network_interface_mappings` as `bridge:port` pairs.
netplan's YAML is validated by the installed `netplan generate` (skipped without it).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from helpers.plan_tools import SEED_BUNDLE
from ovnguard.change import apply_change, parse_change
from ovnguard.model.host import HostView
from ovnguard.plan import plan_fixes, plan_separate_nic
from ovnguard.plan.deploy import deployment_changes, with_deployment
from ovnguard.plan.load import load_for_plan
from ovnguard.plan.model import DeployChange, Plan
from ovnguard.plan.verify import combined_plan
from ovnguard.sources.flavors import FLAVORS, bundle_deployments

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "flavors"
KOLLA_VARS = {"neutron_external_interface", "neutron_bridge_name", "neutron_physical_networks"}
EDPM_VARS = {"edpm_ovn_bridge_mappings"}
OSA_KEYS = {"network_mappings", "network_interface_mappings"}


def _plan(fid: str) -> tuple[Plan, dict[str, str]]:
    bundle = FIXTURES / fid
    snap = load_for_plan(bundle)
    dets, notes = bundle_deployments(bundle)
    assert notes == []
    plan = with_deployment(snap, plan_separate_nic(snap, "physnet2", "br-public", "eth2"), dets)
    end = apply_change(snap, parse_change(combined_plan(plan).text, "plan")).snapshot
    mappings = {h: HostView(s).mappings_raw or "" for h, s in end.hosts.items()}
    return plan, mappings


def _by_tool(plan: Plan, tool: str) -> list[DeployChange]:
    return [d for d in plan.deployment if d.tool == tool]


@pytest.mark.parametrize("fid", [f.id for f in FLAVORS])
def test_every_fixture_is_its_flavor_and_loads_clean(fid: str) -> None:
    dets, notes = bundle_deployments(FIXTURES / fid)
    assert notes == []
    assert {h: d.flavor for h, d in dets.items()} == {
        "controller": fid, "network": fid, "compute1": fid}
    snap = load_for_plan(FIXTURES / fid)
    assert {h.deployment for h in snap.hosts.values()} == {fid}
    assert not [n for n in snap.notes if "deployment.json" in n or "unrecognised" in n]


def test_kolla_variables_make_the_planned_mappings() -> None:
    plan, mappings = _plan("kolla-ansible")
    [kolla] = _by_tool(plan, "kolla-ansible")
    assert kolla.hosts == ("compute1", "controller", "network")
    doc = yaml.safe_load(kolla.text)
    assert set(doc) == KOLLA_VARS
    # kolla's own derivation (setup-ovs.yml) gives exactly the mappings the plan ends with
    derived = ",".join(f"{n}:{b}" for n, b in zip(doc["neutron_physical_networks"].split(","),
                                                   doc["neutron_bridge_name"].split(","),
                                                   strict=True))
    assert {mappings[h] for h in kolla.hosts} == {derived} == {"physnet2:br-public"}
    # and its post-config puts neutron_external_interface into that bridge: the new NIC
    assert dict(zip(doc["neutron_bridge_name"].split(","),
                    doc["neutron_external_interface"].split(","), strict=True)) == {
        "br-public": "eth2"}
    warn = [n for n in plan.notes if n.startswith("WARNING")]
    assert len(warn) == 1 and "kolla-ansible" in warn[0] and "setup-ovs.yml" in warn[0]
    assert warn[0].startswith("WARNING controller, network, compute1:")
    # netplan per host since issue 13: each pins its own br-ex MAC
    assert list(dict.fromkeys(d.tool for d in plan.deployment)) == ["kolla-ansible", "netplan"]


def test_edpm_variables_and_os_net_config() -> None:
    plan, mappings = _plan("tripleo-edpm")
    edpms = _by_tool(plan, "tripleo-edpm")
    assert edpms
    for edpm in edpms:
        doc = yaml.safe_load(edpm.text)
        assert set(doc) == EDPM_VARS
        assert {",".join(doc["edpm_ovn_bridge_mappings"])} == {mappings[h] for h in edpm.hosts}
    oncs = _by_tool(plan, "os-net-config")
    assert oncs
    for onc in oncs:
        net = yaml.safe_load(onc.text)["network_config"]
        assert {"type": "ovs_bridge", "name": "br-public", "use_dhcp": False,
                "members": [{"type": "interface", "name": "eth2", "primary": True}]} in net
    assert not _by_tool(plan, "netplan")  # os-net-config owns the host network there
    assert any("EDPM" in n and n.startswith("WARNING") for n in plan.notes)


def test_openstack_ansible_provider_networks() -> None:
    plan, mappings = _plan("openstack-ansible")
    [osa] = _by_tool(plan, "openstack-ansible")
    pn = yaml.safe_load(osa.text)["neutron_provider_networks"]
    assert set(pn) == OSA_KEYS
    assert {pn["network_mappings"]} == {mappings[h] for h in osa.hosts}
    assert pn["network_interface_mappings"] == "br-public:eth2"
    # the commented openstack_user_config.yml form, through what openstack.osa's
    # provider_networks module does on metal hosts (library/provider_networks, load_networks)
    commented = "\n".join(ln[2:] for ln in osa.text.splitlines() if ln.startswith("# ")
                          and not ln.startswith("# or,"))
    user_config = yaml.safe_load(commented)["provider_networks"]
    group_names = ["neutron_ovn_controller"]
    net_mappings, if_mappings = [], []
    for net in user_config:
        n = net["network"]
        if n["type"] in ("raw", "vxlan", "geneve") or not set(n["group_binds"]) & set(
                group_names) or "net_name" not in n:
            continue
        net_mappings.append(f"{n['net_name']}:{n.get('host_bind_override', n['container_bridge'])}")
        if "network_interface" in n:
            if_mappings.append(f"{n['container_bridge']}:{n['network_interface']}")
    assert ",".join(net_mappings) == pn["network_mappings"]
    assert ",".join(if_mappings) == pn["network_interface_mappings"]
    assert any("setup_ovs_ovn.yml" in n for n in plan.notes)


def test_charm_juju_config_and_no_warning_where_nothing_owns_the_key() -> None:
    plan, _ = _plan("charmed-openstack")
    [juju] = _by_tool(plan, "charmed-openstack")
    assert juju.text.strip() == ("juju config ovn-chassis ovn-bridge-mappings='physnet2:br-public'"
                                 " bridge-interface-mappings='br-public:eth2'")
    for fid in ("microovn", "packages"):
        plan, _ = _plan(fid)
        assert not [n for n in plan.notes if n.startswith("WARNING")], fid
    plan, _ = _plan("microovn")
    assert any("microovn.ovs-vsctl" in n for d in plan.deployment for n in d.notes)


def test_ovn_kubernetes_owns_only_its_physnet_entry() -> None:
    plan, _ = _plan("ovn-kubernetes")
    # physnet2 is not ovnkube-node's own "physnet" entry: the hand edit survives it
    assert not [n for n in plan.notes if n.startswith("WARNING")]
    [ovnk] = _by_tool(plan, "ovn-kubernetes")
    assert "shared-gateway" in ovnk.notes[0] and "physnet" in ovnk.notes[0]


def test_bundle_without_deployment_json_says_so() -> None:
    snap = load_for_plan(SEED_BUNDLE)
    plan = plan_separate_nic(snap, "physnet2", "br-public", "eth2")
    changes, notes = deployment_changes(snap, plan, {})
    assert {c.tool for c in changes} == {"netplan"}
    assert any("no deployment flavor known for compute1, controller, network" in n
               for n in notes)


@pytest.fixture
def netplan() -> str:
    exe = shutil.which("netplan")
    if exe is None:
        pytest.skip("netplan not installed (apt-get install netplan.io)")
    return exe


def _generate(netplan: str, text: str, tmp: Path) -> Path:
    etc = tmp / "etc" / "netplan"
    etc.mkdir(parents=True)
    f = etc / "60-ovnguard.yaml"
    f.write_text(text)
    f.chmod(0o600)
    p = subprocess.run([netplan, "generate", "--root-dir", str(tmp)], capture_output=True,
                       text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    return tmp / "run" / "systemd" / "system"


def test_netplan_of_the_nic_separation_is_valid(netplan: str, tmp_path: Path) -> None:
    plan, _ = _plan("packages")
    npls = _by_tool(plan, "netplan")
    assert npls
    for i, npl in enumerate(npls):
        units = _generate(netplan, npl.text, tmp_path / str(i))
        svc = (units / "netplan-ovs-br-public.service").read_text()
        assert "ovs-vsctl --may-exist add-br br-public" in svc
        assert "ovs-vsctl --may-exist add-port br-public eth2" in svc


def test_netplan_pins_the_bridge_mac_like_the_fix(netplan: str, tmp_path: Path) -> None:
    snap = load_for_plan(FIXTURES / "packages")
    dets, _ = bundle_deployments(FIXTURES / "packages")
    plan = with_deployment(snap, plan_fixes(snap, ("bridge-hwaddr-unpinned",)), dets)
    fixes = {p.host: p.steps[0].commands[0] for p in plan.parts if p.host}
    assert fixes
    for d in _by_tool(plan, "netplan"):
        [host] = d.hosts
        mac = fixes[host][-1].split("=", 1)[1]
        doc = yaml.safe_load(d.text)
        assert doc["network"]["bridges"]["br-ex"]["openvswitch"]["other-config"] == {
            "hwaddr": mac}
        units = _generate(netplan, d.text, tmp_path / host)
        svc = (units / "netplan-ovs-br-ex.service").read_text()
        # netplan applies it as the plan's own ovs-vsctl step does
        assert f"ovs-vsctl set Bridge br-ex other-config:hwaddr={mac}" in svc
    # the MAC pin is not rewritten by packages: no warning
    assert not [n for n in plan.notes if n.startswith("WARNING")]


def test_edpm_pins_the_mac_through_os_net_config() -> None:
    snap = load_for_plan(FIXTURES / "tripleo-edpm")
    dets, _ = bundle_deployments(FIXTURES / "tripleo-edpm")
    plan = with_deployment(snap, plan_fixes(snap, ("bridge-hwaddr-unpinned",)), dets)
    oncs = _by_tool(plan, "os-net-config")
    assert oncs and not _by_tool(plan, "netplan")
    for d in oncs:
        [br] = yaml.safe_load(d.text)["network_config"]
        assert br["name"] == "br-ex"
        assert br["ovs_extra"][0].startswith("set bridge br-ex other-config:hwaddr=")


def test_nothing_to_say_for_a_northbound_only_plan() -> None:
    # the incident's duplicate localnet port, then its fix: ovn-nbctl lsp-del only
    base = load_for_plan(FIXTURES / "kolla-ansible")
    text = (SEED_BUNDLE.parent / "change-corrected.sh").read_text()
    snap = apply_change(base, parse_change(text, "change-corrected.sh")).snapshot
    plan = plan_fixes(snap, ("l2-loop",))
    dets, _ = bundle_deployments(FIXTURES / "kolla-ansible")
    # an NB-only plan changes no host's bridges, NICs or mappings: nothing to say
    assert [p.name for p in plan.parts if p.steps] == ["northbound"]
    assert deployment_changes(snap, plan, dets) == ((), ())


def _seed_before_netplan(host: str) -> dict[str, object]:
    """The host's netplan as the seed's hosts have it before the plan: the management
    address and the default route on br-ex, its only NIC enp6s18 inside it."""
    v = HostView(load_for_plan(SEED_BUNDLE).hosts[host])
    [addr] = v.addresses_on("br-ex")
    [gw] = [r.gateway for r in v.main_routes() if r.dst == "default"]
    return {"network": {"version": 2, "renderer": "networkd",
                        "ethernets": {"enp6s18": {}},
                        "bridges": {"br-ex": {"interfaces": ["enp6s18"],
                                              "addresses": [addr.cidr],
                                              "routes": [{"to": "default", "via": gw}],
                                              "openvswitch": {}}}}}


def _networkd(netplan: str, files: dict[str, str], tmp: Path) -> tuple[int, str, Path]:
    etc = tmp / "etc" / "netplan"
    etc.mkdir(parents=True)
    for name, text in files.items():
        (etc / name).write_text(text)
        (etc / name).chmod(0o600)
    p = subprocess.run([netplan, "generate", "--root-dir", str(tmp)], capture_output=True,
                       text=True, timeout=60)
    return p.returncode, p.stderr, tmp / "run"


def test_netplan_moves_the_management_address_when_it_replaces_the_definitions(
    netplan: str, tmp_path: Path
) -> None:
    """The plan's step 4 (address and default route from br-ex to its NIC) is in the netplan
    too, or the next boot puts the address back on br-ex. netplan appends lists across
    files, so the plan says to replace the devices' definitions, not to add a file: both
    held against the real `netplan generate`."""
    snap = load_for_plan(SEED_BUNDLE)
    plan = plan_separate_nic(snap, "physnet2", "br-public", "eth2")
    changes, _ = deployment_changes(snap, plan, {})
    for d in changes:
        [host] = d.hosts
        assert d.where.startswith("the host's netplan file: REPLACE"), d.where
        ours = yaml.safe_load(d.text)["network"]
        base = _seed_before_netplan(host)
        [addr] = base["network"]["bridges"]["br-ex"]["addresses"]  # type: ignore[index]
        assert ours["ethernets"]["enp6s18"]["addresses"] == [addr]
        assert ours["bridges"]["br-ex"]["interfaces"] == []
        # replaced: each device of ours takes the place of the base file's definition
        merged = base["network"]
        for kind in ("ethernets", "bridges"):
            merged[kind].update(ours[kind])  # type: ignore[index]
        rc, err, run = _networkd(netplan, {"50-host.yaml": yaml.safe_dump(base)},
                                 tmp_path / host / "replaced")
        assert rc == 0, err
        nic = (run / "systemd/network/10-netplan-enp6s18.network").read_text()
        assert f"Address={addr}" in nic and "Gateway=" in nic and "Bridge=" not in nic
        br = (run / "systemd/network/10-netplan-br-ex.network").read_text()
        assert "Address=" not in br and "Gateway=" not in br
        svc = (run / "systemd/system/netplan-ovs-br-ex.service").read_text()
        assert "add-port br-ex enp6s18" not in svc
        assert "other-config:hwaddr=" in svc
        assert "add-port br-public eth2" in (
            run / "systemd/system/netplan-ovs-br-public.service").read_text()
        # added as a second file instead, netplan keeps the old lists: the address stays on
        # br-ex, enp6s18 stays in it, and the two default routes conflict
        rc, err, run = _networkd(netplan, {"50-host.yaml": yaml.safe_dump(
            _seed_before_netplan(host)), "60-ovnguard.yaml": d.text},
            tmp_path / host / "added")
        svc = (run / "systemd/system/netplan-ovs-br-ex.service").read_text()
        assert "add-port br-ex enp6s18" in svc
        assert f"Address={addr}" in (run / "systemd/network/10-netplan-br-ex.network").read_text()
