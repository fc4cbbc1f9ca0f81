"""The console of a lab: ctl commands to its daemons over their unix sockets.

`Lab` and `DataplaneLab` run the same daemons in the same run-dir layout, described by the
same `lab.json` (a `DataplaneLab` keeps an ordinary `Lab` handle on them). So the console
methods of `OvnLab` (lab/protocol.py) are written once, here, and both labs inherit them;
each lab only says where its daemons are: `layout` and `_lab_state`.
"""

from __future__ import annotations

import math
from pathlib import Path

from ovnguard.errors import LabError
from ovnguard.i18n import _
from ovnguard.lab.layout import HostPaths, RunLayout
from ovnguard.lab.process import read_pidfile, run
from ovnguard.lab.state import LabState
from ovnguard.lab.topology import Topology
from ovnguard.model.ovs import json_tables, json_uuid, json_uuids, list_args

CTL_TIMEOUT = 30.0  # seconds for one ctl command over the console


def ctl_secs(timeout: float) -> int:
    """OVS tools take whole seconds for --timeout."""
    return max(1, math.ceil(timeout))


class OvnConsole:
    """Where a lab's daemons are and the ctl commands that reach them.

    A subclass sets `layout` (the run dir's paths) and gives `_lab_state` (its `lab.json`).
    """

    layout: RunLayout

    @property
    def _lab_state(self) -> LabState:
        raise NotImplementedError

    # --- where things are ---------------------------------------------------------------

    @property
    def run_dir(self) -> Path:
        return self.layout.root

    @property
    def topology(self) -> Topology:
        return self._lab_state.topology

    @property
    def nb_remote(self) -> str:
        return self._lab_state.nb_remote

    @property
    def sb_remote(self) -> str:
        return self._lab_state.sb_remote

    def host_paths(self, host: str) -> HostPaths:
        self._lab_state.host(host)  # a clear error for an unknown host
        return self.layout.host(host)

    def host_dir(self, host: str) -> Path:
        return self.host_paths(host).dir

    def host_env(self, host: str) -> dict[str, str]:
        """OVS_RUNDIR & co. for running OVS tools against this chassis (e.g. `ovs-ofctl`)."""
        return self.host_paths(host).env()

    def controller_ctl(self, host: str) -> Path:
        hp = self.host_paths(host)
        pid = read_pidfile(hp.controller_pidfile)
        if pid is None:
            raise LabError(_(
                "ovn-controller of {host} is not running (no {controller_pidfile})").format(
                host=host, controller_pidfile=hp.controller_pidfile))
        return hp.controller_ctl(pid)

    # --- talking to the daemons ---------------------------------------------------------

    def nbctl(self, *args: str, timeout: float = CTL_TIMEOUT) -> str:
        return run(
            ["ovn-nbctl", f"--db={self.nb_remote}", f"--timeout={ctl_secs(timeout)}", *args],
            timeout=timeout + 5,
        )

    def sbctl(self, *args: str, timeout: float = CTL_TIMEOUT) -> str:
        return run(
            ["ovn-sbctl", f"--db={self.sb_remote}", f"--timeout={ctl_secs(timeout)}", *args],
            timeout=timeout + 5,
        )

    def vsctl(self, host: str, *args: str, timeout: float = CTL_TIMEOUT) -> str:
        hp = self.host_paths(host)
        return run(
            ["ovs-vsctl", f"--db={hp.ovsdb.remote}", f"--timeout={ctl_secs(timeout)}", *args],
            env=hp.env(),
            timeout=timeout + 5,
        )

    def appctl_controller(self, host: str, *args: str, timeout: float = CTL_TIMEOUT) -> str:
        return run(
            [
                "ovn-appctl",
                "-t",
                str(self.controller_ctl(host)),
                f"--timeout={ctl_secs(timeout)}",
                *args,
            ],
            env=self.host_env(host),
            timeout=timeout + 5,
        )

    def appctl_vswitchd(self, host: str, *args: str, timeout: float = CTL_TIMEOUT) -> str:
        hp = self.host_paths(host)
        return run(
            ["ovs-appctl", "-t", str(hp.vswitchd_ctl), f"--timeout={ctl_secs(timeout)}", *args],
            env=hp.env(),
            timeout=timeout + 5,
        )

    def ofctl(self, host: str, *args: str, timeout: float = CTL_TIMEOUT) -> str:
        """`ovs-ofctl` on a chassis: `lab.ofctl("compute1", "dump-flows", "br-int")` finds
        that chassis' br-int.mgmt through OVS_RUNDIR."""
        return run(
            ["ovs-ofctl", f"--timeout={ctl_secs(timeout)}", *args],
            env=self.host_env(host),
            timeout=timeout + 5,
        )

    def chassis_ports(self, host: str) -> dict[str, list[str]]:
        """Ports of every bridge on a chassis (without the bridge's own local port), sorted."""
        out = self.vsctl(host, *list_args(("Bridge", "name,ports"), ("Port", "_uuid,name")))

        bridges, ports = json_tables(out)
        port_names = {json_uuid(row[0]): row[1] for row in ports["data"]}
        result: dict[str, list[str]] = {}
        for name, port_set in bridges["data"]:
            result[name] = sorted(
                port_names[u] for u in json_uuids(port_set) if port_names.get(u) != name
            )
        return dict(sorted(result.items()))
