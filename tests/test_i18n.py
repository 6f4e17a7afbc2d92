"""Every user-visible string is translatable, and the Vietnamese catalogue is
complete, correct in its placeholders, NFC, and compiled."""

import re
import unicodedata

import pytest
from babel.messages.catalog import Message

from hailong import i18n
from hailong.i18n_tools import compile_catalog, extract, is_translated, po_path, read_catalog

PLACEHOLDER = re.compile(r"\{[^{}]*\}")


def messages(catalog):
    return {m.id: m for m in catalog if m.id}


def test_vietnamese_catalogue_covers_every_string_in_the_code():
    in_code = set(messages(extract()))
    translated = {k for k, m in messages(read_catalog("vi")).items() if is_translated(m)}
    missing = sorted(in_code - translated)
    assert not missing, f"untranslated (run `make i18n` and translate): {missing[:20]}"


def test_a_plural_with_an_empty_form_or_a_fuzzy_message_is_not_translated():
    plural = ("{n} rating", "{n} ratings")
    assert is_translated(Message(plural, ("{n} lượt",)))
    assert not is_translated(Message(plural, ("",)))
    assert not is_translated(Message("Saved.", ""))
    assert not is_translated(Message("Saved.", "Đã lưu.", flags=("fuzzy",)))


def test_translations_keep_placeholders_and_are_nfc():
    for msgid, message in messages(read_catalog("vi")).items():
        ids = msgid if isinstance(msgid, tuple) else (msgid,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for text in filter(None, strings):
            assert set(PLACEHOLDER.findall(text)) == set(PLACEHOLDER.findall(ids[0])), msgid
            assert unicodedata.normalize("NFC", text) == text, msgid


def test_compiled_catalogue_is_up_to_date():
    assert po_path("vi").with_suffix(".mo").read_bytes() == compile_catalog("vi")


@pytest.fixture
def vietnamese():
    before = i18n.current_language()
    i18n.set_language("vi")
    yield
    i18n.set_language(before)


def test_vietnamese_is_what_the_program_says(vietnamese):
    assert i18n._("Thank you for your rating!") == "Cảm ơn Ông/Bà đã đánh giá!"


def test_vietnamese_is_the_default_language(monkeypatch):
    for var in ("HAILONG_LANG", "LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(var, raising=False)
    assert i18n.language_from_environment() == "vi"
