"""The information about the processing that an access report must give (GDPR Art. 15).

Beside the copy of the data, Art. 15(1) entitles the person to know, *for their data*:
(a) the purposes; (b) the categories of data; (c) the recipients, in particular in third
countries; (d) how long it is kept, or the criteria; (e) the rights to rectification,
erasure, restriction and objection; (f) the right to complain to the supervisory
authority; (g) where the data came from, if not from them; (h) automated decisions
(Art. 22) and their logic. Art. 15(2) adds the safeguards of transfers out of the EEA
(Art. 46). EDPB Guidelines 01/2022 (section 5.1.2) ask for this to be tailored to the
person rather than a copy of the privacy policy, so :func:`processing_info` takes only the
processing activities that use a system where the person was found.

Everything here is plain text in the person's language: the inventory's own words for its
texts (:class:`~personvern.inventory.schema.Text`), the notices' vocabulary for taxonomy
codes, laws, countries and periods (so the report and the privacy policy word them the
same), and the gettext catalogs for the rest. The templates escape it.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass

from personvern.dsr.plan import DEFAULT_SUBJECTS
from personvern.i18n import N_, Translator
from personvern.i18n.terms import LEGAL_BASIS, ROLE, label
from personvern.inventory.schema import (
    EEA_COUNTRIES,
    SUBJECT_SOURCE,
    Activity,
    Inventory,
    RetentionRule,
    System,
)
from personvern.notices.vocabulary import Lang, Words


def capfirst(text: str) -> str:
    """Upper-case the first letter only (``e-postadresse`` → ``E-postadresse``)."""
    return text[:1].upper() + text[1:]


def unique(items: Iterable[str]) -> list[str]:
    seen: list[str] = []
    for item in items:
        if item and item not in seen:
            seen.append(item)
    return seen


@dataclass(frozen=True)
class Transfer:
    """A transfer out of the EEA and its safeguard (Art. 15(2), Art. 44–49)."""

    system: str
    countries: str
    mechanism: str
    cite: str
    copy: str  # how to get a copy of the safeguards; empty: ask the controller


@dataclass(frozen=True)
class Recipient:
    """A vendor that receives the data: who, in which role, where (Art. 15(1)(c))."""

    key: str
    name: str
    role: str
    entity: str
    country: str
    outside_eea: bool
    transfer: Transfer | None


@dataclass(frozen=True)
class Retention:
    """How long, counted from what, then what (Art. 15(1)(d))."""

    rule: str
    name: str
    period: str  # "5 år etter utgangen av regnskapsåret" or "til du melder deg av"
    then: str  # "slettes"
    why: str


@dataclass(frozen=True)
class Purpose:
    """One processing activity that touches the person's data."""

    key: str
    name: str
    purpose: str
    basis: str  # "Avtale"
    basis_cite: str  # "personvernforordningen artikkel 6 nr. 1 bokstav b"
    basis_letter: str
    legitimate_interest: str
    categories: tuple[str, ...]
    stored_in: tuple[str, ...]  # our own systems
    recipients: tuple[Recipient, ...]
    retention: Retention
    sources: tuple[str, ...]
    automated_decision: str
    requirement: str


@dataclass(frozen=True)
class Controller:
    name: str
    org_number: str
    address: str
    contact: str  # the privacy contact's e-mail (or phone, or web page)
    dpo: str
    authority: str
    authority_url: str
    authority_address: str


@dataclass(frozen=True)
class Processing:
    """Art. 15(1)(a)–(d), (g), (h) and 15(2) for the systems where the person was found."""

    controller: Controller
    purposes: tuple[Purpose, ...]
    recipients: tuple[Recipient, ...]
    transfers: tuple[Transfer, ...]
    consent: bool  # some purpose rests on consent: the right to withdraw it applies
    center_url: str

    @property
    def automated(self) -> tuple[Purpose, ...]:
        return tuple(p for p in self.purposes if p.automated_decision)


def controller_info(inventory: Inventory, lang: Lang) -> Controller:
    words = Words(lang)
    controller = inventory.controller
    contact = controller.privacy_contact()
    address = controller.address
    org = controller.org_number
    dpo = controller.dpo
    authority = controller.supervisory_authority
    return Controller(
        name=controller.name,
        org_number=" ".join(org[i : i + 3] for i in range(0, len(org), 3)),
        address=f"{address.street}, {address.postal_code} {address.city}, "
        f"{words.country(address.country)}",
        contact=str(contact.email or contact.phone or contact.url or ""),
        dpo=f"{dpo.name} ({dpo.email})" if dpo else "",
        authority=authority.name,
        authority_url=authority.url,
        authority_address=authority.address or "",
    )


def transfer_of(system: System, lang: Lang) -> Transfer | None:
    if system.transfer is None:
        return None
    words = Words(lang)
    mechanism = system.transfer.mechanism
    copy = system.transfer.safeguards_copy
    return Transfer(
        system=system.name,
        countries=words.join(words.country(c) for c in system.transfer.countries),
        mechanism=capfirst(words.text("transfer", mechanism, "name")),
        cite=words.text("transfer", mechanism, "cite"),
        copy=copy.get(lang) if copy else "",
    )


def recipient_of(system: System, tr: Translator, lang: Lang) -> Recipient:
    words = Words(lang)
    entity = system.legal_entity
    countries = {system.country, *([entity.country] if entity else [])}
    return Recipient(
        key=system.key,
        name=system.name,
        role=label(tr, ROLE, system.role),
        entity=f"{entity.name}, {words.country(entity.country)}" if entity else "",
        country=words.country(system.country),
        outside_eea=bool(countries - EEA_COUNTRIES),
        transfer=transfer_of(system, lang),
    )


def retention_of(rule: RetentionRule, lang: Lang) -> Retention:
    words = Words(lang)
    if rule.period is not None:
        after = words.text("counted_from", rule.counted_from, "after")
        period = f"{words.period(rule.period)} {after}"
    else:
        period = words.text("counted_from", rule.counted_from, "until")
    return Retention(
        rule=rule.key,
        name=rule.name.get(lang),
        period=capfirst(period),
        then=words.text("retention_action", rule.action),
        why=rule.legal_ground.get(lang),
    )


def _sources(activity: Activity, inventory: Inventory, tr: Translator) -> tuple[str, ...]:
    out = []
    for key in activity.sources:
        if key == SUBJECT_SOURCE:
            out.append(tr.gettext(N_("You")))
        else:
            out.append(inventory.system(key).name)
    return tuple(out)


def purpose_of(activity: Activity, inventory: Inventory, tr: Translator, lang: Lang) -> Purpose:
    words = Words(lang)
    basis = activity.legal_basis
    cite = words.text("cite", "article_6").format(letter=basis.article_6_1)
    if basis.national:
        national = words.join(words.law(n) for n in basis.national)
        cite += f", {words.text('cite', 'read_with')} {national}"
    systems = [inventory.system(key) for key in activity.systems]
    return Purpose(
        key=activity.key,
        name=activity.name.get(lang),
        purpose=activity.purpose.get(lang),
        basis=label(tr, LEGAL_BASIS, basis.article_6_1),
        basis_cite=cite,
        basis_letter=basis.article_6_1,
        legitimate_interest=(
            basis.legitimate_interest.get(lang) if basis.legitimate_interest else ""
        ),
        categories=tuple(unique(words.data_category(k) for k in activity.data_categories)),
        stored_in=tuple(s.name for s in systems if s.kind == "internal"),
        recipients=tuple(recipient_of(s, tr, lang) for s in systems if s.kind == "vendor"),
        retention=retention_of(inventory.rule(activity.retention), lang),
        sources=_sources(activity, inventory, tr),
        automated_decision=(
            activity.automated_decision.get(lang) if activity.automated_decision else ""
        ),
        requirement=activity.requirement.get(lang) if activity.requirement else "",
    )


def processing_info(
    inventory: Inventory,
    systems: Collection[str],
    tr: Translator,
    *,
    center_url: str,
    subjects: Collection[str] = DEFAULT_SUBJECTS,
) -> Processing:
    """Art. 15 information for the activities that use any of ``systems``.

    ``subjects`` are the data subjects requests come from (as in the plan): an activity
    about employees says nothing about a customer.
    """
    lang: Lang = "en" if tr.lang == "en" else "nb"
    activities = [
        a
        for a in inventory.activities
        if set(a.systems) & set(systems) and set(a.data_subjects) & set(subjects)
    ]
    purposes = tuple(purpose_of(a, inventory, tr, lang) for a in activities)
    recipients: dict[str, Recipient] = {}
    for purpose in purposes:
        for recipient in purpose.recipients:
            recipients.setdefault(recipient.key, recipient)
    transfers = tuple(r.transfer for r in recipients.values() if r.transfer is not None)
    return Processing(
        controller=controller_info(inventory, lang),
        purposes=purposes,
        recipients=tuple(recipients.values()),
        transfers=transfers,
        consent=any(a.legal_basis.article_6_1 == "a" for a in activities),
        center_url=center_url,
    )
