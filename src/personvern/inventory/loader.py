"""Loading ``privacy.yaml``: every problem at once, each with file, line, column and a fix.

The entry points are :func:`load_inventory` (a file), :func:`load_inventory_text` (a string),
:func:`require_inventory` (raises :class:`InventoryError`) and :func:`check_command` (what
``personvern check PATH`` runs). None of them raises for bad content: syntax errors, schema
errors, unknown taxonomy keys, dangling references, duplicate keys and secrets written in
clear all come back together in one :class:`LoadResult`, sorted by position, and the
inventory is only returned when there are none.

How it works: :mod:`~personvern.inventory.source` reads the YAML into plain data and a map
from each path to its position; the schema (:mod:`~personvern.inventory.schema`) validates
the data and pydantic's error locations are mapped back to positions here;
:mod:`~personvern.inventory.references` and :mod:`~personvern.inventory.secrets` add their
checks on the same paths.
"""

from __future__ import annotations

import difflib
import re
import types
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, TextIO, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from personvern.inventory.references import check_references
from personvern.inventory.schema import Inventory, Text
from personvern.inventory.secrets import check_secrets
from personvern.inventory.source import START, DocPath, Document, Finding, read_document
from personvern.retention.rules import check_retention

__all__ = [
    "InventoryError",
    "LoadResult",
    "Problem",
    "check_command",
    "load_inventory",
    "load_inventory_text",
    "require_inventory",
]

DOCS = "docs/inventory.md"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an inventory, where it is and how to fix it."""

    file: str  # the path as given
    line: int  # 1-based
    column: int  # 1-based
    message: str  # what is wrong
    hint: str | None  # how to fix it

    def format(self) -> str:
        """One line, like a compiler: ``privacy.yaml:12:5: error: <message> (hint: …)``."""
        text = f"{self.file}:{self.line}:{self.column}: error: {_one_line(self.message)}"
        if self.hint:
            text += f" (hint: {_one_line(self.hint)})"
        return text


@dataclass(frozen=True)
class LoadResult:
    """The inventory when the file is valid (``problems`` empty), else ``None``."""

    inventory: Inventory | None
    problems: list[Problem]
    source: Path

    @property
    def ok(self) -> bool:
        return self.inventory is not None


class InventoryError(Exception):
    """An inventory could not be loaded; ``problems`` says everything that is wrong."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        lines = [problem.format() for problem in problems]
        super().__init__("\n".join([f"the inventory has {_count(len(problems))}:", *lines]))


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _count(n: int, noun: str = "problem", plural: str | None = None) -> str:
    return f"{n} {noun if n == 1 else plural or noun + 's'}"


# --- the public API ---------------------------------------------------------------------


def load_inventory(path: Path) -> LoadResult:
    """Load and check the inventory at ``path``. A file that cannot be read is a problem too."""
    file = str(path)
    try:
        raw = path.read_bytes()
    except OSError as error:
        reason = error.strerror or str(error)
        hint = (
            "check the path; an example inventory is described in " + DOCS
            if isinstance(error, FileNotFoundError)
            else "check that the path names a file you may read"
        )
        problem = Problem(file, 1, 1, f"cannot read the inventory: {reason}", hint)
        return LoadResult(None, [problem], path)
    try:
        # utf-8-sig: an editor on Windows may have put a byte-order mark at the start.
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        before = raw[: error.start]
        line = before.count(b"\n") + 1
        column = len(before) - (before.rfind(b"\n") + 1) + 1
        problem = Problem(
            file,
            line,
            column,
            "the file is not valid UTF-8",
            "save it as UTF-8 (most editors have this under 'Save with encoding')",
        )
        return LoadResult(None, [problem], path)
    return _load(text, file, path)


def load_inventory_text(text: str, file: str = "<string>") -> LoadResult:
    """Load and check an inventory given as text; ``file`` is the name used in problems."""
    return _load(text, file, Path(file))


def require_inventory(path: Path) -> Inventory:
    """The inventory at ``path``; raises :class:`InventoryError` listing every problem."""
    result = load_inventory(path)
    if result.inventory is None:
        raise InventoryError(result.problems)
    return result.inventory


def check_command(path: Path, out: TextIO) -> int:
    """``personvern check PATH``: print each problem and a summary; 0 when valid, else 1.

    Writes nothing to disk.
    """
    result = load_inventory(path)
    for problem in result.problems:
        out.write(problem.format() + "\n")
    inventory = result.inventory
    if inventory is None:
        out.write(f"{path}: {_count(len(result.problems))}\n")
        return 1
    parts = [
        _count(len(inventory.systems), "system"),
        _count(len(inventory.activities), "activity", "activities"),
        _count(len(inventory.cookies), "cookie"),
        _count(len(inventory.retention), "retention rule"),
        _count(len(inventory.sites), "site"),
    ]
    out.write(f"{path}: valid — {', '.join(parts)}\n")
    return 0


# --- loading ----------------------------------------------------------------------------


def _load(text: str, file: str, source: Path) -> LoadResult:
    doc, findings = read_document(text)
    inventory: Inventory | None = None
    if doc is not None:  # else a YAML syntax error stopped the reading
        errors: set[DocPath] = set()
        try:
            inventory = Inventory.model_validate(doc.data)
        except ValidationError as error:
            details = error.errors(include_url=False)
            findings.extend(_schema_findings(details, doc))
            errors = {tuple(d["loc"]) for d in details} | _typo_targets(details)
        findings.extend(check_secrets(doc.data))
        findings.extend(check_references(doc, errors))
        findings.extend(check_retention(inventory, source.parent) if inventory else [])
    problems = sorted(
        {_place(finding, doc, file) for finding in findings},
        key=lambda p: (p.line, p.column, p.message),
    )
    return LoadResult(inventory if not problems else None, problems, source)


def _place(finding: Finding, doc: Document | None, file: str) -> Problem:
    mark = finding.mark or (doc.locate(finding.path, finding.at) if doc else START)
    return Problem(file, mark.line, mark.column, finding.message, finding.hint)


# --- pydantic errors, in the shop owner's words -----------------------------------------


def _typo_targets(details: list[ErrorDetails]) -> set[DocPath]:
    """For each unknown field that looks like a typo, the path of the field it meant."""
    targets: set[DocPath] = set()
    for detail in details:
        if detail["type"] == "extra_forbidden":
            loc = tuple(detail["loc"])
            suggestion = _suggest_field(loc[:-1], str(loc[-1]))
            if suggestion is not None:
                targets.add((*loc[:-1], suggestion))
    return targets


def _schema_findings(details: list[ErrorDetails], doc: Document) -> list[Finding]:
    # A typo in a field name shows up twice in pydantic: the unknown field and the missing
    # required one. Reporting the typo with its fix is enough.
    typos = _typo_targets(details)
    findings: list[Finding] = []
    unions: set[DocPath] = set()
    for detail in details:
        loc = tuple(detail["loc"])
        if detail["type"] == "missing":
            if loc not in typos:
                findings.append(_missing(loc))
        elif not doc.has(loc):
            # Deeper than the data: a member of a union (the settings values) that failed.
            # One problem per value, not one per member it could have been.
            at = _existing(loc, doc)
            if at not in unions:
                unions.add(at)
                findings.append(_union(at))
        else:
            findings.append(_explain(detail, loc, doc))
    return findings


def _existing(loc: DocPath, doc: Document) -> DocPath:
    for end in range(len(loc), -1, -1):
        if doc.has(loc[:end]):
            return loc[:end]
    return ()


def _union(path: DocPath) -> Finding:
    if len(path) >= 2 and path[-2] == "settings":
        return Finding(
            path,
            f"setting {path[-1]!r} must be text, a number, true/false or a list of texts",
            "give it one plain value; a nested mapping is not a setting",
        )
    return Finding(path, f"{_where(path)} has a value of the wrong kind", f"see {DOCS}")


def _missing(loc: DocPath) -> Finding:
    parent, name = loc[:-1], str(loc[-1])
    where = f" in {_where(parent)}" if parent else " at the top level"
    description = _description(parent, name)
    hint = f"add `{name}:` here" + (f" — {description}" if description else "")
    # "point at the parent mapping": its key when it has one (``controller:``), else the
    # mapping itself (a list item, the document).
    return Finding(parent, f"missing required field {name!r}{where}", hint, at="key")


def _explain(detail: ErrorDetails, loc: DocPath, doc: Document) -> Finding:
    kind = detail["type"]
    ctx: dict[str, Any] = dict(detail.get("ctx") or {})
    value = detail.get("input")
    name = next((str(p) for p in reversed(loc) if isinstance(p, str)), "value")
    shown = _show(value, loc)

    if kind == "extra_forbidden":
        parent = loc[:-1]
        suggestion = _suggest_field(parent, name)
        if suggestion is not None:
            hint = f"did you mean {suggestion!r}?"
        else:
            fields = _fields(parent)
            hint = f"the fields here are: {', '.join(fields)}" if fields else f"see {DOCS}"
        where = f" in {_where(parent)}" if parent else " at the top level"
        return Finding(loc, f"unknown field {name!r}{where}", hint, at="key")
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return _not_a_mapping(loc, value, ctx)
    if kind == "list_type":
        return Finding(
            loc,
            f"{name!r} should be a list, not {_kind_of(value)}",
            "write each item on its own line, starting with '- '",
        )
    if kind == "string_type":
        return Finding(
            loc,
            f"{name!r} should be text, not {_kind_of(value)}",
            "write a single value; put quotes around it if it contains ': ' or starts with '-'",
        )
    if kind == "literal_error":
        options = re.findall(r"'([^']*)'", str(ctx.get("expected", ""))) or [
            str(ctx.get("expected", ""))
        ]
        close = difflib.get_close_matches(str(value), options, n=1, cutoff=0.5)
        hint = f"did you mean {close[0]!r}?" if close else f"write one of: {ctx.get('expected')}"
        return Finding(loc, f"{shown or 'the value'} is not a valid {name!r}", hint)
    if kind == "string_pattern_mismatch":
        return _pattern(loc, name, value, shown, str(ctx.get("pattern", "")))
    if kind == "too_short":
        need = ctx.get("min_length", 1)
        return Finding(
            loc,
            f"{name!r} needs at least {_count(int(need), 'item')}",
            f"add at least {_count(int(need), 'item')}: one per line, starting with '- '",
        )
    if kind == "string_too_short":
        return Finding(loc, f"{name!r} is empty", "write the text, or leave the field out")
    if kind == "string_too_long":
        return Finding(
            loc,
            f"{name!r} is longer than {ctx.get('max_length')} characters",
            "shorten it",
        )
    at: Literal["key", "value"] = "key" if isinstance(_get(doc.data, loc), Mapping) else "value"
    message = detail["msg"].removeprefix("Value error, ")
    if message.startswith("value is not a valid email address"):
        reason = message.partition(": ")[2] or None
        return Finding(loc, f"{shown or 'the value'} is not a valid e-mail address", reason)
    # The schema phrases its errors "what is wrong; how to fix it".
    what, _, how = message.partition("; ")
    hint = how or _description(loc[:-1], name) or f"see the '{name}' field in {DOCS}"
    return Finding(loc, what, hint, at=at)


def _not_a_mapping(loc: DocPath, value: Any, ctx: Mapping[str, Any]) -> Finding:
    if not loc:
        if value is None:
            return Finding((), "the inventory is empty", f"start from the example in {DOCS}")
        return Finding(
            (),
            "the inventory must be a mapping ('controller:', 'systems:', …), "
            f"not {_kind_of(value)}",
            f"start from the example in {DOCS}",
        )
    name = str(loc[-1]) if isinstance(loc[-1], str) else _where(loc)
    if ctx.get("class_name") == Text.__name__:
        other = "" if isinstance(value, str) else f", not {_kind_of(value)}"
        return Finding(
            loc,
            f"{name!r} needs the text in both bokmål and English{other}",
            "write it as two lines indented under it: `nb: …` and `en: …`",
        )
    fields = _fields(loc)
    hint = "write its fields indented under it, one `field: value` per line"
    if fields:
        hint += f" ({', '.join(fields)})"
    return Finding(loc, f"{name!r} should be a mapping, not {_kind_of(value)}", hint)


_KEY_PATTERN = "^[a-z][a-z0-9_]*$"
_COUNTRY_PATTERN = "^[A-Z]{2}$"


def _pattern(loc: DocPath, name: str, value: Any, shown: str | None, pattern: str) -> Finding:
    what = shown or "the value"
    if pattern == _KEY_PATTERN:
        slug = re.sub(r"[^a-z0-9]+", "_", str(value).lower()).strip("_")
        slug = slug if re.match(r"[a-z]", slug) else f"x_{slug}"
        return Finding(
            loc,
            f"{what} is not a valid key",
            f"use lower-case letters, digits and '_', starting with a letter, e.g. {slug!r}",
        )
    if pattern == _COUNTRY_PATTERN:
        return Finding(
            loc,
            f"{what} is not a country code",
            "write the two-letter ISO 3166-1 code in upper case, e.g. 'NO', 'SE', 'US'",
        )
    if name == "origin":
        return Finding(
            loc,
            f"{what} is not an origin",
            "write scheme and host only, with no path and no final '/': 'https://www.example.no'",
        )
    return Finding(loc, f"{what} does not have the expected form", f"see {DOCS}")


def _show(value: Any, loc: DocPath) -> str | None:
    """The offending value, quoted, when it is short and cannot be a secret."""
    if "settings" in loc or not isinstance(value, str | int | float) or isinstance(value, bool):
        return None
    text = repr(value)
    return text if len(text) <= 60 else None


def _kind_of(value: Any) -> str:
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, Mapping):
        return "a mapping"
    return type(value).__name__


def _where(path: DocPath) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out or "the top level"


def _get(data: Any, path: DocPath) -> Any:
    for part in path:
        in_list = isinstance(part, int) and isinstance(data, list) and part < len(data)
        in_mapping = isinstance(part, str) and isinstance(data, Mapping) and part in data
        if not (in_list or in_mapping):
            return None
        data = data[part]
    return data


# --- the schema, seen from a path -------------------------------------------------------


def _unwrap(tp: Any) -> Any:
    """``Annotated[X, …]`` and ``X | None`` are ``X`` for walking the schema."""
    while True:
        origin = get_origin(tp)
        if origin is Annotated:
            tp = get_args(tp)[0]
        elif origin in (Union, types.UnionType):
            args = [a for a in get_args(tp) if a is not type(None)]
            if len(args) != 1:
                return tp
            tp = args[0]
        else:
            return tp


def _model_at(path: DocPath) -> type[BaseModel] | None:
    """The model that validates the mapping at ``path``, if there is one."""
    current: Any = Inventory
    for part in path:
        current = _unwrap(current)
        origin = get_origin(current)
        if isinstance(part, int) and origin is list:
            current = get_args(current)[0]
        elif isinstance(part, str) and origin is dict:
            current = get_args(current)[1]
        elif (
            isinstance(part, str)
            and isinstance(current, type)
            and issubclass(current, BaseModel)
            and part in current.model_fields
        ):
            current = current.model_fields[part].annotation
        else:
            return None
    current = _unwrap(current)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _fields(path: DocPath) -> list[str]:
    model = _model_at(path)
    return list(model.model_fields) if model is not None else []


def _suggest_field(parent: DocPath, name: str) -> str | None:
    close = difflib.get_close_matches(name, _fields(parent), n=1, cutoff=0.6)
    return close[0] if close else None


def _description(parent: DocPath, name: str) -> str | None:
    model = _model_at(parent)
    info = model.model_fields.get(name) if model is not None else None
    return _one_line(info.description) if info is not None and info.description else None
