"""Reading YAML node by node, so every error names its line (inventory files, SSH targets)."""

from __future__ import annotations

import yaml

from ovnguard.errors import InputError
from ovnguard.i18n import _
from ovnguard.sources import safeio

# The bounded safe loader (depth, aliases, expanded size, integer length): every YAML file
# ovnguard reads is composed through this, never through yaml.compose directly.
compose = safeio.compose_yaml


def line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def scalar(node: yaml.Node, source: str, what: str) -> str:
    if not isinstance(node, yaml.ScalarNode):
        raise InputError(_("{what} must be a plain value").format(what=what), source, line(node))
    return str(node.value)


def pairs(node: yaml.Node, source: str, what: str) -> list[tuple[str, yaml.Node, yaml.Node]]:
    """(key, key node, value node) of a mapping; a key given twice is an error."""
    if not isinstance(node, yaml.MappingNode):
        raise InputError(_("{what} must be a mapping").format(what=what), source, line(node))
    seen: dict[str, int] = {}
    out = []
    for k, v in node.value:
        key = scalar(k, source, f"a key in {what}")
        if key in seen:
            raise InputError(_(
                    "{what}: {key!r} given twice (first on line {seen})").format(
                    what=what, key=key, seen=seen[key]),
                             source, line(k))
        seen[key] = line(k)
        out.append((key, k, v))
    return out
