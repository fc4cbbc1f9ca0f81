"""The hazard rules. Importing this package registers every rule (findings.registry); the
order of the imports is the order of docs/rules.md's sections."""

from ovnguard.findings.rules import (
    bridging,
    change,
    controller,
    hostchange,
    hostnet,
    mappings,
    neutron,
)

__all__ = ["bridging", "change", "controller", "hostchange", "hostnet", "mappings", "neutron"]
