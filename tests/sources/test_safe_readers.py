"""Every reader is bounded and total: the reproducers of hostile and broken input, each an
`InputError` naming the file (a one-line error and exit 2 on the command line), never a
traceback, a hang or a memory blow-up."""

from __future__ import annotations

import io
import lzma
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from ovnguard.cli.demo import example_dir
from ovnguard.errors import InputError
from ovnguard.lab.topology import load_topology, parse_topology
from ovnguard.sources import safeio
from ovnguard.sources.bundle import load_bundle
from ovnguard.sources.inventory import parse_inventory
from ovnguard.sources.neutron_ini import parse_ini
from ovnguard.sources.ovsdb_file import parse_database, read_database
from ovnguard.sources.sosreport import read_sos, sos_collection

EX = example_dir()
OVNGUARD = str(Path(sys.executable).parent / "ovnguard")


def _fails(match: str, f: object, *args: object) -> InputError:
    with pytest.raises(InputError, match=match) as e:
        f(*args)  # type: ignore[operator]
    assert "\n" not in str(e.value)
    return e.value


# --- file types -------------------------------------------------------------------------


def test_fifo_is_refused_by_name_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "change.sh"
    os.mkfifo(fifo)
    p = subprocess.run([OVNGUARD, "check", "-b", str(EX / "bundle"), "--change", str(fifo)],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 2
    assert p.stderr.strip() == (f"ovnguard: error: {fifo}: is a FIFO (named pipe), not a "
                                "regular file: refusing to read it")
    _fails("FIFO", load_topology, fifo)


def test_device_is_refused(tmp_path: Path) -> None:
    p = subprocess.run([OVNGUARD, "check", "-b", str(EX / "bundle"), "--change", "/dev/zero"],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 2
    assert "/dev/zero: is a character device" in p.stderr
    _fails("character device", load_topology, "/dev/zero")
    _fails("character device", read_database, "/dev/zero")


def test_socket_in_a_bundle_is_refused(tmp_path: Path) -> None:
    import socket

    b = tmp_path / "b"
    shutil.copytree(EX / "bundle", b)
    (b / "sb.db").unlink()
    s = socket.socket(socket.AF_UNIX)
    try:
        s.bind(str(b / "sb.db"))
        _fails("sb.db: is a socket", load_bundle, b)
    finally:
        s.close()


def test_eio_on_a_symlink_to_proc_mem_in_a_sos_report(tmp_path: Path) -> None:
    sos = tmp_path / "sosreport-h1-2024-01-01"
    (sos / "sos_commands" / "host").mkdir(parents=True)
    (sos / "sos_commands" / "host" / "hostname").write_text("h1\n")
    (sos / "etc" / "openvswitch").mkdir(parents=True)
    (sos / "etc" / "openvswitch" / "conf.db").symlink_to("/proc/self/mem")
    e = _fails("cannot read", read_sos, sos)
    assert e.path is not None and e.path.endswith("conf.db")


def test_size_bounds_have_a_clear_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    f = tmp_path / "big.sh"
    f.write_text("ovn-nbctl ls-add " + "x" * 70_000 + "\n")
    from ovnguard.change.parse import read_change

    e = _fails("line longer than 65536 characters", read_change, f)
    assert e.line == 1
    f.write_text("a\n" * 10)
    e = _fails("more than 5 lines", safeio.read_text, f, None, 1000, 100, 5)
    _fails("larger than 10 bytes", safeio.read_bytes, f, None, 10)


def test_utf8_errors_name_the_line(tmp_path: Path) -> None:
    f = tmp_path / "c.sh"
    f.write_bytes(b"ovn-nbctl ls-add a\novn-nbctl ls-add \xff\n")
    from ovnguard.change.parse import read_change

    assert _fails("not UTF-8", read_change, f).line == 2


def test_bounded_int() -> None:
    assert safeio.bounded_int(" 42 ", "f", 1, 0, 100) == 42
    _fails("out of range", safeio.bounded_int, "101", "f", 1, 0, 100)
    _fails("not an integer", safeio.bounded_int, "4x", "f", 1)
    _fails("too long", safeio.bounded_int, "1" * 5000, "f", 1)


# --- YAML -------------------------------------------------------------------------------


def test_deep_yaml_is_an_error_not_a_recursion_error() -> None:
    for deep in ("a: " + "[" * 5000, "a:\n" + "".join(" " * i + "- \n" for i in range(3000)),
                 "hosts: " + "{a: " * 3000):
        _fails("nested deeper than", parse_topology, deep, "t.yaml")
        _fails("nested deeper than", parse_inventory, deep, "i.yaml")


def test_huge_integer_in_a_topology_names_the_line() -> None:
    text = "hosts:\n  - name: a\n    mtu: " + "9" * 5000 + "\n"
    assert _fails("integer with 5000 digits", parse_topology, text, "t.yaml").line == 3


def test_alias_bomb_is_refused() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        refs = ", ".join([f"*a{i - 1}"] * 10)
        lines.append(f"a{i}: &a{i} [{refs}]")
    text = "\n".join(lines) + "\n"
    _fails("aliases are expanded", parse_topology, text, "t.yaml")
    _fails("aliases are expanded", parse_inventory, text, "i.yaml")


def test_python_tags_are_not_constructed() -> None:
    _fails("could not determine a constructor", parse_topology,
           "!!python/object/apply:os.system ['true']", "t.yaml")


# --- OVSDB files ------------------------------------------------------------------------


def _db(schema: dict[str, object]) -> bytes:
    import orjson

    body = orjson.dumps(schema)
    return b"OVSDB JSON %d 0\n%s\n" % (len(body), body)


@pytest.mark.parametrize("ctype", [
    {"key": "string", "min": "zero"},
    {"key": "string", "max": "many"},
    {"key": "string", "max": []},
    {"key": {"type": "string", "enum": []}},
    {"key": {"type": "string", "enum": ["set"]}},
    {"key": {"type": "string", "enum": ["set", [["uuid"]]]}},
    {"key": {"type": "integer", "enum": ["uuid"]}},
    {"key": {"type": "string", "minLength": "x"}, "min": 1e400},
])
def test_mangled_schema_is_one_line(ctype: dict[str, object]) -> None:
    raw = _db({"name": "Open_vSwitch", "version": "1", "tables": {
        "Open_vSwitch": {"columns": {"c": {"type": ctype}}}}})
    _fails("OVSDB schema", parse_database, raw, "conf.db")


# --- archives ---------------------------------------------------------------------------


def _tar(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        for name, data in members.items():
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            t.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


def test_decompression_bomb_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The ratio bound without its slack (which lets small archives expand freely): ten
    # members of zeros that xz shrinks a thousandfold.
    monkeypatch.setattr(safeio, "RATIO_SLACK", 0)
    zeros = b"\0" * (4 * 1024 * 1024)
    members = {f"sosreport-h1/etc/neutron/f{i}.conf": zeros for i in range(10)}
    f = tmp_path / "sosreport-h1.tar.xz"
    f.write_bytes(lzma.compress(_tar(members)))
    assert f.stat().st_size < 100_000
    _fails("decompresses to more than 200 times its size", read_sos, f)


def test_flipped_byte_in_tar_xz_is_one_line(tmp_path: Path) -> None:
    data = _tar({"sosreport-h1/sos_commands/host/hostname": b"h1\n" * 20_000})
    x = bytearray(lzma.compress(data))
    x[len(x) // 2] ^= 0xFF
    f = tmp_path / "sosreport-h1.tar.xz"
    f.write_bytes(bytes(x))
    _fails("corrupt or truncated compressed data", read_sos, f)


def test_tar_still_reads(tmp_path: Path) -> None:
    conf = b"[DEFAULT]\ncore_plugin = ml2\n"
    data = _tar({"sosreport-h1/sos_commands/host/hostname": b"h1\n",
                 "sosreport-h1/etc/neutron/neutron.conf": conf})
    f = tmp_path / "sosreport-h1.tar.xz"
    f.write_bytes(lzma.compress(data))
    s = read_sos(f)
    assert s.files["etc/neutron/neutron.conf"] == conf
    assert sos_collection([f]).hosts[0].name == "h1"


# --- permissions, as a user who is not root ---------------------------------------------


@pytest.fixture
def world(tmp_path: Path) -> Iterator[Path]:
    """A directory another user can reach (pytest's tmp_path is 0700 root)."""
    d = Path(tempfile.mkdtemp(prefix="ovnguard-perm-"))
    d.chmod(0o755)
    try:
        yield d
    finally:
        for p in d.rglob("*"):
            if not p.is_symlink():
                p.chmod(0o755)
        shutil.rmtree(d)


def _as_nobody(*args: str) -> subprocess.CompletedProcess[str]:
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv to drop to another user")
    return subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                           OVNGUARD, *args], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "HOME": "/nonexistent"})


@pytest.mark.parametrize("unreadable", [
    "hosts/compute1",
    "hosts/compute1/etc",
    "hosts/compute1/etc/neutron/plugins/ml2/openvswitch_agent.ini",
    "hosts/compute1/conf.db",
])
def test_unreadable_bundle_parts_as_non_root(world: Path, unreadable: str) -> None:
    b = world / "bundle"
    shutil.copytree(EX / "bundle", b)
    for p in [b, *b.rglob("*")]:
        p.chmod(0o755 if p.is_dir() else 0o644)
    (b / unreadable).chmod(0)
    p = _as_nobody("check", "-b", str(b), "--change", str(EX / "change-corrected.sh"))
    assert p.returncode == 2, p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in p.stderr
    assert str(b / unreadable) in lines[0] and "Permission denied" in lines[0]


def test_unreadable_inventory_as_non_root_is_a_note(world: Path) -> None:
    # the inventory is optional: an unreadable one is named in the notes, never fatal
    b = world / "bundle"
    shutil.copytree(EX / "bundle", b)
    for p in [b, *b.rglob("*")]:
        p.chmod(0o755 if p.is_dir() else 0o644)
    (b / "inventory.yaml").chmod(0)
    p = _as_nobody("check", "-b", str(b), "--change", str(EX / "change-corrected.sh"), "-v")
    assert p.returncode in (0, 1), p.stderr
    assert "Traceback" not in p.stderr
    assert "inventory.yaml" in p.stdout and "Permission denied" in p.stdout


def test_unreadable_sos_file_as_non_root(world: Path) -> None:
    sos = world / "sosreport-h1-2024-01-01"
    (sos / "sos_commands" / "host").mkdir(parents=True)
    (sos / "sos_commands" / "host" / "hostname").write_text("h1\n")
    ini = sos / "etc" / "neutron" / "neutron.conf"
    ini.parent.mkdir(parents=True)
    ini.write_text("[DEFAULT]\ncore_plugin = ml2\n")
    for p in [sos, *sos.rglob("*")]:
        p.chmod(0o755 if p.is_dir() else 0o644)
    ini.chmod(0)
    p = _as_nobody("check", "--sosreport", str(sos), "--change", str(EX / "change-corrected.sh"))
    assert p.returncode == 2, p.stderr
    assert "Traceback" not in p.stderr and len(p.stderr.strip().splitlines()) == 1
    assert "neutron.conf" in p.stderr and "Permission denied" in p.stderr


# --- secrets in errors ------------------------------------------------------------------


@pytest.mark.parametrize("line", [
    "rabbit_passwd S3cretPW",
    "  password = S3cretPW",
    "[database password=S3cretPW",
    " = S3cretPW",
])
def test_ini_errors_never_echo_the_line(line: str) -> None:
    text = "[DEFAULT]\ncore_plugin = ml2\n\n" + line + "\n"
    e = _fails("neutron.conf", parse_ini, text, "neutron.conf")
    assert "S3cretPW" not in str(e)
    assert e.line == 4


def test_lone_surrogates_in_yaml_are_refused() -> None:
    # JSON-style escapes of an emoji decode to two lone surrogates, which no writer accepts
    e = _fails("lone surrogate", parse_inventory, 'hosts:\n  "\\ud83d\\ude42": 10.0.0.1\n',
               "i.yaml")
    assert e.line == 2


def test_huge_numbers_in_ip_text_are_not_a_traceback() -> None:
    from ovnguard.sources.iptext import parse_addr_oneline, parse_link_text

    big = "9" * 5000
    assert parse_addr_oneline(f"{big}: lo    inet 127.0.0.1/8 scope host lo", "a")[0][
        "ifname"] == "lo"
    parse_link_text(f"{big}: lo: <LOOPBACK> mtu {big} qdisc noqueue state UNKNOWN\n", "l")
    _fails("bad prefix length", parse_addr_oneline, f"1: lo    inet 127.0.0.1/{big}", "a")
