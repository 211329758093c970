"""The notice linter: a notice or an inventory checked item by item against GDPR Art. 13/14
and Norwegian law (ekomloven § 3-15, markedsføringsloven § 15, Datatilsynet as complaint
body), with statements that are wrong in law flagged.

The rules are data: ``checklist.yaml`` for notices (patterns over sentences, bokmål and
English) and ``inventory_rules.yaml`` for inventories. No model is downloaded; matching is
regular expressions over sentences.
"""

from __future__ import annotations

from personvern.notices.lint.checklist import ChecklistError, load_checklist
from personvern.notices.lint.inventory import lint_inventory
from personvern.notices.lint.report import Evidence, LintItem, LintReport
from personvern.notices.lint.sentences import SourceFormat, detect, sentences
from personvern.notices.vocabulary import LANGS, Lang


def lint_text(
    text: str,
    lang: Lang,
    filename: str = "<text>",
    source_format: SourceFormat | None = None,
) -> LintReport:
    """Check a notice given as HTML, Markdown or plain text (detected unless given).

    Every checklist item is reported: covered (with up to three quoted sentences and their
    lines), missing, wrong in law (with the offending sentences), clear, or not applicable.
    """
    if lang not in LANGS:
        raise ValueError(f"unknown language {lang!r}; use one of {', '.join(LANGS)}")
    fmt = source_format or detect(text)
    found = sentences(text, fmt)
    items = [rule.check(found, lang) for rule in load_checklist()]
    return LintReport(name=filename, lang=lang, subject="text", source_format=fmt, items=items)


__all__ = [
    "ChecklistError",
    "Evidence",
    "LintItem",
    "LintReport",
    "lint_inventory",
    "lint_text",
]
