"""The linter's findings: one item per checklist entry, with the quotes that decided it.

An item is ``covered`` (a requirement is met, with the sentences that meet it), ``missing``
(a requirement is not met), ``wrong`` (a statement that is wrong in law was found, with the
sentences), ``clear`` (no such statement) or ``not_applicable`` (the item's condition does
not arise, e.g. no e-mail marketing). A report is ``ok`` when nothing is missing or wrong;
the CLI exits 1 otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from personvern.notices.vocabulary import Lang, Words

Status = Literal["covered", "missing", "wrong", "clear", "not_applicable"]
Severity = Literal["missing", "wrong"]
FAILING: frozenset[Status] = frozenset({"missing", "wrong"})
_MARK: Mapping[Status, str] = {
    "covered": "✓",
    "clear": "✓",
    "missing": "✗",
    "wrong": "!",
    "not_applicable": "–",
}


@dataclass(frozen=True)
class Evidence:
    """A sentence that decided an item (with its line), or an inventory path and message."""

    text: str
    line: int | None = None
    path: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"text": self.text}
        if self.line is not None:
            out["line"] = self.line
        if self.path is not None:
            out["path"] = self.path
        return out


@dataclass(frozen=True)
class LintItem:
    """One checklist entry and what the linter found for it."""

    id: str
    title: Mapping[str, str]
    source: str
    severity: Severity
    status: Status
    evidence: tuple[Evidence, ...] = ()
    advice: Mapping[str, str] = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        return self.status in FAILING

    def to_json(self, lang: Lang) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title.get(lang, self.id),
            "source": self.source,
            "severity": self.severity,
            "status": self.status,
            "evidence": [e.to_json() for e in self.evidence],
            "advice": self.advice.get(lang, "") if self.failed else "",
        }


@dataclass(frozen=True)
class LintReport:
    """All items for one notice or inventory, in checklist order."""

    name: str
    lang: Lang
    subject: Literal["text", "inventory"]
    source_format: str
    items: list[LintItem]

    @property
    def ok(self) -> bool:
        return not any(item.failed for item in self.items)

    def item(self, item_id: str) -> LintItem:
        for item in self.items:
            if item.id == item_id:
                return item
        raise KeyError(item_id)

    def count(self, status: Status) -> int:
        return sum(1 for item in self.items if item.status == status)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "lang": self.lang,
            "subject": self.subject,
            "format": self.source_format,
            "ok": self.ok,
            "summary": {
                status: self.count(status)
                for status in ("covered", "missing", "wrong", "clear", "not_applicable")
            },
            "items": [item.to_json(self.lang) for item in self.items],
        }

    def format(self, lang: str | None = None) -> str:
        """The report for a reader, in ``lang`` (default: the report's): item by item, with
        the quoted sentences or inventory paths, and what to do where something fails."""
        chosen: Lang = "en" if (lang or self.lang) == "en" else "nb"
        words = Words(chosen)
        heading = "heading_text" if self.subject == "text" else "heading_inventory"
        lines = [words.text("lint", heading).format(name=self.name), ""]
        width = max(len(words.text("lint", s)) for s in _MARK)
        for item in self.items:
            label = words.text("lint", item.status).ljust(width)
            title = item.title.get(chosen, item.id)
            lines.append(f"{_MARK[item.status]} {label}  {title} ({item.source})")
            for evidence in item.evidence:
                where = ""
                if evidence.line is not None:
                    where = f"{self.name}:{evidence.line}: "
                elif evidence.path is not None:
                    where = f"{evidence.path}: "
                quote = f"«{evidence.text}»" if self.subject == "text" else evidence.text
                lines.append(f"    {where}{quote}")
            if item.failed and item.advice.get(chosen):
                lines.append(f"    → {item.advice[chosen]}")
        lines.append("")
        lines.append(
            words.text("lint", "summary").format(
                covered=self.count("covered"),
                missing=self.count("missing"),
                wrong=self.count("wrong"),
            )
        )
        return "\n".join(lines) + "\n"
