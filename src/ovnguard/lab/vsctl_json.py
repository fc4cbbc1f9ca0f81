"""Reading `ovs-vsctl --format=json --data=json` output: one JSON table per `--` command."""

from __future__ import annotations

import json
from typing import Any


def json_tables(text: str) -> list[dict[str, Any]]:
    """ovs-vsctl --format=json prints one JSON object per command, one after the other."""
    decoder = json.JSONDecoder()
    out: list[dict[str, Any]] = []
    idx, text = 0, text.strip()
    while idx < len(text):
        obj, idx = decoder.raw_decode(text, idx)
        out.append(obj)
        while idx < len(text) and text[idx].isspace():
            idx += 1
    return out


def uuids(value: Any) -> list[str]:
    if isinstance(value, list) and len(value) == 2 and value[0] == "uuid":
        return [str(value[1])]
    if isinstance(value, list) and len(value) == 2 and value[0] == "set":
        return [str(v[1]) for v in value[1]]
    return []


def scalar(value: Any) -> Any:
    # --data=json prints an empty optional column as ["set", []].
    if isinstance(value, list) and len(value) == 2 and value[0] == "set":
        return value[1][0] if value[1] else None
    return value


def list_args(*queries: tuple[str, str]) -> list[str]:
    """ovs-vsctl arguments listing each (table, columns) in one run, as JSON tables in order:
    `lab.vsctl(host, *list_args(("Bridge", "name,ports"), ("Port", "_uuid,name")))`."""
    args = ["--format=json", "--data=json"]
    for table, columns in queries:
        args += ["--", f"--columns={columns}", "list", table]
    return args
