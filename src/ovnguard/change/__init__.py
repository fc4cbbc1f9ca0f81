"""The change file: parse it, and apply it to a copy of the model (fork-and-diff).

    change = parse_change(text, "change.sh", default_host=None)   # or read_change(path)
    result = apply_change(snapshot, change)    # pure: result.snapshot, .problems, .applied

See docs/change-file.md for the syntax, the supported commands and the transaction semantics.
"""

from ovnguard.change.apply import apply_change, supported_verbs
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
    "Invocation",
    "Location",
    "apply_change",
    "parse_change",
    "read_change",
    "supported_verbs",
]
