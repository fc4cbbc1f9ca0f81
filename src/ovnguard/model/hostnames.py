"""Host names as people read them: compute2 before compute10, and hundreds of them folded
into what a sentence or a table cell can carry. The JSON keeps every name; only prose and
the reports' labels use these."""

from __future__ import annotations

import re
from collections.abc import Iterable

from ovnguard.i18n import ngettext

_DIGITS = re.compile(r"(\d+)")


def _number(digits: str) -> tuple[int, str]:
    """A run of digits as a key that orders like its number: shorter (without leading zeros)
    is smaller, then digit by digit. Not int(): a name is data, and Python refuses to convert
    more than 4,300 digits (a hostname of 5,000 digits was a traceback)."""
    significant = digits.lstrip("0")
    return len(significant), significant


def host_order(name: str) -> tuple[tuple[str | tuple[int, str], ...], str]:
    """Sort key: runs of digits compared as numbers (compute2 < compute10), the name itself
    last so that compute07 and compute7 still have an order."""
    # re.split with a group alternates text, digits, text...: the kinds line up by position
    parts = tuple(_number(p) if i % 2 else p for i, p in enumerate(_DIGITS.split(name)))
    return parts, name


def in_host_order(names: Iterable[str]) -> list[str]:
    return sorted(names, key=host_order)


def few_hosts(names: Iterable[str], n: int = 5) -> str:
    """Host names as a sentence can carry them (a control-node check predicts hundreds, a
    fleet-wide finding names a thousand): the first `n` and how many more."""
    names = in_host_order(names)
    if len(names) <= n:
        return ", ".join(names)
    more = len(names) - n
    return ngettext("{names} and {count} more", "{names} and {count} more", more).format(
        names=", ".join(names[:n]), count=more)


def host_range(hosts: Iterable[str], fold_at: int) -> str:
    """Up to `fold_at` names as they are; more as "compute1, compute2 … compute998 (998
    hosts)": a label for hosts of the same shape."""
    hosts = in_host_order(hosts)
    if len(hosts) <= fold_at:
        return ", ".join(hosts)
    return ngettext("{first}, {second} … {last} ({count} host)",
                    "{first}, {second} … {last} ({count} hosts)", len(hosts)).format(
        first=hosts[0], second=hosts[1], last=hosts[-1], count=len(hosts))
