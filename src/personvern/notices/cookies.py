"""The cookie declaration: every cookie and similar technology, one table per category.

Ekomloven § 3-15 (in force 1 January 2025) allows storing or reading information on a
user's device only with consent meeting the GDPR standard (Art. 4(11), Art. 7), unless it is
strictly necessary for a service the user asked for. The declaration tells, per cookie, its
name, provider, purpose, lifetime and whether it is first or third party, and offers a way
to change or withdraw consent as easily as it was given (Art. 7(3)): a button with
``data-personvern-open``, which the consent banner's script opens the settings from, and a
plain link to the consent settings page for readers without scripts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, get_args

from personvern.inventory.schema import Cookie, CookieCategory, Inventory
from personvern.notices.facts import DocumentFacts
from personvern.notices.markdown import code, md
from personvern.notices.vocabulary import Lang, Words

TEMPLATE = "cookies.{lang}.md.j2"
CATEGORIES: tuple[str, ...] = get_args(CookieCategory)


@dataclass(frozen=True)
class CookieFacts:
    label: str
    kind_label: str  # empty for a plain cookie
    provider: str
    purpose: str
    lifetime: str
    party: str


@dataclass(frozen=True)
class CategoryFacts:
    code: str
    name: str
    caption: str
    explain: str
    cookies: tuple[CookieFacts, ...]


def cookie_facts(cookie: Cookie, lang: Lang) -> CookieFacts:
    words = Words(lang)
    return CookieFacts(
        label=code(cookie.label),
        kind_label="" if cookie.kind == "cookie" else md(words.text("cookie_kind", cookie.kind)),
        provider=md(cookie.provider),
        purpose=md(cookie.purpose.get(lang)),
        lifetime=md(words.period(cookie.lifetime)),
        party=md(words.text("cookie_party", cookie.party)),
    )


def context(facts: DocumentFacts, inventory: Inventory) -> dict[str, Any]:
    """The four categories of the banner, in its order, each with its cookies."""
    words = Words(facts.lang)
    categories = [
        CategoryFacts(
            code=category,
            name=md(words.text("cookie_category", category, "name")),
            caption=md(words.text("cookie_category", category, "caption")),
            explain=md(words.text("cookie_category", category, "explain")),
            cookies=tuple(
                cookie_facts(c, facts.lang) for c in inventory.cookies if c.category == category
            ),
        )
        for category in CATEGORIES
    ]
    return {"categories": categories}
