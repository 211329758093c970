"""Bokmål and English for everything a shop owner or a customer reads.

The API other capabilities use::

    from personvern.i18n import N_, negotiate, translator

    tr = translator(negotiate(request_lang_param, cookie, accept_language))
    tr.gettext("Sign in")            # "Logg inn"
    tr.ngettext("%(num)d cookie", "%(num)d cookies", n) % {"num": n}

Templates get the same texts through :func:`personvern.i18n.jinja.environment`. Words for
the inventory's codes (roles, legal bases…) are in :mod:`personvern.i18n.terms`.
"""

from personvern.i18n.catalogs import (
    DEFAULT_LANGUAGE,
    LANGUAGES,
    N_,
    Language,
    Translator,
    language,
    translator,
)
from personvern.i18n.negotiate import negotiate

__all__ = [
    "DEFAULT_LANGUAGE",
    "LANGUAGES",
    "N_",
    "Language",
    "Translator",
    "language",
    "negotiate",
    "translator",
]
