"""The demo inventory of Assemble Prosjekt AS covers what the shop's privacy policy says.

The seed policy (``seed/000_3c3aea3409c160f9.txt``) names the vendors, purposes and cookie
families; ``src/personvern/demo/assemble/privacy.yaml`` must describe each of them, in the
schema's terms, with what the law adds where the policy is silent (legal bases, transfers,
retention, consent per ekomloven § 3-15).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

from personvern.inventory.durations import Period
from personvern.inventory.loader import load_inventory
from personvern.inventory.schema import EEA_COUNTRIES, Inventory, Text

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "src" / "personvern" / "demo" / "assemble" / "privacy.yaml"
EXAMPLE = ROOT / "examples" / "assemble" / "privacy.yaml"


@pytest.fixture(scope="module")
def inventory() -> Inventory:
    return Inventory.model_validate(yaml.safe_load(SOURCE.read_text(encoding="utf-8")))


def _activity(inventory: Inventory, key: str) -> Any:
    return next(a for a in inventory.activities if a.key == key)


def _cookie(inventory: Inventory, label: str) -> Any:
    return next(c for c in inventory.cookies if c.label == label)


# --- the file itself ------------------------------------------------------------------


def test_example_is_a_relative_symlink_to_the_packaged_file() -> None:
    assert EXAMPLE.is_symlink()
    assert not Path(EXAMPLE.readlink()).is_absolute()
    assert EXAMPLE.resolve() == SOURCE.resolve()


def test_loads_through_the_loader_without_problems() -> None:
    result = load_inventory(EXAMPLE)
    assert [p.format() for p in result.problems] == []
    assert result.inventory is not None


def test_round_trips_through_the_schema(inventory: Inventory) -> None:
    assert Inventory.from_dict(inventory.to_dict()) == inventory


def test_every_reference_names_something_defined(inventory: Inventory) -> None:
    systems = {s.key for s in inventory.systems}
    rules = {r.key for r in inventory.retention}
    for activity in inventory.activities:
        assert set(activity.systems) <= systems, activity.key
        assert set(activity.sources) <= systems | {"data_subject"}, activity.key
        assert activity.retention in rules, activity.key
    for cookie in inventory.cookies:
        assert cookie.system in systems, cookie.label
    # Nothing defined and left unused.
    assert {a.retention for a in inventory.activities} == rules
    assert {s for a in inventory.activities for s in a.systems} == systems


def _texts(value: Any, where: str) -> Iterator[tuple[str, Text]]:
    if isinstance(value, Text):
        yield where, value
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from _texts(getattr(value, name), f"{where}.{name}")
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _texts(item, f"{where}[{index}]")


def test_every_text_has_bokmal_and_english(inventory: Inventory) -> None:
    texts = list(_texts(inventory, "inventory"))
    assert len(texts) > 100
    for where, text in texts:
        assert text.nb.strip(), where
        assert text.en.strip(), where
        assert text.nb != text.en, f"{where} is not translated"


# --- the controller -------------------------------------------------------------------


def test_controller_from_the_policy(inventory: Inventory) -> None:
    controller = inventory.controller
    assert controller.name == "Assemble Prosjekt AS"
    assert controller.address.street == "Fjuktjennveien 69"
    assert (controller.address.postal_code, controller.address.city) == ("1930", "Aurskog")
    assert controller.address.country == "NO"
    general = controller.contacts[0]
    assert (general.email, general.phone) == ("tor@assemble.no", "+47 922 36 668")
    assert controller.privacy_contact().email == "post@assemble.no"
    assert controller.supervisory_authority.name == "Datatilsynet"


def test_org_number_is_a_marked_placeholder(inventory: Inventory) -> None:
    assert inventory.controller.note is not None
    assert "Brønnøysundregistrene" in inventory.controller.note


def test_no_dpo_and_says_why(inventory: Inventory) -> None:
    controller = inventory.controller
    assert controller.dpo is None
    assert controller.no_dpo_statement is not None
    assert "artikkel 37 nr. 1" in controller.no_dpo_statement.nb
    assert "Article 37(1)" in controller.no_dpo_statement.en


# --- systems --------------------------------------------------------------------------

SEED_SYSTEMS = {
    "one_com": ("vendor", "processor"),
    "wordpress": ("internal", "controller"),
    "woocommerce": ("internal", "controller"),
    "vipps": ("vendor", "independent_controller"),
    "klarna": ("vendor", "independent_controller"),
    "mailchimp": ("vendor", "processor"),
    "google_analytics": ("vendor", "processor"),
    "visma_eaccounting": ("vendor", "processor"),
    "google_ads": ("vendor", "independent_controller"),
    "facebook_pixel": ("vendor", "joint_controller"),
    "email": ("internal", "controller"),
    "chat": ("vendor", "processor"),
}


@pytest.mark.parametrize(("key", "expected"), SEED_SYSTEMS.items(), ids=list(SEED_SYSTEMS))
def test_seed_system_with_its_role(
    inventory: Inventory, key: str, expected: tuple[str, str]
) -> None:
    system = inventory.system(key)
    assert (system.kind, system.role) == expected


@pytest.mark.parametrize(
    ("key", "entity", "country"),
    [
        ("one_com", "One.com Group AB", "SE"),
        ("vipps", "Vipps MobilePay AS", "NO"),
        ("klarna", "Klarna Bank AB (publ)", "SE"),
        ("mailchimp", "The Rocket Science Group LLC d/b/a Mailchimp", "US"),
        ("facebook_pixel", "Meta Platforms Ireland Limited", "IE"),
    ],
)
def test_vendor_legal_entity(inventory: Inventory, key: str, entity: str, country: str) -> None:
    legal_entity = inventory.system(key).legal_entity
    assert legal_entity is not None
    assert (legal_entity.name, legal_entity.country) == (entity, country)


def test_one_com_keeps_the_policys_denmark_and_notes_the_swedish_entity(
    inventory: Inventory,
) -> None:
    one_com = inventory.system("one_com")
    assert one_com.country == "DK"
    assert one_com.note is not None
    assert "Danmark" in one_com.note
    assert "Sverige" in one_com.note


def test_unnamed_chat_tool_is_flagged(inventory: Inventory) -> None:
    chat = inventory.system("chat")
    assert chat.kind == "vendor"
    assert chat.note is not None
    assert "Navngi leverandøren" in chat.note


def test_non_eea_systems_transfer_under_the_dpf(inventory: Inventory) -> None:
    outside = [
        s
        for s in inventory.systems
        if s.country not in EEA_COUNTRIES
        or (s.legal_entity is not None and s.legal_entity.country not in EEA_COUNTRIES)
    ]
    assert {s.key for s in outside} >= {
        "mailchimp",
        "google_analytics",
        "google_ads",
        "facebook_pixel",
    }
    for system in outside:
        assert system.transfer is not None, system.key
        assert system.transfer.mechanism == "dpf", system.key
        assert "US" in system.transfer.countries, system.key


API_CONNECTORS = {
    "woocommerce",
    "wordpress",
    "mailchimp",
    "google_analytics",
    "visma_eaccounting",
    "klarna",
    "vipps",
}


@pytest.mark.parametrize("key", sorted(API_CONNECTORS))
def test_api_connector_names_its_secrets_by_environment_variable(
    inventory: Inventory, key: str
) -> None:
    connector = inventory.system(key).connector
    assert connector is not None
    # The shop is reached through its database (SQL connector over the fideslang dataset).
    assert connector.type == ("sql" if key == "woocommerce" else key)
    secrets = {k: v for k, v in connector.settings.items() if k.endswith("_env")}
    assert secrets, f"{key} names no environment variable"
    for value in secrets.values():
        assert isinstance(value, str)
        assert value.isupper(), value


def test_shop_connector_settings(inventory: Inventory) -> None:
    from personvern.dsr.holds import check_holds

    connector = inventory.system("woocommerce").connector
    assert connector is not None
    assert connector.settings["url_env"] == "SHOP_DATABASE_URL"
    assert connector.settings["dataset"] == "shop_dataset.yml"
    holds = connector.settings["holds"]
    assert isinstance(holds, list)
    assert any(h.startswith("bookkeeping_primary: orders(") for h in holds)
    assert check_holds(inventory) == []


def test_systems_without_an_api_are_manual(inventory: Inventory) -> None:
    for system in inventory.systems:
        if system.connector is not None and system.key not in API_CONNECTORS:
            assert system.connector.type == "manual", system.key


# --- activities -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "letter"),
    [
        # The purposes the policy lists.
        ("order_fulfilment", "b"),
        ("sales", "b"),
        ("customer_service", "f"),
        ("newsletter_customers", "f"),
        ("newsletter_subscribers", "a"),
        ("service_messages", "f"),
        ("bookkeeping", "c"),
        # What the systems and cookies it describes add.
        ("analytics", "a"),
        ("advertising_google", "a"),
        ("advertising_meta", "a"),
        ("payment_vipps", "b"),
        ("payment_klarna", "b"),
        ("hosting", "f"),
        ("customer_account", "b"),
        ("consent_records", "c"),
    ],
)
def test_purpose_with_its_legal_basis(inventory: Inventory, key: str, letter: str) -> None:
    activity = _activity(inventory, key)
    assert activity.legal_basis.article_6_1 == letter
    assert activity.requirement is not None, "Art. 13(2)(e) statement missing"
    if letter == "f":
        assert activity.legal_basis.legitimate_interest is not None


@pytest.mark.parametrize(
    ("key", "law"),
    [
        ("newsletter_customers", "markedsføringsloven § 15"),
        ("newsletter_subscribers", "markedsføringsloven § 15"),
        ("bookkeeping", "bokføringsloven § 13"),
        ("analytics", "ekomloven § 3-15"),
        ("advertising_google", "ekomloven § 3-15"),
        ("advertising_meta", "ekomloven § 3-15"),
    ],
)
def test_national_ground(inventory: Inventory, key: str, law: str) -> None:
    national = _activity(inventory, key).legal_basis.national
    assert any(entry.startswith(law) for entry in national), national


@pytest.mark.parametrize(
    ("key", "source"), [("payment_vipps", "vipps"), ("payment_klarna", "klarna")]
)
def test_data_from_payment_providers_is_an_art_14_source(
    inventory: Inventory, key: str, source: str
) -> None:
    assert source in _activity(inventory, key).sources
    assert source in _activity(inventory, "order_fulfilment").sources


@pytest.mark.parametrize("key", ["payment_klarna", "advertising_google", "advertising_meta"])
def test_automated_decisions_and_profiling_are_described(inventory: Inventory, key: str) -> None:
    assert _activity(inventory, key).automated_decision is not None


def test_klarna_credit_assessment(inventory: Inventory) -> None:
    decision = _activity(inventory, "payment_klarna").automated_decision
    assert decision is not None
    assert "kredittvurdering" in decision.nb
    assert "credit assessment" in decision.en


def test_every_seed_system_receives_data_in_some_activity(inventory: Inventory) -> None:
    recipients = {s for a in inventory.activities for s in a.systems}
    assert set(SEED_SYSTEMS) <= recipients


# --- cookies --------------------------------------------------------------------------

COOKIE_FAMILIES = {
    # label: (system, category)
    "woocommerce_cart_hash": ("woocommerce", "necessary"),
    "woocommerce_items_in_cart": ("woocommerce", "necessary"),
    "wp_woocommerce_session_*": ("woocommerce", "necessary"),
    "wordpress_logged_in_*": ("wordpress", "necessary"),
    "wordpress_sec_*": ("wordpress", "necessary"),
    "wordpress_test_cookie": ("wordpress", "necessary"),
    "_ga": ("google_analytics", "analytics"),
    "_ga_*": ("google_analytics", "analytics"),
    "_gcl_au": ("google_ads", "marketing"),
    "IDE": ("google_ads", "marketing"),
    "_fbp": ("facebook_pixel", "marketing"),
    "fr": ("facebook_pixel", "marketing"),
    "personvern_consent": ("personvern", "necessary"),
}


@pytest.mark.parametrize(("label", "expected"), COOKIE_FAMILIES.items(), ids=list(COOKIE_FAMILIES))
def test_cookie_family(inventory: Inventory, label: str, expected: tuple[str, str]) -> None:
    cookie = _cookie(inventory, label)
    assert (cookie.system, cookie.category) == expected


def test_klarna_cookies_are_declared(inventory: Inventory) -> None:
    klarna = [c for c in inventory.cookies if c.system == "klarna"]
    assert klarna
    assert all(c.party == "third" for c in klarna)


def test_ga_cookie_lasts_two_years_and_says_the_policy_was_wrong(inventory: Inventory) -> None:
    ga = _cookie(inventory, "_ga")
    assert ga.lifetime == Period(years=2)
    assert ga.note is not None
    assert "ett år" in ga.note


def test_every_cookie_has_a_lifetime_provider_and_party(inventory: Inventory) -> None:
    for cookie in inventory.cookies:
        assert cookie.provider, cookie.label
        assert cookie.party in ("first", "third"), cookie.label
        assert cookie.lifetime is not None, cookie.label


# --- retention ------------------------------------------------------------------------


def test_bookkeeping_is_five_years_from_the_end_of_the_accounting_year(
    inventory: Inventory,
) -> None:
    rule = inventory.rule(_activity(inventory, "bookkeeping").retention)
    assert rule.period == Period(years=5)
    assert rule.counted_from == "end_of_accounting_year"
    assert rule.assumption is False
    assert "bokføringsloven § 13" in rule.legal_ground.nb


def test_secondary_documentation_is_three_and_a_half_years(inventory: Inventory) -> None:
    rule = inventory.rule("bookkeeping_secondary")
    assert rule.period == Period(years=3, months=6)
    assert rule.counted_from == "end_of_accounting_year"


def test_newsletter_lasts_until_unsubscribe(inventory: Inventory) -> None:
    rule = inventory.rule(_activity(inventory, "newsletter_subscribers").retention)
    assert rule.period is None
    assert rule.counted_from == "unsubscribed"


def test_analytics_data_is_kept_fourteen_months(inventory: Inventory) -> None:
    rule = inventory.rule(_activity(inventory, "analytics").retention)
    assert rule.period == Period(months=14)


def test_chosen_periods_are_marked_as_assumptions(inventory: Inventory) -> None:
    for key in ("customer_accounts", "support_cases", "consent_records", "ad_audiences"):
        assert inventory.rule(key).assumption is True, key


# --- sites ----------------------------------------------------------------------------


def test_sites(inventory: Inventory) -> None:
    assert {s.origin for s in inventory.sites} == {
        "https://www.assemble.no",
        "https://assemble.no",
    }
