"""`_` for the KV files, which follows a change of language.

    #:import _ hailong.kiosk.screens.kv_i18n._
    Label:
        text: _("Thank you for your rating!")

Kivy's KV compiler binds every rule that calls `_(...)` to the `_` object itself
when that object is an `Observable`; `switch_language` then re-evaluates them all.
"""

from __future__ import annotations

from collections.abc import Callable

from kivy.event import Observable

from hailong import i18n


class KvTranslation(Observable):
    def __init__(self) -> None:
        super().__init__()
        self._observers: list[Callable[..., object]] = []

    def __call__(self, msgid: str) -> str:
        return i18n._(msgid)

    # Observable's default fbind/funbind wrap the rule's callback and call these.
    def bind(self, **kwargs: Callable[..., object]) -> None:
        self._observers.extend(callback for name, callback in kwargs.items() if name == "_")

    def unbind(self, **kwargs: Callable[..., object]) -> None:
        for name, callback in kwargs.items():
            if name == "_" and callback in self._observers:
                self._observers.remove(callback)

    def switch_language(self, language: str) -> None:
        i18n.set_language(language)
        for callback in list(self._observers):
            callback(self, language)


_ = KvTranslation()
