"""What every lab offers, whichever kind it is: `OvnLab`.

Two labs run real OVN here: `Lab` (lab/lab.py: every chassis on OVS's dummy datapath, no
packets) and `DataplaneLab` (lab/dataplane/: every host a network namespace with real packets).
Code that only talks to the daemons -- reads a chassis' OVS, runs ovn-nbctl, asks
ovn-controller -- takes an `OvnLab` and works with both. These calls go over unix sockets:
the out-of-band console that keeps working when a change cuts the management network. Both
labs inherit them from `OvnConsole` (lab/console.py), written once.
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Protocol, Self

from ovnguard.lab.topology import Topology


class StopsOnExit:
    """`with lab:` stops the lab on leaving the block, whatever happened in it."""

    def down(self, *, purge: bool = False) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.down()


class OvnLab(Protocol):
    @property
    def run_dir(self) -> Path: ...

    @property
    def topology(self) -> Topology: ...

    def nbctl(self, *args: str, timeout: float = ...) -> str: ...

    def sbctl(self, *args: str, timeout: float = ...) -> str: ...

    def vsctl(self, host: str, *args: str, timeout: float = ...) -> str: ...

    def appctl_vswitchd(self, host: str, *args: str, timeout: float = ...) -> str: ...

    def appctl_controller(self, host: str, *args: str, timeout: float = ...) -> str: ...

    def chassis_ports(self, host: str) -> dict[str, list[str]]:
        """Ports of every bridge on a chassis (without the bridge's own local port), sorted."""
        ...

    def down(self, *, purge: bool = False) -> None: ...

    def __enter__(self) -> OvnLab: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


if TYPE_CHECKING:  # mypy proves both labs offer all of it
    from ovnguard.lab.dataplane import DataplaneLab
    from ovnguard.lab.lab import Lab

    def _both(lab: Lab, dataplane: DataplaneLab) -> tuple[OvnLab, OvnLab]:
        return lab, dataplane
