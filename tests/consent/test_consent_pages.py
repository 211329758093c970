"""The privacy center's consent page, the admin's consent pages, the visitor facts."""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from consent_support import SITE, choice, config
from fastapi.testclient import TestClient
from sqlalchemy import select

from personvern.consent.stats import rates
from personvern.consent.visitor import ip_prefix, ua_family
from personvern.runtime import Runtime
from personvern.settings import Settings
from personvern.store.tables import AuditEntry
from personvern.web.admin.users import create_user
from personvern.web.app import create_app

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "web"))
from web_support import (  # the web tests' helpers, shared
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    VIEWER_EMAIL,
    VIEWER_PASSWORD,
    sign_in,
)


@pytest.fixture
def client(settings: Settings, runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(settings, runtime=runtime)) as test_client:
        yield test_client


def record(client: TestClient, **changes: object) -> dict[str, object]:
    body = choice(config(client), **changes)
    response = client.post("/api/v1/consents", json=body, headers={"Origin": SITE})
    assert response.status_code == 201, response.text
    return body


@pytest.mark.parametrize(
    ("address", "network"),
    [
        ("203.0.113.77", "203.0.113.0/24"),
        ("2001:db8:1234:5678::1", "2001:db8:1234::/48"),
        ("::ffff:198.51.100.9", "198.51.100.0/24"),
        ("fe80::1%eth0", "fe80::/48"),
        ("testclient", "unknown"),
        (None, "unknown"),
        # the IPv4 fast path agrees with the ipaddress module on the edges
        ("0.0.0.1", "0.0.0.0/24"),
        ("255.255.255.255", "255.255.255.0/24"),
        ("256.1.1.1", "unknown"),
        ("1.2.3", "unknown"),
        ("1.2.3.4.5", "unknown"),
        ("01.2.3.4", "unknown"),
        ("1.2.3.-4", "unknown"),
        ("\u0661.\u0662.\u0663.\u0664", "unknown"),  # non-ASCII digits
        ("", "unknown"),
    ],
)
def test_ip_prefix(address: str | None, network: str) -> None:
    assert ip_prefix(address) == network


@pytest.mark.parametrize(
    ("agent", "family"),
    [
        ("Mozilla/5.0 (Windows NT 10.0) AppleWebKit/537.36 Chrome/131.0 Safari/537.36", "Chrome"),
        ("Mozilla/5.0 (Windows NT 10.0) Chrome/131.0 Safari/537.36 Edg/131.0", "Edge"),
        ("Mozilla/5.0 (Macintosh) AppleWebKit/605.1.15 Version/18.1 Safari/605.1.15", "Safari"),
        ("Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0", "Firefox"),
        ("Mozilla/5.0 (Linux; Android 14) SamsungBrowser/26.0 Chrome/122.0", "Samsung Internet"),
        ("Mozilla/5.0 Chrome/131.0 OPR/114.0", "Opera"),
        ("Googlebot/2.1 (+http://www.google.com/bot.html)", "Bot"),
        ("curl/8.5.0", "Other"),
        (None, "Other"),
    ],
)
def test_ua_family(agent: str | None, family: str) -> None:
    assert ua_family(agent) == family


def test_center_page_shows_the_choice_in_both_languages(client: TestClient) -> None:
    body = record(client, granted=["analytics"], denied=["marketing"], method="custom")
    nb = client.get("/privacy/consent", params={"id": body["consent_id"], "lang": "nb"})
    assert nb.status_code == 200
    assert "Dine samtykker" in nb.text
    assert "Samtykke gitt til noen formål" in nb.text
    assert f'href="{SITE}/#personvern"' in nb.text
    assert f'href="{SITE}/#personvern-withdraw"' in nb.text
    en = client.get("/privacy/consent", params={"id": body["consent_id"], "lang": "en"})
    assert "Your consent" in en.text
    assert "Withdraw all consent" in en.text
    unknown = client.get("/privacy/consent", params={"id": "00000000-0000-4000-8000-000000000000"})
    assert unknown.status_code == 404
    plain = client.get("/privacy/consent", params={"lang": "en"})
    assert plain.status_code == 200
    assert "See your consent receipt" in plain.text


def test_center_page_reads_the_cookie_on_the_same_site(client: TestClient) -> None:
    body = record(client)
    client.cookies.set("personvern_consent", f"{body['consent_id']}.1.analytics-marketing.x")
    page = client.get("/privacy/consent", params={"lang": "en"})
    assert "Consent given" in page.text


def test_admin_rates_chart_search_and_export(client: TestClient, runtime: Runtime) -> None:
    create_user(runtime, ADMIN_EMAIL, ADMIN_PASSWORD, "admin")
    first = record(client)
    record(client, granted=[], denied=["analytics", "marketing"], method="reject_all")
    record(client, granted=["analytics"], denied=["marketing"], method="custom")
    assert sign_in(client, ADMIN_EMAIL, ADMIN_PASSWORD).status_code == 303
    page = client.get("/admin/consents", params={"lang": "en"})
    assert page.status_code == 200
    assert "<svg" in page.text
    assert "<rect" in page.text
    assert "3 choices in all" in page.text
    assert "67%" in page.text  # analytics allowed in two of three
    found = client.get("/admin/consents", params={"q": first["consent_id"], "lang": "en"})
    assert "Intact" in found.text
    assert first["consent_id"] in found.text
    export = client.get("/admin/consents/export.csv")
    assert export.status_code == 200
    assert export.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(export.text)))
    assert len(rows) == 3
    assert {r["method"] for r in rows} == {"accept_all", "reject_all", "custom"}
    with runtime.sessions() as db:
        actions = set(db.scalars(select(AuditEntry.action)))
    assert {"consent.looked_up", "consent.exported"} <= actions


def test_viewers_see_rates_but_cannot_export(client: TestClient, runtime: Runtime) -> None:
    create_user(runtime, VIEWER_EMAIL, VIEWER_PASSWORD, "viewer")
    assert sign_in(client, VIEWER_EMAIL, VIEWER_PASSWORD).status_code == 303
    assert client.get("/admin/consents").status_code == 200
    assert client.get("/admin/consents/export.csv").status_code == 403


def test_admin_pages_need_a_sign_in(client: TestClient) -> None:
    response = client.get("/admin/consents", follow_redirects=False)
    assert response.status_code == 303


def test_rates_count_days_in_norwegian_time(client: TestClient, runtime: Runtime) -> None:
    record(client)
    data = rates(runtime, days=7)
    assert data.total == 1
    assert len(data.days) == 7
    later = rates(runtime, days=7, today=data.days[-1].day + timedelta(days=30))
    assert later.total == 0
