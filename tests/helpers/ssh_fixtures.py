"""Fixtures for the SSH fan-out tests (helpers in ssh_tools.py). Not a conftest.py:
tests/lab imports `conftest` by name; test modules load this with
`pytest_plugins = ("helpers.ssh_fixtures",)`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from helpers.real_db import RealDb
from helpers.ssh_tools import PREFIX, SshCluster, build_cluster, require_sshd, teardown
from ovnguard.lab import netns

KINDS = {**{f"h{i:02d}": "ok" for i in range(1, 11)},
         "hdown": "down", "hhang": "hang", "hkey": "unknown-key"}


@pytest.fixture(scope="module")
def ssh_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshCluster]:
    """10 good hosts (h01..h10), one down, one whose command hangs, one with an unknown host
    key. Commands on good hosts take >= 0.2 s (so concurrency is measurable)."""
    require_sshd()
    d = tmp_path_factory.mktemp("sshc")
    cluster = build_cluster(d, KINDS, delay=0.2)
    # a Northbound database reachable over SSH from h01 (its unix socket)
    nb = RealDb(d / "nb.db", "nb")
    nb.__enter__()
    cluster.dbs.append(nb)
    nb.run("ls-add public -- lsp-add public ln-physnet1 -- lsp-set-type ln-physnet1 localnet "
           "-- lsp-set-options ln-physnet1 network_name=physnet1")
    cluster.nb_sock = nb.sock
    try:
        yield cluster
    finally:
        teardown(cluster)
        assert not [n for n in netns.list_namespaces(PREFIX) if cluster.id in n]
