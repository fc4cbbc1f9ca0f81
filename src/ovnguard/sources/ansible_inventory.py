"""Ansible inventories as ovnguard reads them: INI (kolla-ansible's `multinode`), YAML
(`all:` / children / hosts / vars), the JSON of `ansible-inventory --list` (also what
OpenStack-Ansible writes to openstack_inventory.json), and `host_vars/` / `group_vars/`
beside the file; anything else (dynamic inventory scripts, inventory plugins, directories)
through the real `ansible-inventory -i FILE --list` when it is installed (ansible_cli.py).

Why a reader of the static formats rather than Ansible's Python API: ansible-core is GPL-3
(ovnguard is Apache-2.0) and its Python API is documented as internal and unstable; it is
also not installed on most OVN nodes, where `ovnguard check` runs. The static formats are
small and stable, and reading them here lets every error name its file and line. The test
suite holds this reader against `ansible-inventory --list` on the same files, and the real
tool is used for everything only it can read.

What is kept of each host: its variables, merged in ansible-core's default order (the
inventory file's group vars: `all`, then the other groups by depth then name; then
`group_vars/` files in the same order; then the host's own; then `host_vars/`), each
remembering where it came from. Values are not templated: a `{{ ... }}` value is reported,
not guessed.
"""

from __future__ import annotations

import ast
import re
import shlex
import string
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ovnguard.errors import InputError
from ovnguard.i18n import _
from ovnguard.record import record
from ovnguard.sources import safeio, yamlnodes

GROUP_KEYS = ("hosts", "vars", "children")
VARS_SUFFIXES = ("", ".yml", ".yaml", ".json")


@record
class Var:
    """One variable's value and where it was set (for error messages)."""

    value: Any
    source: str
    line: int | None


@dataclass
class Group:
    name: str
    vars: dict[str, Var] = field(default_factory=dict)
    children: list[str] = field(default_factory=list)
    hosts: list[str] = field(default_factory=list)


@dataclass
class Tree:
    """What an Ansible inventory declares, before variables are merged."""

    source: str
    groups: dict[str, Group] = field(default_factory=dict)
    host_vars: dict[str, dict[str, Var]] = field(default_factory=dict)
    host_line: dict[str, int | None] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def group(self, name: str) -> Group:
        if name not in self.groups:
            self.groups[name] = Group(name)
        return self.groups[name]

    def add_host(self, group: str, host: str, line: int | None,
                 variables: Mapping[str, Var]) -> None:
        g = self.group(group)
        if host not in g.hosts:
            g.hosts.append(host)
        self.host_line.setdefault(host, line)
        self.host_vars.setdefault(host, {}).update(variables)


# ---------------------------------------------------------------------------------------
# Host patterns (ansible/plugins/inventory: expand_hostname_range, _expand_hostpattern)

_RANGE = re.compile(r"\[[^\]]*:[^\]]*\]")


def expand_hosts(pattern: str, source: str, line: int | None) -> list[str]:
    """`compute[01:03]` -> compute01..compute03; `[a:c]`, `[1:9:2]` and several ranges."""
    m = _RANGE.search(pattern)
    if m is None:
        return [pattern]
    head, tail = pattern[: m.start()], pattern[m.end():]
    bounds = m.group(0)[1:-1].split(":")
    if len(bounds) not in (2, 3) or not bounds[1]:
        raise InputError(_(
                "host range {group} must be [begin:end] or [begin:end:step]").format(
                group=m.group(0)),
                         source, line)
    beg, end = bounds[0] or "0", bounds[1]
    try:
        step = int(bounds[2]) if len(bounds) == 3 else 1
        if beg in string.ascii_letters and end in string.ascii_letters:
            i, j = string.ascii_letters.index(beg), string.ascii_letters.index(end)
            seq = list(string.ascii_letters[i : j + 1 : step])
        else:
            width = len(beg) if beg.startswith("0") and len(beg) > 1 else 0
            if width and len(end) != width:
                raise InputError(_(
                        "host range {group}: begin and end must have the same width").format(
                        group=m.group(0)), source, line)
            seq = [str(n).zfill(width) for n in range(int(beg), int(end) + 1, step)]
    except ValueError:
        raise InputError(_(
                "host range {group} is not numeric or alphabetic").format(
                group=m.group(0)),
                         source, line) from None
    out: list[str] = []
    for s in seq:
        out.extend(expand_hosts(head + s + tail, source, line))
    return out


def split_port(pattern: str) -> tuple[str, int | None]:
    """`host:2222` -> (host, 2222); an IPv6 address is not a host:port."""
    if pattern.startswith("[") and "]:" in pattern and not _RANGE.fullmatch(pattern):
        host, _sep, port = pattern[1:].partition("]:")
        if port.isdigit():
            return host, int(port)
    if pattern.count(":") == 1:
        host, _sep, port = pattern.partition(":")
        if port.isdigit():
            return host, int(port)
    return pattern, None


# ---------------------------------------------------------------------------------------
# INI

_SECTION = re.compile(r"^\[([^:\]\s]+)(?::(\w+))?\]\s*(?:#.*)?$")
_GROUPNAME = re.compile(r"^([^:\]\s]+)\s*(?:#.*)?$")


def _ini_value(text: str) -> Any:
    # As Ansible's ini plugin: inline values are Python literals when they parse as one.
    try:
        with warnings.catch_warnings():
            # `10.0.0.1x` is "invalid decimal literal": a string, not a warning on stderr
            warnings.simplefilter("ignore", SyntaxWarning)
            value = ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return text
    if value is ... or isinstance(value, complex | bytes):
        return text
    return value


def parse_ini(text: str, source: str) -> Tree:
    tree = Tree(source)
    tree.group("all")
    tree.group("ungrouped")
    declared = {"all", "ungrouped"}
    pending: dict[str, tuple[int, str]] = {}  # group used before declared -> (line, as what)
    group, state = "ungrouped", "hosts"
    for n, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        m = _SECTION.match(line)
        if m:
            group, state = m.group(1), m.group(2) or "hosts"
            if state not in ("hosts", "children", "vars"):
                raise InputError(_(
                        "section [{group}:{state}] has unknown type {state!r} (expected hosts, "
                        "children or vars)").format(
                        group=group, state=state), source, n)
            tree.group(group)
            if state == "vars":
                if group not in declared:
                    pending.setdefault(group, (n, f"[{group}:vars] is for a group"))
            else:
                declared.add(group)
                pending.pop(group, None)
            continue
        if line.startswith("[") and line.endswith("]"):
            raise InputError(_(
                    "invalid section header {line!r} (no spaces allowed)").format(
                    line=line), source, n)
        if state == "hosts":
            try:
                tokens = shlex.split(line, comments=True)
            except ValueError as e:
                raise InputError(_("cannot parse host line: {e}").format(e=e), source, n) from None
            if not tokens:
                continue
            if tokens[0] == "---":
                raise InputError(_("'---' starts a YAML document, not an INI inventory line"),
                                 source, n)
            variables: dict[str, Var] = {}
            for tok in tokens[1:]:
                k, eq, v = tok.partition("=")
                if not eq or not k:
                    raise InputError(_(
                            "expected key=value after the host name, got {tok!r}").format(
                            tok=tok),
                                     source, n)
                variables[k] = Var(_ini_value(v), source, n)
            pattern, port = split_port(tokens[0])
            if port is not None:
                variables.setdefault("ansible_port", Var(port, source, n))
            for host in expand_hosts(pattern, source, n):
                tree.add_host(group, host, n, variables)
        elif state == "vars":
            k, eq, v = line.partition("=")
            if not eq or not k.strip():
                raise InputError(_(
                        "expected key=value in [{group}:vars], got {line!r}").format(
                        group=group, line=line),
                                 source, n)
            tree.group(group).vars[k.strip()] = Var(_ini_value(v.strip()), source, n)
        else:
            cm = _GROUPNAME.match(line)
            if cm is None:
                raise InputError(_(
                        "expected a group name in [{group}:children], got {line!r}").format(
                        group=group, line=line),
                                 source, n)
            child = cm.group(1)
            if child not in declared:
                pending.setdefault(child, (n, f"[{group}:children] names a group"))
            tree.group(group).children.append(child)
    for name, (n, what) in pending.items():
        if name not in declared:
            raise InputError(_(
                    "{what} that is never declared: {name!r}").format(
                    what=what, name=name), source, n)
    return tree


# ---------------------------------------------------------------------------------------
# YAML (and the JSON of `ansible-inventory --list`, which YAML reads too)


class _VarLoader(yaml.SafeLoader):
    """SafeLoader that keeps Ansible's own tags readable: `!unsafe` is a plain string,
    `!vault` an encrypted value ovnguard cannot use (it is reported if needed)."""


def _unsafe(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    return loader.construct_scalar(node) if isinstance(node, yaml.ScalarNode) else \
        loader.construct_object(node)


_VarLoader.add_constructor("!unsafe", _unsafe)
_VarLoader.add_constructor("!vault", lambda loader, node: Vaulted())


class Vaulted:
    def __repr__(self) -> str:
        return "<vault-encrypted>"


def node_value(node: yaml.Node, source: str) -> Any:
    try:
        return _VarLoader("").construct_document(node)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        raise InputError(_(
                "not a value ovnguard can read: {e}").format(
                e=getattr(e, 'problem', e)), source,
                         mark.line + 1 if mark is not None else yamlnodes.line(node)) from None


def compose(text: str, source: str) -> yaml.Node | None:
    # bounded depth, aliases and expansion (sources/safeio.py)
    return safeio.compose_yaml(text, source, _VarLoader)


def _vars(node: yaml.Node, source: str, what: str) -> dict[str, Var]:
    if is_null(node):
        return {}
    return {k: Var(node_value(v, source), source, yamlnodes.line(kn))
            for k, kn, v in yamlnodes.pairs(node, source, what)}


def is_null(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag.endswith(":null")


def is_ansible_yaml(root: yaml.MappingNode) -> bool:
    """Every top-level value is a group: empty, or a mapping with hosts/vars/children (other
    keys are ignored with a note, as Ansible warns about them)."""
    for _k, v in root.value:
        if is_null(v):
            continue
        if not isinstance(v, yaml.MappingNode) or not v.value:
            return False
        if not any(isinstance(k, yaml.ScalarNode) and k.value in GROUP_KEYS
                   for k, _ in v.value):
            return False
    return bool(root.value)


def parse_yaml_tree(root: yaml.MappingNode, source: str) -> Tree:
    tree = Tree(source)
    tree.group("all")
    tree.group("ungrouped")

    def group(name: str, node: yaml.Node, seen: tuple[str, ...]) -> None:
        g = tree.group(name)
        if is_null(node):
            return
        for key, kn, vn in yamlnodes.pairs(node, source, f"group {name!r}"):
            if key == "vars":
                g.vars.update(_vars(vn, source, f"vars of group {name!r}"))
            elif key == "hosts":
                if is_null(vn):
                    continue
                for pattern, hn, hv in yamlnodes.pairs(vn, source, f"hosts of group {name!r}"):
                    variables = _vars(hv, source, f"host {pattern!r}")
                    host, port = split_port(pattern)
                    if port is not None:
                        variables.setdefault("ansible_port",
                                             Var(port, source, yamlnodes.line(hn)))
                    for h in expand_hosts(host, source, yamlnodes.line(hn)):
                        tree.add_host(name, h, yamlnodes.line(hn), variables)
            elif key == "children":
                if is_null(vn):
                    continue
                for child, cn, cv in yamlnodes.pairs(vn, source, f"children of {name!r}"):
                    if child in seen:
                        raise InputError(_(
                                "group {child!r} is its own ancestor").format(
                                child=child), source,
                                         yamlnodes.line(cn))
                    if child not in g.children:
                        g.children.append(child)
                    group(child, cv, (*seen, child))
            else:
                # Ansible skips such a key with a warning; say so rather than fail.
                tree.notes.append(f"{source}:{yamlnodes.line(kn)}: key {key!r} of group "
                                  f"{name!r} ignored (a group has hosts, vars and children)")

    for name, _kn, vn in yamlnodes.pairs(root, source, "the top level"):
        group(name, vn, (name,))
    return tree


def parse_list_json(root: yaml.MappingNode, source: str) -> Tree:
    """`ansible-inventory --list` output (and a script's): groups with hosts/children lists
    and vars, `_meta.hostvars` per host."""
    tree = Tree(source)
    tree.group("all")
    hostvars: dict[str, dict[str, Var]] = {}
    for name, _kn, vn in yamlnodes.pairs(root, source, "the top level"):
        if name == "_meta":
            for mk, _mkn, mv in yamlnodes.pairs(vn, source, "_meta"):
                if mk == "hostvars" and not is_null(mv):
                    for h, _hn, hv in yamlnodes.pairs(mv, source, "_meta.hostvars"):
                        hostvars[h] = _vars(hv, source, f"hostvars of {h!r}")
            continue
        g = tree.group(name)
        if is_null(vn):
            continue
        if isinstance(vn, yaml.SequenceNode):  # the old `group: [host, ...]` script form
            g.hosts.extend(yamlnodes.scalar(x, source, f"a host of {name!r}") for x in vn.value)
        else:
            _list_group(g, vn, source)
        for h in g.hosts:
            tree.host_line.setdefault(h, yamlnodes.line(vn))
    for h in tree.host_line:
        tree.host_vars[h] = hostvars.get(h, {})
    for h, hvars in hostvars.items():
        if h not in tree.host_line:
            tree.host_line[h] = None
            tree.host_vars[h] = hvars
            tree.group("ungrouped").hosts.append(h)
    return tree


def _list_group(g: Group, node: yaml.Node, source: str) -> None:
    for key, _k, v in yamlnodes.pairs(node, source, f"group {g.name!r}"):
        if key == "hosts" and isinstance(v, yaml.SequenceNode):
            g.hosts.extend(yamlnodes.scalar(x, source, f"a host of {g.name!r}")
                           for x in v.value)
        elif key == "children" and isinstance(v, yaml.SequenceNode):
            g.children.extend(yamlnodes.scalar(x, source, f"a child of {g.name!r}")
                              for x in v.value)
        elif key == "vars":
            g.vars.update(_vars(v, source, f"vars of group {g.name!r}"))


def is_list_json(root: yaml.MappingNode) -> bool:
    for k, v in root.value:
        if isinstance(k, yaml.ScalarNode) and k.value == "_meta":
            return True
        if isinstance(v, yaml.SequenceNode):
            return True
        if isinstance(v, yaml.MappingNode) and any(
                isinstance(x, yaml.ScalarNode) and x.value in ("hosts", "children")
                and isinstance(y, yaml.SequenceNode) for x, y in v.value):
            return True
    return False


# ---------------------------------------------------------------------------------------
# host_vars/ and group_vars/ beside the inventory (Ansible's host_group_vars plugin)


def _vars_files(base: Path, name: str) -> Iterator[Path]:
    for suffix in VARS_SUFFIXES:
        p = base / f"{name}{suffix}"
        if p.is_file():
            yield p
    d = base / name
    if d.is_dir():
        for p in sorted(d.rglob("*")):
            if p.is_file() and p.suffix in VARS_SUFFIXES and not p.name.startswith("."):
                yield p


def read_vars_file(path: Path) -> dict[str, Var]:
    source = str(path)
    try:
        text = safeio.read_bytes(path).decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(_("not UTF-8 text"), source) from None
    except OSError as e:
        raise InputError(_("cannot read: {strerror}").format(strerror=e.strerror), source) from None
    root = compose(text, source)
    if root is None:
        return {}
    if not isinstance(root, yaml.MappingNode):
        raise InputError(_("a vars file must map variable names to values"), source,
                         yamlnodes.line(root))
    return _vars(root, source, "the top level")


# ---------------------------------------------------------------------------------------
# Merging, as Ansible's VariableManager does for a host


def _ancestors(tree: Tree) -> tuple[dict[str, set[str]], dict[str, int]]:
    parents: dict[str, set[str]] = {g: set() for g in tree.groups}
    for g in tree.groups.values():
        for c in g.children:
            parents.setdefault(c, set()).add(g.name)
    depth: dict[str, int] = {}

    def d(name: str, stack: tuple[str, ...] = ()) -> int:
        if name in depth:
            return depth[name]
        if name in stack:
            raise InputError(_("group {name!r} is its own ancestor").format(name=name), tree.source)
        ps = parents.get(name, set()) - {name}
        depth[name] = 0 if name == "all" else 1 + max(
            (d(p, (*stack, name)) for p in ps), default=0)
        return depth[name]

    for name in list(parents):
        d(name)
    return parents, depth


def host_groups(tree: Tree) -> dict[str, list[str]]:
    """host -> every group it belongs to (direct and inherited), in Ansible's merge order:
    `all` first, then by depth, then by name."""
    parents, depth = _ancestors(tree)
    out: dict[str, list[str]] = {}
    for host in tree.host_line:
        direct = {g.name for g in tree.groups.values() if host in g.hosts}
        found: set[str] = {"all"}
        todo = list(direct)
        while todo:
            g = todo.pop()
            if g in found:
                continue
            found.add(g)
            todo.extend(parents.get(g, ()))
        if direct <= {"all"}:
            found.add("ungrouped")
        out[host] = sorted(found, key=lambda g: (g != "all", depth.get(g, 1), g))
    return out


def merged_vars(tree: Tree, base: Path | None) -> dict[str, dict[str, Var]]:
    """host -> its variables, merged in Ansible's order (module doc)."""
    groups = host_groups(tree)
    gv_cache: dict[str, dict[str, Var]] = {}

    def group_files(name: str) -> dict[str, Var]:
        if name not in gv_cache:
            merged: dict[str, Var] = {}
            if base is not None:
                for p in _vars_files(base / "group_vars", name):
                    merged.update(read_vars_file(p))
            gv_cache[name] = merged
        return gv_cache[name]

    out: dict[str, dict[str, Var]] = {}
    for host, gs in groups.items():
        v: dict[str, Var] = {}
        # ansible-core's default VARIABLE_PRECEDENCE: the inventory's group vars (all, then
        # the others), then group_vars/ files in the same order
        for g in gs:
            v.update(tree.groups[g].vars if g in tree.groups else {})
        for g in gs:
            v.update(group_files(g))
        v.update(tree.host_vars.get(host, {}))
        if base is not None:
            for p in _vars_files(base / "host_vars", host):
                v.update(read_vars_file(p))
        out[host] = v
    return out
