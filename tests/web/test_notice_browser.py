"""The policy page in real Chromium, both languages: it renders, it fits, it has no errors.

Screenshots go to the test's temporary folder (and to ``PERSONVERN_SCREENSHOTS`` when set),
so a broken layout can be looked at; the assertions catch the usual ways one breaks.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from personvern.runtime import Runtime


@pytest.mark.parametrize("lang", ["nb", "en"])
@pytest.mark.parametrize("width", [1280, 320])
def test_policy_page_renders_in_chromium(
    browser: Any, live_server: Any, runtime: Runtime, tmp_path: Path, lang: str, width: int
) -> None:
    page = browser.new_page(viewport={"width": width, "height": 900})
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    try:
        response = page.goto(f"{live_server.url}/privacy/policy?lang={lang}")
        assert response is not None
        assert response.status == 200
        assert page.get_attribute("html", "lang") == lang
        assert page.locator("main").count() == 1
        heading = page.locator("h1").first
        assert heading.is_visible()
        title = heading.inner_text()
        assert ("Personvernerklæring" if lang == "nb" else "Privacy") in title
        # The stylesheet loaded and applied (no CSP violation): headings are larger than text.
        sizes = page.evaluate(
            """() => [parseFloat(getComputedStyle(document.querySelector('h1')).fontSize),
                      parseFloat(getComputedStyle(document.querySelector('p')).fontSize)]"""
        )
        assert sizes[0] > sizes[1] * 1.3
        # Nothing wider than the screen, even at 320 px: tables wrap or scroll in a box.
        overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
        wide = page.evaluate(
            """() => [...document.querySelectorAll("body *")]
                .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
                .map(e => e.tagName + " " + (e.textContent || "").slice(0, 40))"""
        )
        assert overflow <= 0, wide
        body = page.inner_text("body")
        inventory = runtime.inventory()
        assert inventory.controller.name in body
        for activity in inventory.activities:
            assert activity.purpose.get(lang).split()[0] in body
        shot = tmp_path / f"policy-{lang}-{width}.png"
        page.screenshot(path=str(shot), full_page=False)
        assert shot.stat().st_size > 10_000  # a real page, not a blank one
        target = os.environ.get("PERSONVERN_SCREENSHOTS")
        if target:
            Path(target).mkdir(parents=True, exist_ok=True)
            (Path(target) / shot.name).write_bytes(shot.read_bytes())
        assert problems == []
    finally:
        page.close()
