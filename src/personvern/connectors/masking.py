"""Masking strategies: how one field of a person's row is made anonymous on erasure.

The names and configurations follow Fides' masking-strategy registry
(``src/fides/api/service/masking/strategy/``), because a fideslang Dataset names them in
``fides_meta.masking_strategy_override: {strategy: NAME, configuration: {...}}`` and a Fides
user's datasets must work unchanged:

- ``null_rewrite`` sets the field to NULL;
- ``string_rewrite`` sets it to ``rewrite_value``;
- ``random_string_rewrite`` sets it to ``length`` random lower-case letters and digits;
- ``hmac`` sets it to the hex HMAC (``algorithm`` SHA-256 or SHA-512) of the value under a
  secret key — the same value always masks alike, so a unique column stays unique;
- ``delete`` removes the whole row; in fideslang it is a *collection*-level override
  (``CollectionMeta.masking_strategy_override: {strategy: delete}``).

As in Fides, ``format_preservation: {suffix: "@example.invalid"}`` appends a suffix (to keep
an e-mail column looking like one) and a NULL stays NULL. Unlike Fides, ``hmac`` adds no
per-request salt: the key alone decides the output, which makes a second erasure of the same
row a no-op and lets a suppression list be matched later by whoever holds the key.

Strategies are data, not branches: each is a small frozen pydantic model registered by name
in a :class:`MaskingRegistry`, read with :meth:`MaskingRegistry.from_dict` and written back
with :meth:`MaskingStrategy.to_dict` (round trip). ``is_masked`` lets erasure skip a value
that a strategy already produced, so erasing twice changes nothing.
"""

from __future__ import annotations

import difflib
import hashlib
import hmac
import json
import re
import secrets
import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

_RANDOM_ALPHABET = string.ascii_lowercase + string.digits


class MaskingError(ValueError):
    """A strategy that does not exist, is configured wrongly, or cannot mask a value."""


@dataclass(frozen=True)
class MaskingContext:
    """What a strategy may need besides the value: the HMAC key, from the connector settings."""

    hmac_key: bytes | None = None


class FormatPreservation(BaseModel):
    """Fides' ``format_preservation``: text appended to the masked value."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    suffix: str = Field(min_length=1, max_length=100)


class MaskingStrategy(BaseModel):
    """One way to mask a field. Subclasses declare ``name`` and their configuration fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: ClassVar[str]
    deletes_row: ClassVar[bool] = False
    text_only: ClassVar[bool] = True  # writes text, so the column must hold text

    def mask(self, value: Any, context: MaskingContext) -> Any:
        """The masked value; NULL stays NULL."""
        raise NotImplementedError

    def is_masked(self, value: Any) -> bool:
        """Whether ``value`` is already what this strategy writes (so leave it alone)."""
        raise NotImplementedError

    def output_length(self) -> int | None:
        """The length of the text written, where fixed, to check against the column."""
        return None

    def to_dict(self) -> dict[str, Any]:
        configuration = self.model_dump(mode="json", exclude_defaults=True)
        out: dict[str, Any] = {"strategy": self.name}
        if configuration:
            out["configuration"] = configuration
        return out


class _Suffixed(MaskingStrategy):
    format_preservation: FormatPreservation | None = None

    def _suffix(self) -> str:
        return self.format_preservation.suffix if self.format_preservation else ""


class NullRewrite(MaskingStrategy):
    name: ClassVar[str] = "null_rewrite"
    text_only: ClassVar[bool] = False

    def mask(self, value: Any, context: MaskingContext) -> Any:
        return None

    def is_masked(self, value: Any) -> bool:
        return value is None


class StringRewrite(_Suffixed):
    name: ClassVar[str] = "string_rewrite"

    rewrite_value: str = "MASKED"

    def mask(self, value: Any, context: MaskingContext) -> Any:
        return None if value is None else self.rewrite_value + self._suffix()

    def is_masked(self, value: Any) -> bool:
        return value is None or value == self.rewrite_value + self._suffix()

    def output_length(self) -> int | None:
        return len(self.rewrite_value + self._suffix())


class RandomStringRewrite(_Suffixed):
    name: ClassVar[str] = "random_string_rewrite"

    length: int = Field(default=30, ge=8, le=1000)  # under 8 characters collisions get likely

    def mask(self, value: Any, context: MaskingContext) -> Any:
        if value is None:
            return None
        text = "".join(secrets.choice(_RANDOM_ALPHABET) for _ in range(self.length))
        return text + self._suffix()

    def is_masked(self, value: Any) -> bool:
        # Random output cannot be recognised for certain; a value of exactly the written
        # shape is taken as masked, so a second erasure does not rewrite it again.
        if value is None:
            return True
        if not isinstance(value, str) or not value.endswith(self._suffix()):
            return False
        body = value[: len(value) - len(self._suffix())]
        return len(body) == self.length and all(ch in _RANDOM_ALPHABET for ch in body)

    def output_length(self) -> int | None:
        return self.length + len(self._suffix())


class Hmac(_Suffixed):
    name: ClassVar[str] = "hmac"

    algorithm: Literal["SHA-256", "SHA-512"] = "SHA-256"

    def _digest_size(self) -> int:
        return 64 if self.algorithm == "SHA-256" else 128

    def mask(self, value: Any, context: MaskingContext) -> Any:
        if value is None:
            return None
        if not context.hmac_key:
            raise MaskingError(
                "the hmac masking strategy needs a secret key: set hmac_key_env in the "
                "connector settings to the name of an environment variable holding it"
            )
        digest = hashlib.sha256 if self.algorithm == "SHA-256" else hashlib.sha512
        masked = hmac.new(context.hmac_key, str(value).encode(), digest).hexdigest()
        return masked + self._suffix()

    def is_masked(self, value: Any) -> bool:
        if value is None:
            return True
        if not isinstance(value, str) or not value.endswith(self._suffix()):
            return False
        body = value[: len(value) - len(self._suffix())]
        return re.fullmatch(f"[0-9a-f]{{{self._digest_size()}}}", body) is not None

    def output_length(self) -> int | None:
        return self._digest_size() + len(self._suffix())


class Delete(MaskingStrategy):
    """Remove the row; fideslang allows it only as a collection-level override."""

    name: ClassVar[str] = "delete"
    deletes_row: ClassVar[bool] = True
    text_only: ClassVar[bool] = False

    def mask(self, value: Any, context: MaskingContext) -> Any:
        raise MaskingError("delete removes the whole row; it does not mask a value")

    def is_masked(self, value: Any) -> bool:
        return False


BUILT_IN: tuple[type[MaskingStrategy], ...] = (
    NullRewrite,
    StringRewrite,
    RandomStringRewrite,
    Hmac,
    Delete,
)


class MaskingRegistry:
    """Strategy name → strategy class; an unknown name errors with the valid ones."""

    def __init__(self, strategies: Iterable[type[MaskingStrategy]] = BUILT_IN) -> None:
        self._classes: dict[str, type[MaskingStrategy]] = {}
        for cls in strategies:
            if cls.name in self._classes:
                raise ValueError(f"two masking strategies are named {cls.name!r}")
            self._classes[cls.name] = cls

    def names(self) -> list[str]:
        return sorted(self._classes)

    def get(self, name: str) -> type[MaskingStrategy]:
        try:
            return self._classes[name]
        except KeyError:
            close = difflib.get_close_matches(name, self.names(), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise MaskingError(
                f"{name!r} is not a masking strategy (valid: {', '.join(self.names())}){hint}"
            ) from None

    def from_dict(self, data: Mapping[str, Any]) -> MaskingStrategy:
        """A strategy from ``{strategy: NAME, configuration: {...}}`` (Fides' shape)."""
        unknown = set(data) - {"strategy", "configuration"}
        if unknown:
            raise MaskingError(
                f"a masking strategy has only 'strategy' and 'configuration', not "
                f"{', '.join(sorted(unknown))}"
            )
        name = data.get("strategy")
        if not isinstance(name, str):
            raise MaskingError("a masking strategy needs 'strategy: NAME'")
        cls = self.get(name)
        configuration = data.get("configuration") or {}
        if not isinstance(configuration, Mapping):
            raise MaskingError(f"the configuration of {name} must be a mapping")
        try:
            return cls.model_validate(dict(configuration))
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'configuration'}: {e['msg']}"
                for e in exc.errors()
            )
            raise MaskingError(f"the configuration of {name} is invalid: {problems}") from None


def default_strategy(nullable: bool) -> MaskingStrategy:
    """The default for ``anonymize``: NULL where the column allows it, else a fixed text."""
    return NullRewrite() if nullable else StringRewrite()


# --- fields inside JSON documents (a dataset field with a dotted path into a JSON column) --


def load_json(value: Any) -> Any:
    """A JSON column's value as a document to mask in place: parsed text, or a deep copy."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return None
    return json.loads(json.dumps(value)) if value is not None else None


def mask_inside(
    document: Any, path: tuple[str, ...], strategy: MaskingStrategy, context: MaskingContext
) -> None:
    """Mask the value at ``path`` in ``document``, unless it is absent or already masked."""
    for part in path[:-1]:
        if not isinstance(document, dict):
            return
        document = document.get(part)
    if isinstance(document, dict) and path[-1] in document:
        old = document[path[-1]]
        if not strategy.is_masked(old):
            document[path[-1]] = strategy.mask(old, context)
