import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo

from hailong import i18n

THANKS = "Thank you for your rating!"
CAM_ON = "Cảm ơn Ông/Bà đã đánh giá!"


@pytest.fixture
def catalogue(tmp_path, monkeypatch):
    """A real compiled Vietnamese catalogue with one message, in place of the shipped one."""
    catalog = Catalog(locale="vi", domain=i18n.DOMAIN)
    catalog.add(THANKS, CAM_ON)
    folder = tmp_path / "vi" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    with (folder / f"{i18n.DOMAIN}.mo").open("wb") as mo:
        write_mo(mo, catalog)
    previous = i18n.current_language()
    monkeypatch.setattr(i18n, "LOCALE_DIR", tmp_path)
    yield
    monkeypatch.undo()
    i18n.set_language(previous)


def test_kv_texts_are_translated_again_when_the_language_changes(catalogue):
    from kivy.lang import Builder

    from hailong.kiosk.screens.kv_i18n import _

    _.switch_language("en")
    label = Builder.load_string(
        "#:import _ hailong.kiosk.screens.kv_i18n._\n"
        "Label:\n"
        f'    text: _("{THANKS}")\n'
    )
    assert label.text == THANKS
    _.switch_language("vi")
    assert label.text == CAM_ON
    _.switch_language("en")
    assert label.text == THANKS
