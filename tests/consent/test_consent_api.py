"""The consent API over HTTP: strict, CORS-bound, idempotent, and keeping proof."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from consent_support import SITE, choice, config, entries
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from personvern.consent.receipts import chain_intact, find
from personvern.runtime import Runtime
from personvern.settings import Settings
from personvern.store.consents import ConsentEntry, ConsentNotice, ConsentReceipt
from personvern.web.app import create_app


@pytest.fixture
def client(settings: Settings, runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(settings, runtime=runtime)) as test_client:
        yield test_client


def post(client: TestClient, body: Any, **headers: str) -> Any:
    return client.post("/api/v1/consents", json=body, headers={"Origin": SITE, **headers})


def test_config_lists_the_inventory_categories_with_cookies(client: TestClient) -> None:
    cfg = config(client)
    keys = [c["k"] for c in cfg["cats"]]
    # The Assemble shop sets no preference cookies, so it does not ask about them.
    assert keys == ["necessary", "analytics", "marketing"]
    assert cfg["cats"][0]["l"] is True
    assert cfg["t"]["accept"] == "Godta alle"
    assert cfg["t"]["reject"] == "Avvis alle"
    assert cfg["t"]["settings"] == "Innstillinger"
    assert [c["n"] for c in cfg["cats"]] == ["Nødvendige", "Statistikk", "Markedsføring"]
    analytics = cfg["cats"][1]
    assert ["_ga", 0] in analytics["x"]
    assert ["_ga_*", 0] in analytics["x"]
    assert cfg["c"] == "personvern_consent"
    assert cfg["d"] == 180
    assert cfg["v"] >= 1
    english = config(client, lang="en")
    assert english["t"]["accept"] == "Accept all"
    assert english["h"] != cfg["h"]


def test_config_texts_are_stored_under_their_hash(client: TestClient, runtime: Runtime) -> None:
    cfg = config(client)
    with runtime.sessions() as db:
        notice = db.get(ConsentNotice, cfg["h"])
    assert notice is not None
    stored = json.loads(notice.content)
    assert stored["t"] == cfg["t"]
    assert stored["cats"] == cfg["cats"]


def test_config_cors_only_for_the_inventory_sites(client: TestClient) -> None:
    allowed = client.get("/consent/config.json", params={"site": SITE}, headers={"Origin": SITE})
    assert allowed.headers["access-control-allow-origin"] == SITE
    other = client.get(
        "/consent/config.json", params={"site": SITE}, headers={"Origin": "https://evil.example"}
    )
    assert "access-control-allow-origin" not in other.headers
    unknown = client.get("/consent/config.json", params={"site": "https://evil.example"})
    assert unknown.status_code == 404
    assert unknown.headers["content-type"] == "application/problem+json"
    assert "sites" in unknown.json()["detail"]


def test_preflight_only_for_the_inventory_sites(client: TestClient) -> None:
    ok = client.options(
        "/api/v1/consents",
        headers={"Origin": SITE, "Access-Control-Request-Method": "POST"},
    )
    assert ok.status_code == 204
    assert ok.headers["access-control-allow-origin"] == SITE
    assert "Content-Type" in ok.headers["access-control-allow-headers"]
    denied = client.options(
        "/api/v1/consents",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert denied.status_code == 403
    assert "access-control-allow-origin" not in denied.headers


def test_a_choice_gets_a_receipt_with_what_the_server_adds(
    client: TestClient, runtime: Runtime
) -> None:
    body = choice(config(client))
    response = post(client, body, **{"User-Agent": "Mozilla/5.0 (X11) Firefox/133.0"})
    assert response.status_code == 201, response.text
    answer = response.json()
    assert answer["consent_id"] == body["consent_id"]
    assert answer["entry"] == 1
    assert response.headers["access-control-allow-origin"] == SITE
    [entry] = entries(runtime)
    # The test client's address is "testclient"; no address is stored in clear anyway.
    assert entry.ip_prefix == "unknown"
    assert entry.ua_family == "Firefox"
    assert entry.granted == "analytics,marketing"
    assert entry.denied == ""


def test_the_same_request_again_changes_nothing(client: TestClient, runtime: Runtime) -> None:
    body = choice(config(client))
    first = post(client, body)
    again = post(client, body)
    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json() == first.json()
    assert len(entries(runtime)) == 1


def test_a_changed_choice_is_the_next_entry_of_the_same_receipt(
    client: TestClient, runtime: Runtime
) -> None:
    cfg = config(client)
    body = choice(cfg)
    first = post(client, body).json()
    withdrawn = post(
        client,
        {**body, "granted": ["analytics"], "denied": ["marketing"], "method": "withdraw"},
    )
    assert withdrawn.status_code == 201
    assert withdrawn.json()["receipt_id"] == first["receipt_id"]
    assert withdrawn.json()["entry"] == 2
    rows = entries(runtime, body["consent_id"])
    assert [r.seq for r in rows] == [1, 2]
    assert rows[1].prev_hash == rows[0].entry_hash
    receipt = client.get(f"/api/v1/consents/{body['consent_id']}").json()
    assert [h["method"] for h in receipt["history"]] == ["accept_all", "withdraw"]
    marketing = next(p for p in receipt["purposes"] if p["purpose"] == "marketing")
    assert marketing["status"] == "withdrawn"
    assert receipt["status"] == "partially_given"


def test_the_receipt_is_shaped_after_iso_27560(client: TestClient) -> None:
    cfg = config(client)
    body = choice(cfg, granted=[], denied=["analytics", "marketing"], method="reject_all")
    receipt_id = post(client, body).json()["receipt_id"]
    by_consent = client.get(f"/api/v1/consents/{body['consent_id']}")
    by_receipt = client.get(f"/api/v1/consents/{receipt_id}")
    assert by_consent.status_code == 200
    assert by_consent.json() == by_receipt.json()
    receipt = by_consent.json()
    assert receipt["schema"]["standard"] == "ISO/IEC TS 27560:2023"
    assert receipt["controller"]["name"] == "Assemble Prosjekt AS"
    assert receipt["notice"]["texts_sha256"] == cfg["h"]
    assert receipt["notice"]["policy_version"] == cfg["v"]
    assert receipt["status"] == "refused"
    statuses = {p["purpose"]: p["status"] for p in receipt["purposes"]}
    assert statuses == {"necessary": "not_required", "analytics": "refused", "marketing": "refused"}
    assert receipt["integrity"]["chain_intact"] is True
    assert set(receipt["timestamps"]) == {"first_recorded", "last_updated", "withdrawn", "expires"}


def test_unknown_receipt_is_a_problem(client: TestClient) -> None:
    response = client.get("/api/v1/consents/00000000-0000-4000-8000-000000000000")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"tracking": True}, "tracking"),
        ({"consent_id": "not-a-uuid"}, "consent_id"),
        ({"consent_id": "3F2B8C1E-1D2A-4C3B-9A8B-0123456789AB"}, "consent_id"),
        ({"granted": ["analytics", "cookies"]}, "granted"),
        ({"method": "maybe"}, "method"),
        ({"gpc": "yes"}, "gpc"),
        ({"policy_version": "1"}, "policy_version"),
        ({"page": "/kasse?email=ola@example.no"}, "page"),
        ({"language": "de"}, "language"),
    ],
)
def test_strict_schema_names_what_is_wrong(
    client: TestClient, runtime: Runtime, changes: dict[str, Any], field: str
) -> None:
    response = post(client, choice(config(client), **changes))
    assert response.status_code == 422, response.text
    problem = response.json()
    assert response.headers["content-type"] == "application/problem+json"
    assert field in problem["detail"]
    assert any(field in e["loc"] for e in problem["errors"])
    assert entries(runtime) == []


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"granted": ["analytics"], "denied": []}, "exactly the categories"),
        ({"granted": ["analytics"], "denied": ["marketing"]}, "accept_all denies nothing"),
        ({"method": "reject_all"}, "reject_all grants nothing"),
        ({"method": "gpc"}, "gpc"),
        ({"texts_hash": "0" * 64}, "texts_hash"),
        ({"policy_version": 99}, "policy_version"),
        ({"language": "en"}, "language"),
        ({"site": "https://assemble.no"}, "site"),
    ],
)
def test_a_choice_must_fit_the_texts_shown(
    client: TestClient, runtime: Runtime, changes: dict[str, Any], says: str
) -> None:
    body = choice(config(client), **changes)
    response = client.post("/api/v1/consents", json=body)  # no Origin: a server-side client
    assert response.status_code == 422, response.text
    assert says in response.json()["detail"]
    assert entries(runtime) == []


def test_body_limit_content_type_and_origin(client: TestClient, runtime: Runtime) -> None:
    body = choice(config(client))
    big = client.post(
        "/api/v1/consents",
        content=json.dumps({**body, "page": "/" + "a" * 5000}),
        headers={"Content-Type": "application/json", "Origin": SITE},
    )
    assert big.status_code == 413
    assert big.headers["access-control-allow-origin"] == SITE
    form = client.post("/api/v1/consents", data={"consent_id": body["consent_id"]})
    assert form.status_code == 415
    foreign = post(client, body, Origin="https://evil.example")
    assert foreign.status_code == 403
    assert "access-control-allow-origin" not in foreign.headers
    other_site = post(client, body, Origin="https://assemble.no")
    assert other_site.status_code == 403
    broken = client.post(
        "/api/v1/consents", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert broken.status_code == 422
    assert entries(runtime) == []


def test_a_tampered_entry_breaks_the_chain(client: TestClient, runtime: Runtime) -> None:
    body = choice(config(client))
    post(client, body)
    post(
        client, {**body, "granted": [], "denied": ["analytics", "marketing"], "method": "withdraw"}
    )
    found = find(runtime, body["consent_id"])
    assert found is not None
    assert chain_intact(found[1])
    with runtime.sessions() as db, db.begin():
        db.execute(
            update(ConsentEntry)
            .where(ConsentEntry.consent_id == body["consent_id"], ConsentEntry.seq == 1)
            .values(ip_prefix="198.51.100.0/24")
        )
    found = find(runtime, body["consent_id"])
    assert found is not None
    assert not chain_intact(found[1])


def test_banner_assets_are_cacheable_and_small(client: TestClient) -> None:
    js = client.get("/consent/banner.js", headers={"Accept-Encoding": "gzip"})
    css = client.get("/consent/banner.css", headers={"Accept-Encoding": "gzip"})
    assert js.headers["content-type"].startswith("text/javascript")
    assert css.headers["content-type"].startswith("text/css")
    assert js.headers["cross-origin-resource-policy"] == "cross-origin"
    assert "max-age" in js.headers["cache-control"]
    again = client.get("/consent/banner.js", headers={"If-None-Match": js.headers["etag"]})
    assert again.status_code == 304
    from personvern.consent.assets import asset

    assert len(asset("banner.js").gzipped) + len(asset("banner.css").gzipped) <= 5000


def test_ping_is_trivial(client: TestClient) -> None:
    assert client.get("/api/v1/ping").json() == {"ok": True}


def test_rows_hold_no_full_address(settings: Settings, runtime: Runtime) -> None:
    # A real client address, through uvicorn's view of the peer: the test client's
    # ``client`` tuple carries it.
    app = create_app(settings, runtime=runtime)
    with TestClient(app, client=("203.0.113.77", 50000)) as test_client:
        body = choice(config(test_client))
        assert post(test_client, body).status_code == 201
    with runtime.sessions() as db:
        rows = db.execute(select(ConsentEntry)).scalars().all()
        receipts = db.execute(select(ConsentReceipt)).scalars().all()
    assert rows[0].ip_prefix == "203.0.113.0/24"
    values = [str(v) for r in (*rows, *receipts) for v in vars(r).values()]
    assert not any("203.0.113.77" in v for v in values)
