"""A notice as a list of sentences with line numbers, from HTML, Markdown or plain text.

The linter's rules are patterns over sentences, so that a quote shows the reader exactly
which sentence covers (or breaks) a requirement. Headings, list items and table cells count
as blocks of their own; within a block, text is split after ``.``, ``!`` or ``?`` when the
next word starts with a capital or a digit, except after an abbreviation common in
Norwegian and English legal text (``nr.``, ``jf.``, ``f.eks.``, ``e.g.``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Literal

from personvern.notices.markdown import parser

SourceFormat = Literal["html", "markdown", "plain"]

# Lower-case abbreviations that end with a full stop inside a sentence.
ABBREVIATIONS = frozenset(
    # SIM905 is silenced: a word list reads better as words than as 36 quoted lines.
    "nr jf jfr pkt ca art mv dvs osv evt ev kl tlf inkl ekskl vedr iht hhv bl ref ibid "  # noqa: SIM905
    "st no org eg ie etc vs cf para ltd inc co publ mill mrd".split()
)
_BOUNDARY = re.compile(r"([.!?…]+[»\"”’)\]]*)\s+(?=[«\"“(\[]?[A-ZÆØÅÄÖÜÉ0-9])")
_LAST_WORD = re.compile(r"(\S+)$")
_BLOCK_TAGS = frozenset(
    "p li h1 h2 h3 h4 h5 h6 td th caption dt dd blockquote pre div section article header "  # noqa: SIM905
    "footer main aside address figcaption tr table ul ol br hr title summary label button".split()
)
_SKIPPED_TAGS = frozenset({"script", "style", "template", "noscript", "nav", "svg"})
_MAX_QUOTE = 300


@dataclass(frozen=True)
class Sentence:
    """A sentence of the notice and the line of the source it starts on (1-based)."""

    text: str
    line: int | None

    @property
    def is_heading(self) -> bool:
        """No closing punctuation and no label colon: a heading or a bare table cell."""
        return ":" not in self.text and not re.search(r"[.!?…][»\"”’)\]]*$", self.text)

    def quote(self) -> str:
        """The sentence, trimmed for quoting."""
        if len(self.text) <= _MAX_QUOTE:
            return self.text
        cut = self.text[:_MAX_QUOTE].rsplit(" ", 1)[0]
        return cut + " …"


def detect(text: str) -> SourceFormat:
    """Guess the format: HTML tags, Markdown structure, or else plain text."""
    if re.search(r"<(html|body|main|p|div|h[1-6]|section|article|ul|table)\b[^>]*>", text, re.I):
        return "html"
    markdown_signs = (
        r"^#{1,6} \S",
        r"^\s*\|.*\|\s*$",
        r"^\s*[-*+] \S",
        r"\[[^\]]+\]\([^)]+\)",
        r"\*\*[^*]+\*\*",
    )
    if any(re.search(sign, text, re.M) for sign in markdown_signs):
        return "markdown"
    return "plain"


_DOTTED = re.compile(r"^([a-zæøå]{1,4}\.)+[a-zæøå]{1,4}$")


def _is_abbreviation(word: str) -> bool:
    word = word.strip('«"“(').lower()
    # "f.eks", "bl.a", "org.nr", "e.g" carry an inner full stop; "post@firma.no" does not
    # count, so a sentence ending with an address still ends there.
    return word in ABBREVIATIONS or bool(_DOTTED.match(word))


def split(block: str, line: int | None) -> list[Sentence]:
    """The sentences of one block of text."""
    block = " ".join(block.split())
    out: list[Sentence] = []
    start = 0
    for match in _BOUNDARY.finditer(block):
        if match.group(1) == ".":
            word = _LAST_WORD.search(block[start : match.start()])
            if word and _is_abbreviation(word.group(1)):
                continue
        out.append(Sentence(block[start : match.end(1)].strip(), line))
        start = match.end()
    rest = block[start:].strip()
    if rest:
        out.append(Sentence(rest, line))
    return [s for s in out if s.text]


class _HtmlBlocks(HTMLParser):
    def __init__(self, line_offset: int = 0) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[tuple[str, int]] = []
        self._parts: list[str] = []
        self._line: int | None = None
        self._skip = 0
        self._offset = line_offset

    def _flush(self) -> None:
        text = "".join(self._parts).strip()
        if text:
            self.blocks.append((text, self._line or 1))
        self._parts = []
        self._line = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED_TAGS:
            self._skip += 1
        elif tag in _BLOCK_TAGS:
            self._flush()

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED_TAGS:
            self._skip = max(0, self._skip - 1)
        elif tag in _BLOCK_TAGS:
            self._flush()

    def handle_data(self, data: str) -> None:
        if self._skip or not data.strip():
            if data and self._parts:
                self._parts.append(" ")
            return
        if self._line is None:
            self._line = self.getpos()[0] + self._offset
        self._parts.append(data)

    def close(self) -> None:
        super().close()
        self._flush()


def _html_blocks(text: str, line_offset: int = 0) -> list[tuple[str, int]]:
    reader = _HtmlBlocks(line_offset)
    reader.feed(text)
    reader.close()
    return reader.blocks


def _markdown_blocks(text: str) -> list[tuple[str, int]]:
    blocks: list[tuple[str, int]] = []
    line = 1
    for token in parser().parse(text):
        if token.map is not None:
            line = token.map[0] + 1
        if token.type == "html_block":
            blocks.extend(_html_blocks(token.content, line - 1))
        elif token.type == "inline":
            parts: list[str] = []
            for child in token.children or ():
                if child.type in {"text", "code_inline"}:
                    parts.append(child.content)
                elif child.type in {"softbreak", "hardbreak"}:
                    parts.append(" ")
            if "".join(parts).strip():
                blocks.append(("".join(parts), line))
    return blocks


def _plain_blocks(text: str) -> list[tuple[str, int]]:
    """Lines, joined where a sentence runs on to the next line.

    A line without closing punctuation continues on the next non-empty line when that line
    starts in lower case, even across a blank line (copied web text often breaks so); any
    other line is a block of its own, as headings and address lines are.
    """
    blocks: list[tuple[str, int]] = []
    current: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        continues = current and not re.search(r"[.!?:;]$", current[-1]) and line[:1].islower()
        if not continues and current:
            blocks.append((" ".join(current), start))
            current = []
        if not current:
            start = number
        current.append(line)
    if current:
        blocks.append((" ".join(current), start))
    return blocks


def sentences(text: str, source_format: SourceFormat | None = None) -> list[Sentence]:
    """Every sentence of ``text``, read as ``source_format`` (detected when not given)."""
    fmt = source_format or detect(text)
    if fmt == "html":
        blocks = _html_blocks(text)
    elif fmt == "markdown":
        blocks = _markdown_blocks(text)
    else:
        blocks = _plain_blocks(text)
    out: list[Sentence] = []
    for block, line in blocks:
        out.extend(split(block, line))
    return out
