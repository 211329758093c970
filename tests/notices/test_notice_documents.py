"""What every rendered document must be: the same in both languages, accessible, escaped."""

from __future__ import annotations

import itertools
import re
from datetime import date
from html.parser import HTMLParser

import pytest
from notices_support import KINDS, PUBLISHED, VERSION

from personvern.inventory.schema import Inventory, Text
from personvern.notices import render_notice, stylesheet
from personvern.notices.markdown import md, parser, safe_url
from personvern.notices.render import Kind
from personvern.notices.vocabulary import LANGS, Lang, Words, load_vocabulary


def _render(inventory: Inventory, kind: Kind, lang: Lang, fmt: str = "md", **kw: object) -> str:
    return render_notice(
        inventory,
        kind,
        lang,
        fmt,  # type: ignore[arg-type]
        version=VERSION,
        published=PUBLISHED,
        **kw,  # type: ignore[arg-type]
    ).decode("utf-8")


def _shape(markdown: str) -> list[str]:
    """The document's structure without its words: block tokens and heading levels."""
    return [
        f"{t.type}:{t.tag}"
        for t in parser().parse(markdown)
        if (t.type not in {"inline", "text"} and t.nesting != 0) or t.type == "html_block"
    ]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("inventory", ["assemble", "example"])
def test_both_languages_have_the_same_sections_lists_and_tables(
    kind: Kind, inventory: str, request: pytest.FixtureRequest
) -> None:
    inv: Inventory = request.getfixturevalue(inventory)
    nb, en = _render(inv, kind, "nb"), _render(inv, kind, "en")
    assert _shape(nb) == _shape(en)
    headings = [
        [line.split(" ", 1)[0] for line in doc.splitlines() if line.startswith("#")]
        for doc in (nb, en)
    ]
    assert headings[0] == headings[1]


def test_every_vocabulary_entry_exists_in_both_languages() -> None:
    def leaves(node: object, path: str) -> list[str]:
        if isinstance(node, dict) and set(node) == set(LANGS):
            assert all(node[lang] for lang in LANGS), path
            return [path]
        assert isinstance(node, dict), path
        return [leaf for key, value in node.items() for leaf in leaves(value, f"{path}.{key}")]

    assert len(leaves(dict(load_vocabulary()), "")) > 100


def test_every_fideslang_category_and_subject_has_words() -> None:
    from personvern.inventory.taxonomy import keys

    for lang in LANGS:
        words = Words(lang)
        for key in keys("data_category"):
            assert words.data_category(key) != key, key
    assert set(keys("data_subject")) <= set(load_vocabulary()["data_subject"])


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("kind", KINDS)
def test_html_is_a_standalone_accessible_page(assemble: Inventory, kind: Kind, lang: Lang) -> None:
    html = _render(assemble, kind, lang, "html")
    assert html.startswith("<!DOCTYPE html>")
    assert f'<html lang="{lang}">' in html
    assert "<title>" in html
    assert "<style>" in html
    for landmark in ("<header>", '<main id="content"', "<footer>", '<nav class="toc"'):
        assert landmark in html
    assert '<a class="skip" href="#content">' in html
    levels = [int(level) for level in re.findall(r"<h([1-6])\b", html)]
    assert levels[0] == 1
    assert levels.count(1) == 1
    assert all(b - a <= 1 for a, b in itertools.pairwise(levels)), levels
    assert html.count("<table>") == html.count("<caption>") > 0
    assert '<th scope="col">' in html
    assert '<th scope="row">' in html
    assert "<td" not in re.sub(r"<tr>\s*<th scope=\"row\">.*?</tr>", "", html, flags=re.S)
    assert re.search(r'<td data-label="[^"]+">', html)
    assert "<script" not in html
    _well_formed(html)


class _Balance(HTMLParser):
    VOID = frozenset({"meta", "br", "hr", "img", "link", "input"})

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack, tag
        assert self.stack[-1] == tag, (self.stack[-3:], tag)
        self.stack.pop()


def _well_formed(html: str) -> None:
    checker = _Balance()
    checker.feed(html)
    checker.close()
    assert checker.stack == []


@pytest.mark.parametrize("lang", LANGS)
def test_fragment_is_only_main_without_inline_style(assemble: Inventory, lang: Lang) -> None:
    fragment = _render(assemble, "policy", lang, "html", standalone=False)
    assert fragment.startswith(f'<main id="content" class="personvern-notice" lang="{lang}">')
    assert fragment.rstrip().endswith("</main>")
    assert "<style" not in fragment
    assert "<script" not in fragment
    assert "style=" not in fragment
    _well_formed(fragment)
    assert "personvern-notice" in stylesheet() or "table" in stylesheet()


@pytest.mark.parametrize("lang", LANGS)
def test_cookie_declaration_reopens_the_consent_settings(assemble: Inventory, lang: Lang) -> None:
    html = _render(assemble, "cookies", lang, "html")
    assert re.search(r'<button type="button"[^>]* data-personvern-open>', html)
    assert 'href="https://www.assemble.no/privacy/consent"' in html
    markdown = _render(assemble, "cookies", lang, "md")
    assert "data-personvern-open" not in markdown  # Markdown readers get the plain link only
    assert "(https://www.assemble.no/privacy/consent)" in markdown
    for category in (
        Words(lang).text("cookie_category", "necessary", "caption"),
        Words(lang).text("cookie_category", "marketing", "caption"),
    ):
        assert f"<caption>{category}</caption>" in html


@pytest.mark.parametrize("lang", LANGS)
def test_one_table_per_cookie_category_with_the_declared_columns(
    assemble: Inventory, lang: Lang
) -> None:
    markdown = _render(assemble, "cookies", lang, "md")
    used = {c.category for c in assemble.cookies}
    assert markdown.count("| --- | --- | --- | --- | --- |") == len(used)
    for cookie in assemble.cookies:
        row = next(line for line in markdown.splitlines() if f"`{cookie.label}`" in line)
        assert cookie.provider in row
        assert cookie.purpose.get(lang) in row


def test_values_from_the_inventory_are_escaped(assemble: Inventory) -> None:
    hostile = "<script>alert(1)</script> *bold* | [x](javascript:alert(1))"
    activity = assemble.activities[0].model_copy(update={"purpose": Text(nb=hostile, en=hostile)})
    inventory = assemble.model_copy(update={"activities": [activity, *assemble.activities[1:]]})
    html = _render(inventory, "policy", "nb", "html")
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; *bold* | [x](javascript:alert(1))" in html
    assert 'href="javascript' not in html
    records = _render(inventory, "records", "nb", "html")
    assert "<script>" not in records
    assert md("a_b*c") == "a\\_b\\*c"
    assert safe_url("javascript:alert(1)") == "#"


def test_cookie_name_with_underscores_is_a_code_span(assemble: Inventory) -> None:
    html = _render(assemble, "cookies", "nb", "html")
    assert "<code>_ga_*</code>" in html


def test_version_line_and_draft(assemble: Inventory) -> None:
    assert "_Versjon 3, sist endret 25. november 2025._" in _render(assemble, "policy", "nb")
    assert "_Version 3, last updated 25 November 2025._" in _render(assemble, "policy", "en")
    draft = render_notice(assemble, "policy", "nb", "md", published=date(2026, 1, 2)).decode()
    assert "_Utkast, sist endret 2. januar 2026._" in draft


def test_relative_center_url_is_made_absolute_with_the_site(assemble: Inventory) -> None:
    markdown = _render(assemble, "policy", "nb")
    assert "[https://www.assemble.no/privacy](https://www.assemble.no/privacy)" in markdown
    assert "(https://www.assemble.no/privacy/cookies)" in markdown
    without_sites = assemble.model_copy(update={"sites": []})
    other = _render(without_sites, "policy", "en", center_url="/personvern/")
    assert "[/personvern](/personvern)" in other
    assert "(/personvern/cookies)" in other


def test_policy_shows_no_notes_but_the_record_does(assemble: Inventory) -> None:
    note = assemble.controller.note
    assert note
    assert note not in _render(assemble, "policy", "en")
    assert note in _render(assemble, "records", "en")


def test_records_cover_every_field_of_article_30(assemble: Inventory) -> None:
    records = _render(assemble, "records", "nb")
    for field in (
        "bokstav a",
        "Formål (bokstav b)",
        "Kategorier av registrerte (bokstav c)",
        "Kategorier av personopplysninger (bokstav c)",
        "Kategorier av mottakere (bokstav d)",
        "Overføring til tredjeland (bokstav e)",
        "Frist for sletting (bokstav f)",
        "artikkel 30 nr. 1 bokstav g",
        "artikkel 30 nr. 2",
        "Personvernombud",
        "Felles behandlingsansvarlige (artikkel 26)",
        "Representant (artikkel 27)",
    ):
        assert field in records, field
    for system in assemble.systems:
        assert md(system.name) in records
    for measure in assemble.security_measures:
        assert measure.nb in records
    for item in assemble.on_behalf:
        assert item.controller.name in records
        assert item.categories_of_processing.nb in records


@pytest.mark.parametrize(
    ("kind", "lang", "fmt"),
    [("policy", "fr", "md"), ("poem", "nb", "md"), ("policy", "nb", "docx")],
)
def test_unknown_kind_language_or_format_is_refused(
    assemble: Inventory, kind: str, lang: str, fmt: str
) -> None:
    with pytest.raises(ValueError, match="use one of"):
        render_notice(assemble, kind, lang, fmt)  # type: ignore[arg-type]
