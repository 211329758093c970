"""The banner in real Chromium, on a test shop page with tracker fixtures.

What the issue's "done when" asks, one test each: nothing of the tracker runs and no
tracker cookie is set before a choice or after "Avvis alle"; it runs after "Godta alle" or
after its category is granted; Google Consent Mode's default comes before any Google tag
and an update follows every choice; GPC keeps marketing off; every control works from the
keyboard alone; a new policy version asks again; withdrawal deletes the category's
cookies; each choice has its record and receipt on the server. Screenshots of both layers
in nb and en go to ``tests/consent/screenshots/``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from consent_support import entries

from personvern.runtime import Runtime
from personvern.store.tables import PolicyVersion

SHOTS = Path(__file__).resolve().parent / "screenshots"
GPC = "Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', {get: () => true})"


@pytest.fixture
def shop(site: Any, live_server: Any) -> Any:
    site.personvern = live_server.url
    return site


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1024, "height": 720})
    try:
        yield context.new_page()
    finally:
        context.close()


def visit(page: Any, shop: Any, path: str = "/") -> None:
    page.goto(shop.origin + path)
    page.wait_for_function("window.personvern && window.personvern.consent() !== undefined")


def cookies(page: Any) -> set[str]:
    return {c["name"] for c in page.context.cookies()}


def consent_calls(page: Any) -> list[list[Any]]:
    """Every entry of ``dataLayer`` as a plain list: ``["consent", "default", {...}]``."""
    raw = page.evaluate(
        "JSON.stringify(window.dataLayer.map(e => e.length !== undefined && typeof e !== "
        "'string' ? Array.from(e) : e))"
    )
    return [entry for entry in json.loads(raw) if isinstance(entry, list)]


def wait_for_entries(runtime: Runtime, count: int, page: Any) -> list[Any]:
    for _ in range(100):
        rows = entries(runtime)
        if len(rows) >= count:
            return rows
        page.wait_for_timeout(50)
    raise AssertionError(f"expected {count} consent entries, found {len(entries(runtime))}")


def shot(page: Any, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))


def test_nothing_runs_before_a_choice_and_default_comes_first(page: Any, shop: Any) -> None:
    visit(page, shop)
    banner = page.get_by_role("dialog", name="Vi bruker informasjonskapsler")
    banner.wait_for()
    assert page.evaluate("window.trackerRan") is None
    assert page.evaluate("window.marketingRan") is None
    assert not cookies(page) & {"_ga", "_ga_TEST", "_fbp"}
    calls = consent_calls(page)
    first = calls[0]
    assert first[:2] == ["consent", "default"]
    for key in ("ad_storage", "ad_user_data", "ad_personalization", "analytics_storage"):
        assert first[2][key] == "denied"
    assert first[2]["functionality_storage"] == "denied"
    assert first[2]["security_storage"] == "granted"
    google = calls.index(["config", "G-TEST"])
    assert google > 0, "the consent default must come before the Google tag"
    # Equal weight: the three first-layer choices look the same.
    buttons = banner.get_by_role("button")
    assert buttons.all_inner_texts() == ["Godta alle", "Avvis alle", "Innstillinger"]
    styles = [
        b.evaluate("e => [getComputedStyle(e).backgroundColor, getComputedStyle(e).fontSize]")
        for b in buttons.all()
    ]
    assert len({tuple(s) for s in styles}) == 1
    shot(page, "first-layer-nb")


def test_reject_all_keeps_the_tracker_out(page: Any, shop: Any, runtime: Runtime) -> None:
    visit(page, shop)
    page.get_by_role("button", name="Avvis alle").click()
    [row] = wait_for_entries(runtime, 1, page)
    assert row.method == "reject_all"
    assert row.granted == ""
    assert page.evaluate("window.trackerRan") is None
    assert not cookies(page) & {"_ga", "_ga_TEST", "_fbp"}
    update = [c for c in consent_calls(page) if c[:2] == ["consent", "update"]][-1]
    assert update[2]["analytics_storage"] == "denied"
    assert update[2]["ad_storage"] == "denied"
    page.reload()
    page.wait_for_function("window.personvern.consent() !== undefined")
    assert page.get_by_role("dialog").count() == 0, "a choice made is not asked again"
    assert page.evaluate("window.trackerRan") is None
    receipt = page.request.get(f"{shop.personvern}/api/v1/consents/{row.consent_id}").json()
    assert receipt["status"] == "refused"


def test_accept_all_runs_the_tracker_and_records_it(page: Any, shop: Any, runtime: Runtime) -> None:
    visit(page, shop)
    page.get_by_role("button", name="Godta alle").click()
    page.wait_for_function("window.trackerRan === 1 && window.marketingRan === 1")
    assert {"_ga", "_ga_TEST", "_fbp"} <= cookies(page)
    calls = consent_calls(page)
    default = calls.index(next(c for c in calls if c[:2] == ["consent", "default"]))
    update = next(i for i, c in enumerate(calls) if c[:2] == ["consent", "update"])
    assert default < update
    assert calls[update][2]["analytics_storage"] == "granted"
    assert calls[update][2]["ad_user_data"] == "granted"
    [row] = wait_for_entries(runtime, 1, page)
    assert row.method == "accept_all"
    assert row.granted == "analytics,marketing"
    assert row.site == shop.origin
    assert row.language == "nb"
    assert row.page == "/"
    # Headless Chromium says "HeadlessChrome", which the log files as an automated browser.
    assert row.ua_family == "Bot"
    assert row.ip_prefix == "127.0.0.0/24"
    stored = next(c for c in page.context.cookies() if c["name"] == "personvern_consent")
    assert stored["value"].startswith(row.consent_id)
    # The next page: consent applies at once, no banner.
    page.goto(shop.origin + "/produkter")
    page.wait_for_function("window.trackerRan === 1")
    assert page.get_by_role("dialog").count() == 0


def test_granting_one_category_in_the_settings(page: Any, shop: Any, runtime: Runtime) -> None:
    visit(page, shop)
    page.get_by_role("button", name="Innstillinger").click()
    settings = page.get_by_role("dialog", name="Velg hvilke informasjonskapsler vi kan bruke")
    settings.wait_for()
    assert settings.get_attribute("aria-modal") == "true"
    necessary = settings.get_by_role("checkbox", name="Nødvendige")
    assert necessary.is_checked()
    assert necessary.is_disabled()
    assert not settings.get_by_role("checkbox", name="Statistikk").is_checked()
    assert not settings.get_by_role("checkbox", name="Markedsføring").is_checked()
    shot(page, "settings-nb")
    settings.get_by_role("checkbox", name="Statistikk").check()
    settings.get_by_role("button", name="Lagre valgene").click()
    page.wait_for_function("window.trackerRan === 1")
    assert page.evaluate("window.marketingRan") is None
    assert "_fbp" not in cookies(page)
    [row] = wait_for_entries(runtime, 1, page)
    assert row.method == "custom"
    assert row.granted == "analytics"
    assert row.denied == "marketing"


def test_keyboard_only(page: Any, shop: Any, runtime: Runtime) -> None:
    visit(page, shop)
    page.get_by_role("dialog").wait_for()
    focused = "document.activeElement"
    assert page.evaluate(f"{focused}.getAttribute('role')") == "dialog", "focus moves in"
    names = []
    for _ in range(4):
        page.keyboard.press("Tab")
        names.append(page.evaluate(f"{focused}.textContent"))
    assert names == [
        "Les erklæringen om informasjonskapsler",
        "Godta alle",
        "Avvis alle",
        "Innstillinger",
    ]
    page.keyboard.press("Enter")
    page.get_by_role("dialog", name="Velg hvilke informasjonskapsler vi kan bruke").wait_for()
    inside = f"!!{focused}.closest('[aria-modal=true]')"
    assert page.evaluate(inside)
    for _ in range(15):  # more than the controls: focus must stay in the dialog
        page.keyboard.press("Tab")
        assert page.evaluate(inside)
    for _ in range(15):
        page.keyboard.press("Shift+Tab")
        assert page.evaluate(inside)
    # Focus is visible: the ring is drawn.
    assert page.evaluate(f"getComputedStyle({focused}).outlineStyle") != "none"
    page.keyboard.press("Escape")
    assert page.get_by_role("dialog").count() == 1
    assert page.evaluate(f"{focused}.textContent") == "Innstillinger"
    page.keyboard.press("Enter")
    page.get_by_role("dialog", name="Velg hvilke informasjonskapsler vi kan bruke").wait_for()
    while page.evaluate(f"{focused}.dataset.k") != "analytics":
        page.keyboard.press("Tab")
    page.keyboard.press("Space")
    while page.evaluate(f"{focused}.textContent") != "Lagre valgene":
        page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    page.wait_for_function("window.trackerRan === 1")
    [row] = wait_for_entries(runtime, 1, page)
    assert row.method == "custom"
    assert row.granted == "analytics"
    # The footer link reopens the settings from the keyboard too.
    page.get_by_role("link", name="Innstillinger for informasjonskapsler").focus()
    page.keyboard.press("Enter")
    page.get_by_role("dialog", name="Velg hvilke informasjonskapsler vi kan bruke").wait_for()
    page.keyboard.press("Escape")
    assert page.get_by_role("dialog").count() == 0
    assert page.evaluate(f"{focused}.textContent") == "Innstillinger for informasjonskapsler"


def test_gpc_keeps_marketing_off(browser: Any, shop: Any, runtime: Runtime) -> None:
    context = browser.new_context()
    context.add_init_script(GPC)
    try:
        page = context.new_page()
        visit(page, shop)
        banner = page.get_by_role("dialog")
        assert "Global Privacy Control" in banner.inner_text()
        banner.get_by_role("button", name="Godta alle").click()
        page.wait_for_function("window.trackerRan === 1")
        assert page.evaluate("window.marketingRan") is None
        assert "_fbp" not in cookies(page)
        update = [c for c in consent_calls(page) if c[:2] == ["consent", "update"]][-1]
        assert update[2]["ad_storage"] == "denied"
        assert update[2]["analytics_storage"] == "granted"
        [row] = wait_for_entries(runtime, 1, page)
        assert row.method == "gpc"
        assert row.gpc
        assert row.denied == "marketing"
        # Turned on explicitly in the settings, marketing may run.
        page.evaluate("window.personvern.open()")
        settings = page.get_by_role("dialog", name="Velg hvilke informasjonskapsler vi kan bruke")
        settings.get_by_role("checkbox", name="Markedsføring").check()
        settings.get_by_role("button", name="Lagre valgene").click()
        page.wait_for_function("window.marketingRan === 1")
        rows = wait_for_entries(runtime, 2, page)
        assert rows[1].method == "custom"
        assert rows[1].granted == "analytics,marketing"
    finally:
        context.close()


def test_a_new_policy_version_asks_again(page: Any, shop: Any, runtime: Runtime) -> None:
    visit(page, shop)
    page.get_by_role("button", name="Godta alle").click()
    [first] = wait_for_entries(runtime, 1, page)
    with runtime.sessions() as db, db.begin():
        latest = db.get_one(PolicyVersion, first.policy_version)
        db.add(
            PolicyVersion(
                number=latest.number + 1,
                fingerprint="f" * 64,
                markdown_nb=latest.markdown_nb + "\nEndret.",
                markdown_en=latest.markdown_en + "\nChanged.",
            )
        )
    page.reload()
    page.get_by_role("dialog", name="Vi bruker informasjonskapsler").wait_for()
    assert page.evaluate("window.trackerRan") is None, "old consent does not run under new terms"
    page.get_by_role("button", name="Avvis alle").click()
    rows = wait_for_entries(runtime, 2, page)
    assert rows[1].consent_id == first.consent_id
    assert rows[1].seq == 2
    assert rows[1].policy_version == first.policy_version + 1
    assert not cookies(page) & {"_ga", "_ga_TEST", "_fbp"}, "cookies of the old consent go"


def test_withdrawal_deletes_the_category_cookies(page: Any, shop: Any, runtime: Runtime) -> None:
    visit(page, shop)
    page.get_by_role("button", name="Godta alle").click()
    page.wait_for_function("window.trackerRan === 1 && window.marketingRan === 1")
    assert {"_ga", "_ga_TEST", "_fbp"} <= cookies(page)
    page.get_by_role("link", name="Innstillinger for informasjonskapsler").click()
    settings = page.get_by_role("dialog", name="Velg hvilke informasjonskapsler vi kan bruke")
    assert settings.get_by_role("checkbox", name="Markedsføring").is_checked()
    settings.get_by_role("checkbox", name="Markedsføring").uncheck()
    settings.get_by_role("button", name="Lagre valgene").click()
    rows = wait_for_entries(runtime, 2, page)
    assert rows[1].method == "withdraw"
    assert rows[1].denied == "marketing"
    assert "_fbp" not in cookies(page)
    assert {"_ga", "_ga_TEST"} <= cookies(page)
    update = [c for c in consent_calls(page) if c[:2] == ["consent", "update"]][-1]
    assert update[2]["ad_storage"] == "denied"
    # Withdrawing everything from the privacy center takes the visitor back to the site.
    page.goto(f"{shop.personvern}/privacy/consent?id={rows[0].consent_id}&lang=nb")
    assert page.get_by_role("heading", name="Dine samtykker").is_visible()
    page.get_by_role("link", name="Trekk tilbake alt samtykke").click()
    rows = wait_for_entries(runtime, 3, page)
    assert rows[2].method == "withdraw"
    assert rows[2].granted == ""
    assert not cookies(page) & {"_ga", "_ga_TEST", "_fbp"}
    receipt = page.request.get(f"{shop.personvern}/api/v1/consents/{rows[0].consent_id}")
    assert receipt.json()["status"] == "withdrawn"
    assert [h["entry"] for h in receipt.json()["history"]] == [1, 2, 3]


def test_english_layers_and_a_narrow_screen(browser: Any, shop: Any) -> None:
    context = browser.new_context(viewport={"width": 1024, "height": 720})
    try:
        page = context.new_page()
        visit(page, shop, "/en")
        banner = page.get_by_role("dialog", name="We use cookies")
        banner.wait_for()
        assert banner.get_by_role("button").all_inner_texts() == [
            "Accept all",
            "Reject all",
            "Settings",
        ]
        shot(page, "first-layer-en")
        banner.get_by_role("button", name="Settings").click()
        settings = page.get_by_role("dialog", name="Choose which cookies we may use")
        settings.get_by_text("Show the cookies").first.click()
        shot(page, "settings-en")
    finally:
        context.close()
    narrow = browser.new_context(viewport={"width": 320, "height": 640})
    try:
        page = narrow.new_page()
        before = None
        page.goto(shop.origin + "/")
        before = page.evaluate("document.querySelector('main').getBoundingClientRect().top")
        page.get_by_role("dialog").wait_for()
        after = page.evaluate("document.querySelector('main').getBoundingClientRect().top")
        assert before == after, "the page underneath does not move"
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 320, "nothing sticks out sideways at 320 px"
        for name in ("Godta alle", "Avvis alle", "Innstillinger"):
            box = page.get_by_role("button", name=name).bounding_box()
            assert box is not None
            assert box["x"] >= 0
            assert box["x"] + box["width"] <= 320
        shot(page, "first-layer-nb-320px")
        page.get_by_role("button", name="Innstillinger").click()
        shot(page, "settings-nb-320px")
    finally:
        narrow.close()
