"""The words for request kinds and statuses, in one place for the pages, e-mails and CLI.

Values are English msgids marked with ``N_`` and translated when shown
(:func:`personvern.i18n.terms.label`). The bokmål words are the ones Datatilsynet uses:
innsyn (Art. 15), retting (Art. 16), sletting (Art. 17), begrensning av behandlingen
(Art. 18) and protest mot direkte markedsføring (Art. 21(2)–(3)).
"""

from __future__ import annotations

from collections.abc import Mapping

from personvern.dsr.status import RequestKind
from personvern.i18n import N_, Translator

KIND: Mapping[str, str] = {
    "access": N_("Access to your data"),
    "rectify": N_("Rectification"),
    "erase": N_("Erasure"),
    "object": N_("Objection to direct marketing"),
    "restrict": N_("Restriction of processing"),
}

# What each right does, in the person's words, for the privacy center's front page.
KIND_DESCRIPTION: Mapping[str, str] = {
    "access": N_(
        "Get a copy of the data we hold about you, with what we use it for, who receives it, "
        "where it comes from and how long we keep it."
    ),
    "rectify": N_(
        "Ask us to correct data about you that is wrong, or to complete what is missing."
    ),
    "erase": N_(
        "Ask us to delete your data. What the law requires us to keep, such as accounting "
        "records, is kept; we tell you what and until when."
    ),
    "object": N_(
        "Stop all direct marketing to you, such as newsletters. This always takes effect, "
        "and you do not need to give a reason."
    ),
    "restrict": N_(
        "Ask us to limit how we use your data, for example while you dispute that it is "
        "correct. We then only store it."
    ),
}

# The article of the GDPR, as each language cites it ("artikkel 21 nr. 2 og 3").
ARTICLE_CITED: Mapping[str, Mapping[RequestKind, str]] = {
    "en": {
        "access": "15",
        "rectify": "16",
        "erase": "17",
        "object": "21(2) and (3)",
        "restrict": "18",
    },
    "nb": {
        "access": "15",
        "rectify": "16",
        "erase": "17",
        "object": "21 nr. 2 og 3",
        "restrict": "18",
    },
}

STATUS: Mapping[str, str] = {
    "unverified": N_("Awaiting e-mail confirmation"),
    "verified": N_("Confirmed"),
    "awaiting_approval": N_("Awaiting approval"),
    "running": N_("In progress"),
    "waiting": N_("Waiting for manual tasks"),
    "completed": N_("Completed"),
    "refused": N_("Refused"),
    "expired": N_("Expired (never confirmed)"),
    "failed": N_("Failed: needs attention"),
}

# What the requester sees: the same, except the shop's internal troubles, which are ours.
PUBLIC_STATUS: Mapping[str, str] = {
    **STATUS,
    "awaiting_approval": N_("In progress"),
    "waiting": N_("In progress"),
    "failed": N_("In progress"),
}

STEP_STATUS: Mapping[str, str] = {
    "pending": N_("Pending"),
    "running": N_("Running"),
    "done": N_("Done"),
    "failed": N_("Failed"),
    "waiting": N_("Waiting for someone"),
    "skipped": N_("Skipped"),
}

CHANNEL: Mapping[str, str] = {
    "form": N_("Privacy center form"),
    "admin": N_("Registered by an admin"),
    "api": N_("API"),
    "cli": N_("Command line"),
}


def article(tr: Translator, kind: RequestKind) -> str:
    """The GDPR article a kind rests on, as the translator's language cites it."""
    return ARTICLE_CITED[tr.lang][kind]
