"""Frozen dataclasses that cost a third as much to define.

Python 3.11's `dataclasses.dataclass` writes every method of a frozen class as source text and
compiles each with its own `exec`: `__init__`, `__repr__`, `__eq__`, `__hash__`, `__setattr__`
and `__delattr__`, ~0.4 ms a class. `ovnguard check` defines 125 of them at import, ~50 ms of a
~190 ms process (docs/performance.md, "Start-up").

`record` lets the standard library do everything but the methods: the fields, defaults and
`field()` options, slots, `__match_args__`, and so `dataclasses.fields`, `replace` and `asdict`
work as on any dataclass. It writes `__init__`, `__eq__` and `__hash__` as the standard library
does (they run for every object made, compared or looked up, so they stay straight-line code)
but compiles them with one `exec`, and gives `__repr__`, `__setattr__` and `__delattr__`, which
only run to print or to refuse, as functions over the class's field names. The meaning is the
standard library's: equal only to the same class with equal compared fields, hashed as the tuple
of those fields, `FrozenInstanceError` on assignment, `Name(a=1, b='x')`. tests/test_record.py
holds each against `dataclasses.dataclass` of the same class body.

The compiled methods are remembered between runs (below, `_compiled`): the code depends on the
source text alone, which is the key. A docstring the standard library would write from the
signature is written when it is first read (`_Doc`).

Not supported: `init=False` fields, a field's own `hash=`, `__setattr__` in the class body and
inheriting from a dataclass are a `TypeError` at definition; `unsafe_hash` and `order` are not
arguments; an `InitVar` fails at the first object made. Use `dataclasses.dataclass` for those,
and for mutable classes.
"""

from __future__ import annotations

import atexit
import dataclasses
import inspect
import marshal
import sys
import zlib
from collections.abc import Callable
from importlib.util import MAGIC_NUMBER
from reprlib import recursive_repr
from types import CodeType
from typing import Any, TypeVar, dataclass_transform, overload

from ovnguard import cachefile

_T = TypeVar("_T")
_MISSING: Any = dataclasses.MISSING


class _HasFactory:
    """The default of an `__init__` argument whose field has a `default_factory`."""

    def __repr__(self) -> str:
        return "<factory>"  # what inspect.signature shows for the standard library's too


_HAS_FACTORY = _HasFactory()


@overload
def record(cls: type[_T], /) -> type[_T]: ...


@overload
def record(*, slots: bool = False, kw_only: bool = False,
           eq: bool = True) -> Callable[[type[_T]], type[_T]]: ...


@dataclass_transform(frozen_default=True, field_specifiers=(dataclasses.field, dataclasses.Field))
def record(cls: type[_T] | None = None, /, *, slots: bool = False, kw_only: bool = False,
           eq: bool = True) -> Any:
    """A frozen dataclass: `@record` or `@record(slots=True)` (see the module's doc)."""

    def wrap(c: type[_T]) -> type[_T]:
        return _make(c, slots=slots, kw_only=kw_only, eq=eq)

    return wrap if cls is None else wrap(cls)


def _make(cls: type[_T], *, slots: bool, kw_only: bool, eq: bool) -> type[_T]:
    if any(dataclasses.is_dataclass(b) for b in cls.__mro__[1:]):
        raise TypeError(f"record {cls.__qualname__}: inheriting from a dataclass is not "
                        "supported; use dataclasses.dataclass")
    body = cls.__dict__
    own_hash = body.get("__hash__", _MISSING)
    # a class body that defines __eq__ gets __hash__ = None from Python itself: not its own
    explicit_hash = not (own_hash is _MISSING or (own_hash is None and "__eq__" in body))
    own = {n for n in ("__init__", "__repr__", "__eq__", "__setattr__", "__delattr__")
           if n in body}
    if "__setattr__" in own or "__delattr__" in own:
        raise TypeError(f"record {cls.__qualname__}: cannot be frozen with its own "
                        "__setattr__/__delattr__")
    auto_doc = not cls.__doc__
    if auto_doc:
        # the standard library would make the doc from the signature it cannot see yet
        cls.__doc__ = "-"
    cls = dataclasses.dataclass(cls, init=False, repr=False, eq=False, slots=slots,
                                kw_only=kw_only)
    fields = dataclasses.fields(cls)  # type: ignore[arg-type]
    for f in fields:
        if not f.init:
            raise TypeError(f"record {cls.__qualname__}: field {f.name!r} has init=False; "
                            "use dataclasses.dataclass")
        if f.hash is not None and f.hash != f.compare:
            raise TypeError(f"record {cls.__qualname__}: field {f.name!r} sets hash=; "
                            "use dataclasses.dataclass")
    names = tuple(f.name for f in fields)
    wanted = {"__init__"} - own
    if eq:
        wanted |= ({"__eq__"} - own) | (set() if explicit_hash else {"__hash__"})
    methods = dict(_methods(cls, fields, wanted, has_post_init=hasattr(cls, "__post_init__")))
    if "__repr__" not in own:
        methods["__repr__"] = _repr(tuple(f.name for f in fields if f.repr))
    methods["__setattr__"], methods["__delattr__"] = _frozen(cls, frozenset(names))
    for name in ("__repr__", "__setattr__", "__delattr__"):
        if name in methods:
            methods[name].__qualname__ = f"{cls.__qualname__}.{name}"
    if slots:
        # slotted and frozen: pickle/copy must not go through the frozen __setattr__
        methods["__getstate__"], methods["__setstate__"] = _getstate, _setstate
    for name, fn in methods.items():
        setattr(cls, name, fn)
    params = cls.__dataclass_params__  # type: ignore[attr-defined]
    params.init, params.repr, params.eq, params.frozen = True, True, eq, True
    if auto_doc:
        cls.__doc__ = _DOC  # type: ignore[assignment]
    return cls


class _Doc:
    """A record's docstring as the standard library writes it (`Name(a: int, b: str = 'x')`),
    made when it is first read: inspect.signature costs ~0.05 ms a class, and only help()
    and documentation tools read a docstring. (`type.__doc__` calls the descriptor found in
    the class's own dict, so `Cls.__doc__` is the text, as for an instance.)"""

    def __get__(self, obj: Any, owner: type | None = None) -> str:
        cls = owner if owner is not None else type(obj)
        doc = cls.__name__ + str(inspect.signature(cls)).replace(" -> None", "")
        cls.__doc__ = doc  # made once
        return doc


_DOC = _Doc()


def _methods(cls: type, fields: tuple[dataclasses.Field[Any], ...], wanted: set[str], *,
             has_post_init: bool) -> list[tuple[str, Callable[..., Any]]]:
    """`__init__`, `__eq__` and `__hash__` (those `wanted`), written as the standard library
    writes a frozen class's, but compiled together with one `exec`. They run for every object
    made, compared or looked up, so they stay straight-line code."""
    # The standard library's way: the defaults and helpers are arguments of a function that
    # defines the methods, run in the class's module, so the methods' globals are the
    # module's (typing.get_type_hints resolves their annotations there).
    ns: dict[str, Any] = {"__dataclass_HAS_FACTORY__": _HAS_FACTORY,
                          "__dataclass_setattr__": object.__setattr__}
    src: list[str] = []
    if "__init__" in wanted:
        src.append(_init_source(cls, fields, ns, has_post_init=has_post_init))
    compared = [f.name for f in fields if f.compare]
    this = "".join(f"self.{n}," for n in compared)
    if "__eq__" in wanted:
        that = "".join(f"other.{n}," for n in compared)
        src.append("def __eq__(self, other):\n"
                   "  if other.__class__ is self.__class__:\n"
                   f"    return ({this}) == ({that})\n"
                   "  return NotImplemented\n")
    if "__hash__" in wanted:
        src.append(f"def __hash__(self):\n  return hash(({this}))\n")
    if not src:
        return []
    made = [n for n in ("__init__", "__eq__", "__hash__") if n in wanted]
    txt = (f"def __create_fn__({', '.join(ns)}):\n"
           + "".join("  " + line for piece in src for line in piece.splitlines(True))
           + f"  return ({', '.join(made)},)\n")
    module = sys.modules.get(cls.__module__)
    local: dict[str, Any] = {}
    exec(_compiled(txt), module.__dict__ if module is not None else {}, local)
    out: list[tuple[str, Callable[..., Any]]] = []
    for name, fn in zip(made, local["__create_fn__"](**ns), strict=True):
        fn.__qualname__ = f"{cls.__qualname__}.{name}"
        out.append((name, fn))
    if "__init__" in wanted:
        out[0][1].__annotations__ = {**{f.name: f.type for f in fields}, "return": None}
    return out


# --- the compiled methods, remembered between runs ----------------------------------------
# Compiling the methods' source is most of what defining a record costs (~0.2 ms a class, a
# tenth of a small `check`); the code is a function of the source text alone, so it is kept
# in the user's cache directory as Python keeps a module's bytecode in __pycache__: a marshal
# of {source: code}, per interpreter version (marshal's format is the interpreter's own).
_CODE_FILE = f"records.{sys.implementation.cache_tag}.marshal"
_CODE_KEEP = 2000  # sources remembered (~250 classes in the package, times a few versions)
_code: dict[str, CodeType] | None = None  # loaded at the first record
_used: dict[str, CodeType] = {}  # this run's, in the order they were needed
_new = False


def _compiled(txt: str) -> CodeType:
    global _code, _new
    if _code is None:
        _code = _load_code()
    code = _code.get(txt)
    if code is None:
        code = compile(txt, "<string>", "exec")
        if not _new:
            _new = True
            atexit.register(_save_code)
    _used[txt] = code
    return code


def _load_code() -> dict[str, CodeType]:
    raw = cachefile.read(_CODE_FILE)
    if raw is None or len(raw) < 8:
        return {}
    magic, crc, body = raw[:4], int.from_bytes(raw[4:8], "little"), memoryview(raw)[8:]
    # marshal is not made for bytes it did not write: a damaged file can make it raise
    # anything (SystemError included) or allocate without bound before it does. The file is
    # the user's own (cachefile.read); the checksum catches what damaged it since.
    if magic != MAGIC_NUMBER or crc != zlib.crc32(body):
        return {}
    try:
        data = marshal.loads(body)
    except Exception:  # whatever it is, the file is only not used
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: v for k, v in data.items() if isinstance(k, str) and isinstance(v, CodeType)}


def _save_code() -> None:
    """At exit, when something was compiled: what was there, with this run's last."""
    known = {k: v for k, v in (_code or {}).items() if k not in _used}
    known.update(_used)
    body = marshal.dumps(dict(list(known.items())[-_CODE_KEEP:]))
    # the header: the bytecode's magic number (a build of the same version whose bytecode
    # differs writes another) and the CRC-32 of the marshal after it
    head = MAGIC_NUMBER + zlib.crc32(body).to_bytes(4, "little")
    cachefile.write(_CODE_FILE, head + body)


def _init_source(cls: type, fields: tuple[dataclasses.Field[Any], ...], ns: dict[str, Any], *,
                 has_post_init: bool) -> str:
    positional: list[str] = []
    keyword: list[str] = []
    lines: list[str] = []
    seen_default = False
    for f in fields:
        if f.name == "self":
            raise TypeError(f"record {cls.__qualname__}: a field cannot be named 'self'")
        dflt = f"__dataclass_dflt_{f.name}__"
        if f.default_factory is not _MISSING:
            ns[dflt] = f.default_factory
            param = f"{f.name}=__dataclass_HAS_FACTORY__"
            value = f"{dflt}() if {f.name} is __dataclass_HAS_FACTORY__ else {f.name}"
        elif f.default is not _MISSING:
            ns[dflt] = f.default
            param, value = f"{f.name}={dflt}", f.name
        else:
            param, value = f.name, f.name
        if f.kw_only:
            keyword.append(param)
        else:
            if param == f.name and seen_default:
                raise TypeError(f"non-default argument {f.name!r} follows default argument")
            seen_default = seen_default or param != f.name
            positional.append(param)
        lines.append(f"  __dataclass_setattr__(self, {f.name!r}, {value})\n")
    if has_post_init:
        lines.append("  self.__post_init__()\n")
    params = ", ".join(["self", *positional, *(["*", *keyword] if keyword else [])])
    return f"def __init__({params}):\n" + ("".join(lines) or "  pass\n")


def _repr(names: tuple[str, ...]) -> Callable[[Any], str]:
    @recursive_repr()
    def __repr__(self: Any) -> str:
        args = ", ".join(f"{n}={getattr(self, n)!r}" for n in names)
        return f"{self.__class__.__qualname__}({args})"

    return __repr__


def _frozen(cls: type, names: frozenset[str]) -> tuple[Callable[..., None], Callable[..., None]]:
    def __setattr__(self: Any, name: str, value: Any) -> None:
        if type(self) is cls or name in names:
            raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r}")
        super(cls, self).__setattr__(name, value)  # type: ignore[arg-type]

    def __delattr__(self: Any, name: str) -> None:
        if type(self) is cls or name in names:
            raise dataclasses.FrozenInstanceError(f"cannot delete field {name!r}")
        super(cls, self).__delattr__(name)  # type: ignore[arg-type]

    return __setattr__, __delattr__


def _getstate(self: Any) -> list[Any]:
    return [getattr(self, f.name) for f in dataclasses.fields(self)]


def _setstate(self: Any, state: list[Any]) -> None:
    for f, value in zip(dataclasses.fields(self), state, strict=False):  # (as the stdlib's)
        object.__setattr__(self, f.name, value)
