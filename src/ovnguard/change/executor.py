"""The executor seam: how a parsed change is applied to a copy of the snapshot.

    executor = default_executor(bindir=None)     # real tools if installed, else the model
    result = executor.apply(snapshot, change)    # ChangeResult, whichever engine ran

    with default_executor() as executor:         # several changes on one loaded snapshot:
        for change in candidates:                # the real tools' servers are kept, and put
            executor.apply(snapshot, change)     # back after each change

Both executors return the same `ChangeResult` (per line: status, the tool's own error text,
the rows it changed; the snapshot after each line), so simulation, rules and reports do not
know which one ran -- except that the report says so (`ChangeResult.executor`).

- `RealToolExecutor` runs the installed ovn-nbctl / ovn-sbctl / ovs-vsctl, one invocation
  per command line, against throwaway ovsdb-servers loaded with copies of the snapshot's
  databases (realtools.py). Every verb the tools have works, with their exact semantics.
- `ModelExecutor` is the pure-Python re-implementation (nbctl.py, vsctl.py, dbctl.py), the
  fallback where the binaries are absent (a laptop with a copied bundle). A verb it does not
  implement is `unsupported` (unknown), never `rejected`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from ovnguard.change.apply import ModelBackend, run_change
from ovnguard.change.model import Change, ChangeResult
from ovnguard.change.tools import Tools, find_tools
from ovnguard.model.snapshot import Snapshot

if TYPE_CHECKING:
    from ovnguard.change.realtools import RealBackend


class Executor(Protocol):
    name: str

    def apply(self, snapshot: Snapshot, change: Change) -> ChangeResult: ...

    def __enter__(self) -> Executor: ...

    def __exit__(self, *exc: object) -> None: ...


class ModelExecutor:
    name = "model"

    def __enter__(self) -> ModelExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def apply(self, snapshot: Snapshot, change: Change) -> ChangeResult:
        return run_change(snapshot, change, ModelBackend())


class RealToolExecutor:
    """One-shot (`apply` starts the servers it needs and stops them), or kept while entered
    (`with`): the servers and daemons stay up between changes, each change's rows put back
    after it, so the next change on the same snapshot starts at once -- the copy of a 200k
    port NB takes seconds to load. A change on another snapshot starts over."""

    name = "real-tools"

    def __init__(self, tools: Tools) -> None:
        self.tools = tools
        self._kept: RealBackend | None = None

    def __enter__(self) -> RealToolExecutor:
        from ovnguard.change.realtools import RealBackend

        self._kept = RealBackend(self.tools)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._kept is not None:
            self._kept.close()
            self._kept = None

    def apply(self, snapshot: Snapshot, change: Change) -> ChangeResult:
        from ovnguard.change.realtools import RealBackend

        if self._kept is None:
            with RealBackend(self.tools) as backend:
                return run_change(snapshot, change, backend)
        try:
            return run_change(snapshot, change, self._kept)
        finally:
            self._kept.reset()


def default_executor(bindir: str | Path | None = None, model: bool = False) -> Executor:
    """The real tools where they are installed (or in `bindir`), else the model."""
    if model:
        return ModelExecutor()
    tools = find_tools(bindir)
    if tools.complete:
        return RealToolExecutor(tools)
    return ModelExecutor()
