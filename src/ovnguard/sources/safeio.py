"""Bounded, total reading of files that come from production machines or from users.

Every reader of ovnguard goes through here, so that one place decides what a hostile or broken
file can do to the process:
- only regular files are read: a FIFO would block forever, `/dev/zero` never ends, a socket
  cannot be opened; each is refused by name before a byte is read (the file is opened
  non-blocking, then checked with fstat, so a swap between check and read changes nothing);
- sizes are bounded (whole file, line length, number of lines): a message says which bound
  and how to get past it, instead of the process growing until the kernel kills it;
- every OS error and decode error becomes `InputError` naming the file (and line), which the
  command line prints as one line with exit code 2;
- YAML goes through a safe loader with a nesting depth, an alias count, a bound on the size
  of the document once aliases are expanded (billion laughs) and integers of bounded length;
- archives are decompressed through a counting stream: the total and the ratio to the
  compressed size are bounded (a decompression bomb is refused, not unpacked);
- integers parsed from text have bounds.

Limits are module constants; callers pass a tighter or looser one where the file's nature
needs it (an OVSDB file of a large cloud is hundreds of MiB; a change file is not).
"""

from __future__ import annotations

import bz2
import lzma
import os
import re
import stat
import zlib
from pathlib import Path
from typing import IO, Any

import yaml

from ovnguard.errors import InputError
from ovnguard.i18n import _

MiB = 1024 * 1024
GiB = 1024 * MiB

# Whole-file bounds by kind. A database file of a few thousand chassis is a few hundred MiB.
MAX_DB_BYTES = 2 * GiB
MAX_JSON_BYTES = 256 * MiB  # `ip -j` output of a host with many interfaces / routes
MAX_TEXT_BYTES = 64 * MiB  # change files, .ini, YAML, sos command outputs
MAX_LINE = 1 * MiB  # one line of a line-oriented text file
MAX_LINES = 2_000_000
MAX_STATE_BYTES = 16 * MiB  # guard state files (JSON ovnguard itself wrote)

# YAML bounds: nothing a topology or inventory needs comes near them.
YAML_MAX_DEPTH = 64
YAML_MAX_ALIASES = 10_000
YAML_MAX_NODES = 1_000_000  # after alias expansion
YAML_MAX_INT_DIGITS = 100

# Decompression bounds (sos reports): a real sos .tar.xz expands 5-20x.
MAX_DECOMPRESSED = 16 * GiB
MAX_RATIO = 200
RATIO_SLACK = 256 * MiB  # small archives may legitimately expand more than MAX_RATIO


def _size(n: int) -> str:
    return f"{n // GiB} GiB" if n >= GiB and n % GiB == 0 else f"{n // MiB} MiB" \
        if n >= MiB else f"{n} bytes"


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def os_error(e: OSError, source: str, doing: str = "cannot read") -> InputError:
    """The one-line form of an OS error on `source` (never the traceback)."""
    why = e.strerror or type(e).__name__
    if isinstance(e, PermissionError):
        why += " (run as a user who can read it, or fix its permissions)"
    return InputError(f"{doing}: {why}", source)


def open_regular(path: str | Path, source: str | None = None) -> IO[bytes]:
    """`path` opened for reading, after checking it is a regular file (symlinks followed)."""
    src = source or str(path)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise InputError(_("no such file"), src) from None
    except OSError as e:
        raise os_error(e, src) from None
    if not stat.S_ISREG(st.st_mode):
        raise InputError(_(
                "is {st_mode}, not a regular file: refusing to read it").format(
                st_mode=_kind(st.st_mode)),
                         src)
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0) | getattr(
        os, "O_NOCTTY", 0)
    try:
        fd = os.open(path, flags)
    except OSError as e:
        raise os_error(e, src) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):  # swapped after the first check
            raise InputError(_(
                    "is {st_mode}, not a regular file: refusing to read it").format(
                    st_mode=_kind(st.st_mode)),
                             src)
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_bytes(path: str | Path, source: str | None = None, limit: int = MAX_TEXT_BYTES,
               what: str = "file") -> bytes:
    """The content of the regular file `path`, at most `limit` bytes (else InputError)."""
    src = source or str(path)
    with open_regular(path, src) as f:
        return read_capped(f, src, limit, what)


def read_capped(f: IO[bytes], source: str, limit: int, what: str = "file") -> bytes:
    """At most `limit` bytes of the open file `f`; InputError if it holds more, or on a read
    error. The one bounded read: `read_bytes` here, and guard/trust.py after its own checks
    of who owns the file."""
    try:
        data = f.read(limit + 1)
    except OSError as e:
        raise os_error(e, source) from None
    if len(data) > limit:
        raise InputError(_(
                "{what} is larger than {limit}: refusing to read it whole (is this the right "
                "file?)").format(
                what=what, limit=_size(limit)), source)
    return data


def decode_utf8(data: bytes, source: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        col = e.start - data.rfind(b"\n", 0, e.start)
        raise InputError(_("not UTF-8 text (byte {col} of the line)").format(col=col), source,
            line) from None


def check_lines(text: str, source: str, max_line: int = MAX_LINE,
                max_lines: int = MAX_LINES) -> None:
    """Refuse text with a line longer than `max_line` characters or more than `max_lines`
    lines (linear: one pass, no copy)."""
    start = 0
    lineno = 1
    n = len(text)
    while start <= n:
        end = text.find("\n", start)
        if end < 0:
            end = n
        if end - start > max_line:
            raise InputError(_(
                    "line longer than {max_line} characters: refusing it").format(
                    max_line=max_line), source,
                             lineno)
        if lineno > max_lines:
            raise InputError(_(
                    "more than {max_lines} lines: refusing the file").format(
                    max_lines=max_lines), source)
        start = end + 1
        lineno += 1


def read_text(path: str | Path, source: str | None = None, limit: int = MAX_TEXT_BYTES,
              max_line: int | None = MAX_LINE, max_lines: int = MAX_LINES,
              what: str = "file") -> str:
    """UTF-8 text of the regular file `path`, bounded in size, line length and lines."""
    src = source or str(path)
    text = decode_utf8(read_bytes(path, src, limit, what), src)
    if max_line is not None:
        check_lines(text, src, max_line, max_lines)
    return text


def list_dir(path: Path, source: str | None = None) -> list[Path]:
    """Entries of a directory, sorted; an unreadable directory is an InputError."""
    try:
        return sorted(path.iterdir())
    except OSError as e:
        raise os_error(e, source or str(path), "cannot list directory") from None


def is_dir(path: Path, source: str | None = None) -> bool:
    """Like Path.is_dir, but a directory that exists and cannot be searched is an error
    instead of looking absent (what is not there is a note; what cannot be read is not)."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return False
    except NotADirectoryError:
        return False
    except OSError as e:
        raise os_error(e, source or str(path), "cannot look at") from None
    return stat.S_ISDIR(st.st_mode)


def exists(path: Path, source: str | None = None) -> bool:
    try:
        path.stat()
    except (FileNotFoundError, NotADirectoryError):
        return False
    except OSError as e:
        raise os_error(e, source or str(path), "cannot look at") from None
    return True


def bounded_int(text: str, source: str, line: int | None = None, lo: int | None = None,
                hi: int | None = None, what: str = "number", base: int = 10) -> int:
    """`int(text)` that never raises anything but InputError and stays within [lo, hi]."""
    t = text.strip()
    if len(t) > 40:
        raise InputError(_(
                "{what} has {count} characters: too long to be a number here").format(
                what=what, count=len(t)),
                         source, line)
    try:
        v = int(t, base)
    except ValueError:
        raise InputError(_("{what} is not an integer").format(what=what), source, line) from None
    if (lo is not None and v < lo) or (hi is not None and v > hi):
        raise InputError(_(
                "{what} {v} is out of range [{lo}, {hi}]").format(
                what=what, v=v, lo=lo, hi=hi), source, line)
    return v


# --- YAML --------------------------------------------------------------------------------


class _Bounds:
    """Bounded depth, aliases, expanded size and integer length, for any PyYAML loader
    (mixed in before it)."""

    _depth = 0
    _aliases = 0
    # provided by the loader this is mixed into (annotations only: no attribute here)
    check_event: Any
    peek_event: Any

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > YAML_MAX_ALIASES:
                ev = self.peek_event()
                raise yaml.composer.ComposerError(
                    None, None, f"more than {YAML_MAX_ALIASES} aliases", ev.start_mark)
        self._depth += 1
        try:
            if self._depth > YAML_MAX_DEPTH:
                ev = self.peek_event()
                raise yaml.composer.ComposerError(
                    None, None, f"nested deeper than {YAML_MAX_DEPTH} levels", ev.start_mark)
            return super().compose_node(parent, index)  # type: ignore[misc]
        finally:
            self._depth -= 1

    def compose_document(self) -> Any:
        node = super().compose_document()  # type: ignore[misc]
        if node is not None:
            _check_expanded(node)
        return node

    def construct_yaml_int(self, node: Any) -> int:
        digits = sum(c.isalnum() for c in str(node.value))
        if digits > YAML_MAX_INT_DIGITS:
            raise yaml.constructor.ConstructorError(
                None, None, f"integer with {digits} digits: too long", node.start_mark)
        return int(super().construct_yaml_int(node))  # type: ignore[misc]


def bounded_loader(loader: type[Any]) -> type[Any]:
    """`loader` (a PyYAML Loader class) with the bounds above."""
    cached = _LOADERS.get(loader)
    if cached is None:
        cached = type(f"Bounded{loader.__name__}", (_Bounds, loader), {})
        cached.add_constructor("tag:yaml.org,2002:int", _Bounds.construct_yaml_int)
        _LOADERS[loader] = cached
    return cached


_LOADERS: dict[type[Any], type[Any]] = {}
_BoundedLoader = bounded_loader(yaml.SafeLoader)


_SURROGATE = re.compile("[\ud800-\udfff]")


def _check_expanded(root: yaml.Node) -> None:
    """Count the nodes the document has once every alias is expanded (a node reached through
    n aliases counts n times), without expanding it: sizes are memoised per node."""
    memo: dict[int, int] = {}

    def size(node: yaml.Node) -> int:
        key = id(node)
        if key in memo:
            return memo[key]
        memo[key] = 1  # a recursive alias counts once; the constructor handles the cycle
        total = 1
        if isinstance(node, yaml.ScalarNode):
            # "\ud83d" escapes decode to lone surrogates: no valid text holds one, and
            # every writer (JSON, the terminal) would fail on it later
            m = _SURROGATE.search(str(node.value))
            if m:
                raise yaml.composer.ComposerError(
                    None, None, f"lone surrogate \\u{ord(m.group()):04x} (not valid Unicode)",
                    node.start_mark)
        elif isinstance(node, yaml.SequenceNode):
            for child in node.value:
                total += size(child)
        elif isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                total += size(k) + size(v)
        if total > YAML_MAX_NODES:
            raise yaml.composer.ComposerError(
                None, None, f"more than {YAML_MAX_NODES} values once aliases are expanded "
                "(an alias bomb?)", node.start_mark)
        memo[key] = total
        return total

    size(root)


def yaml_error(e: yaml.YAMLError, source: str, text: str = "") -> InputError:
    """A YAML error as one line naming the file and line (the problem, never the text)."""
    if isinstance(e, yaml.reader.ReaderError):  # a character YAML does not allow
        line = text[: e.position].count("\n") + 1 if text else None
        return InputError(_(
                "not valid YAML: character #x{character:04x} is not allowed").format(
                character=e.character),
                          source, line)
    if isinstance(e, yaml.MarkedYAMLError):
        mark = e.problem_mark or e.context_mark
        line = mark.line + 1 if mark is not None else None
        return InputError(_("not valid YAML: {value}").format(value=e.problem or e.context),
            source, line)
    return InputError(_("not valid YAML: {name}").format(name=type(e).__name__), source)


def compose_yaml(text: str, source: str, loader_class: type[Any] | None = None
                 ) -> yaml.Node | None:
    """The YAML node tree of `text` (one document), bounded; errors name file and line.
    `loader_class`: a reader's own Loader (custom tags), bounded the same way."""
    try:
        cls = _BoundedLoader if loader_class is None else bounded_loader(loader_class)
        loader = cls(text)  # the reader checks every character here
        try:
            return loader.get_single_node()
        finally:
            loader.dispose()
    except yaml.YAMLError as e:
        raise yaml_error(e, source, text) from None


def load_yaml(text: str, source: str) -> Any:
    """`yaml.safe_load(text)`, bounded; errors name file and line."""
    try:
        loader = _BoundedLoader(text)
        try:
            return loader.get_single_data()
        finally:
            loader.dispose()
    except yaml.YAMLError as e:
        raise yaml_error(e, source, text) from None


# --- decompression -----------------------------------------------------------------------

_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\xfd7zXZ\x00", "xz"),
    (b"\x1f\x8b", "gz"),
    (b"BZh", "bz2"),
    (b"\x28\xb5\x2f\xfd", "zst"),
)

# What a broken compressed stream raises, by library (gzip's BadGzipFile is an OSError:
# gzip itself is imported only for a .gz file, not by every bundle check).
DECOMPRESS_ERRORS: tuple[type[BaseException], ...] = (
    lzma.LZMAError, zlib.error, EOFError, OSError, ValueError)


def compression_of(head: bytes) -> str | None:
    for magic, name in _MAGIC:
        if head.startswith(magic):
            return name
    return None


class BoundedStream:
    """A read-only stream that decompresses `raw` and refuses to produce more than
    `limit` bytes in total, or more than `ratio` times the compressed size (plus a slack for
    small archives). Reading past a bound raises InputError naming `source`."""

    def __init__(self, raw: IO[bytes], compressed_size: int, source: str,
                 limit: int = MAX_DECOMPRESSED, ratio: int = MAX_RATIO) -> None:
        head = raw.read(6)
        raw.seek(0)
        kind = compression_of(head)
        self.kind = kind
        # The wrapper owns the decompressor; close() closes it (tarfile calls it).
        self._inner: Any
        if kind == "xz":
            self._inner = lzma.LZMAFile(raw)  # noqa: SIM115
        elif kind == "gz":
            import gzip

            self._inner = gzip.GzipFile(fileobj=raw)
        elif kind == "bz2":
            self._inner = bz2.BZ2File(raw)
        elif kind == "zst":
            raise InputError(_(
                    "zstd-compressed: Python cannot read it; unpack it first (`tar --zstd -xf`) "
                    "and pass the directory"), source)
        else:
            self._inner = raw
        self.source = source
        self.count = 0
        self.bound = min(limit, max(compressed_size, 1) * ratio + RATIO_SLACK) \
            if kind else limit
        self.limit = limit

    def read(self, n: int = -1) -> bytes:
        if n is None or n < 0:
            n = self.bound - self.count + 1
        try:
            data = self._inner.read(n)
        except InputError:
            raise
        except DECOMPRESS_ERRORS as e:
            raise InputError(_(
                    "corrupt or truncated compressed data ({name}); is the archive "
                    "complete?").format(
                    name=type(e).__name__), self.source) from None
        self.count += len(data)
        if self.count > self.bound:
            if self.bound < self.limit:
                raise InputError(
                    _(
                            "decompresses to more than {MAX_RATIO} times its size: refusing it "
                            "(a decompression bomb, or unpack it yourself and pass the "
                            "directory)").format(
                            MAX_RATIO=MAX_RATIO),
                    self.source)
            raise InputError(_(
                    "decompresses to more than {limit}: refusing it (unpack it yourself and pass "
                    "the directory)").format(
                    limit=_size(self.limit)), self.source)
        return data

    def close(self) -> None:
        self._inner.close()
