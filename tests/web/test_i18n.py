"""Bokmål and English: the catalogs match the source, and the language is chosen right."""

from __future__ import annotations

import re

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po
from fastapi.testclient import TestClient

from personvern.i18n import LANGUAGES, language, negotiate, translator
from personvern.i18n.catalogs import catalog_path
from personvern.i18n.extract import extract_messages

PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


def _read(lang: str) -> Catalog:
    with catalog_path(language(lang)).open("rb") as fh:
        return read_po(fh, locale=lang)


def _ids(catalog: Catalog) -> set[object]:
    return {
        tuple(message.id) if isinstance(message.id, list | tuple) else message.id
        for message in catalog
        if message.id
    }


@pytest.fixture(scope="module")
def extracted() -> Catalog:
    return extract_messages()


def test_extraction_finds_python_and_template_texts(extracted: Catalog) -> None:
    ids = _ids(extracted)
    assert "Sign in" in ids  # a template
    assert "Processor" in ids  # an N_() marker in Python
    assert "Wrong e-mail address or password, or the account is temporarily locked." in ids
    assert ("%(num)d day", "%(num)d days") in ids  # ngettext


def test_every_text_has_a_bokmal_translation(extracted: Catalog) -> None:
    nb = _read("nb")
    missing = []
    for message in extracted:
        if not message.id:
            continue
        translated = nb.get(message.id)
        strings = (
            []
            if translated is None
            else list(translated.string)
            if isinstance(translated.string, tuple | list)
            else [translated.string]
        )
        if translated is None or translated.fuzzy or not strings or not all(strings):
            missing.append(message.id)
    assert missing == [], (
        "translate these in src/personvern/i18n/locale/nb/LC_MESSAGES/personvern.po "
        f"(run python -m personvern.i18n.extract first): {missing}"
    )


@pytest.mark.parametrize("lang", LANGUAGES)
def test_no_stale_texts_in_the_catalogs(extracted: Catalog, lang: str) -> None:
    stale = _ids(_read(lang)) - _ids(extracted)
    assert stale == set(), (
        f"the {lang} catalog has texts the source no longer uses; "
        f"run python -m personvern.i18n.extract: {sorted(map(str, stale))}"
    )


def test_translations_keep_the_placeholders() -> None:
    for message in _read("nb"):
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, list | tuple) else [message.id]
        strings = message.string if isinstance(message.string, list | tuple) else [message.string]
        wanted = set(PLACEHOLDER.findall(ids[0]))
        for string in strings:
            assert set(PLACEHOLDER.findall(string)) == wanted, (message.id, string)


@pytest.mark.parametrize(
    ("param", "cookie", "accept", "expected"),
    [
        (None, None, None, "nb"),
        ("en", None, None, "en"),
        ("nb", "en", "en", "nb"),
        ("nn", None, None, "nb"),
        ("no", None, None, "nb"),
        ("NB-no", None, None, "nb"),
        ("de", "en", None, "en"),  # an unknown choice is skipped, not an error
        (None, "en", "nb", "en"),
        (None, "xx", "en-US,en;q=0.9", "en"),
        (None, None, "sv-SE, nn;q=0.8, en;q=0.7", "nb"),
        (None, None, "en;q=0.5, nb;q=0.9", "nb"),
        (None, None, "de, fr;q=0.5", "nb"),
        (None, None, "en;q=0, *", "nb"),
        (None, None, "en;q=abc", "nb"),
        (None, None, "en-GB", "en"),
    ],
)
def test_negotiate(
    param: str | None, cookie: str | None, accept: str | None, expected: str
) -> None:
    assert negotiate(param, cookie, accept) == expected


def test_translator_api() -> None:
    nb = translator("nb")
    assert nb.lang == "nb"
    assert nb.gettext("Sign in") == "Logg inn"
    assert nb.gettext("Processing activities") == "Behandlingsaktiviteter"
    assert nb.gettext("Processor") == "Databehandler"
    assert nb.gettext("Independent controller") == "Selvstendig behandlingsansvarlig"
    assert nb.gettext("Joint controller") == "Felles behandlingsansvarlig"
    assert nb.gettext("Legal basis") == "Rettslig grunnlag"
    assert nb.gettext("Transfer mechanism") == "Overføringsgrunnlag"
    assert nb.ngettext("%(num)d day", "%(num)d days", 1) % {"num": 1} == "1 dag"
    assert nb.ngettext("%(num)d day", "%(num)d days", 2) % {"num": 2} == "2 dager"
    assert nb.gettext("a text nobody translated") == "a text nobody translated"
    en = translator("en")
    assert en.lang == "en"
    assert en.gettext("Sign in") == "Sign in"
    assert en.ngettext("%(num)d day", "%(num)d days", 2) % {"num": 2} == "2 days"
    assert translator("nn").lang == "nb"
    with pytest.raises(ValueError, match="nb"):
        translator("de")


def test_the_language_switch_is_remembered(client: TestClient) -> None:
    assert "Logg inn" in client.get("/admin/login").text
    switched = client.get("/admin/login?lang=en")
    assert '<html lang="en">' in switched.text
    assert "Sign in" in switched.text
    cookie = switched.headers["set-cookie"]
    assert "pv_lang=en" in cookie
    assert "HttpOnly" in cookie
    # The next page, without ?lang=, is in English too...
    assert '<html lang="en">' in client.get("/admin/login").text
    # ...until the reader switches back.
    assert '<html lang="nb">' in client.get("/admin/login?lang=nb").text
    assert '<html lang="nb">' in client.get("/admin/login").text


def test_accept_language_chooses_without_a_cookie(client: TestClient) -> None:
    page = client.get("/admin/login", headers={"Accept-Language": "en-US,en;q=0.9"})
    assert '<html lang="en">' in page.text
    assert page.headers["content-language"] == "en"
    assert "pv_lang" not in page.headers.get("set-cookie", "")
