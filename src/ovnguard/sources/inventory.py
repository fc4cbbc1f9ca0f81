"""inventory.yaml: which address operators use to reach each host (SSH, the Proxmox UI...).

    hosts:
      compute1:
        address: 10.10.0.21
      compute2: 10.10.0.22      # short form

The address is what "management reachability" means for a host, so it must be an IP
address (a DNS name would hide which interface and route carry it). Validation walks the
YAML node tree rather than the loaded dict so every error names its line, and a host listed
twice is an error (plain YAML loading would silently keep the last one).
"""

from __future__ import annotations

import ipaddress
from pathlib import Path

import yaml

from ovnguard.errors import InputError
from ovnguard.sources import safeio, yamlnodes

HOST_KEYS = ("address",)








def _address(node: yaml.Node, source: str, host: str) -> str:
    value = yamlnodes.scalar(node, source, f"address of host {host!r}")
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        raise InputError(f"address of host {host!r} is not an IP address: {value!r}",
                         source, yamlnodes.line(node)) from None


def parse_inventory(text: str, source: str) -> dict[str, str]:
    """host name -> management address (normalised by `ipaddress`)."""
    root = yamlnodes.compose(text, source)
    if root is None:
        raise InputError("empty file: expected 'hosts:' mapping host names to addresses", source)
    if not isinstance(root, yaml.MappingNode):
        raise InputError("expected a mapping with a 'hosts:' key", source, yamlnodes.line(root))
    hosts_node: yaml.Node | None = None
    for key, knode, vnode in yamlnodes.pairs(root, source, "the top level"):
        if key != "hosts":
            raise InputError(f"unknown key {key!r} (expected 'hosts')", source,
                             yamlnodes.line(knode))
        hosts_node = vnode
    if hosts_node is None:
        raise InputError("no 'hosts:' key", source, yamlnodes.line(root))
    if isinstance(hosts_node, yaml.ScalarNode) and hosts_node.value in ("", "~", "null"):
        return {}
    if not isinstance(hosts_node, yaml.MappingNode):
        raise InputError("'hosts' must map host names to addresses", source,
                         yamlnodes.line(hosts_node))
    out: dict[str, str] = {}
    for host, knode, vnode in yamlnodes.pairs(hosts_node, source, "hosts"):
        if not host:
            raise InputError("empty host name", source, yamlnodes.line(knode))
        if isinstance(vnode, yaml.ScalarNode):
            out[host] = _address(vnode, source, host)
            continue
        if not isinstance(vnode, yaml.MappingNode):
            raise InputError(f"host {host!r}: expected an address or {{address: ...}}",
                             source, yamlnodes.line(vnode))
        addr: str | None = None
        for key, k2, v2 in yamlnodes.pairs(vnode, source, f"host {host!r}"):
            if key not in HOST_KEYS:
                raise InputError(
                    f"host {host!r}: unknown key {key!r} (expected {', '.join(HOST_KEYS)})",
                    source, yamlnodes.line(k2))
            addr = _address(v2, source, host)
        if addr is None:
            raise InputError(f"host {host!r} has no 'address'", source, yamlnodes.line(vnode))
        out[host] = addr
    return out


def read_inventory(path: str | Path) -> dict[str, str]:
    p = Path(path)
    return parse_inventory(safeio.read_text(p), str(p))
