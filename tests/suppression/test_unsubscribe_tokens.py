"""The unsubscribe token names a person and a list, opaquely, and cannot be forged or altered."""

from __future__ import annotations

import base64

import pytest

from personvern.suppression.tokens import InvalidToken, Unsubscribe, make_token, read_token

SECRET = b"a-secret-key-for-the-token-tests-0123456789"
ADDRESS = "Kari.Nordmann@Example.NO"


def test_round_trip_normalises_the_address() -> None:
    token = make_token(SECRET, f"  {ADDRESS} ", "newsletter")
    assert read_token(SECRET, token) == Unsubscribe("kari.nordmann@example.no", "newsletter")
    assert read_token(SECRET, make_token(SECRET, ADDRESS)).list_key == "*"


def test_the_token_does_not_show_the_address() -> None:
    token = make_token(SECRET, ADDRESS, "newsletter")
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    for part in ("kari", "nordmann", "example", "newsletter"):
        assert part not in token.lower()
        assert part.encode() not in raw.lower()
    assert token.isascii()
    assert all(c.isalnum() or c in "-_" for c in token)


def test_same_person_and_list_give_the_same_token_and_others_differ() -> None:
    token = make_token(SECRET, ADDRESS, "newsletter")
    assert make_token(SECRET, ADDRESS.lower(), "newsletter") == token
    assert make_token(SECRET, ADDRESS, "offers") != token
    assert make_token(SECRET, "ola@example.no", "newsletter") != token


def test_every_altered_character_is_refused() -> None:
    token = make_token(SECRET, ADDRESS, "newsletter")
    for i, char in enumerate(token):
        altered = token[:i] + ("A" if char != "A" else "B") + token[i + 1 :]
        with pytest.raises(InvalidToken):
            read_token(SECRET, altered)


@pytest.mark.parametrize(
    "token",
    [
        "",
        "x",
        "not a token",
        "AQ",
        "A" * 40,
        "å" * 30,
        "A" * 700,
        base64.urlsafe_b64encode(b"\x02" + b"\x00" * 40).decode(),
    ],
)
def test_made_up_tokens_are_refused(token: str) -> None:
    with pytest.raises(InvalidToken):
        read_token(SECRET, token)


def test_cut_short_or_extended_or_from_another_key_is_refused() -> None:
    token = make_token(SECRET, ADDRESS, "newsletter")
    for bad in (token[:-1], token[:-4], token + "A", token[1:]):
        with pytest.raises(InvalidToken):
            read_token(SECRET, bad)
    with pytest.raises(InvalidToken):
        read_token(b"another-key-entirely-0123456789abcdef", token)


@pytest.mark.parametrize("address", ["", "no-at-sign", "two@@example.no", "a@b\n@c.no"])
def test_bad_addresses_make_no_token(address: str) -> None:
    with pytest.raises(ValueError, match="e-mail address"):
        make_token(SECRET, address)


@pytest.mark.parametrize("list_key", ["", "Newsletter", "a b", "x" * 65, "nl\n"])
def test_bad_list_keys_make_no_token(list_key: str) -> None:
    with pytest.raises(ValueError, match="list key"):
        make_token(SECRET, ADDRESS, list_key)
