"""guard/model.py: the state documents are typed all the way down, and a document written
before they were (every nested member as plain JSON, nulls included) reads back and writes
out unchanged."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ovnguard.guard import state as st
from ovnguard.guard.model import (
    ArmedRecord,
    GuardState,
    ProbeResultRecord,
    SentinelEvent,
    SentinelRound,
    SentinelState,
    VerificationRecord,
    VerifyErrorRecord,
    result_record,
)
from ovnguard.guard.probes import ProbeResult

GID = "20261125T073121.676-nb-54e1"
SID = "20261125T073121.676-sentinel-54e1"
REMOTE = "unix:/run/ovn/ovnnb_db.sock"
RESULT = {"probe": "icmp:10.0.0.1", "ok": False, "detail": "timeout", "started": 1.5,
          "finished": 2.5}
DIFF = {"table": "Logical_Switch_Port", "row": "Logical_Switch_Port ln-x", "uuid": "1" * 36,
        "column": None, "expected": "absent", "found": "present"}
ARMED = {"id": SID, "host": None, "path": "/state/sentinels/x", "pid": 42, "until": 9.5,
         "watching": ["patch-x"], "netns": None, "probes": ["sb"]}


def _guard(verification: dict[str, object]) -> dict[str, object]:
    return {
        "schema_version": 1, "id": GID, "status": "rolled-back", "database": "OVN_Northbound",
        "remote": REMOTE, "change": "/x/change.sh",
        "argv": ["ovn-nbctl", f"--db={REMOTE}", "--", "ls-add", "x"],
        "settings": {"confirm_within": 60.0},
        "probing": {"rounds": 3, "last": [RESULT], "first_failure": RESULT},
        "rollback": {"attempts": 1, "conflicts": [DIFF], "overwritten": [DIFF],
                     "transaction": ["OVN_Northbound", {"op": "comment", "comment": "x"}],
                     "verification": verification},
        "sentinels": [ARMED],
    }


VERIFIED = {"ok": True, "rows_ok": True, "differences": [DIFF], "changed_by_others": [],
            "wait_hv": None, "ports_ok": None, "ports": {}}
NOT_VERIFIED = {"ok": False, "error": "could not verify: unreachable"}


@pytest.mark.parametrize("verification", [VERIFIED, NOT_VERIFIED])
def test_a_guard_json_reads_typed_and_writes_its_records_back_unchanged(
    tmp_path: Path, verification: dict[str, object]
) -> None:
    doc = _guard(verification)
    g = st.create_guard_dir(tmp_path, GID)
    st.write_json(g.state_file, doc)
    state = g.read()
    assert state.probing is not None and state.probing.last == [ProbeResultRecord(**RESULT)]
    assert isinstance(state.sentinels[0], ArmedRecord) and state.sentinels[0].netns is None
    assert state.rollback is not None and state.rollback.conflicts[0].column is None
    kind = VerificationRecord if verification is VERIFIED else VerifyErrorRecord
    assert isinstance(state.rollback.verification, kind)
    # each record as written before: same members, same order, nulls kept inside records
    out = state.to_doc()
    for key in ("probing", "sentinels"):
        assert json.dumps(out[key]) == json.dumps(doc[key]), key
    rb_in, rb_out = doc["rollback"], out["rollback"]
    assert isinstance(rb_in, dict)
    for key in rb_in:
        assert json.dumps(rb_out[key]) == json.dumps(rb_in[key]), key


def test_a_record_that_is_not_the_documented_form_is_refused() -> None:
    doc = _guard(VERIFIED)
    doc["sentinels"] = [{**ARMED, "pid": "not a pid"}]
    with pytest.raises(ValueError, match="sentinels"):
        GuardState.model_validate(doc)
    doc = _guard({"ok": True, "surprise": 1})
    with pytest.raises(ValueError, match="verification"):
        GuardState.model_validate(doc)


def test_probe_results_are_stored_as_their_to_json() -> None:
    r = ProbeResult("tcp:10.0.0.2:22", True, "connected", 1.23456, 2.5)
    assert result_record(r).model_dump(mode="json") == r.to_json()


def test_a_sentinel_json_keeps_each_events_own_members() -> None:
    doc = {"schema_version": 1, "id": SID, "status": "watching", "db": "unix:/db.sock",
           "watch": ["patch-x"], "failures": 3, "interval": 1.0, "until": 9.0,
           "events": [{"t": 1.0, "event": "armed", "message": "armed"},
                      {"t": 2.0, "event": "ports-new", "message": "patch-x new",
                       "ports": ["patch-x"]}],
           "last": {"t": 3.0, "ok": True, "results": [RESULT], "present": ["patch-x"]}}
    s = SentinelState.model_validate(doc)
    assert isinstance(s.events[1], SentinelEvent) and isinstance(s.last, SentinelRound)
    out = s.to_doc()
    assert json.dumps([out["events"], out["last"]]) == json.dumps([doc["events"], doc["last"]])
