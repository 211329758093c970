"""Render a notice from the inventory: Markdown first, then HTML, then PDF from the HTML.

Markdown is the canonical form: it is what a policy's fingerprint and diff are computed on
(:mod:`personvern.notices.versions`), and the HTML is made from it
(:func:`personvern.notices.markdown.to_html`), so the formats cannot say different things.
The PDF is the standalone HTML printed by WeasyPrint, with extractable text.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import date
from functools import cache
from importlib import resources
from types import ModuleType
from typing import Literal

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from personvern.inventory.schema import Inventory
from personvern.notices import cookies, policy, records
from personvern.notices.facts import DocumentFacts, document_facts, quoted
from personvern.notices.markdown import code, to_html
from personvern.notices.vocabulary import LANGS, Lang, Words

Kind = Literal["policy", "cookies", "records"]
Format = Literal["html", "md", "pdf"]
KINDS: tuple[Kind, ...] = ("policy", "cookies", "records")
FORMATS: tuple[Format, ...] = ("html", "md", "pdf")

_DOCUMENTS: Mapping[str, ModuleType] = {
    "policy": policy,
    "cookies": cookies,
    "records": records,
}


def _capfirst(text: str) -> str:
    """Upper-case the first letter only (``IP-adresse`` must stay as it is)."""
    return text[:1].upper() + text[1:]


@cache
def environment(lang: Lang) -> Environment:
    """The templates of one language. Markdown templates are not HTML-escaped: their values
    are escaped as Markdown beforehand (:mod:`personvern.notices.facts`)."""
    words = Words(lang)

    def join_or(items: Iterable[str]) -> str:
        from babel.lists import format_list

        listed = list(items)
        return format_list(listed, style="or", locale="nb_NO" if lang == "nb" else "en_GB")

    env = Environment(
        loader=PackageLoader("personvern.notices", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html.j2",), default=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        extensions=["jinja2.ext.do"],
    )
    filters: dict[str, Callable[..., str]] = {
        "capfirst": _capfirst,
        "join_words": words.join,
        "join_or": join_or,
        "code": code,
    }
    env.filters.update(filters)
    return env


def stylesheet() -> str:
    """The notices' CSS, for serving as a file where inline ``<style>`` is not allowed."""
    return resources.files("personvern.notices").joinpath("templates/notice.css").read_text("utf-8")


def version_line(lang: Lang, version: str | None, published: date) -> str:
    """The line under the title, without Markdown: ``Versjon 3, sist endret 25. november
    2025.`` (:data:`personvern.notices.versions.VERSION_LINE` recognises it)."""
    words = Words(lang)
    when = words.date(published)
    if version:
        return words.text("version_line", "published").format(version=version, date=when)
    return words.text("version_line", "draft").format(date=when)


def _tidy(markdown: str) -> str:
    """One blank line between blocks, a blank line around headings, no trailing spaces."""
    lines = [line.rstrip() for line in markdown.splitlines()]
    out: list[str] = []
    for index, line in enumerate(lines):
        is_heading = line.startswith("#")
        if is_heading and out and out[-1] != "":
            out.append("")
        if line == "" and (not out or out[-1] == ""):
            continue
        out.append(line)
        if is_heading and index + 1 < len(lines) and lines[index + 1] != "":
            out.append("")
    while out and out[-1] == "":
        out.pop()
    return "\n".join(out) + "\n"


def render_markdown(facts: DocumentFacts, inventory: Inventory, kind: Kind) -> str:
    """The notice as Markdown, from facts already worded in the notice's language."""
    if kind not in _DOCUMENTS:
        raise ValueError(f"unknown notice kind {kind!r}; use one of {', '.join(KINDS)}")
    lang = facts.lang
    module = _DOCUMENTS[kind]
    template = environment(lang).get_template(module.TEMPLATE.format(lang=lang))
    text = template.render(
        f=facts,
        version_line=f"_{facts.version_line}_",
        q=lambda text: quoted(lang, text),
        **module.context(facts, inventory),
    )
    return _tidy(text)


def render_html(
    markdown: str, inventory: Inventory, facts: DocumentFacts, *, standalone: bool
) -> str:
    """``markdown`` as an accessible HTML page, or only its ``<main>`` for embedding."""
    body = to_html(markdown)
    words = Words(facts.lang)
    template = environment(facts.lang).get_template("layout.html.j2")
    page = template.render(
        standalone=standalone,
        lang=facts.lang,
        title=body.title,
        intro=Markup(body.intro),  # noqa: S704  # rendered from escaped Markdown
        sections=Markup(body.sections),  # noqa: S704  # rendered from escaped Markdown
        toc=body.toc,
        css=Markup(stylesheet()),  # noqa: S704  # our own file
        controller=inventory.controller.name,
        org_number=facts.controller.org_number,
        version=facts.version_line,
        words={key: words.text("layout", key) for key in ("skip", "toc", "org_number")},
    )
    return _tidy(page)


def render_notice(
    inventory: Inventory,
    kind: Kind,
    lang: Lang,
    fmt: Format,
    *,
    version: str | None = None,
    published: date | None = None,
    center_url: str = "/privacy",
    standalone: bool = True,
) -> bytes:
    """One notice of ``inventory`` in ``lang`` and ``fmt``, as UTF-8 text or PDF bytes.

    ``kind``: ``policy`` (GDPR Art. 13/14), ``cookies`` (ekomloven § 3-15) or ``records``
    (GDPR Art. 30). ``version`` and ``published`` fill the line under the title (without a
    version it says "draft"; ``published`` defaults to today). ``center_url`` is the privacy
    center; the policy links to ``{center_url}/cookies``, the cookie declaration to
    ``{center_url}/policy`` and ``{center_url}/consent``. ``standalone=False`` gives, for
    HTML only, just the ``<main>`` element (no inline ``<style>``), to embed under a CSP
    without ``'unsafe-inline'``; serve :func:`stylesheet` as a file with it.

    Raises ``ValueError`` for an unknown kind, language or format, and
    :class:`personvern.notices.pdf.PdfUnavailable` for ``pdf`` without WeasyPrint.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    if lang not in LANGS:
        raise ValueError(f"unknown language {lang!r}; use one of {', '.join(LANGS)}")
    facts = document_facts(
        inventory,
        lang,
        html=fmt != "md",
        version_line=version_line(lang, version, published or date.today()),
        center_url=center_url,
    )
    markdown = render_markdown(facts, inventory, kind)
    if fmt == "md":
        return markdown.encode("utf-8")
    html = render_html(markdown, inventory, facts, standalone=standalone or fmt == "pdf")
    if fmt == "html":
        return html.encode("utf-8")
    from personvern.notices.pdf import html_to_pdf

    return html_to_pdf(html)
