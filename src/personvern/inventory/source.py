"""Reading ``privacy.yaml`` into plain data while remembering where every key and value is.

PyYAML's constructor throws positions away, so the document is composed into nodes
(``yaml.compose`` with the SafeLoader's scanner, parser and resolver) and turned into plain
Python data here. Along the way it records, for every path into the data — e.g.
``("systems", 3, "connector", "settings", "api_key")`` — the line and column of the key and of
the value, so a problem found later (by pydantic, by a cross-reference check) can name them.

Scalars are resolved more strictly than YAML 1.1 does, because the inventory is full of
short codes that YAML 1.1 silently turns into something else:

- only ``true`` / ``false`` are booleans: ``NO`` (Norway), ``yes``, ``on`` and ``off`` stay
  text — the "Norway problem";
- a plain scalar is a number only when it reads as one without losing any text: ``30`` and
  ``-1.5`` are numbers; ``0150`` (a postal code in Oslo, octal in YAML 1.1), ``+4712345678``
  (a phone number), ``1:30`` (sexagesimal in YAML 1.1) and ``1_000`` stay text;
- dates (``2024-01-31``) stay text; ``null``, ``~`` and an empty value are ``None``;
- a quoted or block scalar, or one tagged ``!!str``, is always text.

Anything else PyYAML rejects or that this module cannot represent (duplicate keys in one
mapping, a key that is not plain text, an alias that contains itself, an unknown tag) is a
:class:`Finding` with the exact position; reading carries on so every problem is reported.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

DocPath = tuple[str | int, ...]
"""A path into the plain data: mapping keys (``str``) and list indexes (``int``)."""


@dataclass(frozen=True, order=True)
class Mark:
    """A position in the source text, 1-based like a compiler's."""

    line: int
    column: int


START = Mark(1, 1)


@dataclass(frozen=True)
class Finding:
    """A problem at a path of the document, before it is given a position.

    ``at`` says whether the key (``api_key`` in ``api_key: …``) or the value is meant; a
    finding that already knows its position (a YAML syntax error) carries ``mark`` instead.
    """

    path: DocPath
    message: str
    hint: str | None = None
    at: Literal["key", "value"] = "value"
    mark: Mark | None = None


@dataclass
class Document:
    """The plain data of a YAML document and the positions of its keys and values."""

    data: Any
    keys: dict[DocPath, Mark] = field(default_factory=dict)
    values: dict[DocPath, Mark] = field(default_factory=dict)

    def locate(self, path: DocPath, at: Literal["key", "value"] = "value") -> Mark:
        """The position of ``path``, or of its longest prefix the document has.

        Pydantic's error locations can go deeper than the data (a missing field, a member
        of a union), so the nearest thing that exists is the best place to point at.
        """
        for end in range(len(path), -1, -1):
            prefix = path[:end]
            if at == "key" and prefix in self.keys:
                return self.keys[prefix]
            if prefix in self.values:
                return self.values[prefix]
        return START

    def has(self, path: DocPath) -> bool:
        return path in self.values

    def line(self, path: DocPath) -> int:
        return self.locate(path).line


# --- scalars ----------------------------------------------------------------------------

_TAG = "tag:yaml.org,2002:"
_STR = _TAG + "str"
# Tags the SafeLoader's resolver gives a plain scalar on its own; any of them is resolved
# again by ``_plain`` below. An explicit tag outside this set (``!Ref``, ``!!python/…``) is
# refused rather than guessed at.
_IMPLICIT = {_TAG + t for t in ("null", "bool", "int", "float", "timestamp", "value")}
_NULL = frozenset({"", "~", "null", "Null", "NULL"})
_INT = re.compile(r"-?(?:0|[1-9][0-9]*)")
_FLOAT = re.compile(r"-?(?:0|[1-9][0-9]*)\.[0-9]+(?:[eE][-+]?[0-9]+)?")

# A ceiling on how many nodes one document may expand to: aliases can make a tiny file
# expand exponentially ("billion laughs"). A real inventory has a few thousand.
MAX_NODES = 200_000


def _plain(text: str) -> Any:
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    if text in _NULL:
        return None
    if _INT.fullmatch(text):
        return int(text)
    if _FLOAT.fullmatch(text):
        return float(text)
    return text


def _mark(node: Node) -> Mark:
    return Mark(node.start_mark.line + 1, node.start_mark.column + 1)


class _TooLarge(Exception):
    pass


class _Builder:
    """Turns a composed node tree into plain data, recording positions and findings."""

    def __init__(self) -> None:
        self.doc = Document(data=None)
        self.findings: list[Finding] = []
        self._active: set[int] = set()
        self._count = 0

    def build(self, node: Node, path: DocPath) -> Any:
        self._count += 1
        if self._count > MAX_NODES:
            raise _TooLarge
        self.doc.values[path] = _mark(node)
        if id(node) in self._active:
            self.findings.append(
                Finding(
                    path,
                    "an alias refers to the mapping or list that contains it",
                    "write the value out instead of using the alias",
                    mark=_mark(node),
                )
            )
            return None
        if isinstance(node, ScalarNode):
            return self._scalar(node, path)
        self._active.add(id(node))
        try:
            if isinstance(node, SequenceNode):
                return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
            if isinstance(node, MappingNode):
                return self._mapping(node, path)
            return None  # pragma: no cover - compose yields only the three node kinds
        finally:
            self._active.discard(id(node))

    def _scalar(self, node: ScalarNode, path: DocPath) -> Any:
        value: str = node.value
        if node.style is not None or node.tag == _STR:
            return value
        if node.tag in _IMPLICIT:
            return _plain(value)
        self.findings.append(
            Finding(
                path,
                f"the tag {node.tag!r} is not supported in an inventory",
                "remove the tag; write the value as plain text, a number, true/false or a list",
                mark=_mark(node),
            )
        )
        return value

    def _mapping(self, node: MappingNode, path: DocPath) -> dict[str, Any]:
        explicit: list[tuple[Node, Node]] = []
        merged: list[MappingNode] = []
        for key_node, value_node in node.value:
            if isinstance(key_node, ScalarNode) and key_node.tag == _TAG + "merge":
                merged.extend(self._merge_sources(value_node, path))
            else:
                explicit.append((key_node, value_node))
        out: dict[str, Any] = {}
        # Merged mappings (``<<: *defaults``) come first so explicit keys override them, and
        # the first of several merged mappings wins — YAML's merge-key semantics.
        for source in reversed(merged):
            if id(source) in self._active:
                self.findings.append(
                    Finding(
                        path,
                        "'<<' merges the mapping that contains it",
                        "merge a different anchor, or write the keys out",
                        mark=_mark(source),
                    )
                )
                continue
            for key_node, _ in source.value:
                if isinstance(key_node, ScalarNode):
                    self._forget(path, str(key_node.value))
            self._active.add(id(source))
            try:
                # This records the source's positions under ``path``: an error in a merged
                # value points at the anchor where it is written.
                out.update(self._mapping(source, path))
            finally:
                self._active.discard(id(source))
        first: dict[str, Mark] = {}
        for key_node, value_node in explicit:
            key = self._key(key_node, path)
            if key is None:
                continue
            if key in first:
                self.findings.append(
                    Finding(
                        (*path, key),
                        f"the key {key!r} appears twice in the same mapping",
                        f"remove one; the first is at line {first[key].line}, and YAML "
                        "would quietly keep only the last",
                        mark=_mark(key_node),
                    )
                )
                continue
            first[key] = _mark(key_node)
            self._forget(path, key)
            self.doc.keys[(*path, key)] = _mark(key_node)
            out[key] = self.build(value_node, (*path, key))
        self.doc.values[path] = _mark(node)
        return out

    def _merge_sources(self, value: Node, path: DocPath) -> Iterable[MappingNode]:
        nodes = value.value if isinstance(value, SequenceNode) else [value]
        for item in nodes:
            if isinstance(item, MappingNode):
                yield item
            else:
                self.findings.append(
                    Finding(
                        path,
                        "'<<' merges only mappings",
                        "point '<<' at a mapping anchor (&name) or a list of them",
                        mark=_mark(item),
                    )
                )

    def _key(self, node: Node, path: DocPath) -> str | None:
        if isinstance(node, ScalarNode):
            # The key as written: ``NO:``, ``1:`` and ``true:`` are keys "NO", "1", "true".
            return str(node.value)
        self.findings.append(
            Finding(
                path,
                "a key must be plain text, not a list or a mapping",
                "write the key as a single word followed by ':'",
                mark=_mark(node),
            )
        )
        return None

    def _forget(self, path: DocPath, key: str) -> None:
        """Drop recorded positions under ``path + (key,)`` before it is overridden."""
        prefix = (*path, key)
        size = len(prefix)
        for table in (self.doc.keys, self.doc.values):
            for stale in [p for p in table if p[:size] == prefix]:
                del table[stale]


def _syntax_finding(error: yaml.YAMLError, text: str) -> Finding:
    if isinstance(error, yaml.MarkedYAMLError) and error.problem_mark is not None:
        where = error.problem_mark
        message = f"YAML syntax: {error.problem}"
        if error.context and error.context_mark is not None:
            message += f" ({error.context} at line {error.context_mark.line + 1})"
        mark = Mark(where.line + 1, where.column + 1)
        return Finding((), message, _syntax_hint(error.problem or ""), mark=mark)
    if isinstance(error, yaml.reader.ReaderError):
        before = text[: error.position]
        mark = Mark(before.count("\n") + 1, len(before) - (before.rfind("\n") + 1) + 1)
        return Finding(
            (),
            f"YAML syntax: the character {_char(error.character)!r} is not allowed here",
            "remove it; control characters cannot appear in a YAML file",
            mark=mark,
        )
    return Finding((), f"YAML syntax: {error}", _syntax_hint(""), mark=START)


def _char(character: int | str | bytes) -> str:
    # PyYAML gives a code point for text input and a byte for bytes input.
    if isinstance(character, int):
        return chr(character)
    return character if isinstance(character, str) else character.decode("latin-1")


_SYNTAX_HINTS = (
    ("'\\t'", "indent with spaces, not tabs"),
    (
        "mapping values are not allowed",
        "quote a value that contains ': ', or fix the indentation so each key starts its own line",
    ),
    (
        "could not find expected ':'",
        "every line of a mapping is 'key: value'; check this "
        "line and the one above for a missing ':' or an unclosed quote",
    ),
    (
        "expected <block end>",
        "this line is indented differently from the lines around it; line it up with its siblings",
    ),
    ("undefined alias", "define the anchor (&name) before using the alias (*name)"),
    ("expected a single document", "keep one document per file; remove the '---' line"),
)


def _syntax_hint(problem: str) -> str:
    for needle, hint in _SYNTAX_HINTS:
        if needle in problem:
            return hint
    return "check the YAML near here: indentation with spaces, ':' after each key, closed quotes"


def read_document(text: str) -> tuple[Document | None, list[Finding]]:
    """Compose ``text`` and return its plain data with positions, and what is wrong with it.

    Never raises for bad content. The document is ``None`` when it could not be read at
    all: on a YAML syntax error the one finding names the place PyYAML stopped (it cannot
    read further). Other findings (a duplicate key, say) leave a usable document.
    """
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as error:
        return None, [_syntax_finding(error, text)]
    builder = _Builder()
    if root is None:
        builder.doc.values[()] = START
        return builder.doc, []
    try:
        builder.doc.data = builder.build(root, ())
    except _TooLarge:
        too_large = Finding(
            (),
            f"the document expands to more than {MAX_NODES} values",
            "aliases (*name) repeat what they point at; write the inventory out plainly",
            mark=START,
        )
        return None, [too_large]
    return builder.doc, builder.findings
