"""Norwegian retention presets: periods a shop can name in its inventory, each with its source.

A retention rule that says ``preset: bookkeeping_primary`` gets its period, the event it is
counted from, its legal ground and whether it is an assumption from here; the rule may still
say any of them itself, and is then recorded as deviating from the preset
(:meth:`personvern.inventory.schema.RetentionRule.deviations`).

Where a law sets the number, the preset cites it and ``assumption`` is false:

- bokføringsloven § 13 second paragraph: primary documentation (sales documents, invoices)
  is kept five years after the end of the accounting year,
  https://lovdata.no/lov/2004-11-19-73/§13 ;
- bokføringsloven § 13 (and Altinn's guidance): secondary documentation three years and six
  months after the end of the accounting year;
- markedsføringsloven § 15 and GDPR Art. 21(3): marketing stops when the person objects;
  the address stays on a suppression list so it is not mailed again.

Where no law sets a number the preset is marked an assumption, chosen from the general
limitation period of three years (foreldelsesloven § 2,
https://lovdata.no/lov/1979-05-18-18/§2) and the storage-limitation principle (GDPR Art.
5(1)(e); Datatilsynet,
https://www.datatilsynet.no/rettigheter-og-plikter/personvernprinsippene/grunnleggende-personvernprinsipper/lagringsbegrensning/).
The accounting year is the calendar year (the default for small enterprises, regnskapsloven
§ 1-7).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Literal

from personvern.inventory.durations import Period

CountedFrom = Literal[
    "created",
    "last_activity",
    "order_completed",
    "end_of_accounting_year",
    "consent_given",
    "consent_withdrawn",
    "unsubscribed",
    "case_closed",
    "account_closed",
]
"""The event a retention period is counted from."""

BOKFORINGSLOVEN_13 = "https://lovdata.no/lov/2004-11-19-73/§13"
FORELDELSESLOVEN_2 = "https://lovdata.no/lov/1979-05-18-18/§2"
MARKEDSFORINGSLOVEN_15 = "https://lovdata.no/lov/2009-01-09-2/§15"
GDPR = "https://eur-lex.europa.eu/eli/reg/2016/679/oj"
DATATILSYNET_STORAGE = (
    "https://www.datatilsynet.no/rettigheter-og-plikter/personvernprinsippene/"
    "grunnleggende-personvernprinsipper/lagringsbegrensning/"
)


@dataclass(frozen=True)
class Words:
    """A text in bokmål and English (the inventory's ``Text``, without pydantic)."""

    nb: str
    en: str


@dataclass(frozen=True)
class Preset:
    """A named retention period with its legal ground and where it comes from."""

    key: str
    name: Words
    period: Period | None  # None: until the event itself (e.g. unsubscribing)
    counted_from: CountedFrom
    legal_ground: Words
    sources: tuple[str, ...]  # the law or guidance, first the one that sets the period
    assumption: bool  # true where no law sets the number and it is a choice

    @property
    def source(self) -> str:
        return self.sources[0]


NORWEGIAN: tuple[Preset, ...] = (
    Preset(
        key="bookkeeping_primary",
        name=Words("Primærdokumentasjon i regnskapet", "Primary accounting documentation"),
        period=Period(years=5),
        counted_from="end_of_accounting_year",
        legal_ground=Words(
            "Primærdokumentasjon, som salgsdokumenter og fakturaer, skal oppbevares i fem år "
            "etter regnskapsårets slutt (bokføringsloven § 13 andre ledd). Så lenge fristen "
            "løper, gjelder ikke retten til sletting (personvernforordningen artikkel 17 nr. 3 "
            "bokstav b).",
            "Primary documentation, such as sales documents and invoices, must be kept for "
            "five years after the end of the accounting year (Bookkeeping Act section 13(2)). "
            "Until then the right to erasure does not apply (Article 17(3)(b) GDPR).",
        ),
        sources=(BOKFORINGSLOVEN_13,),
        assumption=False,
    ),
    Preset(
        key="bookkeeping_secondary",
        name=Words("Sekundærdokumentasjon i regnskapet", "Secondary accounting documentation"),
        period=Period(years=3, months=6),
        counted_from="end_of_accounting_year",
        legal_ground=Words(
            "Sekundærdokumentasjon, som avtaler, ordrebekreftelser og korrespondanse av "
            "betydning for regnskapet, skal oppbevares i tre år og seks måneder etter "
            "regnskapsårets slutt (bokføringsloven § 13).",
            "Secondary documentation, such as agreements, order confirmations and "
            "correspondence relevant to the accounts, must be kept for three years and six "
            "months after the end of the accounting year (Bookkeeping Act section 13).",
        ),
        sources=(BOKFORINGSLOVEN_13,),
        assumption=False,
    ),
    Preset(
        key="consent_records",
        name=Words("Samtykkeregistreringer", "Consent records"),
        period=Period(years=3),
        counted_from="consent_withdrawn",
        legal_ground=Words(
            "Vi må kunne vise at samtykke er gitt (personvernforordningen artikkel 7 nr. 1). "
            "Ingen lov fastsetter hvor lenge beviset skal oppbevares; det beholdes så lenge "
            "samtykket brukes, og deretter i tre år, den alminnelige foreldelsesfristen "
            "(foreldelsesloven § 2).",
            "We must be able to show that consent was given (Article 7(1) GDPR). No law sets "
            "how long the proof is kept; it is kept while the consent is relied on and then "
            "for three years, the general limitation period (section 2 of the Limitation Act).",
        ),
        sources=(FORELDELSESLOVEN_2, GDPR),
        assumption=True,
    ),
    Preset(
        key="newsletter",
        name=Words("Påmelding til nyhetsbrev", "Newsletter subscription"),
        period=None,
        counted_from="unsubscribed",
        legal_ground=Words(
            "Påmeldingen gjelder til mottakeren melder seg av. Da stanses utsendelsene, og "
            "øvrige opplysninger fjernes, mens e-postadressen beholdes på en sperreliste slik "
            "at den ikke får markedsføring igjen (markedsføringsloven § 15 og "
            "personvernforordningen artikkel 21 nr. 3).",
            "The subscription lasts until the recipient unsubscribes. Mailings then stop and "
            "other data is removed, while the e-mail address is kept on a suppression list so "
            "that it receives no more marketing (section 15 of the Marketing Control Act and "
            "Article 21(3) GDPR).",
        ),
        sources=(MARKEDSFORINGSLOVEN_15, GDPR),
        assumption=False,
    ),
    Preset(
        key="inactive_customer_accounts",
        name=Words("Inaktive kundekontoer", "Inactive customer accounts"),
        period=Period(years=3),
        counted_from="last_activity",
        legal_ground=Words(
            "Ingen lov fastsetter fristen. En kundekonto som ikke er brukt på tre år, regnes "
            "som avsluttet og slettes (personvernforordningen artikkel 5 nr. 1 bokstav e, "
            "Datatilsynets veiledning om lagringsbegrensning). Ordrer knyttet til kontoen "
            "beholdes etter reglene for bokføring.",
            "No law sets the period. A customer account not used for three years is treated "
            "as closed and deleted (Article 5(1)(e) GDPR, Datatilsynet's guidance on storage "
            "limitation). Orders linked to the account are kept under the bookkeeping rules.",
        ),
        sources=(DATATILSYNET_STORAGE, GDPR),
        assumption=True,
    ),
    Preset(
        key="support_correspondence",
        name=Words(
            "Kundeservicehenvendelser (e-post og chat)",
            "Customer service correspondence (e-mail and chat)",
        ),
        period=Period(years=3),
        counted_from="case_closed",
        legal_ground=Words(
            "Ingen lov fastsetter fristen. Henvendelsen beholdes i tre år etter at saken er "
            "avsluttet, den alminnelige foreldelsesfristen (foreldelsesloven § 2), slik at vi "
            "kan svare på krav som gjelder saken, og slettes deretter (personvernforordningen "
            "artikkel 5 nr. 1 bokstav e).",
            "No law sets the period. The correspondence is kept for three years after the case "
            "is closed, the general limitation period (section 2 of the Limitation Act), so "
            "that we can answer claims about it, and is then deleted (Article 5(1)(e) GDPR).",
        ),
        sources=(FORELDELSESLOVEN_2, DATATILSYNET_STORAGE),
        assumption=True,
    ),
)


class UnknownPreset(LookupError):
    """A preset name that is not in the catalog; the message lists the valid ones."""


class PresetCatalog:
    """Preset key → :class:`Preset`; an unknown key errors with the closest valid one."""

    def __init__(self, presets: Iterable[Preset] = NORWEGIAN) -> None:
        self._presets: dict[str, Preset] = {}
        for preset in presets:
            if preset.key in self._presets:
                raise ValueError(f"two presets are named {preset.key!r}")
            self._presets[preset.key] = preset

    def keys(self) -> list[str]:
        return list(self._presets)

    def __iter__(self) -> Iterator[Preset]:
        return iter(self._presets.values())

    def __contains__(self, key: object) -> bool:
        return key in self._presets

    def get(self, key: str) -> Preset:
        try:
            return self._presets[key]
        except KeyError:
            close = difflib.get_close_matches(key, self.keys(), n=1, cutoff=0.5)
            hint = (
                f"did you mean {close[0]!r}?" if close else f"use one of: {', '.join(self.keys())}"
            )
            raise UnknownPreset(f"there is no retention preset {key!r}; {hint}") from None
