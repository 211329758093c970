"""The connector conformance kit, unchanged, against a real WordPress through the bridge.

Each test gets a person of its own (a registered club member with comments, added by
``php/add-people.php``), so the kit's erasures do not meet. What the person has is worked
out by plain SQL (:meth:`WordPressSite.records_of`) and the snapshot reads the tables, so
neither trusts the connector.

The hold is on ``comments``: a complaint about a review kept for a legal claim (GDPR
Art. 17(3)(e)). Core's comment eraser anonymizes rather than deletes (deleting a comment
would rewrite the replies to it, which are other people's), so a comment is never
"deleted" in the kit's sense; held, it is simply left alone, and the rest of the person —
the account with its meta, the club membership and visits — is deleted.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pytest
from wordpress_kit_support import ConnectorConformance, snapshot
from wordpress_support import WordPressSite, connector_for

from personvern.connectors.base import Hold, Identity
from personvern.connectors.wordpress import WordPressConnector

COMMENTS_HOLD = Hold(
    "comments",
    ("comment_author", "comment_author_email", "comment_content"),
    "GDPR art. 17(3)(e): rettskrav (klage på en anmeldelse)",
    None,
)


@pytest.fixture
def person(wordpress_site: WordPressSite) -> Identity:
    return Identity(email=wordpress_site.add_person().email)


@pytest.fixture
def expected(wordpress_site: WordPressSite, person: Identity) -> set[tuple[str, str]]:
    assert person.email
    return wordpress_site.records_of(person.email)


@pytest.fixture(name="snapshot")
def site_snapshot(
    wordpress_site: WordPressSite,
) -> Callable[[], Mapping[str, Mapping[str, Any]]]:
    return lambda: snapshot(wordpress_site)


@pytest.fixture
def hold() -> Hold:
    return COMMENTS_HOLD


@pytest.fixture
async def bad_connector(wordpress_site: WordPressSite) -> Any:
    conn = connector_for(wordpress_site, wordpress_site.admin, "feil passord 1234")
    yield conn
    await conn.aclose()


class TestWordPressConformance(ConnectorConformance):
    """Every test of the kit, none overridden."""


def test_the_kit_sees_the_persons_account_club_and_comments(
    wordpress_site: WordPressSite,
) -> None:
    """The fixtures are not empty: a kit over nothing would prove nothing."""
    person = wordpress_site.add_person()
    mine = wordpress_site.records_of(person.email)
    assert {c for c, _ in mine} == {"user", "comments", "assemble-club", "assemble-club-visits"}
    now = snapshot(wordpress_site)
    assert all(key in now[collection] for collection, key in mine)


def test_the_connector_fixture_is_the_wordpress_one(connector: WordPressConnector) -> None:
    assert connector.name == "wordpress"
