"""The language ovnguard speaks: English or Korean, with the standard gettext machinery.

Messages are written in English in the code and wrapped: `_("...")` where the text is made,
`N_("...")` for text defined at import time and translated where it is shown (rule titles,
explanations). Messages with data use named fields, `_("{host} loses management").format(
host=h)`, so a translation can put the words in its own order.

The catalog is `locale/ko/LC_MESSAGES/ovnguard.po`; the compiled `.mo` next to it is
committed and shipped in the wheel (tests/i18n checks it is up to date and that every
message has a Korean translation). Regenerating is `make i18n` (Babel's pybabel: extract,
update, compile), a development step, so Babel is a dev/test dependency only.

The language is process-wide: the CLI sets it once (`--lang`, else the locale) before any
message is made, so a report assembled afterwards is in that language from end to end.
What never changes with it: JSON keys, rule ids, exit codes, verdict and status words.
"""

from __future__ import annotations

import gettext
import os
from collections.abc import Mapping
from pathlib import Path

DOMAIN = "ovnguard"
LOCALE_DIR = Path(__file__).parent / "locale"
LANGUAGES = ("en", "ko")
DEFAULT = "en"
# The variables gettext itself consults, in its order of precedence.
LOCALE_VARS = ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")

_current = DEFAULT
_translations: gettext.NullTranslations = gettext.NullTranslations()


def language_from_env(environ: Mapping[str, str] | None = None) -> str:
    """"ko" when the first locale variable set names Korean (`LANG=ko_KR.UTF-8`,
    `LANGUAGE=ko:en`), else "en". As gettext: the first non-empty variable decides."""
    env = os.environ if environ is None else environ
    for var in LOCALE_VARS:
        value = env.get(var, "")
        if value:
            first = value.split(":")[0].strip().lower()
            return "ko" if first.startswith("ko") else DEFAULT
    return DEFAULT


def set_language(lang: str) -> None:
    """Speak `lang` ("en" or "ko") from now on in this process."""
    global _current, _translations
    if lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r} (one of {', '.join(LANGUAGES)})")
    _current = lang
    if lang == DEFAULT:
        _translations = gettext.NullTranslations()
    else:
        # fallback=False: a missing catalog is a packaging bug, said loudly
        _translations = gettext.translation(DOMAIN, LOCALE_DIR, languages=[lang])


def current_language() -> str:
    return _current


def _(message: str) -> str:
    """`message` in the current language."""
    return _translations.gettext(message) if message else message


def ngettext(singular: str, plural: str, n: int) -> str:
    """The singular or plural form for `n`, in the current language."""
    return _translations.ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Marks `message` for the catalog without translating it (translated where shown)."""
    return message
