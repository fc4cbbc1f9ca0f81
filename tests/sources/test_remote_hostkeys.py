"""SSH host keys are always verified by the fan-out, whatever the ssh config says, unless the
operator passes `--insecure-host-keys` (real sshd hosts in namespaces, tests/sources).

asyncssh reads `UserKnownHostsFile none` in ~/.ssh/config as "check nothing": without the
refusal the fan-out would connect to anyone answering on the host's address.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from helpers.ssh_tools import SshCluster, build_cluster, require_sshd, teardown, write_inventory
from ovnguard.lab import netns


@pytest.fixture(scope="module")
def two_hosts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshCluster]:
    """h01 with its key in the cluster's known_hosts, hkey with a key nobody knows."""
    require_sshd()
    d = tmp_path_factory.mktemp("sshk")
    cluster = build_cluster(d, {"h01": "ok", "hkey": "unknown-key"})
    try:
        yield cluster
    finally:
        teardown(cluster)
        assert not [n for n in netns.list_namespaces("ovng-") if cluster.id in n]


def _collect(c: SshCluster, tmp: Path, config: str, *extra: str) -> tuple[int, str, Path]:
    cfg = tmp / "ssh_config"
    cfg.write_text(config)
    out = tmp / "bundle"
    p = c.run_cli("collect", "--inventory", str(write_inventory(c, tmp / "hosts.yaml")),
                  "--out", str(out), "--timeout", "10", "--identity", str(c.keys.client),
                  "--user", "root", "--ssh-config", str(cfg), *extra)
    assert "Traceback" not in p.stderr
    return p.returncode, p.stderr, out


def _collected(out: Path) -> list[str]:
    return sorted(p.name for p in (out / "hosts").iterdir()) if (out / "hosts").exists() \
        else []


def test_an_ssh_config_that_turns_checking_off_is_refused(
    two_hosts: SshCluster, tmp_path: Path
) -> None:
    code, err, out = _collect(two_hosts, tmp_path, "Host *\n  UserKnownHostsFile none\n"
                              "  StrictHostKeyChecking no\n")
    assert code == 1, err
    for h in two_hosts.hosts:
        assert (f"FAILED   {h.name}: host key checking is off for {h.address} in the ssh "
                "config (UserKnownHostsFile none): refused") in err, err
    assert "--insecure-host-keys" in err
    assert _collected(out) == []


def test_strict_host_key_checking_no_alone_still_checks(
    two_hosts: SshCluster, tmp_path: Path
) -> None:
    code, err, out = _collect(two_hosts, tmp_path, "Host *\n  StrictHostKeyChecking no\n",
                              "--known-hosts", str(two_hosts.known_hosts))
    assert code == 1, err
    assert "FAILED   hkey: host key of 10.77.0.12 not verifiable" in err, err
    assert _collected(out) == ["h01"]


def test_an_explicit_known_hosts_file_wins_over_the_config(
    two_hosts: SshCluster, tmp_path: Path
) -> None:
    code, err, out = _collect(two_hosts, tmp_path, "Host *\n  UserKnownHostsFile none\n",
                              "--known-hosts", str(two_hosts.known_hosts))
    assert code == 1, err
    assert "FAILED   hkey: host key of 10.77.0.12 not verifiable" in err, err
    assert _collected(out) == ["h01"]


def test_insecure_host_keys_is_the_operators_choice(
    two_hosts: SshCluster, tmp_path: Path
) -> None:
    code, err, out = _collect(two_hosts, tmp_path, "Host *\n  UserKnownHostsFile none\n",
                              "--insecure-host-keys")
    assert code == 0, err
    assert _collected(out) == ["h01", "hkey"]
