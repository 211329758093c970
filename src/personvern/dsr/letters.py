"""The e-mails a requester gets, in their language, put in the outbox with the work behind them.

- **verify**: the link that confirms the request came from the address (EDPB Guidelines
  01/2022 section 3.3);
- **received**: "Vi har mottatt forespørselen din", with the deadline (Art. 12(3)) and the
  status link;
- **extension**: the new deadline and the reasons, sent within the first month as Art. 12(3)
  requires;
- **refusal**: the reasons, the right to complain to Datatilsynet (Art. 77) and the right to
  a judicial remedy (Art. 79), as Art. 12(4) requires;
- **completed**: the request is done, with the status link (Art. 12(3): information on the
  action taken).

Electronic requests get electronic answers (Art. 12(3), last sentence). Every text is an
English msgid with a bokmål translation in the catalog; the reason an admin writes is
quoted as written.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy.orm import Session

from personvern.dsr.deadlines import local_day
from personvern.dsr.status import RequestKind
from personvern.dsr.texts import KIND, article
from personvern.i18n import N_, Translator, translator
from personvern.i18n.terms import label
from personvern.runtime import Runtime
from personvern.store.requests import DataRequest


@dataclass(frozen=True)
class Sender:
    """Who the letters come from, and where to complain: from the inventory's controller."""

    controller: str
    contact: str | None
    authority: str
    authority_url: str
    authority_address: str | None

    @classmethod
    def of(cls, runtime: Runtime) -> Sender:
        try:
            controller = runtime.inventory().controller
        except LookupError:
            # No inventory configured: the letters still go out, signed generically.
            return cls("personvern", None, "Datatilsynet", "https://www.datatilsynet.no", None)
        # The privacy contact if there is one (the policy sends requests there), else any.
        emails = [str(c.email) for c in controller.contacts if c.purpose == "privacy" and c.email]
        emails += [str(c.email) for c in controller.contacts if c.email]
        authority = controller.supervisory_authority
        return cls(
            controller=controller.name,
            contact=emails[0] if emails else None,
            authority=authority.name,
            authority_url=authority.url,
            authority_address=authority.address,
        )


@dataclass(frozen=True)
class Letter:
    purpose: str
    subject: str
    text: str


def _kind(tr: Translator, request: DataRequest) -> str:
    kind = cast(RequestKind, request.kind)
    return tr.gettext(N_("%(kind)s (GDPR Article %(article)s)")) % {
        "kind": label(tr, KIND, kind),
        "article": article(tr, kind),
    }


def _date(tr: Translator, moment: datetime) -> str:
    return tr.format_date(local_day(moment))


def _greeting(tr: Translator, request: DataRequest) -> str:
    if request.name:
        return tr.gettext(N_("Hello %(name)s,")) % {"name": request.name}
    return tr.gettext(N_("Hello,"))


def _closing(tr: Translator, sender: Sender) -> str:
    lines = []
    if sender.contact:
        lines.append(
            tr.gettext(N_("Questions? Answer this e-mail or write to %(contact)s."))
            % {"contact": sender.contact}
        )
    lines.append(
        tr.gettext(N_("Best regards,\n%(controller)s")) % {"controller": sender.controller}
    )
    return "\n\n".join(lines)


def _join(*parts: str) -> str:
    return "\n\n".join(part for part in parts if part) + "\n"


def verification(
    request: DataRequest, sender: Sender, link: str, *, hours: int, days: int
) -> Letter:
    tr = translator(request.lang)
    return Letter(
        "verify",
        tr.gettext(N_("Confirm your privacy request")),
        _join(
            _greeting(tr, request),
            tr.gettext(N_("We have received a request about your personal data: %(kind)s."))
            % {"kind": _kind(tr, request)},
            tr.gettext(
                N_(
                    "To make sure the request comes from you, open this link and confirm. "
                    "The link works once, for %(hours)d hours:"
                )
            )
            % {"hours": hours}
            + "\n"
            + link,
            tr.gettext(
                N_(
                    "If you did not make this request, ignore this e-mail. Nothing happens, "
                    "and the request lapses after %(days)d days."
                )
            )
            % {"days": days},
            _closing(tr, sender),
        ),
    )


def received(request: DataRequest, sender: Sender, status_link: str) -> Letter:
    tr = translator(request.lang)
    return Letter(
        "received",
        tr.gettext(N_("We have received your request")),
        _join(
            _greeting(tr, request),
            tr.gettext(
                N_(
                    "Thank you for confirming. We have received your request: %(kind)s. "
                    "We will answer by %(due)s at the latest."
                )
            )
            % {"kind": _kind(tr, request), "due": _date(tr, request.due_at)},
            tr.gettext(N_("You can follow the request here:")) + "\n" + status_link,
            _closing(tr, sender),
        ),
    )


def extension(request: DataRequest, sender: Sender, status_link: str) -> Letter:
    tr = translator(request.lang)
    assert request.extended_due_at is not None
    assert request.extension_reason
    return Letter(
        "extension",
        tr.gettext(N_("Your request will take longer")),
        _join(
            _greeting(tr, request),
            tr.gettext(
                N_(
                    "We need more time to answer your request: %(kind)s. We will answer by "
                    "%(due)s at the latest, instead of %(first)s."
                )
            )
            % {
                "kind": _kind(tr, request),
                "due": _date(tr, request.extended_due_at),
                "first": _date(tr, request.due_at),
            },
            tr.gettext(N_("Why we need more time:")) + "\n" + request.extension_reason,
            tr.gettext(
                N_(
                    "The law allows us to extend the deadline by up to two months when a "
                    "request is complex or we receive many, provided we tell you within one "
                    "month, with the reasons (GDPR Article 12(3))."
                )
            ),
            tr.gettext(N_("You can follow the request here:")) + "\n" + status_link,
            _closing(tr, sender),
        ),
    )


def refusal(request: DataRequest, sender: Sender) -> Letter:
    """Art. 12(4): the reasons, and the right to complain and to go to court."""
    tr = translator(request.lang)
    assert request.refusal_reason
    authority = sender.authority_url
    if sender.authority_address:
        authority = f"{sender.authority_url}, {sender.authority_address}"
    return Letter(
        "refusal",
        tr.gettext(N_("Answer to your request: we will not act on it")),
        _join(
            _greeting(tr, request),
            tr.gettext(
                N_(
                    "On %(received)s you made a request: %(kind)s. We have decided not to act "
                    "on it."
                )
            )
            % {"received": _date(tr, request.received_at), "kind": _kind(tr, request)},
            tr.gettext(N_("Our reasons:")) + "\n" + request.refusal_reason,
            tr.gettext(
                N_(
                    "If you disagree, you have the right to complain to the supervisory "
                    "authority, %(authority)s (%(where)s), and the right to bring the matter "
                    "before the courts (GDPR Articles 77 and 79)."
                )
            )
            % {"authority": sender.authority, "where": authority},
            tr.gettext(N_("We are telling you this under GDPR Article 12(4).")),
            _closing(tr, sender),
        ),
    )


def completed(request: DataRequest, sender: Sender, status_link: str) -> Letter:
    tr = translator(request.lang)
    return Letter(
        "completed",
        tr.gettext(N_("Your request is completed")),
        _join(
            _greeting(tr, request),
            tr.gettext(N_("We have completed your request: %(kind)s."))
            % {"kind": _kind(tr, request)},
            tr.gettext(N_("See what was done here:")) + "\n" + status_link,
            _closing(tr, sender),
        ),
    )


def send(session: Session, request: DataRequest, letter: Letter) -> None:
    """Put ``letter`` in the outbox in the caller's transaction."""
    from personvern.mail.outbox import queue

    queue(
        session,
        to=request.email,
        subject=letter.subject,
        text=letter.text,
        lang=request.lang,
        purpose=letter.purpose,
        request_id=request.id,
    )
