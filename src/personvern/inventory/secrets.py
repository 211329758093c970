"""Secrets never go in ``privacy.yaml``: connector settings name environment variables.

The inventory lives in the shop's git repository, so anything written in it is shared with
everyone who can read the repository, forever (git keeps history). A connector setting that
holds a secret is therefore written ``<name>_env: ENV_VAR_NAME`` and personvern reads the
secret from that environment variable at run time.

Two checks, over every ``systems[].connector.settings`` entry:

- by name: a setting whose name says it is a secret (``api_key``, ``client_secret``,
  ``password``, …) must be ``<name>_env`` with an environment variable name as its value;
- by value: under any name, a value shaped like a known kind of credential (WooCommerce,
  Mailchimp, Stripe, Google, a JWT, a PEM private key, …) or a long random-looking string.

A finding never repeats the secret; it shows at most a masked prefix (``ck_1…``).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping
from typing import Any

from personvern.inventory.source import DocPath, Finding

ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")
"""What an environment variable name looks like (POSIX, upper case)."""

ENV_SUFFIX = "_env"

# Words that make a setting name a secret. Matched against the name's words, and as the end
# of a word so compounds like ``apikey`` or ``clientsecret`` count too.
_SECRET_WORDS = (
    "key",
    "secret",
    "token",
    "password",
    "passwd",
    "pwd",
    "credential",
    "credentials",
    "auth",
    "private",
)
# A last word that makes the setting a *description* of a secret, not the secret:
# ``token_url`` is an OAuth endpoint, ``key_id`` an identifier, ``private_key_path`` a path.
_NOT_SECRET_LAST = frozenset(
    {"url", "uri", "endpoint", "host", "id", "name", "type", "path", "file", "header", "prefix"}
)
# A public key (Stripe's publishable ``pk_live_…``) is meant to be seen.
_PUBLIC = frozenset({"public", "publishable"})

# Known credential formats. Each entry: what it is, and a pattern found anywhere in a value.
KNOWN_SECRETS: tuple[tuple[str, re.Pattern[str]], ...] = (
    # WooCommerce REST API keys: https://woocommerce.github.io/woocommerce-rest-api-docs/
    ("a WooCommerce API key", re.compile(r"\b(?:ck|cs)_[0-9a-f]{40}\b")),
    # Mailchimp Marketing API keys end with the data centre: https://mailchimp.com/developer/
    ("a Mailchimp API key", re.compile(r"\b[0-9a-f]{32}-us[0-9]{1,2}\b")),
    ("a Stripe secret key", re.compile(r"\b(?:sk|rk)_(?:live|test)_[0-9A-Za-z]{10,}")),
    ("a Stripe webhook secret", re.compile(r"\bwhsec_[0-9A-Za-z]{16,}")),
    ("a Google API key", re.compile(r"\bAIza[0-9A-Za-z_\-]{35}")),
    (
        "a JSON Web Token",
        re.compile(r"\beyJ[0-9A-Za-z_\-]{8,}\.eyJ[0-9A-Za-z_\-]{8,}\.[0-9A-Za-z_\-]*"),
    ),
    ("a private key", re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----")),
    ("a GitHub token", re.compile(r"\b(?:ghp|gho|ghu|ghs|ghr|github_pat)_[0-9A-Za-z_]{20,}")),
    ("a Slack token", re.compile(r"\bxox[abprs]-[0-9A-Za-z\-]{10,}")),
    ("an AWS access key", re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")),
)

# Long high-entropy strings: a random token over a 62-letter alphabet averages ~4.2 bits per
# character at this length, English words and identifiers stay well below 4.
MIN_RANDOM_LENGTH = 24
MIN_ENTROPY = 4.0
_HOSTNAME = re.compile(r"^(?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,}\.?(?::\d+)?$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
# A UUID is how many vendors name a list, an account or a property; its 17 letters can just
# pass 4 bits per character. A secret that is a UUID is caught by its setting's name.
_UUID = re.compile(r"^[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")


def entropy(text: str) -> float:
    """Shannon entropy of ``text`` in bits per character."""
    if not text:
        return 0.0
    counts = Counter(text)
    size = len(text)
    return -sum(n / size * math.log2(n / size) for n in counts.values())


def _is_locator(text: str) -> bool:
    """A URL, a hostname, an e-mail address, a path or a UUID: long, varied, not secret."""
    return (
        "://" in text
        or text.startswith(("/", "./", "../", "~/"))
        or re.match(r"^[A-Za-z]:\\", text) is not None
        or _HOSTNAME.match(text) is not None
        or _EMAIL.match(text) is not None
        or _UUID.match(text) is not None
    )


def looks_like_secret(value: str) -> str | None:
    """What kind of secret ``value`` looks like (``"a Mailchimp API key"``), or ``None``."""
    for kind, pattern in KNOWN_SECRETS:
        if pattern.search(value):
            return kind
    text = value.strip()
    if (
        len(text) >= MIN_RANDOM_LENGTH
        and not any(c.isspace() for c in text)
        and not _is_locator(text)
        # An upper-case identifier is an environment variable name or a constant.
        and not ENV_NAME.match(text)
        and entropy(text) > MIN_ENTROPY
    ):
        return "a long random-looking string (an API key or a token?)"
    return None


def mask(value: str) -> str:
    """At most the first four characters of ``value`` and an ellipsis: ``ck_1…``.

    Shorter values show less, so a short password is never half given away.
    """
    shown = min(4, len(value) // 4)
    return value[:shown] + "…"


def _words(name: str) -> list[str]:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    return [w for w in re.split(r"[^A-Za-z0-9]+", spaced.lower()) if w]


def is_secret_name(name: str) -> bool:
    """Whether a setting called ``name`` holds a secret (``api_key``, ``clientSecret``)."""
    words = _words(name)
    if not words or words[-1] in _NOT_SECRET_LAST or _PUBLIC & set(words):
        return False
    return any(w == s or w.endswith(s) for w in words for s in _SECRET_WORDS)


def env_name_for(system_key: str, setting: str) -> str:
    """A suggested environment variable for a setting: ``WOOCOMMERCE_API_KEY``."""
    base = re.sub(r"[^A-Za-z0-9]+", "_", f"{system_key}_{setting}").strip("_").upper()
    return base if ENV_NAME.match(base) else f"_{base}"


def _values(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


def _check_setting(system_key: str, name: str, value: Any, path: DocPath) -> Finding | None:
    if isinstance(value, Mapping):
        return None  # not a valid setting at all; schema validation reports it
    texts = _values(value)
    found = [(text, kind) for text in texts if (kind := looks_like_secret(text))]
    kinds = [kind for _, kind in found]
    first = found[0][0] if found else (texts[0] if texts else "")
    shown = f" ({mask(first)})" if first else ""

    if name.endswith(ENV_SUFFIX):
        if isinstance(value, str) and ENV_NAME.match(value):
            return None
        bare = name.removesuffix(ENV_SUFFIX)
        env = env_name_for(system_key, bare)
        if kinds or is_secret_name(bare):
            return Finding(
                path,
                f"a secret given in clear in setting {name!r}{shown}: "
                "'_env' settings name an environment variable",
                f"remove the value from the file and write `{name}: {env}`, "
                "then set that environment variable",
            )
        return Finding(
            path,
            f"setting {name!r} must name an environment variable",
            f"write upper-case letters, digits and '_', e.g. `{name}: {env}`",
        )

    env = env_name_for(system_key, name)
    if is_secret_name(name):
        if value is None or value == "":
            return Finding(
                path,
                f"setting {name!r} holds a secret, so it must be named {name + ENV_SUFFIX!r}",
                f"write `{name}{ENV_SUFFIX}: {env}` and set that environment variable",
                at="key",
            )
        if isinstance(value, str) and ENV_NAME.match(value) and not kinds:
            # Most likely the variable's name, with the ``_env`` suffix forgotten.
            return Finding(
                path,
                f"setting {name!r} holds a secret, so it must be named {name + ENV_SUFFIX!r}",
                f"rename it: `{name}{ENV_SUFFIX}: {value}`",
                at="key",
            )
        return Finding(
            path,
            f"a secret given in clear in setting {name!r}{shown}",
            f"remove the value from the file and write `{name}{ENV_SUFFIX}: {env}`, "
            "then set that environment variable",
            at="key",
        )
    if kinds:
        return Finding(
            path,
            f"a secret given in clear in setting {name!r}: the value{shown} looks like {kinds[0]}",
            f"remove the value from the file and write `{name}{ENV_SUFFIX}: {env}`, "
            "then set that environment variable",
        )
    return None


def check_secrets(data: Any) -> list[Finding]:
    """Every connector setting in ``data`` (the raw inventory) that gives a secret in clear.

    Runs on the raw data, whether or not the rest of the inventory is valid: a secret in
    the file is worth knowing about before anything else is fixed.
    """
    findings: list[Finding] = []
    systems = data.get("systems") if isinstance(data, Mapping) else None
    if not isinstance(systems, list):
        return findings
    for index, system in enumerate(systems):
        if not isinstance(system, Mapping):
            continue
        connector = system.get("connector")
        settings = connector.get("settings") if isinstance(connector, Mapping) else None
        if not isinstance(settings, Mapping):
            continue
        key = system.get("key")
        system_key = key if isinstance(key, str) else f"system_{index + 1}"
        for name, value in settings.items():
            path: DocPath = ("systems", index, "connector", "settings", name)
            finding = _check_setting(system_key, str(name), value, path)
            if finding is not None:
                findings.append(finding)
    return findings
