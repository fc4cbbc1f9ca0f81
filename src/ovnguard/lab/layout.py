"""Where everything of a lab lives inside its run dir (paths only, no I/O)."""

from __future__ import annotations

import os
from pathlib import Path

from ovnguard.record import record

DEFAULT_RUN_DIR = ".lab"
RUN_DIR_ENV = "OVNGUARD_LAB_DIR"

MARKER = ".ovnguard-lab"
STATE_FILE = "lab.json"
LOCK_FILE = ".lock"

NB_SCHEMA_CANDIDATES = ("/usr/share/ovn/ovn-nb.ovsschema", "/usr/local/share/ovn/ovn-nb.ovsschema")
SB_SCHEMA_CANDIDATES = ("/usr/share/ovn/ovn-sb.ovsschema", "/usr/local/share/ovn/ovn-sb.ovsschema")
VSWITCH_SCHEMA_CANDIDATES = (
    "/usr/share/openvswitch/vswitch.ovsschema",
    "/usr/local/share/openvswitch/vswitch.ovsschema",
)


def default_run_dir() -> Path:
    return Path(os.environ.get(RUN_DIR_ENV) or DEFAULT_RUN_DIR)


def first_existing(candidates: tuple[str, ...]) -> str | None:
    return next((c for c in candidates if os.path.isfile(c)), None)


@record
class DbPaths:
    """One ovsdb-server: its directory, database file and sockets."""

    dir: Path
    db: Path
    sock: Path

    @property
    def remote(self) -> str:
        return f"unix:{self.sock}"

    @property
    def pidfile(self) -> Path:
        return self.dir / "ovsdb-server.pid"

    @property
    def logfile(self) -> Path:
        return self.dir / "ovsdb-server.log"

    @property
    def ctl(self) -> Path:
        return self.dir / "ovsdb-server.ctl"


@record
class HostPaths:
    """A chassis' own directory: its OVS_RUNDIR, OVS_DBDIR, OVN_RUNDIR... all point here."""

    dir: Path

    @property
    def ovsdb(self) -> DbPaths:
        return DbPaths(self.dir, self.dir / "conf.db", self.dir / "db.sock")

    @property
    def vswitchd_pidfile(self) -> Path:
        return self.dir / "ovs-vswitchd.pid"

    @property
    def vswitchd_log(self) -> Path:
        return self.dir / "ovs-vswitchd.log"

    @property
    def vswitchd_ctl(self) -> Path:
        return self.dir / "ovs-vswitchd.ctl"

    @property
    def controller_pidfile(self) -> Path:
        return self.dir / "ovn-controller.pid"

    @property
    def controller_log(self) -> Path:
        return self.dir / "ovn-controller.log"

    def controller_ctl(self, pid: int) -> Path:
        # ovn-controller 23.03 rejects --unixctl; it always names its socket after its pid.
        return self.dir / f"ovn-controller.{pid}.ctl"

    def env(self) -> dict[str, str]:
        d = str(self.dir)
        return {
            "OVS_RUNDIR": d,
            "OVS_LOGDIR": d,
            "OVS_DBDIR": d,
            "OVS_SYSCONFDIR": d,
            "OVN_RUNDIR": d,
            "OVN_LOGDIR": d,
            "OVN_DBDIR": d,
            # An /etc/ovn/system-id-override on the machine would give every chassis one name.
            "OVN_SYSCONFDIR": d,
        }


@record
class RunLayout:
    """The run dir. `root` is absolute: it appears in every daemon's command line, which is
    how a process is recognised as belonging to this lab."""

    root: Path

    @classmethod
    def at(cls, run_dir: str | Path) -> RunLayout:
        return cls(Path(os.path.abspath(run_dir)))

    @property
    def marker(self) -> Path:
        return self.root / MARKER

    @property
    def state(self) -> Path:
        return self.root / STATE_FILE

    @property
    def lock(self) -> Path:
        return self.root / LOCK_FILE

    @property
    def nb(self) -> DbPaths:
        d = self.root / "nb"
        return DbPaths(d, d / "ovnnb_db.db", d / "ovnnb_db.sock")

    @property
    def sb(self) -> DbPaths:
        d = self.root / "sb"
        return DbPaths(d, d / "ovnsb_db.db", d / "ovnsb_db.sock")

    @property
    def northd_dir(self) -> Path:
        return self.root / "northd"

    @property
    def template_conf_db(self) -> Path:
        return self.root / "conf.db.template"

    def host(self, name: str) -> HostPaths:
        return HostPaths(self.root / "hosts" / name)

    def central_env(self, d: Path) -> dict[str, str]:
        return HostPaths(d).env()

    @property
    def ownership_token(self) -> str:
        """Text that every daemon of this lab has in its /proc/<pid>/cmdline."""
        return str(self.root) + os.sep
