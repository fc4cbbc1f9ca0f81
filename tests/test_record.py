"""`record` against `dataclasses.dataclass(frozen=True)` of the same class body: the same
signature, doc, repr, equality, hash, fields, pickling and refusals."""

from __future__ import annotations

import copy
import dataclasses
import inspect
import marshal
import pickle
import types
import zlib
from importlib.util import MAGIC_NUMBER
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ovnguard import record as rec
from ovnguard.record import record

# one field: (kind, compare, repr, kw_only); kind is "required", "default" or "factory"
FieldSpec = tuple[str, bool, bool, bool]


def _body(specs: list[FieldSpec], extra: dict[str, Any] | None = None) -> Any:
    def fill(ns: dict[str, Any]) -> None:
        ns["__annotations__"] = {f"f{i}": "int" for i in range(len(specs))}
        for i, (kind, compare, rep, kw) in enumerate(specs):
            options: dict[str, Any] = {"compare": compare, "repr": rep, "kw_only": kw}
            if kind == "default":
                options["default"] = i
            elif kind == "factory":
                options["default_factory"] = list
            ns[f"f{i}"] = dataclasses.field(**options)
        ns.update(extra or {})

    return fill


def _both(specs: list[FieldSpec], *, slots: bool = False, kw_only: bool = False,
          extra: dict[str, Any] | None = None) -> tuple[type, type]:
    std = dataclasses.dataclass(frozen=True, slots=slots, kw_only=kw_only)(
        types.new_class("C", (), {}, _body(specs, extra)))
    ours = record(slots=slots, kw_only=kw_only)(types.new_class("C", (), {}, _body(specs, extra)))
    return std, ours


def _args(specs: list[FieldSpec], kw_only: bool, values: list[int]) -> tuple[list[Any],
                                                                             dict[str, Any]]:
    """Arguments for every field (factory fields get a list, so they are not the default)."""
    pos: list[Any] = []
    kws: dict[str, Any] = {}
    for i, ((kind, _c, _r, kw), v) in enumerate(zip(specs, values, strict=True)):
        value = [v] if kind == "factory" else v
        if kw or kw_only:
            kws[f"f{i}"] = value
        else:
            pos.append(value)
    return pos, kws


def _specs() -> st.SearchStrategy[list[FieldSpec]]:
    field = st.tuples(st.sampled_from(["required", "default", "factory"]), st.booleans(),
                      st.booleans(), st.booleans())

    def ordered(specs: list[FieldSpec]) -> list[FieldSpec]:
        # a required positional field cannot follow one with a default: move them first
        return ([s for s in specs if s[0] == "required" and not s[3]]
                + [s for s in specs if s[0] != "required" or s[3]])

    return st.lists(field, max_size=6).map(ordered)


@settings(max_examples=150, deadline=None)
@given(specs=_specs(), slots=st.booleans(), kw_only=st.booleans(),
       values=st.lists(st.integers(-3, 3), min_size=6, max_size=6),
       other=st.lists(st.integers(-3, 3), min_size=6, max_size=6))
def test_record_behaves_as_a_frozen_dataclass(specs: list[FieldSpec], slots: bool,
                                              kw_only: bool, values: list[int],
                                              other: list[int]) -> None:
    std, ours = _both(specs, slots=slots, kw_only=kw_only)
    assert str(inspect.signature(ours)) == str(inspect.signature(std))
    assert ours.__doc__ == std.__doc__
    assert ours.__match_args__ == std.__match_args__  # type: ignore[attr-defined]
    assert getattr(ours, "__slots__", None) == getattr(std, "__slots__", None)
    assert [(f.name, f.default, f.default_factory, f.compare, f.repr, f.kw_only)
            for f in dataclasses.fields(ours)] == [
        (f.name, f.default, f.default_factory, f.compare, f.repr, f.kw_only)
        for f in dataclasses.fields(std)]
    assert ours.__dataclass_params__.frozen  # type: ignore[attr-defined]

    n = len(specs)
    a_pos, a_kw = _args(specs, kw_only, values[:n])
    b_pos, b_kw = _args(specs, kw_only, other[:n])
    sa, sb = std(*a_pos, **a_kw), std(*b_pos, **b_kw)
    oa, ob = ours(*a_pos, **a_kw), ours(*b_pos, **b_kw)
    assert repr(oa) == repr(sa)
    assert (oa == ob) == (sa == sb)
    assert (oa != ob) == (sa != sb)
    # the same tuple of the same fields (or the same refusal, where a field holds a list)
    assert _hash(oa) == _hash(sa) and _hash(ob) == _hash(sb)
    assert oa != sa  # another class is never equal
    assert dataclasses.asdict(oa) == dataclasses.asdict(sa)
    assert dataclasses.replace(oa) == oa
    for made in (copy.copy(oa), copy.deepcopy(oa)):
        assert made == oa and repr(made) == repr(oa)
    if n:
        name = dataclasses.fields(ours)[0].name
        with pytest.raises(dataclasses.FrozenInstanceError, match="cannot assign to field"):
            setattr(oa, name, 1)
        with pytest.raises(dataclasses.FrozenInstanceError, match="cannot delete field"):
            delattr(oa, name)
    with pytest.raises(dataclasses.FrozenInstanceError):
        oa.other = 1  # type: ignore[attr-defined]
    # defaults: given only the required fields, each object gets the defaults, and a fresh
    # value from each factory
    required = {f"f{i}": v for i, ((kind, *_r), v) in enumerate(zip(specs, values[:n],
                                                                      strict=True))
                if kind == "required"}
    first, second, theirs = ours(**required), ours(**required), std(**required)
    assert repr(first) == repr(theirs)
    for i, (kind, *_rest) in enumerate(specs):
        if kind == "factory":
            assert getattr(first, f"f{i}") == [] and getattr(first, f"f{i}") is not getattr(
                second, f"f{i}")


def _hash(obj: object) -> int | str:
    try:
        return hash(obj)
    except TypeError as e:
        return str(e)


@record(slots=True)
class Slotted:
    name: str
    ports: tuple[str, ...] = ()


@record
class Plain:
    name: str
    cache: dict[str, int] = dataclasses.field(default_factory=dict, compare=False, repr=False)


def test_methods_read_the_module_and_name_the_class() -> None:
    import typing

    assert typing.get_type_hints(Slotted.__init__) == {"name": str, "ports": tuple[str, ...],
                                                      "return": type(None)}
    assert [getattr(Slotted, m).__qualname__ for m in ("__init__", "__eq__", "__repr__")] == [
        "Slotted.__init__", "Slotted.__eq__", "Slotted.__repr__"]


def test_pickle_round_trips_slotted_and_plain_records() -> None:
    for obj in (Slotted("br-ex", ("eth0",)), Plain("br-int", {"x": 1})):
        back = pickle.loads(pickle.dumps(obj))
        assert back == obj and type(back) is type(obj)
    assert not hasattr(Slotted("x"), "__dict__")


def test_a_field_left_out_of_compare_is_left_out_of_eq_hash_and_repr() -> None:
    a, b = Plain("br-int", {"x": 1}), Plain("br-int", {"y": 2})
    assert a == b and hash(a) == hash(b)
    assert repr(a) == "Plain(name='br-int')"


def test_post_init_runs_and_can_set_derived_fields() -> None:
    def post_init(self: Any) -> None:
        object.__setattr__(self, "size", len(self.f0))

    extra = {"__post_init__": post_init}
    std, ours = _both([("required", True, True, False), ("default", True, True, False)],
                      extra=extra)
    assert std("abc").f1 == ours("abc").f1  # type: ignore[call-arg, attr-defined]
    assert ours("abcd").size == 4  # type: ignore[call-arg, attr-defined]


def test_methods_of_the_class_body_are_kept() -> None:
    def eq(self: Any, other: Any) -> bool:
        return True

    def rep(self: Any) -> str:
        return "mine"

    std, ours = _both([("required", True, True, False)], extra={"__eq__": eq, "__repr__": rep})
    assert ours(1) == ours(2) and repr(ours(1)) == "mine"  # type: ignore[call-arg]
    # Python sets __hash__ = None for a body with __eq__; the dataclass hashes the fields anyway
    assert hash(ours(1)) == hash(std(1))  # type: ignore[call-arg]

    def own_hash(self: Any) -> int:
        return 7

    _std, ours = _both([("required", True, True, False)], extra={"__hash__": own_hash})
    assert hash(ours(1)) == 7  # type: ignore[call-arg]


def test_eq_false_keeps_identity() -> None:
    @record(eq=False)
    class Ident:
        a: int

    x = Ident(1)
    assert x != Ident(1) and x == x and hash(x) == object.__hash__(x)


@pytest.mark.parametrize("body, message", [
    ({"a": dataclasses.field(init=False, default=1)}, "init=False"),
    ({"a": dataclasses.field(hash=False)}, "hash="),
    ({"__setattr__": lambda self, n, v: None, "a": 1}, "__setattr__"),
])
def test_what_record_does_not_do_is_refused_at_definition(body: dict[str, Any],
                                                         message: str) -> None:
    def fill(ns: dict[str, Any]) -> None:
        ns["__annotations__"] = {"a": "int"}
        ns.update(body)

    with pytest.raises(TypeError, match=message):
        record(types.new_class("C", (), {}, fill))


def test_inheriting_from_a_dataclass_is_refused() -> None:
    with pytest.raises(TypeError, match="inheriting"):
        @record
        class Child(Plain):
            extra: int = 0


def test_a_required_field_after_a_default_is_refused_as_the_standard_library_does() -> None:
    def fill(ns: dict[str, Any]) -> None:
        ns["__annotations__"] = {"a": "int", "b": "int"}
        ns["a"] = 1

    with pytest.raises(TypeError, match="non-default argument 'b' follows default argument"):
        record(types.new_class("C", (), {}, fill))
    with pytest.raises(TypeError, match="non-default argument 'b' follows default argument"):
        dataclasses.dataclass(frozen=True)(types.new_class("C", (), {}, fill))


# --- the compiled methods, remembered between runs -------------------------------------------


@pytest.fixture
def code_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A new process's view: an empty cache directory of its own, nothing loaded yet, and
    no exit handler registered by this test's compiles (the test saves by hand)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    _new_process(monkeypatch)
    monkeypatch.setattr(rec, "_new", True)
    return tmp_path / "ovnguard" / rec._CODE_FILE


def _new_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rec, "_code", None)
    monkeypatch.setattr(rec, "_used", {})


def _counting_compile(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    compiled: list[str] = []

    def counting(src: str, *args: Any) -> types.CodeType:
        compiled.append(src)
        return compile(src, *args)  # the builtin: this name is record's module global only

    monkeypatch.setattr(rec, "compile", counting, raising=False)
    return compiled


def _point() -> type:
    @record(slots=True)
    class Point:
        x: int
        y: int = 0
        tags: tuple[str, ...] = dataclasses.field(default=(), compare=False)

    return Point


def test_a_records_methods_are_compiled_once_and_remembered(
        code_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    compiled = _counting_compile(monkeypatch)
    first = _point()
    assert len(compiled) == 1 and not code_cache.exists()
    rec._save_code()  # what the exit handler does
    assert code_cache.is_file()
    _new_process(monkeypatch)
    again = _point()
    assert len(compiled) == 1  # the second process compiled nothing
    p, q = again(1, 2, ("a",)), again(1, 2)
    assert p == q and hash(p) == hash(q) and p != again(1, 3)
    assert repr(p) == "_point.<locals>.Point(x=1, y=2, tags=('a',))"
    assert inspect.signature(again) == inspect.signature(first)
    with pytest.raises(TypeError):
        again()  # x is required: the remembered __init__ is the same code


def _with_header(body: bytes) -> bytes:
    return MAGIC_NUMBER + zlib.crc32(body).to_bytes(4, "little") + body


def _damaged() -> bytes:
    """A marshal that makes `marshal.loads` raise SystemError (a review's fuzzing found 245
    of 8,656 mutations of a real cache doing so): FLAG_REF set on the outer dict, so every
    later back-reference is off by one."""
    raw = bytearray(marshal.dumps({"k": compile("def f():\n  return 1\n", "<string>",
                                                "exec")}))
    raw[0] |= 0x80
    return bytes(raw)


def test_a_cache_file_that_cannot_be_used_is_only_not_used(
        code_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    compiled = _counting_compile(monkeypatch)
    code_cache.parent.mkdir(parents=True, mode=0o700)
    good = _with_header(marshal.dumps({}))
    bad = [b"", b"\x00not marshal", _with_header(marshal.dumps([1, 2])),
           _with_header(marshal.dumps({"x": 1})),
           _with_header(_damaged()),  # SystemError from marshal itself
           _with_header(b"[" + (2**31 - 1).to_bytes(4, "little")),  # 2**31-1 items declared
           _damaged(),  # without a header
           good[:4] + b"\0\0\0\0" + good[8:],  # the checksum wrong
           b"\0\0\0\0" + good[4:]]  # another interpreter's bytecode
    for raw in bad:
        code_cache.write_bytes(raw)
        _new_process(monkeypatch)
        assert _point()(3).x == 3
    assert len(compiled) == len(bad)
    rec._save_code()
    code_cache.chmod(0o666)  # writable by others: its code is not run
    _new_process(monkeypatch)
    assert _point()(4).y == 0
    assert len(compiled) == len(bad) + 1
    # the file the process before wrote is read: nothing compiled again
    code_cache.chmod(0o600)
    _new_process(monkeypatch)
    _point()
    assert len(compiled) == len(bad) + 1


def test_the_cache_keeps_a_bounded_number_of_sources_this_runs_last(
        code_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rec, "_CODE_KEEP", 2)
    classes = []
    for n in range(3):
        classes.append(record(type(f"C{n}", (), {"__annotations__": {f"f{n}": "int"}})))
    rec._save_code()
    kept = marshal.loads(code_cache.read_bytes()[8:])
    assert len(kept) == 2 and all(f"f{n}" in src for n, src in zip((1, 2), kept, strict=True))
    _new_process(monkeypatch)
    record(type("D", (), {"__annotations__": {"f0": "int"}}))  # needed again, it is kept
    rec._save_code()
    kept = marshal.loads(code_cache.read_bytes()[8:])
    assert len(kept) == 2 and "f0" in list(kept)[-1]


def test_a_records_doc_is_made_when_read_as_the_standard_library_writes_it() -> None:
    std, ours = _both([("required", True, True, False), ("default", True, True, True)],
                      slots=True)
    assert "__doc__" in vars(ours) and not isinstance(vars(ours)["__doc__"], str)
    assert ours.__doc__ == std.__doc__
    assert isinstance(vars(ours)["__doc__"], str)  # made once
    assert ours(1).__doc__ == std.__doc__
