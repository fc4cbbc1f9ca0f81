"""Addresses as OVS's own parsers read them (lib/util.c ovs_scan, lib/packets.c).

They are laxer than Python's `ipaddress`: an IPv4 octet is any decimal number truncated to
8 bits (`10.2.0.300/24` is accepted as 10.2.0.44), a MAC byte any hex number, and text after a
valid prefix is ignored where the C code only scans a prefix. ovn-nbctl accepts or refuses
exactly what these accept, so the simulation uses them rather than `ipaddress`.
"""

from __future__ import annotations

import ipaddress

_HEX = "0123456789abcdefABCDEF"
_V6CHARS = frozenset("0123456789abcdefABCDEF:.")


def _skip(s: str, i: int) -> int:
    while i < len(s) and s[i] in " \t\n\v\f\r":
        i += 1
    return i


def scan_int(s: str, i: int, base: int, skip: bool = True) -> tuple[int, int] | None:
    """One %d/%u/%x conversion: (value, end) or None."""
    if skip:
        i = _skip(s, i)
    neg = i < len(s) and s[i] == "-"
    if i < len(s) and s[i] in "+-":
        i += 1
    if base == 16 and s[i : i + 2] in ("0x", "0X"):
        i += 2
    digits = _HEX if base == 16 else "0123456789"
    start = i
    value = 0
    while i < len(s) and s[i] in digits:
        value = value * base + int(s[i], 16)
        i += 1
    if i == start:
        return None
    return (-value if neg else value), i


def scan_eth(s: str, i: int = 0) -> tuple[tuple[int, ...], int] | None:
    """ETH_ADDR_SCAN_FMT: six %hhx separated by ':'."""
    out = []
    for k in range(6):
        if k:
            if i >= len(s) or s[i] != ":":
                return None
            i += 1
        r = scan_int(s, i, 16)
        if r is None:
            return None
        out.append(r[0] & 0xFF)
        i = r[1]
    return tuple(out), i


def _scan_ip4(s: str, i: int) -> tuple[int, int] | None:
    """IP_SCAN_FMT: four %hhu separated by '.'."""
    value = 0
    for k in range(4):
        if k:
            if i >= len(s) or s[i] != ".":
                return None
            i += 1
        r = scan_int(s, i, 10)
        if r is None:
            return None
        value = (value << 8) | (r[0] & 0xFF)
        i = r[1]
    return value, i


def _cidr_bits(mask: int, width: int) -> int | None:
    inv = ~mask & ((1 << width) - 1)
    if inv & (inv + 1):
        return None
    return width - inv.bit_length()


def ip_parse_cidr_len(s: str, i: int = 0) -> tuple[int, int, int] | str:
    """(ip, plen, end) or the error text (ip_parse_masked_len + ip_parse_cidr_len)."""
    r = _scan_ip4(s, i)
    if r is None:
        return f"{s[i:]}: invalid IP address"
    ip, j = r
    mask = 0xFFFFFFFF
    if j < len(s) and s[j] == "/":
        m = _scan_ip4(s, j + 1)
        if m is not None:
            mask, j = m
        else:
            p = scan_int(s, j + 1, 10)
            if p is not None:
                if not 0 <= p[0] <= 32:
                    return f"{s[i:]}: IPv4 network prefix bits not between 0 and 32, inclusive"
                mask = (0xFFFFFFFF << (32 - p[0])) & 0xFFFFFFFF
                j = p[1]
    plen = _cidr_bits(mask, 32)
    if plen is None:
        return f"{s[i:]}: CIDR network required"
    return ip, plen, j


def ip_parse_cidr(s: str) -> tuple[int, int] | str:
    r = ip_parse_cidr_len(s)
    if isinstance(r, str):
        return r
    if r[2] != len(s):
        return f"{s}: invalid IP address"
    return r[0], r[1]


def _scan_v6(s: str, i: int) -> tuple[int, int] | None:
    j = i
    while j < len(s) and s[j] in _V6CHARS and j - i < 46:
        j += 1
    if j == i:
        return None
    try:
        return int(ipaddress.IPv6Address(s[i:j])), j
    except ValueError:
        return None


def ipv6_parse_cidr_len(s: str, i: int = 0) -> tuple[int, int, int] | str:
    r = _scan_v6(s, _skip(s, i))
    if r is None:
        return f"{s[i:]}: invalid IPv6 address"
    ip, j = r
    mask = (1 << 128) - 1
    if j < len(s) and s[j] == "/":
        p = scan_int(s, j + 1, 10)
        if p is not None:
            if not 0 <= p[0] <= 128:
                return (f"{s[i:]}: IPv6 network prefix bits not between 0 and 128, "
                        "inclusive")
            mask = ((1 << 128) - 1) ^ ((1 << (128 - p[0])) - 1)
            j = p[1]
        else:
            m = _scan_v6(s, j + 1)
            if m is not None:
                mask, j = m
    plen = _cidr_bits(mask, 128)
    if plen is None:
        return f"{s[i:]}: IPv6 CIDR network required"
    return ip, plen, j


def ipv6_parse_cidr(s: str) -> tuple[int, int] | str:
    r = ipv6_parse_cidr_len(s)
    if isinstance(r, str):
        return r
    if r[2] != len(s):
        return f"{s}: invalid IPv6 address"
    return r[0], r[1]


def network(s: str) -> tuple[int, int, int] | None:
    """A router port network: (family, ip, plen), IPv4 tried first like nbctl_lrp_add()."""
    r4 = ip_parse_cidr(s)
    if not isinstance(r4, str):
        return 4, r4[0], r4[1]
    r6 = ipv6_parse_cidr(s)
    if not isinstance(r6, str):
        return 6, r6[0], r6[1]
    return None


def lsp_addresses(address: str) -> list[tuple[int, int, str]] | None:
    """extract_lsp_addresses(): "MAC [IP...]" -> [(family, ip, text)], None without a MAC."""
    eth = scan_eth(address)
    if eth is None:
        return None
    i = eth[1]
    out: list[tuple[int, int, str]] = []
    while i < len(address):
        r4 = ip_parse_cidr_len(address, i)
        if not isinstance(r4, str):
            out.append((4, r4[0], str(ipaddress.IPv4Address(r4[0]))))
            i = r4[2]
            continue
        r6 = ipv6_parse_cidr_len(address, i)
        if isinstance(r6, str):
            break
        out.append((6, r6[0], str(ipaddress.IPv6Address(r6[0]))))
        i = r6[2]
    return out
