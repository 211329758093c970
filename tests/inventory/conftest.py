"""A small, valid inventory for the loader tests, and a way to break it one line at a time.

The tests assert exact line and column numbers in this text: add to the end of a section
rather than in the middle, or update the numbers in the tests.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

# 912345688 passes the MOD11 check (weights 3 2 7 6 5 4 3 2: sum 135, 135 % 11 = 3,
# 11 - 3 = 8); it is made up for the tests.
VALID_YAML = """\
version: 1
controller:
  name: Eksempel Nettbutikk AS
  org_number: 912 345 688
  address:
    street: Storgata 1
    postal_code: 0150
    city: Oslo
    country: NO
  contacts:
    - purpose: privacy
      email: personvern@example.no
  no_dpo_statement:
    nb: Vi har ikke plikt til å ha personvernombud.
    en: We are not required to have a data protection officer.
systems:
  - key: shop
    name: Nettbutikken
    kind: internal
    role: controller
    description:
      nb: Nettbutikken vår.
      en: Our web shop.
    country: NO
    data_categories: [user.contact.email, user.name]
  - key: woocommerce
    name: WooCommerce
    kind: vendor
    role: processor
    description:
      nb: Ordrer og kunder.
      en: Orders and customers.
    legal_entity:
      name: Automattic Inc.
      country: US
    transfer:
      mechanism: dpf
      countries: [US]
    country: US
    data_categories: [user.contact.email, user.contact.address, user.name]
    connector:
      type: woocommerce
      settings:
        base_url: https://shop.example.no
        consumer_key_env: WOOCOMMERCE_CONSUMER_KEY
        consumer_secret_env: WOOCOMMERCE_CONSUMER_SECRET
        timeout: 30
  - key: google_analytics
    name: Google Analytics
    kind: vendor
    role: processor
    description:
      nb: Besøksstatistikk.
      en: Visitor statistics.
    legal_entity:
      name: Google Ireland Limited
      country: IE
    country: IE
    data_categories: [user.device.cookie_id]
activities:
  - key: orders
    name: {nb: Ordrer, en: Orders}
    purpose: {nb: Å levere det du kjøper., en: To deliver what you buy.}
    data_use: essential.service.payment_processing
    legal_basis:
      article_6_1: b
    data_subjects: [customer]
    data_categories: [user.contact.email, user.name]
    systems: [shop, woocommerce]
    retention: bookkeeping
  - key: analytics
    name: {nb: Statistikk, en: Statistics}
    purpose: {nb: Å forstå bruken av nettsiden., en: To understand how the site is used.}
    data_use: analytics.reporting
    legal_basis: {article_6_1: a}
    data_subjects: [visitor]
    data_categories: [user.device.cookie_id]
    systems: [google_analytics]
    sources: [data_subject]
    retention: analytics
cookies:
  - name: woocommerce_cart_hash
    provider: WooCommerce
    system: woocommerce
    category: necessary
    purpose: {nb: Husker handlekurven., en: Remembers the cart.}
    lifetime: session
    party: first
  - pattern: _ga_*
    provider: Google
    system: google_analytics
    category: analytics
    purpose: {nb: Skiller besøkende fra hverandre., en: Tells visitors apart.}
    lifetime: P2Y
    party: first
retention:
  - key: bookkeeping
    name: {nb: Bokføring, en: Bookkeeping}
    period: P5Y
    counted_from: end_of_accounting_year
    action: delete
    legal_ground: {nb: Bokføringsloven § 13., en: The Norwegian Bookkeeping Act § 13.}
  - key: analytics
    name: {nb: Statistikk, en: Statistics}
    period: P14M
    counted_from: created
    action: delete
    legal_ground: {nb: Vårt valg., en: Our choice.}
    assumption: true
sites:
  - origin: https://www.example.no
"""


def patch(text: str, old: str, new: str) -> str:
    """``text`` with the one occurrence of ``old`` replaced by ``new``."""
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times in the fixture"
    return text.replace(old, new)


@pytest.fixture
def valid_yaml() -> str:
    """The text of a small valid inventory: 3 systems, 2 activities, 2 cookies, 2 rules."""
    return VALID_YAML


@pytest.fixture
def broken() -> Callable[..., str]:
    """``broken(old, new, ...)``: the valid inventory with each ``old`` replaced by ``new``."""

    def make(*pairs: str) -> str:
        text = VALID_YAML
        for old, new in zip(pairs[::2], pairs[1::2], strict=True):
            text = patch(text, old, new)
        return text

    return make
