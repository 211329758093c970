"""The notices as pages: public policy and cookie declaration, the record and the versions."""

from __future__ import annotations

import shutil
from pathlib import Path

from fastapi.testclient import TestClient
from web_support import ADMIN_PASSWORD, VIEWER_PASSWORD, sign_in

from personvern.inventory.loader import require_inventory
from personvern.notices.history import publish, versions
from personvern.runtime import Runtime
from personvern.settings import Settings
from personvern.web.app import create_app


def test_policy_is_public_in_both_languages(client: TestClient, runtime: Runtime) -> None:
    nb = client.get("/privacy/policy")
    assert nb.status_code == 200
    assert '<html lang="nb">' in nb.text
    assert "Assemble Prosjekt AS" in nb.text
    assert "Datatilsynet" in nb.text
    assert "Versjon 1" in nb.text
    en = client.get("/privacy/policy?lang=en")
    assert en.status_code == 200
    assert '<html lang="en">' in en.text
    assert "Version 1" in en.text
    # Served under the strict CSP: the stylesheet is a file, no inline style or script.
    assert "<style" not in nb.text
    assert "<script" not in nb.text
    assert "unsafe-inline" not in nb.headers["content-security-policy"]
    css = client.get("/privacy/notice.css")
    assert css.status_code == 200
    assert css.headers["content-type"].startswith("text/css")
    assert [v.number for v in versions(runtime)] == [1]


def test_cookie_declaration_lists_every_declared_cookie(
    client: TestClient, runtime: Runtime
) -> None:
    page = client.get("/privacy/cookies?lang=en")
    assert page.status_code == 200
    for cookie in runtime.inventory().cookies:
        assert cookie.label in page.text
    assert "data-personvern-open" in page.text


def test_policy_pdf(client: TestClient) -> None:
    pdf = client.get("/privacy/policy.pdf?lang=nb")
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")


def test_record_of_processing_is_for_signed_in_users(
    client: TestClient, admin: str, viewer: str
) -> None:
    anonymous = client.get("/admin/records", follow_redirects=False)
    assert anonymous.status_code in (302, 303)
    assert "/admin/login" in anonymous.headers["location"]
    assert sign_in(client, viewer, VIEWER_PASSWORD).status_code == 303
    record = client.get("/admin/records?lang=nb")
    assert record.status_code == 200
    assert "Behandlingsprotokoll" in record.text or "protokoll" in record.text
    assert "30" in record.text
    assert record.text.count("<main") == 1  # one main landmark on the page
    assert record.headers["cache-control"] == "no-store"


def test_a_changed_inventory_gets_a_new_version_and_a_diff(
    runtime: Runtime, settings: Settings, tmp_path: Path, admin: str
) -> None:
    inventory = runtime.inventory()
    first = publish(runtime, inventory)
    assert (first.number, first.new) == (1, True)
    again = publish(runtime, inventory)
    assert (again.number, again.new) == (1, False)

    changed_file = tmp_path / "privacy.yaml"
    shutil.copyfile(settings.inventory or "", changed_file)
    text = changed_file.read_text().replace("Fjuktjennveien 69", "Fjuktjennveien 71", 1)
    changed_file.write_text(text)
    second = publish(runtime, require_inventory(changed_file))
    assert (second.number, second.new) == (2, True)
    entries = [e.action for e in runtime.audit.entries()]
    assert entries.count("policy.version_published") == 2
    assert runtime.audit.verify().ok

    with TestClient(create_app(settings, runtime=runtime)) as client:
        assert sign_in(client, admin, ADMIN_PASSWORD).status_code == 303
        history = client.get("/admin/policy?lang=nb")
        assert history.status_code == 200
        assert "/admin/policy?old=1&amp;new=2" in history.text
        diff = client.get("/admin/policy?old=1&new=2&lang=nb")
        assert diff.status_code == 200
        assert "<ins" in diff.text
        assert "71" in diff.text
        assert "<del" in diff.text
        assert "69" in diff.text
        assert client.get("/admin/policy?old=1&new=9").status_code == 404
