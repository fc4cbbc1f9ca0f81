"""The pure parts of a rehearsal: option rewriting, log and trace reading, port deltas."""

from __future__ import annotations

from ovnguard.lab.rehearse import (
    LivePort,
    parse_log,
    parse_trace,
    patch_delta,
    strip_global_options,
)
from ovnguard.simulation.types import PatchPort


def test_global_options_pointing_elsewhere_are_dropped() -> None:
    argv = [
        "--db=tcp:192.0.2.1:6641",
        "-t",
        "5",
        "--wait=hv",
        "--private-key",
        "/k.pem",
        "-f",
        "json",
        "--detach",
        "ls-add",
        "-t",
        "x",
    ]
    # Options after the first command word belong to the commands and stay.
    assert strip_global_options(argv) == ["--wait=hv", "-f", "json", "ls-add", "-t", "x"]
    assert strip_global_options(["--db", "unix:/x", "--", "ls-add", "s"]) == ["--", "ls-add", "s"]
    assert strip_global_options(["-t5", "--if-exists", "lsp-del", "p"]) == [
        "--if-exists",
        "lsp-del",
        "p",
    ]


def test_log_lines_kept_are_warnings_errors_and_notable_info() -> None:
    text = (
        "2026-11-25T06:55:53.213Z|00021|binding|INFO|Claiming lport vm1 for this chassis.\n"
        "2026-11-25T06:55:53.214Z|00022|binding|INFO|vm1: Claiming fa:16:3e:5d:7a:10\n"
        "2026-11-25T06:55:53.258Z|00025|binding|WARN|localnet port 'a' already set for "
        "datapath '1', skipping the new port 'b'.\n"
        "2026-11-25T06:55:53.259Z|00026|patch|INFO|bridge not found for localnet port 'ln-x' "
        "with network name 'x'; skipping\n"
        "2026-11-25T06:55:53.260Z|00003|rconn(ovn_pinctrl0)|ERR|br-int.mgmt: lost\n"
        "not a log line\n"
    )
    got = [(ln.module, ln.level) for ln in parse_log(text, "ovn-controller")]
    assert got == [
        ("binding", "INFO"),
        ("binding", "WARN"),
        ("patch", "INFO"),
        ("rconn(ovn_pinctrl0)", "ERR"),
    ]


TRACE_LOOP = """Flow: arp,in_port=1,dl_src=00:00:5e:00:53:01,dl_dst=ff:ff:ff:ff:ff:ff

bridge("br-ex")
---------------
 0. priority 0
    NORMAL
     -> no learned MAC for destination, flooding

    bridge("br-int")
    ----------------
        bridge("br-ex")
        ---------------
                >>>> over max translation depth 64 <<<<

Final flow: unchanged
Datapath actions: 2,6,9,push_vlan(vid=100,pcp=0),2,6,9
"""


def test_trace_with_depth_exceeded_and_repeated_outputs_is_a_loop() -> None:
    names = {"2": "br-ex", "6": "enp6s18", "9": "tap1"}
    t = parse_trace(TRACE_LOOP, "br-ex", "enp6s18", "nic", None, names)
    assert t.loop and t.depth_exceeded
    assert t.copies == {"br-ex": 2, "enp6s18": 2, "tap1": 2}
    assert t.path == ("br-ex", "br-int", "br-ex")
    assert t.evidence.startswith("over max translation depth 64")


def test_trace_delivering_once_is_no_loop() -> None:
    text = 'bridge("br-ex")\n    NORMAL\nDatapath actions: 2,9\n'
    t = parse_trace(text, "br-ex", "enp6s18", "nic", None, {"2": "br-ex", "9": "tap1"})
    assert not t.loop and not t.depth_exceeded
    assert t.evidence == "delivered once to each of: br-ex, tap1"


def test_patch_delta_tells_added_removed_and_stale() -> None:
    def ports(*names: str) -> list[LivePort]:
        return [LivePort("br-ex", n, "patch") for n in names] + [LivePort("br-ex", "nic", "")]

    before = ports("patch-a", "patch-b")
    after = ports("patch-b", "patch-c")
    d = patch_delta(before, after, ports("patch-c"))
    assert d.added == (PatchPort("br-ex", "patch-c"),)
    assert d.removed == (PatchPort("br-ex", "patch-a"),)
    assert d.stale == (PatchPort("br-ex", "patch-b"),)
    assert d.to_json()["stale_until_recompute"] == [{"bridge": "br-ex", "port": "patch-b"}]


def test_ip_lines_are_not_rehearsed_and_say_why() -> None:
    """Host lines never reach the replica (its hosts share this machine's network stack)."""
    from types import SimpleNamespace
    from typing import Any

    from ovnguard.change import parse_change
    from ovnguard.lab.rehearse.execute import apply_for_real

    change = parse_change("# host: compute1\nip addr del 10.10.0.23/24 dev br-ex\n", "c.sh")
    plan: Any = SimpleNamespace(snapshot=SimpleNamespace(hosts={}))
    (run,) = apply_for_real(None, change, plan, 5.0)  # type: ignore[arg-type]
    assert (run.line, run.status) == (2, "not-rehearsed") and "ovnguard check" in run.error
