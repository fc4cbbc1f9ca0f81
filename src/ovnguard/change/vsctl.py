"""ovs-vsctl's own verbs (add-br, add-port, del-port, set-fail-mode, ...) on a host's
Open_vSwitch database.

After OVS 3.1.0 `utilities/ovs-vsctl.c`: its view of bridges, ports and interfaces (the
"cache", including VLAN "fake" bridges) is rebuilt from the transaction's current rows before
each command, which is what the real tool's cache holds at that point.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from ovnguard.change.dbctl import set_column
from ovnguard.change.model import Command
from ovnguard.change.txn import CtlError, Txn
from ovnguard.model.db import Row, Uuid


@dataclass(slots=True)
class _Bridge:
    name: str
    row: Row | None  # None for a fake (VLAN) bridge
    parent: _Bridge | None = None
    vlan: int = 0
    ports: list[_Port] = field(default_factory=list)
    children: dict[int, _Bridge] = field(default_factory=dict)

    @property
    def real(self) -> Row:
        b = self.parent.row if self.parent else self.row
        assert b is not None
        return b


@dataclass(slots=True)
class _Port:
    row: Row
    bridge: _Bridge
    ifaces: list[Row] = field(default_factory=list)


@dataclass(slots=True)
class _Cache:
    ovs: Row
    bridges: dict[str, _Bridge] = field(default_factory=dict)
    ports: dict[str, _Port] = field(default_factory=dict)
    ifaces: dict[str, tuple[Row, _Port]] = field(default_factory=dict)


def _fake(port: Row) -> bool:
    tag = port.opt("tag")
    return bool(port.get("fake_bridge")) and isinstance(tag, int) and 0 <= tag <= 4095


def _cache(txn: Txn) -> _Cache:
    """vsctl_context_populate_cache()."""
    ovs = next(iter(txn.rows("Open_vSwitch")))
    c = _Cache(ovs)
    brows = [r for u in ovs.set("bridges") if (r := txn.row_or_deleted("Bridge", u)) is not None]
    seen_ports: set[str] = set()
    for br in brows:
        if br.name in c.bridges:
            continue
        b = _Bridge(br.name, br)
        c.bridges[br.name] = b
        for pu in br.set("ports"):
            p = txn.row_or_deleted("Port", pu)
            if p is None or p.name in seen_ports:
                continue
            seen_ports.add(p.name)
            if _fake(p) and p.name not in c.bridges:
                tag = p.opt("tag")
                assert isinstance(tag, int)
                fb = _Bridge(p.name, None, b, tag)
                c.bridges[p.name] = fb
                b.children.setdefault(tag, fb)
    done: set[str] = set()
    for br in brows:
        if br.name in done:
            continue
        done.add(br.name)
        b = c.bridges[br.name]
        for pu in br.set("ports"):
            p = txn.row_or_deleted("Port", pu)
            if p is None or p.name in c.ports:
                continue
            parent = b
            tag = p.opt("tag")
            if isinstance(tag, int) and tag in b.children:
                parent = b.children[tag]
            port = _Port(p, parent)
            parent.ports.append(port)
            c.ports[p.name] = port
            for iu in p.set("interfaces"):
                i = txn.row_or_deleted("Interface", iu)
                if i is None or i.name in c.ifaces:
                    continue
                port.ifaces.append(i)
                c.ifaces[i.name] = (i, port)
    return c


def _find_bridge(c: _Cache, name: str, must_exist: bool) -> _Bridge | None:
    b = c.bridges.get(name)
    if must_exist and b is None:
        raise CtlError(f"no bridge named {name}", ("Bridge", name))
    return b


def _find_real_bridge(c: _Cache, name: str) -> _Bridge:
    b = _find_bridge(c, name, True)
    assert b is not None
    if b.parent is not None:
        raise CtlError(f"{name} is a fake bridge")
    return b


def _find_port(c: _Cache, name: str, must_exist: bool) -> _Port | None:
    p = c.ports.get(name)
    if p is not None and p.bridge.name == name:
        p = None
    if must_exist and p is None:
        raise CtlError(f"no port named {name}", ("Port", name))
    return p


def _find_iface(c: _Cache, name: str, must_exist: bool) -> tuple[Row, _Port] | None:
    i = c.ifaces.get(name)
    if i is not None and i[1].bridge.name == name:
        i = None
    if must_exist and i is None:
        raise CtlError(f"no interface named {name}", ("Interface", name))
    return i


def _check_conflicts(c: _Cache, name: str, msg: str) -> None:
    if name in c.bridges:
        raise CtlError(f"{msg} because a bridge named {name} already exists")
    if name in c.ports:
        raise CtlError(
            f"{msg} because a port named {name} already exists on bridge "
            f"{c.ports[name].bridge.name}"
        )
    if name in c.ifaces:
        raise CtlError(
            f"{msg} because an interface named {name} already exists on bridge "
            f"{c.ifaces[name][1].bridge.name}"
        )


def _set(txn: Txn, row: Row, column: str, value: object) -> None:
    txn.update(row.table, row.uuid, {column: value})


def _add_ref(txn: Txn, row: Row, column: str, u: Uuid) -> None:
    cur = txn.row(row.table, row.uuid)
    assert cur is not None
    _set(txn, cur, column, (*cur.set(column), u))


def _del_ref(txn: Txn, row: Row, column: str, u: Uuid) -> None:
    cur = txn.row(row.table, row.uuid)
    assert cur is not None
    _set(txn, cur, column, tuple(x for x in cur.set(column) if x != u))


def _command_string(cmd: Command) -> str:
    opts = [k if v is None else f"{k}={v}" for k, v in cmd.options]
    return " ".join([*opts, cmd.verb, *cmd.args])


def add_br(txn: Txn, cmd: Command) -> None:
    a = cmd.args
    name = a[0]
    if not name:
        raise CtlError("bridge name must not be empty string")
    parent_name: str | None = None
    vlan = 0
    if len(a) == 3:
        parent_name = a[1]
        m = re.match(r"\s*([+-]?\d+)", a[2])
        vlan = int(m.group(1)) if m else 0  # atoi()
        if not 0 <= vlan <= 4095:
            raise CtlError(f"{cmd.verb}: vlan must be between 0 and 4095")
    elif len(a) != 1:
        raise CtlError(f"'{cmd.verb}' command takes exactly 1 or 3 arguments")
    c = _cache(txn)
    if cmd.option("--may-exist"):
        b = _find_bridge(c, name, False)
        if b is not None:
            if parent_name is None:
                if b.parent is not None:
                    raise CtlError(
                        f'"--may-exist add-br {name}" but {name} is a VLAN bridge for VLAN '
                        f"{b.vlan}"
                    )
            elif b.parent is None:
                raise CtlError(
                    f'"--may-exist add-br {name} {parent_name} {vlan}" but {name} is not a '
                    "VLAN bridge"
                )
            elif b.parent.name != parent_name:
                raise CtlError(
                    f'"--may-exist add-br {name} {parent_name} {vlan}" but {name} has the '
                    f"wrong parent {b.parent.name}"
                )
            elif b.vlan != vlan:
                raise CtlError(
                    f'"--may-exist add-br {name} {parent_name} {vlan}" but {name} is a VLAN '
                    f"bridge for the wrong VLAN {b.vlan}"
                )
            return
    _check_conflicts(c, name, f"cannot create a bridge named {name}")
    iface = txn.insert("Interface", {"name": name, "type": "internal"})
    if parent_name is None:
        port = txn.insert("Port", {"name": name, "interfaces": (iface,)})
        br = txn.insert("Bridge", {"name": name, "ports": (port,)})
        _add_ref(txn, c.ovs, "bridges", br)
        return
    parent = _find_bridge(c, parent_name, False)
    if parent is not None and parent.parent is not None:
        raise CtlError("cannot create bridge with fake bridge as parent")
    if parent is None:
        raise CtlError(f"parent bridge {parent_name} does not exist")
    if vlan in parent.children:
        raise CtlError(
            f"bridge {parent_name} already has a child VLAN bridge {parent.children[vlan].name} "
            f"on VLAN {vlan}"
        )
    port = txn.insert(
        "Port", {"name": name, "interfaces": (iface,), "fake_bridge": True, "tag": (vlan,)}
    )
    _add_ref(txn, parent.real, "ports", port)


def _del_port(txn: Txn, port: _Port) -> None:
    _del_ref(txn, port.bridge.real, "ports", port.row.uuid)
    for i in port.ifaces:
        txn.delete("Interface", i.uuid)
    txn.delete("Port", port.row.uuid)


def _del_bridge(txn: Txn, c: _Cache, b: _Bridge) -> None:
    for child in list(b.children.values()):
        _del_bridge(txn, c, child)
    for p in list(b.ports):
        _del_port(txn, p)
    if b.row is not None:
        for fs in list(txn.rows("Flow_Sample_Collector_Set")):
            if fs.get("bridge") == b.row.uuid:
                txn.delete("Flow_Sample_Collector_Set", fs.uuid)
        txn.delete("Bridge", b.row.uuid)
        _del_ref(txn, c.ovs, "bridges", b.row.uuid)


def del_br(txn: Txn, cmd: Command) -> None:
    c = _cache(txn)
    b = _find_bridge(c, cmd.args[0], not cmd.option("--if-exists"))
    if b is not None:
        _del_bridge(txn, c, b)


def _add_port(
    txn: Txn,
    cmd: Command,
    br_name: str,
    port_name: str,
    ifaces: list[str],
    settings: list[str],
    fake_iface: bool,
) -> None:
    if not port_name:
        raise CtlError("port name must not be empty string")
    if any(not i for i in ifaces):
        raise CtlError("interface name must not be empty string")
    c = _cache(txn)
    if cmd.option("--may-exist"):
        p = _find_port(c, port_name, False)
        if p is not None:
            want = sorted(ifaces)
            have = sorted(i.name for i in p.ifaces)
            if p.bridge.name != br_name:
                raise CtlError(
                    f'"{_command_string(cmd)}" but {port_name} is actually attached to bridge '
                    f"{p.bridge.name}"
                )
            if want != have:
                raise CtlError(
                    f'"{_command_string(cmd)}" but {port_name} actually has interface(s) '
                    f"{', '.join(have)}"
                )
            return
    _check_conflicts(c, port_name, f"cannot create a port named {port_name}")
    for i in ifaces:
        _check_conflicts(c, i, f"cannot create an interface named {i}")
    b = _find_bridge(c, br_name, True)
    assert b is not None
    iface_ids = tuple(txn.insert("Interface", {"name": i}) for i in ifaces)
    data: dict[str, object] = {"name": port_name, "interfaces": iface_ids,
                               "bond_fake_iface": fake_iface}
    if b.parent is not None:
        data["tag"] = (b.vlan,)
    pu = txn.insert("Port", data)
    row = txn.row("Port", pu)
    assert row is not None
    for s in settings:
        set_column(txn, row, s, False)
        row = txn.row("Port", pu)
        assert row is not None
    _add_ref(txn, b.real, "ports", pu)


def add_port(txn: Txn, cmd: Command) -> None:
    a = cmd.args
    _add_port(txn, cmd, a[0], a[1], [a[1]], list(a[2:]), False)


def add_bond(txn: Txn, cmd: Command) -> None:
    a = cmd.args
    rest = list(a[2:])
    n = next((i for i, x in enumerate(rest) if "=" in x), len(rest))
    if n < 2:
        raise CtlError(f"add-bond requires at least 2 interfaces, but only {n} were specified")
    _add_port(txn, cmd, a[0], a[1], rest[:n], rest[n:], cmd.option("--fake-iface"))


def del_port(txn: Txn, cmd: Command) -> None:
    a = cmd.args
    must_exist = not cmd.option("--if-exists")
    target = a[-1]
    c = _cache(txn)
    port: _Port | None
    if _find_bridge(c, target, False) is not None:
        if must_exist:
            raise CtlError(
                f"cannot delete port {target} because it is the local port for bridge {target} "
                "(deleting this port requires deleting the entire bridge)"
            )
        port = None
    elif not cmd.option("--with-iface"):
        port = _find_port(c, target, must_exist)
    else:
        port = _find_port(c, target, False)
        if port is None:
            i = _find_iface(c, target, False)
            port = i[1] if i else None
        if must_exist and port is None:
            raise CtlError(f"no port or interface named {target}")
    if port is None:
        return
    if len(a) == 2:
        b = _find_bridge(c, a[0], True)
        assert b is not None
        if port.bridge is not b:
            if port.bridge.parent is b:
                raise CtlError(
                    f"bridge {a[0]} does not have a port {a[1]} (although its child bridge "
                    f"{port.bridge.name} does)"
                )
            raise CtlError(f"bridge {a[0]} does not have a port {a[1]}")
    _del_port(txn, port)


def set_fail_mode(txn: Txn, cmd: Command) -> None:
    b = _find_real_bridge(_cache(txn), cmd.args[0])
    mode = cmd.args[1]
    if mode not in ("standalone", "secure"):
        raise CtlError('fail-mode must be "standalone" or "secure"')
    _set(txn, b.real, "fail_mode", (mode,))


def del_fail_mode(txn: Txn, cmd: Command) -> None:
    b = _find_real_bridge(_cache(txn), cmd.args[0])
    _set(txn, b.real, "fail_mode", ())


def br_set_external_id(txn: Txn, cmd: Command) -> None:
    b = _find_bridge(_cache(txn), cmd.args[0], True)
    assert b is not None
    if b.parent is not None:
        raise CtlError("br-set-external-id on a VLAN (fake) bridge is not simulated")
    cur = txn.row("Bridge", b.real.uuid)
    assert cur is not None
    ids = dict(cur.map("external_ids"))
    if len(cmd.args) == 3:
        ids[cmd.args[1]] = cmd.args[2]
    else:
        ids.pop(cmd.args[1], None)
    _set(txn, cur, "external_ids", ids)


def _need_bridge(txn: Txn, cmd: Command) -> None:
    _find_bridge(_cache(txn), cmd.args[0], True)


def _need_port(txn: Txn, cmd: Command) -> None:
    _find_port(_cache(txn), cmd.args[0], True)


def _need_iface(txn: Txn, cmd: Command) -> None:
    _find_iface(_cache(txn), cmd.args[0], True)


def _noop(txn: Txn, cmd: Command) -> None:
    return None


VERBS: dict[str, Callable[[Txn, Command], None]] = {
    "add-br": add_br,
    "del-br": del_br,
    "add-port": add_port,
    "add-bond": add_bond,
    "del-port": del_port,
    "set-fail-mode": set_fail_mode,
    "del-fail-mode": del_fail_mode,
    "br-set-external-id": br_set_external_id,
    # read-only
    "init": _noop,
    "show": _noop,
    "list-br": _noop,
    "list-ports": _need_bridge,
    "list-ifaces": _need_bridge,
    "get-fail-mode": _need_bridge,
    "br-get-external-id": _need_bridge,
    "port-to-br": _need_port,
    "iface-to-br": _need_iface,
}
