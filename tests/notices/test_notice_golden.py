"""The three documents in both languages, as Markdown and HTML, against golden files."""

from __future__ import annotations

from typing import get_args

import pytest
from notices_support import KINDS, LANGS, PUBLISHED, VERSION, compare_golden

from personvern.inventory.schema import Inventory
from personvern.notices import render_notice
from personvern.notices.render import Format, Kind
from personvern.notices.vocabulary import Lang


@pytest.mark.parametrize("fmt", ["md", "html"])
@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("kind", KINDS)
def test_document_matches_its_golden_file(
    assemble: Inventory, kind: Kind, lang: Lang, fmt: Format
) -> None:
    rendered = render_notice(
        assemble, kind, lang, fmt, version=VERSION, published=PUBLISHED
    ).decode("utf-8")
    compare_golden(f"{kind}.{lang}.{fmt}", rendered)


def test_kinds_and_languages_are_all_covered() -> None:
    assert set(KINDS) == set(get_args(Kind))
    assert set(LANGS) == set(get_args(Lang))
