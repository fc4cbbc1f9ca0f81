"""Collect many hosts over SSH at once (asyncssh), with nothing of ours on the hosts.

On each host, over one SSH connection, in parallel channels, only what a stock OVN node has:

    ovsdb-client --timeout=N backup unix:/var/run/openvswitch/db.sock Open_vSwitch
    ip -j addr show;  ip -j route show table all;  ip -j -d link show
    find etc/neutron ... -name '*.ini' -o -name '*.conf' | tar -cf - -T -   (from /)
    ovsdb-client backup unix:/var/run/ovn/ovn{nb,sb}_db.sock ...   (hosts marked nb:/sb:)
    [ -e MARKER ]; docker|podman ps; snap list      (the deployment flavor, flavor_shell.py)

ovsdb-client is the host's own, else `microovn.ovsdb-client`, else `docker|podman exec
openvswitch_db ovsdb-client` when kolla's container runs (docs/deployments.md).

Keys, agent, ~/.ssh/config and ~/.ssh/known_hosts are used the way OpenSSH uses them (the
asyncssh defaults); a host key that is not known is a failure of that host, never accepted
silently: an ssh config that turns checking off (`UserKnownHostsFile none`) is refused for
that host too, unless the operator passes `--insecure-host-keys` (SshOptions).

Each host has a deadline (`timeout`); at most `concurrency` hosts are in flight; a host
that fails is reported with why and takes nothing from the others.

The inventory is any form `sources.inventory` reads (every error names its file and line).
ovnguard's own form:

    defaults:                 # optional, for every host
      user: root
      port: 22
      sudo: false             # `sudo -n` before ovsdb-client and tar
    hosts:
      controller:
        address: 10.10.0.21   # what SSH connects to (an IP or a DNS name)
        nb: true              # also back up NB from here (true = default socket, or a remote)
        sb: true
      compute1: 10.10.0.23    # short form
      compute2: {address: 10.10.0.24, port: 2222, ovs: "unix:/run/openvswitch/db.sock"}
      kolla3: {address: 10.10.0.25, ovsdb_client: "docker exec openvswitch_db ovsdb-client"}

Keys: address, port, user, sudo, ovs, nb, sb, neutron_dir (a directory standing for
/etc/neutron), ovsdb_client (how ovsdb-client is run there); all but address/nb/sb may be
given under `defaults:`. In an Ansible inventory the same come from ansible_host,
ansible_port, ansible_user, ansible_become and the ovnguard_* variables of
contrib/ansible/collect.yml (`ANSIBLE_VARS`). A host given by DNS name is resolved by the
SSH connection; the address it reached is what the bundle's inventory.yaml records.
"""

from __future__ import annotations

import asyncio
import functools
import io
import ipaddress
import secrets
import shlex
import tarfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import Any

from ovnguard.errors import InputError
from ovnguard.i18n import _
from ovnguard.record import record
from ovnguard.sources.ansible_inventory import Var
from ovnguard.sources.collected import (
    KOLLA_DIR,
    NEUTRON_ROOTS,
    Collection,
    HostCollection,
    neutron_files,
    safe_host_dir,
)
from ovnguard.sources.flavor_shell import client_select, deployment_cmd
from ovnguard.sources.flavors import BY_ID, DEPLOYMENT_FILE, detect_listing
from ovnguard.sources.inventory import (
    Inventory,
    InventoryHost,
    check_address,
    is_ip,
    load_inventory,
    parse_inventory,
)
from ovnguard.sources.iproute import ADDR_COMMAND, LINK_COMMAND, ROUTE_COMMAND
from ovnguard.sources.live import NB_SOCKETS, OVS_SOCKETS, SB_SOCKETS

KOLLA = BY_ID["kolla-ansible"]  # the flavor whose hosts may have ovsdb-client only in containers
MAX_TAR_BYTES = 16 * 1024 * 1024
MAX_MEMBER_BYTES = 4 * 1024 * 1024


@functools.cache
def _asyncssh() -> Any:
    """asyncssh, without the CryptographyDeprecationWarning lines it causes with newer
    cryptography releases (51 deprecates DSA): they are about asyncssh's code, not anything
    an operator did or can change, and they would reach stderr before every `collect` and
    `check --live` (a script reading stderr takes them for an error). Imported once: every
    host's connection asks for it, and changing the warning filters each time would also
    reset Python's record of the warnings already shown."""
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*DSA is deprecated", module=r"asyncssh\b")
        import asyncssh
    return asyncssh


@record
class Target:
    """One host to collect. `nb`/`sb`: None = not from this host, "" = the default socket,
    else a remote as this host sees it (unix:/path or tcp:...)."""

    name: str
    address: str
    port: int | None = None
    user: str | None = None
    sudo: bool = False
    ovs: str | None = None
    nb: str | None = None
    sb: str | None = None
    neutron_dir: str | None = None
    # how to run ovsdb-client there: kolla-ansible hosts have it only in the container
    # ("docker exec openvswitch_db ovsdb-client"); the socket is shared with the host
    ovsdb_client: str = "ovsdb-client"
    line: int = 0
    # the management address for the bundle's inventory.yaml when the inventory gives one
    # (an IP); else the address SSH reached is recorded (a DNS name is resolved only here)
    mgmt: str | None = None


# ---------------------------------------------------------------------------------------
# Inventory (read by sources.inventory: every form, every error with its file and line)

# Ansible variables -> Target fields, first given wins (ansible_ssh_* are the old names);
# the ovnguard_* ones are those contrib/ansible/collect.yml reads too.
ANSIBLE_VARS: tuple[tuple[str, str], ...] = (
    ("ansible_port", "port"), ("ansible_ssh_port", "port"),
    ("ansible_user", "user"), ("ansible_ssh_user", "user"),
    ("ansible_become", "sudo"),
    ("ovnguard_ovs_remote", "ovs"), ("ovnguard_nb_remote", "nb"), ("ovnguard_sb_remote", "sb"),
    ("ovnguard_neutron_dir", "neutron_dir"), ("ovnguard_ovsdb_client", "ovsdb_client"),
)
SSH_ADDRESS_VARS = ("ansible_host", "ansible_ssh_host")


def _value(key: str, var: Var, where: str) -> Any:
    text = "" if var.value is None else str(var.value).strip()
    if isinstance(var.value, bool):
        text = "true" if var.value else "false"
    if "{{" in text or "{%" in text:
        raise InputError(_(
                "{where}: {key} is a Jinja2 template ({text!r}); ovnguard does not template, "
                "give the value itself").format(
                where=where, key=key, text=text), var.source, var.line)
    if key == "port":
        try:
            port = int(text)
        except ValueError:
            port = -1
        if not 0 < port < 65536:
            raise InputError(_(
                    "{where}: port must be 1-65535, got {text!r}").format(
                    where=where, text=text), var.source,
                             var.line)
        return port
    if key == "sudo":
        low = text.lower()
        if low not in ("true", "false", "yes", "no", "1", "0"):
            raise InputError(_(
                    "{where}: sudo must be true or false, got {text!r}").format(
                    where=where, text=text), var.source,
                             var.line)
        return low in ("true", "yes", "1")
    if key in ("nb", "sb"):
        low = text.lower()
        if low in ("true", "yes", "default"):
            return ""
        if low in ("false", "no", "", "~", "null", "none"):
            return None
    if key in ("ovs", "nb", "sb") and not text.startswith(("unix:", "tcp:", "ssl:")):
        if not text.startswith("/"):
            raise InputError(_(
                    "{where}: {key} must be unix:PATH, tcp:IP:PORT or a socket path, got "
                    "{text!r}").format(
                    where=where, key=key, text=text), var.source, var.line)
        text = f"unix:{text}"
    if not text:
        raise InputError(_("{where}: {key} is empty").format(where=where, key=key), var.source,
            var.line)
    return text


def target_of(h: InventoryHost, ansible: bool, source: str) -> Target:
    """The SSH target for one inventory host (`source`: the inventory, for errors)."""
    where = f"host {h.name!r}"
    try:
        safe_host_dir(h.name)
    except InputError:
        raise InputError(_("{where}: not usable as a directory name").format(where=where),
            source, h.line) from None
    fields: dict[str, Any] = {}
    if ansible:
        for var, key in ANSIBLE_VARS:
            if key not in fields and var in h.vars:
                fields[key] = _value(key, h.vars[var], where)
        ssh = next((h.vars[v] for v in SSH_ADDRESS_VARS if v in h.vars), None)
        address = (check_address(ssh.value, ssh.source, ssh.line, h.name) if ssh is not None
                   else check_address(h.name, source, h.line, h.name))
    else:
        for key, given in h.vars.items():
            if key not in ("address", "ip"):
                fields[key] = _value(key, given, where)
        address = h.address
    # the management address (ovnguard_mgmt_address, else what SSH is given) when it is an
    # IP; a DNS name is resolved by connecting (collect_target records the peer address)
    mgmt = h.address if is_ip(h.address) else None
    return Target(name=h.name, address=address, mgmt=mgmt, line=h.line or 0, **fields)


def targets_of(inv: Inventory) -> list[Target]:
    targets = [target_of(h, inv.ansible, inv.source) for h in inv.hosts]
    if not targets:
        raise InputError(_("no hosts listed"), inv.source)
    return targets


def parse_targets(text: str, source: str) -> list[Target]:
    return targets_of(parse_inventory(text, source))


def read_targets(path: str | Path) -> list[Target]:
    """`--inventory FILE`: every form sources.inventory reads, dynamic ones included."""
    return targets_of(load_inventory(path))


# ---------------------------------------------------------------------------------------
# What runs on each host


def _sudo(cmd: str, sudo: bool) -> str:
    return f"sudo -n sh -c {shlex.quote(cmd)}" if sudo else cmd


def _backup_cmd(remote: str | None, candidates: Sequence[str], database: str,
                timeout: float, client: str = "ovsdb-client",
                container: str | None = None) -> str:
    t = max(1, int(timeout))
    pre = ""
    if client == "ovsdb-client":
        # not set in the inventory: find it (unquoted $c: it is a command and its words)
        pre, client = client_select(container), "$c"
    if remote:
        return f"{pre}exec {client} --timeout={t} backup {shlex.quote(remote)} {database}"
    socks = " ".join(shlex.quote(s) for s in candidates)
    return (f'{pre}for s in {socks}; do if [ -S "$s" ]; then exec {client} --timeout={t} '
            f'backup "unix:$s" {database}; fi; done; '
            f'echo "no {database} socket at {" ".join(candidates)}" >&2; exit 3')


def _neutron_cmd(neutron_dir: str | None) -> str:
    find = (r"find {paths} -type f \( -name '*.ini' -o -name '*.conf' -o -name config.json "
            r"\) -print")
    if neutron_dir:
        d = shlex.quote(neutron_dir)
        return (f"cd {d} && {find.format(paths='.')} | tar -cf - -T -")
    roots = [r.lstrip("/") for r in NEUTRON_ROOTS] + [f"{KOLLA_DIR.lstrip('/')}/neutron*"]
    return ("cd / && set -- && for p in " + " ".join(roots) + '; do [ -d "$p" ] && '
            'set -- "$@" "$p"; done; [ $# -eq 0 ] && exit 0; '
            + find.format(paths='"$@"') + " | tar -cf - -T -")


def commands(t: Target, timeout: float) -> dict[str, str]:
    """Bundle file name -> the shell command that prints it on host `t`."""
    cmds = {
        "conf.db": _sudo(_backup_cmd(t.ovs, OVS_SOCKETS, "Open_vSwitch", timeout,
                                     t.ovsdb_client, KOLLA.ovs_container), t.sudo),
        "addr.json": ADDR_COMMAND,
        "route.json": ROUTE_COMMAND,
        "link.json": LINK_COMMAND,
        "etc": _sudo(_neutron_cmd(t.neutron_dir), t.sudo),
        # docker/podman ps need root on most hosts
        "deployment": _sudo(deployment_cmd(), t.sudo),
    }
    if t.nb is not None:
        cmds["nb.db"] = _sudo(_backup_cmd(t.nb, NB_SOCKETS, "OVN_Northbound", timeout,
                                          t.ovsdb_client, KOLLA.nb_container), t.sudo)
    if t.sb is not None:
        cmds["sb.db"] = _sudo(_backup_cmd(t.sb, SB_SOCKETS, "OVN_Southbound", timeout,
                                          t.ovsdb_client, KOLLA.sb_container), t.sudo)
    return cmds


def untar_tree(data: bytes, prefix: str) -> dict[str, bytes]:
    """Regular files of a tar stream -> {absolute host path: content}; `prefix` is the
    directory the paths in the archive are relative to. Links, devices and any path that
    would leave the prefix are skipped."""
    out: dict[str, bytes] = {}
    if not data:
        return out
    if len(data) > MAX_TAR_BYTES:
        raise InputError(_(
                "Neutron configuration archive is {count} bytes, more than {MAX_TAR_BYTES}").format(
                count=len(data), MAX_TAR_BYTES=MAX_TAR_BYTES), "etc")
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tar:
            for m in tar:
                if not m.isreg() or m.size > MAX_MEMBER_BYTES:
                    continue
                rel = PurePosixPath(m.name)
                if rel.is_absolute() or ".." in rel.parts:
                    continue
                f = tar.extractfile(m)
                if f is None:
                    continue
                clean = "/".join(p for p in rel.parts if p != ".")
                out[f"{prefix.rstrip('/')}/{clean}"] = f.read()
    except tarfile.TarError as e:
        raise InputError(_("not a tar stream ({e})").format(e=e), "etc") from None
    return out


# ---------------------------------------------------------------------------------------
# Running it


@record
class SshOptions:
    """What OpenSSH would take from ~/.ssh: left at None, asyncssh's defaults apply (keys
    ~/.ssh/id_*, the agent at $SSH_AUTH_SOCK, ~/.ssh/config, ~/.ssh/known_hosts)."""

    identities: tuple[Path, ...] = ()
    known_hosts: Path | None = None
    config: Path | None = None
    user: str | None = None
    connect_timeout: float = 10.0
    # Connect to hosts whose key cannot be verified (`--insecure-host-keys`): only when the
    # operator says so, never because an ssh config turned checking off.
    insecure_host_keys: bool = False
    # The files above, read once by `loaded()`: asyncssh re-reads and re-parses a path it is
    # given on every connection, which at 500 hosts x a 500-line known_hosts was most of the
    # collector's own CPU (docs/performance.md).
    loaded_keys: Any = field(default=None, compare=False, repr=False)
    loaded_known_hosts: Any = field(default=None, compare=False, repr=False)

    def loaded(self) -> SshOptions:
        """These options with the identity and known_hosts files read once, for a fan-out.
        A file that cannot be read stays a path: each host then reports the error as before.
        Without --known-hosts, asyncssh keeps choosing the file (ssh config may name one)."""
        asyncssh = _asyncssh()

        keys = known = None
        try:
            if self.identities:
                keys = asyncssh.load_keypairs([str(p) for p in self.identities])
            if self.known_hosts is not None and not self.insecure_host_keys:
                known = asyncssh.read_known_hosts(str(self.known_hosts))
        except (OSError, asyncssh.Error, ValueError):
            return self
        return replace(self, loaded_keys=keys, loaded_known_hosts=known)

    def connect_kwargs(self, t: Target) -> dict[str, Any]:
        kw: dict[str, Any] = {}
        if self.loaded_keys is not None:
            kw["client_keys"] = self.loaded_keys
        elif self.identities:
            kw["client_keys"] = [str(p) for p in self.identities]
        if self.insecure_host_keys:
            kw["known_hosts"] = None
        elif self.loaded_known_hosts is not None:
            kw["known_hosts"] = self.loaded_known_hosts
        elif self.known_hosts is not None:
            kw["known_hosts"] = str(self.known_hosts)
        if self.config is not None:
            kw["config"] = [str(self.config)]
        user = t.user or self.user
        if user:
            kw["username"] = user
        if t.port:
            kw["port"] = t.port
        kw["connect_timeout"] = self.connect_timeout
        return kw

    def client_options(self, t: Target) -> Any:
        """asyncssh's options for `t` with ~/.ssh/config (or --ssh-config) applied, refused
        (HostKeysOff) when they would connect without verifying the host key: asyncssh
        takes `UserKnownHostsFile none` as "check nothing"."""
        asyncssh = _asyncssh()

        opts = asyncssh.SSHClientConnectionOptions(host=t.address, **self.connect_kwargs(t))
        if opts.known_hosts is None and not self.insecure_host_keys:
            raise HostKeysOff(t.address)
        return opts


class HostKeysOff(Exception):
    """The ssh config turns host key checking off for this host."""


@dataclass
class HostResult:
    host: HostCollection
    nb: bytes | None = None
    sb: bytes | None = None
    central_problems: list[str] = field(default_factory=list)


def describe_error(e: BaseException, t: Target, user: str | None) -> str:
    """One line saying why a host could not be collected, and what to do."""
    asyncssh = _asyncssh()

    port = t.port or 22
    if isinstance(e, ConnectionRefusedError):
        return f"connection refused by {t.address}:{port} (sshd not running there?)"
    if isinstance(e, HostKeysOff):
        return (f"host key checking is off for {t.address} in the ssh config "
                "(UserKnownHostsFile none): refused; remove that setting, give "
                "--known-hosts FILE, or pass --insecure-host-keys to accept any key")
    if isinstance(e, asyncssh.HostKeyNotVerifiable):
        return (f"host key of {t.address} not verifiable ({e.reason}); check it, then add "
                f"it to known_hosts (ssh-keyscan -p {port} {t.address})")
    if isinstance(e, asyncssh.PermissionDenied):
        return f"authentication failed as {user or 'the default user'}: {e.reason}"
    if isinstance(e, asyncssh.DisconnectError):
        return f"disconnected by {t.address}: {e.reason}"
    if isinstance(e, TimeoutError):
        return f"no SSH connection to {t.address}:{port} within the connect timeout"
    if isinstance(e, OSError):
        return f"cannot connect to {t.address}:{port}: {e.strerror or e}"
    return f"{type(e).__name__}: {e}"


def _stderr_line(err: bytes, status: int | None) -> str:
    lines = err.decode(errors="replace").strip().splitlines()
    return lines[-1] if lines else f"exit status {status}"


def host_script(cmds: Mapping[str, str], boundary: str) -> str:
    """One POSIX sh script running every command in turn on the host, its output framed:

        <boundary> begin NAME\n<stdout bytes>\n<boundary> end NAME RC\n<stderr text>\n

    One SSH session per host instead of one per command: on a busy host (or 500 simulated
    ones sharing two CPUs) each session costs a fork of sshd and a login shell. stderr is
    captured in a variable while stdout streams through (`2>&1 1>&3`), so a binary stdout
    (tar) is never re-encoded; the boundary is random per run."""
    lines = ["exec 3>&1", "export LC_ALL=C"]
    for name, cmd in cmds.items():
        lines.append(f"printf '%s begin %s\\n' {boundary} {name}")
        # parameter expansion, not tail/sed: no extra process per command
        lines.append(f"err=$(sh -c {shlex.quote(cmd)} 2>&1 1>&3 3>&-; echo \" rc=$?\")")
        lines.append('rc=${err##* rc=}; err=${err% rc=*}')
        lines.append(f"printf '\\n%s end %s %s\\n%s\\n' {boundary} {name} \"$rc\" "
                     "\"$err\"")
    return "\n".join(lines) + "\n"


@dataclass
class Part:
    name: str
    stdout: bytes
    rc: int | None  # None: the part never finished
    stderr: str


def split_parts(stream: bytes, boundary: str) -> list[Part]:
    """Parse what `host_script` printed (possibly cut short by a timeout)."""
    b = boundary.encode()
    parts: list[Part] = []
    pos = 0
    while True:
        head = stream.find(b + b" begin ", pos)
        if head < 0:
            break
        eol = stream.find(b"\n", head)
        if eol < 0:
            break
        name = stream[head + len(b) + 7 : eol].decode(errors="replace")
        tail = stream.find(b"\n" + b + b" end " + name.encode() + b" ", eol)
        if tail < 0:
            parts.append(Part(name, stream[eol + 1 :], None, ""))
            break
        body = stream[eol + 1 : tail]
        eol2 = stream.find(b"\n", tail + 1)
        eol2 = len(stream) if eol2 < 0 else eol2
        rc_text = stream[tail + 1 : eol2].split(b" ")[-1]
        nxt = stream.find(b + b" begin ", eol2)
        err = stream[eol2 + 1 : nxt if nxt >= 0 else len(stream)]
        try:
            rc: int | None = int(rc_text)
        except ValueError:
            rc = -1
        parts.append(Part(name, body, rc, err.decode(errors="replace").strip()))
        pos = eol2
    return parts


def _store(res: HostResult, t: Target, part: Part, cmd: str) -> None:
    h = res.host
    if part.name == "deployment":
        if part.rc != 0:
            h.problems.append(f"deployment flavor not detected: "
                              f"{_stderr_line(part.stderr.encode(), part.rc)}")
            return
        det = detect_listing(part.stdout.decode(errors="replace"))
        h.files[DEPLOYMENT_FILE] = det.to_json()
        h.sources[DEPLOYMENT_FILE] = f"{t.name}:{', '.join(det.evidence)}"
        return
    if part.name == "etc":
        if part.rc != 0:
            h.problems.append(f"Neutron configuration not collected: "
                              f"{_stderr_line(part.stderr.encode(), part.rc)}")
            return
        try:
            tree = untar_tree(part.stdout, "/etc/neutron" if t.neutron_dir else "/")
        except InputError as e:
            h.problems.append(f"Neutron configuration not collected: {e.message}")
            return
        h.neutron, notes = neutron_files(tree)
        h.problems.extend(notes)
        return
    if part.rc != 0 or not part.stdout:
        msg = f"{part.name} not collected: {_stderr_line(part.stderr.encode(), part.rc)}"
        if part.name in ("nb.db", "sb.db"):
            res.central_problems.append(f"{t.name}: {msg}")
        else:
            h.problems.append(msg)
        return
    if part.name == "nb.db":
        res.nb = part.stdout
    elif part.name == "sb.db":
        res.sb = part.stdout
    else:
        h.files[part.name] = part.stdout
        h.sources[part.name] = f"{t.name}:{cmd if len(cmd) < 80 else cmd[:77] + '...'}"


async def collect_target(t: Target, ssh: SshOptions, timeout: float) -> HostResult:
    """Collect one host within `timeout` seconds. Never raises for the host's own faults:
    they end up in `failed` / `problems`; what arrived before a timeout is kept."""
    asyncssh = _asyncssh()

    h = HostCollection(name=t.name, address=t.mgmt)
    res = HostResult(h)
    t0 = time.monotonic()
    connected = False
    cmds = commands(t, timeout)
    boundary = "--ovnguard-" + secrets.token_hex(12)
    stream = bytearray()
    err = bytearray()
    status: int | None = None

    conn: Any = None
    try:
        async with asyncio.timeout(timeout):
            opts = await asyncio.get_running_loop().run_in_executor(
                None, ssh.client_options, t)
            conn = await asyncssh.connect(t.address, options=opts)
            connected = True
            if h.address is None:
                # a DNS name in the inventory: record the address SSH actually reached
                peer = conn.get_extra_info("peername")
                if peer and is_ip(str(peer[0]).split("%")[0]):
                    h.address = str(ipaddress.ip_address(str(peer[0]).split("%")[0]))
            proc = await conn.create_process("sh -c " + shlex.quote(host_script(cmds, boundary)),
                                             encoding=None, stdin=asyncssh.DEVNULL)

            async def drain_err() -> None:
                while chunk := await proc.stderr.read(65536):
                    err.extend(chunk)

            err_task = asyncio.create_task(drain_err())
            try:
                while chunk := await proc.stdout.read(65536):
                    stream.extend(chunk)
                await err_task
            finally:
                err_task.cancel()
            await proc.wait()
            status = proc.exit_status
    except TimeoutError:
        if not connected:
            h.failed = f"timed out after {timeout:g}s while connecting to {t.address}"
    except (OSError, asyncssh.Error, HostKeysOff) as e:
        h.failed = describe_error(e, t, t.user or ssh.user)
    finally:
        if conn is not None:
            # abort, not close: a graceful close would wait for the hung command's channel
            conn.abort()
    parts = {p.name: p for p in split_parts(bytes(stream), boundary)}
    finished = [p for p in parts.values() if p.rc is not None]
    if h.failed is None:
        if not finished and status is None:
            h.failed = (f"timed out after {timeout:g}s: no command finished "
                        f"({', '.join(cmds)})")
        elif not finished:
            h.failed = ("the host ran no command: "
                        + (err.decode(errors="replace").strip().splitlines() or
                           [f"exit status {status}"])[-1])
        else:
            for name, cmd in cmds.items():
                p = parts.get(name)
                if p is None or p.rc is None:
                    why = (f"timed out after {timeout:g}s" if status is None
                           else "the host's shell stopped before it")
                    msg = f"{name} not collected: {why}"
                    if name in ("nb.db", "sb.db"):
                        res.central_problems.append(f"{t.name}: {msg}")
                    elif name == "etc":
                        h.problems.append(f"Neutron configuration not collected: {why}")
                    else:
                        h.problems.append(msg)
                else:
                    _store(res, t, p, cmd)
    h.seconds = time.monotonic() - t0
    return res


ProgressFn = Callable[[HostResult], None]


async def collect_targets_async(
    targets: Sequence[Target], ssh: SshOptions, *, concurrency: int = 64,
    timeout: float = 30.0, progress: ProgressFn | None = None,
) -> list[HostResult]:
    sem = asyncio.Semaphore(max(1, concurrency))
    ssh = ssh.loaded()

    async def one(t: Target) -> HostResult:
        async with sem:
            r = await collect_target(t, ssh, timeout)
        if progress is not None:
            progress(r)
        return r

    return list(await asyncio.gather(*(one(t) for t in targets)))


def collect_targets(
    targets: Sequence[Target], ssh: SshOptions, *, concurrency: int = 64,
    timeout: float = 30.0, progress: ProgressFn | None = None,
) -> Collection:
    """Collect every target (see module doc) into one Collection. NB/SB come from the first
    host (inventory order) marked `nb:`/`sb:` that delivered them."""
    if concurrency < 1:
        raise InputError(_("concurrency must be at least 1"), "--concurrency")
    if timeout <= 0:
        raise InputError(_("timeout must be positive"), "--timeout")
    names = [t.name for t in targets]
    dups = sorted({n for n in names if names.count(n) > 1})
    if dups:
        raise InputError(_("host listed twice: {dups}").format(dups=', '.join(dups)), "inventory")
    results = asyncio.run(collect_targets_async(
        targets, ssh, concurrency=concurrency, timeout=timeout, progress=progress))
    c = Collection(source="ssh")
    for t, r in zip(targets, results, strict=True):
        c.hosts.append(r.host)
        c.problems.extend(r.central_problems)
        if c.nb is None and r.nb is not None:
            c.nb, c.sources["nb.db"] = r.nb, f"{t.name}:{t.nb or 'default NB socket'}"
        if c.sb is None and r.sb is not None:
            c.sb, c.sources["sb.db"] = r.sb, f"{t.name}:{t.sb or 'default SB socket'}"
    return c


def with_user(targets: Sequence[Target], user: str | None) -> list[Target]:
    """`--user` applies where the inventory names none."""
    if not user:
        return list(targets)
    return [t if t.user else replace(t, user=user) for t in targets]
