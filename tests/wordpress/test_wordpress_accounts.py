"""The account step of an erasure, and how holds decide it, against a real WordPress.

WordPress core has no eraser for accounts; the bridge's ``POST …/delete-account`` deletes
the account of the address with ``wp_delete_user()`` after the erasers ran, its posts given
to another user. Every test takes people of its own (``WordPressSite.add_person``).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import httpx
import pytest
from wordpress_support import WordPressSite, connector_for

from personvern.connectors.base import ErasurePlan, ErasureResult, Fatal, Hold, Identity
from personvern.connectors.wordpress import PROFILE_FIELDS, WordPressConnector

API = "/wp-json/personvern/v1"
UNTIL = date(date.today().year + 5, 12, 31)


def changes(result: ErasureResult) -> int:
    return sum(result.deleted.values()) + sum(result.anonymized.values())


def has_account(site: WordPressSite, email: str) -> bool:
    return bool(site.query("SELECT ID FROM wp_users WHERE user_email = %s", email))


def post_of(site: WordPressSite, title: str) -> tuple[int, str]:
    ((author, content),) = site.query(
        "SELECT post_author, post_content FROM wp_posts WHERE post_title = %s", title
    )
    return int(author), content


async def test_a_hold_on_the_profile_keeps_the_account_and_the_erasers_still_run(
    connector: WordPressConnector, wordpress_site: WordPressSite
) -> None:
    person = wordpress_site.add_person()
    hold = Hold("user", PROFILE_FIELDS, "en tvist om kontoen", UNTIL)
    result = await connector.erase(Identity(email=person.email), ErasurePlan("delete", (hold,)))
    assert result.kept == (hold,)
    assert result.deleted == {}
    assert set(result.anonymized) == {"wordpress-comments", "assemble-club"}
    assert has_account(wordpress_site, person.email)
    left = await connector.access(Identity(email=person.email))
    assert {r.collection for r in left.records} == {"user"}


@pytest.mark.parametrize(
    ("name", "skipped", "account_kept"),
    [
        # core's collection: comments live in wp_comments, so the account may go
        ("comments", "wordpress-comments", False),
        # an eraser id, with _ for - as the inventory's holds syntax needs
        ("wordpress_comments", "wordpress-comments", False),
        # a plugin's eraser: its data may be user meta, so the account stays
        ("assemble_club", "assemble-club", True),
        ("assemble-club", "assemble-club", True),
    ],
)
async def test_a_hold_skips_the_eraser_behind_its_collection(
    connector: WordPressConnector,
    wordpress_site: WordPressSite,
    name: str,
    skipped: str,
    account_kept: bool,
) -> None:
    person = wordpress_site.add_person()
    hold = Hold(name, ("x",), "bokføringsloven § 13", UNTIL)
    result = await connector.erase(Identity(email=person.email), ErasurePlan("anonymize", (hold,)))
    assert hold in result.kept
    assert skipped not in result.anonymized
    assert any(f"({skipped}) was not run" in n for n in result.notes)
    assert has_account(wordpress_site, person.email) is account_kept
    assert result.deleted == ({} if account_kept else {"user": 1})


@pytest.mark.parametrize(
    ("name", "says"),
    [
        # a plugin's collection whose name is not its eraser's: name the eraser instead
        ("assemble-club-visits", "the erasers wordpress-comments, assemble-club (with _ for -)"),
        # WooCommerce's collection, on a site without WooCommerce
        ("woocommerce_orders", "user, community-events-location, session-tokens, comments"),
    ],
)
async def test_a_hold_naming_no_collection_or_eraser_is_fatal_before_anything_is_erased(
    connector: WordPressConnector, wordpress_site: WordPressSite, name: str, says: str
) -> None:
    person = wordpress_site.add_person()
    mine = wordpress_site.records_of(person.email)
    hold = Hold(name, ("x",), "bokføringsloven § 13", UNTIL)
    with pytest.raises(Fatal, match=f"names '{name}'") as caught:
        await connector.erase(Identity(email=person.email), ErasurePlan("anonymize", (hold,)))
    assert says in str(caught.value)
    assert wordpress_site.records_of(person.email) == mine


async def test_an_administrators_account_is_kept_and_reported_with_the_reason(
    connector: WordPressConnector, wordpress_site: WordPressSite
) -> None:
    person = wordpress_site.add_person(role="administrator")
    result = await connector.erase(Identity(email=person.email), ErasurePlan("delete"))
    assert result.deleted == {}
    assert "wordpress-comments" in result.anonymized  # the erasers ran
    ((why,),) = [(h.ground,) for h in result.kept]
    assert "administrator" in why
    assert result.kept[0].collection == "user"
    assert any("The user account was kept" in n and "Users" in n for n in result.notes)
    assert has_account(wordpress_site, person.email)
    again = await connector.erase(Identity(email=person.email), ErasurePlan("delete"))
    assert changes(again) == 0


async def test_the_account_personvern_signs_in_with_is_kept(
    connector: WordPressConnector, wordpress_site: WordPressSite
) -> None:
    result = await connector.erase(Identity(email="admin@example.org"), ErasurePlan("delete"))
    assert changes(result) == 0
    assert "signs in with" in result.kept[0].ground
    await connector.check()  # still signed in


async def test_posts_go_to_the_signed_in_user_and_are_never_deleted(
    connector: WordPressConnector, wordpress_site: WordPressSite
) -> None:
    person = wordpress_site.add_person(posts=("Stolen jeg pusset opp",))
    before = post_of(wordpress_site, "Stolen jeg pusset opp")
    result = await connector.erase(Identity(email=person.email), ErasurePlan("delete"))
    assert result.deleted == {"user": 1}
    assert "The user account was deleted; its posts (1) now belong to admin" in result.notes
    admin_id, _ = wordpress_site.staff_ids
    assert post_of(wordpress_site, "Stolen jeg pusset opp") == (admin_id, before[1])


async def test_posts_go_to_the_user_the_setting_names(wordpress_site: WordPressSite) -> None:
    person = wordpress_site.add_person(posts=("Bordet i stua",))
    conn = connector_for(
        wordpress_site,
        wordpress_site.admin,
        wordpress_site.admin_password,
        reassign_posts_to=wordpress_site.editor,
    )
    try:
        result = await conn.erase(Identity(email=person.email), ErasurePlan("delete"))
    finally:
        await conn.aclose()
    assert result.deleted == {"user": 1}
    _, editor_id = wordpress_site.staff_ids
    assert post_of(wordpress_site, "Bordet i stua")[0] == editor_id


async def test_an_heir_who_does_not_exist_is_fatal_and_keeps_the_account(
    wordpress_site: WordPressSite,
) -> None:
    person = wordpress_site.add_person(posts=("Lampen",))
    conn = connector_for(
        wordpress_site,
        wordpress_site.admin,
        wordpress_site.admin_password,
        reassign_posts_to="ingen-slik-bruker",
    )
    try:
        with pytest.raises(Fatal, match="HTTP 400") as caught:
            await conn.erase(Identity(email=person.email), ErasurePlan("delete"))
    finally:
        await conn.aclose()
    assert "reassign_posts_to" in str(caught.value)
    assert has_account(wordpress_site, person.email)
    assert post_of(wordpress_site, "Lampen")[1]  # the post is still there


def test_the_plugin_deletes_no_account_without_credentials_or_by_get(
    wordpress_site: WordPressSite,
) -> None:
    person = wordpress_site.add_person(club=False)
    url = f"{wordpress_site.url}{API}/delete-account"
    assert httpx.post(url, json={"email": person.email}, timeout=30).status_code == 401
    editor = (wordpress_site.editor, wordpress_site.editor_password)
    denied = httpx.post(url, json={"email": person.email}, auth=editor, timeout=30)
    assert denied.status_code == 403
    assert "delete_users" in denied.json()["message"]
    admin = (wordpress_site.admin, wordpress_site.admin_password)
    by_get = httpx.get(url, params={"email": person.email}, auth=admin, timeout=30)
    assert by_get.status_code == 404
    assert has_account(wordpress_site, person.email)


@pytest.fixture
def bridge_without_account_step(wordpress_site: WordPressSite) -> Iterator[None]:
    """The site as with bridge 0.1, which had no delete-account route (a must-use plugin
    takes the route away), then as it was."""
    mu = wordpress_site.root / "wp-content" / "mu-plugins"
    mu.mkdir(exist_ok=True)
    plugin = mu / "personvern-test-old-bridge.php"
    plugin.write_text(
        "<?php\nadd_filter( 'rest_endpoints', static function ( $endpoints ) {\n"
        "\tunset( $endpoints['/personvern/v1/delete-account'] );\n\treturn $endpoints;\n} );\n"
    )
    yield
    plugin.unlink()


@pytest.mark.usefixtures("bridge_without_account_step")
async def test_check_says_to_update_a_bridge_that_cannot_delete_accounts(
    connector: WordPressConnector,
) -> None:
    with pytest.raises(Fatal, match=r"cannot delete accounts .* update the personvern-bridge"):
        await connector.check()
