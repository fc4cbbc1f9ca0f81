"""`ovnguard check` stopped by SIGTERM (a CI timeout, systemd, `kill`) while the real tools
run its change: it exits 143 and leaves no throwaway ovsdb-server or ovn-nbctl daemon
running and no temp directory behind (before, they outlived it)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ovnguard.change.tools import find_tools

SEED = Path(__file__).resolve().parents[2] / "src" / "ovnguard" / "examples" / "seed"
EXE = str(Path(sys.executable).with_name("ovnguard"))

pytestmark = pytest.mark.realdb


def _ours(tmp: Path) -> list[int]:
    """Pids of the processes whose command line names `tmp` (the executor's copies)."""
    out = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            cmd = (d / "cmdline").read_bytes()
        except OSError:
            continue
        if str(tmp).encode() in cmd and b"ovnguard" not in cmd.split(b"\0")[0]:
            out.append(int(d.name))
    return out


def test_sigterm_during_the_real_tools_stops_them(tmp_path: Path) -> None:
    if "ovn-nbctl" not in find_tools().paths:
        pytest.skip("needs the real ovn-nbctl")
    work = tmp_path / "tmp"
    work.mkdir()
    # one transaction per line (never chained: lsp-set-addresses), long enough to be caught
    lines = ["ovn-nbctl ls-add big"] + [
        f"ovn-nbctl lsp-add big p{i} -- lsp-set-addresses p{i} '00:00:00:00:{i // 256:02x}:"
        f"{i % 256:02x} 10.9.{i // 256}.{i % 256}'" for i in range(1, 800)]
    change = tmp_path / "big.sh"
    change.write_text("\n".join(lines) + "\n")
    env = {**os.environ, "TMPDIR": str(work)}
    p = subprocess.Popen([EXE, "check", "-b", str(SEED / "bundle"), "--change", str(change),
                          "-f", "json"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                         env=env)
    try:
        deadline = time.monotonic() + 60
        while not _ours(work) and time.monotonic() < deadline and p.poll() is None:
            time.sleep(0.05)
        assert _ours(work), "the real tools never started"
        p.send_signal(signal.SIGTERM)
        _, err = p.communicate(timeout=120)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        for pid in _ours(work):  # never leave them to the next test, whatever happened
            os.kill(pid, signal.SIGKILL)
    assert p.returncode == 128 + signal.SIGTERM, err
    assert b"ovnguard: terminated" in err
    assert _ours(work) == []
    assert list(work.iterdir()) == []
