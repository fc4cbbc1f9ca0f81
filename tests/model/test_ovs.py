"""model/ovs.py's decoders of OVSDB JSON values, as ovs-vsctl --format=json and the wire
print them (the one reading of them for lab, guard and sources)."""

from __future__ import annotations

import pytest

from ovnguard.model.ovs import json_scalar, json_smap, json_uuid, json_uuids

U1, U2 = "0b7e4f1a-2c3d-4e5f-8a9b-c0d1e2f3a4b5", "5f1c9d2e-8a7b-4c3d-9e0f-1a2b3c4d5e6f"


def test_a_uuid_atom_and_sets_of_them() -> None:
    assert json_uuid(["uuid", U1]) == U1
    for bad in (U1, ["named-uuid", "x"], ["set", [["uuid", U1]]], ["uuid"], None):
        with pytest.raises(ValueError, match="not an OVSDB uuid"):
            json_uuid(bad)
    # a column of uuids: one is written bare, several (or none) as a set
    assert json_uuids(["uuid", U1]) == [U1]
    assert json_uuids(["set", [["uuid", U1], ["uuid", U2]]]) == [U1, U2]
    assert json_uuids(["set", []]) == [] and json_uuids("x") == []


def test_optional_columns_and_maps() -> None:
    assert json_scalar(["set", []]) is None and json_scalar(["set", [7]]) == 7
    assert json_scalar("br-ex") == "br-ex"
    assert json_smap(["map", [["a", "b"], ["n", 1]]]) == {"a": "b", "n": "1"}
    assert json_smap(["set", []]) == {}
