"""Sentinels: the console fix, automated, on each chassis (see docs/guard.md, "Sentinels").

A change that loops a chassis' provider bridge can cut that chassis off from the SB when
ovn-controller reaches the SB over the same bridge (as in the seed incident). The guard on
the NB host then rolls NB back within milliseconds, but the chassis never hears of it and
keeps the patch ports that make the loop. What restores it is deleting those ports on the
chassis itself, over its own unix socket. A sentinel does exactly that, and nothing else:

    ovnguard guard sentinel --watch patch-ln-physnet2-to-br-int,patch-br-int-to-ln-physnet2 \
        --sb tcp:10.10.0.10:6642 --for 180

runs ON a chassis, detached (like the guard's watcher), until its deadline. Every
`interval` it asks "can this host still reach its SB?" (a TCP connect to the SB remote, or
the guard's probe specs); when every check fails `failures` rounds in a row while one of the
watched ports exists, it deletes the watched ports that exist, in one transaction, and keeps
watching. SB reachable means no action: if ovn-controller re-creates the ports because NB
still wants them, that is NB's decision, made over a working control path.

Safety: the watched ports are the `added` ports the what-if predicted for this host (those
ovn-controller creates *because of the change*); a watched port that already exists when
the sentinel starts is never touched, nor is one that is not an ovn-controller patch port
(`Interface.type=patch` and `external_ids:ovn-localnet-port`, ...). It acts only while this
host has lost its control plane, and ovn-controller re-creates whatever NB still wants once
it reconnects.

    python -m ovnguard.guard.sentinel [--detach] SENTINEL_DIR

is the detached process; `arm_sentinel()` starts it (optionally inside a network
namespace, for the data-plane lab) and waits until it watches or says why it cannot.
"""

from __future__ import annotations

import contextlib
import os
import queue
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ovnguard.errors import InputError, OvnguardError
from ovnguard.guard import ovsdb
from ovnguard.guard import state as st
from ovnguard.guard.probes import Probe, ProbeContext, ProbeResult, parse_probe, run_probe

DEFAULT_DB = "unix:/var/run/openvswitch/db.sock"
DEFAULT_FAILURES = 3
DEFAULT_INTERVAL = 0.5
DEFAULT_GRACE = 60.0
SB_DEFAULT_PORT = 6642
UNIX_TIMEOUT = 1.0
ACTING_POLL = 0.1  # how often the ports are read while the host has lost its SB
MAX_SECONDS = 7 * 24 * 3600.0  # a sentinel is for one change window, not for ever
MAX_EVENTS = 500
STATE_FILE = "sentinel.json"
LOG_FILE = "sentinel.log"
SUBDIR = "sentinels"
# The keys ovn-controller puts on the patch ports it creates (ovn controller/patch.c).
OWNER_KEYS = ("ovn-localnet-port", "ovn-l2gateway-port", "ovn-l3gateway-port",
              "ovn-logical-patch-port")

# Statuses of a sentinel.
STARTING = "starting"
WATCHING = "watching"
EXPIRED = "expired"  # reached its deadline (the normal end)
STOPPED = "stopped"  # SIGTERM (`ovnguard guard sentinel-stop`)
FAILED = "failed"  # could not start, or an internal error (it never deletes on an error)
DONE = frozenset({EXPIRED, STOPPED, FAILED})

Say = Callable[[str], None]


# --- the pure part: checks, ports, decisions ----------------------------------------------


@dataclass(frozen=True)
class Check:
    """One way to ask "can this host reach its SB?": a guard probe, or a unix socket
    (`unix:PATH`, for an SB reached over a local socket)."""

    spec: str
    probe: Probe | None = None
    path: str | None = None


def parse_check(spec: str) -> Check:
    """`unix:PATH`, or any guard probe spec (`tcp:ADDR[:PORT]`, `icmp:ADDR`, `cmd:...`)."""
    if spec.startswith("unix:"):
        path = spec[5:].strip()
        if not path:
            raise InputError(f"probe {spec!r}: no path after unix:")
        return Check(spec, path=path)
    if spec.strip().lower() == "none":
        raise InputError("a sentinel needs a probe: `none` is not allowed")
    return Check(spec, probe=parse_probe(spec))


def sb_checks(remote: str) -> list[Check]:
    """The default checks for an SB remote as ovn-controller's `ovn-remote` spells it
    (`tcp:A:P`, `ssl:A:P`, `unix:PATH`, comma-separated): a connect to each."""
    out: list[Check] = []
    for target in (t.strip() for t in remote.split(",")):
        if not target:
            continue
        proto, _, rest = target.partition(":")
        if proto == "unix":
            out.append(parse_check(target))
            continue
        if proto not in ("tcp", "ssl") or not rest:
            raise InputError(f"--sb {remote!r}: cannot probe {target!r} (expected tcp:ADDR:PORT, "
                             "ssl:ADDR:PORT or unix:PATH; give --probe instead)")
        port = SB_DEFAULT_PORT
        if rest.startswith("["):
            host, _, tail = rest[1:].partition("]")
            if tail.startswith(":") and tail[1:]:
                port = _port(tail[1:], remote)
            shown = f"[{host}]"
        elif rest.count(":") == 1:
            host, p = rest.split(":")
            port = _port(p, remote)
            shown = host
        elif rest.count(":") == 0:
            host = shown = rest
        else:  # a bare IPv6 address: no port
            host, shown = rest, f"[{rest}]"
        if not host:
            raise InputError(f"--sb {remote!r}: no address in {target!r}")
        out.append(parse_check(f"tcp:{shown}:{port}"))
    if not out:
        raise InputError(f"--sb {remote!r}: no remote")
    return out


def _port(text: str, remote: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise InputError(f"--sb {remote!r}: bad port {text!r}")
    return int(text)


def parse_watch(values: Iterable[str]) -> list[str]:
    """`--watch A,B --watch C` -> [A, B, C] (order kept, duplicates dropped)."""
    out: list[str] = []
    for v in values:
        for name in (n.strip() for n in v.split(",")):
            if not name:
                continue
            if any(c.isspace() for c in name):
                raise InputError(f"--watch: bad port name {name!r}")
            if name not in out:
                out.append(name)
    if not out:
        raise InputError("--watch: no port to watch")
    return out


def deadline_from(until: float | None, seconds: float | None, now: float) -> float:
    """Exactly one of --until EPOCH / --for SECONDS, in the future and within a week."""
    if (until is None) == (seconds is None):
        raise InputError("give exactly one of --until EPOCH and --for SECONDS")
    if seconds is not None:
        if not 0 < seconds <= MAX_SECONDS:
            raise InputError(f"--for must be positive and at most {MAX_SECONDS:g}s")
        return now + seconds
    assert until is not None
    if until <= now:
        raise InputError(f"--until {until:g} is in the past (now {now:.0f})")
    if until - now > MAX_SECONDS:
        raise InputError(f"--until {until:g} is more than {MAX_SECONDS:g}s away")
    return until


@dataclass(frozen=True)
class PortInfo:
    """A port as the host's Open_vSwitch database has it."""

    name: str
    uuid: str
    bridge: str | None  # the bridge whose `ports` holds it (None: on no bridge)
    bridge_uuid: str | None
    owner: str | None  # `<key>=<logical port>` when ovn-controller made it
    patch: bool  # every interface is of type patch

    @property
    def ovn_patch(self) -> bool:
        return self.patch and self.owner is not None and self.bridge is not None


def split_watch(
    watch: Sequence[str], existing: Mapping[str, PortInfo]
) -> tuple[list[str], list[dict[str, str]]]:
    """At arming: the ports to watch, and those left alone with why. A watched port that
    exists already was not created by the change (it comes before it): never touched."""
    keep: list[str] = []
    skipped: list[dict[str, str]] = []
    for name in watch:
        p = existing.get(name)
        if p is None:
            keep.append(name)
        else:
            where = f" on {p.bridge}" if p.bridge else ""
            skipped.append({"port": name, "why": f"exists already{where} before the change: "
                            "not created by it, never touched"})
    return keep, skipped


def deletable(
    watched: Collection[str], existing: Mapping[str, PortInfo]
) -> tuple[list[PortInfo], list[str]]:
    """The watched ports present now that the sentinel may delete (ovn-controller's patch
    ports on a bridge), and the names of present ones it must not (with why)."""
    ok: list[PortInfo] = []
    refused: list[str] = []
    for name in sorted(watched):
        p = existing.get(name)
        if p is None:
            continue
        if p.ovn_patch:
            ok.append(p)
        else:
            why = ("on no bridge" if p.bridge is None else
                   "not a patch port" if not p.patch else "no ovn-controller key")
            refused.append(f"{name} ({why})")
    return ok, refused


def failing_streak(history: Sequence[bool]) -> int:
    """How many of the last rounds failed in a row (True = the round passed)."""
    n = 0
    for ok in reversed(history):
        if ok:
            break
        n += 1
    return n


Action = Literal["wait", "delete", "exit"]


@dataclass(frozen=True)
class Decision:
    action: Action
    reason: str
    ports: tuple[str, ...] = ()


def decide(
    history: Sequence[bool], present: Collection[str], failures: int, now: float,
    until: float,
) -> Decision:
    """What a sentinel does after a probe round.

    `history`: the probe rounds so far, oldest first (True = this host reached its SB);
    `present`: the watched ports that exist now and that it may delete. Delete only when the
    host has lost its control plane (`failures` rounds in a row) and something of the change
    is there to undo; SB reachable means ovn-controller hears NB, so nothing to do. While
    SB stays unreachable, ports that come back (ovn-controller working from its stale SB
    copy) are deleted again.
    """
    if now >= until:
        return Decision("exit", "deadline reached")
    streak = failing_streak(history)
    if streak == 0:
        return Decision("wait", "SB reachable" if history else "no round yet")
    if streak < failures:
        return Decision("wait", f"SB unreachable {streak}/{failures} rounds")
    if not present:
        return Decision("wait", f"SB unreachable {streak} rounds in a row, but no watched "
                        "port exists: nothing of the change to undo")
    ports = tuple(sorted(present))
    return Decision("delete", f"SB unreachable {streak} rounds in a row while "
                    f"{', '.join(ports)} exist", ports)


# --- the host's Open_vSwitch database ------------------------------------------------------


def _uuids(v: Any) -> list[str]:
    if isinstance(v, list) and v and v[0] == "set":
        return [x[1] for x in v[1]]
    if isinstance(v, list) and v and v[0] == "uuid":
        return [v[1]]
    return []


def _smap(v: Any) -> dict[str, str]:
    if isinstance(v, list) and v and v[0] == "map":
        return {str(k): str(x) for k, x in v[1]}
    return {}


def read_ports(db: str, names: Collection[str] | None = None,
               timeout: float = 5.0) -> dict[str, PortInfo]:
    """Ports (all, or those named) and the bridge holding each, in one read-only
    transaction. Raises ovsdb.Unreachable / OvnguardError."""
    ops = [
        {"op": "select", "table": "Bridge", "where": [], "columns": ["_uuid", "name", "ports"]},
        {"op": "select", "table": "Port", "where": [],
         "columns": ["_uuid", "name", "interfaces", "external_ids"]},
        {"op": "select", "table": "Interface", "where": [], "columns": ["_uuid", "type"]},
    ]
    bridges, ports, ifaces = ovsdb.query(db, "Open_vSwitch", ops, timeout)
    holder: dict[str, tuple[str, str]] = {}
    for b in bridges["rows"]:
        for u in _uuids(b["ports"]):
            holder[u] = (b["name"], b["_uuid"][1])
    itype = {r["_uuid"][1]: r["type"] for r in ifaces["rows"]}
    out: dict[str, PortInfo] = {}
    for r in ports["rows"]:
        name = r["name"]
        if names is not None and name not in names:
            continue
        u = r["_uuid"][1]
        ext = _smap(r["external_ids"])
        owner = next((f"{k}={ext[k]}" for k in OWNER_KEYS if k in ext), None)
        ifs = _uuids(r["interfaces"])
        patch = bool(ifs) and all(itype.get(i) == "patch" for i in ifs)
        b = holder.get(u)
        out[name] = PortInfo(name, u, b[0] if b else None, b[1] if b else None, owner, patch)
    return out


def delete_ports(db: str, ports: Sequence[PortInfo], note: str) -> list[str]:
    """`ovs-vsctl del-port` of each, as ONE transaction (by uuid: a port re-created since
    it was read is a different row and stays). Returns the names actually removed."""
    ops: list[dict[str, Any]] = [
        {"op": "mutate", "table": "Bridge", "where": [["_uuid", "==", ["uuid", p.bridge_uuid]]],
         "mutations": [["ports", "delete", ["set", [["uuid", p.uuid]]]]]}
        for p in ports if p.bridge_uuid is not None
    ]
    if not ops:
        return []
    results = ovsdb.transact(db, "Open_vSwitch", [*ops, {"op": "comment", "comment": note}],
                             timeout=10)
    return [p.name for p, r in zip(ports, results, strict=False)
            if isinstance(r, dict) and r.get("count", 0) > 0]


def host_ovn_remote(db: str) -> str | None:
    """This chassis' `external_ids:ovn-remote` (what ovn-controller connects to)."""
    res = ovsdb.query(db, "Open_vSwitch", [
        {"op": "select", "table": "Open_vSwitch", "where": [], "columns": ["external_ids"]}],
        5.0)
    rows = res[0]["rows"]
    if not rows:
        return None
    ext = _smap(rows[0]["external_ids"])
    sid = ext.get("system-id")
    return ext.get(f"ovn-remote-{sid}") or ext.get("ovn-remote") or None


def run_check(check: Check) -> ProbeResult:
    if check.probe is not None:
        # Already inside the host's namespace: no netns, and warm (a cold probe would itself
        # send the broadcast a loop turns against this host).
        return run_probe(check.probe, ProbeContext())
    started = time.time()
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(UNIX_TIMEOUT)
    try:
        assert check.path is not None
        s.connect(check.path)
        ok, detail = True, "connected"
    except OSError as e:
        ok, detail = False, str(e.strerror or e)
    finally:
        s.close()
    return ProbeResult(check.spec, ok, detail, started, time.time())


# --- the state directory ------------------------------------------------------------------


def sentinels_root(state_dir: Path | None) -> Path:
    return st.validate_state_dir(state_dir or st.default_state_dir()) / SUBDIR


def read_state(path: Path) -> dict[str, Any]:
    doc: dict[str, Any] = st.read_json(Path(path) / STATE_FILE)
    return doc


def alive(path: Path, doc: Mapping[str, Any] | None = None) -> bool:
    d = doc if doc is not None else read_state(path)
    return st.pid_alive(d.get("pid"), str(Path(path).absolute()))


def list_sentinels(root: Path) -> list[Path]:
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if (p / STATE_FILE).exists())


def find_sentinel(root: Path, sentinel_id: str | None) -> list[Path]:
    """The sentinel named, or every one that still runs."""
    if sentinel_id is not None:
        p = root / sentinel_id
        if not (p / STATE_FILE).exists():
            raise st.GuardError(f"no sentinel {sentinel_id!r} in {root}", 2)
        return [p]
    out = []
    for p in list_sentinels(root):
        with contextlib.suppress(st.GuardError):
            if alive(p):
                out.append(p)
    return out


def stop_sentinel(path: Path, timeout: float = 5.0) -> bool:
    """SIGTERM a running sentinel (recognised by its pid *and* its directory on its
    command line), SIGKILL if it lingers. True if one was running."""
    try:
        doc = read_state(path)
    except st.GuardError:
        return False
    pid = int(doc.get("pid") or 0)
    if not alive(path, doc):
        return False
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if not alive(path, doc):
            return True
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    return True


def stop_all(root: Path) -> list[Path]:
    """Stop every sentinel under `root` that still runs (tests, failed applies)."""
    return [p for p in list_sentinels(root) if stop_sentinel(p)]


# --- the detached process -----------------------------------------------------------------


class _Stop(Exception):
    pass


def _on_term(signum: int, frame: object) -> None:
    raise _Stop()


@dataclass
class _Watch:
    """What the watch loop carries from one look to the next."""

    failures: int
    history: list[bool] = field(default_factory=list)
    streak: int = 0
    rounds: int = 0
    seen: frozenset[str] = frozenset()  # watched ports present at the last look
    deleted: bool = False
    db_down: bool = False
    refused: set[str] = field(default_factory=set)
    last_save: float = 0.0


class Sentinel:
    """The process itself: arm, then a probe round every `interval` until the deadline."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.doc = read_state(path)
        self.checks: list[Check] = []

    # --- recording (only this process writes the state file once it runs) -----------

    def save(self) -> None:
        st.write_json(self.path / STATE_FILE, self.doc)

    def log(self, message: str) -> None:
        with open(self.path / LOG_FILE, "a", encoding="utf-8") as f:
            f.write(f"{st.fmt_time(time.time())} [{os.getpid()}] {message}\n")

    def event(self, what: str, message: str, **extra: Any) -> float:
        t = time.time()
        events = self.doc.setdefault("events", [])
        if len(events) < MAX_EVENTS:
            events.append({"t": round(t, 3), "event": what, "message": message, **extra})
        else:
            self.doc["events_dropped"] = self.doc.get("events_dropped", 0) + 1
        self.log(message)
        return t

    def stamp(self, key: str, t: float) -> None:
        """The first time something happened (the events keep every time)."""
        self.doc.setdefault("timeline", {}).setdefault(key, round(t, 3))

    # --- life ---------------------------------------------------------------------------

    def main(self) -> int:
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, _on_term)
        self.doc["pid"] = os.getpid()
        self.save()
        try:
            if not self.arm():
                return 1
            self.watch()
            self.finish(EXPIRED, "deadline reached; exiting")
            return 0
        except _Stop:
            self.finish(STOPPED, "stopped by SIGTERM; exiting")
            return 0
        except Exception:
            # Never a deletion on an error: a sentinel that does not understand what it
            # sees leaves the host alone.
            self.log("internal error:\n" + traceback.format_exc())
            with contextlib.suppress(_Stop):
                self.finish(FAILED, "internal error (see sentinel.log); exiting",
                            error="internal error (see sentinel.log)")
            return 1

    def finish(self, status: str, message: str, **extra: Any) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        self.doc.update(extra)
        t = self.event(status, message)
        self.doc["status"] = status
        self.doc.setdefault("timeline", {})["finished"] = round(t, 3)
        self.save()

    def fail(self, error: str, code: int) -> bool:
        self.finish(FAILED, f"not armed: {error}", error=error, exit_code=code)
        return False

    def arm(self) -> bool:
        d = self.doc
        db = d["db"]
        watch = list(d["watch"])
        try:
            sb = d.get("sb") or host_ovn_remote(db)
            existing = read_ports(db)
        except OvnguardError as e:
            return self.fail(f"cannot read {db}: {e}", 3)
        specs = list(d.get("probes") or [])
        try:
            checks = [parse_check(s) for s in specs] if specs else (
                sb_checks(sb) if sb else [])
        except InputError as e:
            return self.fail(str(e), 2)
        if not checks:
            return self.fail(f"no SB remote to probe (no --sb, and {db} has no "
                             "external_ids:ovn-remote); give --sb or --probe", 2)
        d["sb"] = sb
        keep, skipped = split_watch(watch, existing)
        d["watching"], d["skipped"] = keep, skipped
        for s in skipped:
            self.log(f"{s['port']}: {s['why']}")
        if not keep:
            return self.fail("nothing to watch: every watched port exists already", 1)
        results = self.round(checks)
        passing = [c for c, r in zip(checks, results, strict=True) if r.ok]
        d["dropped_probes"] = [{"probe": r.probe, "why": r.detail}
                               for r in results if not r.ok]
        for r in results:
            if not r.ok:
                self.log(f"probe {r.probe}: dropped, it fails already ({r.detail})")
        if not passing:
            return self.fail("no probe passes now (this host cannot reach its SB before the "
                             "change): " + "; ".join(f"{r.probe}: {r.detail}" for r in results),
                             1)
        self.checks = passing
        d["probes"] = [c.spec for c in passing]
        d["status"] = WATCHING
        t = self.event("armed", f"armed: watching {', '.join(keep)} on {db} until "
                       f"{st.fmt_time(d['until'])}; probe {', '.join(d['probes'])} every "
                       f"{d['interval']:g}s, delete after {d['failures']} failed rounds")
        self.stamp("armed", t)
        self.save()
        return True

    def round(self, checks: Sequence[Check]) -> list[ProbeResult]:
        if len(checks) == 1:
            return [run_check(checks[0])]
        with ThreadPoolExecutor(max_workers=len(checks)) as pool:
            return list(pool.map(run_check, checks))

    def watch(self) -> None:
        """Probe rounds run in a thread, one every `interval` (a failing one takes its
        timeout); this loop reads the watched ports after each round and decides. While the
        host has lost its SB (the failing streak holds) it also looks every ACTING_POLL:
        ovn-controller, working from its stale SB copy, re-creates a deleted pair within
        milliseconds, and every moment the pair is gone is a moment the LAN path (and the
        SB session that would bring the rollback) works."""
        d = self.doc
        until = float(d["until"])
        failures, interval = int(d["failures"]), float(d["interval"])
        rounds: queue.SimpleQueue[tuple[float, list[ProbeResult]]] = queue.SimpleQueue()
        stop = threading.Event()

        def prober() -> None:
            while not stop.is_set():
                t = time.time()
                if t >= until:
                    return
                rounds.put((t, self.round(self.checks)))
                stop.wait(max(0.0, t + interval - time.time()))

        thread = threading.Thread(target=prober, name="probes", daemon=True)
        thread.start()
        w = _Watch(failures)
        try:
            while time.time() < until:
                acting = w.streak >= failures
                try:
                    got = [rounds.get(timeout=ACTING_POLL if acting else 0.2)]
                except queue.Empty:
                    got = []
                while not rounds.empty():
                    got.append(rounds.get_nowait())
                for start, results in got:
                    self.after_round(w, start, results)
                if (got or w.streak >= failures) and self.look(w, until) == "exit":
                    return
                if got and time.monotonic() - w.last_save > 1.0:
                    self.save()
                    w.last_save = time.monotonic()
        finally:
            stop.set()

    def after_round(self, w: _Watch, start: float, results: Sequence[ProbeResult]) -> None:
        ok = any(r.ok for r in results)
        was_failing = bool(w.history) and not w.history[-1]
        w.history = [*w.history[-2 * w.failures:], ok]  # only the tail decides
        w.streak = 0 if ok else w.streak + 1
        w.rounds += 1
        if not ok:
            detail = "; ".join(f"{r.probe}: {r.detail}" for r in results)
            if w.streak == 1 or w.streak == w.failures:
                t = self.event("probe-failed", f"SB unreachable ({w.streak}/{w.failures}): "
                               f"{detail}", streak=w.streak)
                self.stamp("first_probe_failure", t)
        elif was_failing:
            self.event("sb-reachable", "SB reachable again")
        self.doc["rounds"] = w.rounds
        self.doc["last"] = {"t": round(start, 3), "ok": ok,
                            "results": [r.to_json() for r in results],
                            "present": sorted(w.seen)}

    def look(self, w: _Watch, until: float) -> Action:
        """Read the watched ports, note what changed, decide, act."""
        d = self.doc
        db = d["db"]
        watched = frozenset(d["watching"])
        try:
            existing = read_ports(db, watched)
            if w.db_down:
                self.event("db-back", f"{db} answers again")
                w.db_down = False
        except OvnguardError as e:
            if not w.db_down:
                self.event("db-unreachable", f"cannot read {db}: {e}; no action while it "
                           "does not answer")
                w.db_down = True
            return "wait"
        now_seen = frozenset(existing)
        if now_seen - w.seen:
            what = "re-created" if w.deleted else "appeared"
            new = sorted(now_seen - w.seen)
            t = self.event(f"ports-{what}", f"{', '.join(new)} {what}", ports=new)
            self.stamp(f"ports_{what.replace('-', '_')}", t)
        if w.seen - now_seen:
            gone = sorted(w.seen - now_seen)
            self.event("ports-gone", f"{', '.join(gone)} gone", ports=gone)
        w.seen = now_seen
        present, refused = deletable(watched, existing)
        for r in refused:
            if r not in w.refused:
                w.refused.add(r)
                self.event("not-touched", f"{r}: not an ovn-controller patch port on a "
                           "bridge; never deleted")
        by_name = {p.name: p for p in present}
        decision = decide(w.history, by_name, w.failures, time.time(), until)
        if decision.action == "delete":
            gone_now = self.delete(db, [by_name[n] for n in decision.ports], decision.reason)
            w.deleted = True
            w.seen = w.seen - frozenset(gone_now)
            # The streak goes on: while SB stays unreachable, ports ovn-controller re-creates
            # from its stale SB copy are deleted again at the next look.
        return decision.action

    def delete(self, db: str, ports: Sequence[PortInfo], reason: str) -> list[str]:
        t0 = time.time()
        note = f"ovnguard sentinel {self.path.name}: {reason}"
        try:
            gone = delete_ports(db, ports, note)
        except OvnguardError as e:
            self.event("delete-failed", f"could not delete {', '.join(p.name for p in ports)}:"
                       f" {e}")
            return []
        t1 = time.time()
        where = ", ".join(f"{p.name} from {p.bridge}" for p in ports if p.name in gone)
        t = self.event("deleted", f"{reason}: deleted {where or 'nothing (gone already)'} "
                       f"in one transaction ({(t1 - t0) * 1000:.0f} ms)",
                       ports=[{"bridge": p.bridge, "port": p.name} for p in ports
                              if p.name in gone],
                       took=round(t1 - t0, 3))
        self.stamp("deleted", t)
        self.doc["deletion_count"] = self.doc.get("deletion_count", 0) + 1
        dels = self.doc.setdefault("deletions", [])
        if len(dels) < MAX_EVENTS:
            dels.append(round(t, 3))
        self.save()
        return gone


def _daemonize() -> None:
    # Started with start_new_session=True; fork once more so we are nobody's child and can
    # never get a controlling terminal (as the guard's watcher does).
    if os.fork() > 0:
        os._exit(0)


def main(argv: list[str]) -> int:
    args = [a for a in argv if a != "--detach"]
    if len(args) != 1:
        print("usage: python -m ovnguard.guard.sentinel [--detach] SENTINEL_DIR",
              file=sys.stderr)
        return 2
    if "--detach" in argv:
        _daemonize()
    os.umask(0o077)
    return Sentinel(Path(args[0]).absolute()).main()


# --- arming -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Armed:
    """A sentinel that watches (returned by `arm_sentinel`)."""

    id: str
    path: Path
    pid: int
    until: float
    watching: tuple[str, ...]
    skipped: tuple[dict[str, str], ...]
    probes: tuple[str, ...]
    host: str | None = None
    netns: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "host": self.host, "path": str(self.path), "pid": self.pid,
                "until": round(self.until, 3), "watching": list(self.watching),
                "netns": self.netns, "probes": list(self.probes)}


def new_sentinel_id() -> str:
    now = time.time()
    stamp = time.strftime("%Y%m%dT%H%M%S", time.localtime(now)) + f".{int(now % 1 * 1000):03d}"
    return f"{stamp}-sentinel-{secrets.token_hex(2)}"


def arm_sentinel(
    host_db: str,
    ports: Sequence[str],
    sb: str | None,
    until: float,
    netns: str | None = None,
    *,
    probes: Sequence[str] = (),
    failures: int = DEFAULT_FAILURES,
    interval: float = DEFAULT_INTERVAL,
    state_dir: Path | None = None,
    host: str | None = None,
    guard: str | None = None,
    timeout: float = 20.0,
) -> Armed:
    """Start a detached sentinel (inside `netns` when given: the data-plane lab) and wait
    until it watches. Raises InputError (bad arguments) or GuardError (exit code 1: nothing
    to watch / no probe passes; 3: database unreachable or the process did not start)."""
    watch = parse_watch(ports)
    if failures < 1:
        raise InputError("--failures must be at least 1")
    if not 0 < interval <= 60:
        raise InputError("--interval must be positive and at most 60")
    now = time.time()
    deadline_from(until, None, now)
    for s in probes:
        parse_check(s)
    if sb is not None:
        sb_checks(sb)
    db = st.normalize_remote(host_db)
    root = st.ensure_dir(sentinels_root(state_dir))
    sid = new_sentinel_id()
    path = root / sid
    path.mkdir(mode=0o700)
    doc: dict[str, Any] = {
        "schema_version": 1, "id": sid, "status": STARTING, "host": host or socket.gethostname(),
        "guard": guard, "db": db, "watch": watch, "sb": sb, "probes": list(probes),
        "failures": failures, "interval": interval, "until": round(until, 3), "netns": netns,
        "timeline": {"created": round(now, 3)}, "events": [],
    }
    st.write_json(path / STATE_FILE, doc)
    log = os.open(path / LOG_FILE, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    prefix = ["ip", "netns", "exec", netns] if netns else []
    try:
        p = subprocess.Popen(
            [*prefix, sys.executable, "-m", "ovnguard.guard.sentinel", "--detach", str(path)],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
            close_fds=True, cwd="/", env=ovsdb.tool_env(),
        )
    except OSError as e:
        raise st.GuardError(f"could not start the sentinel: {e}", 3) from None
    finally:
        os.close(log)
    try:
        rc = p.wait(timeout=30)
    except subprocess.TimeoutExpired:
        p.kill()
        raise st.GuardError("the sentinel did not start (launcher hung)", 3) from None
    end = time.monotonic() + timeout
    while True:
        doc = read_state(path)
        status = doc.get("status")
        if status == WATCHING:
            break
        if status in DONE:
            # It exits right after saying so; return only once it has.
            gone = time.monotonic() + 3
            while alive(path, doc) and time.monotonic() < gone:
                time.sleep(0.02)
            raise st.GuardError(f"sentinel not armed: {doc.get('error')}",
                                int(doc.get("exit_code", 3)))
        if (rc != 0 and status == STARTING) or time.monotonic() > end:
            stop_sentinel(path)
            tail = (path / LOG_FILE).read_text(errors="replace").strip().splitlines()[-3:]
            raise st.GuardError("the sentinel did not report" + (
                f" (launcher exit {rc})" if rc else f" within {timeout:g}s")
                + (": " + " | ".join(tail) if tail else ""), 3)
        time.sleep(0.03)
    return Armed(sid, path, int(doc["pid"]), float(doc["until"]), tuple(doc["watching"]),
                 tuple(doc.get("skipped", [])), tuple(doc["probes"]), doc.get("host"), netns)


# --- `ovnguard apply --sentinel`: one sentinel per host the change reaches -----------------


@dataclass(frozen=True)
class SentinelPlan:
    """A sentinel the what-if calls for: `host` is predicted to get `ports`."""

    host: str
    ports: tuple[tuple[str, str], ...]  # (bridge, port), the what-if's `added`
    sb: str | None  # the host's ovn-remote, when the snapshot knows it
    seconds: float
    failures: int = DEFAULT_FAILURES
    interval: float = DEFAULT_INTERVAL

    @property
    def port_names(self) -> list[str]:
        return [p for _, p in self.ports]

    def argv(self, db: str = DEFAULT_DB, state_dir: Path | None = None) -> list[str]:
        out = ["ovnguard", "guard", "sentinel", "--db", db,
               "--watch", ",".join(self.port_names)]
        if self.sb:
            out += ["--sb", self.sb]
        out += ["--for", f"{self.seconds:g}", "--failures", str(self.failures)]
        if self.interval != DEFAULT_INTERVAL:
            out += ["--interval", f"{self.interval:g}"]
        if state_dir is not None:
            out += ["--state-dir", str(state_dir)]
        return out

    def command(self, db: str = DEFAULT_DB, state_dir: Path | None = None) -> str:
        return shlex.join(self.argv(db, state_dir))

    def to_json(self) -> dict[str, Any]:
        return {"host": self.host, "ports": [{"bridge": b, "port": p} for b, p in self.ports],
                "sb": self.sb, "seconds": self.seconds, "command": self.command()}


def plans_from(
    added: Mapping[str, Sequence[tuple[str, str]]], remotes: Mapping[str, str | None],
    seconds: float, failures: int = DEFAULT_FAILURES, interval: float = DEFAULT_INTERVAL,
) -> list[SentinelPlan]:
    """One plan per host with predicted added ports (pure)."""
    return [SentinelPlan(h, tuple(sorted(ports)), remotes.get(h), seconds, failures, interval)
            for h, ports in sorted(added.items()) if ports]


@dataclass(frozen=True)
class Prediction:
    added: dict[str, list[tuple[str, str]]]
    remotes: dict[str, str | None]
    notes: list[str] = field(default_factory=list)


def predict_added(o: Any) -> Prediction:
    """The what-if `ovnguard apply` runs, for the sentinels: which hosts get which patch
    ports, and each host's ovn-remote. `o` is the apply's ApplyOptions."""
    from ovnguard.assess import assess
    from ovnguard.change import read_change
    from ovnguard.guard.arm import resolve_remote, whatif_snapshot
    from ovnguard.guard.chain import NB, target_of
    from ovnguard.model.host import HostView

    change = read_change(o.change, default_host=o.host)
    target = target_of(change)
    if target.database != NB:
        raise InputError("sentinels are for OVN NB changes (ovn-controller realizes them on "
                         "the chassis); this change is for one host's Open_vSwitch database")
    remote = resolve_remote(target, o)
    tmp = Path(tempfile.mkdtemp(prefix="ovnguard-sentinel-"))
    try:
        backup = tmp / "backup.db"
        if o.bundle is None:
            try:
                ovsdb.backup(remote, target.database, backup)
            except OvnguardError as e:
                raise st.GuardError(f"cannot reach {target.database} at {remote}: {e}; "
                                    "nothing applied", 3) from None
        snapshot = whatif_snapshot(o, target, remote, tmp, backup)
        w = assess(snapshot, change)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    notes = []
    if not any(h.ovs is not None for h in snapshot.hosts.values()):
        notes.append("the what-if knows no host's Open_vSwitch database (give --bundle): no "
                     "host is predicted to get patch ports, so no sentinel can be planned")
    added = {h: [(p.bridge, p.port) for p in d.added] for h, d in w.deltas.items() if d.added}
    remotes = {h: HostView(snapshot.hosts[h]).ovn_remote for h in added if h in snapshot.hosts}
    return Prediction(added, remotes, notes)


def arm_planned(
    plans: Sequence[SentinelPlan],
    chassis_dbs: Mapping[str, str],
    netns: Mapping[str, str],
    state_dir: Path | None,
    say: Say,
    *,
    guard: str | None = None,
) -> list[Armed]:
    """Arm every planned sentinel from here (a lab: each host's own unix socket, and its
    namespace when it has one). All or none: on a failure the ones already armed are
    stopped."""
    missing = [p.host for p in plans if p.host not in chassis_dbs]
    if missing:
        raise InputError(
            f"--sentinel: no way to arm a sentinel on {', '.join(missing)} from here: give "
            "--chassis-db HOST=REMOTE (and --sentinel-netns HOST=NS in a data-plane lab) for "
            "it, or run the commands `--sentinel-print` prints on each host before "
            "`ovnguard apply`")
    armed: list[Armed] = []
    try:
        for p in plans:
            a = arm_sentinel(chassis_dbs[p.host], p.port_names, p.sb,
                             time.time() + p.seconds, netns.get(p.host), failures=p.failures,
                             interval=p.interval, state_dir=state_dir, host=p.host,
                             guard=guard)
            armed.append(a)
            say(f"sentinel on {p.host} armed (pid {a.pid}, netns {a.netns}): watching "
                f"{', '.join(a.watching)} until {st.fmt_time(a.until)}; probe "
                f"{', '.join(a.probes)}")
    except BaseException:
        for a in armed:
            stop_sentinel(a.path)
        raise
    return armed


def record_in_guard(root: Path, guard_id: str, armed: Sequence[Armed]) -> dict[str, Any]:
    """Note the sentinels in the guard's state, so `guard status` shows them."""
    g = st.GuardDir(root, guard_id)
    return g.update(lambda d: d.update(sentinels=[a.to_json() for a in armed]))


def summary(path: Path) -> str:
    """One line on a sentinel's state, for `guard status` and `guard sentinel-status`."""
    try:
        doc = read_state(path)
    except st.GuardError as e:
        return f"unreadable: {e}"
    status = doc.get("status")
    running = alive(path, doc)
    dels = doc.get("deletions", [])
    n = int(doc.get("deletion_count", len(dels)))
    what = (f"deleted the watched ports {n} time(s), first at {st.fmt_time(dels[0])}, last at "
            f"{st.fmt_time(dels[-1])}" if dels else "deleted nothing")
    state = status if running or status in DONE else f"{status}, not running"
    ports = doc.get("watching") or doc.get("watch", [])
    return (f"{doc.get('host')}: {state}; {what}; ports {', '.join(ports)}; until "
            f"{st.fmt_time(doc.get('until'))}")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
