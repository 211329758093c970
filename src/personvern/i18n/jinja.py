"""Jinja2 environments that speak one language each, for every capability that renders HTML."""

from __future__ import annotations

from jinja2 import BaseLoader, Environment, StrictUndefined, select_autoescape

from personvern.i18n.catalogs import Translator


def environment(loader: BaseLoader, translator: Translator) -> Environment:
    """A Jinja2 environment with the i18n extension bound to ``translator``.

    One environment per language rather than one switched per request: the callables
    installed are plain functions of an immutable translator, so rendering needs no
    request-local state and two requests in two languages cannot mix texts.

    ``trimmed`` collapses whitespace inside ``{% trans %}`` blocks; ``babel.cfg`` extracts
    with the same policy so the msgids match. Newstyle gettext does the ``%(name)s``
    formatting and autoescaping of values: ``{{ _("Signed in as %(email)s", email=e) }}``.
    """
    env = Environment(
        loader=loader,
        autoescape=select_autoescape(["html", "xml"]),
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
    )
    env.policies["ext.i18n.trimmed"] = True
    env.install_gettext_callables(  # type: ignore[attr-defined]  # added by the i18n extension
        translator.gettext, translator.ngettext, newstyle=True
    )
    env.globals["lang"] = translator.lang
    env.globals["translator"] = translator
    return env
