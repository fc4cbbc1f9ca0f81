"""The executor seam: how a parsed change is applied to a copy of the snapshot.

    executor = default_executor(bindir=None)     # real tools if installed, else the model
    result = executor.apply(snapshot, change)    # ChangeResult, whichever engine ran

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
from typing import Protocol

from ovnguard.change.apply import ModelBackend, run_change
from ovnguard.change.model import Change, ChangeResult
from ovnguard.change.tools import Tools, find_tools
from ovnguard.model.snapshot import Snapshot


class Executor(Protocol):
    name: str

    def apply(self, snapshot: Snapshot, change: Change) -> ChangeResult: ...


class ModelExecutor:
    name = "model"

    def apply(self, snapshot: Snapshot, change: Change) -> ChangeResult:
        return run_change(snapshot, change, ModelBackend())


class RealToolExecutor:
    name = "real-tools"

    def __init__(self, tools: Tools) -> None:
        self.tools = tools

    def apply(self, snapshot: Snapshot, change: Change) -> ChangeResult:
        from ovnguard.change.realtools import RealBackend

        with RealBackend(self.tools) as backend:
            return run_change(snapshot, change, backend)


def default_executor(bindir: str | Path | None = None, model: bool = False) -> Executor:
    """The real tools where they are installed (or in `bindir`), else the model."""
    if model:
        return ModelExecutor()
    tools = find_tools(bindir)
    if tools.complete:
        return RealToolExecutor(tools)
    return ModelExecutor()
