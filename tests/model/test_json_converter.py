"""The file reader's per-column converters give exactly what `value_from_json` gives, for
every column of the installed schemas and random values of their types."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ovnguard.model.db import ColumnType, Schema, json_converter, value_from_json

SCHEMAS = [p for p in ("/usr/share/openvswitch/vswitch.ovsschema",
                       "/usr/share/ovn/ovn-nb.ovsschema", "/usr/share/ovn/ovn-sb.ovsschema")
           if Path(p).exists()]


def _atom(key: str) -> st.SearchStrategy[Any]:
    uuid = st.uuids().map(lambda u: ["uuid", str(u)])
    return {"string": st.text(max_size=8), "integer": st.integers(-5, 5),
            "real": st.floats(allow_nan=False, allow_infinity=False),
            "boolean": st.booleans(), "uuid": uuid}[key]


def _value(t: ColumnType) -> st.SearchStrategy[Any]:
    if t.is_map:
        pair = st.tuples(_atom(t.key), _atom(t.value or "string")).map(list)
        return st.lists(pair, max_size=4, unique_by=lambda p: orjson.dumps(p[0])).map(
            lambda ps: ["map", ps])
    atom = _atom(t.key)
    if t.is_scalar:
        return atom
    sets = st.lists(atom, max_size=4, unique_by=orjson.dumps).map(lambda a: ["set", a])
    return st.one_of(atom, sets)  # one element may be written bare, as OVSDB does


def _columns() -> list[tuple[str, ColumnType]]:
    out = []
    for path in SCHEMAS:
        schema = Schema.from_json(orjson.loads(Path(path).read_bytes()))
        for tname, ts in schema.tables.items():
            out += [(f"{schema.name}.{tname}.{c}", t) for c, t in ts.columns.items()]
    return out


@pytest.mark.skipif(not SCHEMAS, reason="OVS/OVN schemas not installed")
@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_converter_agrees_with_value_from_json(data: st.DataObject) -> None:
    name, ctype = data.draw(st.sampled_from(_columns()))
    j = data.draw(_value(ctype))
    got, want = json_converter(ctype)(j), value_from_json(ctype, j)
    assert _typed(got) == _typed(want), name


def _typed(v: Any) -> Any:
    """The value with each atom's type, so a Uuid never passes for a plain str."""
    if isinstance(v, dict):
        return ("map", sorted(((type(k), k, type(x), x) for k, x in v.items()), key=repr))
    if isinstance(v, tuple):
        return ("set", [(type(a), a) for a in v])
    return (type(v), v)
