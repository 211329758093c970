"""A choice made in the banner, as ``POST /api/v1/consents`` takes it: a strict schema.

Unknown fields, wrong types and out-of-range values are refused with a problem that names
the field (RFC 9457), and so are choices that do not fit the texts the banner showed: the
categories granted and denied must be exactly the ones that banner asked about, and the
method must fit them (an "accept all" that denies something is not one).

Methods: ``accept_all`` and ``reject_all`` (the first-layer buttons, equal choices per the
EDPB Cookie Banner Taskforce), ``custom`` (saved from the settings), ``gpc`` ("accept all"
while the browser sent Global Privacy Control: everything but marketing), ``withdraw``
(consent taken back, GDPR Art. 7(3)).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from personvern.consent.config import NoticeInfo

Method = Literal["accept_all", "reject_all", "custom", "gpc", "withdraw"]
METHODS: tuple[str, ...] = ("accept_all", "reject_all", "custom", "gpc", "withdraw")
Category = Literal["preferences", "analytics", "marketing"]

UUID_PATTERN = r"^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"
ConsentId = Annotated[str, StringConstraints(pattern=UUID_PATTERN)]
MAX_BODY = 4096  # bytes; a real choice is about 400


class Choice(BaseModel):
    """The body of ``POST /api/v1/consents``; see ``docs/consent.md``."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    consent_id: ConsentId = Field(description="Lower-case UUID made by the banner.")
    site: Annotated[str, StringConstraints(max_length=255)]
    policy_version: Annotated[int, Field(ge=1)]
    texts_hash: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
    granted: Annotated[list[Category], Field(max_length=3)]
    denied: Annotated[list[Category], Field(max_length=3)]
    method: Method
    gpc: bool = False
    language: Literal["nb", "en"]
    page: Annotated[str, StringConstraints(pattern=r"^/[^?#\s]*$", max_length=512)] = "/"


def problems(choice: Choice, notice: NoticeInfo | None) -> list[str]:
    """What is wrong with ``choice`` given the texts it claims were shown; empty if nothing."""
    if notice is None:
        return [
            "texts_hash names no banner texts this server has shown; reload the banner "
            "configuration from /consent/config.json"
        ]
    found: list[str] = []
    if choice.site != notice.site:
        found.append(f"site {choice.site!r} is not the site these texts were shown on")
    if choice.policy_version != notice.policy_version:
        found.append("policy_version is not the version these texts were shown with")
    if choice.language != notice.lang:
        found.append("language is not the language these texts were shown in")
    granted, denied = set(choice.granted), set(choice.denied)
    if len(granted) != len(choice.granted) or len(denied) != len(choice.denied):
        found.append("a category is listed twice")
    if granted & denied:
        found.append(f"categories both granted and denied: {sorted(granted & denied)}")
    asked = set(notice.consentable)
    if granted | denied != asked:
        found.append(
            f"granted and denied together must be exactly the categories asked about: "
            f"{sorted(asked)}"
        )
    if choice.method == "accept_all" and denied:
        found.append("accept_all denies nothing")
    if choice.method == "reject_all" and granted:
        found.append("reject_all grants nothing")
    if choice.method == "gpc" and (not choice.gpc or "marketing" not in denied):
        found.append("method gpc needs gpc true and marketing denied")
    if choice.method == "withdraw" and not denied:
        found.append("withdraw must deny at least one category")
    return found
