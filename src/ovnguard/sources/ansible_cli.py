"""The real `ansible-inventory`, for what only Ansible can read: a dynamic inventory script,
an inventory plugin's configuration, a directory of inventories. Run as a command (Ansible's
supported interface), never imported (sources/ansible_inventory.py says why)."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

from ovnguard.errors import InputError
from ovnguard.i18n import _

CLI_TIMEOUT = 120.0

def ansible_inventory_command() -> str | None:
    """`ansible-inventory` on PATH, else beside this Python (a venv with ansible-core)."""
    found = shutil.which("ansible-inventory")
    if found:
        return found
    beside = Path(sys.executable).parent / "ansible-inventory"
    return str(beside) if beside.is_file() and os.access(beside, os.X_OK) else None


def run_ansible_inventory(path: Path, why: str) -> str:
    """`ansible-inventory -i PATH --list` -> its JSON text; unparsable sources are errors
    (not Ansible's default warning and an empty inventory)."""
    cmd = ansible_inventory_command()
    if cmd is None:
        raise InputError(_(
                "{why}: reading it needs ansible-inventory (pip install ansible-core), or give a "
                "static inventory (INI, YAML, hosts:)").format(
                why=why),
                         str(path))
    env = dict(os.environ, ANSIBLE_INVENTORY_UNPARSED_FAILED="True",
               ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED="True", ANSIBLE_NOCOLOR="1",
               ANSIBLE_DEPRECATION_WARNINGS="False")
    try:
        proc = subprocess.run([cmd, "-i", str(path), "--list"], capture_output=True,
                              timeout=CLI_TIMEOUT, env=env, check=False)
    except subprocess.TimeoutExpired:
        raise InputError(_(
                "ansible-inventory --list did not finish within {CLI_TIMEOUT:g}s").format(
                CLI_TIMEOUT=CLI_TIMEOUT),
                         str(path)) from None
    except OSError as e:
        raise InputError(_("cannot run {cmd}: {strerror}").format(cmd=cmd,
            strerror=e.strerror), str(path)) from None
    if proc.returncode != 0:
        lines = [ln.strip() for ln in proc.stderr.decode(errors="replace").splitlines()
                 if ln.strip()]
        why_failed = next((ln for ln in lines if ln.startswith(("[ERROR]", "ERROR"))),
                          lines[-1] if lines else f"exit status {proc.returncode}")
        raise InputError(_(
                "ansible-inventory could not read it: {why_failed}").format(
                why_failed=why_failed), str(path))
    return proc.stdout.decode("utf-8", errors="replace")


def executable_script(path: Path) -> bool:
    """A dynamic inventory: an executable file starting with `#!` (Ansible runs any
    executable file; a static one with the x bit set by accident is read as text)."""
    if not (path.is_file() and os.access(path, os.X_OK)):
        return False
    with contextlib.suppress(OSError), path.open("rb") as f:
        return f.read(2) == b"#!"
    return False
