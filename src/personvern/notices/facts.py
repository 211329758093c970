"""The inventory's facts, worded in one language and escaped as Markdown, for the templates.

The three documents tell the same facts: who the controller is (GDPR Art. 13(1)(a)–(b),
Art. 30(1)(a)), what each activity does and on which legal basis (Art. 13(1)(c)–(d),
Art. 30(1)(b)–(c)), who receives the data and where (Art. 13(1)(e)–(f), Art. 30(1)(d)–(e)),
how long it is kept (Art. 13(2)(a), Art. 30(1)(f)) and where it comes from (Art. 14(2)(f)).
This module builds those facts once, so the documents cannot disagree about them; the
templates only put them into sentences.

Every string here is Markdown: text from the inventory goes through
:func:`personvern.notices.markdown.md` on its way in.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from personvern.inventory.schema import (
    EEA_COUNTRIES,
    SUBJECT_SOURCE,
    Activity,
    Contact,
    Controller,
    Inventory,
    OnBehalfActivity,
    RetentionRule,
    System,
    Text,
    Transfer,
)
from personvern.notices.markdown import code, link, mailto, md
from personvern.notices.vocabulary import Lang, Words


def _text(value: Text | None, lang: Lang) -> str:
    return md(value.get(lang)) if value is not None else ""


def _org_number(digits: str) -> str:
    """``999999999`` as Brønnøysundregistrene writes it: ``999 999 999``."""
    return " ".join(digits[i : i + 3] for i in range(0, len(digits), 3))


def quoted(lang: Lang, text: str) -> str:
    """``text`` in the language's quotation marks: «…» in Norwegian, “…” in English."""
    return f"«{text}»" if lang == "nb" else f"“{text}”"


@dataclass(frozen=True)
class ContactFacts:
    purpose: str  # general, privacy, support or billing; the template words it
    name: str
    email: str
    phone: str
    url: str


@dataclass(frozen=True)
class ControllerFacts:
    name: str
    org_number: str
    address: str
    country: str
    in_eea: bool
    contacts: tuple[ContactFacts, ...]
    privacy: ContactFacts
    dpo_name: str
    dpo_email: str
    dpo_phone: str
    no_dpo_statement: str
    authority_name: str
    authority_url: str
    authority_address: str
    note: str


@dataclass(frozen=True)
class TransferFacts:
    mechanism: str
    name: str
    cite: str
    countries: str
    copy: str  # how to get a copy of the safeguards; empty: the template says "contact us"
    note: str


@dataclass(frozen=True)
class SystemFacts:
    key: str
    name: str
    kind: str
    kind_label: str
    role: str
    role_label: str
    entity: str
    entity_country: str
    country: str
    description: str
    transfer: TransferFacts | None
    categories: str
    dpa: str
    privacy_policy: str
    note: str


@dataclass(frozen=True)
class RetentionFacts:
    key: str
    name: str
    period: str  # "5 år"; empty when the rule runs until an event
    after: str  # "etter utgangen av regnskapsåret"
    until: str  # "til du melder deg av"
    action: str  # "slettes"
    legal_ground: str
    assumption: bool
    note: str


@dataclass(frozen=True)
class ActivityFacts:
    key: str
    name: str
    purpose: str
    data_use: str
    basis: str
    basis_name: str
    basis_explain: str
    basis_cite: str
    legitimate_interest: str
    legitimate_interest_is_sentence: bool  # written as a full sentence, not "to …"
    subjects: str
    categories: str
    category_keys: str
    systems: tuple[SystemFacts, ...]
    internal: str  # our own systems that hold the data, by name
    recipients: tuple[tuple[str, str], ...]  # (role in the plural as needed, names) per role
    from_subject: bool
    other_sources: tuple[SystemFacts, ...]
    retention: RetentionFacts
    requirement: str
    automated_decision: str
    note: str

    @property
    def transfers(self) -> tuple[SystemFacts, ...]:
        return tuple(system for system in self.systems if system.transfer is not None)

    @property
    def direct_marketing(self) -> bool:
        return self.data_use.startswith("marketing")


def controller_facts(controller: Controller, lang: Lang) -> ControllerFacts:
    words = Words(lang)

    def contact(value: Contact) -> ContactFacts:
        return ContactFacts(
            purpose=value.purpose,
            name=md(value.name or ""),
            email=mailto(value.email) if value.email else "",
            phone=md(value.phone or ""),
            url=link(value.url, value.url) if value.url else "",
        )

    address = controller.address
    dpo = controller.dpo
    authority = controller.supervisory_authority
    return ControllerFacts(
        name=md(controller.name),
        org_number=_org_number(controller.org_number),
        address=md(f"{address.street}, {address.postal_code} {address.city}"),
        country=md(words.country(address.country)),
        in_eea=address.country in EEA_COUNTRIES,
        contacts=tuple(contact(c) for c in controller.contacts),
        privacy=contact(controller.privacy_contact()),
        dpo_name=md(dpo.name) if dpo else "",
        dpo_email=mailto(dpo.email) if dpo else "",
        dpo_phone=md(dpo.phone or "") if dpo else "",
        no_dpo_statement=_text(controller.no_dpo_statement, lang),
        authority_name=md(authority.name),
        authority_url=link(authority.url.removeprefix("https://"), authority.url),
        authority_address=md(authority.address or ""),
        note=md(controller.note or ""),
    )


def transfer_facts(transfer: Transfer, lang: Lang) -> TransferFacts:
    words = Words(lang)
    return TransferFacts(
        mechanism=transfer.mechanism,
        name=md(words.text("transfer", transfer.mechanism, "name")),
        cite=md(words.text("transfer", transfer.mechanism, "cite")),
        countries=md(words.join(words.country(c) for c in transfer.countries)),
        copy=_text(transfer.safeguards_copy, lang),
        note=md(transfer.note or ""),
    )


def system_facts(system: System, lang: Lang) -> SystemFacts:
    words = Words(lang)
    transfer = transfer_facts(system.transfer, lang) if system.transfer else None
    entity = system.legal_entity
    return SystemFacts(
        key=system.key,
        name=md(system.name),
        kind=system.kind,
        kind_label=md(words.text("system_kind", system.kind)),
        role=system.role,
        role_label=md(words.text("role", system.role)),
        entity=md(entity.name) if entity else "",
        entity_country=md(words.country(entity.country)) if entity else "",
        country=md(words.country(system.country)),
        description=_text(system.description, lang),
        transfer=transfer,
        categories=md(words.join(_unique(words.data_category(k) for k in system.data_categories))),
        dpa=md(system.dpa or ""),
        privacy_policy=(
            link(system.privacy_policy_url, system.privacy_policy_url)
            if system.privacy_policy_url
            else ""
        ),
        note=md(system.note or ""),
    )


def retention_facts(rule: RetentionRule, lang: Lang) -> RetentionFacts:
    words = Words(lang)
    return RetentionFacts(
        key=rule.key,
        name=_text(rule.name, lang),
        period=md(words.period(rule.period)) if rule.period is not None else "",
        after=md(words.text("counted_from", rule.counted_from, "after")),
        until=md(words.text("counted_from", rule.counted_from, "until")),
        action=md(words.text("retention_action", rule.action)),
        legal_ground=_text(rule.legal_ground, lang),
        assumption=rule.assumption,
        note=md(rule.note or ""),
    )


def _unique(items: Iterable[str]) -> list[str]:
    seen: list[str] = []
    for item in items:
        if item not in seen:
            seen.append(item)
    return seen


# Recipients are listed by role in this order: those acting for us first (Art. 28), then
# those deciding for themselves, then those deciding with us (Art. 26).
ROLE_ORDER = ("processor", "independent_controller", "joint_controller")


def recipient_groups(systems: Iterable[SystemFacts], lang: Lang) -> tuple[tuple[str, str], ...]:
    """Vendors grouped by role: ``(("Databehandlere", "One.com og Mailchimp"), …)``."""
    words = Words(lang)
    groups = []
    for role in ROLE_ORDER:
        names = [s.name for s in systems if s.kind == "vendor" and s.role == role]
        if names:
            one, many = words.term("role_plural", role)
            groups.append((md(one if len(names) == 1 else many), words.join(names)))
    return tuple(groups)


def activity_facts(activity: Activity, inventory: Inventory, lang: Lang) -> ActivityFacts:
    words = Words(lang)
    basis = activity.legal_basis
    letter = basis.article_6_1
    cite = words.text("cite", "article_6").format(letter=letter)
    if basis.national:
        national = words.join(words.law(n) for n in basis.national)
        cite += f", {words.text('cite', 'read_with')} {national}"
    systems = tuple(system_facts(inventory.system(key), lang) for key in activity.systems)
    others = tuple(
        system_facts(inventory.system(key), lang)
        for key in activity.sources
        if key != SUBJECT_SOURCE
    )
    return ActivityFacts(
        key=activity.key,
        name=_text(activity.name, lang),
        purpose=_text(activity.purpose, lang),
        data_use=activity.data_use,
        basis=letter,
        basis_name=md(words.text("legal_basis", letter, "name")),
        basis_explain=md(words.text("legal_basis", letter, "explain")),
        basis_cite=md(cite),
        legitimate_interest=_text(basis.legitimate_interest, lang),
        legitimate_interest_is_sentence=bool(
            basis.legitimate_interest and basis.legitimate_interest.get(lang)[:1].isupper()
        ),
        subjects=md(words.join(_unique(words.data_subject(k) for k in activity.data_subjects))),
        categories=md(
            words.join(_unique(words.data_category(k) for k in activity.data_categories))
        ),
        category_keys=", ".join(code(k) for k in activity.data_categories),
        systems=systems,
        internal=", ".join(s.name for s in systems if s.kind == "internal"),
        recipients=recipient_groups(systems, lang),
        from_subject=SUBJECT_SOURCE in activity.sources,
        other_sources=others,
        retention=retention_facts(inventory.rule(activity.retention), lang),
        requirement=_text(activity.requirement, lang),
        automated_decision=_text(activity.automated_decision, lang),
        note=md(activity.note or ""),
    )


@dataclass(frozen=True)
class OnBehalfFacts:
    """Processing done as a processor for a customer (GDPR Art. 30(2))."""

    key: str
    controller: str
    controller_country: str
    controller_contact: str
    categories: str
    systems: str
    transfer: TransferFacts | None
    note: str


def on_behalf_facts(item: OnBehalfActivity, inventory: Inventory, lang: Lang) -> OnBehalfFacts:
    words = Words(lang)
    return OnBehalfFacts(
        key=item.key,
        controller=md(item.controller.name),
        controller_country=md(words.country(item.controller.country)),
        controller_contact=mailto(item.controller_contact) if item.controller_contact else "",
        categories=_text(item.categories_of_processing, lang),
        systems=md(words.join(inventory.system(k).name for k in item.systems)),
        transfer=transfer_facts(item.transfer, lang) if item.transfer else None,
        note=md(item.note or ""),
    )


@dataclass(frozen=True)
class DocumentFacts:
    """What every document's template gets: the facts, the links and the version line."""

    lang: Lang
    html: bool
    controller: ControllerFacts
    activities: tuple[ActivityFacts, ...]
    systems: tuple[SystemFacts, ...]
    retention: tuple[RetentionFacts, ...]
    security_measures: tuple[str, ...]
    on_behalf: tuple[OnBehalfFacts, ...]
    version_line: str  # plain text: "Versjon 3, sist endret 25. november 2025."
    center_link: str
    policy_link: str
    cookies_link: str
    settings_url: str
    sites: str

    @property
    def vendors(self) -> tuple[SystemFacts, ...]:
        return tuple(s for s in self.systems if s.kind == "vendor")

    @property
    def transfers(self) -> tuple[SystemFacts, ...]:
        return tuple(s for s in self.systems if s.transfer is not None)

    @property
    def roles(self) -> frozenset[str]:
        return frozenset(s.role for s in self.vendors)

    @property
    def joint_controllers(self) -> tuple[SystemFacts, ...]:
        return tuple(s for s in self.vendors if s.role == "joint_controller")


def document_facts(
    inventory: Inventory,
    lang: Lang,
    *,
    html: bool,
    version_line: str,
    center_url: str,
) -> DocumentFacts:
    """The facts of ``inventory`` in ``lang``, with the privacy center at ``center_url``.

    A relative ``center_url`` is made absolute with the first site of the inventory, since a
    printed or PDF notice has no page to be relative to.
    """
    words = Words(lang)
    base = center_url.rstrip("/")
    if base.startswith("/") and inventory.sites:
        base = inventory.sites[0].origin + base
    return DocumentFacts(
        lang=lang,
        html=html,
        controller=controller_facts(inventory.controller, lang),
        activities=tuple(activity_facts(a, inventory, lang) for a in inventory.activities),
        systems=tuple(system_facts(s, lang) for s in inventory.systems),
        retention=tuple(retention_facts(r, lang) for r in inventory.retention),
        security_measures=tuple(_text(m, lang) for m in inventory.security_measures),
        on_behalf=tuple(on_behalf_facts(o, inventory, lang) for o in inventory.on_behalf),
        version_line=md(version_line),
        center_link=link(base or "/", base or "/"),
        policy_link=f"{base}/policy",
        cookies_link=f"{base}/cookies",
        settings_url=f"{base}/consent",
        sites=md(words.join(s.name or s.origin for s in inventory.sites)),
    )
