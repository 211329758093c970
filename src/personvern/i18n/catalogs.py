"""Translations: the gettext catalogs in ``locale/{nb,en}/LC_MESSAGES/personvern.po``.

msgids are English; bokmål (``nb``) is the first language of personvern and its catalog
translates every msgid (``tests/web/test_i18n_catalog.py`` fails otherwise). The English
catalog leaves msgstr empty: the msgid is the English text.

The ``.po`` files are read at run time with Babel's ``read_po``: no compiled ``.mo`` files,
no build step, and a translation fixed in the ``.po`` file is live at the next start.
"""

from __future__ import annotations

import functools
import gettext as stdlib_gettext
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from types import MappingProxyType
from typing import Literal, cast
from zoneinfo import ZoneInfo

from babel.dates import format_date as babel_format_date
from babel.dates import format_datetime as babel_format_datetime
from babel.messages.pofile import read_po

Language = Literal["nb", "en"]
LANGUAGES: tuple[Language, ...] = ("nb", "en")
DEFAULT_LANGUAGE: Language = "nb"
DOMAIN = "personvern"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"

# Norwegian shops keep Norwegian time; timestamps are stored in UTC and shown in this zone.
DISPLAY_TIMEZONE = ZoneInfo("Europe/Oslo")


def N_(message: str) -> str:  # the conventional name, one Babel's extractor knows
    """Mark ``message`` for extraction without translating it now (it is translated later,
    in the reader's language, with :meth:`Translator.gettext`)."""
    return message


def catalog_path(lang: Language) -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


@dataclass(frozen=True)
class Translator:
    """The texts of one language. Immutable, so one instance serves every request.

    ``gettext``/``ngettext`` have the signatures Jinja2's i18n extension expects; install
    them with ``env.install_gettext_callables(t.gettext, t.ngettext, newstyle=True)`` (see
    :func:`personvern.i18n.jinja.environment`). A msgid with no translation is returned as
    it is, in English.
    """

    lang: Language
    _singular: Mapping[str, str] = field(repr=False)
    _plural: Mapping[str, tuple[str, ...]] = field(repr=False)
    _plural_index: Callable[[int], int] = field(repr=False)

    def gettext(self, message: str) -> str:
        return self._singular.get(message) or message

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        forms = self._plural.get(singular)
        if forms:
            index = self._plural_index(n)
            if 0 <= index < len(forms) and forms[index]:
                return forms[index]
        return singular if n == 1 else plural

    def format_date(self, value: date) -> str:
        """A date as a reader of this language writes it (``25. nov. 2026``)."""
        return babel_format_date(value, format="medium", locale=self.lang)

    def format_datetime(self, value: datetime) -> str:
        """An aware timestamp in Norwegian time, written as a reader of this language does."""
        return babel_format_datetime(
            value, format="medium", tzinfo=DISPLAY_TIMEZONE, locale=self.lang
        )


def language(value: str) -> Language:
    """``value`` as one of :data:`LANGUAGES`; nynorsk and ``no`` read bokmål.

    Raises :class:`ValueError` naming the valid codes for anything else.
    """
    primary = value.strip().replace("_", "-").split("-")[0].lower()
    if primary in {"nb", "nn", "no"}:
        return "nb"
    if primary == "en":
        return "en"
    raise ValueError(f"unknown language {value!r}: personvern speaks nb (bokmål) and en")


def translator(lang: str) -> Translator:
    """The :class:`Translator` for ``lang`` (``nb``, ``nn``/``no`` read as ``nb``, ``en``)."""
    return _load(language(lang))


@functools.cache
def _load(lang: Language) -> Translator:
    # Cached per process: the catalogs are package data that do not change while running,
    # and reading a .po file on every request would be wasted work.
    with catalog_path(lang).open("rb") as fh:
        catalog = read_po(fh, locale=lang, domain=DOMAIN)
    singular: dict[str, str] = {}
    plural: dict[str, tuple[str, ...]] = {}
    for message in catalog:
        # Fuzzy entries are guesses by the merge tool, not translations: gettext skips them.
        if not message.id or message.fuzzy:
            continue
        if isinstance(message.id, tuple | list):
            strings = tuple(str(s) for s in cast(tuple[str, ...], message.string))
            plural[str(message.id[0])] = strings
        elif message.string:
            singular[message.id] = str(message.string)
    return Translator(
        lang=lang,
        _singular=MappingProxyType(singular),
        _plural=MappingProxyType(plural),
        _plural_index=stdlib_gettext.c2py(catalog.plural_expr),
    )
