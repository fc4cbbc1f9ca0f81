"""Sentinels: the console fix for a chassis the change cut off from the SB, automated.

* the decision logic, as pure functions (no daemon);
* the sentinel process against a real OVN (the seed lab on the dummy datapath), with a
  `cmd:` probe the test turns off and on as the stand-in for "this host lost its SB";
* the seed incident with real packets and ovn-controller reaching the SB over the very
  LAN the loop breaks (`control="management"`, as in the seed): the guard restores NB,
  compute1's sentinel deletes the patch ports, everything comes back;
* the negative: a change that loops nothing, sentinel armed, no deletion, exit at the
  deadline.

Every test stops its sentinels at teardown, pass or fail (the fixtures below), before the
lab goes.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from helpers.guard_tools import (
    NEEDED,
    PATCH,
    SEED_CHANGE,
    SEED_PROVNET,
    SEED_SWITCH,
    GuardEnv,
    nb_rows,
    stop_watchers,
)
from helpers.proc_tools import processes_mentioning
from ovnguard.errors import InputError
from ovnguard.guard import sentinel as sn
from ovnguard.lab.dataplane import DataplaneLab, Matrix, format_matrix, lab_id_for
from ovnguard.lab.export import export_bundle

pytest_plugins = ("helpers.guard_fixtures",)

BRINT = "patch-br-int-to-ln-physnet2"
SEED_PAIR = [PATCH, BRINT]
PROV_BREX = f"patch-{SEED_PROVNET}-to-br-int"
PROV_BRINT = f"patch-br-int-to-{SEED_PROVNET}"
# A change that loops nothing but makes ovn-controller create patch ports on `network`: a
# router on the provider network with its gateway there (Neutron's router gateway).
GATEWAY_CHANGE = f"""ovn-nbctl lr-add router-gw
ovn-nbctl lrp-add router-gw lrp-gw fa:16:3e:00:00:01 203.0.113.1/24
ovn-nbctl lsp-add {SEED_SWITCH} rp-gw
ovn-nbctl lsp-set-type rp-gw router
ovn-nbctl lsp-set-addresses rp-gw router
ovn-nbctl lsp-set-options rp-gw router-port=lrp-gw
ovn-nbctl lrp-set-gateway-chassis lrp-gw network 10
"""


# --- fixtures: every sentinel stopped before the lab goes -----------------------------------


@pytest.fixture
def sgenv(genv: GuardEnv) -> Iterator[GuardEnv]:
    try:
        yield genv
    finally:
        sn.stop_all(genv.state_dir / sn.SUBDIR)


@pytest.fixture
def dp_mgmt(tmp_path: Path) -> Iterator[tuple[GuardEnv, DataplaneLab]]:
    """The seed cluster as a data-plane lab with ovn-controller reaching the SB over the
    management LAN (in band, as on the seed's nodes), its bundle and a state dir. Sentinels,
    watchers, daemons and namespaces are gone at teardown, pass or fail."""
    from ovnguard.lab import netns

    reason = netns.why_unavailable()
    if reason:
        pytest.skip(reason)
    missing = [b for b in (*NEEDED, "ping") if shutil.which(b) is None]
    if missing:
        pytest.skip(f"needs the OVS/OVN/iputils Debian packages ({', '.join(missing)} missing)")
    run_dir = tmp_path / "dp"
    state_dir = tmp_path / "state"
    dp = DataplaneLab.up(None, run_dir, control="management")
    try:
        yield GuardEnv(dp.lab, tmp_path, state_dir, export_bundle(dp.lab, tmp_path / "bundle")), dp
    finally:
        sn.stop_all(state_dir / sn.SUBDIR)
        stop_watchers(state_dir)
        DataplaneLab.down_dir(run_dir)
    left = processes_mentioning(tmp_path)
    assert left == [], f"processes left running for {tmp_path}: {left}"
    names = os.listdir("/run/netns") if os.path.isdir("/run/netns") else []
    assert not [n for n in names if f"-{lab_id_for(run_dir)}-" in n]


def _sentinel_args(genv: GuardEnv, dp: DataplaneLab) -> list[str]:
    """`apply --sentinel` in the lab: each host's namespace and its own unix socket."""
    out: list[str] = []
    for h in dp.host_names:
        out += ["--sentinel-netns", f"{h}={dp.netns_of(h)}",
                "--chassis-db", f"{h}={genv.chassis_db(h)}"]
    return out


def _recorded(doc: dict[str, object], host: str) -> Path:
    sents = [s for s in doc.get("sentinels", []) if s["host"] == host]  # type: ignore[attr-defined]
    assert len(sents) == 1, doc.get("sentinels")
    return Path(sents[0]["path"])


def _cut_off(m: Matrix, host: str) -> bool:
    return not any(ok for pair, ok in m.items() if host in pair)


def _sentinel_marks(events: list[dict[str, object]]) -> list[tuple[float, str]]:
    """The sentinel's events for a timeline; a run of delete / re-create as one line."""
    out: list[tuple[float, str]] = []
    burst: list[dict[str, object]] = []

    def flush() -> None:
        if burst:
            t0, t1 = float(burst[0]["t"]), float(burst[-1]["t"])  # type: ignore[arg-type]
            n = sum(1 for e in burst if e["event"] == "deleted")
            again = sum(1 for e in burst if e["event"] == "ports-re-created")
            out.append((t0, f"compute1's sentinel deleted the pair {n} time(s) in "
                        f"{t1 - t0:.2f}s (ovn-controller re-created it {again} time(s))"
                        if n else "ovn-controller re-created the pair; SB reachable: left "
                        "alone"))
            burst.clear()

    for e in events:
        if e["event"] in ("deleted", "ports-re-created"):
            burst.append(e)
            continue
        flush()
        if e["event"] in ("ports-appeared", "probe-failed", "sb-reachable", "ports-gone"):
            out.append((float(e["t"]), f"compute1's sentinel: {e['message']}"))  # type: ignore[arg-type]
    flush()
    return out


def _events(path: Path, kind: str) -> list[dict[str, object]]:
    return [e for e in sn.read_state(path)["events"] if e["event"] == kind]


# --- 1. the decision, without daemons -------------------------------------------------------


def test_decide_acts_only_on_a_failing_streak_with_ports_present() -> None:
    until = 100.0
    both = {PATCH, BRINT}
    # SB reachable: never an action, ports or not (NB's will, heard over a working path).
    assert sn.decide([True], both, 2, 10, until).action == "wait"
    assert sn.decide([False, False, True], both, 2, 10, until).reason == "SB reachable"
    assert sn.decide([], both, 1, 10, until).action == "wait"
    # Not yet N in a row.
    d = sn.decide([False, True, False], both, 2, 10, until)
    assert (d.action, d.reason) == ("wait", "SB unreachable 1/2 rounds")
    # N in a row but nothing of the change there: nothing to undo.
    d = sn.decide([False, False], set(), 2, 10, until)
    assert d.action == "wait" and "no watched port exists" in d.reason
    # N in a row and the ports there: delete exactly those present.
    d = sn.decide([True, False, False], both, 2, 10, until)
    assert d.action == "delete" and d.ports == (BRINT, PATCH)
    assert sn.decide([False, False, False], {PATCH}, 2, 10, until).ports == (PATCH,)
    # Still unreachable after a deletion and ovn-controller re-created them: again.
    assert sn.decide([False] * 5, both, 2, 10, until).action == "delete"
    # The deadline ends everything, whatever the history.
    assert sn.decide([False] * 5, both, 2, until, until).action == "exit"
    assert sn.failing_streak([]) == 0
    assert sn.failing_streak([False, True, False, False]) == 2


def _port(name: str, bridge: str | None = "br-ex", owner: str | None = "ovn-localnet-port=x",
          patch: bool = True) -> sn.PortInfo:
    return sn.PortInfo(name, f"u-{name}", bridge, f"b-{bridge}" if bridge else None, owner,
                       patch)


def test_only_new_ovn_controller_patch_ports_are_ever_deleted() -> None:
    existing = {"decoy": _port("decoy", owner=None, patch=False)}
    keep, skipped = sn.split_watch([PATCH, "decoy", BRINT], existing)
    assert keep == [PATCH, BRINT]
    assert skipped[0]["port"] == "decoy" and "exists already on br-ex" in skipped[0]["why"]
    found = {PATCH: _port(PATCH), BRINT: _port(BRINT, "br-int"),
             "hand": _port("hand", owner=None, patch=False),
             "loose": _port("loose", bridge=None), "plain": _port("plain", owner=None)}
    ok, refused = sn.deletable([PATCH, BRINT, "hand", "loose", "plain", "absent"], found)
    assert [p.name for p in ok] == [PATCH, BRINT] or [p.name for p in ok] == [BRINT, PATCH]
    assert sorted(refused) == ["hand (not a patch port)", "loose (on no bridge)",
                               "plain (no ovn-controller key)"]


def test_checks_watch_lists_and_deadlines_parse_or_say_why() -> None:
    assert [c.spec for c in sn.sb_checks("tcp:10.10.0.10:6642")] == ["tcp:10.10.0.10:6642"]
    assert [c.spec for c in sn.sb_checks("ssl:10.0.0.1:6642,tcp:10.0.0.2")] == [
        "tcp:10.0.0.1:6642", "tcp:10.0.0.2:6642"]
    assert sn.sb_checks("tcp:[fd00::5]:6642")[0].probe.target == "fd00::5"  # type: ignore[union-attr]
    assert sn.sb_checks("unix:/run/ovn/ovnsb_db.sock")[0].path == "/run/ovn/ovnsb_db.sock"
    for bad in ("ptcp:6642", "tcp:10.0.0.1:99999", ""):
        with pytest.raises(InputError):
            sn.sb_checks(bad)
    with pytest.raises(InputError, match="none"):
        sn.parse_check("none")
    assert sn.parse_watch([f"{PATCH},{BRINT}", PATCH]) == [PATCH, BRINT]
    with pytest.raises(InputError):
        sn.parse_watch([" , "])
    assert sn.deadline_from(None, 30, 1000.0) == 1030.0
    assert sn.deadline_from(2000.0, None, 1000.0) == 2000.0
    for until, secs in ((None, None), (2000.0, 30.0), (999.0, None), (None, -1.0)):
        with pytest.raises(InputError):
            sn.deadline_from(until, secs, 1000.0)


def test_plans_and_printed_commands_are_per_host_from_the_prediction() -> None:
    added = {"compute1": [("br-int", BRINT), ("br-ex", PATCH)], "network": []}
    plans = sn.plans_from(added, {"compute1": "tcp:10.10.0.10:6642"}, 180.0, failures=2)
    assert [p.host for p in plans] == ["compute1"]
    argv = shlex.split(plans[0].command())
    assert argv == ["ovnguard", "guard", "sentinel", "--db", sn.DEFAULT_DB, "--watch",
                    f"{PATCH},{BRINT}", "--sb", "tcp:10.10.0.10:6642", "--for", "180",
                    "--failures", "2"]


# --- 2. the sentinel process against real ovn-controller (control-plane lab) ---------------


@pytest.mark.lab
@pytest.mark.timeout(60)
def test_sentinel_deletes_the_pair_only_while_its_probe_fails(
    sgenv: GuardEnv, wait_for: Callable[..., bool]
) -> None:
    genv = sgenv
    db = genv.chassis_db("compute1")
    cut = genv.tmp / "cut"  # exists = "compute1 lost its SB"
    genv.lab.vsctl("compute1", "add-port", "br-ex", "decoy", "--", "set", "Interface", "decoy",
                   "type=internal")
    res = genv.run("guard", "sentinel", "--db", db, "--watch", f"{PATCH},{BRINT},decoy",
                   "--watch", "hand-made", "--probe", f"cmd:test ! -e {cut}", "--for", "30",
                   "--failures", "2", "--interval", "0.2", "--host", "compute1",
                   "--state-dir", str(genv.state_dir))
    assert res.exit_code == 0, res.output
    assert "armed on compute1" in res.output
    assert "not watched: decoy: exists already on br-ex" in res.output
    [path] = sn.list_sentinels(genv.state_dir / sn.SUBDIR)
    assert sn.read_state(path)["watching"] == [PATCH, BRINT, "hand-made"]

    genv.lab.nbctl("lsp-add", SEED_SWITCH, "ln-physnet2", "--", "lsp-set-type", "ln-physnet2",
                   "localnet", "--", "lsp-set-options", "ln-physnet2", "network_name=physnet2")
    assert wait_for(lambda: {PATCH, BRINT} <= genv.ports("compute1"), 5)
    # A port by a watched name that ovn-controller did not make: never touched.
    genv.lab.vsctl("compute1", "add-port", "br-ex", "hand-made", "--", "set", "Interface",
                   "hand-made", "type=internal")
    assert wait_for(lambda: _events(path, "ports-appeared"), 5)
    time.sleep(1.0)
    assert "deletions" not in sn.read_state(path), "acted while the SB was reachable"

    cut.touch()
    t_cut = time.time()
    assert wait_for(lambda: sn.read_state(path).get("deletions"), 5)
    first = _events(path, "deleted")[0]
    print(f"\nprobe failing -> deleted {first['t'] - t_cut:.2f}s: {first['message']}")
    assert sorted((p["bridge"], p["port"]) for p in first["ports"]) == [  # type: ignore[attr-defined]
        ("br-ex", PATCH), ("br-int", BRINT)]
    # ovn-controller hears the SB (a unix socket here) and NB still wants the port: it puts
    # the pair back; the probe still fails, so the sentinel deletes it again.
    assert wait_for(lambda: len(sn.read_state(path).get("deletions", [])) >= 2, 5)
    assert _events(path, "ports-re-created")
    assert _events(path, "not-touched")[0]["message"].startswith("hand-made (not a patch port)")

    cut.unlink()
    assert wait_for(lambda: _events(path, "sb-reachable"), 5)
    n = len(sn.read_state(path)["deletions"])
    assert wait_for(lambda: {PATCH, BRINT} <= genv.ports("compute1"), 5)
    time.sleep(1.0)
    assert len(sn.read_state(path)["deletions"]) == n, "acted with the SB reachable"
    assert {PATCH, BRINT, "decoy", "hand-made"} <= genv.ports("compute1")

    status = genv.run("guard", "sentinel-status", "--state-dir", str(genv.state_dir))
    assert "compute1: watching; deleted the watched ports" in status.output, status.output
    assert f"ports {PATCH}, {BRINT}, hand-made; until" in status.output
    assert "SB reachable again" in status.output
    stop = genv.run("guard", "sentinel-stop", "--state-dir", str(genv.state_dir))
    assert stop.output.strip() == f"stopped sentinel {path.name}"
    doc = sn.read_state(path)
    assert doc["status"] == "stopped" and not sn.alive(path, doc)
    genv.lab.nbctl("lsp-del", "ln-physnet2")


@pytest.mark.lab
@pytest.mark.timeout(60)
def test_sentinel_refuses_to_arm_on_nothing(sgenv: GuardEnv) -> None:
    genv = sgenv
    db = genv.chassis_db("compute1")
    base = ["guard", "sentinel", "--db", db, "--state-dir", str(genv.state_dir)]
    # The watched port exists already: it is not the change's, nothing to watch.
    res = genv.run(*base, "--watch", PROV_BREX, "--for", "10")
    assert res.exit_code == 1
    assert "nothing to watch: every watched port exists already" in res.output
    # The host cannot reach its SB before the change: a sentinel would act on noise.
    res = genv.run(*base, "--watch", PATCH, "--sb", "tcp:127.0.0.1:9", "--for", "10")
    assert res.exit_code == 1 and "no probe passes now" in res.output
    res = genv.run(*base, "--watch", PATCH, "--until", "1000")
    assert res.exit_code == 2 and "in the past" in res.output
    res = genv.run(*base, "--watch", PATCH)
    assert res.exit_code == 2 and "exactly one of --until EPOCH and --for" in res.output
    res = genv.run(*base[:2], "--db", "unix:" + str(genv.tmp / "nope.sock"), "--watch", PATCH,
                   "--for", "10", "--state-dir", str(genv.state_dir))
    assert res.exit_code == 3 and "cannot read" in res.output
    assert not [p for p in sn.list_sentinels(genv.state_dir / sn.SUBDIR) if sn.alive(p)]


@pytest.mark.lab
@pytest.mark.timeout(60)
def test_apply_sentinel_print_gives_the_command_and_applies_nothing(sgenv: GuardEnv) -> None:
    genv = sgenv
    before = nb_rows(genv.nb)
    res = genv.apply(genv.change(SEED_CHANGE), "--force", "--sentinel-print",
                     "--confirm-within", "40", "--sentinel-grace", "20")
    assert res.exit_code == 0, res.output
    assert "nothing applied (--sentinel-print)" in res.output
    assert nb_rows(genv.nb) == before and not genv.guards()
    lines = res.output.splitlines()
    cmd = shlex.split(lines[lines.index("# compute1") + 1])
    assert cmd[:3] == ["ovnguard", "guard", "sentinel"]
    assert cmd[cmd.index("--watch") + 1] == f"{PATCH},{BRINT}"
    assert cmd[cmd.index("--for") + 1] == "60"
    assert cmd[cmd.index("--sb") + 1] == genv.lab.sb_remote
    assert "# controller" not in lines and "# network" not in lines
    # The printed command arms as printed (pointed at the lab's socket for compute1).
    cmd[cmd.index("--db") + 1] = genv.chassis_db("compute1")
    res = genv.run(*cmd[1:], "--state-dir", str(genv.state_dir))
    assert res.exit_code == 0, res.output
    assert f"probe {genv.lab.sb_remote}: passes now, watched" in res.output

    # --sentinel needs a way to reach each host from here; without it nothing happens.
    res = genv.apply(genv.change(SEED_CHANGE), "--force", "--sentinel")
    assert res.exit_code == 2
    assert "no way to arm a sentinel on compute1 from here" in res.output
    assert "--chassis-db HOST=REMOTE" in res.output
    assert nb_rows(genv.nb) == before and not genv.guards()
    js = genv.apply(genv.change(SEED_CHANGE), "--force", "--sentinel-print", "-f", "json")
    plan = json.loads(js.output)["sentinels"]
    assert [(p["host"], [x["port"] for x in p["ports"]]) for p in plan] == [
        ("compute1", [PATCH, BRINT])]


# --- 3. the seed incident with real packets, in band ---------------------------------------


@pytest.mark.lab
@pytest.mark.dataplane
@pytest.mark.timeout(120)
def test_in_band_loop_guard_restores_nb_sentinel_frees_compute1(
    dp_mgmt: tuple[GuardEnv, DataplaneLab], wait_for: Callable[..., bool]
) -> None:
    t_start = time.monotonic()
    genv, dp = dp_mgmt
    before = dp.reachability()
    print("\nbefore:\n" + format_matrix(before))
    assert all(before.values())
    nb_before = nb_rows(genv.nb)
    t_apply = time.time()
    # The guard's default probes (icmp and tcp:22 to every host, cold, from the LAN), a
    # failure tolerated once (--probe-failures 2).
    res = genv.apply(
        genv.change(SEED_CHANGE), "--force", "--confirm-within", "30",
        "--probe-netns", dp.netns_of("router"), "--probe-cold", "--probe-interval", "0.5",
        "--probe-failures", "2", "--verify-timeout", "5",
        "--sentinel", "--sentinel-failures", "2", "--sentinel-grace", "10",
        *_sentinel_args(genv, dp),
    )
    assert res.exit_code == 0, res.output
    print(res.output)
    # The what-if predicts the pair on compute1 only: one sentinel, there.
    assert "sentinel on compute1 armed" in res.output
    assert "sentinel on controller" not in res.output and "sentinel on network" not in res.output

    # The LAN's own broadcasts (ARP after a cache timeout, from every node): cold probes of
    # every pair, as in tests/lab/dataplane. They are what turns the loop against compute1 —
    # its SB session included — while the guard's probes see it from the LAN.
    rounds: list[tuple[float, Matrix]] = []
    deadline = time.monotonic() + 40
    while time.monotonic() < deadline:
        m = dp.reachability()
        rounds.append((time.time(), m))
        if all(rounds[-1][1].values()) and genv.state()["status"] == "rolled-back":
            break
    t_all = rounds[-1][0]
    cut = [(t, m) for t, m in rounds if _cut_off(m, "compute1")]
    print(f"{len(rounds)} reachability rounds after the apply; compute1 cut off in "
          f"{len(cut)}")
    if cut:
        print(f"compute1 cut off (+{cut[0][0] - t_apply:.1f}s):\n" + format_matrix(cut[0][1]))
    print("all reachable again:\n" + format_matrix(rounds[-1][1]))
    assert all(rounds[-1][1].values()), "not recovered within 40s"
    assert cut, "compute1 was never cut off"

    doc = genv.wait_status("rolled-back", timeout=10)
    path = _recorded(doc, "compute1")
    sdoc = sn.read_state(path)
    assert sdoc["watching"] == SEED_PAIR and sdoc["netns"] == dp.netns_of("compute1")
    tl = doc["timeline"]
    assert doc["rollback"]["reason"].startswith("probe "), doc["rollback"]
    assert nb_rows(genv.nb) == nb_before
    deleted = _events(path, "deleted")
    assert deleted, f"the sentinel did not act:\n{(path / sn.LOG_FILE).read_text()}"
    assert sorted((p["bridge"], p["port"]) for p in deleted[0]["ports"]) == [  # type: ignore[attr-defined]
        ("br-ex", PATCH), ("br-int", BRINT)]
    stl = sdoc["timeline"]
    assert tl["applied"] < stl["first_probe_failure"] <= stl["deleted"] < t_all

    # ovn-controller on compute1 reconnects, hears of the rollback, and the pair stays gone.
    def session() -> str:
        return dp.appctl_controller("compute1", "connection-status").strip()

    assert wait_for(lambda: session() == "connected", 20, 0.2)
    # ... and follows SB again: every chassis catches up with NB (`--wait=hv`).
    dp.nbctl("--timeout=15", "--wait=hv", "sync")
    t_sb = time.time()
    for _ in range(15):
        ports = dp.chassis_ports("compute1")
        assert PATCH not in ports["br-ex"] and BRINT not in ports["br-int"], ports
        time.sleep(0.2)
    assert dp.chassis_ports("compute1")["br-ex"] == sorted(["enp6s18", PROV_BREX])
    assert all(dp.reachability().values())
    v = doc["rollback"]["verification"]
    print(f"guard verification: {v['ports']}; {v['wait_hv']}")
    status = genv.run("guard", "status", "--state-dir", str(genv.state_dir)).output
    assert "  sentinel compute1: watching; deleted the watched ports" in status, status

    first = doc["probing"]["first_failure"]
    marks = [(tl["applied"], "applied (NB, one transaction)"),
             (tl["first_probe_failure"], f"guard: {first['probe']}: {first['detail']}"),
             (tl["restored"], "guard: NB restored"),
             (cut[0][0], "a reachability round ended with compute1 cut off"),
             (t_all, "every pair reachable"),
             (t_sb, "compute1 follows SB again (--wait=hv); the pair stays gone")]
    marks += _sentinel_marks(sn.read_state(path)["events"])
    print("timeline (seconds after the apply):")
    for t, what in sorted(marks):
        print(f"  {t - tl['applied']:+7.3f}  {what[:150]}")
    total = time.monotonic() - t_start
    print(f"test wall time {total:.1f}s")
    assert total < 90


@pytest.mark.lab
@pytest.mark.dataplane
@pytest.mark.timeout(90)
def test_harmless_change_sentinel_does_nothing_and_exits_at_its_deadline(
    dp_mgmt: tuple[GuardEnv, DataplaneLab], wait_for: Callable[..., bool]
) -> None:
    genv, dp = dp_mgmt
    res = genv.apply(
        genv.change(GATEWAY_CHANGE), "--confirm-within", "4", "--sentinel-grace", "2",
        "--probe-netns", dp.netns_of("router"), "--probe-cold", "--probe-interval", "0.5",
        "--sentinel", "--sentinel-failures", "2", *_sentinel_args(genv, dp),
        # The watcher confirms by itself (an explicit `confirm` stops the sentinels it armed;
        # here the sentinel must live to its own deadline).
        "--auto-confirm-after", "1",
    )
    assert res.exit_code == 0, res.output
    assert "what-if: network gets" in res.output
    assert "sentinel on network armed" in res.output
    doc = genv.state()
    path = _recorded(doc, "network")
    sdoc = sn.read_state(path)
    assert sdoc["watching"] == [PROV_BREX, PROV_BRINT]
    assert wait_for(lambda: {PROV_BREX, PROV_BRINT} <= genv.ports("network"), 5)
    assert wait_for(lambda: genv.state().get("status") == "confirmed", 6, 0.1)
    # The change stays; NB wants the ports, network reaches its SB: nothing to do, until the
    # deadline (confirm-within + grace after arming).
    assert wait_for(lambda: sn.read_state(path)["status"] != "watching",
                    timeout=sdoc["until"] - time.time() + 5, interval=0.2)
    sdoc = sn.read_state(path)
    print("\n" + (path / sn.LOG_FILE).read_text())
    stl = sdoc["timeline"]
    print(f"armed {stl['armed'] - stl['created']:.2f}s after it was started; "
          f"{sdoc['rounds']} rounds; exited {stl['finished'] - sdoc['until']:.3f}s after "
          "its deadline")
    assert sdoc["status"] == "expired"
    assert not _events(path, "deleted") and not _events(path, "probe-failed")
    assert _events(path, "ports-appeared")
    assert 0 <= sdoc["timeline"]["finished"] - sdoc["until"] < 1.5
    assert sdoc["rounds"] >= 8
    assert wait_for(lambda: not sn.alive(path), 3)
    assert {PROV_BREX, PROV_BRINT} <= genv.ports("network")
    m = dp.reachability()
    assert all(m.values()), format_matrix(m)


@pytest.mark.lab
@pytest.mark.timeout(60)
def test_confirm_stops_the_sentinels_it_armed(sgenv: GuardEnv) -> None:
    # A confirmed change is wanted: a sentinel must not remove its ports later.
    genv = sgenv
    res = genv.apply(genv.change(SEED_CHANGE), "--force", "--sentinel",
                     "--chassis-db", f"compute1={genv.chassis_db('compute1')}",
                     "--confirm-within", "60", "--probe", "cmd:true")
    assert res.exit_code == 0, res.output
    (path,) = [Path(s["path"]) for s in json.loads(
        genv.run("guard", "status", "--format", "json", "--state-dir",
                 str(genv.state_dir)).output)["guards"][0]["sentinels"]]
    assert sn.alive(path, sn.read_state(path))
    res = genv.run("confirm", "--state-dir", str(genv.state_dir))
    assert res.exit_code == 0, res.output
    assert "stopped the sentinel of compute1" in res.output
    assert not sn.alive(path, sn.read_state(path))
