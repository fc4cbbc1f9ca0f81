"""A fan-out reads the identity and known_hosts files once, not once per host."""

from __future__ import annotations

from pathlib import Path

import asyncssh

from ovnguard.sources.remote import SshOptions, Target


def _files(tmp_path: Path, hosts: int) -> tuple[Path, Path]:
    key = asyncssh.generate_private_key("ssh-ed25519")
    ident = tmp_path / "id_ed25519"
    key.write_private_key(str(ident))
    host_pub = asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode()
    kh = tmp_path / "known_hosts"
    kh.write_text("".join(f"[127.0.0.1]:{22000 + i} {host_pub}" for i in range(hosts)))
    return ident, kh


def test_loaded_options_hand_asyncssh_parsed_objects(tmp_path: Path) -> None:
    ident, kh = _files(tmp_path, 500)
    ssh = SshOptions(identities=(ident,), known_hosts=kh).loaded()
    kw = ssh.connect_kwargs(Target(name="h", address="127.0.0.1", port=22001))
    assert isinstance(kw["known_hosts"], asyncssh.SSHKnownHosts)
    assert [type(k) for k in kw["client_keys"]] and all(
        isinstance(k, asyncssh.SSHKeyPair) for k in kw["client_keys"])
    # the parsed file still decides: host 22001 is known, with that key
    trusted, *_ = kw["known_hosts"].match("127.0.0.1", "127.0.0.1", 22001)
    assert trusted
    unknown, *_ = kw["known_hosts"].match("127.0.0.1", "127.0.0.1", 23999)
    assert not unknown


def test_unreadable_files_stay_paths_so_each_host_reports_them(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    ssh = SshOptions(known_hosts=missing).loaded()
    kw = ssh.connect_kwargs(Target(name="h", address="10.0.0.1"))
    assert kw["known_hosts"] == str(missing)


def test_without_known_hosts_asyncssh_keeps_choosing(tmp_path: Path) -> None:
    ident, _ = _files(tmp_path, 1)
    kw = SshOptions(identities=(ident,)).loaded().connect_kwargs(
        Target(name="h", address="10.0.0.1"))
    assert "known_hosts" not in kw  # ssh config / ~/.ssh/known_hosts, as before
