"""The dashboard shows the real inventory, to signed-in users only, in accessible HTML."""

from __future__ import annotations

import html
import re
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from web_support import ADMIN_PASSWORD, SMALL_INVENTORY, sign_in

from personvern.inventory.loader import require_inventory
from personvern.runtime import Runtime
from personvern.settings import Settings

MakeClient = Callable[..., tuple[TestClient, Runtime]]


def _cookie_row(page: str, category: str) -> int:
    match = re.search(rf'<th scope="row">{category}</th>\s*<td class="number">(\d+)</td>', page)
    assert match, f"no row for {category}"
    return int(match.group(1))


def test_dashboard_needs_a_signed_in_user(client: TestClient) -> None:
    response = client.get("/admin", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/admin/login"


def test_dashboard_shows_the_assemble_inventory(
    client: TestClient, settings: Settings, admin: str
) -> None:
    assert settings.inventory is not None
    inventory = require_inventory(Path(settings.inventory))
    sign_in(client, admin, ADMIN_PASSWORD)
    page = client.get("/admin").text

    assert '<html lang="nb">' in page
    assert "Assemble Prosjekt AS" in page
    assert "Datatilsynet" in page
    for heading in ("Behandlingsansvarlig", "Systemer", "Behandlingsaktiviteter"):
        assert f">{heading}</h2>" in page
    for system in inventory.systems:
        assert f'<th scope="row">{html.escape(system.name)}</th>' in page
    for activity in inventory.activities:
        assert html.escape(activity.name.nb) in page
    for rule in inventory.retention:
        assert html.escape(rule.name.nb) in page
    # Roles, legal bases and transfers in words, in bokmål.
    roles = {system.role for system in inventory.systems}
    words = {
        "processor": "Databehandler",
        "independent_controller": "Selvstendig behandlingsansvarlig",
        "joint_controller": "Felles behandlingsansvarlig",
    }
    for role, word in words.items():
        if role in roles:
            assert f"<td>{word}</td>" in page
    assert "Rettslig grunnlag" in page
    assert "Overføringsgrunnlag" in page
    assert "art. 6 nr. 1 bokstav b – Avtale" in page
    # Cookie counts per category, as the inventory declares them.
    declared = Counter(cookie.category for cookie in inventory.cookies)
    names = {
        "necessary": "Nødvendige",
        "preferences": "Preferanser",
        "analytics": "Statistikk",
        "marketing": "Markedsføring",
    }
    for category, name in names.items():
        assert _cookie_row(page, name) == declared[category]


def test_dashboard_in_english(client: TestClient, admin: str) -> None:
    sign_in(client, admin, ADMIN_PASSWORD)
    page = client.get("/admin?lang=en").text
    assert '<html lang="en">' in page
    assert "Processing activities" in page
    assert "<td>Processor</td>" in page
    assert "Art. 6(1)(b) – Contract" in page
    assert "Order fulfilment" in page


def test_dashboard_shows_another_inventory_exactly(make_client: MakeClient, admin: str) -> None:
    client, _ = make_client(inventory=SMALL_INVENTORY)
    sign_in(client, admin, ADMIN_PASSWORD)
    page = client.get("/admin").text
    assert "Strikkeloftet AS" in page
    assert "Assemble" not in page
    assert "923 609 016" in page
    assert "Kari Nordmann (ombud@strikkeloftet.no)" in page
    assert "Garnveien 3, 0150 Oslo, Norge" in page
    # One row per system, with kind, role, legal entity, country and transfer in words.
    row = re.search(r'<th scope="row">Nyhetsbrevtjenesten</th>(.*?)</tr>', page, re.S)
    assert row
    cells = re.findall(r"<td>(.*?)</td>", row.group(1))
    assert cells == [
        "Leverandør",
        "Databehandler",
        "Letters Inc. (USA)",
        "USA",
        "Standard personvernbestemmelser (SCC) (USA)",
    ]
    assert "<td>Felles behandlingsansvarlig</td>" in page
    assert "art. 6 nr. 1 bokstav a – Samtykke" in page
    assert "markedsføringsloven § 15" in page
    assert _cookie_row(page, "Nødvendige") == 2
    assert _cookie_row(page, "Statistikk") == 0
    assert _cookie_row(page, "Markedsføring") == 1
    assert "5 år" in page
    assert "fra utgangen av regnskapsåret" in page
    assert "Anonymiseres" in page
    assert "30 dager" in page
    assert "Vårt eget valg" in page  # the rule marked as an assumption


def test_dashboard_says_what_to_do_without_an_inventory(
    make_client: MakeClient, admin: str
) -> None:
    client, _ = make_client(inventory=None)
    sign_in(client, admin, ADMIN_PASSWORD)
    response = client.get("/admin")
    assert response.status_code == 200
    assert "Ingen personvernoversikt er satt opp" in response.text
    assert "PERSONVERN_INVENTORY" in response.text


def test_dashboard_reports_an_invalid_inventory(
    make_client: MakeClient, admin: str, tmp_path: Path
) -> None:
    broken = tmp_path / "privacy.yaml"
    broken.write_text("version: 1\ncontroller:\n  name: [unclosed\n", encoding="utf-8")
    client, _ = make_client(inventory=broken)
    sign_in(client, admin, ADMIN_PASSWORD)
    response = client.get("/admin")
    assert response.status_code == 200
    assert "kunne ikke leses" in response.text
    assert "personvern check" in response.text
    assert f"{broken}:" in response.text  # the loader's problem, naming file and line


@pytest.mark.parametrize("path", ["/admin", "/admin/users", "/admin/login"])
def test_pages_are_accessible_html(client: TestClient, admin: str, path: str) -> None:
    if path != "/admin/login":
        sign_in(client, admin, ADMIN_PASSWORD)
    page = client.get(path).text
    assert re.search(r'<html lang="(nb|en)">', page)
    for landmark in ("<header", "<main", "<footer", "<nav"):
        assert landmark in page
    assert page.count("<h1") == 1
    assert 'class="skip-link" href="#main"' in page
    # Every table header says what it heads.
    assert not re.search(r"<th(?=[\s>])(?![^>]*\bscope=)", page)
    # Every form field has a label.
    for field_id in re.findall(r'<input id="([^"]+)"', page):
        assert f'<label for="{field_id}">' in page
