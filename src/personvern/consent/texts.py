"""What the banner says, in bokmål and English.

The words follow the EDPB Cookie Banner Taskforce report (January 2023) and Datatilsynet's
advice ("Råd for analyse og sporing på nettsted", 2023): the first layer offers accept,
reject and settings as equal buttons; it says what the cookies are for and that consent can
be withdrawn as easily as it was given (GDPR Art. 7(3), which asks that people are told so
before they consent); "necessary" is used only for what ekomloven § 3-15 second paragraph
exempts. Every text is an English msgid translated with the gettext catalogs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from babel.lists import format_list

from personvern.i18n import N_, Translator

# What each category does, shown under its name in the settings layer.
CATEGORY_DESCRIPTION: Mapping[str, str] = {
    "necessary": N_(
        "Needed for the website to work, such as the shopping cart, signing in and "
        "remembering the choices you make here. They cannot be turned off."
    ),
    "preferences": N_("Remember your settings, such as language or region, between visits."),
    "analytics": N_(
        "Let us count visits and see how the website is used, so that we can improve it."
    ),
    "marketing": N_(
        "Let us and our advertising partners show you relevant ads and measure how well "
        "they work, also on other websites."
    ),
}

# The same purposes as words in a sentence ("… cookies for statistics and marketing").
CATEGORY_PURPOSE: Mapping[str, str] = {
    "preferences": N_("remembering your settings"),
    "analytics": N_("statistics"),
    "marketing": N_("marketing"),
}


def banner_texts(tr: Translator, consentable: Sequence[str]) -> dict[str, str]:
    """The banner's fixed texts in ``tr``'s language, for a site asking for ``consentable``."""
    purposes = format_list(
        [tr.gettext(CATEGORY_PURPOSE[key]) for key in consentable], locale=tr.lang
    )
    if consentable:
        body = tr.gettext(
            "Necessary cookies make the website work. With your consent, we and our partners "
            "also use cookies for %(purposes)s. None of these are set until you choose. You "
            "can change or withdraw your consent at any time, as easily as you gave it."
        ) % {"purposes": purposes}
    else:
        body = tr.gettext("This website uses only the cookies it needs to work.")
    return {
        "title": tr.gettext("We use cookies"),
        "body": body,
        "accept": tr.gettext("Accept all"),
        "reject": tr.gettext("Reject all"),
        "settings": tr.gettext("Settings"),
        "save": tr.gettext("Save choices"),
        "close": tr.gettext("Close"),
        "heading": tr.gettext("Choose which cookies we may use"),
        "on": tr.gettext("Always on"),
        "list": tr.gettext("Show the cookies"),
        "declaration": tr.gettext("Read the cookie declaration"),
        "receipt": tr.gettext("See your consent receipt"),
        "reopen": tr.gettext("Cookie settings"),
        "gpc": tr.gettext(
            "Your browser sends the Global Privacy Control signal, so marketing stays off "
            "unless you turn it on yourself."
        ),
    }
