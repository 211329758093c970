"""Reading YAML into plain data with positions: scalars, duplicate keys, aliases, merges."""

from __future__ import annotations

from typing import Any

import pytest

from personvern.inventory.source import MAX_NODES, Document, Mark, read_document


def read(text: str) -> Document:
    doc, findings = read_document(text)
    assert findings == []
    assert doc is not None
    return doc


@pytest.mark.parametrize(
    ("written", "value"),
    [
        # The Norway problem: YAML 1.1 booleans other than true/false stay text.
        ("NO", "NO"),
        ("no", "no"),
        ("yes", "yes"),
        ("Yes", "Yes"),
        ("on", "on"),
        ("OFF", "OFF"),
        ("y", "y"),
        ("true", True),
        ("True", True),
        ("FALSE", False),
        # Numbers only when nothing is lost by reading them as numbers.
        ("30", 30),
        ("-7", -7),
        ("0", 0),
        ("2.5", 2.5),
        ("-1.5e+3", -1500.0),
        ("0150", "0150"),  # a postal code; octal 104 in YAML 1.1
        ("+4712345678", "+4712345678"),  # a phone number
        ("1:30", "1:30"),  # sexagesimal 90 in YAML 1.1
        ("1_000", "1_000"),
        ("0x1F", "0x1F"),
        (".inf", ".inf"),
        ("1e3", "1e3"),
        # Dates stay text; so do GDPR references.
        ("2024-01-31", "2024-01-31"),
        ("6(1)(b)", "6(1)(b)"),
        ("Art. 6(1)(f)", "Art. 6(1)(f)"),
        # Null.
        ("~", None),
        ("null", None),
        ("", None),
        # Quoted, block and explicitly tagged scalars are always text.
        ("'30'", "30"),
        ('"true"', "true"),
        ("!!str 12", "12"),
        ("!!str true", "true"),
        ("|\n  P2Y", "P2Y\n"),
        ("|-\n  P2Y", "P2Y"),
    ],
)
def test_scalars(written: str, value: Any) -> None:
    data = read(f"value: {written}\n").data

    assert data == {"value": value}
    assert type(data["value"]) is type(value)


def test_keys_are_text_as_written() -> None:
    assert read("NO: 1\n1: 2\ntrue: 3\n").data == {"NO": 1, "1": 2, "true": 3}


def test_positions_of_keys_and_values() -> None:
    doc = read("systems:\n  - key: shop\n    settings:\n      api_key_env: SHOP_KEY\n")

    path = ("systems", 0, "settings", "api_key_env")
    assert doc.keys[path] == Mark(4, 7)
    assert doc.values[path] == Mark(4, 20)
    assert doc.values[("systems", 0)] == Mark(2, 5)
    assert ("systems", 0) not in doc.keys  # a list item has no key
    assert doc.values[()] == Mark(1, 1)


def test_locate_falls_back_to_the_nearest_existing_path() -> None:
    doc = read("controller:\n  name: X\n")

    assert doc.locate(("controller", "address", "city")) == Mark(2, 3)
    assert doc.locate(("controller", "address", "city"), at="key") == Mark(1, 1)
    assert doc.locate(("nothing",)) == Mark(1, 1)


def test_duplicate_keys_are_reported_and_the_first_is_kept() -> None:
    doc, findings = read_document("a: 1\nb:\n  c: 2\n  c: 3\na: 4\n")

    assert doc is not None
    assert doc.data == {"a": 1, "b": {"c": 2}}
    assert [(f.mark, f.message) for f in findings] == [
        (Mark(4, 3), "the key 'c' appears twice in the same mapping"),
        (Mark(5, 1), "the key 'a' appears twice in the same mapping"),
    ]
    assert findings[0].hint is not None
    assert "line 3" in findings[0].hint


def test_anchors_aliases_and_merge_keys() -> None:
    text = (
        "defaults: &vendor\n"
        "  kind: vendor\n"
        "  role: processor\n"
        "one:\n"
        "  <<: *vendor\n"
        "  role: independent_controller\n"
        "two:\n"
        "  <<: [*vendor, {country: SE, kind: internal}]\n"
        "list: &l [a, b]\n"
        "copy: *l\n"
    )

    doc = read(text)

    assert doc.data["one"] == {"kind": "vendor", "role": "independent_controller"}
    assert doc.data["two"] == {"kind": "vendor", "role": "processor", "country": "SE"}
    assert doc.data["copy"] == ["a", "b"]
    # A merged value is found where it is written: at the anchor.
    assert doc.values[("one", "kind")] == Mark(2, 9)
    assert doc.values[("one", "role")] == Mark(6, 9)


@pytest.mark.parametrize(
    ("text", "mark", "message"),
    [
        # An alias is the node it names, so the anchor's position is what there is.
        ("a: &x [1, *x]\n", Mark(1, 4), "an alias refers to the mapping or list that contains"),
        ("a: &x\n  b: 1\n  <<: *x\n", Mark(1, 4), "'<<' merges the mapping that contains it"),
        ("a:\n  <<: [1]\n", Mark(2, 8), "'<<' merges only mappings"),
        ("? [a, b]\n: 1\n", Mark(1, 3), "a key must be plain text"),
        ("a: !Ref b\n", Mark(1, 4), "the tag '!Ref' is not supported"),
    ],
)
def test_structures_that_are_refused(text: str, mark: Mark, message: str) -> None:
    doc, findings = read_document(text)

    assert doc is not None
    [finding] = findings
    assert finding.mark == mark
    assert message in finding.message


def test_a_billion_laughs_is_refused() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 8):
        refs = ", ".join([f"*a{i - 1}"] * 10)
        lines.append(f"a{i}: &a{i} [{refs}]")

    doc, findings = read_document("\n".join(lines) + "\n")

    assert doc is None
    assert [f.message for f in findings] == [
        f"the document expands to more than {MAX_NODES} values"
    ]


@pytest.mark.parametrize(
    ("text", "mark", "message", "hint"),
    [
        ("a: b: c\n", Mark(1, 5), "mapping values are not allowed here", "quote a value"),
        ("a: [1\nb: 2\n", Mark(2, 2), "expected ',' or ']'", "check the YAML"),
        ("a:\n  b: 1\n c: 2\n", Mark(3, 2), "expected <block end>", "indented differently"),
        ("a: *nothing\n", Mark(1, 4), "found undefined alias 'nothing'", "define the anchor"),
        ("a: 'open\n", Mark(2, 1), "found unexpected end of stream", "check the YAML"),
        ("a: \x07\n", Mark(1, 4), "the character '\\x07' is not allowed here", "control"),
    ],
)
def test_syntax_errors(text: str, mark: Mark, message: str, hint: str) -> None:
    doc, [finding] = read_document(text)

    assert doc is None
    assert finding.mark == mark
    assert message in finding.message
    assert finding.hint is not None
    assert hint in finding.hint


def test_context_of_a_syntax_error_is_named() -> None:
    _, [finding] = read_document("a: [1\nb: 2\n")

    assert finding.message == (
        "YAML syntax: expected ',' or ']', but got ':' (while parsing a flow sequence at line 1)"
    )
