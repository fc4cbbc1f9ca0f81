"""Network namespaces, veths, Linux bridges and tc for the lab's data-plane mode.

Thin wrappers over iproute2 (`ip`, `tc`, `bridge`) and `sysctl`, each run through
`process.run`, so a failure is a LabError carrying the command and its stderr. Every
function takes the namespace explicitly: nothing here ever touches the root namespace's
links, addresses or routes.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from ipaddress import IPv4Address, IPv4Interface
from pathlib import Path
from typing import Any

from ovnguard.errors import LabError
from ovnguard.lab.process import is_alive, run, wait_until

# Where `ip netns add` mounts namespaces (/var/run is a symlink to /run on Debian).
NETNS_DIR = Path("/run/netns")
# Every namespace the lab creates starts with this; `<PREFIX><lab id>-<role>`.
PREFIX = "ovng-"

# Legacy ethtool ioctl, run inside the namespace by a child interpreter (no ethtool binary
# on the machine, and Python 3.11 has no os.setns). ETHTOOL_STXCSUM=0x17 turns all
# tx-checksum offloads off; the kernel then also drops SG/TSO, which depend on it.
_TXCSUM_OFF = r"""
import array, fcntl, socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for name in sys.argv[1:]:
    buf = array.array("B", struct.pack("II", 0x17, 0))
    fcntl.ioctl(s, 0x8946, struct.pack("16sP", name.encode(), buf.buffer_info()[0]))
"""


def namespace_name(lab_id: str, role: str) -> str:
    return f"{PREFIX}{lab_id}-{role}"


def lab_id_of(namespace: str) -> str | None:
    """The lab id in `ovng-<id>-<role>`, or None for a namespace that is not the lab's."""
    if not namespace.startswith(PREFIX):
        return None
    rest = namespace[len(PREFIX) :]
    lab_id, sep, role = rest.partition("-")
    return lab_id if sep and lab_id and role else None


def list_namespaces(prefix: str = PREFIX) -> list[str]:
    try:
        names = os.listdir(NETNS_DIR)
    except FileNotFoundError:
        return []
    return sorted(n for n in names if n.startswith(prefix))


def exists(name: str) -> bool:
    return (NETNS_DIR / name).exists()


def why_unavailable() -> str | None:
    """A sentence saying why the data-plane mode cannot run here, or None."""
    if os.geteuid() != 0:
        return "the data-plane mode needs root (network namespaces, veth, tc)"
    path = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])
    for binary in ("ip", "tc", "bridge", "sysctl", "ping", "bash", "timeout"):
        if shutil.which(binary, path=path) is None:
            return f"{binary} not found (Debian packages iproute2, procps, iputils-ping)"
    return None


# --- namespaces ------------------------------------------------------------------------


def add(name: str) -> None:
    """Create a namespace with `lo` up and IPv6 off: IPv6 router/neighbour solicitations and
    MLD reports would be broadcast-like noise that feeds a loop unpredictably."""
    run(["ip", "netns", "add", name])
    ip(name, "link", "set", "lo", "up")
    sysctl(
        name,
        {"net/ipv6/conf/all/disable_ipv6": "1", "net/ipv6/conf/default/disable_ipv6": "1"},
    )


def pids(name: str) -> list[int]:
    """Processes whose network namespace is `name` (`ip netns pids`)."""
    if not exists(name):
        return []
    try:
        out = run(["ip", "netns", "pids", name], timeout=10)
    except LabError:
        return []
    return sorted(int(p) for p in out.split() if p.isdigit())


def delete(name: str, *, timeout: float = 5.0) -> None:
    """Stop every process left in the namespace (each was started inside it by the lab: a
    daemon, a listener or a probe), then delete it. A namespace lives on, unnamed, while a
    process is still in it, so the order matters."""
    kill_all_in(name, timeout=timeout)
    if exists(name):
        run(["ip", "netns", "delete", name], timeout=10)


def kill_all_in(name: str, *, timeout: float = 5.0) -> list[int]:
    """TERM then KILL the processes in a namespace of ours; returns pids that still live."""
    me = os.getpid()
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 3.0)):
        alive = [p for p in pids(name) if p != me and is_alive(p)]
        if not alive:
            return []
        for p in alive:
            with contextlib.suppress(ProcessLookupError):
                os.kill(p, sig)
        wait_until(_all_dead(alive), wait, 0.05)
    return [p for p in pids(name) if is_alive(p)]


def _all_dead(pid_list: list[int]) -> Callable[[], bool]:
    return lambda: not any(is_alive(p) for p in pid_list)


def exec_prefix(name: str) -> list[str]:
    return ["ip", "netns", "exec", name]


def exec_in(name: str, argv: Sequence[str], *, timeout: float = 30.0) -> str:
    return run([*exec_prefix(name), *argv], timeout=timeout)


# --- links, addresses, routes ----------------------------------------------------------


def ip(name: str, *args: str, timeout: float = 15.0) -> str:
    return run(["ip", "-n", name, *args], timeout=timeout)


def ip_json(name: str, *args: str) -> Any:
    out = ip(name, "-j", *args)
    return json.loads(out) if out.strip() else []


def add_bridge(name: str, bridge: str, *, alias: str | None = None) -> None:
    """A Linux bridge without STP (ports forward at once) and without multicast snooping
    (a real unmanaged switch floods multicast)."""
    ip(name, "link", "add", bridge, "type", "bridge", "stp_state", "0", "mcast_snooping", "0")
    if alias:
        set_alias(name, bridge, alias)
    ip(name, "link", "set", bridge, "up")


def add_veth(ns_a: str, if_a: str, ns_b: str, if_b: str) -> None:
    """Create both ends directly in their namespaces: nothing appears in the root namespace,
    so two labs can use the same interface names."""
    ip(ns_a, "link", "add", if_a, "type", "veth", "peer", "name", if_b, "netns", ns_b)


def set_master(name: str, ifname: str, bridge: str) -> None:
    ip(name, "link", "set", ifname, "master", bridge)


def set_up(name: str, ifname: str) -> None:
    ip(name, "link", "set", ifname, "up")


def set_alias(name: str, ifname: str, alias: str) -> None:
    ip(name, "link", "set", ifname, "alias", alias[:250])


def add_address(name: str, ifname: str, address: IPv4Interface) -> None:
    ip(name, "addr", "add", str(address), "dev", ifname)


def add_default_route(name: str, via: IPv4Address) -> None:
    ip(name, "route", "replace", "default", "via", str(via))


def link_names(name: str) -> list[str]:
    return [str(link["ifname"]) for link in ip_json(name, "link", "show")]


def link_stats(name: str, ifname: str) -> dict[str, int]:
    """rx/tx packet and byte counters of one link (`ip -s -j link show`)."""
    data = ip_json(name, "-s", "link", "show", "dev", ifname)
    stats = data[0].get("stats64", {}) if data else {}
    return {
        "rx_packets": int(stats.get("rx", {}).get("packets", 0)),
        "rx_bytes": int(stats.get("rx", {}).get("bytes", 0)),
        "tx_packets": int(stats.get("tx", {}).get("packets", 0)),
        "tx_bytes": int(stats.get("tx", {}).get("bytes", 0)),
    }


def neigh_flush(name: str) -> None:
    ip(name, "neigh", "flush", "all")


def bridge_fdb(name: str, bridge: str) -> list[dict[str, Any]]:
    """Learned (non-permanent) entries of a Linux bridge: [{"mac", "ifname", ...}]."""
    out = run(["bridge", "-n", name, "-j", "fdb", "show", "br", bridge])
    entries = json.loads(out) if out.strip() else []
    return [e for e in entries if "permanent" not in e.get("state", "") and "mac" in e]


# --- kernel knobs ----------------------------------------------------------------------


def sysctl(name: str, settings: Mapping[str, str]) -> None:
    """Set sysctls inside a namespace (net.* is per namespace). Keys use `/` separators so
    interface names containing dots (eth0.100) need no escaping."""
    if not settings:
        return
    exec_in(name, ["sysctl", "-q", "-w", *(f"{k}={v}" for k, v in settings.items())])


def tx_checksum_off(name: str, ifnames: Iterable[str]) -> None:
    """Make the kernel finish checksums in software on these interfaces.

    A veth hands the packet on with only a partial TCP/UDP checksum (CHECKSUM_PARTIAL).
    OVS's userspace datapath reads it with AF_PACKET, does not complete it, and writes it
    to the br-ex tap as is, where the host's TCP stack drops it: ping works, TCP doesn't
    (measured: ovn-controller's SB connection timed out until this was off on the central
    namespace's interface).
    """
    names = list(ifnames)
    if names:
        exec_in(name, [sys.executable, "-c", _TXCSUM_OFF, *names])


def shape(name: str, ifname: str, *, rate: str, burst: str, latency: str) -> None:
    """Token-bucket limit on what leaves `ifname`: a storm cannot go faster than `rate`."""
    run(
        [
            "tc",
            "-n",
            name,
            "qdisc",
            "replace",
            "dev",
            ifname,
            "root",
            "tbf",
            "rate",
            rate,
            "burst",
            burst,
            "latency",
            latency,
        ]
    )


def qdisc_drops(name: str, ifname: str) -> int:
    """Packets the root qdisc of `ifname` dropped (the token bucket at work)."""
    out = run(["tc", "-n", name, "-s", "-j", "qdisc", "show", "dev", ifname])
    data = json.loads(out) if out.strip() else []
    return sum(int(q.get("drops", 0)) for q in data if q.get("root"))
