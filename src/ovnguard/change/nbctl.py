"""ovn-nbctl's own verbs (ls-add, lsp-add, lsp-set-options, lrp-set-gateway-chassis, ...).

Each follows OVN 23.03.1 `utilities/ovn-nbctl.c` line by line: the same lookups (UUID first,
then name), the same checks in the same order and the same error texts, because the first
failing check is what the operator sees and what decides whether the invocation's transaction
happens at all. Verbs that only read are included when they can fail (a missing port).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from ovnguard.change.dbctl import set_column
from ovnguard.change.model import Command
from ovnguard.change.scan import (
    ip_parse_cidr_len,
    ipv6_parse_cidr_len,
    network,
    scan_eth,
)
from ovnguard.change.scan import lsp_addresses as scan_lsp_addresses
from ovnguard.change.txn import CtlError, Txn
from ovnguard.model.db import Row, Uuid

LSP_TYPES = ("", "l2gateway", "localnet", "localport", "router", "vtep", "external", "virtual",
             "remote")  # lib/ovn-util.c OVN_NB_LSP_TYPES
_INT_PREFIX = re.compile(r"\s*([+-]?\d+)")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")


def _by_name_or_uuid(
    txn: Txn, table: str, ident: str, must_exist: bool, what: str, unique: str | None
) -> Row | None:
    """ls_by_name_or_uuid() and friends. `unique`: the "Multiple ... named" error, if any."""
    is_uuid = bool(_UUID.match(ident))
    row = txn.row(table, ident.lower()) if is_uuid else None
    if row is None:
        for r in txn.rows(table):
            if r.get("name") != ident:
                continue
            if row is not None and unique:
                raise CtlError(f"Multiple {unique} named '{ident}'.  Use a UUID.")
            row = r
            if not unique:
                break
    if row is None and must_exist:
        raise CtlError(
            f"{ident}: {what} {'UUID' if is_uuid else 'name'} not found", (table, ident)
        )
    return row


def ls_get(txn: Txn, ident: str, must_exist: bool = True) -> Row | None:
    return _by_name_or_uuid(txn, "Logical_Switch", ident, must_exist, "switch",
                            "logical switches")


def lr_get(txn: Txn, ident: str, must_exist: bool = True) -> Row | None:
    return _by_name_or_uuid(txn, "Logical_Router", ident, must_exist, "router",
                            "logical routers")


def lsp_get(txn: Txn, ident: str, must_exist: bool = True) -> Row | None:
    return _by_name_or_uuid(txn, "Logical_Switch_Port", ident, must_exist, "port", None)


def lrp_get(txn: Txn, ident: str, must_exist: bool = True) -> Row | None:
    return _by_name_or_uuid(txn, "Logical_Router_Port", ident, must_exist, "port", None)


def _owner(txn: Txn, table: str, port: Row) -> Row | None:
    for r in txn.rows(table):
        if port.uuid in r.set("ports"):
            return r
    return None


def lsp_to_ls(txn: Txn, lsp: Row) -> Row:
    ls = _owner(txn, "Logical_Switch", lsp)
    if ls is None:
        raise CtlError(f"logical port {lsp.name} is not part of any logical switch")
    return ls


def lrp_to_lr(txn: Txn, lrp: Row) -> Row:
    lr = _owner(txn, "Logical_Router", lrp)
    if lr is None:
        raise CtlError(f"port {lrp.name} is not part of any logical router")
    return lr


def _name(row: Row) -> str:
    return row.name or str(row.uuid)


def _add_to(txn: Txn, table: str, row: Row, column: str, u: Uuid) -> None:
    txn.add_value(table, row.uuid, column, u)


def _remove_from(txn: Txn, table: str, row: Row, column: str, u: object) -> None:
    txn.del_value(table, row.uuid, column, Uuid(str(u)))


# -- logical switches and their ports -------------------------------------------------------


def _add_named(txn: Txn, cmd: Command, table: str, what: str) -> None:
    """nbctl_ls_add() / nbctl_lr_add()."""
    name = cmd.args[0] if cmd.args else None
    may_exist, dup = cmd.option("--may-exist"), cmd.option("--add-duplicate")
    if may_exist and dup:
        raise CtlError("--may-exist and --add-duplicate may not be used together")
    if name is not None:
        if not dup and any(r.get("name") == name for r in txn.rows(table)):
            if may_exist:
                return
            raise CtlError(f"{name}: a {what} with this name already exists")
    elif may_exist:
        raise CtlError("--may-exist requires specifying a name")
    elif dup:
        raise CtlError("--add-duplicate requires specifying a name")
    txn.insert(table, {"name": name} if name is not None else {})


def ls_add(txn: Txn, cmd: Command) -> None:
    _add_named(txn, cmd, "Logical_Switch", "switch")


def lr_add(txn: Txn, cmd: Command) -> None:
    _add_named(txn, cmd, "Logical_Router", "router")


def ls_del(txn: Txn, cmd: Command) -> None:
    ls = ls_get(txn, cmd.args[0], not cmd.option("--if-exists"))
    if ls is not None:
        txn.delete("Logical_Switch", ls.uuid)


def lr_del(txn: Txn, cmd: Command) -> None:
    lr = lr_get(txn, cmd.args[0], not cmd.option("--if-exists"))
    if lr is not None:
        txn.delete("Logical_Router", lr.uuid)


def lsp_add(txn: Txn, cmd: Command) -> None:
    a = cmd.args
    ls = ls_get(txn, a[0])
    assert ls is not None
    parent: str | None = None
    tag = -1
    if len(a) == 4:
        parent = a[2]
        m = _INT_PREFIX.match(a[3])
        tag = int(m.group(1)) if m else -1
        if not m or not 0 <= tag <= 4095:
            raise CtlError(f"{a[3]}: invalid tag (must be in range 0 to 4095)")
    elif len(a) != 2:
        raise CtlError("lsp-add with parent must also specify a tag")
    name = a[1]
    lsp = lsp_get(txn, name, False)
    if lsp is not None:
        if not cmd.option("--may-exist"):
            raise CtlError(f"{name}: a port with this name already exists")
        lsw = lsp_to_ls(txn, lsp)
        if lsw.uuid != ls.uuid:
            raise CtlError(f"{name}: port already exists but in switch {_name(lsw)}")
        have_parent = lsp.opt("parent_name")
        if parent is not None:
            if have_parent is None:
                raise CtlError(f"{name}: port already exists but has no parent")
            if have_parent != parent:
                raise CtlError(f"{name}: port already exists with different parent {have_parent}")
            have_tag = lsp.opt("tag_request")
            if have_tag is None:
                raise CtlError(f"{name}: port already exists but has no tag_request")
            if have_tag != tag:
                raise CtlError(f"{name}: port already exists with different tag_request {have_tag}")
        elif have_parent is not None:
            raise CtlError(f"{name}: port already exists but has parent {have_parent}")
        return
    data: dict[str, object] = {"name": name}
    if tag >= 0:
        data["parent_name"] = (parent,)
        data["tag_request"] = (tag,)
    u = txn.insert("Logical_Switch_Port", data)
    _add_to(txn, "Logical_Switch", ls, "ports", u)


def lsp_del(txn: Txn, cmd: Command) -> None:
    lsp = lsp_get(txn, cmd.args[0], not cmd.option("--if-exists"))
    if lsp is None:
        return
    ls = lsp_to_ls(txn, lsp)
    _remove_from(txn, "Logical_Switch", ls, "ports", lsp.uuid)
    txn.delete("Logical_Switch_Port", lsp.uuid)


def lsp_set_type(txn: Txn, cmd: Command) -> None:
    lsp = lsp_get(txn, cmd.args[0])
    assert lsp is not None
    kind = cmd.args[1]
    if kind not in LSP_TYPES:
        raise CtlError(f"Logical switch port type '{kind}' is unrecognized. Not setting type.")
    txn.update("Logical_Switch_Port", lsp.uuid, {"type": kind})


def _options(args: tuple[str, ...]) -> dict[str, str]:
    out: dict[str, str] = {}
    for arg in args:
        key, eq, value = arg.partition("=")
        if eq:
            # Duplicate keys: the IDL sorts the map by key, then value, and keeps the first.
            out[key] = min(out[key], value) if key in out else value
    return out


def lsp_set_options(txn: Txn, cmd: Command) -> None:
    lsp = lsp_get(txn, cmd.args[0])
    assert lsp is not None
    txn.update("Logical_Switch_Port", lsp.uuid, {"options": _options(cmd.args[1:])})


def lrp_set_options(txn: Txn, cmd: Command) -> None:
    lrp = lrp_get(txn, cmd.args[0])
    assert lrp is not None
    txn.update("Logical_Router_Port", lrp.uuid, {"options": _options(cmd.args[1:])})


def _state(s: str) -> bool:
    if s.lower() == "enabled":
        return True
    if s.lower() == "disabled":
        return False
    raise CtlError(f'{s}: state must be "enabled" or "disabled"')


def lsp_set_enabled(txn: Txn, cmd: Command) -> None:
    lsp = lsp_get(txn, cmd.args[0])
    assert lsp is not None
    txn.update("Logical_Switch_Port", lsp.uuid, {"enabled": (_state(cmd.args[1]),)})


def lrp_set_enabled(txn: Txn, cmd: Command) -> None:
    lrp = lrp_get(txn, cmd.args[0])
    assert lrp is not None
    txn.update("Logical_Router_Port", lrp.uuid, {"enabled": (_state(cmd.args[1]),)})


def _valid_address(a: str) -> bool:
    if a in ("unknown", "dynamic", "router") or scan_eth(a) is not None:
        return True
    # ovs_scan(a, "dynamic "IPV6_SCAN_FMT) or "dynamic "IP_SCAN_FMT: the space matches any
    # amount of white space, including none.
    if not a.startswith("dynamic"):
        return False
    rest = a[len("dynamic"):].lstrip(" \t\n\v\f\r")
    return bool(rest) and rest[0] in "0123456789abcdefABCDEF:."


def _is_dynamic(address: str) -> bool:
    """is_dynamic_lsp_address()."""
    if address.startswith("dynamic"):
        rest = address[7:]
        if not rest:
            return True
        r4 = ip_parse_cidr_len(rest)
        if not isinstance(r4, str) and r4[2] == len(rest):
            return True
        r6 = ipv6_parse_cidr_len(rest)
        return not isinstance(r6, str) and r6[2] == len(rest)
    eth = scan_eth(address)
    return eth is not None and address[eth[1]:].strip(" ") == "dynamic" and (
        address[eth[1]:].startswith(" ")
    )


def lsp_set_addresses(txn: Txn, cmd: Command) -> None:
    lsp = lsp_get(txn, cmd.args[0])
    assert lsp is not None
    ls = lsp_to_ls(txn, lsp)
    for a in cmd.args[1:]:
        if not _valid_address(a):
            raise CtlError(
                f"{a}: Invalid address format. See ovn-nb(5). Hint: An Ethernet address must be "
                "listed before an IP address, together as a single argument."
            )
        mine = scan_lsp_addresses(a)
        if not mine:
            continue
        for pu in txn.idl_set("Logical_Switch", ls.uuid, "ports"):
            if pu == lsp.uuid:
                continue
            other = txn.row("Logical_Switch_Port", pu)
            if other is None:
                continue
            for addr in other.set("addresses"):
                assert isinstance(addr, str)
                dyn = other.opt("dynamic_addresses")
                if _is_dynamic(addr) and isinstance(dyn, str) and dyn:
                    addr = dyn
                theirs = {(f, ip) for f, ip, _ in scan_lsp_addresses(addr) or []}
                for fam, ip, text in mine:
                    if (fam, ip) in theirs:
                        raise CtlError(
                            f"Error on switch {ls.name}: duplicate IPv{fam} address '{text}' "
                            f"found on logical switch port '{other.name}'"
                        )
    txn.update("Logical_Switch_Port", lsp.uuid, {"addresses": tuple(cmd.args[1:])})


# -- logical routers and their ports --------------------------------------------------------


def _networks(nets: tuple[str, ...] | list[str]) -> set[tuple[int, int, int]] | None:
    """lrp_network_sset(): networks compared by address and prefix length."""
    out = set()
    for n in nets:
        parsed = network(n)
        if parsed is None:
            return None
        out.add(parsed)
    return out


def lrp_add(txn: Txn, cmd: Command) -> None:
    a = cmd.args
    lr = lr_get(txn, a[0])
    assert lr is not None
    name, mac = a[1], a[2]
    rest = a[3:]
    n_net = next((i for i, x in enumerate(rest) if "=" in x), len(rest))
    networks, settings = rest[:n_net], rest[n_net:]
    if not networks:
        raise CtlError(f"{name}: router port requires specifying a network")
    if scan_eth(mac) is None:
        raise CtlError(f"{name}: invalid mac address {mac}")
    lrp = lrp_get(txn, name, False)
    if lrp is not None:
        if not cmd.option("--may-exist"):
            raise CtlError(f"{name}: a port with this name already exists")
        bound = lrp_to_lr(txn, lrp)
        if bound.uuid != lr.uuid:
            raise CtlError(f"{name}: port already exists but in router {_name(bound)}")
        if _mac(lrp.get("mac", "")) != _mac(mac):
            raise CtlError(f"{name}: port already exists with mac {lrp.get('mac')}")
        new = _networks(networks)
        if new is None:
            raise CtlError(f"{name}: Invalid networks configured")
        old = _networks([str(x) for x in lrp.set("networks")])
        if old is None:
            raise CtlError(f"{name}: Existing port has invalid networks configured")
        if old != new:
            raise CtlError(f"{name}: port already exists with different network")
        peer = next((s[5:] for s in settings if s.startswith("peer=")), None)
        if peer != lrp.opt("peer"):
            raise CtlError(f"{name}: port already exists with mismatching peer")
        return
    for n in networks:
        if network(n) is None:
            raise CtlError(f"{name}: invalid network address: {n}")
    u = txn.insert("Logical_Router_Port", {"name": name, "mac": mac, "networks": tuple(networks)})
    row = txn.row("Logical_Router_Port", u)
    assert row is not None
    for s in settings:
        set_column(txn, row, s, False)
        row = txn.row("Logical_Router_Port", u)
        assert row is not None
    _add_to(txn, "Logical_Router", lr, "ports", u)


def _mac(s: object) -> tuple[int, ...] | None:
    eth = scan_eth(s) if isinstance(s, str) else None
    return eth[0] if eth else None


def lrp_del(txn: Txn, cmd: Command) -> None:
    lrp = lrp_get(txn, cmd.args[0], not cmd.option("--if-exists"))
    if lrp is None:
        return
    lr = lrp_to_lr(txn, lrp)
    _remove_from(txn, "Logical_Router", lr, "ports", lrp.uuid)
    txn.delete("Logical_Router_Port", lrp.uuid)


def lrp_set_gateway_chassis(txn: Txn, cmd: Command) -> None:
    a = cmd.args
    lrp = lrp_get(txn, a[0])
    assert lrp is not None
    priority = 0
    if len(a) == 3:
        m = _INT_PREFIX.match(a[2])
        priority = int(m.group(1)) if m else -1
        if not m or not 0 <= priority <= 32767:
            raise CtlError(f"{a[2]}: priority must in range 0...32767")
    gc_name = f"{a[0]}-{a[1]}"
    gc = _by_name_or_uuid(txn, "Gateway_Chassis", gc_name, False, "gateway chassis", None)
    if gc is None:
        u = txn.insert("Gateway_Chassis", {"name": gc_name, "chassis_name": a[1]})
    else:
        u = gc.uuid
    txn.update("Gateway_Chassis", u, {"priority": priority})
    _add_to(txn, "Logical_Router_Port", lrp, "gateway_chassis", u)


def lrp_del_gateway_chassis(txn: Txn, cmd: Command) -> None:
    lrp = lrp_get(txn, cmd.args[0])
    assert lrp is not None
    chassis = cmd.args[1]
    visible = txn.idl_set("Logical_Router_Port", lrp.uuid, "gateway_chassis")
    for u in visible:
        gc = txn.row("Gateway_Chassis", u)
        if gc is None:
            continue
        have = str(gc.get("chassis_name", ""))
        # strncmp(gc->chassis_name, chassis, strlen(gc->chassis_name)): a prefix matches.
        if chassis.startswith(have):
            if len(visible) == 1:  # remove_gc(): a full write of the empty set
                txn.update("Logical_Router_Port", lrp.uuid, {"gateway_chassis": ()})
            else:
                _remove_from(txn, "Logical_Router_Port", lrp, "gateway_chassis", u)
            txn.delete("Gateway_Chassis", str(u))
            return
    raise CtlError(f"chassis {chassis} is not added to logical port {cmd.args[0]}")


# -- read-only verbs that can still fail ----------------------------------------------------


def _read(get: Callable[[Txn, str], Row | None]) -> Callable[[Txn, Command], None]:
    def run(txn: Txn, cmd: Command) -> None:
        get(txn, cmd.args[0])

    return run


def lsp_get_ls(txn: Txn, cmd: Command) -> None:
    lsp = lsp_get(txn, cmd.args[0])
    assert lsp is not None
    lsp_to_ls(txn, lsp)


def show(txn: Txn, cmd: Command) -> None:
    return None


VERBS: dict[str, Callable[[Txn, Command], None]] = {
    "ls-add": ls_add,
    "ls-del": ls_del,
    "lsp-add": lsp_add,
    "lsp-del": lsp_del,
    "lsp-set-type": lsp_set_type,
    "lsp-set-options": lsp_set_options,
    "lsp-set-addresses": lsp_set_addresses,
    "lsp-set-enabled": lsp_set_enabled,
    "lr-add": lr_add,
    "lr-del": lr_del,
    "lrp-add": lrp_add,
    "lrp-del": lrp_del,
    "lrp-set-options": lrp_set_options,
    "lrp-set-enabled": lrp_set_enabled,
    "lrp-set-gateway-chassis": lrp_set_gateway_chassis,
    "lrp-del-gateway-chassis": lrp_del_gateway_chassis,
    # read-only
    "init": show,
    "sync": show,
    "show": show,
    "ls-list": show,
    "lr-list": show,
    "lsp-list": _read(ls_get),
    "lrp-list": _read(lr_get),
    "lsp-get-type": _read(lsp_get),
    "lsp-get-options": _read(lsp_get),
    "lsp-get-addresses": _read(lsp_get),
    "lsp-get-enabled": _read(lsp_get),
    "lsp-get-parent": _read(lsp_get),
    "lsp-get-tag": _read(lsp_get),
    "lsp-get-up": _read(lsp_get),
    "lsp-get-ls": lsp_get_ls,
    "lrp-get-gateway-chassis": _read(lrp_get),
    "lrp-get-enabled": _read(lrp_get),
}
