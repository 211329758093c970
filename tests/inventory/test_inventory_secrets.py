"""Secret detection in connector settings: by name, by value, and never echoing the secret."""

from __future__ import annotations

from typing import Any

import pytest

from personvern.inventory.secrets import (
    check_secrets,
    entropy,
    env_name_for,
    is_secret_name,
    looks_like_secret,
    mask,
)

# Made-up credentials in the shapes of real ones. Nothing here is real.
HEX40 = "0123456789abcdef" * 2 + "01234567"


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ("ck_" + HEX40, "a WooCommerce API key"),
        ("cs_" + HEX40, "a WooCommerce API key"),
        ("0123456789abcdef0123456789abcdef-us21", "a Mailchimp API key"),
        ("sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc", "a Stripe secret key"),
        ("rk_test_" + "abcdefghijKLMNOP", "a Stripe secret key"),
        ("AIza" + "SyA-1234567890abcdefghijklmnopqrstu", "a Google API key"),
        (
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
            "a JSON Web Token",
        ),
        ("-----BEGIN RSA PRIVATE KEY-----\nMIIB...", "a private key"),
        ("-----BEGIN PRIVATE KEY-----", "a private key"),
        ("-----BEGIN OPENSSH PRIVATE KEY-----", "a private key"),
        ("ghp_" + "a" * 36, "a GitHub token"),
        ("AKIA" + "IOSFODNN7EXAMPLE", "an AWS access key"),
        ("q8Zt3VbN1xKpW7yLmR4sJd9HfGc2", "a long random-looking string (an API key or a token?)"),
    ],
)
def test_values_that_look_like_secrets(value: str, kind: str) -> None:
    assert looks_like_secret(value) == kind


@pytest.mark.parametrize(
    "value",
    [
        "https://shop.example.no/wp-json/wc/v3?x=Zk93Jq2LmX8vB4nR7tYpW1",
        "www.assemble-prosjekt-eksempel.no",
        "personvern.og.kundeservice@example.no",
        "/var/lib/personvern/exports/Zk93Jq2LmX8vB4nR7tYpW1",
        "WOOCOMMERCE_CONSUMER_SECRET_FOR_THE_SHOP",
        "The shop's main mailing list for news",
        "0123456789abcdef0123456789abcdef",  # hex: at most 4 bits per character
        "3f2b8c1e-9d4a-4b7e-a1c2-5e6f7a8b9c0d",  # a list id, a UUID
        "0a1b2c3d-4e5f-6789-abcd-ef0123456789",  # over 4 bits per character, still a UUID
        "G-ABCDEF1234",
        "short",
        "",
    ],
)
def test_values_that_do_not(value: str) -> None:
    assert looks_like_secret(value) is None


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("api_key", True),
        ("apikey", True),
        ("consumer_secret", True),
        ("clientSecret", True),
        ("access_token", True),
        ("password", True),
        ("db_passwd", True),
        ("pwd", True),
        ("credentials", True),
        ("basic_auth", True),
        ("private_key", True),
        ("token_url", False),
        ("key_id", False),
        ("private_key_path", False),
        ("publishable_key", False),
        ("public_key", False),
        ("base_url", False),
        ("list_id", False),
        ("author", False),
        ("timeout", False),
    ],
)
def test_secret_names(name: str, secret: bool) -> None:
    assert is_secret_name(name) is secret


@pytest.mark.parametrize(
    ("value", "masked"),
    [("ck_" + HEX40, "ck_0…"), ("hunter22", "hu…"), ("abc", "…"), ("", "…")],
)
def test_mask_shows_at_most_four_characters(value: str, masked: str) -> None:
    assert mask(value) == masked


def test_entropy() -> None:
    assert entropy("") == 0.0
    assert entropy("aaaa") == 0.0
    assert entropy("abcd") == pytest.approx(2.0)


def test_env_name_for() -> None:
    assert env_name_for("woocommerce", "api_key") == "WOOCOMMERCE_API_KEY"
    assert env_name_for("google-ads", "client.secret") == "GOOGLE_ADS_CLIENT_SECRET"
    assert env_name_for("2fa", "key") == "_2FA_KEY"


def inventory(settings: dict[str, Any], key: Any = "woocommerce") -> dict[str, Any]:
    return {"systems": [{"key": key, "connector": {"type": "x", "settings": settings}}]}


@pytest.mark.parametrize(
    ("settings", "messages"),
    [
        ({"api_key_env": "WOO_KEY", "base_url": "https://x.no", "timeout": 30}, []),
        ({"api_key": "ck_" + HEX40}, ["a secret given in clear in setting 'api_key' (ck_0…)"]),
        (
            {"api_key": None},
            ["setting 'api_key' holds a secret, so it must be named 'api_key_env'"],
        ),
        ({"api_key": 12345}, ["a secret given in clear in setting 'api_key'"]),
        ({"api_key": "WOO_KEY"}, ["setting 'api_key' holds a secret, so it must be named"]),
        ({"api_key_env": "ck_" + HEX40}, ["a secret given in clear in setting 'api_key_env'"]),
        ({"list_env": "my list"}, ["setting 'list_env' must name an environment variable"]),
        ({"list_env": 3}, ["setting 'list_env' must name an environment variable"]),
        (
            {"lists": ["news", "cs_" + HEX40]},
            ["a secret given in clear in setting 'lists': the value (cs_0…) looks like a Woo"],
        ),
        ({"nested": {"api_key": "ck_" + HEX40}}, []),  # not a setting; the schema says so
    ],
)
def test_check_secrets(settings: dict[str, Any], messages: list[str]) -> None:
    findings = check_secrets(inventory(settings))

    assert len(findings) == len(messages)
    for finding, message in zip(findings, messages, strict=True):
        assert finding.message.startswith(message)
        assert finding.hint
        assert finding.path[:4] == ("systems", 0, "connector", "settings")
        assert HEX40[4:] not in finding.message + finding.hint


def test_hint_names_an_environment_variable_after_the_system() -> None:
    [finding] = check_secrets(inventory({"api_key": "x" * 10}, key="mailchimp"))

    assert finding.hint == (
        "remove the value from the file and write `api_key_env: MAILCHIMP_API_KEY`, "
        "then set that environment variable"
    )
    assert finding.at == "key"


def test_a_system_without_a_key_still_gets_a_hint() -> None:
    [finding] = check_secrets(inventory({"token": "x" * 10}, key=None))

    assert "`token_env: SYSTEM_1_TOKEN`" in (finding.hint or "")


@pytest.mark.parametrize(
    "data",
    [None, [], {"systems": "x"}, {"systems": [1, {"connector": 2}, {"connector": {}}]}],
)
def test_data_of_other_shapes_is_left_to_the_schema(data: Any) -> None:
    assert check_secrets(data) == []
