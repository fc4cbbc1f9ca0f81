"""The pure part of a sentinel: which watched ports exist, which it may delete, and what it
does after a probe round (`decide`)."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Literal

from ovnguard.record import record


@record
class PortInfo:
    """A port as the host's Open_vSwitch database has it."""

    name: str
    uuid: str
    bridge: str | None  # the bridge whose `ports` holds it (None: on no bridge)
    bridge_uuid: str | None
    owner: str | None  # `<key>=<logical port>` when ovn-controller made it
    patch: bool  # every interface is of type patch

    @property
    def ovn_patch(self) -> bool:
        return self.patch and self.owner is not None and self.bridge is not None


def split_watch(
    watch: Sequence[str], existing: Mapping[str, PortInfo]
) -> tuple[list[str], list[dict[str, str]]]:
    """At arming: the ports to watch, and those left alone with why. A watched port that
    exists already was not created by the change (it comes before it): never touched."""
    keep: list[str] = []
    skipped: list[dict[str, str]] = []
    for name in watch:
        p = existing.get(name)
        if p is None:
            keep.append(name)
        else:
            where = f" on {p.bridge}" if p.bridge else ""
            skipped.append({"port": name, "why": f"exists already{where} before the change: "
                            "not created by it, never touched"})
    return keep, skipped


def deletable(
    watched: Collection[str], existing: Mapping[str, PortInfo]
) -> tuple[list[PortInfo], list[str]]:
    """The watched ports present now that the sentinel may delete (ovn-controller's patch
    ports on a bridge), and the names of present ones it must not (with why)."""
    ok: list[PortInfo] = []
    refused: list[str] = []
    for name in sorted(watched):
        p = existing.get(name)
        if p is None:
            continue
        if p.ovn_patch:
            ok.append(p)
        else:
            why = ("on no bridge" if p.bridge is None else
                   "not a patch port" if not p.patch else "no ovn-controller key")
            refused.append(f"{name} ({why})")
    return ok, refused


def failing_streak(history: Sequence[bool]) -> int:
    """How many of the last rounds failed in a row (True = the round passed)."""
    n = 0
    for ok in reversed(history):
        if ok:
            break
        n += 1
    return n


Action = Literal["wait", "delete", "exit"]


@record
class Decision:
    action: Action
    reason: str
    ports: tuple[str, ...] = ()


def decide(
    history: Sequence[bool], present: Collection[str], failures: int, now: float,
    until: float,
) -> Decision:
    """What a sentinel does after a probe round.

    `history`: the probe rounds so far, oldest first (True = this host reached its SB);
    `present`: the watched ports that exist now and that it may delete. Delete only when the
    host has lost its control plane (`failures` rounds in a row) and something of the change
    is there to undo; SB reachable means ovn-controller hears NB, so nothing to do. While
    SB stays unreachable, ports that come back (ovn-controller working from its stale SB
    copy) are deleted again.
    """
    if now >= until:
        return Decision("exit", "deadline reached")
    streak = failing_streak(history)
    if streak == 0:
        return Decision("wait", "SB reachable" if history else "no round yet")
    if streak < failures:
        return Decision("wait", f"SB unreachable {streak}/{failures} rounds")
    if not present:
        return Decision("wait", f"SB unreachable {streak} rounds in a row, but no watched "
                        "port exists: nothing of the change to undo")
    ports = tuple(sorted(present))
    return Decision("delete", f"SB unreachable {streak} rounds in a row while "
                    f"{', '.join(ports)} exist", ports)
