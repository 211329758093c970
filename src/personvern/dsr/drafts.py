"""Manual tasks: what a person must do where no connector can, and the e-mail to the vendor.

A step becomes a manual task when its system has no connector, a connector that is not
installed, the ``manual`` connector, or one without the capability the step needs. The task
holds instructions for the shop and, for a vendor, an e-mail drafted in bokmål and English
that names the controller, the vendor's role, the GDPR article, the person, the request date
and the deadline (Art. 12(3): one month from receipt). What the e-mail asks depends on the
vendor's role: a processor must help (Art. 28(3)(e)); an independent or joint controller
(Klarna, Vipps, Meta; Art. 26) is told, so that it can act for the data it controls, and for
rectification, erasure and restriction because Art. 19 requires every recipient to be told.

A processor the shop operates itself is different: GA4 has no per-person export, but the
shop can look the person up in its own Google Analytics account. When the system's connector
settings give ``instructions`` or a ``checklist`` and no ``contact_email``/``contact_url``,
the task for a processor is internal: it says the shop does it itself, gives the steps, and
drafts no e-mail (a processor acts on the controller's instructions, Art. 28(3)(a), and
the controller may do the work in the processor's tool itself). Independent and joint
controllers are still told, as Art. 19 requires.

Both languages are drafted at planning time and stored with the step, so the task reads the
same whoever opens it, in whichever language.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from personvern.connectors.manual import checklist, checklist_lines
from personvern.dsr.holds import RuleHold
from personvern.dsr.status import RequestKind, StepAction
from personvern.dsr.texts import article
from personvern.i18n import LANGUAGES, N_, Language, Translator, translator
from personvern.inventory.schema import Inventory, System

ManualReason = Literal[
    "no_connector", "manual_connector", "unknown_connector", "lacks_capability", "not_configured"
]

REASON: Mapping[str, str] = {
    "no_connector": N_(
        "The inventory gives %(system)s no connector, so personvern cannot reach it."
    ),
    "manual_connector": N_("%(system)s has no API; a person has to do this."),
    "unknown_connector": N_(
        "No connector named %(type)s is installed, so personvern cannot reach %(system)s."
    ),
    "lacks_capability": N_("The %(type)s connector cannot %(action)s in %(system)s."),
    # Set by the executor (personvern.dsr.unconfigured), not the planner.
    "not_configured": N_(
        "The %(type)s connector of %(system)s is not set up where personvern runs, so a "
        "person has to do this."
    ),
}

ACTION: Mapping[str, str] = {
    "access": N_("look up the person's data"),
    "erase": N_("erase the person's data"),
    "rectify": N_("correct the person's data"),
    "unsubscribe": N_("stop marketing to the person"),
    "restrict": N_("restrict the processing of the person's data"),
}

_INTERNAL: Mapping[str, str] = {
    "access": N_(
        "Search %(system)s for everything about the person (%(identity)s). Attach an export "
        "of what you find, or describe it in the note, then mark this task done."
    ),
    "erase": N_(
        "Search %(system)s for everything about the person (%(identity)s) and erase it. Then "
        "mark this task done, with a note on what was erased."
    ),
    "rectify": N_(
        "Find the person (%(identity)s) in %(system)s and make these corrections: "
        "%(changes)s. Then mark this task done."
    ),
    "unsubscribe": N_(
        "Stop all marketing to the person (%(identity)s) in %(system)s, and keep the address "
        "only on a suppression list. Then mark this task done."
    ),
    "restrict": N_(
        "Mark the person's data (%(identity)s) in %(system)s as restricted: keep it, but do "
        "not use it for marketing or analytics. Then mark this task done."
    ),
}

_SUBJECT: Mapping[str, str] = {
    "access": N_("Access request (GDPR Art. %(article)s) – %(controller)s"),
    "rectify": N_("Request for rectification (GDPR Art. %(article)s) – %(controller)s"),
    "erase": N_("Erasure request (GDPR Art. %(article)s) – %(controller)s"),
    "object": N_("Objection to direct marketing (GDPR Art. %(article)s) – %(controller)s"),
    "restrict": N_("Request for restriction (GDPR Art. %(article)s) – %(controller)s"),
}

_ROLE: Mapping[str, str] = {
    "processor": N_(
        "%(controller)s (org. no. %(org)s) uses %(entity)s as a data processor for "
        "%(system)s. Under our data processing agreement and GDPR Art. 28(3)(e), we ask for "
        "your help with a request from a data subject."
    ),
    "independent_controller": N_(
        "%(controller)s (org. no. %(org)s) shares personal data with %(entity)s, which is an "
        "independent controller of the data it processes for its own purposes (%(system)s). "
        "We have received a request from a data subject that also concerns data you control, "
        "and we forward it to you."
    ),
    "joint_controller": N_(
        "%(controller)s (org. no. %(org)s) and %(entity)s are joint controllers under GDPR "
        "Art. 26 for data collected through %(system)s. Under our arrangement, we forward a "
        "request from a data subject for the data you hold."
    ),
}

_ASK: Mapping[str, str] = {
    "access": N_(
        "The person asks for a copy of the personal data about them and for information about "
        "how it is processed (GDPR Art. %(article)s)."
    ),
    "rectify": N_(
        "The person asks for these corrections of the personal data about them (GDPR Art. "
        "%(article)s): %(changes)s."
    ),
    "erase": N_(
        "The person asks for all personal data about them to be erased (GDPR Art. %(article)s)."
    ),
    "object": N_(
        "The person objects to the use of their personal data for direct marketing (GDPR "
        "Art. %(article)s). Please stop all marketing to the person at once, and keep the "
        "address only on a suppression list, so that no more marketing is sent."
    ),
    "restrict": N_(
        "The person asks for the processing of the personal data about them to be restricted "
        "(GDPR Art. %(article)s). Please keep the data, but do not use it for marketing, "
        "analytics or anything else until we tell you that the restriction is lifted."
    ),
}

# The first line of a task the shop does itself in a processor's tool (GA's User explorer).
_SELF = N_(
    "You do this yourself, in the shop's own %(system)s account: %(entity)s processes the "
    "data for us, and is not sent a request."
)

# For the shop, when the vendor controls data of its own (Klarna, Vipps, Meta): Art. 19.
_FORWARDED = N_(
    "%(entity)s is a controller of the data it holds and decides for itself what it must "
    "keep. Tell the person that you have passed the request on to %(entity)s, and that they "
    "can also contact %(entity)s directly (GDPR Art. 19)."
)

_FIELD: Mapping[str, str] = {
    "name": N_("name"),
    "email": N_("e-mail address"),
    "phone": N_("phone number"),
    "address": N_("address"),
}


@dataclass(frozen=True)
class Draft:
    """An e-mail drafted in one language."""

    subject: str
    body: str


@dataclass(frozen=True)
class ManualTask:
    """A step a person does: why, what to do, and the e-mail to send (vendors only)."""

    reason: ManualReason
    reason_text: Mapping[Language, str]
    instructions: Mapping[Language, str]
    to: str | None = None  # the address the e-mail goes to, when the inventory gives one
    contact_url: str | None = None  # a web form or page, when there is no address
    email: Mapping[Language, Draft] | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "reason": self.reason,
            "reason_text": dict(self.reason_text),
            "instructions": dict(self.instructions),
            "to": self.to,
            "contact_url": self.contact_url,
            "email": (
                None
                if self.email is None
                else {
                    lang: {"subject": d.subject, "body": d.body} for lang, d in self.email.items()
                }
            ),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ManualTask:
        email = data.get("email")
        return cls(
            reason=data["reason"],
            reason_text=dict(data["reason_text"]),
            instructions=dict(data["instructions"]),
            to=data.get("to"),
            contact_url=data.get("contact_url"),
            email=(
                None
                if email is None
                else {lang: Draft(d["subject"], d["body"]) for lang, d in email.items()}
            ),
        )


@dataclass(frozen=True)
class RequestFacts:
    """What a task says about the request: who, what, when. Plain data, no ORM."""

    kind: RequestKind
    email: str
    name: str | None
    phone: str | None
    received: date
    due: date
    changes: Mapping[str, Any]


def _org(number: str) -> str:
    digits = number.replace(" ", "")
    return " ".join(digits[i : i + 3] for i in range(0, len(digits), 3))


def _identity(tr: Translator, facts: RequestFacts) -> str:
    parts = [tr.gettext("e-mail address %(value)s") % {"value": facts.email}]
    if facts.name:
        parts.append(tr.gettext("name %(value)s") % {"value": facts.name})
    if facts.phone:
        parts.append(tr.gettext("phone number %(value)s") % {"value": facts.phone})
    return ", ".join(parts)


def changes_text(tr: Translator, changes: Mapping[str, Any]) -> str:
    """Proposed corrections as ``field: new value; …`` in the translator's language."""
    out = []
    for key, value in changes.items():
        label = tr.gettext(_FIELD[key]) if key in _FIELD else key
        shown = ", ".join(str(v) for v in value.values()) if isinstance(value, dict) else value
        out.append(f"{label}: {shown}")
    return "; ".join(out)


def _holds_lines(tr: Translator, inventory: Inventory, holds: Sequence[RuleHold]) -> list[str]:
    if not holds:
        return []
    lines = [tr.gettext("Keep what the law requires, and nothing else:")]
    for hold in holds:
        values = {"rule": inventory.rule(hold.rule).name.get(tr.lang), "ground": hold.ground}
        if hold.until is None:
            line = tr.gettext("– %(rule)s: %(ground)s, for as long as the rule says.") % values
        else:
            values["until"] = tr.format_date(hold.until)
            line = tr.gettext("– %(rule)s: %(ground)s, until %(until)s.") % values
        lines.append(line)
    return lines


def _email(
    tr: Translator,
    inventory: Inventory,
    system: System,
    facts: RequestFacts,
    holds: Sequence[RuleHold],
) -> Draft:
    controller = inventory.controller
    entity = system.legal_entity.name if system.legal_entity else system.name
    values = {
        "controller": controller.name,
        "org": _org(controller.org_number),
        "entity": entity,
        "system": system.name,
        "article": article(tr, facts.kind),
        "changes": changes_text(tr, facts.changes),
    }
    contact = controller.privacy_contact()
    paragraphs = [
        tr.gettext("Dear %(entity)s,") % values,
        tr.gettext(_ROLE[system.role]) % values,
        tr.gettext(_ASK[facts.kind]) % values,
        tr.gettext("The request concerns the person with %(identity)s.")
        % {"identity": _identity(tr, facts)},
    ]
    if facts.kind == "erase" and holds:
        paragraphs.append("\n".join(_holds_lines(tr, inventory, holds)))
    if facts.kind in ("rectify", "erase", "restrict") and system.role != "processor":
        paragraphs.append(
            tr.gettext(
                "We tell you about it because GDPR Art. 19 requires us to inform everyone we "
                "have shared the data with."
            )
        )
    paragraphs.append(
        tr.gettext(
            "We received the request on %(received)s and must answer the person by %(due)s "
            "(GDPR Art. 12(3)). Please confirm to %(reply)s when it has been done, and before "
            "that date."
        )
        % {
            "received": tr.format_date(facts.received),
            "due": tr.format_date(facts.due),
            "reply": contact.email or contact.phone or contact.url or controller.name,
        }
    )
    paragraphs.append(tr.gettext("Kind regards,") + f"\n{controller.name}")
    return Draft(
        subject=tr.gettext(_SUBJECT[facts.kind]) % values,
        body="\n\n".join(paragraphs) + "\n",
    )


def is_internal(system: System) -> bool:
    """Whether the shop does a manual task for ``system`` itself, sending no request.

    True for an internal system, and for a processor whose connector settings say how
    (``instructions`` or a ``checklist``) and name no one to write to (``contact_email``,
    ``contact_url``). Independent and joint controllers are always written to (Art. 19).
    """
    if system.kind == "internal":
        return True
    if system.role != "processor" or system.connector is None:
        return False
    settings = system.connector.settings
    told = bool(settings.get("instructions")) or bool(settings.get("checklist"))
    contact = bool(settings.get("contact_email")) or bool(settings.get("contact_url"))
    return told and not contact


def manual_task(
    inventory: Inventory,
    system: System,
    facts: RequestFacts,
    action: StepAction,
    reason: ManualReason,
    *,
    holds: Sequence[RuleHold] = (),
) -> ManualTask:
    """The manual task for ``action`` in ``system``, in bokmål and English."""
    settings = system.connector.settings if system.connector else {}
    to = settings.get("contact_email")
    url = settings.get("contact_url") or system.privacy_policy_url
    if url is None and system.legal_entity is not None:
        url = system.legal_entity.url
    extra = settings.get("instructions")
    items = checklist(settings)  # the connector's checklist, if it has one
    to_vendor = not is_internal(system)  # a vendor that is written to
    # A processor's tool the shop uses itself: nobody is written to, so no address is shown.
    self_served = system.kind == "vendor" and not to_vendor
    if self_served:
        to = url = None
    reason_text: dict[Language, str] = {}
    instructions: dict[Language, str] = {}
    email: dict[Language, Draft] = {}
    for lang in LANGUAGES:
        tr = translator(lang)
        values = {
            "system": system.name,
            "type": system.connector.type if system.connector else "",
            "action": tr.gettext(ACTION[action]),
        }
        reason_text[lang] = tr.gettext(REASON[reason]) % values
        entity = system.legal_entity.name if system.legal_entity else system.name
        if to_vendor:
            if isinstance(to, str):
                first = tr.gettext(
                    "Send the e-mail below to %(entity)s (%(to)s). Mark this task done when "
                    "they confirm, and attach their answer."
                ) % {"entity": entity, "to": to}
            elif isinstance(url, str):
                first = tr.gettext(
                    "Send the request below to %(entity)s through %(url)s. Mark this task "
                    "done when they confirm, and attach their answer."
                ) % {"entity": entity, "url": url}
            else:
                first = tr.gettext(
                    "Find out how %(entity)s takes requests about personal data, and send "
                    "them the request below. Mark this task done when they confirm."
                ) % {"entity": entity}
            email[lang] = _email(tr, inventory, system, facts, holds)
        else:
            first = tr.gettext(_INTERNAL[action]) % {
                "system": system.name,
                "identity": _identity(tr, facts),
                "changes": changes_text(tr, facts.changes),
            }
        lines = [first]
        if self_served:
            lines.insert(0, tr.gettext(_SELF) % {"system": system.name, "entity": entity})
        if action == "erase":
            lines.extend(_holds_lines(tr, inventory, holds))
        if isinstance(extra, str) and extra:
            lines.append(extra)
        lines.extend(checklist_lines(items, lang))
        if (
            to_vendor
            and system.role in ("independent_controller", "joint_controller")
            and action in ("rectify", "erase", "restrict")
        ):
            lines.append(tr.gettext(_FORWARDED) % {"entity": entity})
        lines.append(
            tr.gettext("Deadline: %(due)s (GDPR Art. 12(3)).") % {"due": tr.format_date(facts.due)}
        )
        instructions[lang] = "\n".join(lines)
    return ManualTask(
        reason=reason,
        reason_text=reason_text,
        instructions=instructions,
        to=to if isinstance(to, str) else None,
        contact_url=url if isinstance(url, str) else None,
        email=email if to_vendor else None,
    )
