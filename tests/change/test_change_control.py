"""The unixctl connection the real-tool executor drives its ovn-nbctl daemons with
(change/realtools.py `_Control`), against a scripted peer on a unix socket: how replies
arrive in chunks is the peer's choice, not the request's. (tests/change/test_change_realtools.py
runs it against the real daemons.)"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ovnguard.change.realtools import ToolError, _Control

Script = Callable[[socket.socket, dict[str, object]], None]


@pytest.fixture
def peer(tmp_path: Path) -> Iterator[Callable[[Script], _Control]]:
    """peer(script): a _Control connected to a server that reads one request and runs
    `script(conn, request)`."""
    path = tmp_path / "ctl"
    threads: list[threading.Thread] = []
    servers: list[socket.socket] = []

    def start(script: Script) -> _Control:
        srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        srv.bind(str(path))
        srv.listen(1)
        servers.append(srv)

        def serve() -> None:
            conn, _ = srv.accept()
            with conn:
                buf = b""
                while True:
                    buf += conn.recv(4096)
                    try:
                        request = json.loads(buf)
                        break
                    except ValueError:
                        continue
                script(conn, request)
                time.sleep(0.2)  # keep the connection open while the client reads

        t = threading.Thread(target=serve, daemon=True)
        t.start()
        threads.append(t)
        return _Control(path)

    yield start
    for t in threads:
        t.join(5)
    for s in servers:
        s.close()


def _reply(request: dict[str, object], result: str | None = None,
           error: str | None = None) -> bytes:
    # raw UTF-8, as OVS writes non-ASCII text
    return json.dumps({"id": request["id"], "result": result, "error": error},
                      ensure_ascii=False).encode()


def test_request_is_json_rpc(peer: Callable[[Script], _Control]) -> None:
    seen: list[dict[str, object]] = []

    def script(conn: socket.socket, req: dict[str, object]) -> None:
        seen.append(req)
        conn.sendall(_reply(req, "ok\n"))

    c = peer(script)
    assert c.call("run", ["list", "Logical_Switch"], 5) == {
        "id": 1, "result": "ok\n", "error": None}
    assert seen == [{"method": "run", "params": ["list", "Logical_Switch"], "id": 1}]
    c.close()


def test_reply_split_anywhere_even_inside_a_character(
        peer: Callable[[Script], _Control]) -> None:
    text = "héllo } { \"quoted\" " + "x" * 70000  # longer than one recv, braces in a string

    def script(conn: socket.socket, req: dict[str, object]) -> None:
        data = _reply(req, text)
        cut = data.index("é".encode()) + 1  # in the middle of the two bytes of é
        for part in (data[:cut], data[cut:cut + 5], data[cut + 5:]):
            conn.sendall(part)
            time.sleep(0.01)

    c = peer(script)
    assert c.call("run", [], 5)["result"] == text
    c.close()


def test_late_reply_to_an_earlier_request_is_skipped(
        peer: Callable[[Script], _Control]) -> None:
    def script(conn: socket.socket, req: dict[str, object]) -> None:
        # two messages in one write: the reply to an older id first
        conn.sendall(_reply({"id": 0}, "stale") + b"\n" + _reply(req, error="bad line"))

    c = peer(script)
    assert c.call("run", ["nope"], 5) == {"id": 1, "result": None, "error": "bad line"}
    c.close()


def test_no_reply_times_out(peer: Callable[[Script], _Control]) -> None:
    c = peer(lambda conn, req: None)
    t0 = time.monotonic()
    with pytest.raises(TimeoutError):
        c.call("run", [], 0.1)
    assert time.monotonic() - t0 < 2
    c.close()


def test_closed_connection_is_a_tool_error(peer: Callable[[Script], _Control]) -> None:
    c = peer(lambda conn, req: conn.shutdown(socket.SHUT_RDWR))
    with pytest.raises(ToolError, match="closed"):
        c.call("run", [], 5)
    c.close()


def test_no_daemon_listening(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        _Control(tmp_path / "absent.ctl")
