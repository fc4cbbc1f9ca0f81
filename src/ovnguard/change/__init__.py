"""The change file: parse it, and apply it to a copy of the model (fork-and-diff).

    change = parse_change(text, "change.sh", default_host=None)   # or read_change(path)
    result = apply_change(snapshot, change)    # result.snapshot, .problems, .applied
    # apply_change runs default_executor(): the real ovn-nbctl / ovs-vsctl on throwaway
    # copies of the databases where installed, else the model (see change/executor.py)

See docs/change-file.md for the syntax, the supported commands and the transaction semantics.
"""

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
