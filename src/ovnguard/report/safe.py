"""Data never acts on the reader: names from OVN/OVS rows, host directories, inventories,
.ini files and change text are shown, never interpreted.

Anyone who can name a network or a port (a tenant, through Neutron's API) writes strings that
end up in these reports. In HTML they are escaped by the template engine (autoescape on for
every template, see report/html.py); in a terminal, control characters (ESC sequences that
clear the screen, move the cursor or retitle the window; CR that overwrites a line; a newline
that forges a report line) are shown as Python-style escapes instead of being sent.
"""

from __future__ import annotations

import copy
import dataclasses
import enum
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:  # the schema's ~10 dataclasses cost at import: cli/out.py needs none
    from ovnguard.report.schema import _Model

# C0 controls, DEL, and the C1 range (8-bit CSI/OSC introducers some terminals honour), plus
# the Unicode line/paragraph separators and bidi overrides that reorder what a line shows.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _escape(m: re.Match[str]) -> str:
    c = ord(m.group())
    return f"\\x{c:02x}" if c < 0x100 else f"\\u{c:04x}"


def visible(s: str) -> str:
    """`s` with every control character written out (`\\x1b` for ESC), printable otherwise."""
    return _CONTROL.sub(_escape, s) if _CONTROL.search(s) else s


def visible_lines(s: str) -> str:
    """`visible` line by line: the newlines ovnguard's own messages are made of stay, every
    other control character is written out."""
    return "\n".join(visible(line) for line in s.split("\n"))


# In JSON text, control characters can only be inside strings (JSON whitespace aside), where
# `\u00XX` is a valid escape. Encoders escape C0 already; C1 and the bidi controls are not
# escaped by `ensure_ascii=False` writers (orjson, the plan writer) and would reach a
# terminal that `cat`s the file.
_CONTROL_IN_JSON = re.compile(
    r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def json_text(s: str) -> str:
    """JSON text with every control character inside strings written as a `\\u` escape:
    the same document for a parser, nothing a terminal acts on."""
    return _CONTROL_IN_JSON.sub(lambda m: f"\\u{ord(m.group()):04x}", s)


def visible_data(v: Any) -> Any:
    """A copy of `v` (dataclasses, pydantic models, dicts, lists, tuples, sets) with every
    string made `visible`, for a renderer that prints fields: no field can be forgotten."""
    if isinstance(v, enum.Enum):
        return v
    if isinstance(v, str):
        return visible(v)
    if hasattr(type(v), "model_fields") and hasattr(v, "model_construct"):  # pydantic
        return type(v).model_construct(**{k: visible_data(getattr(v, k))
                                          for k in type(v).model_fields})
    if dataclasses.is_dataclass(v) and not isinstance(v, type):
        out = copy.copy(v)
        for f in dataclasses.fields(v):
            object.__setattr__(out, f.name, visible_data(getattr(v, f.name)))
        return out
    if isinstance(v, Mapping):  # dict, MappingProxyType: rendered, never mutated
        return {visible_data(k): visible_data(x) for k, x in v.items()}
    if type(v) in (list, tuple, set, frozenset):
        return type(v)(visible_data(x) for x in v)
    return v


M = TypeVar("M", bound="_Model")


def _walk(v: object) -> object:
    from ovnguard.report.schema import _Model  # loaded already: `v` came from a model

    if isinstance(v, str):
        return visible(v)
    if isinstance(v, _Model):
        return visible_model(v)
    if isinstance(v, list):
        return [_walk(x) for x in v]
    if isinstance(v, dict):
        return {visible(k) if isinstance(k, str) else k: _walk(x) for k, x in v.items()}
    return v


def visible_model(model: M) -> M:
    """A copy of a report model with every string (keys included) made `visible`: what a
    terminal renderer prints, so no field can be forgotten."""
    return dataclasses.replace(  # type: ignore[type-var]
        model, **{f.name: _walk(getattr(model, f.name))
                  for f in dataclasses.fields(model)})  # type: ignore[arg-type]
