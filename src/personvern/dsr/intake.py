"""What a request must say, checked the same way for every channel (form, admin, API, CLI).

A request needs its kind and an e-mail address; a name or phone number helps find the
person in systems that do not key on e-mail. Nothing else is asked for (GDPR Art. 5(1)(c);
EDPB Guidelines 01/2022 section 3.1: the person need not give reasons, and section 3.3:
no more identifying data than needed). A rectification carries the proposed corrections
(Art. 16) — a correct name, e-mail address, phone number or postal address, the keys the
plan (:mod:`personvern.dsr.plan`) maps to fideslang data categories; any request may carry
a short free-text message from the person.

:class:`RequestError` names the field that is wrong and says how to fix it, in English
(``str``) or translated (:meth:`RequestError.translated`); nothing is written when it is
raised.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from email_validator import EmailNotValidError, validate_email

from personvern.connectors.google_analytics import client_id_from_ga
from personvern.dsr.status import KINDS, RequestKind
from personvern.i18n import LANGUAGES, N_, Language, Translator

MAX_EMAIL = 320  # RFC 3696 errata 1690
MAX_NAME = 200
MAX_PHONE = 40
MAX_MESSAGE = 2000
MAX_CHANGE = 500
MAX_GA_COOKIE = 100
_PHONE = re.compile(r"^\+?[0-9][0-9 ().-]{3,39}$")

# The corrections a rectification may propose, with their label: the keys the plan knows
# (``personvern.dsr.plan.CHANGE_CATEGORIES`` maps each to its fideslang data category).
FORM_CHANGES: Mapping[str, str] = {
    "name": N_("Correct name"),
    "email": N_("Correct e-mail address"),
    "phone": N_("Correct phone number"),
    "address": N_("Correct postal address"),
}


class RequestError(ValueError):
    """Bad input or a change the request's state does not allow. Nothing was written.

    ``message`` is an English msgid with ``%(name)s`` placeholders filled from ``params``;
    ``field`` names the input at fault, when there is one.
    """

    def __init__(self, message: str, *, field: str | None = None, **params: Any) -> None:
        self.message = message
        self.field = field
        self.params = params
        super().__init__(message % params if params else message)

    def translated(self, tr: Translator) -> str:
        text = tr.gettext(self.message)
        return text % self.params if self.params else text


@dataclass(frozen=True)
class Intake:
    """A request as given, before it is checked (see :func:`check`)."""

    kind: str
    email: str
    name: str | None = None
    phone: str | None = None
    lang: str = "nb"
    changes: Mapping[str, str] = field(default_factory=dict)
    message: str | None = None
    ga_client_id: str | None = None  # the person's _ga cookie value, for an erasure


@dataclass(frozen=True)
class Checked:
    """A request that passed :func:`check`: normalised, every field within its limits."""

    kind: RequestKind
    email: str
    name: str | None
    phone: str | None
    lang: Language
    changes: dict[str, str]
    message: str | None
    ga_client_id: str | None = None  # the Google Analytics client id, from the _ga value


def _optional(value: str | None, limit: int, field_name: str) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    if len(value) > limit:
        raise RequestError(
            N_("This is too long: at most %(limit)d characters."), field=field_name, limit=limit
        )
    return value


def check_email(value: str) -> str:
    """The address normalised (domain in lower case), or :class:`RequestError`.

    Only the syntax is checked: whether the address can receive mail shows when the
    verification e-mail is, or is not, answered.
    """
    value = value.strip()
    if not value or len(value) > MAX_EMAIL:
        raise RequestError(N_("Write your e-mail address, as name@example.no."), field="email")
    try:
        result = validate_email(value, check_deliverability=False)
    except EmailNotValidError as exc:
        raise RequestError(
            N_("That is not an e-mail address: write it as name@example.no."), field="email"
        ) from exc
    return str(result.normalized)


def check(intake: Intake) -> Checked:
    """Check and normalise ``intake``; :class:`RequestError` names the first field at fault."""
    if intake.kind not in KINDS:
        raise RequestError(
            N_("Unknown kind of request: choose one of %(kinds)s."),
            field="kind",
            kinds=", ".join(KINDS),
        )
    kind: RequestKind = intake.kind  # narrowed by the check above
    email = check_email(intake.email)
    name = _optional(intake.name, MAX_NAME, "name")
    phone = _optional(intake.phone, MAX_PHONE, "phone")
    if phone is not None and not _PHONE.match(phone):
        raise RequestError(
            N_("That is not a phone number: write digits, optionally starting with +47."),
            field="phone",
        )
    if intake.lang not in LANGUAGES:
        raise RequestError(
            N_("Unknown language: choose nb (bokmål) or en (English)."), field="lang"
        )
    message = _optional(intake.message, MAX_MESSAGE, "message")
    ga_client_id = _ga_client_id(intake.ga_client_id, kind)
    changes = _changes(intake.changes)
    if kind == "rectify" and not changes:
        raise RequestError(
            N_("Say what should be corrected: fill in at least one correct value."),
            field="changes",
        )
    if kind != "rectify" and changes:
        raise RequestError(N_("Only a rectification request carries corrections."), field="changes")
    return Checked(
        kind=kind,
        email=email,
        name=name,
        phone=phone,
        lang=intake.lang,
        changes=changes,
        message=message,
        ga_client_id=ga_client_id,
    )


def _changes(given: Mapping[str, str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in given.items():
        if key not in FORM_CHANGES:
            raise RequestError(
                N_("“%(key)s” cannot be corrected here: use name, email, phone or address."),
                field=f"changes.{key}"[:100],
                key=key[:100],
            )
        text = _optional(value, MAX_CHANGE, f"changes.{key}")
        if text is None:
            continue
        if key == "email":
            try:
                text = check_email(text)
            except RequestError as exc:
                raise RequestError(exc.message, field="changes.email") from exc
        if key == "phone" and not _PHONE.match(text):
            raise RequestError(
                N_("That is not a phone number: write digits, optionally starting with +47."),
                field="changes.phone",
            )
        out[key] = text
    return out


def _ga_client_id(value: str | None, kind: RequestKind) -> str | None:
    """The GA client id in a pasted ``_ga`` cookie value, which only an erasure uses.

    Google Analytics knows a visitor only by this id (Art. 11: the shop need not ask for
    more), so the person may give it to have their analytics data deleted too.
    """
    text = _optional(value, MAX_GA_COOKIE, "ga_client_id")
    if text is None:
        return None
    if kind != "erase":
        raise RequestError(
            N_("Only an erasure request uses the Google Analytics cookie."), field="ga_client_id"
        )
    try:
        return client_id_from_ga(text)
    except ValueError:
        raise RequestError(
            N_(
                "That is not the value of the _ga cookie. It looks like "
                "GA1.1.1234567890.1700000000: copy the value of the cookie named exactly _ga, "
                "or leave the field empty."
            ),
            field="ga_client_id",
        ) from None
