"""The personvern bridge plugin and the wordpress connector, against a real WordPress.

Everything here goes over HTTP to PHP's built-in server running Debian's WordPress on
MariaDB (conftest.py, wordpress_support.py). What the connector should find is worked out
from the database by plain SQL; what erasure must not touch is checksummed before and
after. The conformance kit runs on the same site in
test_wordpress_conformance.py; what it cannot see is tested here: the plugins' own
erasers, paging, the bridge's answers and errors. The account step has its own module,
test_wordpress_accounts.py.

429/5xx/timeouts are mapped by the shared ``VendorApi`` and tested with it; PHP is not
made to fake them.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import httpx
import pytest
from wordpress_support import SitePerson, WordPressSite, connector_for

from personvern.connectors.base import (
    ErasurePlan,
    ErasureResult,
    Fatal,
    Hold,
    Identity,
    Retriable,
)
from personvern.connectors.registry import ConnectorRegistry
from personvern.connectors.wordpress import WordPressConnector

API = "/wp-json/personvern/v1"
NOBODY = Identity(email="ingen.slik.person@example.invalid")
HOLD = Hold("assemble-club", ("Kjøp",), "bokføringsloven § 13", date(date.today().year + 5, 12, 31))


def changes(result: ErasureResult) -> int:
    return sum(result.deleted.values()) + sum(result.anonymized.values())


def member(site: WordPressSite, index: int) -> SitePerson:
    """A registered person; each erasing test takes its own, so order does not matter."""
    person = site.people[index]
    assert person.registered
    return person


def guests(site: WordPressSite) -> list[SitePerson]:
    return [p for p in site.people if not p.registered]


def others_rows(site: WordPressSite, mine: set[tuple[str, str]]) -> dict[str, dict[str, Any]]:
    """Every stored row that is not ``mine``, leaving out the staff's user meta: signing in
    with an application password records its last use there (WordPress core does)."""
    staff = set(site.staff_ids)
    rows = site.rows()
    return {
        table: {
            key: row
            for key, row in by_key.items()
            if (table, key) not in mine and not (table == "usermeta" and row[1] in staff)
        }
        for table, by_key in rows.items()
    }


# --- check and access --------------------------------------------------------------------


async def test_check_passes(connector: WordPressConnector) -> None:
    await connector.check()


async def test_access_finds_profile_comments_and_the_club_plugins_data(
    connector: WordPressConnector, wordpress_site: WordPressSite
) -> None:
    person = member(wordpress_site, 0)
    result = await connector.access(Identity(email=person.email))
    found = [(r.collection, r.key) for r in result.records]
    assert len(found) == len(set(found)), "a record was returned twice"
    assert set(found) == wordpress_site.records_of(person.email)
    assert {c for c, _ in found} >= {"user", "comments", "assemble-club"}
    profile = next(r for r in result.records if r.collection == "user")
    assert profile.fields["User Email"] == person.email
    assert profile.fields["User First Name"] == person.first_name
    assert profile.fields["User Last Name"] == person.last_name
    comments = [r for r in result.records if r.collection == "comments"]
    assert len(comments) == person.comments  # the unapproved one too
    assert all(r.fields["Comment Author Email"] == person.email for r in comments)
    club = next(r for r in result.records if r.collection == "assemble-club")
    assert person.club is not None
    assert club.fields["Medlemsnummer"] == person.club["number"]
    assert any("Assemble kundeklubb (assemble-club)" in note for note in result.notes)


async def test_access_follows_an_exporter_over_many_pages(
    connector: WordPressConnector, wordpress_site: WordPressSite
) -> None:
    person = member(wordpress_site, 2)
    assert person.club is not None
    assert len(person.club["visits"]) == 3  # one page each, after the membership's page
    result = await connector.access(Identity(email=person.email))
    visits = {
        r.key: r.fields["Dato"] for r in result.records if r.collection == "assemble-club-visits"
    }
    assert sorted(visits.values()) == sorted(person.club["visits"])


async def test_access_finds_a_guest_by_their_comments(
    connector: WordPressConnector, wordpress_site: WordPressSite
) -> None:
    guest = guests(wordpress_site)[0]
    result = await connector.access(Identity(email=guest.email))
    assert {(r.collection, r.key) for r in result.records} == wordpress_site.records_of(guest.email)
    assert {r.collection for r in result.records} == {"comments"}


async def test_unknown_address_finds_nothing(connector: WordPressConnector) -> None:
    assert (await connector.access(NOBODY)).records == []


async def test_without_an_email_there_is_nothing_to_search(connector: WordPressConnector) -> None:
    result = await connector.access(Identity(phone="+4791234567"))
    assert result.records == []
    assert "e-mail" in result.notes[0]


# --- erase ----------------------------------------------------------------------------------


async def test_erase_runs_every_eraser_then_deletes_the_account(
    connector: WordPressConnector, wordpress_site: WordPressSite
) -> None:
    site, person = wordpress_site, member(wordpress_site, 1)
    uid = site.user_ids[person.email]
    mine = site.rows_of(person.email)
    comment_ids = [int(k) for t, k in mine if t == "comments"]
    before = others_rows(site, mine)

    first = await connector.erase(Identity(email=person.email), ErasurePlan("anonymize"))

    assert set(first.anonymized) == {"wordpress-comments", "assemble-club"}
    assert person.club is not None
    assert first.anonymized["assemble-club"] == 1 + len(person.club["visits"])
    assert first.deleted == {"user": 1}
    assert first.kept == ()
    assert any("bokføringsloven § 13" in n and "kept some data" in n for n in first.notes)
    assert "The user account was deleted" in first.notes
    # WordPress core's comment eraser: author "Anonymous", e-mail and URL emptied, IP masked.
    for author, email, url, ip, agent, user_id in site.query(
        "SELECT comment_author, comment_author_email, comment_author_url, comment_author_IP, "
        "comment_agent, user_id FROM wp_comments WHERE comment_ID IN %s",
        comment_ids,
    ):
        assert (author, email, url, agent, user_id) == ("Anonymous", "", "", "", 0)
        assert ip.endswith(".0")
    assert site.query("SELECT ID FROM wp_users WHERE ID = %s", uid) == []
    assert site.query("SELECT umeta_id FROM wp_usermeta WHERE user_id = %s", uid) == []
    # The purchases the club plugin kept went with the account's meta; the plugin saved
    # them on delete_user, which wp_delete_user() fires as Users → Delete does.
    ((archive,),) = site.query(
        "SELECT option_value FROM wp_options WHERE option_name = 'assemble_club_archive'"
    )
    assert all(purchase in archive for purchase in person.club["purchases"])
    assert others_rows(site, mine) == before, "erasure changed someone else's data"

    assert (await connector.access(Identity(email=person.email))).records == []
    second = await connector.erase(Identity(email=person.email), ErasurePlan("delete"))
    assert changes(second) == 0, f"a second erasure changed something: {second}"


async def test_erasing_a_guest_leaves_nothing_to_find(
    connector: WordPressConnector, wordpress_site: WordPressSite
) -> None:
    guest = guests(wordpress_site)[1]
    result = await connector.erase(Identity(email=guest.email), ErasurePlan("anonymize"))
    assert result.anonymized == {"wordpress-comments": 1}  # core says "some", not how many
    assert (await connector.access(Identity(email=guest.email))).records == []


async def test_erasing_nobody_changes_nothing(
    connector: WordPressConnector, wordpress_site: WordPressSite
) -> None:
    before = others_rows(wordpress_site, set())
    result = await connector.erase(NOBODY, ErasurePlan("delete"))
    assert changes(result) == 0
    assert result.kept == ()
    assert others_rows(wordpress_site, set()) == before


async def test_a_hold_keeps_its_erasers_data_and_is_reported(
    connector: WordPressConnector, wordpress_site: WordPressSite
) -> None:
    """The club keeps its data on the account (user meta), so the account stays too."""
    person = member(wordpress_site, 4)
    result = await connector.erase(Identity(email=person.email), ErasurePlan("anonymize", (HOLD,)))
    assert result.kept == (HOLD,)
    assert set(result.anonymized) == {"wordpress-comments"}
    assert result.deleted == {}
    assert any("(assemble-club) was not run" in n for n in result.notes)
    assert any("account, if there is one, was kept" in n for n in result.notes)
    left = await connector.access(Identity(email=person.email))
    assert {r.collection for r in left.records} >= {"assemble-club", "user"}
    assert "comments" not in {r.collection for r in left.records}


async def test_a_hold_naming_no_eraser_is_fatal_and_names_the_erasers(
    connector: WordPressConnector, wordpress_site: WordPressSite
) -> None:
    person = member(wordpress_site, 5)
    before = others_rows(wordpress_site, set())
    wrong = Hold("orders", ("total",), "bokføringsloven § 13", None)
    with pytest.raises(Fatal, match="wordpress-comments, assemble-club") as caught:
        await connector.erase(Identity(email=person.email), ErasurePlan("anonymize", (wrong,)))
    assert "'orders'" in str(caught.value)
    assert others_rows(wordpress_site, set()) == before, "nothing is erased when a hold is wrong"


async def test_a_failing_plugin_is_named_and_worth_retrying(
    connector: WordPressConnector,
) -> None:
    """A plugin's WP_Error or a malformed answer is a 500 naming it (the club plugin fails
    for this address); the executor may try again later."""
    broken = Identity(email="broken@example.org")
    with pytest.raises(Retriable, match="'assemble-club' failed: Kundeklubbens database"):
        await connector.access(broken)
    with pytest.raises(Retriable, match="'assemble-club' failed: its answer has no items_removed"):
        await connector.erase(broken, ErasurePlan("anonymize"))


# --- credentials, capabilities, a site without the plugin --------------------------------


async def test_bad_credentials_are_fatal_and_never_repeated(wordpress_site: WordPressSite) -> None:
    conn = connector_for(wordpress_site, wordpress_site.admin, "feil passord 1234")
    try:
        with pytest.raises(Fatal, match="HTTP 401") as caught:
            await conn.check()
        assert "feil passord" not in str(caught.value)
        with pytest.raises(Fatal, match="HTTP 401"):
            await conn.access(NOBODY)
    finally:
        await conn.aclose()


async def test_a_user_without_the_capability_is_told_what_is_missing(
    wordpress_site: WordPressSite,
) -> None:
    conn = connector_for(wordpress_site, wordpress_site.editor, wordpress_site.editor_password)
    try:
        with pytest.raises(Fatal, match="HTTP 403") as caught:
            await conn.check()
        assert "export_others_personal_data" in str(caught.value)
        assert "administrator" in str(caught.value)
        with pytest.raises(Fatal, match="erase_others_personal_data"):
            await conn.erase(NOBODY, ErasurePlan("anonymize"))
    finally:
        await conn.aclose()


@pytest.fixture
def without_bridge(wordpress_site: WordPressSite) -> Any:
    """The same site with the bridge deactivated (the active_plugins option), then restored."""
    (active,) = wordpress_site.query(
        "SELECT option_value FROM wp_options WHERE option_name = 'active_plugins'"
    )[0]
    wordpress_site.query(
        "UPDATE wp_options SET option_value = %s WHERE option_name = 'active_plugins'",
        'a:1:{i:0;s:24:"personvern-test-club.php";}',
    )
    yield
    wordpress_site.query(
        "UPDATE wp_options SET option_value = %s WHERE option_name = 'active_plugins'", active
    )


@pytest.mark.usefixtures("without_bridge")
async def test_a_site_without_the_plugin_says_to_install_it(
    connector: WordPressConnector,
) -> None:
    with pytest.raises(Fatal, match="install the personvern-bridge plugin"):
        await connector.check()
    with pytest.raises(Fatal, match="has no personvern bridge"):
        await connector.access(NOBODY)


async def test_an_address_without_wordpress_says_what_to_check(
    wordpress_site: WordPressSite,
) -> None:
    url = f"{wordpress_site.url}/ingen-wordpress-her"
    conn = connector_for(
        wordpress_site, wordpress_site.admin, wordpress_site.admin_password, url=url
    )
    try:
        with pytest.raises(
            Fatal, match=r"no WordPress REST API at .*/ingen-wordpress-her/wp-json/"
        ):
            await conn.check()
    finally:
        await conn.aclose()


# --- the plugin's own answers ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("route", "params", "code", "says"),
    [
        (
            "export",
            {"email": "ikke-en-adresse", "exporter": "wordpress-user"},
            "personvern_invalid_email",
            "'ikke-en-adresse' is not one",
        ),
        ("export", {"exporter": "wordpress-user"}, "personvern_invalid_email", "an empty value"),
        (
            "export",
            {"email": "a@example.org", "exporter": "nope"},
            "personvern_unknown_exporter",
            "wordpress-user, wordpress-comments",
        ),
        (
            "export",
            {"email": "a@example.org"},
            "personvern_unknown_exporter",
            "the parameter is missing",
        ),
        (
            "export",
            {"email": "a@example.org", "exporter": "wordpress-user", "page": 0},
            "personvern_invalid_page",
            "start at 1",
        ),
        (
            "erase",
            {"email": "a@example.org", "eraser": "wordpress-user"},
            "personvern_unknown_eraser",
            "wordpress-comments, assemble-club",
        ),
        (
            "erase",
            {"email": "a@example.org", "eraser": "assemble-club", "page": "to"},
            "personvern_invalid_page",
            "whole number",
        ),
        ("delete-account", {"email": "ikke@"}, "personvern_invalid_email", "'ikke@' is not"),
    ],
)
def test_the_plugin_rejects_bad_input_with_a_clear_400(
    wordpress_site: WordPressSite, route: str, params: dict[str, Any], code: str, says: str
) -> None:
    auth = (wordpress_site.admin, wordpress_site.admin_password)
    response = httpx.post(f"{wordpress_site.url}{API}/{route}", json=params, auth=auth, timeout=30)
    assert response.status_code == 400
    assert response.json()["code"] == code
    assert says in response.json()["message"]


@pytest.mark.parametrize(
    "route", ["exporters", "erasers", "export?email=a@example.org&exporter=wordpress-user"]
)
def test_the_plugin_gives_nothing_without_credentials(
    wordpress_site: WordPressSite, route: str
) -> None:
    response = httpx.get(f"{wordpress_site.url}{API}/{route}", timeout=30)
    assert response.status_code == 401
    assert "application password" in response.json()["message"]
    assert "data" not in response.json() or response.json()["data"] == {"status": 401}


def test_the_plugin_exports_by_get_as_well(wordpress_site: WordPressSite) -> None:
    person = member(wordpress_site, 0)
    response = httpx.get(
        f"{wordpress_site.url}{API}/export",
        params={"email": person.email, "exporter": "wordpress-user", "page": 1},
        auth=(wordpress_site.admin, wordpress_site.admin_password),
        timeout=30,
    )
    assert response.status_code == 200
    body = response.json()
    assert body["done"] is True
    assert [item["group_id"] for item in body["data"]] == ["user"]


def test_the_plugin_refuses_erasure_by_get(wordpress_site: WordPressSite) -> None:
    response = httpx.get(
        f"{wordpress_site.url}{API}/erase",
        params={"email": "a@example.org", "eraser": "assemble-club"},
        auth=(wordpress_site.admin, wordpress_site.admin_password),
        timeout=30,
    )
    assert response.status_code == 404
    assert response.json()["code"] == "rest_no_route"


# --- how the inventory builds it ---------------------------------------------------------------


async def test_the_registry_builds_it_from_the_inventorys_settings(
    wordpress_site: WordPressSite,
) -> None:
    conn = ConnectorRegistry.from_entry_points().build(
        "wordpress",
        {
            "url": wordpress_site.url + "/",
            "username_env": "WORDPRESS_USERNAME",
            "application_password_env": "WORDPRESS_APPLICATION_PASSWORD",
        },
        {
            "WORDPRESS_USERNAME": wordpress_site.admin,
            "WORDPRESS_APPLICATION_PASSWORD": wordpress_site.admin_password,
        },
    )
    try:
        assert isinstance(conn, WordPressConnector)
        assert wordpress_site.admin_password not in repr(conn.settings)
        await conn.check()
    finally:
        await conn.aclose()


def test_the_bridge_caused_no_php_warnings(wordpress_site: WordPressSite) -> None:
    """Last in the module: WordPress's debug log has nothing from the bridge's code."""
    assert wordpress_site.php_problems() == []
