"""Self-contained HTML report: the verdict, per host what changes, the findings, the chain of
events, and a picture of the blast radius laid out by Graphviz (inline SVG, no external
assets, no script).

The picture (`topology_dot`): one box per host — or per *shape* of host, so a thousand alike
compute nodes are one box "compute0001 … compute1000 (1000 hosts)" — holding its OVS bridges;
each patch pair ovn-controller keeps or is predicted to create is an edge from the provider
bridge to br-int labelled with its localnet port and logical switch; each NIC joins its
management LAN. Red: what the change adds, the hosts it reaches, the loop (two localnet ports
of one switch and one physnet on one bridge: the cycle bridge → patch → br-int → patch →
bridge), hosts that lose management. Dashed: what it removes.

Every string from the data goes through `graphviz.escape` into the DOT source (no DOT or
HTML-label injection) and comes out XML-escaped by dot; the page itself is an autoescaping
template (report/safe.py says why).
"""

from __future__ import annotations

import ipaddress
import shutil
from dataclasses import dataclass, field

from jinja2 import Environment, PackageLoader
from markupsafe import Markup

from ovnguard.i18n import _, current_language, ngettext
from ovnguard.model.hostnames import host_range
from ovnguard.report.labels import outcome_label, severity_label, status_label, verdict_label
from ovnguard.report.schema import HostRealizationOut, HostTopologyOut, Report

# Past this many distinct host shapes, only the hosts the change reaches are drawn.
MAX_SHAPES = 60
RED = "#cf222e"
GREY = "#57606a"
BLUE = "#0969da"


@dataclass
class _Shape:
    """Hosts drawn as one box: same bridges, NICs, changes and fate."""

    hosts: list[str] = field(default_factory=list)


def _subnet(cidr: str) -> str:
    try:
        return str(ipaddress.ip_interface(cidr).network)
    except ValueError:
        return cidr


def _lport(patch: str) -> str | None:
    """`patch-<lport>-to-br-int` -> lport (the provider-bridge side of a localnet pair)."""
    if patch.startswith("patch-") and patch.endswith("-to-br-int"):
        return patch[len("patch-"):-len("-to-br-int")]
    return None


def _fold(hosts: list[str]) -> str:
    return host_range(hosts, 3)


def _short(name: str, n: int = 24) -> str:
    return name if len(name) <= n else name[: n - 1] + "…"


VIF_PREFIXES = ("tap", "vnet", "veth")


def _vifs(ports: list[str] | set[str]) -> int:
    return sum(p.startswith(VIF_PREFIXES) for p in ports)


def _drawn_ports(bridge: str, ports: list[str]) -> tuple[str, ...]:
    """The ports the picture draws of a bridge: its patch ports and, outside br-int, its NICs.

    br-int's other ports are not drawn (its tunnel ports are named after each peer chassis,
    `ovn-<chassis id>-N`, so no two hosts would share a shape if they counted), and VIFs are
    drawn as a count."""
    return tuple(sorted(p for p in ports if p.startswith("patch-")
                        or (bridge != "br-int" and not p.startswith(VIF_PREFIXES))))


def _signature(h: str, report: Report, lost: set[str]) -> tuple[object, ...]:
    topo = report.topology.get(h) or HostTopologyOut()
    real = report.realization.get(h) or HostRealizationOut()
    # whether a bridge has VIFs, not how many: the box shows the range of its hosts' counts
    bridges = tuple(sorted((b, _drawn_ports(b, ps), _vifs(ps) > 0)
                           for b, ps in topo.bridges.items()))
    return (bridges, topo.management_bridge, topo.management_interface,
            _subnet(topo.management) if topo.management else None,
            tuple((p.bridge, p.port) for p in real.added),
            tuple((p.bridge, p.port) for p in real.removed),
            tuple((p.bridge, p.port) for p in real.stale_until_recompute),
            tuple(report.blast_radius.get(h, [])), h in lost, topo.known_from)


def _vif_text(report: Report, members: list[str], bridge: str) -> str:
    """"N VIF(s)" for one host; "N–M VIF(s)" when the hosts of a box have different counts."""
    counts = [_vifs((report.topology.get(m) or HostTopologyOut()).bridges.get(bridge, []))
              for m in members]
    lo, hi = min(counts), max(counts)
    if hi == 0:
        return ""
    return "\n" + (ngettext("{n} VIF", "{n} VIFs", hi).format(n=hi) if lo == hi
                   else _("{lo}–{hi} VIFs").format(lo=lo, hi=hi))


def topology_dot(report: Report) -> tuple[str, list[str]]:
    """The picture as Graphviz DOT source, and notes on what it leaves out."""
    import graphviz

    esc = graphviz.escape
    lost = {h for f in report.findings if f.status in ("introduced", "present")
            for h in f.loses_management}
    hosts = sorted(set(report.topology) | set(report.realization))
    shapes: dict[tuple[object, ...], _Shape] = {}
    for h in hosts:
        shapes.setdefault(_signature(h, report, lost), _Shape()).hosts.append(h)
    groups = [s.hosts for s in shapes.values()]
    notes: list[str] = []
    if len(groups) > MAX_SHAPES:
        reached = [g for g in groups if any(h in report.blast_radius or h in lost for h in g)]
        left = sum(len(g) for g in groups) - sum(len(g) for g in reached)
        notes.append(_("the picture shows the {shown} host(s) the change reaches; {left} other "
                       "host(s) in {shapes} different shapes are not drawn").format(
                           shown=sum(len(g) for g in reached), left=left,
                           shapes=len(groups) - len(reached)))
        groups = reached[:MAX_SHAPES]

    g = graphviz.Digraph("topology", graph_attr={
        "rankdir": "TB", "fontname": "Helvetica", "fontsize": "12", "nodesep": "0.3",
        "ranksep": "0.5", "compound": "true", "newrank": "true"},
        node_attr={"fontname": "Helvetica", "fontsize": "11", "shape": "box",
                   "style": "rounded", "height": "0.3"},
        edge_attr={"fontname": "Helvetica", "fontsize": "9", "arrowhead": "none"})
    ids = iter(f"n{i}" for i in range(1_000_000))
    lans: dict[str, str] = {}

    def lan_edge(nic: str, mgmt: str, hot: bool) -> None:
        """The NIC that carries management joins its LAN; red dashed when the host is hit."""
        net = _subnet(mgmt)
        if net not in lans:
            lans[net] = next(ids)
            g.node(lans[net], esc(_("management LAN {net}").format(net=net)), shape="box",
                   style="filled", fillcolor="#ddf4ff", color=BLUE, **{"class": "lan"})
        g.edge(nic, lans[net], color=RED if hot else BLUE, penwidth="2.5" if hot else "1.5",
               style="dashed" if hot else "solid")
    for i, members in enumerate(sorted(groups)):
        h = members[0]
        topo = report.topology.get(h) or HostTopologyOut()
        real = report.realization.get(h) or HostRealizationOut()
        added = {(p.bridge, p.port) for p in real.added}
        removed = {(p.bridge, p.port) for p in real.removed}
        stale = {(p.bridge, p.port) for p in real.stale_until_recompute}
        bridges: dict[str, set[str]] = {b: set(ps) for b, ps in topo.bridges.items()}
        for b, p in added | removed | stale:
            bridges.setdefault(b, set()).add(p)
        hit = any(m in report.blast_radius for m in members)
        loses = h in lost
        label = _fold(members) + ("   " + _("LOSES MANAGEMENT") if loses else "")
        if topo.known_from == "sb":  # no host files: an empty box is unknown, not empty
            label += "   " + _("(from SB: NICs and addresses unknown)")
        classes = "host" + (" blast" if hit else "") + (" lost" if loses else "")
        with g.subgraph(name=f"cluster_{i}") as c:
            c.attr(label=esc(label), labeljust="l", style="rounded,filled",
                   fillcolor="#fff5f5" if loses else "#f6f8fa",
                   color=RED if hit else "#8c959f", penwidth="3" if hit else "1.2",
                   fontcolor=RED if loses else "#1b1f24", fontsize="13", **{"class": classes})
            node_of: dict[str, str] = {}
            for b in sorted(bridges):
                n = next(ids)
                node_of[b] = n
                mgmt = topo.management_bridge == b
                where = (topo.management if len(members) == 1
                         else _subnet(topo.management or ""))
                text = b + ("\n" + _("management {address}").format(address=where)
                            if mgmt and topo.management else "")
                text += _vif_text(report, members, b)
                c.node(n, esc(text), color=BLUE if mgmt else "#57606a",
                       penwidth="2" if mgmt else "1", **{"class": "bridge"})
            # Patch pairs, provider side: one edge provider bridge -> br-int per localnet.
            pairs: dict[str, list[tuple[str, str]]] = {}
            for b in sorted(bridges):
                for p in sorted(bridges[b]):
                    lport = _lport(p)
                    if lport is None or b == "br-int":
                        continue
                    ln = report.localnets.get(lport)
                    key = f"{b}|{ln.switch}|{ln.network_name}|{ln.tag}" if ln else f"{b}|{lport}"
                    pairs.setdefault(key, []).append((b, p))
            for ports in pairs.values():
                loop = len(ports) > 1
                for b, p in ports:
                    lport = _lport(p) or p
                    ln = report.localnets.get(lport)
                    text = lport + (f"\n{_short(ln.switch)}, {ln.network_name}" if ln else "")
                    attrs = {"color": "#24292f", "penwidth": "1.2", "class": "patch"}
                    if (b, p) in added:
                        attrs.update(color=RED, fontcolor=RED, penwidth="2.5",
                                     **{"class": "patch added"})
                    elif (b, p) in removed:
                        attrs.update(color=GREY, fontcolor=GREY, style="dashed",
                                     **{"class": "patch removed"})
                    elif (b, p) in stale:
                        attrs.update(color="#bf8700", style="dashed",
                                     **{"class": "patch stale"})
                    if loop:
                        attrs.update(color=RED, fontcolor=RED, penwidth="3",
                                     **{"class": attrs["class"] + " loop"})
                        text += "\n" + _("L2 LOOP")
                    if "br-int" not in node_of:
                        n = next(ids)
                        node_of["br-int"] = n
                        c.node(n, "br-int", **{"class": "bridge"})
                    c.edge(node_of[b], node_of["br-int"], label=esc(text), dir="both",
                           arrowhead="dot", arrowtail="dot", **attrs)
            # NICs: non-patch, non-VIF ports of provider bridges; the management path.
            for b in sorted(bridges):
                if b == "br-int":
                    continue
                for p in sorted(bridges[b]):
                    if p.startswith(("patch-", *VIF_PREFIXES)) or p == b:
                        continue
                    n = next(ids)
                    c.node(n, esc(p), shape="ellipse", style="", **{"class": "nic"})
                    c.edge(node_of[b], n)
                    if topo.management_bridge == b and topo.management:
                        lan_edge(n, topo.management, hit)
            if topo.management and topo.management_bridge is None:
                n = next(ids)
                c.node(n, esc(f"{topo.management_interface or '?'}\n{topo.management}"),
                       shape="ellipse", style="", color=BLUE, **{"class": "nic mgmt"})
                lan_edge(n, topo.management, hit)
    return g.source, notes


def topology_svg(report: Report) -> tuple[str, list[str]]:
    """The picture as inline SVG (Graphviz's `dot`), and notes on what it leaves out."""
    if not (report.topology or report.realization):
        return "", []
    if shutil.which("dot") is None:
        return "", [_("no picture: Graphviz's `dot` is not installed (Debian: apt install "
                      "graphviz)")]
    import graphviz

    source, notes = topology_dot(report)
    svg = graphviz.Source(source).pipe(format="svg", encoding="utf-8")
    return svg[svg.index("<svg"):], notes


def render_html(report: Report) -> str:
    # Autoescape every template, whatever its file name: `select_autoescape(["html"])` does
    # not match `report.html.j2`, and every name in the report comes from data that
    # tenants can write (report/safe.py).
    env = Environment(loader=PackageLoader("ovnguard.report", "templates"), autoescape=True,
                      extensions=["jinja2.ext.i18n"])
    # the template's {% trans %} and _() speak the current language (ovnguard.i18n)
    env.install_gettext_callables(_, ngettext, newstyle=True)  # type: ignore[attr-defined]
    tmpl = env.get_template("report.html.j2")
    sev_order = {"critical": 0, "high": 1, "medium": 2, "low": 3, "info": 4}
    status_order = {"introduced": 0, "present": 1, "pre-existing": 2, "resolved": 3}
    findings = sorted(
        report.findings, key=lambda f: (status_order[f.status], sev_order[f.severity], f.rule)
    )
    svg, notes = topology_svg(report)
    lost = sorted({h for f in report.findings if f.status in ("introduced", "present")
                   for h in f.loses_management})
    # The SVG is dot's output from escaped DOT: the only markup the template is given as such.
    return tmpl.render(r=report, findings=findings, svg=Markup(svg), picture_notes=notes,
                       lost=lost, lang=current_language(), verdict_label=verdict_label,
                       severity_label=severity_label, outcome_label=outcome_label,
                       status_label=status_label)
