"""Regenerate the example bundles shipped with ovnguard, from a real OVN lab.

    .venv/bin/python scripts/make_examples.py

The OVSDB files are `ovsdb-client backup`s of real ovsdb-servers that real ovn-northd and
ovn-controller ran against (never hand-typed); the `ip -j` files are synthesized by the lab
from the topology. Neutron .ini files are added as the seed incident's operator had them.

The data-plane lab is used (root, network namespaces) so that each chassis is configured as
in production: ovn-remote over the management LAN (tcp:10.10.0.10:6642, through br-ex) and
the management address as encap IP -- not the dummy lab's unix sockets and 127.0.0.x.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

from ovnguard.lab import load_topology
from ovnguard.lab.dataplane import DataplaneLab

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "src" / "ovnguard" / "examples"

ML2_CONF = """\
[ml2]
type_drivers = flat,geneve,vlan
tenant_network_types = geneve
mechanism_drivers = ovn
extension_drivers = port_security

[ml2_type_flat]
flat_networks = physnet1,physnet2

[ovn]
ovn_nb_connection = tcp:10.10.0.21:6641
ovn_sb_connection = tcp:10.10.0.21:6642
"""

# The seed note's "improvement": edited here, read by nothing under ML2/OVN.
OVS_AGENT_INI = """\
[ovs]
bridge_mappings = physnet1:br-ex,physnet2:br-public
"""

VERBATIM = """\
# The commands of the seed incident, verbatim (docs/incident.md).
LS_NAME="neutron-<provider-network-UUID>"
PHYSNET="phynet2"

ovn-nbctl lsp-add ${LS_NAME} ln-${PHYSNET}
ovn-nbctl lsp-set-type ln-${PHYSNET} localnet
ovn-nbctl lsp-set-options ln-${PHYSNET} network_name=${PHYSNET}
ovn-nbctl lsp-set-addresses ln-${PHYSNET} "unknown"
"""


def build(topology: Path, name: str) -> Path:
    out = EXAMPLES / name
    bundle = out / "bundle"
    with tempfile.TemporaryDirectory(prefix="ovnguard-examples-") as tmp:
        dp = DataplaneLab.up(load_topology(topology), Path(tmp) / "lab")
        lab = dp.lab
        try:
            switch = lab.nbctl("--bare", "--columns=name", "find", "Logical_Switch",
                               "external_ids:neutron\\:network_name=public").strip()
            if bundle.exists():
                shutil.rmtree(bundle)
            lab.export(bundle)
        finally:
            dp.down()
    for host in sorted(p.name for p in (bundle / "hosts").iterdir()):
        etc = bundle / "hosts" / host / "etc" / "neutron" / "plugins" / "ml2"
        etc.mkdir(parents=True, exist_ok=True)
        if host == "controller":
            (etc / "ml2_conf.ini").write_text(ML2_CONF)
        (etc / "openvswitch_agent.ini").write_text(OVS_AGENT_INI)
    (out / "change-verbatim.sh").write_text(VERBATIM)
    corrected = VERBATIM.replace("neutron-<provider-network-UUID>", switch).replace(
        '"phynet2"', '"physnet2"')
    corrected = corrected.replace("verbatim (", "with the real switch name and physnet2 (")
    (out / "change-corrected.sh").write_text(corrected)
    typo = VERBATIM.replace("neutron-<provider-network-UUID>", switch)
    typo = typo.replace("verbatim (", "with the real switch name, typo kept (")
    (out / "change-typo.sh").write_text(typo)
    return out


if __name__ == "__main__":
    print(build(ROOT / "examples" / "topologies" / "seed.yaml", "seed"), file=sys.stderr)
