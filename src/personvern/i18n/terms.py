"""The inventory's codes in words: roles, legal bases, transfer mechanisms, cookie categories.

One table per field of :mod:`personvern.inventory.schema`, so the dashboard, the notices and
the privacy center call a processor "Databehandler" in the same words. Values are English
msgids marked with ``N_`` and translated when shown, with :func:`label`.
"""

from __future__ import annotations

from collections.abc import Mapping

from babel import Locale
from babel.lists import format_list

from personvern.i18n.catalogs import N_, Translator
from personvern.inventory.durations import Period

SYSTEM_KIND: Mapping[str, str] = {
    "internal": N_("Internal"),
    "vendor": N_("Vendor"),
}

# GDPR Art. 4(7) controller, Art. 4(8) processor, Art. 26 joint controllers.
ROLE: Mapping[str, str] = {
    "controller": N_("Controller"),
    "processor": N_("Processor"),
    "independent_controller": N_("Independent controller"),
    "joint_controller": N_("Joint controller"),
}

# GDPR Art. 6(1)(a)–(f).
LEGAL_BASIS: Mapping[str, str] = {
    "a": N_("Consent"),
    "b": N_("Contract"),
    "c": N_("Legal obligation"),
    "d": N_("Vital interests"),
    "e": N_("Public interest or official authority"),
    "f": N_("Legitimate interests"),
}

# GDPR Chapter V: Art. 45 adequacy, Decision (EU) 2023/1795 (DPF), Art. 46(2)(c) SCC,
# Art. 47 BCR, Art. 49 derogations.
TRANSFER: Mapping[str, str] = {
    "adequacy": N_("Adequacy decision"),
    "dpf": N_("EU–US Data Privacy Framework"),
    "scc": N_("Standard contractual clauses"),
    "bcr": N_("Binding corporate rules"),
    "derogation": N_("Derogation for a specific situation (Art. 49)"),
}

COOKIE_CATEGORY: Mapping[str, str] = {
    "necessary": N_("Necessary"),
    "preferences": N_("Preferences"),
    "analytics": N_("Analytics"),
    "marketing": N_("Marketing"),
}

COUNTED_FROM: Mapping[str, str] = {
    "created": N_("from creation"),
    "last_activity": N_("from the last activity"),
    "order_completed": N_("from the completed order"),
    "end_of_accounting_year": N_("from the end of the accounting year"),
    "consent_given": N_("from when consent was given"),
    "consent_withdrawn": N_("from when consent was withdrawn"),
    "unsubscribed": N_("from unsubscribing"),
    "case_closed": N_("from when the case was closed"),
    "account_closed": N_("from when the account was closed"),
}

RETENTION_ACTION: Mapping[str, str] = {
    "delete": N_("Deleted"),
    "anonymize": N_("Anonymized"),
}

ADMIN_ROLE: Mapping[str, str] = {
    "admin": N_("Administrator"),
    "viewer": N_("Viewer"),
}


def label(tr: Translator, table: Mapping[str, str], code: str) -> str:
    """``code`` in words in the translator's language; an unknown code is shown as it is."""
    text = table.get(code)
    return tr.gettext(text) if text is not None else code


def country(tr: Translator, code: str) -> str:
    """An ISO 3166-1 code as the country's name (``US`` → ``USA``/``United States``)."""
    return str(Locale.parse(tr.lang).territories.get(code.upper(), code))


def period(tr: Translator, value: Period | None) -> str:
    """A lifetime or retention period in words (``2 år og 6 måneder``)."""
    if value is None:
        return tr.gettext("No fixed period")
    if value.session:
        return tr.gettext("Until the browser is closed")
    hours, rest = divmod(value.seconds, 3600)
    # Each unit spelled out so the extractor sees every singular/plural pair.
    units = (
        (value.years, tr.ngettext("%(num)d year", "%(num)d years", value.years)),
        (value.months, tr.ngettext("%(num)d month", "%(num)d months", value.months)),
        (value.days, tr.ngettext("%(num)d day", "%(num)d days", value.days)),
        (hours, tr.ngettext("%(num)d hour", "%(num)d hours", hours)),
        (rest // 60, tr.ngettext("%(num)d minute", "%(num)d minutes", rest // 60)),
    )
    parts = [text % {"num": n} for n, text in units if n]
    if not parts:
        return tr.gettext("At once")
    return format_list(parts, locale=tr.lang)
