"""Errors that reach the user as one line, never as a traceback."""

from __future__ import annotations


class OvnguardError(Exception):
    """Base class for errors ovnguard reports to the user."""

    exit_code = 2


class InputError(OvnguardError):
    """Bad input (a bundle file, a change file, a topology file, an option).

    `path` and `line` point at the fault so the message can name them.
    """

    def __init__(self, message: str, path: str | None = None, line: int | None = None) -> None:
        self.path = path
        self.line = line
        self.message = message
        where = ""
        if path is not None:
            where = f"{path}:{line}: " if line is not None else f"{path}: "
        super().__init__(f"{where}{message}")


class LabError(OvnguardError):
    """The lab could not be started, reached or stopped."""

    exit_code = 3
