"""model/db.py: map cells that refuse edits, and rows stored as one tuple beside a layout
their table shares, reading exactly like the mappings they replace."""

from __future__ import annotations

import copy
import pickle

import pytest

from ovnguard.model.db import EMPTY_MAP, FrozenMap, Row, Uuid, frozen_map, row_layout


def test_a_map_cell_refuses_every_edit_and_copies_to_a_dict() -> None:
    m = frozen_map({"a": "1"})
    for edit in (lambda: m.__setitem__("b", "2"), lambda: m.__delitem__("a"), m.clear,
                 lambda: m.pop("a"), m.popitem, lambda: m.setdefault("b", "2"),
                 lambda: m.update(b="2"), lambda: m.__ior__({"b": "2"})):
        with pytest.raises(TypeError, match="read-only"):
            edit()
    assert m == {"a": "1"} and isinstance(m, dict)
    changed = dict(m)
    changed["b"] = "2"  # a copy is an ordinary dict
    assert m == {"a": "1"} and changed == {"a": "1", "b": "2"}
    assert (m | {"b": "2"}) == {"a": "1", "b": "2"} and m == {"a": "1"}
    assert copy.copy(m) is m and copy.deepcopy(m) is m
    assert pickle.loads(pickle.dumps(m)) == m
    assert repr(m) == repr({"a": "1"})


def test_empty_map_cells_are_one_object() -> None:
    assert frozen_map({}) is EMPTY_MAP and frozen_map([]) is EMPTY_MAP
    assert isinstance(EMPTY_MAP, FrozenMap) and EMPTY_MAP == {}


def test_a_row_reads_like_the_mapping_it_was_built_from() -> None:
    data = {"name": "p1", "options": frozen_map({"k": "v"}), "tag": (5,), "up": (),
            "peer": ("x",), "type": ""}
    r = Row("Logical_Switch_Port", Uuid("u1"), data)
    assert dict(r.data) == data and list(r.data) == list(data) and len(r.data) == len(data)
    assert list(r.data.items()) == list(data.items())
    assert list(r.data.values()) == list(data.values())
    assert r.data == data and r.data != {**data, "type": "router"}
    assert "name" in r.data and "absent" not in r.data
    assert r["name"] == "p1" and r.get("absent", 7) == 7 and r.data.get("absent") is None
    with pytest.raises(KeyError):
        r["absent"]
    assert r.name == "p1" and r.opt("tag") == 5 and r.opt("up") is None
    assert r.opt("absent") is None and r.opt("type") == ""
    assert r.map("options") == {"k": "v"} and r.map("absent") is EMPTY_MAP
    assert r.set("peer") == ("x",) and r.set("type") == ("",) and r.set("absent") == ()


def test_rows_compare_by_table_uuid_and_cells_whatever_their_layout() -> None:
    lay = row_layout(("name", "type"))
    packed = Row.packed("T", Uuid("u"), lay, ("a", "b"))
    built = Row("T", Uuid("u"), {"type": "b", "name": "a"})  # another column order
    assert packed == built and packed.data == built.data
    assert packed != Row("T", Uuid("v"), {"name": "a", "type": "b"})
    assert packed != Row("U", Uuid("u"), {"name": "a", "type": "b"})
    assert packed != Row("T", Uuid("u"), {"name": "a", "type": "c"})
    assert Row("T", Uuid("u"), packed.data) == packed  # built from another row's data
    assert row_layout(("name", "type")) is lay  # one layout per set of columns


def test_a_row_cannot_be_changed_in_place() -> None:
    r = Row("T", Uuid("u"), {"name": "a"})
    with pytest.raises(AttributeError):
        r.table = "U"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        del r.uuid
    with pytest.raises(TypeError):
        hash(r)
