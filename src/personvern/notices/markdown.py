"""Markdown is the source form of every notice; HTML is made from it.

The templates write Markdown (CommonMark with GFM tables). Values from the inventory are
escaped with :func:`md` before they reach a template, so a cookie called ``_ga_*`` or a
purpose with a ``|`` cannot change the document's structure.

:func:`to_html` turns that Markdown into accessible HTML (WCAG 2.1: 1.3.1 info and
relationships, 2.4.1 bypass blocks, 2.4.6 headings): every heading gets an ``id``, each
``##`` section becomes a ``<section aria-labelledby>``, a paragraph ``Tabell: …`` /
``Table: …`` right before a table becomes its ``<caption>``, column headers get
``scope="col"`` and the first cell of each body row becomes ``<th scope="row">``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict

_SPECIAL = re.compile(r"([\\`*_\[\]<>|])")
_ENTITY = re.compile(r"&(?=#?\w+;)")
_CAPTION = re.compile(r"^(?:Tabell|Table): (?P<caption>.+)$")
_SAFE_SCHEME = re.compile(r"^(?:https?:|mailto:|tel:|/|#|\.)", re.I)


def md(text: str) -> str:
    """``text`` as inline Markdown that renders as exactly that text, on one line."""
    flat = " ".join(text.split())
    # Values are only ever placed inside a line (after a label, in a table cell), never at
    # the start of a block, so list and heading markers need no escaping.
    return _ENTITY.sub("&amp;", _SPECIAL.sub(r"\\\1", flat))


def code(text: str) -> str:
    """``text`` as a code span for a table cell (``|`` is escaped, as GFM tables need)."""
    body = " ".join(text.split()).replace("`", "'").replace("|", "\\|")
    return f"`{body}`"


def safe_url(url: str) -> str:
    """``url`` made safe for a Markdown link: a known scheme or relative, no spaces or parens."""
    url = url.strip()
    if not _SAFE_SCHEME.match(url):
        url = "https://" + url if re.match(r"^[\w.-]+\.[a-z]{2,}(/|$)", url, re.I) else "#"
    return quote(url, safe=":/?#[]@!$&'*+,;=%~.-_")


def link(text: str, url: str) -> str:
    """A Markdown link whose visible text is ``text`` (escaped) and target ``url``."""
    return f"[{md(text)}]({safe_url(url)})"


def mailto(email: str) -> str:
    return link(email, f"mailto:{email}")


def slug(text: str, taken: set[str]) -> str:
    """A stable ASCII ``id`` for a heading (``Dine rettigheter`` → ``dine-rettigheter``)."""
    text = text.lower().replace("æ", "ae").replace("ø", "o").replace("å", "a")
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    base = re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-") or "section"
    base = re.sub(r"^\d+(-\d+)*-", "", base) or base  # "3-1-betaling" -> "betaling"
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}-{n}", n + 1
    taken.add(candidate)
    return candidate


def parser() -> MarkdownIt:
    """CommonMark with GFM tables; raw HTML is allowed for the templates' own markup."""
    return MarkdownIt("commonmark", {"html": True}).enable("table")


@dataclass(frozen=True)
class TocEntry:
    id: str
    text: str


@dataclass(frozen=True)
class HtmlBody:
    """A notice in HTML, in the parts the page layout places."""

    title: str  # the ``#`` heading as plain text, for ``<title>``
    intro: str  # the ``<h1>`` and what comes before the first ``##`` section
    sections: str  # every ``##`` section as a ``<section>``
    toc: tuple[TocEntry, ...]


def _plain(inline: Token) -> str:
    return "".join(
        child.content for child in inline.children or () if child.type in {"text", "code_inline"}
    )


def _table_open(
    self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    caption = tokens[idx].meta.get("caption")
    return "<table>\n" + (f"<caption>{caption}</caption>\n" if caption else "")


def _mark_tables(md_parser: MarkdownIt, tokens: list[Token], env: dict[str, Any]) -> list[Token]:
    out: list[Token] = []
    in_body = first_cell = False
    headers: list[str] = []  # the column headers of the current table
    column = 0
    for index, token in enumerate(tokens):
        if token.type == "table_open" and len(out) >= 3:
            para_open, inline, para_close = out[-3:]
            match = _CAPTION.match(inline.content) if inline.type == "inline" else None
            if (
                para_open.type == "paragraph_open"
                and para_close.type == "paragraph_close"
                and match
            ):
                del out[-3:]
                token.meta["caption"] = md_parser.renderInline(match.group("caption"), env)
        elif token.type == "thead_open":
            headers = []
        elif token.type == "th_open":
            token.attrSet("scope", "col")
            headers.append(_plain(tokens[index + 1]))
        elif token.type in {"tbody_open", "tbody_close"}:
            in_body = token.type == "tbody_open"
        elif token.type == "tr_open":
            first_cell = in_body
            column = 0
        elif token.type == "td_open":
            if first_cell:
                # The first column names the row (a recipient, a cookie, a field of a record).
                token.tag = "th"
                token.attrSet("scope", "row")
            elif column < len(headers):
                # On narrow screens the CSS stacks each row and labels each cell by its column.
                token.attrSet("data-label", headers[column])
            column += 1
        elif token.type == "td_close" and first_cell:
            token.tag = "th"
            first_cell = False
        out.append(token)
    return out


def to_html(markdown: str) -> HtmlBody:
    """Render a notice's Markdown into the parts of an accessible HTML page."""
    md_parser = parser()
    md_parser.add_render_rule("table_open", _table_open)
    env: dict[str, Any] = {}
    tokens = _mark_tables(md_parser, md_parser.parse(markdown, env), env)

    taken: set[str] = set()
    toc: list[TocEntry] = []
    title = ""
    intro: list[Token] = []
    sections: list[Token] = []
    open_section = False
    for index, token in enumerate(tokens):
        if token.type == "heading_open":
            text = _plain(tokens[index + 1])
            heading_id = slug(text, taken)
            token.attrSet("id", heading_id)
            if token.tag == "h1" and not title:
                title = text
            if token.tag == "h2":
                toc.append(TocEntry(heading_id, text))
                if open_section:
                    sections.append(_raw("</section>\n"))
                sections.append(_raw(f'<section aria-labelledby="{heading_id}">\n'))
                open_section = True
        (sections if open_section else intro).append(token)
    if open_section:
        sections.append(_raw("</section>\n"))

    def render(part: list[Token]) -> str:
        return str(md_parser.renderer.render(part, md_parser.options, env))

    return HtmlBody(title=title, intro=render(intro), sections=render(sections), toc=tuple(toc))


def _raw(html: str) -> Token:
    token = Token("html_block", "", 0)
    token.content = html
    return token
