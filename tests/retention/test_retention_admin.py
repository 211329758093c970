"""``/admin/retention``: rules, targets, next run, last runs and holds; a dry run by an admin."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from retention_support import csrf_from, shop_inventory, shop_rows, sign_in

from personvern.demo.shop import build_shop
from personvern.retention import reports
from personvern.retention.holds import add_hold
from personvern.runtime import Runtime
from personvern.settings import Settings
from personvern.web.admin.users import create_user
from personvern.web.app import create_app

ADMIN, VIEWER, PASSWORD = "eier@assemble.no", "regnskap@assemble.no", "korrekt hest batteri stift"


@pytest.fixture(scope="module")
def template_shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("admin-shop") / "shop.sqlite3"
    build_shop(f"sqlite:///{path}", customers=40)
    return path


@pytest.fixture
def shop_url(template_shop: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    copy = tmp_path / "shop.sqlite3"
    shutil.copyfile(template_shop, copy)
    url = f"sqlite:///{copy}"
    monkeypatch.setenv("SHOP_DATABASE_URL", url)  # the inventory names it by variable
    return url


@pytest.fixture
def shop_app(
    settings: Settings, tmp_path: Path, shop_url: str
) -> Iterator[tuple[TestClient, Runtime]]:
    changed = settings.model_copy(update={"inventory": shop_inventory(tmp_path / "inventory")})
    runtime = Runtime.open(changed, migrate=False)
    create_user(runtime, ADMIN, PASSWORD, "admin")
    create_user(runtime, VIEWER, PASSWORD, "viewer")
    try:
        with TestClient(create_app(changed, runtime=runtime)) as client:
            yield client, runtime
    finally:
        runtime.close()


def test_the_page_needs_a_signed_in_user(shop_app: tuple[TestClient, Runtime]) -> None:
    client, _ = shop_app
    response = client.get("/admin/retention", follow_redirects=False)
    assert response.status_code in (302, 303, 401)


def test_the_page_shows_rules_targets_next_run_and_holds(
    shop_app: tuple[TestClient, Runtime], backend: str
) -> None:
    client, runtime = shop_app
    add_hold(
        runtime, email="kari@example.no", reason="Reklamasjon på sofa", kind="dispute", actor="t"
    )
    sign_in(client, VIEWER, PASSWORD)
    page = client.get("/admin/retention").text
    assert "<h1>Oppbevaring</h1>" in page
    assert "Neste planlagte kjøring" in page
    where = "kjøres av en arbeidsprosess" if backend == "postgresql" else "kjøres av denne serveren"
    assert where in page
    assert "<code>order_records</code>" in page
    assert "<code>support_cases</code>" in page
    assert "Hvor regelen brukes" in page
    assert "billing_email, billing_phone, shipping_name" in page  # the fields masked
    assert "status: completed, refunded, cancelled" in page
    assert '<span class="badge">Antakelse</span>' in page  # support_cases is an assumption
    assert "Regelen er bare beskrivende" in page  # rules without targets
    assert "kari@example.no" in page
    assert "Reklamasjon på sofa" in page
    assert "Tvist" in page
    assert "Ingen kjøring ennå." in page
    # A viewer sees no button; the page in English.
    assert 'action="/admin/retention/plan"' not in page
    english = client.get("/admin/retention?lang=en").text
    assert "<h1>Retention</h1>" in english
    assert "Where the rule is applied" in english
    assert "Dispute" in english


def test_an_admin_starts_a_dry_run_and_sees_its_result(
    shop_app: tuple[TestClient, Runtime], shop_url: str
) -> None:
    client, runtime = shop_app
    before = shop_rows(shop_url)
    sign_in(client, ADMIN, PASSWORD)
    page = client.get("/admin/retention").text
    token = csrf_from(page[page.index('action="/admin/retention/plan"') - 80 :])
    refused = client.post("/admin/retention/plan", data={"rule": ""})
    assert refused.status_code == 403  # no CSRF token
    response = client.post("/admin/retention/plan", data={"rule": "", "csrf_token": token})
    assert response.status_code == 200, response.text
    result = response.text
    assert "Resultat av prøvekjøringen" in result
    rows = re.findall(r'<th scope="row">(order_records|support_cases)</th>', result)
    assert rows[:2] == ["order_records", "support_cases"]
    assert "order_number, created_at, billing_name" in result  # kept for bookkeeping
    assert shop_rows(shop_url) == before  # a dry run changes nothing
    [run] = reports.recent_runs(runtime)
    assert run.dry_run
    assert run.trigger == "admin"
    assert run.actor.startswith("admin:")
    assert "Adminsiden" in result
    assert "prøvekjøring" in result
    planned = [e for e in runtime.audit.entries() if e.action == "retention.planned"]
    assert len(planned) == 2
    assert {e.actor for e in planned} == {run.actor}


def test_a_viewer_cannot_start_a_dry_run(shop_app: tuple[TestClient, Runtime]) -> None:
    client, runtime = shop_app
    sign_in(client, VIEWER, PASSWORD)
    page = client.get("/admin/retention").text
    assert 'action="/admin/retention/plan"' not in page
    token = csrf_from(page)  # the sign-out form's: a valid token of the viewer's session
    response = client.post("/admin/retention/plan", data={"rule": "", "csrf_token": token})
    assert response.status_code == 403
    assert reports.recent_runs(runtime) == []
