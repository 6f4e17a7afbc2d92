"""Translations: every user-visible string goes through `_()`.

Message ids are English; Vietnamese is the default language. Catalogues live in
`hailong/locale/<lang>/LC_MESSAGES/hailong.mo` (built from the `.po` beside them
with `make i18n`).
"""

from __future__ import annotations

import gettext
import os
import unicodedata
from pathlib import Path

DOMAIN = "hailong"
LOCALE_DIR = Path(__file__).with_name("locale")
LANGUAGES = ("vi", "en")
DEFAULT_LANGUAGE = "vi"

_translation: gettext.NullTranslations = gettext.NullTranslations()
_language = "en"


def language_from_environment() -> str:
    """HAILONG_LANG wins; then the usual locale variables; Vietnamese otherwise."""
    for var in ("HAILONG_LANG", "LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(var, "")
        code = value.split(":")[0].split(".")[0].split("_")[0].lower()
        if code in LANGUAGES:
            return code
    return DEFAULT_LANGUAGE


def set_language(lang: str) -> None:
    global _translation, _language
    if lang not in LANGUAGES:
        raise ValueError(f"unsupported language {lang!r}; choose one of {', '.join(LANGUAGES)}")
    _translation = gettext.translation(
        DOMAIN, localedir=LOCALE_DIR, languages=[lang], fallback=True
    )
    _language = lang


def current_language() -> str:
    return _language


def _(message: str) -> str:
    """Translate `message` into the current language, in Unicode NFC."""
    return unicodedata.normalize("NFC", _translation.gettext(message))


def N_(message: str) -> str:
    """Marks a msgid for extraction where it is defined (module-level tables);
    `_()` translates it where it is shown, in the language of that moment."""
    return message


def ngettext(singular: str, plural: str, n: int) -> str:
    return unicodedata.normalize("NFC", _translation.ngettext(singular, plural, n))


set_language(language_from_environment())
