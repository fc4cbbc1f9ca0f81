"""The cpu cgroup that caps a data-plane lab's ovs-vswitchd (a storm must not take the
machine down with it)."""

from __future__ import annotations

import contextlib
from pathlib import Path

from ovnguard.lab.process import (
    wait_until,
)

# --- CPU limit (cgroup) ------------------------------------------------------------------

_CG_V1 = Path("/sys/fs/cgroup/cpu")
_CG_V2 = Path("/sys/fs/cgroup")
_PERIOD_US = 100_000


def cgroup_dir(lab_id: str) -> Path | None:
    """Where this lab's cpu cgroup is (or would be): cgroup v1's cpu hierarchy, else v2 if
    the root already delegates `cpu` (we never change the root's controllers)."""
    if (_CG_V1 / "cpu.cfs_quota_us").exists():
        return _CG_V1 / f"ovnguard-{lab_id}"
    with contextlib.suppress(OSError):
        if "cpu" in (_CG_V2 / "cgroup.subtree_control").read_text().split():
            return _CG_V2 / f"ovnguard-{lab_id}"
    return None


def create_cgroup(lab_id: str, cpus: float) -> tuple[Path | None, str | None]:
    path = cgroup_dir(lab_id)
    if path is None:
        return None, "no writable cpu cgroup controller on this machine; only nice and tc apply"
    quota = max(1000, int(cpus * _PERIOD_US))
    try:
        path.mkdir(exist_ok=True)
        if (path / "cpu.cfs_quota_us").exists():
            (path / "cpu.cfs_period_us").write_text(str(_PERIOD_US))
            (path / "cpu.cfs_quota_us").write_text(str(quota))
            # Below the default 1024: even inside its quota the lab yields to other work.
            (path / "cpu.shares").write_text("256")
        else:
            (path / "cpu.max").write_text(f"{quota} {_PERIOD_US}")
            (path / "cpu.weight").write_text("25")
    except OSError as e:
        with contextlib.suppress(OSError):
            path.rmdir()
        return None, f"cannot set up cpu cgroup {path}: {e.strerror}; only nice and tc apply"
    return path, None


def cgroup_add(path: Path, pid: int) -> None:
    # cgroup.procs moves the whole thread group (v1 and v2).
    (path / "cgroup.procs").write_text(str(pid))


def remove_cgroup(lab_id: str, timeout: float = 5.0) -> bool:
    path = cgroup_dir(lab_id)
    if path is None or not path.exists():
        return True

    def gone() -> bool:
        try:
            path.rmdir()
        except FileNotFoundError:
            return True
        except OSError:
            return False
        return True

    # Killed daemons linger a moment (zombies here are reaped late); rmdir needs it empty.
    return wait_until(gone, timeout, 0.1)


def cgroup_stat(path: str | Path | None) -> dict[str, int]:
    """nr_periods, nr_throttled, throttled_time (ns) or usage_usec, throttled_usec (v2)."""
    if path is None:
        return {}
    out: dict[str, int] = {}
    with contextlib.suppress(OSError):
        for line in (Path(path) / "cpu.stat").read_text().splitlines():
            key, _, value = line.partition(" ")
            if value.strip().isdigit():
                out[key] = int(value)
    return out


