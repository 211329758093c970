"""Choosing the reader's language: an explicit choice first, then the browser's, then bokmål."""

from __future__ import annotations

from personvern.i18n.catalogs import DEFAULT_LANGUAGE, Language, language


def negotiate(
    request_lang_param: str | None, cookie: str | None, accept_language: str | None
) -> Language:
    """The language to answer in: ``nb`` or ``en``.

    In order: the ``?lang=`` parameter (the reader just chose), the language cookie (they
    chose before), the ``Accept-Language`` header (RFC 9110 §12.5.4, by q-value), and
    bokmål. ``nb``, ``nn`` and ``no`` (with any region) all mean bokmål, since personvern
    has no nynorsk catalog and a nynorsk reader reads bokmål more easily than English.
    Values that name no language of ours are skipped, never an error.
    """
    for explicit in (request_lang_param, cookie):
        if explicit:
            try:
                return language(explicit)
            except ValueError:
                pass
    if accept_language:
        for tag in _by_preference(accept_language):
            try:
                return language(tag)
            except ValueError:
                continue
    return DEFAULT_LANGUAGE


def _by_preference(header: str) -> list[str]:
    """Language ranges of an ``Accept-Language`` header, most wanted first, q=0 dropped."""
    ranked: list[tuple[float, int, str]] = []
    for position, item in enumerate(header.split(",")[:32]):  # a bound against abuse
        parts = [p.strip() for p in item.split(";")]
        tag = parts[0]
        if not tag or tag == "*":
            continue
        quality = 1.0
        for param in parts[1:]:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if quality > 0:
            # Sort by quality, then keep the header's order among equals.
            ranked.append((-quality, position, tag))
    return [tag for _, _, tag in sorted(ranked)]
