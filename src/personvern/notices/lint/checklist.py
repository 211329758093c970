"""The checklist (``checklist.yaml``) and checking a notice's sentences against it.

The rules are data: each item names the law it rests on, the patterns that show it covered
(or, for a statement wrong in law, that show the statement) in bokmål and English, and
what to do about it. This module only loads, validates and applies them. A checklist with
a malformed item, a pattern that does not compile or a language missing is refused when
loaded, naming the item.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, cast

import yaml

from personvern.notices.lint.report import Evidence, LintItem, Severity, Status
from personvern.notices.lint.sentences import Sentence
from personvern.notices.vocabulary import LANGS, Lang

MAX_QUOTES = 3
_FLAGS = re.IGNORECASE | re.UNICODE


class ChecklistError(ValueError):
    """The checklist file is malformed; the message names the item and field."""


@dataclass(frozen=True)
class Pattern:
    """Matches a sentence when every ``all`` expression matches and no ``not`` one does."""

    all: tuple[re.Pattern[str], ...]
    none: tuple[re.Pattern[str], ...] = ()

    def matches(self, sentence: str) -> bool:
        return all(p.search(sentence) for p in self.all) and not any(
            p.search(sentence) for p in self.none
        )


@dataclass(frozen=True)
class Rule:
    id: str
    title: Mapping[str, str]
    source: str
    severity: Severity
    patterns: Mapping[str, tuple[Pattern, ...]]
    when: Mapping[str, tuple[Pattern, ...]] | None
    advice: Mapping[str, str]

    def check(self, sentences: Sequence[Sentence], lang: Lang) -> LintItem:
        """This rule's finding for the sentences of a notice in ``lang``."""
        if self.when is not None and not _find(sentences, self.when[lang], 1):
            status: Status = "not_applicable"
            return self._item(status, ())
        found = _find(sentences, self.patterns[lang], MAX_QUOTES)
        evidence = tuple(Evidence(s.quote(), s.line) for s in found)
        if self.severity == "missing":
            return self._item("covered" if found else "missing", evidence)
        return self._item("wrong" if found else "clear", evidence)

    def _item(self, status: Status, evidence: tuple[Evidence, ...]) -> LintItem:
        return LintItem(
            id=self.id,
            title=self.title,
            source=self.source,
            severity=self.severity,
            status=status,
            evidence=evidence,
            advice=self.advice,
        )


def _find(sentences: Sequence[Sentence], patterns: Sequence[Pattern], limit: int) -> list[Sentence]:
    """Up to ``limit`` matching sentences; prose is quoted before headings and labels,
    since a full sentence shows better what the notice says."""
    found: list[Sentence] = []
    seen: set[str] = set()
    for sentence in sentences:
        if sentence.text not in seen and any(p.matches(sentence.text) for p in patterns):
            found.append(sentence)
            seen.add(sentence.text)
    found.sort(key=lambda s: s.is_heading)  # stable: document order within each kind
    return found[:limit]


def _compile(where: str, expression: Any) -> re.Pattern[str]:
    if not isinstance(expression, str):
        raise ChecklistError(f"{where}: a pattern is a string, got {expression!r}")
    try:
        return re.compile(expression, _FLAGS)
    except re.error as exc:
        raise ChecklistError(f"{where}: {expression!r} is not a regular expression: {exc}") from exc


def _pattern(where: str, entry: Any) -> Pattern:
    if isinstance(entry, str):
        return Pattern(all=(_compile(where, entry),))
    if isinstance(entry, Mapping) and set(entry) <= {"all", "not"} and "all" in entry:
        return Pattern(
            all=tuple(_compile(where, e) for e in entry["all"]),
            none=tuple(_compile(where, e) for e in entry.get("not", [])),
        )
    raise ChecklistError(f"{where}: a pattern is a string or {{all: [...], not: [...]}}")


def _per_language(where: str, value: Any) -> Mapping[str, Any]:
    if not isinstance(value, Mapping) or set(value) != set(LANGS):
        raise ChecklistError(f"{where} needs exactly the languages {', '.join(LANGS)}")
    return value


def _patterns(where: str, value: Any) -> Mapping[str, tuple[Pattern, ...]]:
    out: dict[str, tuple[Pattern, ...]] = {}
    for lang, entries in _per_language(where, value).items():
        if not isinstance(entries, list) or not entries:
            raise ChecklistError(f"{where}.{lang} is a non-empty list of patterns")
        out[lang] = tuple(_pattern(f"{where}.{lang}", e) for e in entries)
    return out


def parse_rules(data: Any) -> tuple[Rule, ...]:
    """Validate a parsed checklist document and compile its rules."""
    if not isinstance(data, Mapping) or not isinstance(data.get("items"), list):
        raise ChecklistError("a checklist is a mapping with a list under 'items'")
    rules: list[Rule] = []
    seen: set[str] = set()
    for index, raw in enumerate(data["items"]):
        if not isinstance(raw, Mapping):
            raise ChecklistError(f"items[{index}] must be a mapping")
        item_id = raw.get("id")
        where = f"item {item_id!r}" if isinstance(item_id, str) else f"items[{index}]"
        missing = {"id", "title", "source", "severity", "patterns", "advice"} - set(raw)
        if missing:
            raise ChecklistError(f"{where} lacks {', '.join(sorted(missing))}")
        unknown = set(raw) - {"id", "title", "source", "severity", "patterns", "advice", "when"}
        if unknown:
            raise ChecklistError(f"{where} has unknown fields {', '.join(sorted(unknown))}")
        if item_id in seen:
            raise ChecklistError(f"{where} is defined twice")
        seen.add(str(item_id))
        if raw["severity"] not in ("missing", "wrong"):
            raise ChecklistError(f"{where}: severity is 'missing' or 'wrong'")
        rules.append(
            Rule(
                id=str(item_id),
                title=_per_language(f"{where}.title", raw["title"]),
                source=str(raw["source"]),
                severity=cast(Severity, raw["severity"]),
                patterns=_patterns(f"{where}.patterns", raw["patterns"]),
                when=_patterns(f"{where}.when", raw["when"]) if "when" in raw else None,
                advice=_per_language(f"{where}.advice", raw["advice"]),
            )
        )
    return tuple(rules)


@cache
def load_checklist() -> tuple[Rule, ...]:
    """The checklist shipped with personvern (``lint/checklist.yaml``)."""
    text = resources.files("personvern.notices.lint").joinpath("checklist.yaml").read_text("utf-8")
    return parse_rules(yaml.safe_load(text))
