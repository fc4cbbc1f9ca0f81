"""Guard state is only trusted when only this user could have written it.

The watcher runs the command line and the `cmd:` probes stored in guard.json, a sentinel
deletes the ports sentinel.json names, a lock's `id` becomes a path: so a state dir another
user owns or can write, or one reached through a symlink, is refused (exit 2) and nothing in
it is read, run or deleted. The other user is uid 65534 (nobody): these tests chown to it,
which needs root; as another user they are skipped.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from helpers.guard_tools import cli
from ovnguard.guard import state as st
from ovnguard.guard import trust
from ovnguard.guard.sentinel import read_state

NOBODY = 65534
GID = "20261125T073125.676-nb-54ea"
SID = "20261125T073125.676-sentinel-54eb"

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="chown to another uid needs root")


def _guard_doc(marker: Path, status: str = st.PREPARING) -> dict[str, object]:
    remote = "unix:/nonexistent/nb.sock"
    return {"schema_version": 1, "id": GID, "status": status, "database": "OVN_Northbound",
            "remote": remote, "change": "/x/change.sh",
            "argv": ["ovn-nbctl", f"--db={remote}", "--timeout=1", "--", "ls-add", "x"],
            "probes": [{"kind": "cmd", "spec": f"cmd:touch {marker}", "target":
                        f"touch {marker}", "port": None, "timeout": 10.0}],
            "settings": {"confirm_within": 60}, "timeline": {"created": time.time()}}


def _make_guard(root: Path, doc: dict[str, object]) -> st.GuardDir:
    g = st.create_guard_dir(root, GID)
    st.write_json(g.state_file, doc)
    return g


def _run(*args: str) -> tuple[int, str]:
    res = CliRunner().invoke(cli(), list(args))
    assert "Traceback" not in res.output
    return res.exit_code, res.output


def _chown_tree(path: Path, uid: int) -> None:
    for dirpath, dirnames, filenames in os.walk(path):
        os.chown(dirpath, uid, uid)
        for n in [*dirnames, *filenames]:
            os.chown(os.path.join(dirpath, n), uid, uid, follow_symlinks=False)


@needs_root
def test_state_dir_of_another_user_is_refused_by_every_verb(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    root = tmp_path / "state"
    _make_guard(root, _guard_doc(marker, st.ARMED))
    _chown_tree(root, NOBODY)
    for verb in (["guard", "status"], ["confirm"], ["rollback"]):
        code, out = _run(*verb, "--state-dir", str(root))
        assert code == 2, (verb, out)
        assert f"{root} is owned by uid {NOBODY}, not by you" in out
    change = tmp_path / "c.sh"
    change.write_text("ovn-nbctl ls-add x\n")
    code, out = _run("apply", "--change", str(change), "--nb", "unix:/nonexistent/nb.sock",
                     "--state-dir", str(root), "--probe", "none")
    assert code == 2 and f"owned by uid {NOBODY}" in out
    assert not marker.exists()
    # The same through the environment variable that picks the default state dir.
    env_root = tmp_path / "env-state"
    env_root.mkdir(mode=0o700)
    os.chown(env_root, NOBODY, NOBODY)
    res = CliRunner().invoke(cli(), ["guard", "status"], env={st.STATE_DIR_ENV: str(env_root)})
    assert res.exit_code == 2 and f"{env_root} is owned by uid {NOBODY}" in res.output


@needs_root
def test_a_watcher_never_runs_what_an_untrusted_guard_json_says(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    root = tmp_path / "state"
    g = _make_guard(root, _guard_doc(marker))
    _chown_tree(root, NOBODY)
    p = subprocess.run([sys.executable, "-m", "ovnguard.guard.watcher", str(g.path)],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 2
    assert f"owned by uid {NOBODY}" in p.stderr and "not started" in p.stderr
    os.chown(root, 0, 0)
    os.chown(g.path, 0, 0)
    # Our dirs, but guard.json written by someone else (root could be handed such a file).
    p = subprocess.run([sys.executable, "-m", "ovnguard.guard.watcher", str(g.path)],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 2 and "guard.json is owned by uid 65534" in p.stderr
    assert json.loads(g.state_file.read_text())["status"] == st.PREPARING
    assert not marker.exists()


def test_symlinks_are_never_followed(tmp_path: Path) -> None:
    real = tmp_path / "real"
    _make_guard(real, _guard_doc(tmp_path / "ran", st.ARMED))
    link = tmp_path / "link"
    link.symlink_to(real)
    code, out = _run("guard", "status", "--state-dir", str(link))
    assert code == 2 and f"{link} is a symlink" in out
    # A guard.json that is a symlink (to a file of ours, even) is not read.
    other = tmp_path / "elsewhere.json"
    other.write_text((real / GID / "guard.json").read_text())
    (real / GID / "guard.json").unlink()
    (real / GID / "guard.json").symlink_to(other)
    with pytest.raises(st.GuardError, match="is a symlink"):
        st.GuardDir(real, GID).read()
    # guard.lock planted as a symlink: flock never opens it.
    (real / GID / "guard.lock").symlink_to(tmp_path / "target")
    with pytest.raises(st.GuardError, match="is a symlink"), st.GuardDir(real, GID).locked():
        pass
    assert not (tmp_path / "target").exists()


@needs_root
def test_a_directory_above_the_state_dir_that_others_can_swap(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chown(shared, NOBODY, NOBODY)
    code, out = _run("guard", "status", "--state-dir", str(shared / "state"))
    assert code == 2 and f"{shared} (above the state dir" in out and f"uid {NOBODY}" in out
    # World-writable without the sticky bit: anyone could rename our state dir away.
    os.chown(shared, 0, 0)
    os.chmod(shared, 0o777)
    code, out = _run("guard", "status", "--state-dir", str(shared / "state"))
    assert code == 2 and "writable by others (mode 777)" in out
    # Sticky (as /tmp): fine, entries can only be renamed by their owner.
    os.chmod(shared, 0o1777)
    code, out = _run("guard", "status", "--state-dir", str(shared / "state"))
    assert code == 0, out
    # A state dir of ours that others can write is refused too.
    (shared / "state").mkdir(mode=0o700)
    os.chmod(shared / "state", 0o733)
    code, out = _run("guard", "status", "--state-dir", str(shared / "state"))
    assert code == 2 and "writable by others (mode 733)" in out


def test_a_lock_id_is_never_used_as_a_path_unchecked(tmp_path: Path) -> None:
    root = tmp_path / "state"
    st.ensure_dir(root / "locks")
    remote = "unix:/nonexistent/nb.sock"
    lock = root / "locks" / f"{st.lock_key('OVN_Northbound', remote)}.json"
    st.write_json(lock, {"id": "../../../etc", "database": "OVN_Northbound",
                         "remote": remote, "pid": 1, "created": 0.0})
    with pytest.raises(st.GuardError) as e:
        st.holder(root, "OVN_Northbound", remote)
    assert e.value.exit_code == 2 and "not an ovnguard id" in str(e.value)
    for bad in ("../x", "a/b", "..", ""):
        code, out = _run("confirm", "--state-dir", str(root), "--id", bad)
        assert code == 2 and "is not an id ovnguard makes" in out


def test_a_tampered_guard_json_is_refused_not_run(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    root = tmp_path / "state"
    doc = _guard_doc(marker)
    g = _make_guard(root, doc)
    for key, value, why in (
        ("argv", ["/bin/sh", "-c", f"touch {marker}"], "argv must start with ovn-nbctl"),
        ("probes", [{"kind": "cmd", "spec": "cmd:true", "target": f"touch {marker}"}],
         "stored form differs from its spec"),
        ("status", "pwned", "status"),
        ("surprise", 1, "Extra inputs are not permitted"),
    ):
        st.write_json(g.state_file, {**doc, key: value})
        with pytest.raises(st.GuardError, match="not a state file ovnguard wrote") as e:
            g.read()
        assert why in str(e.value)
        p = subprocess.run([sys.executable, "-m", "ovnguard.guard.watcher", str(g.path)],
                           capture_output=True, text=True, timeout=30)
        assert p.returncode == 2 and "not a state file ovnguard wrote" in p.stderr
    assert not marker.exists()


@needs_root
def test_a_sentinel_dir_of_another_user_is_not_read_or_started(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    root = tmp_path / "state"
    path = root / "sentinels" / SID
    st.ensure_dir(path)
    st.write_json(path / "sentinel.json", {
        "schema_version": 1, "id": SID, "status": "starting", "db": "unix:/nonexistent",
        "watch": ["patch-x"], "probes": [f"cmd:touch {marker}"], "failures": 1,
        "interval": 0.1, "until": time.time() + 5})
    assert read_state(path)["probes"] == [f"cmd:touch {marker}"]  # ours: fine
    _chown_tree(root / "sentinels", NOBODY)
    with pytest.raises(st.GuardError, match=f"owned by uid {NOBODY}"):
        read_state(path)
    code, out = _run("guard", "sentinel-status", "--state-dir", str(root))
    assert code == 2 and f"owned by uid {NOBODY}" in out
    p = subprocess.run([sys.executable, "-m", "ovnguard.guard.sentinel", str(path)],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 2 and "not started" in p.stderr
    assert not marker.exists()


def test_ids_have_one_shape() -> None:
    assert trust.valid_id(st.new_guard_id("OVN_Northbound"))
    assert trust.valid_id(st.new_guard_id("Open_vSwitch"))
    from ovnguard.guard.sentinel import new_sentinel_id

    assert trust.valid_id(new_sentinel_id())
    assert not trust.valid_id(GID + "/..")
