"""The ``manual`` connector: a system with no API, reached by a person.

It can do nothing by itself (no capabilities), so every step of a request in such a system
becomes a manual task: instructions for the shop, and for a vendor an e-mail drafted in
bokmål and English (:mod:`personvern.dsr.drafts`), tracked until an admin marks it done.
Its settings say where the task goes and what to go through::

    connector:
      type: manual
      settings:
        contact_email: privacy@vendor.example   # the drafted e-mail is addressed here
        contact_url: https://vendor.example/privacy   # or a web form, when there is no address
        instructions: Search the mailbox for the address and delete the threads.
        checklist: one_com            # a checklist below, added to the task's instructions
        customer_lists: true          # the shop uploads customer lists (Customer Match, …)

``checklist`` names one or more of the checklists in :data:`CHECKLISTS` (a name, or a
list of names); a program may also give :class:`ChecklistItem` objects of its own. An
item with ``when: customer_lists`` is only on the task when ``customer_lists`` is true:
removing a person from an uploaded audience only matters when the shop uploads audiences.

Connectors that lack a capability a request needs get the same treatment for that step.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Final, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, ValidationError

from personvern.connectors.base import Capability, Connector

Condition = Literal["customer_lists"]


class ChecklistItem(BaseModel):
    """One thing to do or check, in bokmål and English; ``when`` names a setting it needs."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    nb: str
    en: str
    when: Condition | None = None

    def text(self, lang: str) -> str:
        return self.nb if lang == "nb" else self.en


def _item(nb: str, en: str, when: Condition | None = None) -> ChecklistItem:
    return ChecklistItem(nb=nb, en=en, when=when)


# The checklists, as data. Sources: /work/shared/reference/vendor_apis.md § 5 (Google Ads),
# § 6 (Meta), § 10 (One.com); One.com's DPA (one.com/en/legal/dpa); Google Ads Customer
# Match ("Manage customer lists"; OfflineUserDataJobService remove operations); Meta
# Marketing API, Custom Audiences (DELETE /{custom_audience_id}/users); CJEU C-40/17
# Fashion ID (joint control of collection and transmission only); Google Analytics help,
# "[GA4] User explorer" (https://support.google.com/analytics/answer/9283607).
CHECKLISTS: Final[Mapping[str, tuple[ChecklistItem, ...]]] = {
    "one_com": (
        _item(
            "E-postkassene hos One.com (post@, tor@ og andre): søk etter personens "
            "e-postadresse og navn, og slett eller eksporter trådene (også i Sendt og "
            "Papirkurv), unntatt det bokføringsloven krever at vi beholder.",
            "The mailboxes at One.com (post@, tor@ and any other): search for the person's "
            "e-mail address and name, and erase or export the threads (Sent and Trash "
            "too), except what the Bookkeeping Act requires us to keep.",
        ),
        _item(
            "Sikkerhetskopier: One.com tar sikkerhetskopier av nettstedet, databasen og "
            "e-posten. Det som er slettet, blir liggende i dem til de roteres ut. Skriv i "
            "svaret hvor lenge sikkerhetskopiene lagres (se kontrollpanelet eller "
            "databehandleravtalen), og ikke gjenopprett en sikkerhetskopi uten å slette "
            "personen på nytt.",
            "Backups: One.com backs up the website, the database and the mailboxes. "
            "Erased data stays in them until they rotate out. State in the answer how long "
            "the backups are kept (see the control panel or the data processing "
            "agreement), and never restore a backup without erasing the person again.",
        ),
        _item(
            "Server- og tilgangslogger: loggene hos One.com inneholder IP-adresser og "
            "besøkte adresser. Noter hvor lenge de lagres; de kan ikke søkes etter navn "
            "eller e-postadresse, og slettes når lagringstiden går ut.",
            "Server and access logs: One.com's logs hold IP addresses and the pages "
            "visited. Note how long they are kept; they cannot be searched by name or "
            "e-mail address, and go when their retention period ends.",
        ),
        _item(
            "WordPress-databasen hos One.com dekkes av koblingene for WooCommerce og "
            "WordPress; sjekk bare at de stegene er fullført.",
            "The WordPress database at One.com is covered by the WooCommerce and WordPress "
            "connectors; only check that those steps are done.",
        ),
    ),
    "google_ads": (
        _item(
            "Google Ads-taggene gir oss ingen måte å finne eller slette én persons "
            "opplysninger hos Google på. Fortell personen at Google er selvstendig "
            "behandlingsansvarlig for dem, og vis til Googles egne verktøy: Mitt "
            "annonsesenter (myadcenter.google.com), Min aktivitet og "
            "https://policies.google.com/privacy.",
            "The Google Ads tags give us no way to find or erase one person's data at "
            "Google. Tell the person that Google is an independent controller of it, and "
            "point them to Google's own tools: My Ad Center (myadcenter.google.com), My "
            "Activity and https://policies.google.com/privacy.",
        ),
        _item(
            "Sjekk at personens samtykkevalg gjelder: Google Ads-taggene skal ikke lastes "
            "uten samtykke til markedsføring (Consent Mode v2).",
            "Check that the person's consent choice holds: the Google Ads tags must not "
            "load without consent to marketing (Consent Mode v2).",
        ),
        _item(
            "Customer Match: fjern personens e-postadresse og telefonnummer fra alle "
            "kundelister i Google Ads (Verktøy › Målgruppebehandler › kundelisten › Fjern "
            "kunder, eller OfflineUserDataJobService med remove-operasjoner), og sørg for "
            "at neste opplasting ikke tar med personen igjen.",
            "Customer Match: remove the person's e-mail address and phone number from every "
            "customer list in Google Ads (Tools › Audience manager › the list › Remove "
            "customers, or OfflineUserDataJobService with remove operations), and make sure "
            "the next upload does not add the person again.",
            when="customer_lists",
        ),
    ),
    "meta": (
        _item(
            "Meta-pikselen og Conversions API har ingen sletting av hendelser som alt er "
            "sendt. Fortell personen at vi og Meta er felles behandlingsansvarlige bare for "
            "innsamlingen og overføringen (EU-domstolen, C-40/17 Fashion ID), at Meta selv "
            "svarer for resten, og vis til https://www.facebook.com/privacy/policy og "
            "innstillingene for «Aktivitet utenfor Meta-teknologier».",
            "The Meta Pixel and the Conversions API cannot erase events already sent. Tell "
            "the person that we and Meta are joint controllers only for collecting and "
            "transmitting the data (CJEU C-40/17 Fashion ID), that Meta answers for the "
            "rest, and point them to https://www.facebook.com/privacy/policy and the "
            "“Your activity off Meta technologies” settings.",
        ),
        _item(
            "Sjekk at personens samtykkevalg gjelder: pikselen skal ikke lastes, og ingen "
            "hendelser sendes med Conversions API, uten samtykke til markedsføring.",
            "Check that the person's consent choice holds: the pixel must not load, and no "
            "events be sent through the Conversions API, without consent to marketing.",
        ),
        _item(
            "Egendefinerte målgrupper fra kundelister: fjern personen fra hver målgruppe "
            "(Annonseadministrator › Målgrupper, eller DELETE /{custom_audience_id}/users "
            "med EMAIL_SHA256), og sørg for at neste opplasting ikke tar med personen igjen. "
            "Meta bruker inntil 24 timer på endringen.",
            "Custom Audiences from customer lists: remove the person from every audience "
            "(Ads Manager › Audiences, or DELETE /{custom_audience_id}/users with "
            "EMAIL_SHA256), and make sure the next upload does not add the person again. "
            "Meta takes up to 24 hours to apply it.",
            when="customer_lists",
        ),
    ),
    # GA4 has no per-person export API: the shop looks the person up in its own property.
    "google_analytics": (
        _item(
            "Åpne egenskapen i Google Analytics og gå til Utforsk › ny utforskning, og velg "
            "teknikken «Brukerutforsker» (User explorer). Du må ha rollen Analytiker eller "
            "høyere.",
            "Open the property in Google Analytics, go to Explore › a new exploration, and "
            "choose the “User explorer” technique. You need the Analyst role or above.",
        ),
        _item(
            "Finn personen: filtrer på klient-ID-en fra personens _ga-informasjonskapsel (de "
            "to siste leddene: 1234567890.1700000000 i GA1.1.1234567890.1700000000), eller på "
            "bruker-ID lik personens kundenummer når butikken sender user_id for innloggede "
            "kunder. Google Analytics har verken navn eller e-postadresse; uten en av disse "
            "ID-ene finnes ingenting å søke på, og det skriver du i svaret (GDPR art. 11).",
            "Find the person: filter on the client id from the person's _ga cookie (its last "
            "two parts: 1234567890.1700000000 in GA1.1.1234567890.1700000000), or on user id "
            "= the person's customer number, when the shop sends user_id for signed-in "
            "customers. Google Analytics holds no name or e-mail address; without one of "
            "these ids there is nothing to search for, and you say so in the answer (GDPR "
            "Art. 11).",
        ),
        _item(
            "Åpne personens rad og eksporter tidslinjen med hendelser (Eksporter data, eller "
            "lagre siden som PDF), og legg den ved oppgaven. Det som er eldre enn egenskapens "
            "oppbevaringstid, er allerede slettet av Google.",
            "Open the person's row and export the timeline of events (Export data, or save "
            "the page as PDF), and attach it to this task. Anything older than the "
            "property's data-retention period has already been deleted by Google.",
        ),
    ),
}


class ManualSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    contact_email: EmailStr | None = None
    contact_url: str | None = None
    instructions: str | None = None
    # Names of checklists in CHECKLISTS (one name, or a list), or items of one's own.
    checklist: str | list[str | ChecklistItem] = []
    customer_lists: bool = False  # the shop uploads customer lists to the system

    def checklist_items(self) -> list[ChecklistItem]:
        """The items that apply, named checklists expanded, in the order given."""
        given = [self.checklist] if isinstance(self.checklist, str) else self.checklist
        out: list[ChecklistItem] = []
        for entry in given:
            if isinstance(entry, ChecklistItem):
                out.append(entry)
                continue
            if entry not in CHECKLISTS:
                raise ValueError(
                    f"there is no checklist named {entry!r}; use one of "
                    f"{', '.join(sorted(CHECKLISTS))} in the connector's checklist setting"
                )
            out.extend(CHECKLISTS[entry])
        flags = {"customer_lists": self.customer_lists}
        return [i for i in out if i.when is None or flags[i.when]]


def checklist(settings: Mapping[str, Any]) -> list[ChecklistItem]:
    """The checklist items of a system's connector settings (as the inventory gives them).

    Reads only ``checklist`` and ``customer_lists``, so any connector's settings may carry
    a checklist for the manual tasks made for it. Raises ValueError naming the fix.
    """
    wanted = {k: settings[k] for k in ("checklist", "customer_lists") if k in settings}
    if not wanted:
        return []
    try:
        return ManualSettings.model_validate(wanted).checklist_items()
    except ValidationError as exc:
        raise ValueError(
            f"the checklist settings are invalid: {exc}. Give checklist as the name of a "
            f"checklist ({', '.join(sorted(CHECKLISTS))}) or a list of names, and "
            "customer_lists as true or false"
        ) from None


def checklist_lines(items: Sequence[ChecklistItem], lang: str) -> list[str]:
    """The items as lines of a task's instructions, one box to tick each."""
    return [f"☐ {item.text(lang)}" for item in items]


class ManualConnector(Connector):
    name: ClassVar[str] = "manual"
    capabilities: ClassVar[frozenset[Capability]] = frozenset()
    Settings: ClassVar[type[BaseModel]] = ManualSettings

    async def check(self) -> None:
        """Nothing to reach: a person does the work."""
        return None
