"""The fuzz families: generated broken and hostile input for every reader, the change parser
and the report writers, and the one check every case must pass.

A case is bad when: anything but ovnguard's own error escapes (a traceback), the command
line exits with anything but 0/1/2, it runs longer than `CASE_SECONDS`, its output carries
a raw control character (an escape a terminal would act on) or, in HTML, a raw `<script`,
its JSON/SARIF does not parse, or it writes anywhere but the case's temp dir (watched with
an audit hook on every open-for-writing, mkdir, rename, remove and subprocess).

Used twice: tests/fuzz/test_fuzz.py runs a small share in CI; bench/fuzz.py runs the big
run (docs/security.md) and counts per family.
"""

from __future__ import annotations

import contextlib
import io
import json
import lzma
import os
import re
import shutil
import signal
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from ovnguard.cli.demo import example_dir
from ovnguard.errors import OvnguardError

EX = example_dir()
BUNDLE = EX / "bundle"
CASE_SECONDS = 10.0

# What a hostile name looks like: script, attribute break-out, terminal escapes (CSI, OSC,
# 8-bit CSI, bidi override), rich markup, shell metacharacters, format strings, huge numbers.
HOSTILE = (
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(2)>',
    "\x1b[2J\x1b[H",
    "\x1b]0;owned\x07",
    "\x1b]8;;http://evil/\x1b\\link\x1b]8;;\x1b\\",
    "\x9b31m",
    "\u202egnp.exe",
    "\r\noverwritten line",
    "[link=http://evil]x[/link][blink]",
    "$(reboot)`id`;rm -rf /",
    "{0.__class__}%s%n",
    "9" * 5000,
    "\x00\x7f\x85\u2028",
    "../../../../etc/passwd",
    "名前-ñ-🙂",
)
_RAW_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


class Hang(Exception):
    """The case ran past CASE_SECONDS."""


@dataclass
class Outcome:
    family: str
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0


# --- the watch on writes ----------------------------------------------------------------

_WATCH: dict[str, Any] = {"root": None, "writes": []}
_WRITE_EVENTS = {"os.mkdir", "os.rename", "os.replace", "os.remove", "os.rmdir", "os.symlink",
                 "os.link", "os.truncate", "os.chmod", "os.chown", "shutil.rmtree",
                 "shutil.copyfile", "shutil.move"}


def _inside(path: object) -> bool:
    root = _WATCH["root"]
    if isinstance(path, int):
        return True  # an fd already opened (and checked) by path
    try:
        p = os.path.abspath(os.fsdecode(path))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return True
    return p == root or p.startswith(root + os.sep) or p.startswith("/proc/") or \
        (p.startswith("/dev/") and p in ("/dev/null", "/dev/tty"))


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if _WATCH["root"] is None:
        return
    if event == "open":
        path, mode, flags = (*args, None, None, None)[:3]
        writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
            isinstance(flags, int) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT))
        if writing and path is not None and not _inside(path):
            _WATCH["writes"].append(f"open {path!r} {mode or flags}")
    elif event in _WRITE_EVENTS:
        for a in args[:2]:
            if isinstance(a, str | bytes | os.PathLike) and not _inside(a):
                _WATCH["writes"].append(f"{event} {a!r}")
    elif event == "subprocess.Popen":
        # Read-only helpers ovnguard runs: Graphviz's `dot` (reads DOT on stdin, writes SVG
        # to a pipe) and `ovsdb-tool cluster-to-standalone` (writes into a temp dir). Any
        # other program, or a path argument outside the temp dir, is a write we cannot see.
        argv = [os.fsdecode(a) for a in (args[1] or [])]
        ok = bool(argv) and os.path.basename(argv[0]) in READ_ONLY_TOOLS and all(
            _inside(a) for a in argv[1:] if a.startswith("/"))
        if not ok:
            _WATCH["writes"].append(f"subprocess {argv!r}")


# ovsdb-server, ovn-nbctl, ovs-vsctl: the change executor runs them on a copy in a temp dir
READ_ONLY_TOOLS = frozenset({"dot", "ovsdb-tool", "ovsdb-server", "ovsdb-client", "ovn-nbctl",
                             "ovn-sbctl", "ovs-vsctl"})
_HOOKED = False


def _hook() -> None:
    global _HOOKED
    if not _HOOKED:
        sys.addaudithook(_audit)
        _HOOKED = True


@contextlib.contextmanager
def sandbox() -> Iterator[Path]:
    """A temp dir that is the only place a case may write (cwd, TMPDIR, HOME, XDG dirs)."""
    _hook()
    d = Path(tempfile.mkdtemp(prefix="ovnguard-fuzz-")).resolve()
    old_env = {k: os.environ.get(k) for k in ("TMPDIR", "HOME", "XDG_STATE_HOME",
                                              "OVNGUARD_GUARD_DIR", "OVNGUARD_LAB_DIR")}
    old_cwd, old_tmp = os.getcwd(), tempfile.tempdir
    os.environ.update(TMPDIR=str(d), HOME=str(d), XDG_STATE_HOME=str(d / "state"),
                      OVNGUARD_GUARD_DIR=str(d / "guard"), OVNGUARD_LAB_DIR=str(d / "lab"))
    tempfile.tempdir = str(d)
    os.chdir(d)
    try:
        yield d
    finally:
        _WATCH["root"] = None
        os.chdir(old_cwd)
        tempfile.tempdir = old_tmp
        for k, v in old_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        shutil.rmtree(d, ignore_errors=True)


@contextlib.contextmanager
def _deadline(seconds: float) -> Iterator[None]:
    def fire(*_: object) -> None:
        raise Hang(f"ran longer than {seconds:.0f}s")

    old = signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def run_case(family: str, root: Path, body: Callable[[], list[str]]) -> Outcome:
    """Run one case under the watch: writes outside `root`, time, exceptions."""
    out = Outcome(family)
    _WATCH["writes"] = []
    _WATCH["root"] = str(root)
    t0 = time.monotonic()
    try:
        with _deadline(CASE_SECONDS):
            out.problems += body()
    except OvnguardError:
        pass  # the one-line error: what bad input must give
    except Hang as e:
        out.problems.append(f"hang: {e}")
    except BaseException as e:
        out.problems.append(f"traceback: {type(e).__name__}: {str(e)[:200]}")
    finally:
        _WATCH["root"] = None
    out.seconds = time.monotonic() - t0
    out.problems += [f"wrote outside the temp dir: {w}" for w in _WATCH["writes"][:3]]
    return out


# --- the command line, in process -------------------------------------------------------


def run_cli(argv: list[str]) -> tuple[int, str, str]:
    """`ovnguard ARGV` as the console script runs it (cli.main), output captured."""
    from ovnguard.cli import main

    out, err = io.BytesIO(), io.BytesIO()
    so = io.TextIOWrapper(out, encoding="utf-8", errors="surrogateescape", write_through=True)
    se = io.TextIOWrapper(err, encoding="utf-8", errors="surrogateescape", write_through=True)
    old = sys.argv, sys.stdout, sys.stderr
    sys.argv, sys.stdout, sys.stderr = ["ovnguard", *argv], so, se
    code: int = 0
    try:
        main()
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 2)
    finally:
        so.flush()
        se.flush()
        sys.argv, sys.stdout, sys.stderr = old
    return code, out.getvalue().decode("utf-8", "replace"), err.getvalue().decode(
        "utf-8", "replace")


def output_problems(code: int, out: str, err: str, fmt: str) -> list[str]:
    """What is wrong with one run's exit code and output."""
    bad: list[str] = []
    if code not in (0, 1, 2):
        bad.append(f"exit code {code}")
    if "Traceback" in err:
        bad.append("traceback on stderr")
    for name, text in (("stdout", out), ("stderr", err)):
        m = _RAW_CONTROL.search(text)
        if m:
            bad.append(f"raw control character {m.group()!r} in {name}")
    if code == 2 and len(err.strip().splitlines()) != 1:
        bad.append(f"error is not one line: {err[:200]!r}")
    if fmt == "html" and code in (0, 1):
        low = out.lower()
        # the page has no script and no <img of its own: any is from the data
        if "<script" in low or "<img" in low:
            bad.append("raw <script or <img in HTML")
    if fmt in ("json", "sarif") and code in (0, 1):
        try:
            json.loads(out)
        except ValueError as e:
            bad.append(f"{fmt} output does not parse: {e}")
    return bad


# --- inputs -----------------------------------------------------------------------------


def mutate(data: bytes, ops: list[tuple[str, int, bytes]]) -> bytes:
    """Apply generated edits: flip a byte, cut, insert, duplicate a slice."""
    b = bytearray(data)
    for op, pos, payload in ops:
        if not b:
            b += payload
            continue
        i = pos % (len(b) + 1)
        if op == "flip" and i < len(b):
            b[i] ^= (payload[0] if payload else 0xFF) or 1
        elif op == "cut":
            del b[i:]
        elif op == "insert":
            b[i:i] = payload
        elif op == "dup":
            b[i:i] = b[i:i + 4096]
        elif op == "replace" and i < len(b):
            b[i:i + len(payload)] = payload
    return bytes(b)


hostile = st.sampled_from(HOSTILE)
payloads = st.one_of(
    st.binary(max_size=64),
    hostile.map(lambda s: s.encode("utf-8", "surrogatepass")),
    st.sampled_from([b"\n", b"[", b"{", b"\"", b"\\", b"&a ", b"*a", b"!!python/object:os.system",
                     b"OVSDB JSON 99999999 0\n", b"\xff\xfe", b"\x00", b"- " * 100,
                     b"[" * 2000, b"{\"a\":" * 2000, b"1" * 5000,
                     b"\n" + b"9" * 5000 + b": "]),
)
edit_ops = st.lists(st.tuples(st.sampled_from(["flip", "cut", "insert", "dup", "replace"]),
                              st.integers(0, 1 << 30), payloads), min_size=1, max_size=4)
formats = st.sampled_from(["text", "json", "sarif", "html"])


def seed_files() -> dict[str, bytes]:
    """Every file of the seed bundle, by path relative to it."""
    return {p.relative_to(BUNDLE).as_posix(): p.read_bytes()
            for p in sorted(BUNDLE.rglob("*")) if p.is_file()}


def change_texts() -> dict[str, str]:
    return {p.name: p.read_text() for p in sorted(EX.glob("change-*.sh"))}


def write_tree(root: Path, files: dict[str, bytes]) -> None:
    for rel, data in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)


def tar_xz(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        for name, data in files.items():
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            t.addfile(ti, io.BytesIO(data))
    return lzma.compress(buf.getvalue(), preset=0)
