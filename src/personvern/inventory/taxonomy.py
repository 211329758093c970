"""Data categories, data uses and data subjects as keys of the fideslang default taxonomy.

Using Fides' keys (``user.contact.email``, ``marketing.communications.email``, ``customer``)
lets an inventory be exchanged with Fides and its datasets. An unknown key is rejected with
the closest valid one, so a typo is a one-line fix.
"""

from __future__ import annotations

import difflib
from functools import cache
from typing import Annotated, Literal

from pydantic import AfterValidator

TaxonomyKind = Literal["data_category", "data_use", "data_subject"]

_LABEL = {
    "data_category": "data category",
    "data_use": "data use",
    "data_subject": "data subject",
}


@cache
def keys(kind: TaxonomyKind) -> frozenset[str]:
    """The active keys of one part of fideslang's default taxonomy."""
    from fideslang.default_taxonomy import DEFAULT_TAXONOMY

    items = getattr(DEFAULT_TAXONOMY, kind)
    return frozenset(item.fides_key for item in items if getattr(item, "active", True))


def suggest(kind: TaxonomyKind, key: str) -> str | None:
    """The valid key closest to ``key``, preferring one that shares its last segment."""
    valid = keys(kind)
    tail = key.rsplit(".", 1)[-1]
    same_tail = sorted(k for k in valid if k.rsplit(".", 1)[-1] == tail)
    if same_tail:
        return difflib.get_close_matches(key, same_tail, n=1, cutoff=0.0)[0]
    close = difflib.get_close_matches(key, sorted(valid), n=1, cutoff=0.5)
    return close[0] if close else None


def check(kind: TaxonomyKind, key: str) -> str:
    if key in keys(kind):
        return key
    hint = suggest(kind, key)
    message = f"{key!r} is not a fideslang {_LABEL[kind]}"
    if hint:
        message += f"; did you mean {hint!r}?"
    else:
        message += "; see the fideslang default taxonomy for the valid keys"
    raise ValueError(message)


def _validator(kind: TaxonomyKind) -> AfterValidator:
    return AfterValidator(lambda key: check(kind, key))


DataCategoryKey = Annotated[str, _validator("data_category")]
DataUseKey = Annotated[str, _validator("data_use")]
DataSubjectKey = Annotated[str, _validator("data_subject")]
