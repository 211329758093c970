"""The loader: each kind of problem, where it is reported, and the public API around it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from personvern.inventory.loader import (
    InventoryError,
    Problem,
    load_inventory,
    load_inventory_text,
    require_inventory,
)

# Made-up credentials in the shapes the secret detector knows. Nothing here is real.
WOO_KEY = "ck_" + "0123456789abcdef" * 2 + "01234567"
WOO_SECRET = "cs_" + "fedcba9876543210" * 2 + "fedcba98"
MAILCHIMP_KEY = "0123456789abcdef0123456789abcdef-us21"

NEW_SYSTEM = """\
  - key: shop
    name: Kopi
    kind: internal
    role: controller
    description: {nb: Kopi., en: Copy.}
    country: NO
    data_categories: [user.name]
activities:
"""
NEW_RULE = """\
    assumption: true
  - key: bookkeeping
    name: {nb: Igjen, en: Again}
    counted_from: created
    action: delete
    legal_ground: {nb: Ingen., en: None.}
"""

# (old text, new text) in the valid inventory, then where the one problem must be reported,
# a part of its message and a part of its hint.
# fmt: off
CASES = [
    # YAML itself
    pytest.param(
        "  name: Eksempel Nettbutikk AS",
        "  name: Eksempel: Nettbutikk AS",
        3, 17, "YAML syntax: mapping values are not allowed here",
        "quote a value",
        id="yaml-syntax",
    ),
    pytest.param(
        "    role: controller\n    description:\n      nb: Nettbutikken",
        "    role: controller\n    role: controller\n    description:\n      nb: Nettbutikken",
        21, 5, "the key 'role' appears twice in the same mapping",
        "the first is at line 20",
        id="duplicate-yaml-key",
    ),
    pytest.param(
        "        timeout: 30",
        "        timeout: !secret 30",
        47, 18, "the tag '!secret' is not supported",
        "remove the tag",
        id="unsupported-tag",
    ),
    # the schema
    pytest.param(
        "  name: Eksempel",
        "  nmae: Eksempel",
        3, 3, "unknown field 'nmae' in controller",
        "did you mean 'name'?",
        id="unknown-field-typo",
    ),
    pytest.param(
        "version: 1",
        "versjon: 1",
        1, 1, "unknown field 'versjon' at the top level",
        "did you mean 'version'?",
        id="unknown-top-level-field",
    ),
    pytest.param(
        "    lifetime: P2Y\n",
        "    lifetime: P2Y\n    flavour: chocolate\n",
        95, 5, "unknown field 'flavour' in cookies[1]",
        "the fields here are: name, pattern",
        id="unknown-field-no-suggestion",
    ),
    pytest.param(
        "    country: NO\n    data_categories: [user.contact.email, user.name]",
        "    country: [NO]\n    data_categories: [user.contact.email, user.name]",
        24, 14, "'country' should be text, not a list",
        "write a single value",
        id="wrong-type",
    ),
    pytest.param(
        "kind: internal",
        "kind: intern",
        19, 11, "'intern' is not a valid 'kind'",
        "did you mean 'internal'?",
        id="invalid-choice",
    ),
    pytest.param(
        "      country: IE",
        "      country: Irland",
        57, 16, "'Irland' is not a country code",
        "ISO 3166-1",
        id="invalid-country",
    ),
    pytest.param(
        "    system: woocommerce",
        "    system: WooCommerce",
        84, 13, "'WooCommerce' is not a valid key",
        "e.g. 'woocommerce'",
        id="invalid-key",
    ),
    pytest.param(
        "912 345 688",
        "912 345 687",
        4, 15, "fails the MOD11 check",
        "Brønnøysundregistrene",
        id="org-number",
    ),
    pytest.param(
        "    name: {nb: Ordrer, en: Orders}",
        "    name: Ordrer",
        62, 11, "'name' needs the text in both bokmål and English",
        "`nb: …` and `en: …`",
        id="text-not-bilingual",
    ),
    pytest.param(
        "lifetime: P2Y",
        "lifetime: 2 years",
        94, 15, "'2 years' is not a duration",
        "ISO 8601",
        id="invalid-duration",
    ),
    pytest.param(
        "systems: [google_analytics]",
        "systems: []",
        78, 14, "'systems' needs at least 1 item",
        "add at least 1 item",
        id="empty-list",
    ),
    pytest.param(
        "email: personvern@example.no",
        "email: personvern@",
        12, 14, "'personvern@' is not a valid e-mail address",
        "after the @-sign",
        id="invalid-email",
    ),
    pytest.param(
        "    data_use: analytics.reporting\n",
        "",
        71, 5, "missing required field 'data_use' in activities[1]",
        "add `data_use:`",
        id="missing-field-in-list-item",
    ),
    pytest.param(
        "    city: Oslo\n",
        "",
        5, 3, "missing required field 'city' in controller.address",
        "add `city:`",
        id="missing-field-in-mapping",
    ),
    pytest.param(
        "    legal_entity:\n      name: Google Ireland Limited\n      country: IE\n",
        "",
        48, 5, "a vendor system must name its 'legal_entity'",
        "the company the contract",
        id="model-rule",
    ),
    pytest.param(
        "        timeout: 30",
        "        timeout: {seconds: 30}",
        47, 18, "setting 'timeout' must be text, a number, true/false or a list",
        "one plain",
        id="setting-of-wrong-kind",
    ),
    # fideslang taxonomy
    pytest.param(
        "cookie_id]\n    systems: [google",
        "cookieid]\n    systems: [google",
        77, 23, "'user.device.cookieid' is not a fideslang data category",
        "did you mean 'user.device.cookie_id'?",
        id="unknown-data-category",
    ),
    pytest.param(
        "data_use: analytics.reporting",
        "data_use: analytics.reportin",
        74, 15, "'analytics.reportin' is not a fideslang data use",
        "did you mean 'analytics.reporting'?",
        id="unknown-data-use",
    ),
    pytest.param(
        "[visitor]",
        "[visiter]",
        76, 21, "'visiter' is not a fideslang data subject",
        "did you mean 'visitor'?",
        id="unknown-data-subject",
    ),
    # cross-references
    pytest.param(
        "systems: [shop, woocommerce]",
        "systems: [shop, woocomerce]",
        69, 21, "activity 'orders' names system 'woocomerce' as a recipient",
        "did you mean 'woocommerce'?",
        id="dangling-recipient",
    ),
    pytest.param(
        "sources: [data_subject]",
        "sources: [data_subject, shopp]",
        79, 29, "activity 'analytics' names system 'shopp' as a source",
        "did you mean 'shop'?",
        id="dangling-source",
    ),
    pytest.param(
        "retention: analytics",
        "retention: analytic",
        80, 16, "uses retention rule 'analytic', but no retention rule has that key",
        "did you mean 'analytics'?",
        id="dangling-retention",
    ),
    pytest.param(
        "system: google_analytics",
        "system: google_analytic",
        91, 13, "cookie '_ga_*' names system 'google_analytic'",
        "did you mean 'google_analytics'?",
        id="dangling-cookie-system",
    ),
    pytest.param(
        "activities:\n",
        NEW_SYSTEM,
        60, 10, "the system key 'shop' is defined twice",
        "the first is at line 17",
        id="duplicate-system",
    ),
    pytest.param(
        "  - key: analytics\n    name: {nb: Statistikk, en: Statistics}\n    purpose",
        "  - key: orders\n    name: {nb: Statistikk, en: Statistics}\n    purpose",
        71, 10, "the activity key 'orders' is defined twice",
        "the first is at line 61",
        id="duplicate-activity",
    ),
    pytest.param(
        "    assumption: true\n",
        NEW_RULE,
        110, 10, "the retention rule key 'bookkeeping' is defined twice",
        "the first is at line 97",
        id="duplicate-retention-rule",
    ),
    pytest.param(
        "  - pattern: _ga_*",
        "  - name: woocommerce_cart_hash",
        89, 11, "the cookie 'woocommerce_cart_hash' is declared twice",
        "line 82",
        id="duplicate-cookie",
    ),
    # secrets
    pytest.param(
        "consumer_key_env: WOOCOMMERCE_CONSUMER_KEY",
        f"consumer_key: {WOO_KEY}",
        45, 9, "a secret given in clear in setting 'consumer_key' (ck_0…)",
        "remove the value from the file and write "
        "`consumer_key_env: WOOCOMMERCE_CONSUMER_KEY`, then set that environment variable",
        id="secret-by-name",
    ),
    pytest.param(
        "consumer_secret_env: WOOCOMMERCE_CONSUMER_SECRET",
        f"consumer_secret_env: {WOO_SECRET}",
        46, 30, "a secret given in clear in setting 'consumer_secret_env'",
        "`consumer_secret_env: WOOCOMMERCE_CONSUMER_SECRET`",
        id="secret-in-env-setting",
    ),
    pytest.param(
        "        timeout: 30",
        f"        audience: {MAILCHIMP_KEY}",
        47, 19, "looks like a Mailchimp API key",
        "`audience_env: WOOCOMMERCE_AUDIENCE`",
        id="secret-by-value",
    ),
    pytest.param(
        "        timeout: 30",
        "        api_token: SHOP_TOKEN",
        47, 9, "setting 'api_token' holds a secret, so it must be named 'api_token_env'",
        "rename it: `api_token_env: SHOP_TOKEN`",
        id="secret-env-suffix-forgotten",
    ),
]
# fmt: on


@pytest.mark.parametrize(("old", "new", "line", "column", "message", "hint"), CASES)
def test_one_problem_where_it_is(
    broken: Callable[..., str],
    old: str,
    new: str,
    line: int,
    column: int,
    message: str,
    hint: str,
) -> None:
    result = load_inventory_text(broken(old, new), "privacy.yaml")

    assert result.inventory is None
    assert [(p.line, p.column) for p in result.problems] == [(line, column)], result.problems
    [problem] = result.problems
    assert message in problem.message
    assert hint in (problem.hint or "")
    assert problem.file == "privacy.yaml"


def test_the_valid_inventory_loads(valid_yaml: str) -> None:
    result = load_inventory_text(valid_yaml)

    assert result.problems == []
    assert result.inventory is not None
    assert [s.key for s in result.inventory.systems] == ["shop", "woocommerce", "google_analytics"]


def test_three_problems_of_three_kinds_in_one_file(broken: Callable[..., str]) -> None:
    text = broken(
        "data_categories: [user.contact.email, user.name]\n    systems: [shop",
        "data_categories: [user.contact.emial, user.name]\n    systems: [shop",
        "systems: [google_analytics]",
        "systems: [google_analytics, mailchimp]",
        "consumer_key_env: WOOCOMMERCE_CONSUMER_KEY",
        f"api_key: {WOO_KEY}",
    )

    problems = load_inventory_text(text, "privacy.yaml").problems

    assert [p.format() for p in problems] == [
        "privacy.yaml:45:9: error: a secret given in clear in setting 'api_key' (ck_0…) "
        "(hint: remove the value from the file and write `api_key_env: WOOCOMMERCE_API_KEY`, "
        "then set that environment variable)",
        "privacy.yaml:68:23: error: 'user.contact.emial' is not a fideslang data category "
        "(hint: did you mean 'user.contact.email'?)",
        "privacy.yaml:78:33: error: activity 'analytics' names system 'mailchimp' as a "
        "recipient, but no system has that key (hint: use one of the keys under 'systems' "
        "(google_analytics, shop, woocommerce), or add 'mailchimp' there)",
    ]


def test_no_problem_repeats_a_secret(broken: Callable[..., str]) -> None:
    text = broken(
        "consumer_key_env: WOOCOMMERCE_CONSUMER_KEY",
        f"consumer_key: {WOO_KEY}",
        "consumer_secret_env: WOOCOMMERCE_CONSUMER_SECRET",
        f"consumer_secret_env: [{WOO_SECRET}]",
        "        timeout: 30",
        f"        timeout: {{value: {MAILCHIMP_KEY}}}\n        password: hunter2hunter2",
    )

    output = "\n".join(p.format() for p in load_inventory_text(text).problems)

    assert len(load_inventory_text(text).problems) == 4
    for secret in (WOO_KEY, WOO_SECRET, MAILCHIMP_KEY, "hunter2hunter2"):
        assert secret[5:] not in output


def test_problems_are_sorted_by_position(broken: Callable[..., str]) -> None:
    text = broken("lifetime: P2Y", "lifetime: forever", "kind: internal", "kind: intern")

    problems = load_inventory_text(text).problems

    assert [p.line for p in problems] == [19, 94]


def test_a_typo_in_a_section_name_says_nothing_about_references_into_it(
    broken: Callable[..., str],
) -> None:
    problems = load_inventory_text(broken("systems:\n  - key: shop", "sytems:\n  - key: shop"))

    assert [(p.line, p.message, p.hint) for p in problems.problems] == [
        (16, "unknown field 'sytems' at the top level", "did you mean 'systems'?")
    ]


def test_a_system_without_a_key_makes_no_reference_dangling(broken: Callable[..., str]) -> None:
    problems = load_inventory_text(broken("  - key: shop\n", "  - kye: shop\n")).problems

    assert [(p.line, p.message) for p in problems] == [(17, "unknown field 'kye' in systems[0]")]


def test_a_missing_retention_section_leaves_every_rule_dangling(
    broken: Callable[..., str],
) -> None:
    text = broken("retention:\n  - key: bookkeeping", "unused:\n  - key: bookkeeping")

    problems = load_inventory_text(text).problems

    assert [p.line for p in problems] == [70, 80, 96]
    assert problems[0].hint == "add a retention rule with key 'bookkeeping' under 'retention'"


def test_references_of_an_invalid_system_still_count(broken: Callable[..., str]) -> None:
    # The system has a problem of its own; activities naming it are not dangling too.
    problems = load_inventory_text(broken("      country: IE", "      country: Irland")).problems

    assert [p.line for p in problems] == [57]


def test_the_norway_problem() -> None:
    text = "version: 1\ncontroller:\n  address: {country: NO, postal_code: 0150}\n"

    result = load_inventory_text(text)

    # Other fields are missing; ``country: NO`` is not among the problems, and stays "NO".
    assert not any("country" in p.message for p in result.problems)


def test_norway_survives_loading(valid_yaml: str) -> None:
    inventory = load_inventory_text(valid_yaml).inventory

    assert inventory is not None
    assert inventory.controller.address.country == "NO"
    assert inventory.controller.address.postal_code == "0150"
    assert inventory.controller.org_number == "912345688"
    assert inventory.system("shop").country == "NO"


@pytest.mark.parametrize(
    ("text", "line", "column", "message"),
    [
        ("", 1, 1, "the inventory is empty"),
        ("# only a comment\n", 1, 1, "the inventory is empty"),
        ("- a\n- b\n", 1, 1, "the inventory must be a mapping"),
        ("version: 1\n---\nversion: 1\n", 2, 1, "expected a single document"),
        ("controller:\n\tname: x\n", 2, 1, "found character '\\t'"),
    ],
)
def test_documents_that_are_not_inventories(
    text: str, line: int, column: int, message: str
) -> None:
    [problem] = load_inventory_text(text).problems

    assert (problem.line, problem.column) == (line, column)
    assert message in problem.message
    assert problem.hint


def test_missing_top_level_fields_point_at_the_document() -> None:
    problems = load_inventory_text("version: 1\n").problems

    assert [(p.line, p.column, p.message) for p in problems] == [
        (1, 1, "missing required field 'activities' at the top level"),
        (1, 1, "missing required field 'controller' at the top level"),
        (1, 1, "missing required field 'systems' at the top level"),
    ]


def test_every_problem_has_a_hint(broken: Callable[..., str]) -> None:
    text = broken(
        "  org_number: 912 345 688\n",
        "",
        "kind: internal",
        "kind: 7",
        "    party: first\nretention:",
        "    party: both\nretention:",
        "  - origin: https://www.example.no",
        "  - origin: https://www.example.no/",
    )

    problems = load_inventory_text(text).problems

    assert len(problems) == 4
    assert all(p.hint for p in problems)


# --- files -------------------------------------------------------------------------------


def test_load_inventory_reads_a_file(tmp_path: Path, valid_yaml: str) -> None:
    path = tmp_path / "privacy.yaml"
    path.write_text(valid_yaml, encoding="utf-8")

    result = load_inventory(path)

    assert result.inventory is not None
    assert result.source == path
    assert require_inventory(path) == result.inventory


def test_a_byte_order_mark_is_fine(tmp_path: Path, valid_yaml: str) -> None:
    path = tmp_path / "privacy.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + valid_yaml.encode())

    assert load_inventory(path).inventory is not None


def test_a_missing_file_is_a_problem(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.yaml"

    [problem] = load_inventory(path).problems

    assert (problem.file, problem.line, problem.column) == (str(path), 1, 1)
    assert "cannot read the inventory" in problem.message


def test_a_directory_is_a_problem(tmp_path: Path) -> None:
    [problem] = load_inventory(tmp_path).problems

    assert "cannot read the inventory" in problem.message


def test_a_file_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "privacy.yaml"
    path.write_bytes(b"version: 1\ncontroller:\n  name: Bl\xe5b\xe6r AS\n")

    [problem] = load_inventory(path).problems

    assert (problem.line, problem.column) == (3, 11)
    assert "not valid UTF-8" in problem.message


def test_require_inventory_raises_with_every_problem(
    tmp_path: Path, broken: Callable[..., str]
) -> None:
    path = tmp_path / "privacy.yaml"
    path.write_text(broken("kind: internal", "kind: intern", "lifetime: P2Y", "lifetime: x"))

    with pytest.raises(InventoryError) as caught:
        require_inventory(path)

    assert [p.line for p in caught.value.problems] == [19, 94]
    assert str(caught.value).startswith("the inventory has 2 problems:\n")
    assert f"{path}:19:11: error:" in str(caught.value)


@pytest.mark.parametrize(
    ("problem", "line"),
    [
        (
            Problem("privacy.yaml", 12, 5, "bad", "fix it"),
            "privacy.yaml:12:5: error: bad (hint: fix it)",
        ),
        (Problem("p.yaml", 1, 1, "bad", None), "p.yaml:1:1: error: bad"),
        (
            Problem("p.yaml", 1, 1, "two\nlines", "and\n more"),
            "p.yaml:1:1: error: two lines (hint: and more)",
        ),
    ],
)
def test_problem_format(problem: Problem, line: str) -> None:
    assert problem.format() == line


ON_BEHALF = """\
on_behalf:
  - key: web_design
    controller: {name: Kunde AS, country: NO}
    categories_of_processing: {nb: Nettsider for kunder., en: Websites for customers.}
    systems: [shop, wordpress]
  - key: web_design
    controller: {name: Annen Kunde AS, country: SE}
    categories_of_processing: {nb: Nettsider., en: Websites.}
"""


def test_processing_on_behalf_names_systems_that_exist(valid_yaml: str) -> None:
    problems = load_inventory_text(valid_yaml + ON_BEHALF).problems

    assert [(p.line, p.column, p.message, p.hint) for p in problems] == [
        (
            116,
            21,
            "processing on behalf 'web_design' names system 'wordpress', "
            "but no system has that key",
            "use one of the keys under 'systems' (google_analytics, shop, woocommerce), "
            "or add 'wordpress' there",
        ),
        (
            117,
            10,
            "the processing-on-behalf key 'web_design' is defined twice",
            "keys must be unique: rename or remove this one (the first is at line 113)",
        ),
    ]
