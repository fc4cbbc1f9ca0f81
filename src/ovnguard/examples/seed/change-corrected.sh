# The commands of the seed incident, with the real switch name and physnet2 (docs/incident.md).
LS_NAME="neutron-5f1c9d2e-8a7b-4c3d-9e0f-1a2b3c4d5e6f"
PHYSNET="physnet2"

ovn-nbctl lsp-add ${LS_NAME} ln-${PHYSNET}
ovn-nbctl lsp-set-type ln-${PHYSNET} localnet
ovn-nbctl lsp-set-options ln-${PHYSNET} network_name=${PHYSNET}
ovn-nbctl lsp-set-addresses ln-${PHYSNET} "unknown"
