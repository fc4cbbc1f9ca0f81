"""How a sentinel asks "can this host still reach its SB?", and its arguments (pure, but
`run_check`, which runs one check)."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterable

from ovnguard.errors import InputError
from ovnguard.guard.probes import (
    Probe,
    ProbeContext,
    ProbeResult,
    parse_probe,
    port_number,
    run_probe,
)
from ovnguard.i18n import _
from ovnguard.model.ovs import remote_targets
from ovnguard.record import record

SB_DEFAULT_PORT = 6642
UNIX_TIMEOUT = 1.0
MAX_SECONDS = 7 * 24 * 3600.0  # a sentinel is for one change window, not for ever


@record
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
            raise InputError(_(
                "probe {spec}: no path after unix:").format(
                spec=repr(spec)))
        return Check(spec, path=path)
    if spec.strip().lower() == "none":
        raise InputError(_(
            "a sentinel needs a probe: `none` is not allowed"))
    return Check(spec, probe=parse_probe(spec))


def sb_checks(remote: str) -> list[Check]:
    """The default checks for an SB remote as ovn-controller's `ovn-remote` spells it
    (`tcp:A:P`, `ssl:A:P`, `unix:PATH`, comma-separated): a connect to each."""
    out: list[Check] = []
    for t in remote_targets(remote):
        if t.proto == "unix":
            out.append(parse_check(t.text))
            continue
        if t.host is None:
            raise InputError(_(
                "--sb {remote}: cannot probe {text} (expected tcp:ADDR:PORT, ssl:ADDR:PORT or "
                "unix:PATH; give --probe instead)").format(
                remote=repr(remote), text=repr(t.text)))
        host = t.host
        port = (port_number(t.port, _("--sb {remote}: bad port {text}"), remote=repr(remote))
                if t.port is not None else SB_DEFAULT_PORT)
        shown = f"[{host}]" if t.bracketed or ":" in host else host
        if not host:
            raise InputError(_(
                "--sb {remote}: no address in {text}").format(
                remote=repr(remote), text=repr(t.text)))
        out.append(parse_check(f"tcp:{shown}:{port}"))
    if not out:
        raise InputError(_(
            "--sb {remote}: no remote").format(
            remote=repr(remote)))
    return out


def parse_watch(values: Iterable[str]) -> list[str]:
    """`--watch A,B --watch C` -> [A, B, C] (order kept, duplicates dropped)."""
    out: list[str] = []
    for v in values:
        for name in (n.strip() for n in v.split(",")):
            if not name:
                continue
            if any(c.isspace() for c in name):
                raise InputError(_(
                    "--watch: bad port name {name}").format(
                    name=repr(name)))
            if name not in out:
                out.append(name)
    if not out:
        raise InputError(_(
            "--watch: no port to watch"))
    return out


def deadline_from(until: float | None, seconds: float | None, now: float) -> float:
    """Exactly one of --until EPOCH / --for SECONDS, in the future and within a week."""
    if (until is None) == (seconds is None):
        raise InputError(_(
            "give exactly one of --until EPOCH and --for SECONDS"))
    if seconds is not None:
        if not 0 < seconds <= MAX_SECONDS:
            raise InputError(_(
                "--for must be positive and at most {MAX_SECONDS:g}s").format(
                MAX_SECONDS=MAX_SECONDS))
        return now + seconds
    assert until is not None
    if until <= now:
        raise InputError(_(
            "--until {until:g} is in the past (now {now:.0f})").format(
            until=until, now=now))
    if until - now > MAX_SECONDS:
        raise InputError(_(
            "--until {until:g} is more than {MAX_SECONDS:g}s away").format(
            until=until, MAX_SECONDS=MAX_SECONDS))
    return until


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
