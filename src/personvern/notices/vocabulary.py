"""The inventory's codes in words, in bokmål or English, for the notices.

The words are data (``vocabulary.yaml``): every leaf is a ``{nb, en}`` pair, and
:func:`load_vocabulary` refuses a file in which one language is missing, so no notice can
show a code in one language and words in the other. Dates, countries and lists use Babel's
CLDR data for the language, so ``2025-11-25`` reads "25. november 2025" in bokmål.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib import resources
from typing import Any, Literal

import yaml
from babel import Locale
from babel.dates import format_date
from babel.lists import format_list

from personvern.inventory.durations import Period

Lang = Literal["nb", "en"]
LANGS: tuple[Lang, ...] = ("nb", "en")

# CLDR locales: British English writes "25 November 2025", which suits a Norwegian shop
# better than the US order.
_CLDR: Mapping[Lang, str] = {"nb": "nb_NO", "en": "en_GB"}


class VocabularyError(ValueError):
    """``vocabulary.yaml`` is malformed: a leaf lacks a language, or a path is unknown."""


def _check_pairs(node: Any, path: str) -> None:
    if isinstance(node, Mapping) and set(node) == set(LANGS):
        return
    if isinstance(node, Mapping):
        if not node:
            raise VocabularyError(f"{path or 'the vocabulary'} is empty")
        for key, value in node.items():
            _check_pairs(value, f"{path}.{key}" if path else str(key))
        return
    raise VocabularyError(f"{path} must be a pair {{nb: ..., en: ...}}")


@cache
def load_vocabulary() -> Mapping[str, Any]:
    """The parsed ``vocabulary.yaml``, checked to have bokmål and English for every leaf."""
    text = resources.files("personvern.notices").joinpath("vocabulary.yaml").read_text("utf-8")
    data = yaml.safe_load(text)
    _check_pairs(data, "")
    return data  # type: ignore[no-any-return]  # checked by _check_pairs above


@dataclass(frozen=True)
class Words:
    """The vocabulary in one language. Plain text out; escaping is the caller's job."""

    lang: Lang

    def term(self, *path: str) -> Any:
        """The entry at ``path`` in this language (a string, or a list for plural forms)."""
        node: Any = load_vocabulary()
        for part in path:
            if not isinstance(node, Mapping) or part not in node:
                raise VocabularyError(f"no words for {'.'.join(path)!r} in vocabulary.yaml")
            node = node[part]
        if not isinstance(node, Mapping) or self.lang not in node:
            raise VocabularyError(f"{'.'.join(path)!r} is not a leaf of vocabulary.yaml")
        return node[self.lang]

    def text(self, *path: str) -> str:
        return str(self.term(*path))

    def data_category(self, key: str) -> str:
        """A fideslang data category in words; an unlisted key falls back to its parent."""
        table = load_vocabulary()["data_category"]
        probe = key
        while probe not in table and "." in probe:
            probe = probe.rsplit(".", 1)[0]
        if probe not in table:
            return key
        return str(table[probe][self.lang])

    def data_subject(self, key: str) -> str:
        table = load_vocabulary()["data_subject"]
        return str(table[key][self.lang]) if key in table else key.replace("_", " ")

    def law(self, reference: str) -> str:
        """A national law reference, with the statute's English name in English.

        ``"bokføringsloven § 13"`` stays as it is in bokmål and becomes
        ``"the Bookkeeping Act (bokføringsloven) § 13"`` in English.
        """
        laws = load_vocabulary()["laws"]
        match = re.match(r"\s*([^\s§]+)(.*)$", reference)
        if match and match.group(1).lower() in laws:
            return str(laws[match.group(1).lower()][self.lang]) + match.group(2)
        return reference

    def period(self, value: Period | None) -> str:
        """A period in words: ``5 år``, ``1 year and 6 months``, ``til nettleseren lukkes``."""
        if value is None:
            return self.text("units", "none")
        if value.session:
            return self.text("units", "session")
        hours, rest = divmod(value.seconds, 3600)
        minutes, seconds = divmod(rest, 60)
        amounts = (
            ("years", value.years),
            ("months", value.months),
            ("days", value.days),
            ("hours", hours),
            ("minutes", minutes),
            ("seconds", seconds),
        )
        parts = []
        for unit, amount in amounts:
            if amount:
                one, other = self.term("units", unit)
                parts.append(f"{amount} {one if amount == 1 else other}")
        if not parts:
            parts.append(f"0 {self.term('units', 'seconds')[1]}")
        return self.join(parts)

    def join(self, items: Iterable[str]) -> str:
        """``a, b og c`` / ``a, b and c``."""
        listed = list(items)
        if not listed:
            return ""
        return format_list(listed, locale=_CLDR[self.lang])

    def date(self, value: date) -> str:
        return format_date(value, format="long", locale=_CLDR[self.lang])

    def country(self, code: str) -> str:
        name = Locale.parse(_CLDR[self.lang]).territories.get(code.upper())
        return str(name) if name else code
