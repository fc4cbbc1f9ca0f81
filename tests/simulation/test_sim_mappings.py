"""ovn-bridge-mappings parsing, following controller/patch.c add_ovs_bridge_mappings()."""

import pytest

from ovnguard.simulation.mappings import (
    chassis_key,
    named_entries,
    parse_bridge_mappings,
    remapped,
)

BRIDGES = {"br-int", "br-ex", "br-public"}


def test_plain_mappings() -> None:
    m = parse_bridge_mappings("physnet1:br-ex,physnet2:br-public", BRIDGES)
    assert dict(m.mappings) == {"physnet1": "br-ex", "physnet2": "br-public"}
    assert m.problems == ()


def test_missing_bridge_is_warned_and_skipped_later_entries_kept() -> None:
    m = parse_bridge_mappings("physnet1:br-nope,physnet2:br-ex", BRIDGES)
    assert dict(m.mappings) == {"physnet2": "br-ex"}
    (p,) = m.problems
    assert (p.level, p.message, p.logged) == (
        "WARN", "Bridge 'br-nope' not found for network 'physnet1'", True)


@pytest.mark.parametrize("bad", ["bogus", ":br-ex", "physnet9:"])
def test_malformed_entry_is_err_and_ignores_every_later_entry(bad: str) -> None:
    raw = f"physnet1:br-ex,{bad},physnet2:br-public"
    m = parse_bridge_mappings(raw, BRIDGES)
    assert dict(m.mappings) == {"physnet1": "br-ex"}
    (p,) = m.problems
    assert p.level == "ERR"
    assert p.message == f"Invalid ovn-bridge-mappings configuration: '{raw}'"
    assert p.entry == bad
    assert p.ignored == ("physnet2:br-public",)


@pytest.mark.parametrize("raw", ["physnet1:br-ex,,physnet2:br-public",
                                 ",physnet2:br-public"])
def test_empty_entry_silently_ends_parsing(raw: str) -> None:
    m = parse_bridge_mappings(raw, BRIDGES)
    assert "physnet2" not in m.mappings
    (p,) = m.problems
    assert not p.logged and p.ignored == ("physnet2:br-public",)


def test_trailing_comma_is_harmless() -> None:
    m = parse_bridge_mappings("physnet1:br-ex,", BRIDGES)
    assert dict(m.mappings) == {"physnet1": "br-ex"} and m.problems == ()


def test_only_first_colon_splits_and_nothing_is_trimmed() -> None:
    m = parse_bridge_mappings("physnet1:br:ex, physnet2:br-ex", BRIDGES | {"br:ex"})
    assert dict(m.mappings) == {"physnet1": "br:ex", " physnet2": "br-ex"}
    assert m.bridge_for("physnet2") is None


def test_unknown_bridges_are_assumed_to_exist() -> None:
    m = parse_bridge_mappings("physnet1:br-anything", None)
    assert dict(m.mappings) == {"physnet1": "br-anything"} and m.problems == ()


def test_unset_and_empty() -> None:
    assert dict(parse_bridge_mappings(None, BRIDGES).mappings) == {}
    assert dict(parse_bridge_mappings("", BRIDGES).mappings) == {}


@pytest.mark.parametrize(
    ("raw", "winner"),
    [
        # Two nodes with one key: the 2nd insertion resizes the hmap (mask 0 -> 3), which
        # reverses their chain order after the 2nd was pushed at the head: the 1st wins.
        ("physnet1:br-ex,physnet1:br-public", "br-ex"),
        # A third entry of another key does not resize again (3 / 2 = 1 <= mask 3): the
        # order stays, the 1st still wins.
        ("physnet1:br-ex,physnet1:br-public,physnet2:br-int", "br-ex"),
        # A 3rd node of the same key is pushed at the head without a resize: it wins.
        ("physnet1:br-ex,physnet1:br-public,physnet1:br-int", "br-int"),
    ],
)
def test_duplicate_network_follows_shash_lookup_order(raw: str, winner: str) -> None:
    m = parse_bridge_mappings(raw, BRIDGES)
    assert m.bridge_for("physnet1") == winner
    dup = [p for p in m.problems if not p.logged]
    assert dup and f"uses '{winner}'" in dup[0].message


def test_chassis_specific_key_wins() -> None:
    ext = {"ovn-bridge-mappings": "a:b", "ovn-bridge-mappings-ch1": "c:d"}
    assert chassis_key(ext, "ch1", "ovn-bridge-mappings") == "ovn-bridge-mappings-ch1"
    assert chassis_key(ext, "ch2", "ovn-bridge-mappings") == "ovn-bridge-mappings"


@pytest.mark.parametrize(("raw", "expected"), [
    # in place of the first entry naming the network, the others untouched and in order
    ("physnet1:br-data,physnet2:br-ex", "physnet1:br-data,physnet2:br-public"),
    ("physnet2:br-ex,physnet1:br-data", "physnet2:br-public,physnet1:br-data"),
    # listed twice: the first place only
    ("physnet2:br-a,physnet1:br-data,physnet2:br-b", "physnet2:br-public,physnet1:br-data"),
    # not there (or nothing set): appended
    ("physnet1:br-data", "physnet1:br-data,physnet2:br-public"),
    (None, "physnet2:br-public"),
    ("", "physnet2:br-public"),
    # every other entry exactly as written: no ':' and a trailing ':' stay apart (named_entries
    # reads both as ("bogus", "")), nothing trimmed, only the first ':' splits
    ("bogus,x:,physnet2:br-ex", "bogus,x:,physnet2:br-public"),
    (" physnet2:br-ex,physnet2:br:ex", " physnet2:br-ex,physnet2:br-public"),
    # empty entries are left out
    ("physnet1:br-data,,physnet3:br-c,", "physnet1:br-data,physnet3:br-c,physnet2:br-public"),
])
def test_remapped_rewrites_one_network(raw: str | None, expected: str) -> None:
    assert remapped(raw, "physnet2", "br-public") == expected
    assert ("physnet2", "br-public") in named_entries(expected)
