"""The inventory, ``privacy.yaml``, as pydantic models ("privacy as code").

One document describes the controller, its systems, its processing activities, its cookies,
its retention rules and the sites where the consent banner runs. Everything else in
personvern is derived from it. Field by field, the models follow what GDPR Art. 30(1) asks
a controller to record and what Art. 13/14 ask it to tell people.

Every model forbids unknown fields, so a typo is reported rather than ignored. Texts that a
customer or the shop owner reads are :class:`Text`: bokmål and English, bokmål first.
Cross-references between parts (an activity naming a system or a retention rule, a cookie
naming a system) are checked by :mod:`personvern.inventory.references`, taxonomy keys by
:mod:`personvern.inventory.taxonomy`, secrets by :mod:`personvern.inventory.secrets`.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    EmailStr,
    Field,
    StringConstraints,
    model_validator,
)

from personvern.connectors.masking import MaskingError, MaskingRegistry
from personvern.inventory.durations import Duration, Period
from personvern.inventory.taxonomy import DataCategoryKey, DataSubjectKey, DataUseKey
from personvern.retention.presets import CountedFrom, Preset, PresetCatalog, UnknownPreset

SCHEMA_VERSION: Literal[1] = 1

# The EEA: the EU member states plus Iceland, Liechtenstein and Norway. A system in any other
# country needs a transfer mechanism under GDPR Chapter V (Art. 44–49).
EEA_COUNTRIES = frozenset(
    (
        *("AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE"),
        *("IT", "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE"),
        *("IS", "LI", "NO"),
    )
)

Key = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z][a-z0-9_]*$", max_length=64),
]
"""A name other parts of the inventory refer to: lower case letters, digits and ``_``."""

CountryCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
"""ISO 3166-1 alpha-2, upper case (``NO``, ``SE``, ``US``)."""


def _check_org_number(value: str) -> str:
    """A Norwegian organisation number: nine digits, the last a MOD11 check digit."""
    digits = value.replace(" ", "")
    if not re.fullmatch(r"\d{9}", digits):
        raise ValueError(
            "an organisation number has nine digits; "
            "copy it from Brønnøysundregistrene, e.g. '923 609 016'"
        )
    weights = (3, 2, 7, 6, 5, 4, 3, 2)
    remainder = sum(int(d) * w for d, w in zip(digits[:8], weights, strict=True)) % 11
    check = 0 if remainder == 0 else 11 - remainder
    if check == 10 or check != int(digits[8]):
        raise ValueError(
            f"{value!r} fails the MOD11 check of Norwegian organisation numbers; "
            "copy it from Brønnøysundregistrene"
        )
    return digits


OrgNumber = Annotated[str, AfterValidator(_check_org_number)]


def _masking_strategy(name: str) -> str:
    """A masking strategy that masks a field (``delete`` removes rows: that is an action)."""
    try:
        strategy = MaskingRegistry().get(name)
    except MaskingError as exc:
        what, _, hint = str(exc).partition("; ")
        raise ValueError(f"{what}; {hint or 'write e.g. null_rewrite or string_rewrite'}") from None
    if strategy.deletes_row:
        raise ValueError(
            "'delete' removes whole records, it does not mask a field; "
            "set 'action: delete' on the target instead"
        )
    return name


class Model(BaseModel):
    """Base of every inventory model.

    Validation errors raised here are phrased "what is wrong; how to fix it": the loader
    shows the part after the first "; " as the hint.
    """

    # coerce_numbers_to_str: a postal code, an organisation number or a phone number written
    # without quotes reads as a number in YAML, and is meant as text.
    model_config = ConfigDict(
        extra="forbid", frozen=True, str_strip_whitespace=True, coerce_numbers_to_str=True
    )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        return cls.model_validate(data)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able data that :meth:`from_dict` turns back into an equal model.

        Unset optional values are left out, except a ``None`` that replaces a default (the
        supervisory authority's address): leaving that out would bring the default back.
        """
        dumped: dict[str, Any] = _prune(self, self.model_dump(mode="json", by_alias=True))
        return dumped


def _prune(value: Any, dumped: Any) -> Any:
    if isinstance(value, BaseModel):
        out: dict[str, Any] = {}
        for name, info in type(value).model_fields.items():
            key = info.alias or name
            field_value = getattr(value, name)
            if field_value is None and info.default is None:
                continue
            out[key] = _prune(field_value, dumped[key])
        return out
    if isinstance(value, list | tuple):
        return [_prune(v, d) for v, d in zip(value, dumped, strict=True)]
    if isinstance(value, dict):
        return {k: _prune(v, dumped[k]) for k, v in value.items()}
    return dumped


class Text(Model):
    """A text in bokmål and English. Bokmål is the first language of personvern."""

    nb: Annotated[str, StringConstraints(min_length=1)]
    en: Annotated[str, StringConstraints(min_length=1)]

    def get(self, lang: str) -> str:
        return self.en if lang == "en" else self.nb


Note = Annotated[
    str | None,
    Field(
        description=(
            "An assumption or a choice made where the facts are not known, for the "
            "shop to confirm. Shown to the owner, never to customers."
        )
    ),
]


# --- the controller -------------------------------------------------------------------


class Address(Model):
    street: str
    postal_code: str
    city: str
    country: CountryCode = "NO"


class Contact(Model):
    """A way to reach the controller; ``purpose: privacy`` is where rights requests go."""

    purpose: Literal["general", "privacy", "support", "billing"] = "general"
    name: str | None = None
    email: EmailStr | None = None
    phone: str | None = None
    url: str | None = None

    @model_validator(mode="after")
    def _reachable(self) -> Contact:
        if not (self.email or self.phone or self.url):
            raise ValueError(
                "this contact gives no way to reach it; add an email, a phone or a url"
            )
        return self


class Dpo(Model):
    """The data protection officer (GDPR Art. 37–39)."""

    name: str
    email: EmailStr
    phone: str | None = None


class SupervisoryAuthority(Model):
    name: str = "Datatilsynet"
    url: str = "https://www.datatilsynet.no"
    address: str | None = "Postboks 458 Sentrum, 0105 Oslo"


class Controller(Model):
    """GDPR Art. 13(1)(a)–(b) and Art. 30(1)(a): who is responsible, and how to reach them."""

    name: str
    org_number: OrgNumber
    address: Address
    contacts: list[Contact] = Field(min_length=1)
    dpo: Dpo | None = None
    no_dpo_statement: Text | None = Field(
        default=None,
        description="Why there is no DPO (Art. 37(1) does not apply); required without one.",
    )
    supervisory_authority: SupervisoryAuthority = SupervisoryAuthority()
    note: Note = None

    @model_validator(mode="after")
    def _dpo_or_statement(self) -> Controller:
        if self.dpo is None and self.no_dpo_statement is None:
            raise ValueError(
                "the controller has neither a DPO nor a statement why there is none; "
                "name the DPO under 'dpo', or say why there is none under 'no_dpo_statement'"
            )
        if self.dpo is not None and self.no_dpo_statement is not None:
            raise ValueError(
                "both 'dpo' and 'no_dpo_statement' are given; keep the one that is true"
            )
        return self

    def privacy_contact(self) -> Contact:
        for contact in self.contacts:
            if contact.purpose == "privacy":
                return contact
        return self.contacts[0]


# --- systems --------------------------------------------------------------------------


class LegalEntity(Model):
    """The company a contract (and a processor agreement) is made with."""

    name: str
    country: CountryCode
    org_number: str | None = None
    url: str | None = None


class Transfer(Model):
    """How a transfer outside the EEA is lawful (GDPR Chapter V)."""

    mechanism: Literal["adequacy", "dpf", "scc", "bcr", "derogation"] = Field(
        description=(
            "adequacy: an Art. 45 decision for the country; dpf: the EU–US Data Privacy "
            "Framework (Decision (EU) 2023/1795) for a certified US company; scc: standard "
            "contractual clauses (Decision (EU) 2021/914); bcr: binding corporate rules "
            "(Art. 47); derogation: Art. 49."
        )
    )
    countries: list[CountryCode] = Field(min_length=1)
    safeguards_copy: Text | None = Field(
        default=None, description="How a person can get a copy of the safeguards (Art. 13(1)(f))."
    )
    note: Note = None


class ConnectorRef(Model):
    """How personvern reaches a system. Secrets are named by environment variable.

    ``settings`` are checked against the connector's own settings model once the connector
    registry is built; here they are plain values. A setting that holds a secret is named
    ``<something>_env`` and its value is the name of an environment variable.
    """

    type: Key
    settings: dict[str, str | int | float | bool | list[str]] = Field(default_factory=dict)


Role = Literal["controller", "processor", "independent_controller", "joint_controller"]


class System(Model):
    """A place where personal data is held or sent: an internal system or a vendor."""

    key: Key
    name: str
    kind: Literal["internal", "vendor"]
    role: Role = Field(
        description=(
            "controller: our own system; processor: processes on our instructions (Art. 28); "
            "independent_controller: decides its own purposes (Klarna, Vipps); "
            "joint_controller: decides purposes together with us (Art. 26, Meta Pixel)."
        )
    )
    description: Text
    legal_entity: LegalEntity | None = None
    country: CountryCode = Field(description="Where the data is stored or processed.")
    transfer: Transfer | None = None
    data_categories: list[DataCategoryKey] = Field(min_length=1)
    connector: ConnectorRef | None = None
    dpa: str | None = Field(
        default=None, description="Where the processor agreement (Art. 28(3)) is found."
    )
    privacy_policy_url: str | None = None
    note: Note = None

    @model_validator(mode="after")
    def _consistent(self) -> System:
        if self.kind == "vendor" and self.legal_entity is None:
            raise ValueError(
                "a vendor system must name its 'legal_entity'; add the company the contract "
                "is with (name and country)"
            )
        if self.kind == "vendor" and self.role == "controller":
            raise ValueError(
                "a vendor cannot have role 'controller'; use processor, "
                "independent_controller or joint_controller"
            )
        if self.kind == "internal" and self.role != "controller":
            raise ValueError(
                "an internal system must have role 'controller'; "
                "set 'role: controller', or make it 'kind: vendor'"
            )
        outside = self.country not in EEA_COUNTRIES or (
            self.legal_entity is not None and self.legal_entity.country not in EEA_COUNTRIES
        )
        if outside and self.transfer is None:
            raise ValueError(
                "data goes outside the EEA here; add 'transfer' with its mechanism "
                "(dpf, scc, adequacy, bcr or derogation)"
            )
        return self


# --- processing activities ------------------------------------------------------------

Article6Letter = Literal["a", "b", "c", "d", "e", "f"]


class LegalBasis(Model):
    """GDPR Art. 6(1), with any national ground it rests on."""

    article_6_1: Article6Letter = Field(
        description="a consent, b contract, c legal obligation, d vital interests, "
        "e public task, f legitimate interests"
    )
    national: list[str] = Field(
        default_factory=list,
        description="National law this rests on, e.g. 'bokføringsloven § 13', "
        "'markedsføringsloven § 15', 'ekomloven § 3-15'.",
    )
    legitimate_interest: Text | None = Field(
        default=None, description="The interest pursued; required for Art. 6(1)(f)."
    )

    @model_validator(mode="after")
    def _interest_for_f(self) -> LegalBasis:
        if self.article_6_1 == "f" and self.legitimate_interest is None:
            raise ValueError(
                "Art. 6(1)(f) needs the legitimate interest in words (Art. 13(1)(d)); "
                "add 'legitimate_interest'"
            )
        return self


SUBJECT_SOURCE = "data_subject"


class Activity(Model):
    """A processing activity (Art. 30(1)(b)–(g)) and what Art. 13/14 tell people about it."""

    key: Key
    name: Text
    purpose: Text
    data_use: DataUseKey
    legal_basis: LegalBasis
    data_subjects: list[DataSubjectKey] = Field(min_length=1)
    data_categories: list[DataCategoryKey] = Field(min_length=1)
    systems: list[Key] = Field(
        min_length=1, description="Systems that hold or receive the data (the recipients)."
    )
    sources: list[Key] = Field(
        default_factory=lambda: [SUBJECT_SOURCE],
        description="Where the data comes from: 'data_subject' or a system key (Art. 14(2)(f)).",
    )
    retention: Key = Field(description="The retention rule that applies.")
    requirement: Text | None = Field(
        default=None,
        description="Whether the data is required by law or contract, and what happens if "
        "it is not given (Art. 13(2)(e)).",
    )
    automated_decision: Text | None = Field(
        default=None, description="Automated decisions or profiling and their logic (Art. 22)."
    )
    note: Note = None


# --- cookies --------------------------------------------------------------------------

CookieCategory = Literal["necessary", "preferences", "analytics", "marketing"]


class Cookie(Model):
    """A cookie or similar technology (local storage, pixel) — ekomloven § 3-15."""

    name: str | None = None
    pattern: str | None = Field(
        default=None, description="A glob for a family of names, e.g. '_ga_*'."
    )
    provider: str
    system: Key | None = Field(default=None, description="The system that sets or reads it.")
    category: CookieCategory
    purpose: Text
    lifetime: Duration
    party: Literal["first", "third"]
    kind: Literal["cookie", "local_storage", "session_storage", "pixel"] = "cookie"
    domain: str | None = Field(
        default=None,
        description="Where it is set. A 'pattern' is matched against names on this domain only.",
    )
    note: Note = None

    @model_validator(mode="after")
    def _named(self) -> Cookie:
        if (self.name is None) == (self.pattern is None):
            raise ValueError(
                "a cookie needs exactly one of 'name' and 'pattern'; give its name, or a "
                "pattern such as '_ga_*' for a family of names"
            )
        return self

    @property
    def label(self) -> str:
        return self.name or self.pattern or ""


# --- retention ------------------------------------------------------------------------


Masking = Annotated[str, AfterValidator(_masking_strategy)]
"""The name of a masking strategy (:mod:`personvern.connectors.masking`), e.g. null_rewrite."""

FieldName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*$")]
"""A collection or field as the system names it; dotted inside a JSON document."""


def _listed(value: Any) -> Any:
    # `where: {status: completed}` means the same as `where: {status: [completed]}`.
    if isinstance(value, dict):
        return {k: v if isinstance(v, list) else [v] for k, v in value.items()}
    return value


class RetentionTarget(Model):
    """Where a retention rule is applied: one collection of one system (issue 7).

    The system's connector must have the ``sweep`` capability. A record whose
    ``date_field`` is older than the rule's period (counted as the rule says) and whose
    fields match ``where`` has outlived the rule.
    """

    system: Key
    collection: FieldName
    date_field: FieldName = Field(description="The date the period is counted from.")
    where: Annotated[dict[FieldName, list[str]], BeforeValidator(_listed)] = Field(
        default_factory=dict,
        description="Field → the values that qualify, e.g. {status: [completed, refunded]}.",
    )
    action: Literal["delete", "anonymize"] | None = Field(
        default=None, description="Overrides the rule's action for this target."
    )
    fields: dict[FieldName, Masking] = Field(
        default_factory=dict,
        description="For anonymize: field → masking strategy. Empty: every personal field "
        "the system's dataset names, with its own strategy.",
    )


_PRESET_FILLS = ("name", "period", "counted_from", "legal_ground", "assumption")


class RetentionRule(Model):
    """How long data is kept, counted from what, and then what happens to it.

    ``preset`` names a Norwegian preset (:mod:`personvern.retention.presets`) that fills
    ``name``, ``period``, ``counted_from``, ``legal_ground`` and ``assumption`` where the
    rule leaves them out; what the rule says itself wins, and :meth:`deviations` lists it.
    ``targets`` say where the rule is applied; without them it only describes.
    """

    key: Key
    preset: Key | None = Field(
        default=None, description="A retention preset that fills the period and legal ground."
    )
    name: Text
    period: Duration | None = Field(
        default=None, description="ISO 8601 duration (P5Y, P13M, P30D); none: until the event."
    )
    counted_from: CountedFrom
    action: Literal["delete", "anonymize"]
    legal_ground: Text = Field(description="Why this long, in words, citing any law.")
    assumption: bool = Field(
        default=False, description="True where the law sets no number and the shop chose one."
    )
    targets: list[RetentionTarget] = Field(
        default_factory=list, description="Where the rule is applied by a sweep."
    )
    exceptions: Text | None = Field(
        default=None, description="What the rule does not cover, in words."
    )
    note: Note = None

    @model_validator(mode="before")
    @classmethod
    def _fill_from_preset(cls, data: Any) -> Any:
        if not isinstance(data, dict) or data.get("preset") is None:
            return data
        key = data["preset"]
        if not isinstance(key, str):
            return data  # the field's own validation reports it
        try:
            preset = PresetCatalog().get(key)
        except UnknownPreset as exc:
            raise ValueError(str(exc)) from None
        filled = dict(data)
        for name, value in _preset_values(preset).items():
            filled.setdefault(name, value)
        return filled

    @model_validator(mode="after")
    def _targets_fit_action(self) -> RetentionRule:
        for target in self.targets:
            if self.action_for(target) == "delete" and target.fields:
                raise ValueError(
                    f"the target {target.system}.{target.collection} deletes its records but "
                    "lists fields to mask; remove 'fields', or set 'action: anonymize'"
                )
        return self

    def action_for(self, target: RetentionTarget) -> Literal["delete", "anonymize"]:
        """The target's own action, else the rule's."""
        return target.action or self.action

    def deviations(self) -> tuple[str, ...]:
        """The fields where the rule says something else than its preset (none: ``()``)."""
        if self.preset is None:
            return ()
        preset = _preset_values(PresetCatalog().get(self.preset))
        return tuple(
            name
            for name in _PRESET_FILLS
            if name != "name" and _as_data(getattr(self, name)) != preset[name]
        )

    def to_dict(self) -> dict[str, Any]:
        """As :meth:`Model.to_dict`, leaving out what the preset fills in anyway."""
        data = super().to_dict()
        if self.preset is not None:
            preset = _preset_values(PresetCatalog().get(self.preset))
            for name in _PRESET_FILLS:
                if name in data and data[name] == preset[name]:
                    del data[name]
            if self.period is None and preset["period"] is not None:
                data["period"] = None  # "until the event", where the preset has a period
        return data


def _preset_values(preset: Preset) -> dict[str, Any]:
    """A preset as the plain data a rule would write."""
    return {
        "name": {"nb": preset.name.nb, "en": preset.name.en},
        "period": preset.period.iso() if preset.period is not None else None,
        "counted_from": preset.counted_from,
        "legal_ground": {"nb": preset.legal_ground.nb, "en": preset.legal_ground.en},
        "assumption": preset.assumption,
    }


def _as_data(value: Any) -> Any:
    if isinstance(value, Text):
        return {"nb": value.nb, "en": value.en}
    if isinstance(value, Period):
        return value.iso()
    return value


# --- processing on behalf of others -------------------------------------------------


class OnBehalfActivity(Model):
    """Processing done as a processor for a customer (GDPR Art. 30(2))."""

    key: Key
    controller: LegalEntity = Field(description="The customer on whose behalf we process.")
    controller_contact: EmailStr | None = None
    categories_of_processing: Text
    systems: list[Key] = Field(default_factory=list)
    transfer: Transfer | None = None
    note: Note = None


# --- sites ----------------------------------------------------------------------------


class Site(Model):
    """An origin where the consent banner runs (scheme, host and any port)."""

    origin: Annotated[str, StringConstraints(pattern=r"^https?://[a-z0-9.-]+(:\d+)?$")]
    name: str | None = None


# --- the document ---------------------------------------------------------------------


class Inventory(Model):
    version: Literal[1] = SCHEMA_VERSION
    controller: Controller
    systems: list[System] = Field(min_length=1)
    activities: list[Activity] = Field(min_length=1)
    cookies: list[Cookie] = Field(default_factory=list)
    retention: list[RetentionRule] = Field(default_factory=list)
    sites: list[Site] = Field(default_factory=list)
    security_measures: list[Text] = Field(
        default_factory=list,
        description="Technical and organisational measures (Art. 32(1)), for Art. 30(1)(g).",
    )
    on_behalf: list[OnBehalfActivity] = Field(
        default_factory=list,
        description="Processing done as a processor for customers (Art. 30(2)).",
    )

    def system(self, key: str) -> System:
        for system in self.systems:
            if system.key == key:
                return system
        raise KeyError(key)

    def rule(self, key: str) -> RetentionRule:
        for rule in self.retention:
            if rule.key == key:
                return rule
        raise KeyError(key)
