import atexit
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

# The suite's own $XDG_CACHE_HOME (the tool versions and compiled record methods ovnguard
# remembers: cachefile.py), so a run neither reads nor writes the user's. Set before anything
# imports ovnguard, and removed at exit after ovnguard's own exit handler wrote to it (atexit
# runs the handlers registered later first).
_CACHE = tempfile.mkdtemp(prefix="ovnguard-test-cache-")
os.environ["XDG_CACHE_HOME"] = _CACHE
atexit.register(shutil.rmtree, _CACHE, ignore_errors=True)

sys.path.insert(0, str(Path(__file__).parent))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if shutil.which("ovsdb-server") and shutil.which("ovn-nbctl"):
        return
    skip = pytest.mark.skip(reason="OVS/OVN Debian packages not installed (run ./install.sh)")
    for item in items:
        if "lab" in item.keywords or "realdb" in item.keywords:
            item.add_marker(skip)
