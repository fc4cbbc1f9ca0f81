"""Secrets stay out: Neutron's passwords, URL credentials, secrets and private keys are
redacted by collect and the sos reader, the bundle says so, and nothing prints them."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from ovnguard.cli.demo import example_dir
from ovnguard.sources.neutron_ini import parse_ini, read_neutron
from ovnguard.sources.redact import REDACTED, redact_files, redact_ini
from ovnguard.sources.sosreport import sos_collection

EX = example_dir()
OVNGUARD = str(Path(sys.executable).parent / "ovnguard")
SECRET = "S3cr3t-pw"
NEUTRON_CONF = f"""[DEFAULT]
core_plugin = ml2
transport_url = rabbit://openstack:{SECRET}@10.0.0.1:5672,openstack:{SECRET}x@10.0.0.2:5672//
metadata_proxy_shared_secret = {SECRET}

[database]
connection = mysql+pymysql://neutron:{SECRET}@10.0.0.5/neutron

[keystone_authtoken]
auth_url = http://admin:{SECRET}@10.0.0.9:5000
password = {SECRET}
memcache_secret_key : {SECRET}

[nova]
nova_password = {SECRET}
  {SECRET}-continued

[ovn]
ovn_nb_connection = tcp:10.0.0.1:6641
ovn_sb_certificate = /etc/neutron/ovn.crt
"""


def test_every_known_secret_is_redacted_and_the_rest_kept() -> None:
    r = redact_ini(NEUTRON_CONF)
    assert SECRET not in r.text
    assert r.count == 9  # the continuation line of nova_password counts on its own
    parsed = parse_ini(r.text, "neutron.conf")
    assert parsed["DEFAULT"]["core_plugin"] == "ml2"
    assert parsed["DEFAULT"]["transport_url"] == (
        f"rabbit://openstack:{REDACTED}@10.0.0.1:5672,openstack:{REDACTED}@10.0.0.2:5672//")
    assert parsed["database"]["connection"] == (
        f"mysql+pymysql://neutron:{REDACTED}@10.0.0.5/neutron")
    assert parsed["keystone_authtoken"]["password"] == REDACTED
    assert parsed["ovn"]["ovn_nb_connection"] == "tcp:10.0.0.1:6641"
    assert parsed["ovn"]["ovn_sb_certificate"] == "/etc/neutron/ovn.crt"


def test_pem_private_keys_are_redacted() -> None:
    text = (f"[ssl]\nkey =\n  -----BEGIN PRIVATE KEY-----\n  MIIB{SECRET}\n"
            "  -----END PRIVATE KEY-----\ncert_file = /etc/x.crt\n")
    r = redact_ini(text)
    assert SECRET not in r.text and "PEM private key" in r.keys
    assert parse_ini(r.text, "x.ini")["ssl"]["cert_file"] == "/etc/x.crt"


def test_clean_files_are_untouched() -> None:
    files = {"neutron/plugins/ml2/ml2_conf.ini": b"[ml2]\nmechanism_drivers = ovn\n"}
    assert redact_files(files) == []
    assert files["neutron/plugins/ml2/ml2_conf.ini"] == b"[ml2]\nmechanism_drivers = ovn\n"


def _sos(root: Path) -> Path:
    sos = root / "sosreport-h1-2024-01-01"
    (sos / "sos_commands" / "host").mkdir(parents=True)
    (sos / "sos_commands" / "host" / "hostname").write_text("h1\n")
    (sos / "etc" / "neutron").mkdir(parents=True)
    (sos / "etc" / "neutron" / "neutron.conf").write_text(NEUTRON_CONF)
    return sos


def test_sos_reader_redacts_by_default_and_says_so(tmp_path: Path) -> None:
    sos = _sos(tmp_path)
    h = sos_collection([sos]).hosts[0]
    data = h.neutron["neutron/neutron.conf"]
    assert SECRET.encode() not in data
    assert any("secret value(s) redacted" in p and SECRET not in p for p in h.problems)
    # check --sosreport has no --keep-secrets (and writes nothing): its note names none
    assert not any("--keep-secrets" in p for p in h.problems)
    kept = sos_collection([sos], keep_secrets=True).hosts[0]
    assert SECRET.encode() in kept.neutron["neutron/neutron.conf"]


def test_a_redacted_bundle_says_so_in_its_notes(tmp_path: Path) -> None:
    etc = tmp_path / "etc"
    (etc / "neutron").mkdir(parents=True)
    files = {"neutron/neutron.conf": NEUTRON_CONF.encode()}
    redact_files(files)
    (etc / "neutron" / "neutron.conf").write_bytes(files["neutron/neutron.conf"])
    parsed, notes = read_neutron(etc, "hosts/h1/etc")
    assert parsed["neutron/neutron.conf"]["DEFAULT"]["core_plugin"] == "ml2"
    assert notes == ["hosts/h1/etc/neutron/neutron.conf: secret values were redacted when it "
                     "was collected"]


def test_a_bundle_not_written_by_collect_has_its_secrets_left_out_on_reading(
        tmp_path: Path) -> None:
    # e.g. written by contrib/ansible/collect.yml, which copies Neutron's files as they are
    etc = tmp_path / "etc"
    (etc / "neutron").mkdir(parents=True)
    (etc / "neutron" / "neutron.conf").write_text(NEUTRON_CONF)
    parsed, notes = read_neutron(etc, "hosts/h1/etc")
    conf = parsed["neutron/neutron.conf"]
    assert SECRET not in repr(conf) and SECRET not in repr(notes)
    assert conf["database"]["connection"] == f"mysql+pymysql://neutron:{REDACTED}@10.0.0.5/neutron"
    assert conf["DEFAULT"]["core_plugin"] == "ml2"
    assert conf["ovn"]["ovn_nb_connection"] == "tcp:10.0.0.1:6641"
    (note,) = notes
    assert note.startswith("hosts/h1/etc/neutron/neutron.conf: 9 secret value(s) (")
    assert "still holds them" in note


def test_reports_and_errors_never_print_a_secret(tmp_path: Path) -> None:
    b = tmp_path / "bundle"
    shutil.copytree(EX / "bundle", b)
    conf = b / "hosts" / "compute1" / "etc" / "neutron" / "neutron.conf"
    conf.write_text(NEUTRON_CONF)
    for fmt in ("text", "json", "sarif", "html"):
        p = subprocess.run([OVNGUARD, "check", "-b", str(b), "--change",
                            str(EX / "change-corrected.sh"), "-f", fmt, "-v"],
                           capture_output=True, text=True, timeout=120)
        assert p.returncode == 1, p.stderr
        assert SECRET not in p.stdout + p.stderr
    # a malformed line holding a password: the error names file and line, not the value
    conf.write_text(NEUTRON_CONF + f"\nrabbit_passwd {SECRET}\n")
    p = subprocess.run([OVNGUARD, "check", "-b", str(b), "--change",
                        str(EX / "change-corrected.sh")], capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == 2
    assert f"{conf}:" in p.stderr and SECRET not in p.stderr


def test_collect_redacts_by_default_and_keep_secrets_keeps(tmp_path: Path) -> None:
    """`ovnguard collect` against a real ovsdb-server (this host's OVS stand-in) and a Neutron
    directory holding passwords."""
    import pytest

    if shutil.which("ovsdb-server") is None:
        pytest.skip("needs the OVS Debian packages")
    from helpers.real_db import RealDb

    neutron = tmp_path / "neutron"
    neutron.mkdir()
    (neutron / "neutron.conf").write_text(NEUTRON_CONF)
    with RealDb(tmp_path / "conf.db", "vswitch") as db:
        for extra in ([], ["--keep-secrets"]):
            out = tmp_path / ("kept" if extra else "bundle")
            p = subprocess.run([OVNGUARD, "collect", "--out", str(out), "--ovs",
                                f"unix:{db.sock}", "--neutron-dir", str(neutron), "--host",
                                "h1", *extra], capture_output=True, text=True, timeout=120)
            assert p.returncode == 0, p.stderr
            written = (out / "hosts" / "h1" / "etc" / "neutron" / "neutron.conf").read_text()
            assert SECRET not in p.stdout + p.stderr
            if extra:
                assert written == NEUTRON_CONF
            else:
                assert SECRET not in written
                assert written.startswith("# ovnguard: 9 secret value(s) redacted")
                assert "h1: etc/neutron/neutron.conf: 9 secret value(s) redacted" in p.stderr
                assert "`--keep-secrets` keeps them" in p.stderr
