import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if shutil.which("ovsdb-server") and shutil.which("ovn-nbctl"):
        return
    skip = pytest.mark.skip(reason="OVS/OVN Debian packages not installed (run ./install.sh)")
    for item in items:
        if "lab" in item.keywords or "realdb" in item.keywords:
            item.add_marker(skip)
