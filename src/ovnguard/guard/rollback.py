"""Run the inverse of a guarded change against the live database, then prove it worked.

Used by the detached watcher (deadline, failed probe, `ovnguard rollback` request) and by
`ovnguard rollback` itself when no watcher is alive any more. The caller has already moved
the guard to `rolling-back` (under the state flock), so only one process ever runs this for
a guard.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ovnguard.guard import faultpoints, hoststeps, ovsdb
from ovnguard.guard import state as st
from ovnguard.guard.inverse import (
    Current,
    Difference,
    RollbackPlan,
    RowEdit,
    edits_from_json,
    foreign_changes,
    index_conditions,
    owned_rows,
    plan_rollback,
    reinserted_uuids,
    verify_rollback,
)
from ovnguard.guard.model import (
    DifferenceRecord,
    GuardState,
    HostVerificationRecord,
    VerificationRecord,
    VerifyErrorRecord,
)
from ovnguard.guard.ovsdb import DbSchema, Rows, TransactionError, Unreachable
from ovnguard.model.ovs import json_uuid, json_uuids

Log = Callable[[str], None]
BACKOFF = (0.1, 0.2, 0.4, 0.8, 1.0)  # then every 1 s until the give-up time


def read_current(remote: str, schema: DbSchema, edits: Sequence[RowEdit]) -> Current:
    """The live rows a rollback of `edits` reads, in one transaction per call."""
    wanted: dict[str, set[str]] = {}
    for e in edits:
        wanted.setdefault(e.table, set()).add(e.uuid)
    rows = ovsdb.select_uuids(remote, schema, wanted)
    hits: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    probes = [(e, where) for e in edits if e.kind == "delete"
              for where in index_conditions(schema, e)]
    if probes:
        ops = [{"op": "select", "table": e.table, "where": where} for e, where in probes]
        results = ovsdb.query(remote, schema.name, ops)
        for (e, _), res in zip(probes, results, strict=True):
            for r in res.get("rows", []):
                u = json_uuid(r["_uuid"])
                if u != e.uuid:
                    hits.setdefault(e.uuid, []).append(
                        (u, ovsdb.row_from_json(schema, e.table, r)))
    owned: set[str] = set()
    if schema.name == "Open_vSwitch":
        owned = owned_rows(schema, ovsdb.select_all(remote, schema, ["Port"]))
    return Current(rows, hits, owned)


@dataclass
class Outcome:
    status: str  # ROLLED_BACK, CONFLICT or GAVE_UP
    restored_at: float | None = None
    attempts: int = 0
    conflicts: list[Difference] = field(default_factory=list)
    error: str | None = None
    actions: list[str] = field(default_factory=list)
    already: list[str] = field(default_factory=list)
    uuids: dict[str, str] = field(default_factory=dict)  # old -> new, re-inserted rows
    ops: list[dict[str, Any]] = field(default_factory=list)


def _wait_failed(e: TransactionError, plan: RollbackPlan) -> bool:
    for op, res in zip(plan.ops, e.results, strict=False):
        if isinstance(res, dict) and res.get("error") and op["op"] == "wait":
            return True
    return False


def _uuid_unsupported(e: TransactionError) -> bool:
    text = str(e).lower()
    return "uuid" in text and ("unknown member" in text or "syntax error" in text)


def restore(
    remote: str,
    schema: DbSchema,
    edits: Sequence[RowEdit],
    *,
    give_up_at: float,
    log: Log,
    force: bool = False,
) -> Outcome:
    """Plan against the live rows and transact, retrying while the server is unreachable
    (with backoff, until `give_up_at`) or while a concurrent edit races the plan."""
    out = Outcome(st.GAVE_UP)
    persist = True
    races = 0
    delay = 0
    plan: RollbackPlan | None = None
    while True:
        out.attempts += 1
        plan = None
        try:
            current = read_current(remote, schema, edits)
            plan = plan_rollback(schema, edits, current, persist_uuids=persist, force=force)
            if plan.blocked:
                out.status, out.conflicts, out.already = st.CONFLICT, plan.conflicts, plan.already
                return out
            out.actions, out.already, out.ops = plan.actions, plan.already, plan.ops
            out.conflicts = plan.conflicts  # with force: what the rollback overwrites
            results: list[Any] = []
            if not plan.empty:
                results = ovsdb.transact(remote, schema.name, plan.ops)
            out.restored_at = time.time()
            out.uuids = reinserted_uuids(plan, results) if results else {}
            out.status = st.ROLLED_BACK
            return out
        except Unreachable as e:
            out.error = str(e)
            now = time.monotonic()
            if now >= give_up_at:
                log(f"database still unreachable ({e}); giving up")
                out.status = st.GAVE_UP
                return out
            pause = BACKOFF[min(delay, len(BACKOFF) - 1)]
            delay += 1
            log(f"database unreachable ({e}); retrying in {pause:g}s")
            time.sleep(min(pause, max(0.0, give_up_at - now)))
        except TransactionError as e:
            if persist and _uuid_unsupported(e):
                log("the server does not take row uuids on insert; re-creating with new uuids")
                persist = False
                continue
            if plan is not None and _wait_failed(e, plan) and races < 5:
                races += 1
                log(f"a concurrent edit raced the rollback ({e}); re-reading")
                continue
            out.status = st.CONFLICT
            out.error = f"the server refused the rollback: {e}"
            return out


@dataclass
class Verification:
    rows_ok: bool
    differences: list[Difference]
    foreign: list[str]
    wait_hv: str | None = None  # None: not tried
    ports: dict[str, str] = field(default_factory=dict)  # host -> what was found
    ports_ok: bool | None = None
    verified_at: float = 0.0

    @property
    def ok(self) -> bool:
        return self.rows_ok and self.ports_ok is not False

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok, "rows_ok": self.rows_ok,
            "differences": [d.to_json() for d in self.differences],
            "changed_by_others": self.foreign, "wait_hv": self.wait_hv,
            "ports_ok": self.ports_ok, "ports": self.ports,
        }


def verify(
    remote: str,
    schema: DbSchema,
    edits: Sequence[RowEdit],
    backup_rows: Rows,
    uuids: Mapping[str, str],
    *,
    nb_remote: str | None,
    expected_ports: Mapping[str, Mapping[str, list[dict[str, str]]]],
    chassis_dbs: Mapping[str, str],
    timeout: float,
    log: Log,
    repair: bool = False,
) -> Verification:
    """Rows back as in the backup (by content); then the patch ports the change made
    ovn-controller create gone again (and those it removed back) on every chassis whose
    database we can read — with `repair`, leftovers are deleted through that database;
    then, for an NB change, every chassis caught up (`--wait=hv`)."""
    now = ovsdb.select_all(remote, schema)
    owned = owned_rows(schema, now)
    diffs = verify_rollback(schema, edits, now, uuids, owned)
    foreign = foreign_changes(schema, backup_rows, now, edits, uuids)
    v = Verification(not diffs, diffs, foreign)
    if expected_ports:
        v.ports, v.ports_ok = _check_ports(expected_ports, chassis_dbs, timeout, repair)
        for h, what in sorted(v.ports.items()):
            log(f"after rollback, {h}: {what}")
    if nb_remote and schema.name == "OVN_Northbound":
        v.wait_hv = _wait_hv(nb_remote, timeout)
        log(f"after rollback: {v.wait_hv}")
    v.verified_at = time.time()
    return v


def _wait_hv(nb_remote: str, timeout: float) -> str:
    secs = max(1, int(timeout + 0.999))
    t0 = time.monotonic()
    try:
        p = subprocess.run(
            ["ovn-nbctl", f"--db={nb_remote}", f"--timeout={secs}", "--wait=hv", "sync"],
            capture_output=True, timeout=secs + 5, check=False, env=ovsdb.tool_env(),
            stdin=subprocess.DEVNULL,
        )
        ok = p.returncode == 0
    except (subprocess.TimeoutExpired, FileNotFoundError):
        ok = False
    took = time.monotonic() - t0
    if ok:
        return f"every chassis caught up with the rollback (--wait=hv) in {took:.2f}s"
    return f"not every chassis caught up within {secs}s (--wait=hv): check them"


def chassis_ports(remote: str, timeout: float = 5.0) -> set[tuple[str, str]] | None:
    """(bridge, port) pairs in a chassis' Open_vSwitch database, or None if unreachable."""
    ops = [{"op": "select", "table": "Bridge", "where": [], "columns": ["name", "ports"]},
           {"op": "select", "table": "Port", "where": [], "columns": ["_uuid", "name"]}]
    try:
        bridges, ports = ovsdb.query(remote, "Open_vSwitch", ops, timeout)
    except ovsdb.OvnguardError:
        return None
    # The wire's uuids (a one-port bridge's `ports` is a bare uuid, not a set) are read by
    # the one OVSDB-JSON decoder of a host's database, model.ovs.
    names = {u: r["name"] for r in ports["rows"] for u in json_uuids(r["_uuid"])}
    out: set[tuple[str, str]] = set()
    for b in bridges["rows"]:
        out.update((b["name"], names[u]) for u in json_uuids(b["ports"]) if u in names)
    return out


def _check_ports(
    expected: Mapping[str, Mapping[str, list[dict[str, str]]]],
    chassis_dbs: Mapping[str, str],
    timeout: float,
    repair: bool = False,
) -> tuple[dict[str, str], bool | None]:
    report: dict[str, str] = {}
    checked = False
    all_ok = True
    deadline = time.monotonic() + timeout
    for host, delta in sorted(expected.items()):
        gone = {(p["bridge"], p["port"]) for p in delta.get("added", [])}
        back = {(p["bridge"], p["port"]) for p in delta.get("removed", [])}
        if not gone and not back:
            continue
        remote = chassis_dbs.get(host)
        if remote is None:
            report[host] = ("not checked (no --chassis-db for it; the --wait=hv below is "
                            "the check)")
            continue
        checked = True
        repaired: list[str] = []
        attempts = 0
        repair_until = 0.0
        while True:
            have = chassis_ports(remote)
            if have is None:
                report[host] = f"not checked: {remote} unreachable"
                all_ok = False
                break
            left = sorted(gone & have)
            missing = sorted(back - have)
            if not left and not missing:
                what = [f"{p} gone from {b}" for b, p in sorted(gone)]
                what += [f"{p} back on {b}" for b, p in sorted(back)]
                fixed = (f" (ovn-controller did not follow within {timeout:g}s: deleted "
                         f"{', '.join(repaired)} through {remote}, {attempts} time(s))"
                         if repaired else "")
                report[host] = "ok: " + ", ".join(what) + fixed
                break
            if time.monotonic() >= deadline:
                if repair and left and attempts == 0:
                    repair_until = time.monotonic() + max(timeout, 2.0)
                if repair and left and time.monotonic() < repair_until:
                    # The chassis did not follow the rollback (its control path may run
                    # through the very loop the change made): remove the ports the change
                    # made it create, through its own database. An ovn-controller still
                    # working from its stale SB copy re-creates them, so again until they
                    # stay gone (each deletion also breaks the loop for a moment, which is
                    # when the rollback can reach it).
                    attempts += 1
                    repaired = delete_ports(remote, left) or repaired
                    time.sleep(0.2)
                    continue
                bad = [f"{p} still on {b}" for b, p in left]
                bad += [f"{p} not back on {b}" for b, p in missing]
                tried = f" (deleted {attempts} time(s), re-created)" if attempts else ""
                report[host] = "NOT restored after {:g}s{}: {}".format(
                    timeout, tried, ", ".join(bad))
                all_ok = False
                break
            time.sleep(0.1)
    return report, (all_ok if checked else None)


def delete_ports(remote: str, ports: Sequence[tuple[str, str]]) -> list[str]:
    """`ovs-vsctl del-port BRIDGE PORT` for each, as one transaction; returns the names."""
    ops: list[dict[str, Any]] = []
    for _bridge, port in ports:
        ops.append({"op": "select", "table": "Port", "where": [["name", "==", port]],
                    "columns": ["_uuid"]})
    try:
        found = ovsdb.query(remote, "Open_vSwitch", ops)
        muts: list[dict[str, Any]] = []
        for (bridge, _port), res in zip(ports, found, strict=True):
            for r in res.get("rows", []):
                muts.append({"op": "mutate", "table": "Bridge",
                             "where": [["name", "==", bridge]],
                             "mutations": [["ports", "delete", ["set", [r["_uuid"]]]]]})
        if muts:
            ovsdb.transact(remote, "Open_vSwitch",
                           [*muts, {"op": "comment", "comment": "ovnguard: stale patch ports"}])
    except ovsdb.OvnguardError:
        return []
    return [p for _, p in ports]


def load_edits(g: st.GuardDir) -> tuple[DbSchema, Rows, list[RowEdit]]:
    schema, rows = ovsdb.read_backup(g.file("backup.db"))
    edits = edits_from_json(schema, st.read_json(g.file("edits.json")))
    return schema, rows, edits


def run_rollback(g: st.GuardDir, *, log: Log, force: bool = False) -> GuardState:
    """Undo the guard's change (the guard must already be `rolling-back`), verify, record
    everything in guard.json, release the database's lock when done. Returns the state."""
    state = g.read()
    faultpoints.pause("rollback-started", log)
    schema, backup_rows, edits = load_edits(g)
    remote = state.remote
    settings = state.settings
    # Monotonic: setting the wall clock neither gives up early nor retries for ever.
    give_up_at = time.monotonic() + settings.give_up_after
    reason = state.rollback.reason if state.rollback else None
    log(f"rolling back ({reason or '?'}): {len(edits)} row(s) to restore on {remote}")
    out = restore(remote, schema, edits, give_up_at=give_up_at, log=log, force=force)

    def record(d: GuardState) -> None:
        rb = d.rb()
        rb.attempts, rb.error = out.attempts, out.error
        rb.actions, rb.already, rb.reinserted = out.actions, out.already, out.uuids
        found = [DifferenceRecord.model_validate(c.to_json()) for c in out.conflicts]
        if out.status != st.ROLLED_BACK:
            rb.conflicts = found
        else:
            rb.overwritten = found
        if out.ops:
            rb.transaction = [schema.name, *out.ops]
        if out.restored_at:
            d.stamp("restored", out.restored_at)

    # A host change: the host's addresses, routes and links come back after the OVS rows
    # (which re-create internal ports and re-attach NICs) -- also when the OVS part stopped:
    # reaching the host again matters more than which half is back.
    host = hoststeps.restore(g, timeout=settings.verify_timeout, log=log)
    if out.status != st.ROLLED_BACK:
        what = "; ".join(str(c) for c in out.conflicts) or out.error or ""
        log(f"rollback stopped ({out.status}): {what}")

        def stopped(d: GuardState) -> None:
            record(d)
            if host is not None:
                d.rb().verification = VerifyErrorRecord(
                    ok=False, error=f"the OVS rows were not restored ({out.status})",
                    host=HostVerificationRecord.model_validate(host))

        _, state = g.transition({st.ROLLING_BACK}, out.status, stopped, stamp="stopped")
        return state
    log("database restored: " + ("; ".join(out.actions) or "nothing left to do"))
    g.update(record)
    try:
        v = verify(
            remote, schema, edits, backup_rows, out.uuids,
            nb_remote=state.nb_remote,
            expected_ports=state.expected_ports,
            chassis_dbs=settings.chassis_dbs,
            timeout=settings.verify_timeout,
            log=log,
            repair=settings.repair_ports,
        )
        verification: VerificationRecord | VerifyErrorRecord = (
            VerificationRecord.model_validate(v.to_json()))
        if v.differences:
            log("verification found differences: " + "; ".join(map(str, v.differences)))
    except ovsdb.OvnguardError as e:
        verification = VerifyErrorRecord(ok=False, error=f"could not verify: {e}")
        log(f"could not verify: {e}")

    if host is not None:
        verification.host = HostVerificationRecord.model_validate(host)
        if isinstance(verification, VerificationRecord):
            verification.ok = verification.ok and verification.host.ok

    def done(d: GuardState) -> None:
        d.rb().verification = verification
        d.stamp("verified", time.time())

    _, state = g.transition({st.ROLLING_BACK}, st.ROLLED_BACK, done, stamp="finished")
    st.release(g.root, state.database, state.remote, g.id)
    return state
