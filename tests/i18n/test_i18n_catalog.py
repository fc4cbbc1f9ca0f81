"""The Korean catalog is complete and shipped as it is written.

Every message the code and the HTML template mark for translation (extracted afresh with
Babel, as `make i18n` does) has a Korean translation that is not fuzzy and uses the same
named placeholders; the committed .mo is the compiled .po; docs/rules.ko.md is what the
registry and the catalog generate."""

from __future__ import annotations

import gettext
import re
import string
import subprocess
import sys
from pathlib import Path

import pytest

from ovnguard import i18n

babel = pytest.importorskip("babel", reason="Babel (the test extra) extracts the messages")
from babel.messages.pofile import read_po  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
LOCALE = ROOT / "src" / "ovnguard" / "locale"
PO = LOCALE / "ko" / "LC_MESSAGES" / "ovnguard.po"
MO = LOCALE / "ko" / "LC_MESSAGES" / "ovnguard.mo"
_PERCENT = re.compile(r"%\((\w+)\)[sdr]")


@pytest.fixture(scope="module")
def pot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("pot") / "ovnguard.pot"
    p = subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "-q", "extract", "-F", "babel.cfg",
         "--no-location", "-o", str(out), "."],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-2000:]
    return out


def _ids(msgid: str | tuple[str, ...]) -> tuple[str, ...]:
    return (msgid,) if isinstance(msgid, str) else tuple(msgid)


def _placeholders(text: str) -> set[str]:
    """Named fields of a str.format message, or %(name)s ones of the template's messages."""
    fields = {f.split(".")[0].split("[")[0]
              for _t, f, _s, _c in string.Formatter().parse(text) if f}
    return fields | set(_PERCENT.findall(text))


def test_every_message_has_a_korean_translation(pot: Path) -> None:
    extracted = [m for m in read_po(pot.open("rb")) if m.id]
    assert len(extracted) > 300, "the extraction found too few messages: babel.cfg?"
    ko = read_po(PO.open("rb"))
    missing, fuzzy, empty = [], [], []
    for m in extracted:
        t = ko.get(m.id)
        if t is None:
            missing.append(m.id)
        elif t.fuzzy:
            fuzzy.append(m.id)
        elif not all(_ids(t.string)) or not t.string:
            empty.append(m.id)
    assert not missing, f"{len(missing)} messages not in the ko catalog (make i18n): {missing[:5]}"
    assert not fuzzy, f"fuzzy translations: {fuzzy[:5]}"
    assert not empty, f"untranslated: {empty[:5]}"


def test_translations_keep_the_placeholders() -> None:
    bad = []
    for m in read_po(PO.open("rb")):
        if not m.id:
            continue
        want = set().union(*(_placeholders(s) for s in _ids(m.id)))
        for s in _ids(m.string):
            if _placeholders(s) != want:
                bad.append((m.id, s))
    assert not bad, bad[:5]


def test_committed_mo_is_the_compiled_po() -> None:
    with MO.open("rb") as f:
        compiled = gettext.GNUTranslations(f)
    for m in read_po(PO.open("rb")):
        if not m.id:
            continue
        if isinstance(m.id, str):
            assert compiled.gettext(m.id) == m.string, f"stale .mo (make i18n): {m.id!r}"
        else:
            assert compiled.ngettext(m.id[0], m.id[1], 1) == m.string[0], m.id


def test_korean_rule_docs_are_generated_from_the_catalog() -> None:
    from ovnguard.findings.docs import render_markdown

    try:
        text = render_markdown("ko")
    finally:
        i18n.set_language("en")
    assert (ROOT / "docs" / "rules.ko.md").read_text() == text, (
        "docs/rules.ko.md is stale: python -m ovnguard.findings.docs --lang ko > "
        "docs/rules.ko.md")
    assert "### `l2-loop` — 한 스위치의 localnet 포트 두 개가 한 브리지에: L2 루프" in text


@pytest.mark.parametrize(("env", "lang"), [
    ({"LANG": "ko_KR.UTF-8"}, "ko"),
    ({"LANG": "en_US.UTF-8"}, "en"),
    ({"LANG": "C.UTF-8"}, "en"),
    ({}, "en"),
    ({"LANGUAGE": "ko:en", "LANG": "en_US.UTF-8"}, "ko"),
    ({"LC_ALL": "en_GB.UTF-8", "LANG": "ko_KR.UTF-8"}, "en"),
    ({"LC_MESSAGES": "ko_KR.UTF-8"}, "ko"),
])
def test_language_from_the_locale(env: dict[str, str], lang: str) -> None:
    assert i18n.language_from_env(env) == lang


def test_switching_language() -> None:
    try:
        i18n.set_language("ko")
        assert i18n._("Not checked") == "검사하지 못한 것"
        i18n.set_language("en")
        assert i18n._("Not checked") == "Not checked"
        with pytest.raises(ValueError):
            i18n.set_language("fr")
    finally:
        i18n.set_language("en")
