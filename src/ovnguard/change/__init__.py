"""The change file: parse it, and apply it to a copy of the model (fork-and-diff).

    change = parse_change(text, "change.sh", default_host=None)   # or read_change(path)
    result = apply_change(snapshot, change)    # result.snapshot, .problems, .applied
    # apply_change runs default_executor(): the real ovn-nbctl / ovs-vsctl on throwaway
    # copies of the databases where installed, else the model (see change/executor.py)

See docs/change-file.md for the syntax, the supported commands and the transaction semantics.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ovnguard.change.apply import apply_change, supported_verbs
    from ovnguard.change.executor import (
        Executor,
        ModelExecutor,
        RealToolExecutor,
        default_executor,
    )
    from ovnguard.change.model import (
        AppliedInvocation,
        Change,
        ChangeProblem,
        ChangeResult,
        Command,
        Invocation,
        Location,
    )
    from ovnguard.change.parse import parse_change, read_change

# Where each name lives, imported on first use: every module under ovnguard.change (its data
# model too, which the rules read) imports this package first, and `check` without a change
# file has no use for the executors, the command models or the YAML reader behind them.
_WHERE = {
    "apply_change": "apply", "supported_verbs": "apply",
    "Executor": "executor", "ModelExecutor": "executor", "RealToolExecutor": "executor",
    "default_executor": "executor",
    "AppliedInvocation": "model", "Change": "model", "ChangeProblem": "model",
    "ChangeResult": "model", "Command": "model", "Invocation": "model", "Location": "model",
    "parse_change": "parse", "read_change": "parse",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # found directly from now on
    return value

__all__ = [
    "AppliedInvocation",
    "Change",
    "ChangeProblem",
    "ChangeResult",
    "Command",
    "Executor",
    "Invocation",
    "Location",
    "ModelExecutor",
    "RealToolExecutor",
    "apply_change",
    "default_executor",
    "parse_change",
    "read_change",
    "supported_verbs",
]
