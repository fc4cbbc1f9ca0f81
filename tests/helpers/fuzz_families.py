"""One hypothesis strategy and one runner per input family (see fuzz_cases.py for the check).

Every family starts from real input (the seed bundle written by real ovsdb-servers, its
change files, a real topology, real-shaped sos reports) and breaks it: byte flips, cuts,
inserted hostile names and escapes, deep nesting, huge numbers, wrong file types.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from hypothesis import strategies as st

from helpers.fuzz_cases import (
    BUNDLE,
    EX,
    HOSTILE,
    change_texts,
    edit_ops,
    formats,
    hostile,
    mutate,
    output_problems,
    run_cli,
    seed_files,
    tar_xz,
    write_tree,
)

Case = dict[str, Any]
CHANGE = EX / "change-corrected.sh"

# --- seeds ------------------------------------------------------------------------------


@functools.cache
def seeds() -> dict[str, bytes]:
    return seed_files()


@functools.cache
def topology_text() -> str:
    from ovnguard.lab.topology import seed_topology

    return yaml.safe_dump(seed_topology(3).model_dump(mode="json"), sort_keys=False)


INI = b"""[DEFAULT]
core_plugin = ml2
transport_url = rabbit://openstack:pw@10.0.0.1:5672//

[ml2]
mechanism_drivers = ovn
  l2population

[ovn]
ovn_nb_connection = tcp:10.10.0.11:6641
bridge_mappings = physnet2:br-ex
"""
TARGETS = b"""defaults:
  user: root
  sudo: true
hosts:
  controller: {address: 10.10.0.21, nb: tcp:10.10.0.21:6641}
  compute1: 10.10.0.23
"""
IP_O_ADDR = b"""1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever \
preferred_lft forever
2: br-ex    inet 10.10.0.21/24 brd 10.10.0.255 scope global br-ex\\       valid_lft forever \
preferred_lft forever
2: br-ex    inet6 fd10::21/64 scope global \\       valid_lft forever preferred_lft forever
"""
IP_ROUTE = b"""default via 10.10.0.1 dev br-ex
10.10.0.0/24 dev br-ex proto kernel scope link src 10.10.0.21
10.20.0.0/16 proto static
\tnexthop via 10.10.0.2 dev br-ex weight 1
\tnexthop via 10.10.0.3 dev br-ex weight 1
blackhole 192.0.2.0/24
local 10.10.0.21 dev br-ex table local proto kernel scope host src 10.10.0.21
"""
IP_LINK = b"""1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN mode DEFAULT \
group default qlen 1000
    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00 promiscuity 0
2: enp6s18: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc fq_codel master br-ex state UP
    link/ether 52:54:00:12:34:56 brd ff:ff:ff:ff:ff:ff promiscuity 1
    veth
    bridge_slave state forwarding priority 32
3: br-ex: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP mode DEFAULT
    link/ether 52:54:00:12:34:56 brd ff:ff:ff:ff:ff:ff promiscuity 0
    openvswitch
"""


def sos_tree(host: str) -> dict[str, bytes]:
    """A sos report laid out as sos lays it out, from the seed bundle's real files."""
    s = seeds()
    top = f"sosreport-{host}-2024-01-01-abcdef"
    files = {
        f"{top}/sos_commands/host/hostname": f"{host}\n".encode(),
        f"{top}/etc/openvswitch/conf.db": s[f"hosts/{host}/conf.db"],
        f"{top}/sos_commands/networking/ip_-o_addr": IP_O_ADDR,
        f"{top}/sos_commands/networking/ip_route_show_table_all": IP_ROUTE,
        f"{top}/sos_commands/networking/ip_-s_-d_link": IP_LINK,
        f"{top}/etc/neutron/neutron.conf": INI,
    }
    if host == "controller":
        files[f"{top}/var/lib/ovn/ovnnb_db.db"] = s["nb.db"]
        files[f"{top}/var/lib/ovn/ovnsb_db.db"] = s["sb.db"]
    return files


# --- families ---------------------------------------------------------------------------
# Each: (strategy of a case, runner(case, root) -> problems). Runners raise OvnguardError
# for input they refuse: that is the right answer, counted as fine by run_case.


def _cli(argv: list[str], fmt: str) -> list[str]:
    code, out, err = run_cli(argv)
    return output_problems(code, out, err, fmt)


# change: the seed change files mutated, or lines built from hostile names
change_lines = st.lists(st.one_of(
    st.builds(lambda h: f"ovn-nbctl ls-add '{h}'", hostile),
    st.builds(lambda h: f"ovn-nbctl lsp-add sw0 '{h}' -- lsp-set-type '{h}' localnet", hostile),
    st.builds(lambda h: f"ovs-vsctl add-br '{h}'", hostile),
    st.builds(lambda h: f"ovs-vsctl set open . external_ids:ovn-bridge-mappings='{h}:br-ex'",
              hostile),
    st.builds(lambda h: f"# host: {h}", hostile),
    st.builds(lambda h: f"openstack network create --provider-physical-network '{h}' n",
              hostile),
    st.text(max_size=80),
    st.sampled_from(["ovn-nbctl " + "-- ls-add x " * 300, "a" * 70_000, "'unterminated",
                     "x=$(" * 50, "\\\n" * 100, "ovs-vsctl " + "--" * 2000]),
), max_size=8)


@st.composite
def change_case(draw: st.DrawFn) -> Case:
    if draw(st.booleans()):
        base = draw(st.sampled_from(sorted(change_texts().items())))[1].encode()
        text = mutate(base, draw(edit_ops))
    else:
        text = "\n".join(draw(change_lines)).encode("utf-8", "surrogatepass")
    name = draw(st.sampled_from(["change.sh", "<script>alert(1)</script>.sh", "\x1b[2J.sh"]))
    return {"text": text, "name": name, "fmt": draw(formats)}


def run_change(case: Case, root: Path) -> list[str]:
    f = root / case["name"].replace("/", "_")  # a file name, not a path
    f.write_bytes(case["text"])
    return _cli(["check", "-b", str(BUNDLE), "--change", str(f), "-f", case["fmt"]], case["fmt"])


def change_parse_case() -> st.SearchStrategy[Case]:
    return st.builds(lambda t: {"text": t}, st.one_of(
        st.text(alphabet=st.sampled_from(list("ovn-bctlsadd '\"\\$;&|#=-:\n\t{}[]()`*?x!")),
                max_size=300),
        change_lines.map("\n".join)))


def run_change_parse(case: Case, root: Path) -> list[str]:
    from ovnguard.change.parse import parse_change

    parse_change(case["text"], "change.sh")
    return []


# bundle: one file of the seed bundle broken, replaced by a FIFO/dir/symlink, or a host
# directory given a hostile name; then the whole check, in every format
BUNDLE_TWISTS = ("mutate", "fifo", "dir", "symlink-proc", "empty", "hostdir", "inventory-key",
                 "ini-value", "missing")


@st.composite
def bundle_case(draw: st.DrawFn) -> Case:
    target = draw(st.sampled_from(sorted(seeds())))
    return {"target": target, "twist": draw(st.sampled_from(BUNDLE_TWISTS)),
            "ops": draw(edit_ops), "name": draw(hostile), "fmt": draw(formats)}


def run_bundle(case: Case, root: Path) -> list[str]:
    b = root / "bundle"
    files = dict(seeds())
    target, twist = case["target"], case["twist"]
    if twist == "mutate":
        files[target] = mutate(files[target], case["ops"])
    elif twist == "empty":
        files[target] = b""
    elif twist == "missing":
        del files[target]
    elif twist == "inventory-key":
        files["inventory.yaml"] += f"  {json.dumps(case['name'])}: 10.0.0.9\n".encode()
    elif twist == "ini-value":
        ini = next((k for k in files if k.endswith(".ini")), target)
        files[ini] += f"\n[x]\nbridge_mappings = {case['name']}:br-ex\n".encode(
            "utf-8", "surrogatepass")
    elif twist == "hostdir":
        name = case["name"].replace("/", "_").replace("\x00", "_")[:200] or "_"
        if name in (".", ".."):
            name = "_"
        files = {(k.replace("hosts/compute1/", f"hosts/{name}/") if k.startswith("hosts/")
                  else k): v for k, v in files.items()}
    special = twist in ("fifo", "dir", "symlink-proc")
    write_tree(b, {k: v for k, v in files.items() if not (special and k == target)})
    if special:
        p = b / target
        p.parent.mkdir(parents=True, exist_ok=True)
        if twist == "fifo":
            os.mkfifo(p)
        elif twist == "dir":
            p.mkdir()
        else:
            p.symlink_to("/proc/self/mem")
    fmt = case["fmt"]
    return _cli(["check", "-b", str(b), "--change", str(CHANGE), "-f", fmt], fmt)


# OVSDB files, straight into the reader
def ovsdb_case() -> st.SearchStrategy[Case]:
    return st.builds(lambda t, ops: {"target": t, "ops": ops},
                     st.sampled_from(["nb.db", "sb.db", "hosts/compute1/conf.db"]), edit_ops)


def run_ovsdb(case: Case, root: Path) -> list[str]:
    from ovnguard.sources.ovsdb_file import parse_database

    parse_database(mutate(seeds()[case["target"]], case["ops"]), case["target"])
    return []


# iproute2 JSON
def iproute_case() -> st.SearchStrategy[Case]:
    return st.builds(lambda t, ops: {"target": t, "ops": ops},
                     st.sampled_from(["addr.json", "route.json", "link.json"]), edit_ops)


def run_iproute(case: Case, root: Path) -> list[str]:
    from ovnguard.sources.iproute import parse_addresses, parse_links, parse_routes

    raw = mutate(seeds()[f"hosts/compute1/{case['target']}"], case["ops"])
    {"addr.json": parse_addresses, "route.json": parse_routes,
     "link.json": parse_links}[case["target"]](raw, case["target"])
    return []


# iproute2 text (what sos keeps)
def iptext_case() -> st.SearchStrategy[Case]:
    return st.builds(lambda t, ops: {"target": t, "ops": ops},
                     st.sampled_from(["addr", "route", "link"]), edit_ops)


def run_iptext(case: Case, root: Path) -> list[str]:
    from ovnguard.sources.iptext import parse_addr_oneline, parse_link_text, parse_route_text

    seed = {"addr": IP_O_ADDR, "route": IP_ROUTE, "link": IP_LINK}[case["target"]]
    text = mutate(seed, case["ops"]).decode("utf-8", "replace")
    {"addr": parse_addr_oneline, "route": parse_route_text,
     "link": parse_link_text}[case["target"]](text, case["target"])
    return []


# oslo.config .ini
def ini_case() -> st.SearchStrategy[Case]:
    return st.builds(lambda ops: {"ops": ops}, edit_ops)


def run_ini(case: Case, root: Path) -> list[str]:
    from ovnguard.errors import InputError
    from ovnguard.sources.neutron_ini import parse_ini
    from ovnguard.sources.redact import redact_ini

    text = mutate(INI, case["ops"]).decode("utf-8", "replace")
    redact_ini(text)
    try:
        parse_ini(text, "neutron.conf")
    except InputError as e:
        # an error names file and line, never a value (the seed's password is "pw")
        if ":pw@" in str(e):
            return [f"ini error echoes a value: {e}"]
        raise
    return []


# YAML: topology, inventory, SSH targets
def yaml_case() -> st.SearchStrategy[Case]:
    return st.builds(lambda t, ops: {"target": t, "ops": ops},
                     st.sampled_from(["topology", "inventory", "targets"]), edit_ops)


def run_yaml(case: Case, root: Path) -> list[str]:
    from ovnguard.lab.topology import parse_topology
    from ovnguard.sources.inventory import parse_inventory
    from ovnguard.sources.remote import parse_targets

    seed = {"topology": topology_text().encode(), "inventory": seeds()["inventory.yaml"],
            "targets": TARGETS}[case["target"]]
    text = mutate(seed, case["ops"]).decode("utf-8", "replace")
    parser: Callable[[str, str], object] = {
        "topology": parse_topology, "inventory": parse_inventory,
        "targets": parse_targets}[case["target"]]
    parser(text, f"{case['target']}.yaml")
    return []


# sos reports: directories and .tar.xz, one file broken (or the archive's bytes)
@st.composite
def sos_case(draw: st.DrawFn) -> Case:
    tree = {**sos_tree("controller"), **sos_tree("compute1")}
    target = draw(st.sampled_from(sorted(tree)))
    return {"target": target, "ops": draw(edit_ops), "archive": draw(st.booleans()),
            "archive_ops": draw(st.one_of(st.none(), edit_ops)), "fmt": draw(formats)}


def run_sos(case: Case, root: Path) -> list[str]:
    paths: list[str] = []
    for host in ("controller", "compute1"):
        tree = sos_tree(host)
        if case["target"] in tree:
            tree[case["target"]] = mutate(tree[case["target"]], case["ops"])
        if case["archive"]:
            data = tar_xz(tree)
            if case["archive_ops"]:
                data = mutate(data, case["archive_ops"])
            p = root / f"sosreport-{host}.tar.xz"
            p.write_bytes(data)
            paths.append(str(p))
        else:
            write_tree(root, tree)
            paths.append(str(root / next(iter(tree)).split("/")[0]))
    argv = ["check", "--change", str(CHANGE), "-f", case["fmt"]]
    for p in paths:
        argv += ["--sosreport", p]
    return _cli(argv, case["fmt"])


# report writers: a real report with hostile strings everywhere
@functools.cache
def seed_report() -> dict[str, Any]:
    from ovnguard.assess import assess
    from ovnguard.change.parse import read_change
    from ovnguard.sources.bundle import load_bundle

    return assess(load_bundle(BUNDLE), read_change(CHANGE)).report.model_dump(mode="json")


@functools.cache
def _literal_keys() -> frozenset[str]:
    """Fields whose value is one of a fixed set (enum/const in the schema): kept as they
    are, since a poisoned one would not be a report at all."""
    from ovnguard.report.schema import Report

    keys: set[str] = set()

    def walk(v: Any) -> None:
        if isinstance(v, dict):
            for name, prop in (v.get("properties") or {}).items():
                if isinstance(prop, dict) and ("enum" in prop or "const" in prop or any(
                        "enum" in x or "const" in x for x in prop.get("anyOf", [])
                        if isinstance(x, dict))):
                    keys.add(name)
            for x in v.values():
                walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)

    walk(Report.model_json_schema())
    return frozenset(keys)


def _poison(v: Any, pick: Callable[[], str]) -> Any:
    if isinstance(v, str):
        return v + pick()
    if isinstance(v, list):
        return [_poison(x, pick) for x in v]
    if isinstance(v, dict):
        return {k: (x if k in _literal_keys() else _poison(x, pick)) for k, x in v.items()}
    return v


@st.composite
def report_case(draw: st.DrawFn) -> Case:
    return {"payloads": draw(st.lists(hostile, min_size=1, max_size=6)), "fmt": draw(formats),
            "verbose": draw(st.booleans())}


def run_report(case: Case, root: Path) -> list[str]:
    import io
    import sys

    from ovnguard.report.formats import emit
    from ovnguard.report.schema import Report

    payloads = list(case["payloads"])
    counter = iter(range(1 << 30))

    def pick() -> str:
        return payloads[next(counter) % len(payloads)]

    report = Report.model_validate(_poison(seed_report(), pick))
    buf = io.BytesIO()
    so = io.TextIOWrapper(buf, encoding="utf-8", write_through=True)
    old = sys.stdout
    sys.stdout = so
    try:
        emit(report, case["fmt"], None, verbose=case["verbose"])
    finally:
        so.flush()
        sys.stdout = old
    out = buf.getvalue().decode("utf-8", "replace")
    return output_problems(1, out, "", case["fmt"])


FAMILIES: dict[str, tuple[Callable[[], st.SearchStrategy[Case]],
                          Callable[[Case, Path], list[str]]]] = {
    "change (check CLI)": (change_case, run_change),
    "change parser": (change_parse_case, run_change_parse),
    "bundle (check CLI)": (bundle_case, run_bundle),
    "sos report (check CLI)": (sos_case, run_sos),
    "ovsdb file": (ovsdb_case, run_ovsdb),
    "iproute2 JSON": (iproute_case, run_iproute),
    "iproute2 text": (iptext_case, run_iptext),
    "neutron ini": (ini_case, run_ini),
    "YAML (topology, inventory, targets)": (yaml_case, run_yaml),
    "report writers": (report_case, run_report),
}
assert HOSTILE
