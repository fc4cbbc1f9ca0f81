"""Found by the fuzz run (docs/security.md): change text that used to end in a traceback."""

from __future__ import annotations

from ovnguard.change.parse import parse_change


def test_dollar_before_a_non_ascii_letter_is_literal() -> None:
    # shell variable names are ASCII: `$Ü` is the two characters, as bash prints them
    change = parse_change("ovn-nbctl ls-add a$Üb\n", "c.sh")
    assert change.commands[0].args == ("a$Üb",)


def test_backslash_before_an_ordinary_character_in_double_quotes() -> None:
    change = parse_change('ovn-nbctl ls-add "a\\b"\n', "c.sh")
    assert change.commands[0].args == ("a\\b",)


def test_a_nul_byte_in_a_word_is_unknown_not_a_traceback() -> None:
    # found by the fuzz run: the real tool was started with it (ValueError: embedded null byte)
    c = parse_change("ovn-nbctl ls-add a\x00b\n# host: compute1\novs-vsctl add-br b\x00r\n", "c.sh")
    assert not c.invocations
    assert [(p.kind, p.location.line) for p in c.problems] == [("unsupported-command", 1),
                                                               ("unsupported-command", 3)]
    assert all("NUL byte" in p.message for p in c.problems)
