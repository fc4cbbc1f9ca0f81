"""L2 loops: `ofproto/trace` of a broadcast into each provider bridge, and reading its
output.
"""
from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence

from ovnguard.lab.protocol import OvnLab
from ovnguard.lab.rehearse.ports import HostOvs
from ovnguard.lab.rehearse.result import TraceResult

# --- L2 loops: ofproto/trace -----------------------------------------------------------

# An ARP request from a documentation MAC/IP (RFC 7042, RFC 5737): a broadcast nothing in a
# real cluster answers, so OVN floods it like any unknown broadcast.
BROADCAST = (
    "dl_src=00:00:5e:00:53:01,dl_dst=ff:ff:ff:ff:ff:ff,arp,arp_op=1,"
    "arp_spa=192.0.2.1,arp_tpa=192.0.2.2"
)


def trace_host(lab: OvnLab, host: str, ovs: HostOvs) -> list[TraceResult]:
    """A broadcast into every NIC and every localnet patch port of every provider bridge."""
    bridges = ovs.provider_bridges()
    if not bridges:
        return []
    names = dp_port_names(lab.appctl_vswitchd(host, "dpif/show"))
    out = []
    for br in bridges:
        for p in ovs.ports:
            if p.bridge != br or not (p.is_nic or (p.is_patch and p.localnet)):
                continue
            kind = "nic" if p.is_nic else "localnet-patch"
            text = lab.appctl_vswitchd(host, "ofproto/trace", br, f"in_port={p.name},{BROADCAST}")
            out.append(parse_trace(text, br, p.name, kind, None, names))
    return out


_DP_PORT = re.compile(r"^\s{4}(\S+) (\S+)/(\d+):")


def dp_port_names(dpif_show: str) -> dict[str, str]:
    """Datapath port number -> interface name, from `ovs-appctl dpif/show`."""
    out = {}
    for line in dpif_show.splitlines():
        m = _DP_PORT.match(line)
        if m:
            out[m.group(3)] = m.group(1)
    return out


_DEPTH = re.compile(r"over max translation depth( \d+)?")
_BRIDGE = re.compile(r'^\s*bridge\("([^"]+)"\)')


def parse_trace(
    text: str,
    bridge: str,
    entry: str,
    kind: str,
    vlan: int | None,
    dp_names: Mapping[str, str],
) -> TraceResult:
    """Is there a loop in this `ofproto/trace` output? Yes when translation ran out of depth
    (the packet keeps going round the bridges) or the one packet leaves the same datapath
    port more than once."""
    depth = _DEPTH.search(text)
    copies: Counter[str] = Counter()
    for line in text.splitlines():
        if line.startswith("Datapath actions:"):
            for action in _split_actions(line.partition(":")[2]):
                if action.isdigit():
                    copies[dp_names.get(action, f"dp port {action}")] += 1
    path = tuple(m.group(1) for m in map(_BRIDGE.match, text.splitlines()) if m)[:6]
    repeated = {p: n for p, n in copies.items() if n > 1}
    loop = depth is not None or bool(repeated)
    words = []
    if depth is not None:
        words.append(depth.group(0).strip())
    if repeated:
        words.append(", ".join(f"{n} copies out {p}" for p, n in sorted(repeated.items())))
    if not words:
        outs = ", ".join(sorted(copies)) or "nothing"
        words.append(f"delivered once to each of: {outs}")
    return TraceResult(
        bridge, entry, kind, vlan, loop, depth is not None, dict(copies), path, "; ".join(words)
    )


def _split_actions(text: str) -> list[str]:
    """Split datapath actions at the commas that are not inside parentheses."""
    out: list[str] = []
    cur: list[str] = []
    depth = 0
    for ch in text.strip():
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            out.append("".join(cur).strip())
            cur = []
        else:
            cur.append(ch)
    if cur:
        out.append("".join(cur).strip())
    return out


def mark_introduced(
    before: Sequence[TraceResult], after: Sequence[TraceResult]
) -> list[TraceResult]:
    looped = {(t.bridge, t.entry, t.vlan) for t in before if t.loop}
    out = []
    for t in after:
        new = t.loop and (t.bridge, t.entry, t.vlan) not in looped
        out.append(
            TraceResult(
                t.bridge,
                t.entry,
                t.entry_kind,
                t.vlan,
                t.loop,
                t.depth_exceeded,
                t.copies,
                t.path,
                t.evidence,
                new,
            )
        )
    return out


