"""Catalogue maintenance: `python -m hailong.i18n_tools update` (what `make i18n` runs).

Extracts every `_()` string from the Python sources, the `.kv` screens and the
server's templates into `hailong/locale/hailong.pot`, merges it into each
language's `.po` (new strings arrive untranslated), and compiles the `.mo` files
the program reads.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

from hailong.i18n import DOMAIN, LOCALE_DIR

ROOT = LOCALE_DIR.parent.parent
SOURCE_DIRS = ("hailong", "config", "device", "kiosk", "sync")
TRANSLATED = ("vi",)
METHODS = [
    ("**/locale/**", "ignore"),
    ("**.py", "python"),
    ("**.kv", "hailong.i18n_tools:extract_kv"),
    ("**/templates/**.html", "jinja2"),
]
KEYWORDS = {"_": None, "N_": None, "ngettext": (1, 2)}
_KV_CALL = re.compile(r"""\b_\(\s*(?P<q>["'])(?P<text>(?:\\.|(?!(?P=q)).)*)(?P=q)\s*\)""")


def _kv_unescape(text: str) -> str:
    """Python escapes (\\n, \\", \\u00e0) in a kv string, leaving other letters as they
    are (`unicode_escape` alone would read UTF-8 text as Latin-1)."""
    return re.sub(
        r"\\(u[0-9a-fA-F]{4}|x[0-9a-fA-F]{2}|[ -~])",
        lambda m: m.group(0).encode("ascii").decode("unicode_escape"),
        text,
    )


def extract_kv(
    fileobj: Any, keywords: Any, comment_tags: Any, options: Any
) -> Iterator[tuple[int, str, str, list[str]]]:
    """Babel extractor for Kivy language files: `_("...")` inside property values."""
    for number, raw in enumerate(fileobj.read().decode("utf-8").splitlines(), start=1):
        for match in _KV_CALL.finditer(raw):
            yield number, "_", _kv_unescape(match.group("text")), []


def extract() -> Catalog:
    catalog = Catalog(project="hailong", domain=DOMAIN, charset="utf-8")
    for folder in SOURCE_DIRS:
        for filename, lineno, message, comments, context in extract_from_dir(
            ROOT / folder,
            METHODS,
            KEYWORDS,
            comment_tags=("TRANSLATORS:",),
            strip_comment_tags=True,
        ):
            catalog.add(
                message,
                None,
                [(f"{folder}/{filename}", lineno)],
                auto_comments=comments,
                context=context,
            )
    return catalog


def po_path(lang: str) -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


def read_catalog(lang: str) -> Catalog:
    with po_path(lang).open("rb") as handle:
        return read_po(handle, locale=lang, domain=DOMAIN)


def is_translated(message: Message) -> bool:
    """Whether `message` has a translation the program will use: every plural form
    filled (a plural's string is a tuple, true even when its forms are empty), and not
    fuzzy (the compiled catalogue leaves fuzzy ones out)."""
    strings = message.string if isinstance(message.string, tuple) else (message.string,)
    return all(strings) and not message.fuzzy


def compile_catalog(lang: str) -> bytes:
    import io

    buffer = io.BytesIO()
    write_mo(buffer, read_catalog(lang), use_fuzzy=False)
    return buffer.getvalue()


def update() -> int:
    template = extract()
    LOCALE_DIR.mkdir(parents=True, exist_ok=True)
    with (LOCALE_DIR / f"{DOMAIN}.pot").open("wb") as handle:
        write_po(handle, template, omit_header=False, sort_output=True, width=100)
    missing_total = 0
    for lang in TRANSLATED:
        path = po_path(lang)
        path.parent.mkdir(parents=True, exist_ok=True)
        catalog = read_catalog(lang) if path.exists() else Catalog(locale=lang, domain=DOMAIN)
        catalog.update(template, no_fuzzy_matching=True)
        with path.open("wb") as handle:
            write_po(handle, catalog, sort_output=True, width=100, ignore_obsolete=True)
        path.with_suffix(".mo").write_bytes(compile_catalog(lang))
        missing = [m.id for m in read_catalog(lang) if m.id and not is_translated(m)]
        missing_total += len(missing)
        print(f"{lang}: {len(template)} messages, {len(missing)} untranslated")
    return 1 if missing_total else 0


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else "update"
    if command != "update":
        sys.exit("usage: python -m hailong.i18n_tools update")
    sys.exit(update())
