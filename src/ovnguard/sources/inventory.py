"""Inventories: which hosts there are and the address operators reach each one at.

One reader for every form operators already have, used by the bundle (`inventory.yaml`,
`inventory.yml`, `inventory.ini` or `inventory`) and by `--inventory` of `check --live` and
`collect`:

    controller: 10.10.0.21                 # a flat `host: address` map

    hosts:                                 # ovnguard's own form (SSH settings: docs/collect.md)
      compute1: {address: 10.10.0.23, port: 2222}

    all:                                   # Ansible YAML: groups, children, vars
      children:
        compute: {hosts: {compute1: {ansible_host: 10.10.0.23}}}

    [compute]                              # Ansible INI (kolla-ansible's multinode)
    compute[01:03] ansible_user=kolla

    compute_hosts:                         # OpenStack-Ansible's openstack_user_config.yml
      compute1: {ip: 172.29.236.12}

and the JSON of `ansible-inventory --list` (OpenStack-Ansible's openstack_inventory.json).
With `--inventory`, anything else Ansible reads (a dynamic inventory script, a plugin
config, a directory) goes through the real `ansible-inventory` when it is installed; a
bundle's inventory is data and is never run.

A host's address is an IP address or a DNS name. Names are kept as written: a bundle is
judged without resolving them (the management address then comes from the host's routes,
and the notes say so); `collect` connects to the name and records the address it reached.
In an Ansible inventory the address is `ovnguard_mgmt_address`, else `ansible_host`, else
the host's name -- what Ansible itself would connect to.
"""

from __future__ import annotations

import fnmatch
import ipaddress
import re
from collections.abc import Mapping
from dataclasses import field
from pathlib import Path
from types import MappingProxyType

import yaml

from ovnguard.errors import InputError
from ovnguard.i18n import _
from ovnguard.record import record
from ovnguard.sources import ansible_cli, safeio, yamlnodes
from ovnguard.sources import ansible_inventory as ai
from ovnguard.sources.ansible_inventory import Var

# ovnguard's `hosts:` form: per-host keys, and those `defaults:` may give (docs/collect.md)
TARGET_KEYS = ("address", "port", "user", "sudo", "ovs", "nb", "sb", "neutron_dir",
               "ovsdb_client")
DEFAULT_KEYS = ("port", "user", "sudo", "ovs", "neutron_dir", "ovsdb_client")
BUNDLE_NAMES = ("inventory.yaml", "inventory.yml", "inventory.ini", "inventory")
ADDRESS_VARS = ("ovnguard_mgmt_address", "ansible_host", "ansible_ssh_host")
_HOSTNAME = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9_]([A-Za-z0-9_-]{0,62})"
                       r"(\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,62}))*\.?$")


@record
class InventoryHost:
    name: str
    address: str  # an IP address (normalised by `ipaddress`) or a DNS name, as written
    line: int | None
    # ovnguard's keys (hosts: form) or Ansible's variables, each with where it was set
    vars: Mapping[str, Var] = field(default_factory=lambda: MappingProxyType({}))
    groups: tuple[str, ...] = ()

    @property
    def is_ip(self) -> bool:
        return is_ip(self.address)


@record
class Inventory:
    source: str
    form: str  # flat | hosts | ansible-yaml | ansible-ini | ansible-json | osa | ansible-inventory
    hosts: tuple[InventoryHost, ...]
    notes: tuple[str, ...] = ()

    @property
    def ansible(self) -> bool:
        return self.form.startswith("ansible")

    def addresses(self) -> dict[str, str]:
        return {h.name: h.address for h in self.hosts}


def is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def check_address(value: object, source: str, line: int | None, host: str) -> str:
    """An IP address (normalised, so it compares equal to addr.json's form) or a DNS name."""
    text = str(value).strip() if value is not None else ""
    if isinstance(value, ai.Vaulted):
        raise InputError(_(
                "address of host {host!r} is vault-encrypted: ovnguard cannot read it (give "
                "ovnguard_mgmt_address in clear)").format(
                host=host), source, line)
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        pass
    if "{{" in text or "{%" in text:
        raise InputError(_(
                "address of host {host!r} is a Jinja2 template ({text!r}): ovnguard does not "
                "template; give the address itself").format(
                host=host, text=text), source, line)
    # all-numeric labels are a mistyped IP address, never a DNS name (RFC 1123 2.1)
    if (not text or not _HOSTNAME.match(text)
            or all(p.isdigit() for p in text.rstrip(".").split("."))):
        raise InputError(_(
                "address of host {host!r} is not an IP address or a DNS name: {text!r}").format(
                host=host, text=text), source, line)
    return text


# ---------------------------------------------------------------------------------------
# ovnguard's own forms and OpenStack-Ansible's user config


def _flat(root: yaml.MappingNode, source: str) -> list[InventoryHost]:
    out = []
    for host, knode, vnode in yamlnodes.pairs(root, source, "the top level"):
        if not isinstance(vnode, yaml.ScalarNode):
            raise InputError(
                _(
                        "host {host!r}: expected an address (this file reads as a flat `host: "
                        "address` map); for more per host use `hosts:` or an Ansible "
                        "inventory").format(
                        host=host),
                source, yamlnodes.line(vnode))
        out.append(InventoryHost(host, check_address(vnode.value, source, yamlnodes.line(vnode),
                                                     host), yamlnodes.line(knode)))
    return out


def _hosts_form(root: yaml.MappingNode, source: str) -> list[InventoryHost]:
    defaults: dict[str, Var] = {}
    hosts_node: yaml.Node | None = None
    for key, _knode, vnode in yamlnodes.pairs(root, source, "the top level"):
        if key == "hosts":
            hosts_node = vnode
        else:
            for dk, dkn, dvn in yamlnodes.pairs(vnode, source, "defaults"):
                if dk not in DEFAULT_KEYS:
                    raise InputError(_(
                            "defaults: unknown key {dk!r} (expected {DEFAULT_KEYS})").format(
                            dk=dk, DEFAULT_KEYS=', '.join(DEFAULT_KEYS)), source,
                                yamlnodes.line(dkn))
                defaults[dk] = Var(yamlnodes.scalar(dvn, source, f"defaults: {dk}"), source,
                                   yamlnodes.line(dvn))
    assert hosts_node is not None
    if ai.is_null(hosts_node):
        return []
    if not isinstance(hosts_node, yaml.MappingNode):
        raise InputError(_("'hosts' must map host names to addresses"), source,
                         yamlnodes.line(hosts_node))
    out = []
    for host, knode, vnode in yamlnodes.pairs(hosts_node, source, "hosts"):
        if not host:
            raise InputError(_("empty host name"), source, yamlnodes.line(knode))
        fields = dict(defaults)
        if isinstance(vnode, yaml.ScalarNode):
            fields["address"] = Var(vnode.value, source, yamlnodes.line(vnode))
        elif isinstance(vnode, yaml.MappingNode):
            for k, kn, vn in yamlnodes.pairs(vnode, source, f"host {host!r}"):
                if k not in TARGET_KEYS:
                    raise InputError(_(
                            "host {host!r}: unknown key {k!r} (expected {TARGET_KEYS})").format(
                            host=host, k=k, TARGET_KEYS=', '.join(TARGET_KEYS)), source,
                                yamlnodes.line(kn))
                fields[k] = Var(yamlnodes.scalar(vn, source, f"host {host!r}: {k}"), source,
                                yamlnodes.line(vn))
        else:
            raise InputError(_(
                    "host {host!r}: expected an address or {{address: ...}}").format(
                    host=host),
                             source, yamlnodes.line(vnode))
        addr = fields.get("address")
        if addr is None:
            raise InputError(_("host {host!r} has no 'address'").format(host=host), source,
                yamlnodes.line(vnode))
        out.append(InventoryHost(host, check_address(addr.value, source, addr.line, host),
                                 yamlnodes.line(knode), MappingProxyType(fields)))
    return out


def _is_osa(root: yaml.MappingNode) -> bool:
    """Some `<group>_hosts:` maps host names to mappings that have an `ip`."""
    def has_ip(node: yaml.Node) -> bool:
        return isinstance(node, yaml.MappingNode) and any(
            isinstance(k, yaml.ScalarNode) and k.value == "ip" for k, _v in node.value)

    return any(isinstance(k, yaml.ScalarNode) and k.value.endswith("_hosts")
               and isinstance(v, yaml.MappingNode) and v.value
               and all(has_ip(hv) for _h, hv in v.value)
               for k, v in root.value)


def _osa(root: yaml.MappingNode, source: str) -> list[InventoryHost]:
    """openstack_user_config.yml: `<group>_hosts: {host: {ip: ...}}`; one host is usually
    listed in many groups, always with the same ip."""
    hosts: dict[str, InventoryHost] = {}
    for key, _kn, vn in yamlnodes.pairs(root, source, "the top level"):
        if not key.endswith("_hosts") or not isinstance(vn, yaml.MappingNode):
            continue  # cidr_networks, used_ips, global_overrides...
        group = key.removesuffix("_hosts")
        for host, hn, hv in yamlnodes.pairs(vn, source, key):
            ip: Var | None = None
            for k, _k, v in yamlnodes.pairs(hv, source, f"{key}: {host}"):
                if k == "ip":
                    ip = Var(yamlnodes.scalar(v, source, f"ip of {host!r}"), source,
                             yamlnodes.line(v))
            if ip is None:
                raise InputError(_(
                        "{key}: host {host!r} has no 'ip'").format(
                        key=key, host=host), source, yamlnodes.line(hn))
            addr = check_address(ip.value, source, ip.line, host)
            old = hosts.get(host)
            if old is not None and old.address != addr:
                raise InputError(_(
                        "host {host!r} has ip {addr} here but {address} on line {line}").format(
                        host=host, addr=addr, address=old.address, line=old.line), source, ip.line)
            groups = (*old.groups, group) if old else (group,)
            hosts[host] = InventoryHost(host, addr, old.line if old else ip.line,
                                        MappingProxyType({"ip": ip}), groups)
    return list(hosts.values())


# ---------------------------------------------------------------------------------------
# Ansible


def _from_tree(tree: ai.Tree, base: Path | None, form: str) -> Inventory:
    variables = ai.merged_vars(tree, base)
    groups = ai.host_groups(tree)
    notes = list(tree.notes)
    hosts: list[InventoryHost] = []
    skipped_local: list[str] = []
    containers = 0
    for name, v in variables.items():
        line = tree.host_line.get(name)
        conn = v.get("ansible_connection")
        if conn is not None and str(conn.value) == "local":
            skipped_local.append(name)
            continue
        phys = v.get("physical_host")
        if phys is not None and str(phys.value) != name:
            containers += 1  # OpenStack-Ansible's LXC containers run on a physical host
            continue
        addr_var = next((v[k] for k in ADDRESS_VARS if k in v), None)
        if addr_var is None:
            address = check_address(name, tree.source, line, name)
        else:
            address = check_address(addr_var.value, addr_var.source, addr_var.line, name)
        hosts.append(InventoryHost(name, address, line, MappingProxyType(v),
                                   tuple(g for g in groups[name] if g not in ("all",))))
    if skipped_local:
        notes.append(f"{tree.source}: {', '.join(skipped_local)} not used: "
                     "ansible_connection=local (the deployment host, not a node)")
    if containers:
        notes.append(f"{tree.source}: {containers} container(s) with a physical_host not "
                     "used as hosts (their physical hosts are)")
    return Inventory(tree.source, form, tuple(hosts), tuple(notes))


# ---------------------------------------------------------------------------------------
# Reading


_BRACKETED = re.compile(r"^\[[^\]]*\]\s*(?:[#;].*)?$")


def _looks_ini(text: str) -> bool:
    """A line that is only `[...]`: an INI section header (a YAML inventory never has a
    top-level flow sequence)."""
    return any(_BRACKETED.match(line.strip()) for line in text.splitlines())


def parse_inventory(text: str, source: str, base: Path | None = None,
                    suffix: str = "") -> Inventory:
    """Any static form (module doc). `base`: the directory whose host_vars/ and
    group_vars/ apply (Ansible forms); `suffix`: the file's, `.ini` forces INI."""
    if suffix == ".ini" or (suffix not in (".yaml", ".yml", ".json") and _looks_ini(text)):
        return _from_tree(ai.parse_ini(text, source), base, "ansible-ini")
    root = ai.compose(text, source)
    if root is None:
        raise InputError(_("empty file: expected host names and their addresses"), source)
    if isinstance(root, yaml.ScalarNode) and suffix not in (".yaml", ".yml", ".json"):
        # `host ansible_host=...` lines without a [group]: INI's ungrouped hosts
        return _from_tree(ai.parse_ini(text, source), base, "ansible-ini")
    if not isinstance(root, yaml.MappingNode):
        raise InputError(_("expected a mapping of host names (or Ansible groups)"), source,
                         yamlnodes.line(root))
    keys = [k.value for k, _v in root.value if isinstance(k, yaml.ScalarNode)]
    if "hosts" in keys and set(keys) <= {"hosts", "defaults"}:
        return Inventory(source, "hosts", tuple(_hosts_form(root, source)))
    if not root.value:
        return Inventory(source, "flat", ())
    if _is_osa(root):
        return Inventory(source, "osa", tuple(_osa(root, source)))
    if ai.is_list_json(root):
        return _from_tree(ai.parse_list_json(root, source), base, "ansible-json")
    if ai.is_ansible_yaml(root):
        return _from_tree(ai.parse_yaml_tree(root, source), base, "ansible-yaml")
    if all(isinstance(v, yaml.ScalarNode) for _k, v in root.value):
        return Inventory(source, "flat", tuple(_flat(root, source)))
    # name the entry that does not fit the form most of the file has
    groups = [k for k, v in root.value if isinstance(v, yaml.MappingNode)]
    scalars = [k for k, v in root.value if isinstance(v, yaml.ScalarNode) and not ai.is_null(v)]
    odd = [k for k, v in root.value if not isinstance(v, yaml.MappingNode | yaml.ScalarNode)]
    bad = (odd or (scalars if scalars and len(groups) > len(scalars) else groups)
           or [k for k, _v in root.value])[0]
    raise InputError(
        _(
                "{value!r} is neither a host's address (flat `host: address` map) nor an Ansible "
                "group (hosts, vars, children); the forms read are in docs/bundle.md").format(
                value=bad.value),
        source, yamlnodes.line(bad))


def _read_text(p: Path) -> str:
    try:
        return safeio.read_bytes(p).decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(_("not UTF-8 text"), str(p)) from None
    except IsADirectoryError:
        raise InputError(_("is a directory, expected an inventory file"), str(p)) from None
    except OSError as e:
        raise InputError(_("cannot read: {strerror}").format(strerror=e.strerror), str(p)) from None


def read_inventory(path: str | Path) -> Inventory:
    """A static inventory file (what a bundle may hold: never executed)."""
    p = Path(path)
    return parse_inventory(_read_text(p), str(p), p.parent, p.suffix.lower())


def _plugin_config(text: str) -> bool:
    return re.search(r"^plugin\s*:", text, re.M) is not None


def load_inventory(path: str | Path) -> Inventory:
    """`--inventory FILE`: a static inventory read here, or -- a dynamic inventory script,
    an inventory plugin's config, a directory of inventories -- whatever
    `ansible-inventory -i FILE --list` makes of it."""
    p = Path(path)
    if not p.exists():
        raise InputError(_("no such inventory file"), str(p))
    why = None
    if p.is_dir():
        why = "a directory of inventories"
    elif ansible_cli.executable_script(p):
        why = "an executable (dynamic inventory script)"
    else:
        text = _read_text(p)
        if _plugin_config(text) and p.suffix.lower() in (".yml", ".yaml"):
            why = "an inventory plugin configuration (plugin:)"
        else:
            return parse_inventory(text, str(p), p.parent, p.suffix.lower())
    out = ansible_cli.run_ansible_inventory(p, why)
    source = f"{p} (ansible-inventory --list)"
    root = ai.compose(out, source)
    if not isinstance(root, yaml.MappingNode):
        raise InputError(_("ansible-inventory --list printed no inventory"), str(p))
    inv = _from_tree(ai.parse_list_json(root, source), None, "ansible-inventory")
    return Inventory(str(p), inv.form, inv.hosts, inv.notes)


def limit_hosts(inv: Inventory, pattern: str) -> Inventory:
    """Ansible's `--limit`: `compute,network`, globs (`cmp*`), `!storage` to leave out,
    `&ovn-controller` to intersect; each term names hosts or groups (`all` is every host).
    A kolla-ansible inventory also lists storage and monitoring nodes that run no OVS."""
    terms = [t.strip() for t in re.split(r"[,:]", pattern) if t.strip()]
    if not terms:
        raise InputError(_("--limit is empty"), "--limit")

    def match(term: str) -> set[str]:
        return {h.name for h in inv.hosts
                if term == "all" or fnmatch.fnmatchcase(h.name, term)
                or any(fnmatch.fnmatchcase(g, term) for g in h.groups)}

    plain = [t for t in terms if t[0] not in "!&"]
    chosen = set().union(*(match(t) for t in plain)) if plain else match("all")
    for t in terms:
        if t[0] == "&":
            chosen &= match(t[1:])
        elif t[0] == "!":
            chosen -= match(t[1:])
    if not chosen:
        raise InputError(_(
                "--limit {pattern} matches no host of this inventory").format(
                pattern=pattern), inv.source)
    return Inventory(inv.source, inv.form, tuple(h for h in inv.hosts if h.name in chosen),
                     (*inv.notes, f"--limit {pattern}: {len(chosen)} of {len(inv.hosts)} "
                      "host(s) used"))


# ---------------------------------------------------------------------------------------
# The bundle's inventory: optional, so it never hides the check


def bundle_inventory(root: Path) -> tuple[Inventory | None, str | None, list[str]]:
    """(inventory or None, the file name used, notes). An inventory that cannot be read
    is not used, and the notes say why and what that leaves unchecked."""
    found = [n for n in BUNDLE_NAMES if (root / n).is_file()]
    if not found:
        return None, None, ["inventory.yaml missing: the management address of each host is "
                            "not known and is not checked against its addresses and routes"]
    name, notes = found[0], []
    if len(found) > 1:
        notes.append(f"{', '.join(found[1:])} not used: {name} is the bundle's inventory")
    try:
        inv = read_inventory(root / name)
    except InputError as e:
        # name the file as the bundle does (relative), with the line at fault
        where = name
        if e.path and Path(e.path).is_relative_to(root):
            where = str(Path(e.path).relative_to(root))
        if e.line is not None:
            where = f"{where}:{e.line}"
        return None, name, [*notes, f"{name} not used ({where}: {e.message}): the management "
                            "address of each host is not known and is not checked against its "
                            "addresses and routes"]
    return inv, name, [*notes, *inv.notes]


def management_addresses(inv: Inventory, name: str) -> tuple[dict[str, str], list[str]]:
    """host -> IP address for the model; a DNS name is not resolved from a bundle (the
    host's own routes then give its management address), and a note says so."""
    out: dict[str, str] = {}
    named: list[str] = []
    for h in inv.hosts:
        if h.is_ip:
            out[h.name] = h.address
        else:
            named.append(f"{h.name} ({h.address})" if h.address != h.name else h.name)
    notes = []
    if named:
        notes.append(f"{name} gives a DNS name, not an address, for {', '.join(named)}: "
                     "names are not resolved when checking a bundle, so the management "
                     "address is taken from the host's routes (`ovnguard collect` records the "
                     "address it reached)")
    return out, notes
