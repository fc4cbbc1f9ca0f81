"""Run a change with the real ovn-nbctl / ovn-sbctl / ovs-vsctl on copies of the databases.

Each database a line needs (NB; SB for ovn-sbctl; each host's Open_vSwitch DB that a
`# host:` line names) gets its own throwaway `ovsdb-server` in a temporary directory, loaded
with a copy of the snapshot's database and started on first use only -- a bundle of 1,000
hosts costs nothing for the hosts a change does not touch. Each command line is one
invocation of the real tool (argv, never a shell), with the global options that would point
it elsewhere or make it wait for other daemons removed (`--db`, `--wait`, `--timeout`, ...).

- ovn-nbctl / ovn-sbctl run in their daemon mode (`--detach`: one process that keeps the
  database in memory, each line sent over its control socket as `run ARGS`): a line then
  costs well under a millisecond, so a long change is linear in its length.
- ovs-vsctl has no daemon mode: one process per line (a few milliseconds).
- A line that waits for a condition (`wait-until`) runs as its own process with a timeout,
  since on a copy nothing else will ever change the database.

Kept across what-ifs (`with RealToolExecutor(tools) as ex:`, executor.py): after each change
the servers are put back to the databases they were loaded with -- one inverse transaction
(rows re-inserted with their own uuids), read back from the file and compared with what was
loaded -- and a daemon is asked until it shows the rollback (its replica is updated
asynchronously, and it checks names against the replica without a round trip). At 200k ports
loading the copy is seconds; the rollback costs what the change touched.

What each line changed is read from the server, not guessed: ovsdb-server appends one
transaction record per committed transaction to its file, and `apply_records` replays
exactly those onto the model.

Nothing here connects to anything but these servers: never a live database.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson
import ovs.jsonrpc
import ovs.poller
import ovs.stream

from ovnguard.change.apply import DbKey, Outcome, _openstack_unsupported, model_outcome
from ovnguard.change.batch import group_words
from ovnguard.change.model import Invocation
from ovnguard.change.neutron import Ml2Config
from ovnguard.change.syntax import EXECUTOR_DROPS, strip_global_options
from ovnguard.change.tools import Tools
from ovnguard.errors import InputError
from ovnguard.i18n import _
from ovnguard.model.db import Database, Row, RowChange, TableSchema, Uuid, diff
from ovnguard.model.mesh import elide_tunnel_mesh, with_tunnel_mesh
from ovnguard.sources.ovsdb_file import (
    apply_records,
    parse_database,
    read_database,
    value_to_json,
    write_database,
)

LINE_TIMEOUT = 30.0  # seconds; a line that takes longer is reported, not waited for
WAIT_TIMEOUT = 3  # seconds a `wait-until` line may wait on a copy nothing else changes
SYNC_TIMEOUT = 2.0  # seconds a daemon may take to show a transaction another client made
_LIVENESS_MS = 100  # how often a wait on a daemon looks whether the server is still there

# The tools' "not found" messages -> the table whose names to suggest from.
_MISSING = [
    (re.compile(r"^(.+): switch name not found$"), "Logical_Switch"),
    (re.compile(r"^(.+): router name not found$"), "Logical_Router"),
    (re.compile(r"^(.+): switch port name not found$"), "Logical_Switch_Port"),
    (re.compile(r"^(.+): port name not found$"), "Logical_Switch_Port"),
    (re.compile(r"^(.+): router port name not found$"), "Logical_Router_Port"),
    (re.compile(r"^no bridge named (.+)$"), "Bridge"),
    (re.compile(r"^no port named (.+)$"), "Port"),
    (re.compile(r"^no interface named (.+)$"), "Interface"),
    (re.compile(r'^no row "(.+)" in table (\w+)$'), ""),
]


class ToolError(RuntimeError):
    """A throwaway server or daemon could not be started (a broken --ovn-bindir)."""


class ServerExited(ToolError):
    """The throwaway ovsdb-server a line was running on is gone (it crashed, or something
    killed it): a client of it would wait for it to come back until LINE_TIMEOUT."""

    def __init__(self, server: _Server) -> None:
        last = server.last_words() or [f"exit status {server.proc.returncode}"]
        super().__init__(_("the copy's ovsdb-server exited ({why})").format(why=last[0]))


def _missing(error: str) -> tuple[str, str] | None:
    for rx, table in _MISSING:
        m = rx.match(error)
        if m:
            return (table or m.group(2), m.group(1))
    return None


def _whole(db: Database) -> Database:
    """`db` with the rows its reader left in the file (model/mesh.py) put back."""
    if db.elided is None:
        return db
    try:
        raw = db.elided.raw  # collected bytes, not a file (`check --live`)
        whole = read_database(db.source) if raw is None else parse_database(raw, db.source)
    except (InputError, OSError) as e:
        raise ToolError(_("{source} could not be read again for the rows not held in memory "
                          "({rule}): {error}").format(source=db.source, rule=db.elided.rule,
                                                      error=e)) from None
    return with_tunnel_mesh(db, whole)


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)


class _Probe:
    """A row as one transaction left it, for a daemon to show: present or not, and where
    `column` is given, holding `value` there (OVSDB JSON)."""

    def __init__(self, table: str, uuid: Uuid, present: bool, column: str | None = None,
                 value: Any = None) -> None:
        self.table, self.uuid, self.present = table, uuid, present
        self.column, self.value = column, value

    @classmethod
    def of(cls, change: RowChange, ts: TableSchema) -> _Probe:
        """The row as `change` left it (an update: its first changed column's value)."""
        if change.after is None:
            return cls(change.table, change.uuid, False)
        cells = _cells(ts, change.after, change.before) if change.before is not None else {}
        if cells:
            column = min(cells)
            return cls(change.table, change.uuid, True, column, cells[column])
        return cls(change.table, change.uuid, True)


def _row_op(ts: TableSchema, change: RowChange) -> dict[str, Any] | None:
    """The OVSDB operation that makes the row `change.before` what `change.after` holds
    (an insert names the row's uuid); None when their cells already agree."""
    where = [["_uuid", "==", ["uuid", str(change.uuid)]]]
    if change.after is None:
        return {"op": "delete", "table": change.table, "where": where}
    cells = _cells(ts, change.after, change.before)
    if change.before is None:
        return {"op": "insert", "table": change.table, "uuid": str(change.uuid), "row": cells}
    return {"op": "update", "table": change.table, "where": where, "row": cells} if cells \
        else None


def _cells(ts: TableSchema, want: Row, have: Row | None) -> dict[str, Any]:
    """`want`'s cells (OVSDB JSON) that differ from `have`'s (None: that are not default)."""
    out: dict[str, Any] = {}
    for c, ctype in ts.columns.items():
        default = ctype.default()
        w = want.data.get(c, default)
        h = default if have is None else have.data.get(c, default)
        if w != h:
            out[c] = value_to_json(ctype, w)
    return out


def _canonical(v: Any) -> Any:
    """An OVSDB JSON datum compared as a set: a single atom is a set of one, sets and maps
    in any order ("named-uuid" never occurs in what a server prints)."""
    if isinstance(v, list) and len(v) == 2 and v[0] == "set":
        return sorted(orjson.dumps(a) for a in v[1])
    if isinstance(v, list) and len(v) == 2 and v[0] == "map":
        return sorted(orjson.dumps(p) for p in v[1])
    return [orjson.dumps(v)]


class _Server:
    """One throwaway ovsdb-server over a copy of one database."""

    def __init__(self, tools: Tools, work: Path, label: str, db: Database) -> None:
        self.tools = tools
        self.file = work / f"{label}.db"
        self.sock = work / f"{label}.sock"
        self.ctl = work / f"{label}.ctl"
        self.db = db  # what the model holds (the caller passes it back on the next line)
        # what the tool is given: every row, ovn-controller's tunnel ports included
        self.whole = _whole(db)
        self.file.write_bytes(write_database(self.whole))
        self.proc = subprocess.Popen(
            [str(tools.path("ovsdb-server")), str(self.file), f"--remote=punix:{self.sock}",
             f"--unixctl={self.ctl}", "--no-chdir"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 10
        while not self._answers():
            if self.proc.poll() is not None:
                raise ToolError(f"ovsdb-server would not load a copy of {db.name}: "
                                f"{self.last_words() or 'no message'}")
            if time.monotonic() > deadline:
                self.stop()
                raise ToolError("ovsdb-server did not start within 10 s")
            time.sleep(0.002)
        self.offset = self.file.stat().st_size
        self.base = (self.db, self.whole)  # what reset() puts back
        self.touched: set[tuple[str, Uuid]] = set()  # rows changed since the load or reset
        self._rpc: ovs.jsonrpc.Connection | None = None

    def last_words(self) -> list[str]:
        """The last line the exited server wrote to stderr ([] if none)."""
        err = self.proc.stderr.read().decode(errors="replace") if self.proc.stderr else ""
        return err.strip().splitlines()[-1:]

    def _answers(self) -> bool:
        # The socket file exists from bind(), but connections are refused until listen(); a
        # refused tool would back off for a second before retrying.
        if not self.sock.exists():
            return False
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            try:
                s.connect(str(self.sock))
            except OSError:
                return False
        return True

    @property
    def remote(self) -> str:
        return f"unix:{self.sock}"

    def _tail(self) -> bytes:
        """What the server appended to its file since the last read."""
        with self.file.open("rb") as f:
            f.seek(self.offset)
            tail = f.read()
        self.offset += len(tail)
        return tail

    def take(self) -> tuple[Database, tuple[RowChange, ...]]:
        """What the transactions since the last call changed, applied to the model."""
        tail = self._tail()
        if not tail.strip():
            return self.db, ()
        self.whole, changes = apply_records(self.whole, tail, str(self.file))
        self.touched.update((c.table, c.uuid) for c in changes)
        if self.db.elided is None:
            self.db = self.whole
        else:  # held without the rows its reader left in the file, as before the line
            self.db = elide_tunnel_mesh(self.whole, self.db, changes)
        return self.db, tuple(changes)

    def transact(self, ops: list[dict[str, Any]]) -> str | None:
        """Commit `ops` as one transaction over JSON-RPC: the error, or None."""
        if self._rpc is None:
            error, stream = ovs.stream.Stream.open_block(
                ovs.stream.Stream.open(self.remote))
            if error:
                return os.strerror(error)
            self._rpc = ovs.jsonrpc.Connection(stream)
        req = ovs.jsonrpc.Message.create_request("transact", [self.db.name, *ops])
        error, reply = self._rpc.transact_block(req)
        if error or reply is None:
            return os.strerror(error) if error else "no reply"
        if reply.type == ovs.jsonrpc.Message.T_ERROR:
            return str(reply.error)
        bad = [r for r in (reply.result or []) if isinstance(r, dict) and "error" in r]
        return str(bad[0]) if bad else None

    def reset(self) -> _Probe | None:
        """Put the copy back to what it was loaded with; a row the rollback changed, for a
        daemon to show before it runs another line (None: nothing changed). ToolError when
        the copy cannot be shown to hold what it was loaded with again."""
        base_db, base_whole = self.base
        keys = sorted(self.touched)
        self.touched = set()
        ops: list[dict[str, Any]] = []
        probe: _Probe | None = None
        for table, uuid in keys:
            want = base_whole.tables.get(table, {}).get(uuid)
            have = self.whole.tables.get(table, {}).get(uuid)
            if want is None and have is None:  # made and deleted again by the change
                continue
            kind = "delete" if want is None else "insert" if have is None else "update"
            back = RowChange(table, uuid, kind, have, want)
            ts = base_whole.schema.tables[table]
            op = _row_op(ts, back)
            if op is not None:
                ops.append(op)
                probe = probe or _Probe.of(back, ts)
        if ops:
            error = self.transact(ops)
            if error is not None:
                raise ToolError(f"the copy of {base_db.name} could not be put back: {error}")
        # read back what the rollback wrote: the copy must hold again what it was loaded with
        tail = self._tail()
        now = apply_records(self.whole, tail, str(self.file))[0] if tail.strip() else \
            self.whole
        for table, uuid in keys:
            ts = base_whole.schema.tables[table]
            want = base_whole.tables.get(table, {}).get(uuid)
            have = now.tables.get(table, {}).get(uuid)
            if (want is None) != (have is None) or (
                    want is not None and have is not None and _cells(ts, want, have)):
                raise ToolError(f"the copy of {base_db.name} was not put back: {table} "
                                f"{uuid} differs")
        self.db, self.whole = base_db, base_whole
        return probe

    def stop(self) -> None:
        if self._rpc is not None:
            self._rpc.close()
            self._rpc = None
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stderr:
            self.proc.stderr.close()


class _CtlDaemon:
    """ovn-nbctl / ovn-sbctl in daemon mode, driven over its control socket."""

    def __init__(self, tools: Tools, tool: str, server: _Server, work: Path) -> None:
        self.server = server
        self.ctl = work / f"{tool}.ctl"
        self.pidfile = work / f"{tool}.pid"
        r = subprocess.run(
            [str(tools.path(tool)), f"--db={server.remote}", "--detach", "--no-chdir",
             f"--pidfile={self.pidfile}", f"--unixctl={self.ctl}",
             f"--log-file={work / (tool + '.log')}"],
            capture_output=True, text=True, timeout=LINE_TIMEOUT, check=False,
        )
        if r.returncode != 0:
            raise ToolError(f"{tool} --detach failed: {r.stderr.strip()}")
        self.pid = int(self.pidfile.read_text().strip())
        error, stream = ovs.stream.Stream.open_block(ovs.stream.Stream.open(f"unix:{self.ctl}"))
        if error:
            self.stop()
            raise ToolError(f"cannot reach {tool}'s control socket: {os.strerror(error)}")
        self.conn = ovs.jsonrpc.Connection(stream)
        # The daemon answers before its first copy of the database has arrived (a line would
        # then see an empty database): wait until it sees a row the copy is known to hold.
        table = next((t for t, rows in server.db.tables.items() if rows), None)
        deadline = time.monotonic() + 10
        while table is not None:
            error, out = self.run(["--bare", "--columns=_uuid", "list", table])
            if error is None and out.strip():
                break
            if time.monotonic() > deadline:
                self.stop()
                raise ToolError(f"{tool} did not read the copy of {server.db.name} in 10 s")
            time.sleep(0.001)

    def run(self, args: list[str]) -> tuple[str | None, str]:
        """(error text or None, output) of `run ARGS` -- one transaction. ServerExited as
        soon as the server is seen gone (the daemon itself would wait for it to return)."""
        req = ovs.jsonrpc.Message.create_request("run", args)
        if self.conn.send(req):
            raise ToolError("lost the control connection")
        deadline = time.monotonic() + LINE_TIMEOUT
        while True:
            self.conn.run()
            error, msg = self.conn.recv()
            if error == 0 and msg is not None and msg.id == req.id:
                if msg.type == ovs.jsonrpc.Message.T_ERROR:
                    return str(msg.error), ""
                return None, str(msg.result or "")
            if error not in (0, errno.EAGAIN):
                raise ToolError(f"control connection: {os.strerror(error)}")
            if self.server.proc.poll() is not None:
                raise ServerExited(self.server)
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            poller = ovs.poller.Poller()
            self.conn.wait(poller)
            self.conn.recv_wait(poller)
            poller.timer_wait(min(int(left * 1000) + 1, _LIVENESS_MS))
            poller.block()

    def sees(self, probe: _Probe) -> bool:
        """Whether the daemon's replica shows the row as `probe` says."""
        cols = "_uuid" if probe.column is None else f"_uuid,{probe.column}"
        error, out = self.run(["--format=json", "--data=json", f"--columns={cols}", "list",
                               probe.table, str(probe.uuid)])
        if not probe.present:
            return error is not None  # `no row ... in table ...`
        if error is not None:
            return False
        data = orjson.loads(out).get("data") or []
        if not data:
            return False
        return probe.column is None or _canonical(data[0][1]) == _canonical(probe.value)

    def sync(self, probe: _Probe) -> bool:
        """Wait until the replica shows `probe` (a transaction another client committed):
        False after SYNC_TIMEOUT."""
        deadline = time.monotonic() + SYNC_TIMEOUT
        while not self.sees(probe):
            if time.monotonic() > deadline:
                return False
            time.sleep(0.0005)
        return True

    def stop(self) -> None:
        conn = getattr(self, "conn", None)
        if conn is not None:
            conn.close()
        if hasattr(self, "pid"):
            _kill(self.pid)


_TOOL: dict[DbKey, str] = {("nb",): "ovn-nbctl", ("sb",): "ovn-sbctl"}  # daemon per server


class RealBackend:
    """The engine of `RealToolExecutor`: one session of throwaway servers (a context manager)."""

    name = "real-tools"
    checks_syntax = False  # the tool itself says what is wrong with a line, in its words
    runs_groups = True  # `execute_group`: consecutive lines chained, one transaction (batch.py)

    def __init__(self, tools: Tools) -> None:
        self.tools = tools
        self._tmp = tempfile.TemporaryDirectory(prefix="ovnguard-exec-")
        self.work = Path(self._tmp.name)
        self.servers: dict[DbKey, _Server] = {}
        self.daemons: dict[str, _CtlDaemon] = {}
        self.runs = 0  # transactions asked of the real tools (each costs them the whole DB)

    def __enter__(self) -> RealBackend:
        return self

    def reset(self) -> None:
        """Every server back to the database it was loaded with, for the next change on the
        same snapshot (a server that cannot be put back is dropped: the next line that needs
        it starts a new one)."""
        for key, server in list(self.servers.items()):
            try:
                probe = server.reset()
            except ToolError:
                self._drop(key)
                continue
            self._synced(key, probe)

    def _synced(self, key: DbKey, probe: _Probe | None) -> None:
        """After a transaction another client made: the daemon on `key`'s server shows it
        before its next line, or is stopped (the next line starts one that reads it all)."""
        tool = _TOOL.get(key)
        if probe is None or tool is None or tool not in self.daemons:
            return
        try:
            ok = self.daemons[tool].sync(probe)
        except (ToolError, TimeoutError):
            ok = False
        if not ok:
            self.daemons.pop(tool).stop()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for d in self.daemons.values():
            d.stop()
        for s in self.servers.values():  # all told first, then waited for: in parallel
            if s.proc.poll() is None:
                s.proc.terminate()
        for s in self.servers.values():
            s.stop()
        self.daemons.clear()
        self.servers.clear()
        self._tmp.cleanup()

    def unsupported(self, inv: Invocation) -> str | None:
        if inv.tool == "openstack":
            return _openstack_unsupported(inv)
        if inv.tool == "ovn-sbctl" and self.tools.path("ovn-sbctl") is None:
            return "ovn-sbctl is not installed, so what this line does is unknown"
        return None

    # -- servers ----------------------------------------------------------------------------

    def _server(self, key: DbKey, db: Database) -> _Server:
        s = self.servers.get(key)
        if s is not None and (s.db is not db or s.proc.poll() is not None):
            # The caller's database is not the one the server holds (never the case when
            # lines run in order), or the server is gone: start over from what the caller
            # has, which is exactly what the line would have run on.
            self._drop(key)
            s = None
        if s is None:
            s = _Server(self.tools, self.work, f"db{len(self.servers)}", db)
            self.servers[key] = s
        return s

    def _drop(self, key: DbKey) -> None:
        tool = _TOOL.get(key)
        if tool and tool in self.daemons:
            self.daemons.pop(tool).stop()
        self.servers.pop(key).stop()

    def _daemon(self, tool: str, server: _Server) -> _CtlDaemon:
        d = self.daemons.get(tool)
        if d is None:
            d = _CtlDaemon(self.tools, tool, server, self.work)
            self.daemons[tool] = d
        return d

    # -- one line -----------------------------------------------------------------------------

    def execute(self, inv: Invocation, db: Database, key: DbKey, seed: str,
                ml2: Ml2Config) -> Outcome:
        if db.schema.doc is None:
            return Outcome(unsupported=_("the {name} schema was not read from a file, so no "
                                         "copy of it can be given to the real tools").format(
                                             name=db.name))
        try:
            server = self._server(key, db)
        except ToolError as e:  # e.g. a schema in the bundle the real server refuses
            return Outcome(unsupported=_("{error}; what this line does is unknown").format(
                error=e))
        if inv.tool == "openstack":
            return self._neutron(inv, server, key, seed, ml2)
        if not inv.commands and inv.syntax_error is None:
            return Outcome(after=db, changes=())  # --help / --version: prints, no transaction
        words = strip_global_options(inv.argv, EXECUTOR_DROPS)
        waits = any(c.verb == "wait-until" for c in inv.commands)
        return self._run_words(inv.tool, server, key, words, waits)

    def execute_group(self, invs: Sequence[Invocation], db: Database, key: DbKey
                      ) -> Outcome:
        """Lines `batch.groupable` chained with `--`: one transaction for all of them (the
        caller splits the group when it fails: then nothing of it was committed)."""
        if db.schema.doc is None:
            return Outcome(unsupported=_("no schema file"))
        try:
            server = self._server(key, db)
        except ToolError as e:  # each line then says so on its own
            return Outcome(unsupported=str(e))
        return self._run_words(invs[0].tool, server, key, group_words(invs), False)

    def _run_words(self, tool: str, server: _Server, key: DbKey, words: list[str],
                   waits: bool) -> Outcome:
        try:
            if tool == "ovs-vsctl" or waits:
                error = self._process(tool, server, words)
            else:
                error = self._via_daemon(tool, server, words)
        except ServerExited as e:  # while this line ran: the line may be what killed it
            self._drop(key)
            return Outcome(unsupported=_("{error} while {tool} ran this line; what the line "
                                         "does is unknown").format(error=e, tool=tool))
        except TimeoutError:
            if waits:
                return Outcome(unsupported=_(
                    "{tool} wait-until: the condition does not hold, and on a copy of the "
                    "database nothing else will make it hold (the real tool would wait for "
                    "another client); the line is not applied").format(tool=tool))
            self._drop(key)
            return Outcome(unsupported=_(
                "{tool} did not finish within {seconds:.0f} s on a copy of the database; what "
                "it does is unknown").format(tool=tool, seconds=LINE_TIMEOUT))
        if error is not None:
            error = error.strip()
            server.take()  # a failed line commits nothing; keep the offset honest anyway
            return Outcome(error=error, missing=_missing(error))
        after, changes = server.take()
        return Outcome(after=after, changes=changes)

    def _via_daemon(self, tool: str, server: _Server, words: list[str]) -> str | None:
        self.runs += 1
        try:
            error, _out = self._daemon(tool, server).run(words)
            return error
        except ServerExited:
            raise
        except ToolError:
            # Some errors end the daemon (ctl_fatal() exits, before any commit): drop it
            # (the next line starts a new one) and run this line as its own process, which
            # reports the error exactly as an operator would see it.
            self.daemons.pop(tool).stop()
            self.runs -= 1  # counted again by _process
            return self._process(tool, server, words)

    def _process(self, tool: str, server: _Server, words: list[str]) -> str | None:
        self.runs += 1
        argv = [str(self.tools.path(tool)), f"--db={server.remote}", f"--timeout={WAIT_TIMEOUT}"]
        if tool == "ovs-vsctl":
            argv.append("--no-wait")  # no ovs-vswitchd to wait for
        try:
            r = subprocess.run([*argv, *words], capture_output=True, text=True,
                               timeout=LINE_TIMEOUT, check=False, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise TimeoutError from None
        if r.returncode == 0:
            return None
        err = r.stderr.strip()
        if r.returncode in (142, -signal.SIGALRM) or "timeout after" in err:  # --timeout hit
            raise TimeoutError
        # The report writes "TOOL: " + this: drop the tool's own prefix once (later lines,
        # e.g. a warning before the fatal message, keep theirs).
        prefix = f"{tool}: "
        return (err[len(prefix):] if err.startswith(prefix) else err) or (
            f"exit status {r.returncode}")

    def _neutron(self, inv: Invocation, server: _Server, key: DbKey, seed: str,
                 ml2: Ml2Config) -> Outcome:
        """What Neutron writes (modelled in neutron.py), committed on the copy as one
        transaction, so later lines see it exactly as the real tools would."""
        db = server.db
        modelled = model_outcome(db, inv, seed, ml2)
        if modelled.after is None:
            return modelled
        ops = _ops(db, modelled.after)
        if ops:
            r = subprocess.run(
                [str(self.tools.path("ovsdb-client")), "transact", server.remote,
                 orjson.dumps([db.name, *ops]).decode()],
                capture_output=True, text=True, timeout=LINE_TIMEOUT, check=False,
            )
            reply = orjson.loads(r.stdout) if r.returncode == 0 and r.stdout.strip() else None
            bad = [o for o in (reply or [{"error": r.stderr.strip()}]) if o and "error" in o]
            if bad:
                return Outcome(error=_("committing what Neutron writes failed: {error}").format(
                    error=bad[0]))
        new, changes = server.take()
        if changes:  # committed by another client: the daemon must show it before its next line
            first = changes[0]
            self._synced(key, _Probe.of(first, new.schema.tables[first.table]))
        return Outcome(after=new, changes=changes)


def _ops(before: Database, after: Database) -> list[dict[str, Any]]:
    """OVSDB operations that turn `before` into `after` (uuids kept: insert with "uuid")."""
    ops = (_row_op(before.schema.tables[ch.table], ch) for ch in diff(before, after))
    return [op for op in ops if op is not None]
