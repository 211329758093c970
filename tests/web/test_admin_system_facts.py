"""``GET /admin/systems/{key}``: a system's inventory facts beside its settings read live.

The shop system's connector is the real woocommerce connector against the WooCommerce
sandbox over loopback, with its key pair in environment variables named by the inventory,
as in production. What the page shows is checked against what the connector itself reads
from the same sandbox; the failures (a missing variable, a refusal, a system that is down
or too slow) are real ones too.
"""

from __future__ import annotations

import html
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from web_support import ADMIN_PASSWORD, SMALL_INVENTORY, VIEWER_PASSWORD, sign_in

from personvern.connectors.registry import ConnectorRegistry
from personvern.connectors.woocommerce import WooCommerceConnector, WooCommerceSettings
from personvern.demo.shop import build_shop
from personvern.inventory.schema import Inventory
from personvern.runtime import Runtime
from personvern.sandbox.server import SandboxContext, SandboxServer
from personvern.web.admin.systems import read_facts

MakeClient = Callable[..., tuple[TestClient, Runtime]]
KEY_VAR = "PV_TEST_SYSTEM_FACTS_WOO_KEY"
SECRET_VAR = "PV_TEST_SYSTEM_FACTS_WOO_SECRET"
LIVE = {"nb": "Innstillinger lest fra systemet", "en": "Settings read from the system"}


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxServer]:
    """One shop and sandbox for the module: reading settings changes nothing."""
    path = tmp_path_factory.mktemp("facts") / "shop.sqlite3"
    build_shop(f"sqlite:///{path}", customers=40)
    with SandboxServer(SandboxContext(f"sqlite:///{path}"), ["woocommerce"]) as running:
        yield running


@pytest.fixture
def woo(sandbox: SandboxServer) -> Iterator[SandboxServer]:
    yield sandbox
    sandbox.faults("woocommerce").reset()


def inventory_data(shop_url: str) -> dict[str, Any]:
    """The small web inventory, the shop on WooCommerce, the pixel a manual system."""
    data: dict[str, Any] = yaml.safe_load(SMALL_INVENTORY.read_text())
    for system in data["systems"]:
        if system["key"] == "shop":
            system["connector"] = {
                "type": "woocommerce",
                "settings": {
                    "url": shop_url,
                    "consumer_key_env": KEY_VAR,
                    "consumer_secret_env": SECRET_VAR,
                },
            }
        if system["key"] == "pixel":
            system["connector"] = {
                "type": "manual",
                "settings": {"contact_url": "https://pixel.example/privacy"},
            }
    for rule in data["retention"]:
        if rule["key"] == "order_records":
            rule["targets"] = [{"system": "shop", "collection": "orders", "date_field": "created"}]
    return data


def write_inventory(tmp_path: Path, shop_url: str) -> Path:
    path = tmp_path / "privacy.yaml"
    path.write_text(yaml.safe_dump(inventory_data(shop_url), allow_unicode=True))
    return path


@pytest.fixture
def keys(woo: SandboxServer, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    creds = woo.app("woocommerce").credentials
    monkeypatch.setenv(KEY_VAR, str(creds["consumer_key"]))
    monkeypatch.setenv(SECRET_VAR, str(creds["consumer_secret"]))
    return {
        "consumer_key": str(creds["consumer_key"]),
        "consumer_secret": str(creds["consumer_secret"]),
    }


def signed_in(
    make_client: MakeClient, tmp_path: Path, shop_url: str, email: str, password: str
) -> TestClient:
    client, _ = make_client(inventory=write_inventory(tmp_path, shop_url))
    assert sign_in(client, email, password).status_code == 303
    return client


async def test_the_page_shows_the_live_settings_beside_the_rules(
    make_client: MakeClient,
    tmp_path: Path,
    woo: SandboxServer,
    keys: dict[str, str],
    admin: str,
) -> None:
    url = woo.vendor_url("woocommerce")
    direct = WooCommerceConnector(WooCommerceSettings.model_validate({"url": url, **keys}))
    try:
        expected = await direct.describe()
    finally:
        await direct.aclose()
    assert expected  # the sandbox has retention settings to show

    client = signed_in(make_client, tmp_path, url, admin, ADMIN_PASSWORD)
    for lang in ("nb", "en"):
        page = client.get(f"/admin/systems/shop?lang={lang}")
        assert page.status_code == 200, page.text
        text = page.text
        assert LIVE[lang] in text
        for fact in expected:
            row = (
                f'<th scope="row">{html.escape(fact.label)}</th>\n'
                f"          <td>{html.escape(fact.value)}</td>"
            )
            assert row in text
        assert "data-live-state" not in text  # no problem to report
        # The inventory's own rule for the system, and where personvern applies it.
        assert ("Ordrer" if lang == "nb" else "Orders") in text
        assert "5 år" in text if lang == "nb" else "5 years" in text
        assert ": orders</span>" in text
        assert "Garnbutikken" in text


def test_a_viewer_may_see_it_and_a_stranger_may_not(
    make_client: MakeClient, tmp_path: Path, woo: SandboxServer, keys: dict[str, str], viewer: str
) -> None:
    client, _ = make_client(inventory=write_inventory(tmp_path, woo.vendor_url("woocommerce")))
    response = client.get("/admin/systems/shop", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/admin/login")
    assert sign_in(client, viewer, VIEWER_PASSWORD).status_code == 303
    page = client.get("/admin/systems/shop")
    assert page.status_code == 200
    assert LIVE["nb"] in page.text


def test_a_missing_variable_is_named(
    make_client: MakeClient,
    tmp_path: Path,
    woo: SandboxServer,
    keys: dict[str, str],
    admin: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(SECRET_VAR)
    client = signed_in(make_client, tmp_path, woo.vendor_url("woocommerce"), admin, ADMIN_PASSWORD)
    nb = client.get("/admin/systems/shop").text
    assert 'data-live-state="missing_env"' in nb
    assert f"miljøvariabelen {SECRET_VAR} er satt" in nb
    en = client.get("/admin/systems/shop?lang=en").text
    assert f"the environment variable {SECRET_VAR} is set" in en
    assert KEY_VAR not in en  # only the one that is missing

    monkeypatch.delenv(KEY_VAR)
    both = client.get("/admin/systems/shop?lang=en").text
    assert f"environment variables {KEY_VAR}, {SECRET_VAR} are set" in both


@pytest.mark.parametrize(
    ("fault", "state", "words"),
    [
        (401, "refused", "refused to show its settings"),
        (503, "unreachable", "could not be reached just now"),
    ],
)
def test_a_vendor_failure_is_explained(
    make_client: MakeClient,
    tmp_path: Path,
    woo: SandboxServer,
    keys: dict[str, str],
    admin: str,
    fault: int,
    state: str,
    words: str,
) -> None:
    client = signed_in(make_client, tmp_path, woo.vendor_url("woocommerce"), admin, ADMIN_PASSWORD)
    woo.faults("woocommerce").fail_next(fault)
    page = client.get("/admin/systems/shop?lang=en")
    assert page.status_code == 200
    assert f'data-live-state="{state}"' in page.text
    assert f"Garnbutikken {words}" in page.text
    assert f"HTTP {fault}" in page.text  # the connector's own words, for the admin
    assert keys["consumer_secret"] not in page.text


def test_a_system_that_is_down_is_explained(
    make_client: MakeClient, tmp_path: Path, keys: dict[str, str], admin: str
) -> None:
    with socket.socket() as sock:  # a loopback port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = signed_in(make_client, tmp_path, f"http://127.0.0.1:{port}", admin, ADMIN_PASSWORD)
    page = client.get("/admin/systems/shop?lang=en").text
    assert 'data-live-state="unreachable"' in page
    assert "could not reach" in page


@pytest.mark.parametrize(
    ("key", "state", "words"),
    [
        ("newsletter", "no_connector", "The inventory gives this system no connector"),
        ("pixel", "manual", "This system has no API (the manual connector)"),
    ],
)
def test_systems_without_a_connector_to_read_say_so(
    make_client: MakeClient, tmp_path: Path, admin: str, key: str, state: str, words: str
) -> None:
    client = signed_in(make_client, tmp_path, "http://127.0.0.1:9", admin, ADMIN_PASSWORD)
    page = client.get(f"/admin/systems/{key}?lang=en").text
    assert f'data-live-state="{state}"' in page
    assert words in page


def test_an_unknown_system_is_404_and_the_dashboard_links_each_system(
    make_client: MakeClient, tmp_path: Path, admin: str
) -> None:
    client = signed_in(make_client, tmp_path, "http://127.0.0.1:9", admin, ADMIN_PASSWORD)
    assert client.get("/admin/systems/nowhere").status_code == 404
    dashboard = client.get("/admin").text
    for key in ("shop", "newsletter", "pixel"):
        assert f'href="/admin/systems/{key}"' in dashboard
        assert client.get(f"/admin/systems/{key}").status_code == 200


async def test_a_slow_system_is_given_up_on(woo: SandboxServer, keys: dict[str, str]) -> None:
    """The page's timeout, shortened: a vendor that hangs does not hang the page."""
    inventory = Inventory.from_dict(inventory_data(woo.vendor_url("woocommerce")))
    woo.faults("woocommerce").fail_next(200, hang=1.0)
    facts = await read_facts(
        inventory.system("shop"),
        ConnectorRegistry([WooCommerceConnector]),
        {KEY_VAR: keys["consumer_key"], SECRET_VAR: keys["consumer_secret"]},
        timeout=0.1,
    )
    assert facts.state == "timeout"
    assert facts.seconds == 0.1


async def test_an_uninstalled_connector_is_explained(woo: SandboxServer) -> None:
    inventory = Inventory.from_dict(inventory_data(woo.vendor_url("woocommerce")))
    facts = await read_facts(inventory.system("shop"), ConnectorRegistry(), {})
    assert facts.state == "unknown"
    assert "no connector is named 'woocommerce'" in facts.detail
