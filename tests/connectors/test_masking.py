"""Masking strategies, table-driven: what each writes, recognises, and refuses."""

from __future__ import annotations

import re
from typing import Any

import pytest

from personvern.connectors.masking import (
    Hmac,
    MaskingContext,
    MaskingError,
    MaskingRegistry,
    NullRewrite,
    RandomStringRewrite,
    StringRewrite,
    default_strategy,
)

KEY = MaskingContext(hmac_key=b"test-key-not-secret")
REGISTRY = MaskingRegistry()


@pytest.mark.parametrize(
    ("spec", "value", "check"),
    [
        ({"strategy": "null_rewrite"}, "ola@example.com", lambda v: v is None),
        ({"strategy": "null_rewrite"}, 42, lambda v: v is None),
        ({"strategy": "string_rewrite"}, "Ola", lambda v: v == "MASKED"),
        (
            {"strategy": "string_rewrite", "configuration": {"rewrite_value": "slettet"}},
            "Ola",
            lambda v: v == "slettet",
        ),
        (
            {
                "strategy": "string_rewrite",
                "configuration": {
                    "rewrite_value": "x",
                    "format_preservation": {"suffix": "@example.invalid"},
                },
            },
            "ola@example.com",
            lambda v: v == "x@example.invalid",
        ),
        (
            {"strategy": "random_string_rewrite"},
            "Ola",
            lambda v: re.fullmatch(r"[a-z0-9]{30}", v),
        ),
        (
            {"strategy": "random_string_rewrite", "configuration": {"length": 12}},
            "Ola",
            lambda v: re.fullmatch(r"[a-z0-9]{12}", v),
        ),
        ({"strategy": "hmac"}, "ola@example.com", lambda v: re.fullmatch(r"[0-9a-f]{64}", v)),
        (
            {"strategy": "hmac", "configuration": {"algorithm": "SHA-512"}},
            "ola@example.com",
            lambda v: re.fullmatch(r"[0-9a-f]{128}", v),
        ),
        ({"strategy": "string_rewrite"}, None, lambda v: v is None),
        ({"strategy": "hmac"}, None, lambda v: v is None),
        ({"strategy": "random_string_rewrite"}, None, lambda v: v is None),
    ],
)
def test_strategy_masks(spec: dict[str, Any], value: Any, check: Any) -> None:
    strategy = REGISTRY.from_dict(spec)
    masked = strategy.mask(value, KEY)
    assert check(masked), masked
    assert strategy.is_masked(masked), "a masked value must be recognised (idempotence)"
    if value is not None:
        assert not strategy.is_masked(value)


@pytest.mark.parametrize(
    "spec",
    [
        {"strategy": "null_rewrite"},
        {"strategy": "string_rewrite", "configuration": {"rewrite_value": "slettet"}},
        {"strategy": "random_string_rewrite", "configuration": {"length": 12}},
        {"strategy": "hmac", "configuration": {"algorithm": "SHA-512"}},
        {"strategy": "hmac", "configuration": {"format_preservation": {"suffix": "@x.invalid"}}},
        {"strategy": "delete"},
    ],
)
def test_round_trip(spec: dict[str, Any]) -> None:
    strategy = REGISTRY.from_dict(spec)
    assert strategy.to_dict() == spec
    assert REGISTRY.from_dict(strategy.to_dict()) == strategy


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"strategy": "nul_rewrite"}, "did you mean 'null_rewrite'"),
        ({"strategy": "aes_encrypt"}, "not a masking strategy"),
        ({}, "needs 'strategy: NAME'"),
        ({"strategy": "hmac", "configuration": {"algorithm": "MD5"}}, "algorithm"),
        ({"strategy": "random_string_rewrite", "configuration": {"length": 2}}, "length"),
        ({"strategy": "string_rewrite", "configuration": {"value": "x"}}, "value"),
        ({"strategy": "string_rewrite", "config": {}}, "not config"),
        ({"strategy": "string_rewrite", "configuration": "x"}, "must be a mapping"),
    ],
)
def test_invalid_strategies_say_what_is_wrong(spec: dict[str, Any], message: str) -> None:
    with pytest.raises(MaskingError, match=re.escape(message)):
        REGISTRY.from_dict(spec)


def test_hmac_is_keyed_and_stable() -> None:
    strategy = Hmac()
    a = strategy.mask("ola@example.com", KEY)
    assert a == strategy.mask("ola@example.com", KEY)
    assert a != strategy.mask("ola@example.com", MaskingContext(hmac_key=b"another key"))
    with pytest.raises(MaskingError, match="hmac_key_env"):
        strategy.mask("ola@example.com", MaskingContext())


def test_random_strings_differ() -> None:
    strategy = RandomStringRewrite()
    assert strategy.mask("a", KEY) != strategy.mask("a", KEY)


@pytest.mark.parametrize(
    ("strategy", "length"),
    [
        (NullRewrite(), None),
        (StringRewrite(), 6),
        (RandomStringRewrite(length=10), 10),
        (Hmac(), 64),
        (Hmac(algorithm="SHA-512"), 128),
    ],
)
def test_output_length(strategy: Any, length: int | None) -> None:
    assert strategy.output_length() == length


def test_defaults_for_anonymize() -> None:
    assert default_strategy(nullable=True) == NullRewrite()
    assert default_strategy(nullable=False) == StringRewrite()


def test_delete_is_a_row_strategy() -> None:
    strategy = REGISTRY.from_dict({"strategy": "delete"})
    assert strategy.deletes_row
    with pytest.raises(MaskingError):
        strategy.mask("x", KEY)


def test_registry_rejects_duplicate_names() -> None:
    with pytest.raises(ValueError, match="two masking strategies"):
        MaskingRegistry([NullRewrite, NullRewrite])
