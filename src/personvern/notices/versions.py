"""Versions of a published policy: a stable fingerprint, and a readable diff between two.

A policy gets a new version number and date each time its content changes. The content is
its Markdown without the version line (:func:`personvern.notices.render.version_line`), so
re-rendering the same facts on another day, or under another version number, gives the same
fingerprint, and only a real change to what the policy says calls for a new version.
"""

from __future__ import annotations

import difflib
import hashlib
import re
import unicodedata
from html import escape

# The line render_notice puts under the title, in either language, with or without a number.
VERSION_LINE = re.compile(
    r"^_(?:Versjon .+|Version .+|Utkast|Draft), (?:sist endret|last updated) .+\._$"
)
_WORDS = re.compile(r"\s+|[\w@.:/-]+|[^\w\s]", re.UNICODE)
CONTEXT = 2  # unchanged lines shown around each change


def normalise(markdown: str) -> str:
    """The content that counts: NFC, LF line ends, no trailing spaces, no version line,
    single blank lines, no blank lines at either end."""
    text = unicodedata.normalize("NFC", markdown).replace("\r\n", "\n").replace("\r", "\n")
    lines = [line.rstrip() for line in text.split("\n") if not VERSION_LINE.match(line.strip())]
    out: list[str] = []
    for line in lines:
        if line == "" and (not out or out[-1] == ""):
            continue
        out.append(line)
    while out and out[-1] == "":
        out.pop()
    return "\n".join(out)


def policy_fingerprint(markdown: str) -> str:
    """SHA-256 (hex) of the normalised Markdown: equal for equal content, whatever the
    version line says."""
    return hashlib.sha256(normalise(markdown).encode("utf-8")).hexdigest()


def _word_diff(old: str, new: str) -> str:
    old_words = _WORDS.findall(old)
    new_words = _WORDS.findall(new)
    out: list[str] = []
    matcher = difflib.SequenceMatcher(a=old_words, b=new_words, autojunk=False)
    for op, a0, a1, b0, b1 in matcher.get_opcodes():
        if op == "equal":
            out.append(escape("".join(old_words[a0:a1])))
            continue
        if a1 > a0:
            out.append(f"<del>{escape(''.join(old_words[a0:a1]))}</del>")
        if b1 > b0:
            out.append(f"<ins>{escape(''.join(new_words[b0:b1]))}</ins>")
    return "".join(out)


def diff_html(old_markdown: str, new_markdown: str) -> str:
    """A readable diff of two policy versions as an HTML fragment.

    Lines are compared first; a changed line is shown once with the changed words marked
    ``<del>``/``<ins>``, a removed or added line whole. Runs of unchanged lines are cut to
    :data:`CONTEXT` lines around each change. The version line is left out, as in the
    fingerprint. Everything from the Markdown is escaped.
    """
    old = normalise(old_markdown).split("\n")
    new = normalise(new_markdown).split("\n")
    rows: list[str] = []
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    for group in matcher.get_grouped_opcodes(CONTEXT):
        if rows:
            rows.append('<li class="gap" aria-hidden="true">…</li>')
        for op, a0, a1, b0, b1 in group:
            if op == "equal":
                rows.extend(f'<li class="same">{escape(line)}</li>' for line in old[a0:a1])
            elif op == "replace" and a1 - a0 == b1 - b0:
                rows.extend(
                    f'<li class="changed">{_word_diff(o, n)}</li>'
                    for o, n in zip(old[a0:a1], new[b0:b1], strict=True)
                )
            else:
                rows.extend(
                    f'<li class="removed"><del>{escape(line)}</del></li>' for line in old[a0:a1]
                )
                rows.extend(
                    f'<li class="added"><ins>{escape(line)}</ins></li>' for line in new[b0:b1]
                )
    if not rows:
        return '<div class="personvern-diff"><p class="unchanged">—</p></div>'
    return '<div class="personvern-diff"><ol>\n' + "\n".join(rows) + "\n</ol></div>"
