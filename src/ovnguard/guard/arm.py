"""`ovnguard apply`: what-if, probes, lock, and the detached watcher that applies the change.

Nothing is written anywhere (database or state dir) until the what-if has accepted the
change and the probes have been checked; then the database's lock is taken, the guard's
directory written, and the watcher started. The watcher backs the database up, runs the one
transaction and arms the rollback; this process only waits to report what happened.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from ovnguard.assess import WhatIf, assess
from ovnguard.change import Change, apply_change, parse_change, read_change
from ovnguard.change.hoststate import DesiredState, read_host_state, with_host_state
from ovnguard.errors import InputError, OvnguardError
from ovnguard.guard import hoststeps, ovsdb
from ovnguard.guard import state as st
from ovnguard.guard.chain import NB, OVS, Target, chain_argv, chain_text, target_of
from ovnguard.guard.inverse import label, owned_columns
from ovnguard.guard.model import GuardState
from ovnguard.guard.probes import (
    Probe,
    ProbeContext,
    ProbeResult,
    default_probes,
    parse_probe,
    run_probe,
)
from ovnguard.i18n import _
from ovnguard.model.db import Database, Schema
from ovnguard.model.snapshot import HostState, Snapshot

DEFAULT_NB = "unix:/var/run/ovn/ovnnb_db.sock"
DEFAULT_OVS = "unix:/var/run/openvswitch/db.sock"
NB_SCHEMA_FILES = ("/usr/share/ovn/ovn-nb.ovsschema", "/usr/share/openvswitch/ovn-nb.ovsschema")
Say = Callable[[str], None]


@dataclass
class ApplyOptions:
    change: Path | None
    nb: str | None = None
    sb: str | None = None
    db: str | None = None  # a host's Open_vSwitch database, for ovs-vsctl changes
    host: str | None = None
    bundle: Path | None = None
    confirm_within: float = 120.0
    probes: Sequence[str] = ()
    probe_netns: str | None = None
    probe_cold: bool = False
    probe_interval: float = 1.0
    probe_failures: int = 1
    auto_confirm_after: float | None = None
    force: bool = False
    state_dir: Path | None = None
    chassis_dbs: Mapping[str, str] = field(default_factory=dict)
    repair_ports: bool = False
    give_up_after: float = 600.0
    verify_timeout: float = 10.0
    apply_timeout: float = 30.0
    operator: str | None = None  # where the change is typed from (--from, $SSH_CLIENT)
    host_state: Path | None = None  # a netplan/nmstate file applied on this host
    netplan_dir: Path = Path("/etc/netplan")


@dataclass
class Refused(Exception):
    """The what-if (or the probes) said no; nothing was written."""

    message: str
    details: list[str]
    whatif: WhatIf | None = None


def _check_numbers(o: ApplyOptions) -> None:
    if o.confirm_within <= 0:
        raise InputError(_(
            "--confirm-within must be positive"))
    if o.auto_confirm_after is not None and not 0 < o.auto_confirm_after < o.confirm_within:
        raise InputError(_(
            "--auto-confirm-after must be positive and less than --confirm-within"))
    if o.probe_interval <= 0:
        raise InputError(_(
            "--probe-interval must be positive"))
    if o.probe_failures < 1:
        raise InputError(_(
            "--probe-failures must be at least 1"))
    if o.repair_ports and not o.chassis_dbs:
        raise InputError(_(
            "--repair-ports needs --chassis-db HOST=REMOTE"))
    if o.give_up_after < 0 or o.verify_timeout < 0:
        raise InputError(_(
            "--give-up-after and --verify-timeout must not be negative"))


def resolve_remote(target: Target, o: ApplyOptions) -> str:
    if target.database == NB:
        return st.normalize_remote(o.nb or os.environ.get("OVN_NB_DB") or DEFAULT_NB)
    return st.normalize_remote(o.db or DEFAULT_OVS)


def _empty_nb() -> Database:
    for f in NB_SCHEMA_FILES:
        if Path(f).is_file():
            schema = Schema.from_json(json.loads(Path(f).read_text()))
            return Database(schema, MappingProxyType({}), "(no NB)")
    return Database(Schema("OVN_Northbound", "", MappingProxyType({})), MappingProxyType({}))


def _backup(remote: str, database: str, dest: Path) -> None:
    try:
        ovsdb.backup(remote, database, dest)
    except ovsdb.Unreachable as e:
        raise st.GuardError(_(
            "cannot reach {database} at {remote}: {e}; nothing applied").format(
            database=database, remote=remote, e=e),
                            3) from None
    except OvnguardError as e:
        raise st.GuardError(_(
            "cannot back up {database} at {remote}: {e}; nothing applied").format(
            database=database, remote=remote, e=e),
                            3) from None


def whatif_snapshot(
    o: ApplyOptions, target: Target, remote: str, tmp: Path, backup: Path,
    live_host: bool = False,
) -> Snapshot:
    """The state the what-if judges: the bundle if given, else what the live databases say
    (NB and, with --sb, SB; for a host change its conf.db)."""
    from ovnguard.sources.bundle import NB_KEEP, OVS_KEEP, load_bundle, read_db_file

    if o.bundle is not None:
        if not o.bundle.is_dir():
            raise InputError(_(
                "bundle directory not found"), str(o.bundle))
        return load_bundle(o.bundle)
    if target.database == NB:
        bundle = tmp / "bundle"
        bundle.mkdir()
        shutil.copyfile(backup, bundle / "nb.db")
        if o.sb:
            _backup(st.normalize_remote(o.sb), "OVN_Southbound", bundle / "sb.db")
        return load_bundle(bundle)
    assert target.host is not None
    nb = _empty_nb()
    if o.nb:
        _backup(st.normalize_remote(o.nb), NB, tmp / "nb.db")
        nb = read_db_file(tmp / "nb.db", NB, NB_KEEP)
    ovs = read_db_file(backup, OVS, OVS_KEEP)
    host = HostState(name=target.host, ovs=ovs, files=MappingProxyType({"conf.db": remote}))
    if live_host:
        # A host change is applied on its host: its addresses, routes and links are read
        # here, over netlink, so the what-if sees what the ip lines change.
        from dataclasses import replace

        from ovnguard.sources.iproute import parse_addresses, parse_links, parse_routes
        from ovnguard.sources.netlink import read_ip_json

        files = read_ip_json().files()
        host = replace(host, addresses=parse_addresses(files["addr.json"], "netlink"),
                       routes=parse_routes(files["route.json"], "netlink"),
                       links=parse_links(files["link.json"], "netlink"))
        return Snapshot(nb=nb, sb=None, hosts=MappingProxyType({target.host: host}),
                        source=remote,
                        notes=(f"no bundle: {target.host}'s Open_vSwitch database and its "
                               "addresses, routes and links read live here",))
    return Snapshot(nb=nb, sb=None, hosts=MappingProxyType({target.host: host}),
                    source=remote,
                    notes=(f"no bundle: only {target.host}'s Open_vSwitch database is known "
                           "(addresses and routes not collected)",))


def predict_chain(
    change: Change, target: Target, backup: Path
) -> tuple[list[dict[str, str]], str | None]:
    """Apply the chained change (what will really run) to the full live database: the rows
    it should touch, or why the real tool will refuse it."""
    from ovnguard.sources.ovsdb_file import read_database

    chained = parse_change(chain_text(change, target), f"{change.path} (as one transaction)")
    full = read_database(backup)
    schema, _rows = ovsdb.read_backup(backup)
    if target.database == NB:
        snap = Snapshot(nb=full, sb=None, hosts=MappingProxyType({}))
    else:
        assert target.host is not None
        snap = Snapshot(nb=_empty_nb(), sb=None, hosts=MappingProxyType(
            {target.host: HostState(name=target.host, ovs=full)}))
    res = apply_change(snap, chained)
    if not res.applied:
        return [], "nothing to run"
    a = res.applied[0]
    if a.status in ("failed", "unsupported"):
        msg = "; ".join(p.message for p in res.problems) or a.status
        return [], msg
    predicted = []
    for c in a.changes:
        owned = owned_columns(schema, c.table)
        if c.kind == "update" and all(col in owned for col in c.columns):
            continue
        row = c.after or c.before
        predicted.append({"table": c.table, "kind": c.kind,
                          "label": label(c.table, row.data if row else None, str(c.uuid))})
    return predicted, None


def _refuse_if_needed(w: WhatIf, chain_error: str | None, force: bool,
                      host_steps: Sequence[hoststeps.HostStep] = ()) -> list[str]:
    """Raise Refused unless the change may go ahead; returns warnings for --force."""
    r = w.report
    ip_lines = {s.line for s in host_steps if s.argv[0] == "ip"}
    bad_lines = [c for c in r.change_lines if c.outcome in ("rejected", "unsupported")
                 and not (c.outcome == "unsupported" and c.line in ip_lines)]
    warnings: list[str] = []
    unmodelled = sorted(c.line for c in r.change_lines
                        if c.outcome == "unsupported" and c.line in ip_lines)
    if unmodelled:
        warnings.append(_("the what-if did not model line(s) {lines} (ip); the guard backs up "
                          "and restores the host's addresses, routes and links around "
                          "them").format(lines=", ".join(map(str, unmodelled))))
    if bad_lines:
        details = [_("line {line}: {outcome}: {message}").format(
                       line=c.line, outcome=c.outcome, message=c.message or c.text)
                   + (_(" (did you mean: {names}?)").format(names=", ".join(c.suggestions))
                      if c.suggestions else "")
                   for c in bad_lines]
        if not force:
            raise Refused(_(
                "some lines would not apply as written (or cannot be predicted); nothing "
                "applied; fix them, or --force to let the real tool decide under the guard"),
                details, w)
        warnings += details
    if chain_error is not None:
        if not force:
            raise Refused(_(
                "the lines cannot run as one transaction: {chain_error}; nothing applied").format(
                chain_error=chain_error), [], w)
        warnings.append(_("as one transaction: {error}").format(error=chain_error))
    if r.verdict == "dangerous":
        details = [f"{e.fact}" + (f"  [{e.source}]" if e.source else "") for e in r.chain]
        if not force:
            raise Refused(_(
                "the what-if says DANGEROUS: {summary}; nothing applied (--force applies it "
                "anyway, under the guard)").format(
                summary=r.summary), details, w)
        warnings.append(_("DANGEROUS, applied because of --force: {summary}").format(
            summary=r.summary))
    return warnings


def check_probes(
    probes: Sequence[Probe], ctx: ProbeContext
) -> tuple[list[Probe], list[tuple[Probe, ProbeResult]]]:
    """Run every probe once, in parallel: the ones that pass now are the ones to watch."""
    if not probes:
        return [], []
    with ThreadPoolExecutor(max_workers=min(16, len(probes))) as pool:
        results = list(pool.map(lambda p: run_probe(p, ctx), probes))
    active = [p for p, r in zip(probes, results, strict=True) if r.ok]
    dropped = [(p, r) for p, r in zip(probes, results, strict=True) if not r.ok]
    return active, dropped


def _management_addresses(snapshot: Snapshot) -> dict[str, str | None]:
    from ovnguard.model.host import HostView

    out: dict[str, str | None] = {}
    for name, h in snapshot.hosts.items():
        addr = h.inventory_address
        if addr is None:
            try:
                m = HostView(h).management
            except Exception:  # the host model may lack what it needs; then no probe
                m = None
            addr = m.address if m is not None else None
        out[name] = addr
    return out


def _default_gateway(snapshot: Snapshot, host: str | None) -> str | None:
    h = snapshot.hosts.get(host) if host else None
    for r in (h.routes or ()) if h is not None else ():
        if r.dst == "default" and r.gateway and r.table in (None, "main"):
            return r.gateway
    return None


def start_watcher(g: st.GuardDir) -> None:
    from ovnguard.guard.watcher import launch

    launch(g.path)


def wait_for_watcher(g: st.GuardDir, timeout: float) -> GuardState:
    """Until the watcher has applied (or refused) the change. A watcher that dies while
    applying is not the end: the tool may have changed the database, so the next
    generation (started by its keeper, or from here) finds out and undoes it."""
    from ovnguard.guard import recover

    start = time.monotonic()
    deadline = start + timeout
    while True:
        s = g.read()
        if s.status not in (st.PREPARING, st.APPLYING):
            return s
        if s.status == st.APPLYING and not st.watcher_alive(g, s):
            recover.take_over(g, "the watcher died while applying")
        # A watcher that never got as far as taking the guard (it died importing, say).
        never = s.status == st.PREPARING and time.monotonic() > start + 20
        if never or time.monotonic() >= deadline:
            moved, s = g.transition({st.PREPARING}, st.FAILED, st.set_error(
                f"the watcher did not report within {timeout:g}s; see "
                f"{g.file('watcher.log')}"))
            if moved:
                st.release(g.root, s.database, s.remote, g.id)
            return s
        time.sleep(0.03)


def _check_space(root: Path, backup_size: int) -> None:
    """Refuse before anything is applied when the state dir cannot hold the guard's records
    (the backup, then edits, inverse and state: see run.reserve_size)."""
    from ovnguard.guard.run import RESERVE_EXTRA, RESERVE_FACTOR

    need = backup_size + RESERVE_FACTOR * backup_size + RESERVE_EXTRA
    probe = root
    while not probe.exists():
        probe = probe.parent
    free = shutil.disk_usage(probe).free
    if free < need:
        raise st.GuardError(
            _(
            "the state dir {root} has {free} bytes free; the guard needs about {need} (a "
            "backup of the database, {backup_size} bytes, and its records): nothing applied; "
            "free some space or give --state-dir elsewhere").format(
            root=root, free=free, need=need, backup_size=backup_size), 3)


def _this_host() -> str:
    import socket

    return socket.gethostname()


def _host_state(o: ApplyOptions) -> tuple[DesiredState | None, list[hoststeps.FileWrite]]:
    """`--host-state FILE`: its desired state, and the file to install (netplan: into
    --netplan-dir under its own name; nmstate: nothing, its edits only)."""
    if o.host_state is None:
        return None, []
    desired = read_host_state(o.host_state)
    if desired.kind != "netplan":
        return desired, []
    return desired, [hoststeps.netplan_write(o.host_state, o.netplan_dir)]


def apply_guarded(o: ApplyOptions, say: Say) -> GuardState:
    """The whole of `ovnguard apply`; returns the guard's state once the watcher applied
    (or refused) the change. Raises Refused, GuardError or InputError."""
    _check_numbers(o)
    if o.change is None and o.host_state is None:
        raise InputError(_(
            "missing --change FILE (or --host-state FILE): the change to apply"))
    change = (read_change(o.change, default_host=o.host) if o.change is not None
              else Change(str(o.host_state), ()))
    desired, writes = _host_state(o)
    # A change with `ip` lines is a host change: its steps run in order (hoststeps.py).
    hosted = hoststeps.host_target(
        change, o.host or (_this_host() if desired else None),
        lambda: st.normalize_remote(o.db or DEFAULT_OVS), o.apply_timeout,
        host_state=desired is not None)
    target = hosted[0] if hosted else target_of(change)
    remote = resolve_remote(target, o)
    nb_remote = remote if target.database == NB else (
        st.normalize_remote(o.nb) if o.nb else None)
    sb_remote = st.normalize_remote(o.sb) if o.sb else None
    root = st.validate_state_dir(o.state_dir or st.default_state_dir())
    held = st.holder(root, target.database, remote)
    if held is not None:
        raise st.GuardError(st.locked_message(held), 4)
    specs = list(o.probes)
    no_probes = [s for s in specs if s.strip().lower() == "none"]
    probes = [parse_probe(s) for s in specs if s.strip().lower() != "none"]
    if no_probes and probes:
        raise InputError(_(
            "--probe none cannot be combined with other probes"))

    tmp = Path(tempfile.mkdtemp(prefix="ovnguard-apply-"))
    try:
        backup = tmp / "backup.db"
        _backup(remote, target.database, backup)
        backup_size = backup.stat().st_size
        snapshot = whatif_snapshot(o, target, remote, tmp, backup, live_host=hosted is not None)
        if desired is not None and hosted is not None:
            # The file as the same typed edits the what-if judges: the difference between
            # it and the host's live state (change/hoststate.py), run as the host's steps.
            change = with_host_state(change, str(target.host), desired, snapshot)
            hosted = hoststeps.host_target(change, target.host, lambda: remote,
                                           o.apply_timeout, host_state=True)
            assert hosted is not None
            hosted[1].files = [x.path for x in writes]
            hosted[1].writes = writes
        w = assess(snapshot, change, operator=o.operator)
        predicted, chain_error = (predict_chain(change, target, backup)
                                  if any(i.tool != "ip" for i in change.invocations)
                                  else ([], None))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    r = w.report
    warnings = _refuse_if_needed(w, chain_error, o.force,
                                 hosted[1].steps if hosted else ())
    if desired is not None:
        warnings.append(
            f"{o.host_state}: installed as {writes[0].path} and applied as its edits "
            "(addresses, routes, links, OVS); `netplan apply` is not run: the next one (or a "
            "boot) reads this file, or the restored one" if writes else
            f"{o.host_state} (nmstate): applied as its edits only; NetworkManager's profiles "
            "are not written, so a reconnect or reboot brings back what they say")
    say(f"what-if: {r.verdict.upper()}: {r.summary}")
    if not any(h.ovs is not None for h in snapshot.hosts.values()):
        blind = ("the what-if knew no host's Open_vSwitch database (no --bundle): " + (
            # with --sb every chassis is predicted from its SB Chassis row (sources.bundle)
            "every chassis was predicted from SB alone, so which NIC and address sit on "
            "their bridges, and who loses management, is unknown; give a bundle for that"
            if snapshot.hosts else
            "it cannot see which chassis realize the change or who loses management; give "
            "--sb or a bundle for a real verdict"))
        warnings.append(blind)
        say(f"warning: {blind}")
    for warn in warnings:
        say(f"warning: {warn}")

    ctx = ProbeContext(o.probe_netns, nb_remote, sb_remote, o.probe_cold)
    if not probes and not no_probes and hosted is not None:
        # On the host itself, its own address always answers: what a host change must not
        # lose is the way out -- to the operator (--from, $SSH_CLIENT), else the gateway.
        out = o.operator or _default_gateway(snapshot, target.host)
        if out:
            probes = [parse_probe(f"icmp:{out}")]
            say(f"no --probe given: probing {out}, "
                + ("where the change is typed from" if o.operator else "the default gateway"))
    elif not probes and not no_probes:
        probes = default_probes(_management_addresses(snapshot))
        if probes:
            say(f"no --probe given: probing every host's management address "
                f"({len(probes)} probes)")
    active, dropped = check_probes(probes, ctx)
    for p in active:
        say(f"probe {p.spec}: passes now, watched")
    for p, res in dropped:
        say(f"probe {p.spec}: dropped, it fails before the change ({res.detail})")
    if not active:
        say("no probe to watch: only the deadline protects this change")
    if o.auto_confirm_after is not None and not active:
        raise InputError(_(
            "--auto-confirm-after needs at least one probe that passes now"))

    expected_ports = {
        h: {"added": [{"bridge": p.bridge, "port": p.port} for p in d.added],
            "removed": [{"bridge": p.bridge, "port": p.port} for p in d.removed]}
        for h, d in sorted(w.deltas.items()) if d.added or d.removed
    }
    _check_space(root, backup_size)
    guard_id = st.new_guard_id(target.database)
    st.acquire(root, target.database, remote, guard_id)
    g: st.GuardDir | None = None
    try:
        g = st.create_guard_dir(root, guard_id)
        if o.change is not None:
            shutil.copyfile(o.change, g.file("change.sh"))
            os.chmod(g.file("change.sh"), 0o600)
        if o.host_state is not None:
            shutil.copyfile(o.host_state, g.file("host-state.yaml"))
            os.chmod(g.file("host-state.yaml"), 0o600)
        st.write_json(g.file("whatif.json"), r.model_dump(mode="json"))
        argv = (hoststeps.record_argv(hosted[1], remote, o.apply_timeout) if hosted
                else chain_argv(change, target, remote, o.apply_timeout))
        if hosted:
            hoststeps.write(g, hosted[1])
        doc = {
            "schema_version": st.SCHEMA_VERSION,
            "id": guard_id,
            "status": st.PREPARING,
            "database": target.database,
            "remote": remote,
            "host": target.host,
            "change": str((o.change or o.host_state or Path()).absolute()),
            "argv": argv,
            "nb_remote": nb_remote,
            "sb_remote": sb_remote,
            "verdict": r.verdict,
            "summary": r.summary,
            "forced": o.force,
            "warnings": warnings,
            "predicted": predicted,
            "expected_ports": expected_ports,
            "probes": [p.to_json() for p in active],
            "dropped_probes": [{"probe": p.spec, "why": res.detail} for p, res in dropped],
            "probe_netns": o.probe_netns,
            "probe_cold": o.probe_cold,
            "settings": {
                "confirm_within": o.confirm_within,
                "auto_confirm_after": o.auto_confirm_after,
                "probe_interval": o.probe_interval,
                "probe_failures": o.probe_failures,
                "give_up_after": o.give_up_after,
                "verify_timeout": o.verify_timeout,
                "apply_timeout": o.apply_timeout,
                "chassis_dbs": {h: st.normalize_remote(v) for h, v in o.chassis_dbs.items()},
                "repair_ports": o.repair_ports,
            },
            "timeline": {"created": round(time.time(), 3)},
            "cli": {"pid": os.getpid()},
            "notes": [],
        }
        g.write(GuardState.model_validate(doc))  # what the watcher will run, checked
        start_watcher(g)
    except BaseException as e:
        if g is not None and g.state_file.exists():
            g.transition({st.PREPARING}, st.FAILED, st.set_error(
                f"could not start the guard: {e}"))
        st.release(root, target.database, remote, guard_id)
        raise
    return wait_for_watcher(g, o.apply_timeout + 30)
