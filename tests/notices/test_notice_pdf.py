"""PDF output: the same content as the HTML, with text a reader (or pypdf) can extract."""

from __future__ import annotations

import io

import pytest
from notices_support import LANGS, PUBLISHED, VERSION

from personvern.inventory.schema import Inventory
from personvern.notices import render_notice
from personvern.notices.render import Kind
from personvern.notices.vocabulary import Lang

pytest.importorskip("weasyprint", reason="PDF output needs the extra personvern[pdf]")
pypdf = pytest.importorskip("pypdf")


def _text(pdf: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    # Names may wrap across lines; compare with whitespace collapsed.
    return " ".join(" ".join(page.extract_text() for page in reader.pages).split())


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("kind", ["policy", "records"])
def test_pdf_names_the_controller_every_system_and_every_purpose(
    assemble: Inventory, kind: Kind, lang: Lang
) -> None:
    pdf = render_notice(assemble, kind, lang, "pdf", version=VERSION, published=PUBLISHED)
    assert pdf.startswith(b"%PDF-")
    text = _text(pdf)
    assert assemble.controller.name in text
    for system in assemble.systems:
        assert system.name in text, system.key
    for activity in assemble.activities:
        assert activity.name.get(lang) in text, activity.key
        assert activity.purpose.get(lang) in text, activity.key


@pytest.mark.parametrize("lang", LANGS)
def test_cookie_declaration_pdf_lists_every_cookie(assemble: Inventory, lang: Lang) -> None:
    text = _text(render_notice(assemble, "cookies", lang, "pdf", published=PUBLISHED))
    assert assemble.controller.name in text
    # Long cookie names break anywhere in their narrow column: compare without spaces.
    squeezed = text.replace(" ", "")
    for cookie in assemble.cookies:
        assert cookie.label in squeezed


def test_pdf_of_the_example_inventory(example: Inventory) -> None:
    text = _text(render_notice(example, "policy", "nb", "pdf", published=PUBLISHED))
    assert example.controller.name in text
    for activity in example.activities:
        assert activity.name.get("nb") in text, activity.key
