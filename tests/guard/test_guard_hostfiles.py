"""The files a host change writes (`apply --host-state`: a netplan file): backed up with
their bytes, mode and owner (or their absence), restored exactly, differences named."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ovnguard.errors import InputError
from ovnguard.guard import hoststate, hoststeps


def _backup(*files: Path) -> hoststate.HostBackup:
    saved = tuple(hoststate.SavedFile.read(str(f)) for f in files)
    return hoststate.HostBackup(0.0, (), (), (), "[]", "[]", saved)


def test_files_back_byte_for_byte_mode_and_absence(tmp_path: Path) -> None:
    old = tmp_path / "60-old.yaml"
    old.write_bytes(b"network:\n  version: 2\n\xe2\x80\x94 kept as bytes\n")
    os.chmod(old, 0o640)
    new = tmp_path / "70-new.yaml"
    b = hoststate.HostBackup.from_json(_backup(old, new).to_json())  # as host-backup.json
    assert b.files[1].data is None
    assert hoststate.file_differences(b) == []
    hoststate.write_file(str(old), b"changed\n", 0o600, None)
    hoststate.write_file(str(new), b"new\n", 0o600, None)
    diffs = hoststate.file_differences(b)
    assert len(diffs) == 2 and "mode 0640" in diffs[0] and "(absent)" in diffs[1], diffs
    out = hoststate.HostRestore()
    hoststate._restore_files(b, out)
    assert out.errors == [], out.errors
    assert old.read_bytes() == b"network:\n  version: 2\n\xe2\x80\x94 kept as bytes\n"
    assert old.stat().st_mode & 0o777 == 0o640
    assert not new.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["60-old.yaml"]  # no temp file
    assert hoststate.file_differences(b) == []
    assert any(a.startswith("removed") for a in out.actions)


def test_netplan_write_refuses_what_netplan_would_not_read(tmp_path: Path) -> None:
    d = tmp_path / "netplan"
    d.mkdir()
    src = tmp_path / "60-x.yml"
    src.write_text("network: {version: 2}\n")
    with pytest.raises(InputError, match=r"\*\.yaml"):
        hoststeps.netplan_write(src, d)
    inside = d / "60-x.yaml"
    inside.write_text("network: {version: 2}\n")
    with pytest.raises(InputError, match="from elsewhere"):
        hoststeps.netplan_write(inside, d)
    with pytest.raises(InputError, match="--netplan-dir"):
        hoststeps.netplan_write(inside, tmp_path / "nope")
    ok = tmp_path / "60-x.yaml"
    ok.write_text("network: {version: 2}\n")
    w = hoststeps.netplan_write(ok, d)
    assert w.path == str(d.resolve() / "60-x.yaml") and w.mode == 0o600
