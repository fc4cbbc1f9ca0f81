"""Neutron config files read with oslo.config's rules (and, where oslo.config is installed,
checked against its own parser)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ovnguard.errors import InputError
from ovnguard.sources.neutron_ini import parse_ini, read_ini, read_neutron

# Shapes seen in real deployments: kolla/devstack-style ml2_conf.ini, a value continued on
# an indented line, `:` as separator, quotes, an inline '#', a key given twice, a section
# given twice, a mixed-case section name.
SAMPLE = """\
# ml2_conf.ini written by a deployment tool
[DEFAULT]
debug = False

[ml2]
type_drivers = local,flat,vlan,geneve
tenant_network_types = geneve
mechanism_drivers = ovn
extension_drivers = port_security,
    qos

[ml2_type_flat]
flat_networks = physnet1,physnet2   # provider networks

[OVN]
ovn_nb_connection: tcp:10.10.0.11:6641
ovn_sb_connection = "tcp:10.10.0.11:6642"
ovn_metadata_enabled = True
; a semicolon comment
ovn_metadata_enabled = False

[ml2]
path_mtu = 1442
empty =
"""


def test_colon_makes_an_assignment() -> None:
    # oslo.config splits at the first ':' or '=': a forgotten '=' before a value holding
    # ':' is not an error but a strange key -- exactly what Neutron would see.
    s = parse_ini("[ovs]\nbridge_mappings physnet1:br-ex\n", "x")
    assert s == {"ovs": {"bridge_mappings physnet1": "br-ex"}}


def test_oslo_semantics() -> None:
    s = parse_ini(SAMPLE, "ml2_conf.ini")
    assert s["DEFAULT"] == {"debug": "False"}
    assert s["ml2"]["extension_drivers"] == "port_security,\nqos"
    assert s["ml2"]["path_mtu"] == "1442"  # a repeated section adds to the first
    assert s["ml2"]["mechanism_drivers"] == "ovn"
    assert s["ml2"]["empty"] == ""
    assert s["ml2_type_flat"]["flat_networks"] == "physnet1,physnet2   # provider networks"
    assert "OVN" not in s  # groups are looked up lowercased, as oslo.config does
    assert s["ovn"]["ovn_nb_connection"] == "tcp:10.10.0.11:6641"
    assert s["ovn"]["ovn_sb_connection"] == "tcp:10.10.0.11:6642"
    assert s["ovn"]["ovn_metadata_enabled"] == "False"  # last one wins


def test_same_as_oslo_config() -> None:
    iniparser = pytest.importorskip("oslo_config.iniparser")

    class Collect(iniparser.BaseParser):  # type: ignore[misc,name-defined]
        def __init__(self) -> None:
            self.sections: dict[str, dict[str, list[str]]] = {}
            self.section: str | None = None

        def new_section(self, section: str) -> None:
            self.section = section if section == "DEFAULT" else section.lower()
            self.sections.setdefault(self.section, {})

        def assignment(self, key: str, value: list[str]) -> None:
            assert self.section is not None
            self.sections[self.section].setdefault(key, []).append("\n".join(value))

    oslo = Collect()
    oslo.parse(SAMPLE.splitlines(keepends=True))
    expected = {sec: {k: v[-1] for k, v in kv.items()} for sec, kv in oslo.sections.items()}
    assert parse_ini(SAMPLE, "x") == expected


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("[ovs]\nbridge_mappings physnet1 br-ex\n", 2, "not 'key = value'"),
        ("bridge_mappings = physnet1:br-ex\n[ovs]\n", 1, "before any [section]"),
        ("# top\n  indented = 1\n", 2, "unexpected continuation line"),
        ("[ovs\nx = 1\n", 1, "invalid section header"),
        ("[ovs]\n[]\n", 2, "empty section name"),
        ("[ovs]\n= value\n", 2, "empty key"),
        # a comment ends an assignment, so an indented line after it continues nothing
        ("[ovs]\na = 1\n# note\n  more\n", 4, "unexpected continuation line"),
    ],
)
def test_errors_name_the_line(text: str, line: int, fragment: str) -> None:
    with pytest.raises(InputError) as ei:
        parse_ini(text, "etc/neutron/plugins/ml2/openvswitch_agent.ini")
    assert (ei.value.path, ei.value.line) == ("etc/neutron/plugins/ml2/openvswitch_agent.ini",
                                              line)
    assert fragment in str(ei.value) and "\n" not in str(ei.value)


def test_errors_agree_with_oslo_config() -> None:
    iniparser = pytest.importorskip("oslo_config.iniparser")

    class Strict(iniparser.BaseParser):  # type: ignore[misc,name-defined]
        section: str | None = None

        def new_section(self, section: str) -> None:
            self.section = section

        def assignment(self, key: str, value: list[str]) -> None:
            if self.section is None:
                raise iniparser.ParseError("no section", self.lineno, key)

    # (An assignment before any section is left out: oslo.config reports it on the line
    # after, when the value is complete; we name the line of the key.)
    for text in ("[ovs]\nbridge_mappings physnet1 br-ex\n", "# top\n  indented = 1\n",
                 "[ovs\nx = 1\n", "[ovs]\n[]\n", "[ovs]\n= value\n",
                 "[ovs]\na = 1\n# note\n  more\n"):
        with pytest.raises(iniparser.ParseError) as oe:
            Strict().parse(text.splitlines(keepends=True))
        with pytest.raises(InputError) as ours:
            parse_ini(text, "f")
        assert ours.value.line == oe.value.lineno, text


def test_read_neutron_tree(tmp_path: Path) -> None:
    etc = tmp_path / "etc"
    (etc / "neutron/plugins/ml2").mkdir(parents=True)
    (etc / "neutron/plugins/ml2/ml2_conf.ini").write_text(SAMPLE)
    (etc / "neutron/neutron.conf").write_text("[DEFAULT]\ncore_plugin = ml2\n")
    (etc / "neutron/rootwrap.d").mkdir()
    (etc / "neutron/rootwrap.d/dhcp.filters").write_text("not ini at all")
    (etc / "neutron/policy.yaml").write_text("{}")
    (etc / "neutron/dnsmasq-neutron.conf").write_text("dhcp-option-force=26,1450\n")
    (etc / "neutron/empty.ini").write_text("")
    files, notes = read_neutron(etc, "hosts/c1/etc")
    assert sorted(files) == ["neutron/empty.ini", "neutron/neutron.conf",
                             "neutron/plugins/ml2/ml2_conf.ini"]
    assert files["neutron/neutron.conf"]["DEFAULT"]["core_plugin"] == "ml2"
    assert files["neutron/empty.ini"] == {}
    assert notes == ["hosts/c1/etc/neutron/dnsmasq-neutron.conf has no [section], so it is "
                     "not an oslo.config file: ignored"]
    assert read_neutron(tmp_path / "nowhere") == ({}, [])


def test_not_utf8(tmp_path: Path) -> None:
    f = tmp_path / "x.ini"
    f.write_bytes(b"[DEFAULT]\nhost = caf\xe9\n")
    with pytest.raises(InputError) as ei:
        read_ini(f)
    assert (ei.value.path, ei.value.line) == (str(f), 2)
