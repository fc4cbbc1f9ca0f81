"""The shell that collection over SSH runs for the deployment flavors (sources/flavors.py):
which ovsdb-client reaches the databases, and what tells the flavor apart. POSIX sh, stock
commands only, as the rest of the host script (sources/remote.py)."""

from __future__ import annotations

import shlex

from ovnguard.sources.flavors import FLAVORS


def client_select(container: str | None) -> str:
    """sh that sets $c to how ovsdb-client runs on this host: its own, else MicroOVN's
    snap command, else `docker|podman exec CONTAINER ovsdb-client` when the deployment's
    container runs (kolla-ansible keeps ovsdb-client only in its containers; the sockets
    are bind-mounted at the same paths, so the same remote works inside)."""
    sel = ("c=; if command -v ovsdb-client >/dev/null 2>&1; then c=ovsdb-client; "
           "elif command -v microovn.ovsdb-client >/dev/null 2>&1; then "
           "c=microovn.ovsdb-client; ")
    if container:
        q = shlex.quote(container)
        sel += ("else for rt in docker podman; do if command -v $rt >/dev/null 2>&1 && "
                f"$rt inspect --format '{{{{.State.Running}}}}' {q} 2>/dev/null | "
                f'grep -q true; then c="$rt exec {container} ovsdb-client"; break; fi; '
                "done; ")
    sel += "fi; "
    where = f", nor a running {container} container" if container else ""
    return sel + (f'[ -n "$c" ] || {{ echo "no ovsdb-client here (nor '
                  f'microovn.ovsdb-client{where})" >&2; exit 3; }}; ')


def deployment_cmd() -> str:
    """sh printing what tells the host's deployment flavor apart (sources/flavors.py):
    `path P` per marker that exists, `container RUNTIME NAME` per running container,
    `snap NAME` per installed snap. Always exits 0: an unknown flavor is not a failure."""
    markers = sorted({m for f in FLAVORS for m in f.markers})
    # glob markers are left unquoted so the shell expands them; [ -e ] drops no-matches
    words = " ".join(m if any(ch in m for ch in "*?[") else shlex.quote(m) for m in markers)
    return (f'for p in {words}; do [ -e "$p" ] && echo "path $p"; done; '
            "for rt in docker podman; do command -v $rt >/dev/null 2>&1 && "
            "$rt ps --format '{{.Names}}' 2>/dev/null | sed \"s/^/container $rt /\"; done; "
            "command -v snap >/dev/null 2>&1 && snap list 2>/dev/null | "
            "awk 'NR>1 {print \"snap \" $1}'; exit 0")
