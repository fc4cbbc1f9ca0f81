"""Self-contained HTML report: the verdict, the chain of events, the findings, and a topology
picture (inline SVG, no external assets) with the blast radius highlighted.

The picture: one column per host; inside, its OVS bridges with their ports (ports the change
adds in red, ports it removes struck through); under the hosts, one bar per management L2
segment joining the hosts whose management shares it; hosts in the blast radius framed red.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from jinja2 import Environment, PackageLoader
from markupsafe import Markup

from ovnguard.report.schema import Report

HOST_W = 250
GAP = 30
PORT_H = 16
BR_PAD = 8


@dataclass
class _Box:
    x: float
    y: float
    w: float
    h: float


def _esc(s: str) -> str:
    return html.escape(s, quote=True)


def topology_svg(report: Report) -> str:
    hosts = sorted(set(report.topology) | set(report.realization))
    if not hosts:
        return ""
    blast = set(report.blast_radius)
    # Wide enough for the longest port name (monospace 12px ~ 7.3 px a character).
    longest = max(
        [len(p) for t in report.topology.values() for ps in t.bridges.values() for p in ps]
        + [len(p.port) for r in report.realization.values() for p in r.added]
        + [20]
    )
    host_w = max(HOST_W, int(longest * 7.3) + 60)
    parts: list[str] = []
    heights: dict[str, float] = {}
    mgmt_anchor: dict[str, tuple[float, float]] = {}
    top = 40.0
    for i, h in enumerate(hosts):
        x = 10 + i * (host_w + GAP)
        topo = report.topology.get(h)
        real = report.realization.get(h)
        added = {(p.bridge, p.port) for p in (real.added if real else [])}
        removed = {(p.bridge, p.port) for p in (real.removed if real else [])}
        stale = {(p.bridge, p.port) for p in (real.stale_until_recompute if real else [])}
        known = topo.bridges if topo else {}
        bridges: dict[str, list[str]] = {b: list(ps) for b, ps in known.items()}
        for b, p in added:
            bridges.setdefault(b, [])
            if p not in bridges[b]:
                bridges[b].append(p)
        y = top + 34
        inner: list[str] = []
        for b in sorted(bridges):
            ports = sorted(bridges[b])
            bh = 22 + PORT_H * max(1, len(ports)) + BR_PAD
            is_mgmt = topo is not None and topo.management_bridge == b
            inner.append(
                f'<rect x="{x + 10}" y="{y}" width="{host_w - 20}" height="{bh}" rx="6" '
                f'class="bridge{" mgmt" if is_mgmt else ""}"/>'
                f'<text x="{x + 18}" y="{y + 15}" class="brname">{_esc(b)}'
                + (f'<tspan class="mgmtlabel">  management {_esc(topo.management or "")}'
                   "</tspan>" if is_mgmt and topo is not None else "")
                + "</text>"
            )
            py = y + 22
            for p in ports:
                cls = "port"
                if (b, p) in added:
                    cls += " added"
                elif (b, p) in removed:
                    cls += " removed"
                elif (b, p) in stale:
                    cls += " stale"
                label = p
                if topo is not None and p == topo.management_interface:
                    label += f"  ({topo.management})"
                inner.append(
                    f'<text x="{x + 24}" y="{py + 11}" class="{cls}">{_esc(label)}</text>'
                )
                py += PORT_H
            if is_mgmt and topo is not None:
                mgmt_anchor[h] = (x + host_w / 2, 0.0)
            y += bh + 10
        if topo is not None and h not in mgmt_anchor and topo.management:
            inner.append(
                f'<text x="{x + 18}" y="{y + 12}" class="port">'
                f"{_esc((topo.management_interface or '?') + '  (' + topo.management + ')')}</text>"
            )
            mgmt_anchor[h] = (x + host_w / 2, 0.0)
            y += 22
        height = y - top + 6
        heights[h] = height
        frame = "host blast" if h in blast else "host"
        parts.append(
            f'<rect x="{x}" y="{top}" width="{host_w}" height="{height}" rx="10" class="{frame}"/>'
            f'<text x="{x + 12}" y="{top + 22}" class="hostname">{_esc(h)}</text>'
        )
        parts.extend(inner)
    bottom = top + max(heights.values()) + 30
    # Management segment: hosts whose management addresses share a subnet share one L2 domain.
    segments: dict[str, list[str]] = {}
    for h in hosts:
        topo = report.topology.get(h)
        if topo is not None and topo.management and h in mgmt_anchor:
            segments.setdefault(_subnet(topo.management), []).append(h)
    for n, (net, members) in enumerate(sorted(segments.items())):
        y = bottom + n * 34
        xs = [mgmt_anchor[h][0] for h in members]
        hot = any(h in blast for h in members)
        cls = "lan hot" if hot else "lan"
        parts.append(
            f'<line x1="{min(xs) - 60}" y1="{y}" x2="{max(xs) + 60}" y2="{y}" class="{cls}"/>'
            f'<text x="{min(xs) - 60}" y="{y + 16}" class="lanname">'
            f"management LAN {_esc(net)}</text>"
        )
        for h in members:
            # From the bottom of the host's box: the management path leaves the host there.
            ax = mgmt_anchor[h][0]
            ay = top + heights[h]
            parts.append(f'<line x1="{ax}" y1="{ay}" x2="{ax}" y2="{y}" class="{cls}"/>')
    width = 20 + len(hosts) * (host_w + GAP)
    height = bottom + 34 * max(1, len(segments)) + 10
    legend = (
        '<text x="10" y="20" class="legend">'
        '<tspan class="added">red: added by the change</tspan>   '
        '<tspan class="removed">struck: removed</tspan>   '
        "red frame: host in the blast radius</text>"
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="topology">'
        + legend
        + "".join(parts)
        + "</svg>"
    )


def _subnet(cidr: str) -> str:
    import ipaddress

    try:
        return str(ipaddress.ip_interface(cidr).network)
    except ValueError:
        return cidr


def render_html(report: Report) -> str:
    # Autoescape every template, whatever its file name: `select_autoescape(["html"])` does
    # not match `report.html.j2`, and every name in the report comes from data that
    # tenants can write (report/safe.py).
    env = Environment(loader=PackageLoader("ovnguard.report", "templates"), autoescape=True)
    tmpl = env.get_template("report.html.j2")
    sev_order = {"critical": 0, "high": 1, "medium": 2, "low": 3, "info": 4}
    status_order = {"introduced": 0, "present": 1, "pre-existing": 2, "resolved": 3}
    findings = sorted(
        report.findings, key=lambda f: (status_order[f.status], sev_order[f.severity], f.rule)
    )
    # The picture is built here with every data string through `_esc`; it is the only markup
    # the template is given as such.
    return tmpl.render(r=report, findings=findings, svg=Markup(topology_svg(report)))
