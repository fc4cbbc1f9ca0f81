"""The real-tool executor against the real tools run directly, through the bundle round trip.

Databases are built with the real tools, saved with `ovsdb-client backup` into a bundle, read
with `load_bundle`, and the change is applied by `RealToolExecutor` (copies of the model's
databases, daemon-mode ovn-nbctl, transaction records read back). The same lines run, one
process each, against a copy of the backed-up files. Success/failure, the error text and the
resulting rows must be the same.

The command list is not typed here: it is what the installed `ovn-nbctl --commands` and
`ovs-vsctl --commands` print, every verb (read and write), with arguments drawn by name
from small pools so that names collide often.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers.change_oracle import canonical, normalize_message
from helpers.real_db import RealDb, make_db
from ovnguard.change import ChangeResult, RealToolExecutor, parse_change
from ovnguard.change.neutron import Ml2Config
from ovnguard.change.realtools import RealBackend, ServerExited
from ovnguard.change.shell import quote_words
from ovnguard.change.syntax import commands_of
from ovnguard.change.tools import find_tools
from ovnguard.model.db import Database, diff
from ovnguard.model.mesh import elide_tunnel_mesh
from ovnguard.model.snapshot import Snapshot
from ovnguard.sources.bundle import load_bundle
from ovnguard.sources.collected import Collection, HostCollection, to_snapshot
from ovnguard.sources.ovsdb_file import read_database

pytestmark = pytest.mark.realdb

EXAMPLES = int(os.environ.get("OVNGUARD_EXECUTOR_EXAMPLES", "25"))
HOST = "compute1"
TUNNEL = "ovn-ch2-0"
# Blocks until a condition holds; on a copy nothing else changes the database.
NEVER = {"wait-until"}


def installed_commands(tool: str) -> dict[str, tuple[list[str], list[str]]]:
    """verb -> (options, argument placeholders) from `TOOL --commands`."""
    out = subprocess.run([tool, "--commands"], capture_output=True, text=True, check=True)
    verbs: dict[str, tuple[list[str], list[str]]] = {}
    for line in out.stdout.splitlines():
        opts, verb, spec = line.split(",", 2)
        verbs[verb] = (re.findall(r"\[(--[a-z-]+=?\??)\]", opts),
                       re.findall(r"[A-Z][A-Z_:=|.-]*", spec))
    return verbs


NAMES = {
    "SWITCH": ["sw1", "sw2"], "ROUTER": ["r1", "r2"], "PORT": ["p1", "p2", "lrp1", "ln1"],
    "LOGICAL_PORT": ["p1", "p2"], "PORTGROUP": ["pg1", "pg2"], "CHASSIS": ["ch1", "ch2"],
    "GROUP": ["hag1", "hag2"], "LB": ["lb1", "lb2"], "MIRROR": ["m1"], "NAME": ["m1", "n1"],
    "TYPE": ["localnet", "router", "snat", "dnat_and_snat", "gre", "", "bogus"],
    "DIRECTION": ["from-lport", "to-lport"], "PRIORITY": ["100", "1000", "70000"],
    "MATCH": ["ip4", 'inport == "p1"', "1"], "ACTION": ["allow", "drop", "pass", "reroute"],
    "IP": ["10.0.0.5", "172.24.4.5", "10.0.0.0/24", "fd00::5"],
    "EXTERNAL_IP": ["172.24.4.5", "172.24.4.6"], "LOGICAL_IP": ["10.0.0.5", "10.0.0.0/24"],
    "MAC": ["00:00:00:00:00:01", "fa:16:3e:00:00:09", "00:00:00:01:02:03:04"],
    "EXTERNAL_MAC": ["fa:16:3e:00:00:09", "zz"], "NETWORK": ["10.0.0.1/24", "172.24.4.1/24"],
    "PREFIX": ["0.0.0.0/0", "10.2.0.0/16"], "NEXTHOP": ["172.24.4.1", "discard"],
    "CIDR": ["10.0.0.0/24"], "VIP": ["172.24.4.100:80", "10.0.0.100"],
    "IP:PORT": ["10.0.0.5:80", "10.0.0.6"], "PROTOCOL": ["tcp", "udp"],
    "STATE": ["enabled", "disabled", "maybe"], "INDEX": ["1"], "FILTER": ["from-lport", "both"],
    "RATE": ["100"], "UNIT": ["kbps", "pktps"], "BURST": ["10"],
    "TARGET": ["ptcp:6641", "tcp:127.0.0.1:6640"], "ADDRESS": ["unknown", "router",
                                                              "00:00:00:00:00:02 10.0.0.6"],
    "BRIDGE": ["br-int", "br-ex", "vlan9"], "NEW-BRIDGE": ["br-ex", "br-new", "vlan9"],
    "PARENT": ["br-ex"], "NEW-VLAN": ["9", "4096"], "NEW-PORT": ["eth1", "eth2", "br-ex"],
    "IFACE": ["eth1", "eth2", "ovn-ch2-0"], "BOND": ["bond0"],
    "MODE": ["secure", "standalone", "x"],
    "KEY": ["a", "ovn-bridge-mappings"], "VALUE": ["b"], "ARG": ["1", "x"],
    "COLUMN": ["external_ids", "name", "options", "other_config", "_uuid"],
    "KEY=VALUE": ["external_ids:a=b", "options:x=y", "a=b", "name=zz"],
    "COLUMN?:KEY=VALUE": ["external_ids:a=b", "name=zz", "other_config:k=v"],
    "COLUMN?:KEY": ["external_ids:a", "name", "_uuid"],
    "RECORD": [".", "sw1", "br-ex", "pg1", "ovn-ch2-0"],
}
TABLES = {
    "ovn-nbctl": ["Logical_Switch", "Logical_Switch_Port", "NB_Global", "Port_Group", "ACL"],
    "ovs-vsctl": ["Bridge", "Port", "Interface", "Open_vSwitch", "Mirror"],
}
FALLBACK = ["sw1", "p1", "x"]


def _command(tool: str, verbs: dict[str, tuple[list[str], list[str]]]) -> st.SearchStrategy:
    syntax = commands_of(tool)

    @st.composite
    def build(draw: st.DrawFn) -> list[str]:
        verb = draw(st.sampled_from(sorted(v for v in verbs if v not in NEVER)))
        opts, holders = verbs[verb]
        words = [o.rstrip("?") + ("x" if o.endswith("=") else "")
                 for o in opts if draw(st.booleans()) and draw(st.booleans())]
        args: list[str] = []
        for h in holders:
            if h == "TABLE":
                args.append(draw(st.sampled_from(TABLES[tool])))
            elif h in NAMES:
                args.append(draw(st.sampled_from(NAMES[h])))
            else:
                args.append(draw(st.sampled_from(FALLBACK)))
        syn = syntax.get(verb)
        lo = syn.min_args if syn else 0
        hi = min(syn.max_args if syn else len(args), len(args))
        n = draw(st.integers(min(lo, len(args)), max(min(lo, len(args)), hi)))
        args = args[:n]
        while syn and len(args) < syn.min_args:
            args.append(draw(st.sampled_from(FALLBACK)))
        return [*words, verb, *args]

    return build()


def _line(tool: str) -> st.SearchStrategy[list[str]]:
    cmd = _command(tool, installed_commands(tool))
    return st.lists(cmd, min_size=1, max_size=2).map(
        lambda cs: [w for i, c in enumerate(cs) for w in ([] if i == 0 else ["--"]) + c])


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A bundle made the way operators make one: the real tools, then `ovsdb-client backup`."""
    d = tmp_path_factory.mktemp("exec")
    b = d / "bundle"
    (b / "hosts" / HOST).mkdir(parents=True)
    nb = make_db(d / "nb.db", "nb", [
        "ls-add sw1 -- lsp-add sw1 p1 -- lsp-set-addresses p1 '00:00:00:00:00:09 10.0.0.5'",
        "lsp-add sw1 ln1 -- lsp-set-type ln1 localnet -- lsp-set-options ln1 network_name=phys",
        "lr-add r1 -- lrp-add r1 lrp1 00:00:00:00:01:01 172.24.4.1/24",
        "pg-add pg1 p1 -- acl-add pg1 to-lport 1000 ip4 allow-related",
        "ha-chassis-group-add hag1 -- ha-chassis-group-add-chassis hag1 ch1 10",
        "lb-add lb1 172.24.4.100:80 10.0.0.5:80 -- mirror-add m1 gre 1 to-lport 10.9.9.9",
    ])
    sb = make_db(d / "sb.db", "sb", [f"chassis-add {HOST} geneve 127.0.0.1",
                                      f"set Chassis {HOST} hostname={HOST}"])
    ovs = make_db(d / "conf.db", "vswitch", [
        "add-br br-int", "add-br br-ex -- add-port br-ex eth1", "add-br vlan9 br-ex 9",
        "add-bond br-ex bond0 eth3 eth4",
        f"set Open_vSwitch . external_ids:system-id={HOST} external_ids:hostname={HOST}",
        # a tunnel port as ovn-controller's encaps.c makes it: held apart from the model
        # (model/mesh.py), given back to the real tool
        f"add-port br-int {TUNNEL} -- set Interface {TUNNEL} type=geneve "
        "options:remote_ip=10.9.9.2 options:csum=true options:key=flow "
        f"-- set Port {TUNNEL} external_ids:ovn-chassis-id=ch2@10.9.9.2",
    ])
    for src, kind, dst in ((nb, "nb", b / "nb.db"), (sb, "sb", b / "sb.db"),
                           (ovs, "vswitch", b / "hosts" / HOST / "conf.db")):
        with RealDb(src, kind) as db:
            db.backup(dst)
    return b


_SNAPSHOTS: dict[Path, Snapshot] = {}


def snapshot_of(bundle: Path) -> Snapshot:
    # Not a fixture: hypothesis would print its (huge) repr with every failing example.
    if bundle not in _SNAPSHOTS:
        _SNAPSHOTS[bundle] = load_bundle(bundle)
        assert HOST in _SNAPSHOTS[bundle].hosts
    return _SNAPSHOTS[bundle]


def _real_runs(bundle: Path, tool: str, lines: list[list[str]], work: Path
               ) -> tuple[list[tuple[int, str]], Path]:
    kind, src = (("nb", bundle / "nb.db") if tool == "ovn-nbctl"
                 else ("vswitch", bundle / "hosts" / HOST / "conf.db"))
    copy = work / f"real-{src.name}"
    shutil.copyfile(src, copy)
    out = []
    with RealDb(copy, kind) as db:
        for argv in lines:
            extra = ["--no-wait"] if tool == "ovs-vsctl" else []
            r = subprocess.run([tool, f"--db=unix:{db.sock}", *extra, *argv],
                               capture_output=True, text=True, timeout=30, check=False)
            msgs = [ln for ln in r.stderr.splitlines() if ln.startswith(f"{tool}: ")]
            out.append((r.returncode, msgs[-1] if msgs else ""))
        after = db.backup(work / "after.db")
    return out, after


_ROWS = re.compile(r"(First|Second) row, with UUID <uuid>, ([^.]*)\.")
_VALUES = re.compile(r"identical values \(.*?\) for index")


def _same_order(msg: str) -> str:
    """A duplicate-index error names the two rows in the order of their random uuids (real
    tool against real tool differs too): compare the two descriptions as a set. Where one
    transaction makes two duplicates (`pg-add sw1 -- pg-add p1`, both existing), the one
    named is the first the server meets, and the IDL sends its inserts in the hash order of
    their random uuids: the real tool names either against itself, so the values are not
    compared (the table and the column are)."""
    rows = sorted(m.group(2) for m in _ROWS.finditer(msg))
    msg = _VALUES.sub("identical values (<value>) for index", msg)
    return _ROWS.sub("<row>.", msg) + (" " + " | ".join(rows) if rows else "")


@pytest.fixture(scope="module")
def kept() -> Iterator[RealToolExecutor]:
    """One executor whose servers and daemons every example of a property test shares: each
    example must find the copies exactly as loaded (put back after the one before), since
    the real tool it is compared with runs on a fresh copy of the files."""
    with RealToolExecutor(find_tools()) as ex:
        yield ex


def _check(bundle: Path, tool: str, lines: list[list[str]],
           executor: RealToolExecutor | None = None) -> None:
    snapshot = snapshot_of(bundle)
    host = f"# host: {HOST}\n" if tool == "ovs-vsctl" else ""
    text = host + "".join(f"{tool} {quote_words(argv)}\n" for argv in lines)
    change = parse_change(text, "change.sh")
    result: ChangeResult = (executor or RealToolExecutor(find_tools())).apply(snapshot, change)
    with tempfile.TemporaryDirectory() as d:
        real, after_file = _real_runs(bundle, tool, lines, Path(d))
        real_after = read_database(after_file)
    ours = {p.invocation: _same_order(normalize_message(p.message.splitlines()[-1]))
            for p in result.problems if p.kind == "rejected"}
    # a tool that fails without a word (`br-exists` of a missing bridge: exit 2) is reported
    # with its exit status, which is all the operator could see too
    theirs = {i: _same_order(normalize_message(m or f"{tool}: exit status {rc}"))
              for i, (rc, m) in enumerate(real) if rc != 0}
    # Where the real tool crashes (ovn-nbctl 23.03.1 segfaults on `get Logical_Switch .
    # external_ids KEY`), its daemon mode answers with an error text: a failure both ways.
    for i, (rc, _) in enumerate(real):
        if rc < 0 and i in ours:
            theirs[i] = ours[i]
    why = "\n".join(f"  {quote_words(a)}: real rc={rc} {m!r}; ours "
                    f"{result.applied[i].status} {ours.get(i, '')!r}"
                    for i, (a, (rc, m)) in enumerate(zip(lines, real, strict=True)))
    assert not [p for p in result.problems if p.kind != "rejected"], result.problems
    assert set(ours) == set(theirs), why
    assert ours == theirs, why
    if tool == "ovn-nbctl":
        assert canonical(result.snapshot.nb) == canonical(real_after), why
        return
    # the host's database is held without ovn-controller's tunnel ports: the rows it holds
    # are the real ones, and what the lines did to the ports left out is still reported
    model_before, model_after = snapshot.hosts[HOST].ovs, result.snapshot.hosts[HOST].ovs
    assert model_before is not None and model_after is not None
    assert model_after.elided is not None or TUNNEL not in _port_names(real_after)
    assert canonical(model_after) == canonical(elide_tunnel_mesh(real_after)), why
    real_before = read_database(bundle / "hosts" / HOST / "conf.db")
    assert _port_changes(model_before, model_after) == \
        _port_changes(real_before, real_after), why


def _port_names(db: Database) -> set[str]:
    return {r.name for r in db.rows("Port")}


def _port_changes(before: Database, after: Database) -> set[tuple[str, str, str]]:
    return {(c.table, c.kind, (c.after or c.before).name)  # type: ignore[union-attr]
            for c in diff(before, after) if c.table in ("Port", "Interface")}


def test_command_lists_come_from_the_installed_tools() -> None:
    nb = installed_commands("ovn-nbctl")
    vs = installed_commands("ovs-vsctl")
    # What issue #9 counted as missing from the model must all be there to be drawn.
    for verb in ("lr-nat-add", "acl-add", "lb-add", "pg-add", "ha-chassis-group-add",
                 "lsp-set-port-security", "mirror-add", "static-mac-binding-add"):
        assert verb in nb
    for verb in ("add-bond-iface", "set-controller", "del-manager", "emer-reset"):
        assert verb in vs


@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(lines=st.lists(_line("ovn-nbctl"), min_size=1, max_size=4))
def test_every_ovn_nbctl_command_through_the_bundle(bundle: Path, kept: RealToolExecutor,
                                                    lines: list[list[str]]) -> None:
    _check(bundle, "ovn-nbctl", lines, kept)


@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(lines=st.lists(_line("ovs-vsctl"), min_size=1, max_size=4))
def test_every_ovs_vsctl_command_through_the_bundle(bundle: Path, kept: RealToolExecutor,
                                                    lines: list[list[str]]) -> None:
    _check(bundle, "ovs-vsctl", lines, kept)


def test_a_tool_failing_without_a_word_is_its_exit_status(bundle: Path) -> None:
    # found by the property test above: `br-exists` of a bridge the same transaction deleted
    # exits 2 and prints nothing; the report says "exit status 2" for it
    _check(bundle, "ovs-vsctl", [["add", "Bridge", ".", "external_ids", "external_ids:a=b"],
                                 ["del-br", "br-int", "--", "br-exists", "br-int"]])


def test_lines_on_a_tunnel_port_reach_the_real_tool(bundle: Path) -> None:
    # the model holds the host without ovn-controller's tunnel port, the real tool is given
    # it back: these lines succeed on a copy exactly as on the host, and what they did to it
    # is in the change's difference
    assert snapshot_of(bundle).hosts[HOST].ovs.elided is not None  # type: ignore[union-attr]
    _check(bundle, "ovs-vsctl", [["set", "Interface", TUNNEL, "bfd:enable=true"],
                                 ["del-port", "br-int", TUNNEL]])
    _check(bundle, "ovs-vsctl", [["del-br", "br-int"]])
    _check(bundle, "ovs-vsctl", [["--may-exist", "add-port", "br-int", TUNNEL]])


def test_kept_servers_are_put_back_between_changes(bundle: Path, kept: RealToolExecutor
                                                   ) -> None:
    # the lines that change the most (a switch and its ports gone, a bridge with its ports
    # and interfaces, the tunnel port among them), then lines that only work on the copy as
    # loaded: each must see every row back, uuids included
    _check(bundle, "ovn-nbctl", [["ls-del", "sw1"], ["lr-del", "r1"], ["pg-del", "pg1"]], kept)
    _check(bundle, "ovn-nbctl", [["lsp-add", "sw1", "p1"]], kept)  # exists again: an error
    _check(bundle, "ovn-nbctl", [["lsp-del", "p1"], ["ls-del", "sw1"]], kept)
    _check(bundle, "ovs-vsctl", [["del-br", "br-int"], ["del-br", "br-ex"]], kept)
    _check(bundle, "ovs-vsctl", [["del-port", "br-int", TUNNEL], ["del-port", "br-ex", "eth1"]],
           kept)


def test_a_server_that_cannot_be_put_back_is_started_again(bundle: Path) -> None:
    with RealToolExecutor(find_tools()) as ex:
        _check(bundle, "ovn-nbctl", [["ls-del", "sw1"]], ex)
        backend = ex._kept
        assert backend is not None and ("nb",) in backend.servers
        first = backend.servers[("nb",)]
        _check(bundle, "ovn-nbctl", [["ls-del", "sw1"]], ex)
        assert backend.servers[("nb",)] is first  # kept and put back
        put_back = backend.reset

        def killed_first() -> None:  # the server dies between the line and the rollback
            backend.servers[("nb",)].proc.kill()
            backend.servers[("nb",)].proc.wait()
            put_back()

        backend.reset = killed_first  # type: ignore[method-assign]
        r = ex.apply(snapshot_of(bundle), parse_change("ovn-nbctl ls-del sw1\n", "change.sh"))
        assert [a.status for a in r.applied] == ["applied"]  # the line ran before the kill
        assert ("nb",) not in backend.servers  # dropped by the failed rollback ...
        backend.reset = put_back  # type: ignore[method-assign]
        _check(bundle, "ovn-nbctl", [["ls-del", "sw1"]], ex)  # ... and started again
        assert backend.servers[("nb",)] is not first


def test_a_server_found_gone_before_a_line_is_started_again(bundle: Path) -> None:
    # killed between two changes: the next line runs on a new copy of the same database,
    # at once (its daemon would otherwise wait LINE_TIMEOUT for the dead one to come back)
    with RealToolExecutor(find_tools()) as ex:
        _check(bundle, "ovn-nbctl", [["ls-del", "sw1"]], ex)
        backend = ex._kept
        assert backend is not None
        first = backend.servers[("nb",)]
        first.proc.kill()
        first.proc.wait()
        _check(bundle, "ovn-nbctl", [["ls-del", "sw1"]], ex)
        assert backend.servers[("nb",)] is not first


def test_a_server_that_dies_under_a_line_is_reported_not_waited_for(bundle: Path) -> None:
    with RealBackend(find_tools()) as backend:
        db = snapshot_of(bundle).nb
        assert db is not None
        out = backend.execute(parse_change("ovn-nbctl ls-del sw1\n", "x").invocations[0],
                              db, ("nb",), "seed", Ml2Config(None, None))
        assert out.after is not None
        server = backend.servers[("nb",)]
        server.proc.kill()
        server.proc.wait()
        with pytest.raises(ServerExited):  # seen within _LIVENESS_MS, not LINE_TIMEOUT
            backend.daemons["ovn-nbctl"].run(["ls-list"])


def test_a_live_collected_host_gives_the_real_tool_its_tunnel_ports(bundle: Path) -> None:
    # `check --live` holds each host's conf.db without the tunnel mesh too, read from bytes
    # collected over SSH: the rows left out are read again from those bytes, and the line
    # on the tunnel port does on the copy what it does on the bundle's file
    c = Collection(source="live", nb=(bundle / "nb.db").read_bytes(),
                   sb=(bundle / "sb.db").read_bytes())
    c.hosts.append(HostCollection(name=HOST, files={
        "conf.db": (bundle / "hosts" / HOST / "conf.db").read_bytes()}))
    live = to_snapshot(c)
    held = live.hosts[HOST].ovs
    assert held is not None and held.elided is not None and TUNNEL not in _port_names(held)
    text = f"# host: {HOST}\novs-vsctl set Interface {TUNNEL} bfd:enable=true\n" \
        f"ovs-vsctl del-port br-int {TUNNEL}\n"
    results = [RealToolExecutor(find_tools()).apply(s, parse_change(text, "change.sh"))
               for s in (live, snapshot_of(bundle))]
    assert [[a.status for a in r.applied] for r in results] == [["applied", "applied"]] * 2
    on_live, on_file = ({(c.table, c.kind, (c.after or c.before).name)  # type: ignore[union-attr]
                         for c in diff(s.hosts[HOST].ovs, r.snapshot.hosts[HOST].ovs)}
                        for s, r in zip((live, snapshot_of(bundle)), results, strict=True))
    assert on_live == on_file and ("Port", "delete", TUNNEL) in on_live
