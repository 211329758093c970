"""How the Assemble inventory reaches a running sandbox: the environment it needs.

The inventory (``personvern/demo/assemble/privacy.yaml``) names every secret and every API
root through ``*_env`` settings, which the connector registry resolves from environment
variables (``base_url_env: KLARNA_API_URL`` becomes ``base_url``). In production those
variables hold the real vendors' addresses and keys; for the demo and the tests this module
gives the values that point the same inventory at a :class:`SandboxServer` on loopback.
This is the one place that knows which variable goes with which sandbox: ``personvern
sandbox`` prints them as ``export`` lines, ``personvern demo`` sets them in its own
environment, and the tests and ``bench/fanout.py`` pass them to the executor.

Google Analytics reads its OAuth2 client from an ``authorized_user`` credentials file
(``GOOGLE_APPLICATION_CREDENTIALS``), so :func:`demo_environment` writes one into the
folder it is given. WordPress has no sandbox: its variables are left unset, and the
executor makes its steps manual tasks saying what is missing.
"""

from __future__ import annotations

import json
import os
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from personvern.sandbox.people import Person, klarna_order_id, vipps_reference
from personvern.sandbox.server import SandboxServer

GA_CREDENTIALS_FILE: Final = "google-analytics-credentials.json"
"""The name of the authorized_user file :func:`demo_environment` writes for Google Analytics."""


@dataclass(frozen=True)
class Variable:
    """One environment variable the inventory names, and where its sandbox value comes from.

    ``value`` is a credential's name in the vendor's ``GET /_sandbox`` entry, or ``"url"``
    for the vendor's root (with ``suffix`` appended: Mailchimp's API lives under ``/3.0``).
    """

    name: str
    vendor: str
    value: str
    suffix: str = ""


# The variables of the Assemble inventory's connector blocks, per sandbox. Keep this in step
# with privacy.yaml: tests/demo/test_demo_reaches_every_system.py runs a request through it.
VARIABLES: Final[tuple[Variable, ...]] = (
    Variable("WOOCOMMERCE_URL", "woocommerce", "url"),
    Variable("WOOCOMMERCE_CONSUMER_KEY", "woocommerce", "consumer_key"),
    Variable("WOOCOMMERCE_CONSUMER_SECRET", "woocommerce", "consumer_secret"),
    Variable("MAILCHIMP_API_URL", "mailchimp", "url", suffix="/3.0"),
    Variable("MAILCHIMP_API_KEY", "mailchimp", "api_key"),
    Variable("GOOGLE_ANALYTICS_API_URL", "google_analytics", "url"),
    Variable("GA4_PROPERTY_ID", "google_analytics", "property_id"),
    Variable("VISMA_API_URL", "visma_eaccounting", "url"),
    Variable("VISMA_CLIENT_ID", "visma_eaccounting", "client_id"),
    Variable("VISMA_CLIENT_SECRET", "visma_eaccounting", "client_secret"),
    Variable("VISMA_REFRESH_TOKEN", "visma_eaccounting", "refresh_token"),
    Variable("KLARNA_API_URL", "klarna", "url"),
    Variable("KLARNA_API_USERNAME", "klarna", "username"),
    Variable("KLARNA_API_PASSWORD", "klarna", "password"),
    Variable("VIPPS_API_URL", "vipps", "url"),
    Variable("VIPPS_CLIENT_ID", "vipps", "client_id"),
    Variable("VIPPS_CLIENT_SECRET", "vipps", "client_secret"),
    Variable("VIPPS_SUBSCRIPTION_KEY", "vipps", "subscription_key"),
    Variable("VIPPS_MERCHANT_SERIAL_NUMBER", "vipps", "merchant_serial_number"),
)

# Systems of the inventory that need a vendor's sandbox (Klarna and Vipps find the orders
# through the WooCommerce API, so they need it too).
NEEDS: Final[Mapping[str, tuple[str, ...]]] = {
    "mailchimp": ("mailchimp",),
    "google_analytics": ("google_analytics",),
    "visma_eaccounting": ("visma_eaccounting",),
    "klarna": ("klarna", "woocommerce"),
    "vipps": ("vipps", "woocommerce"),
}


def _value(server: SandboxServer, variable: Variable) -> str:
    if variable.value == "url":
        return server.vendor_url(variable.vendor) + variable.suffix
    credentials = server.app(variable.vendor).credentials
    try:
        return credentials[variable.value]
    except KeyError:
        raise LookupError(
            f"the {variable.vendor} sandbox offers no credential {variable.value!r} for "
            f"{variable.name}; it offers {', '.join(sorted(credentials))}"
        ) from None


def ga_credentials(server: SandboxServer) -> dict[str, str]:
    """An ``authorized_user`` credentials file's content for the Google Analytics sandbox.

    The same shape ``gcloud auth application-default login`` writes; ``token_uri`` points
    at the sandbox's token endpoint.
    """
    credentials = server.app("google_analytics").credentials
    return {
        "type": "authorized_user",
        "client_id": credentials["client_id"],
        "client_secret": credentials["client_secret"],
        "refresh_token": credentials["refresh_token"],
        "token_uri": server.vendor_url("google_analytics") + "/token",
    }


def demo_environment(server: SandboxServer, directory: Path) -> dict[str, str]:
    """The environment variables that point the Assemble inventory at ``server``.

    Only the vendors ``server`` serves are included. For Google Analytics the credentials
    file is written to ``directory`` (mode 0600) and ``GOOGLE_APPLICATION_CREDENTIALS``
    names it.
    """
    served = set(server.sandbox.vendors)
    env = {v.name: _value(server, v) for v in VARIABLES if v.vendor in served}
    if "google_analytics" in served:
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / GA_CREDENTIALS_FILE
        # Created with 0600 from the start: the file holds (sandbox) secrets.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(ga_credentials(server), out, indent=2)
        env["GOOGLE_APPLICATION_CREDENTIALS"] = str(path.resolve())
    return env


def export_lines(environment: Mapping[str, str]) -> list[str]:
    """``export NAME='value'`` lines for a POSIX shell, in a stable order."""
    return [f"export {name}={shlex.quote(value)}" for name, value in sorted(environment.items())]


# The order statuses Visma's sandbox invoices (personvern.sandbox.visma_eaccounting.INVOICED).
_INVOICED: Final = frozenset({"completed", "processing", "refunded"})


def showcase_person(server: SandboxServer) -> Person | None:
    """Someone the Assemble inventory finds in every sandbox: the person to try a request for.

    A registered customer on the newsletter, with invoiced orders (Visma) and orders paid
    with Klarna and with Vipps that those sandboxes still hold; None when the shop has nobody
    like that (a very small shop) or ``server`` does not serve all of those vendors.
    """
    served = server.sandbox.vendors
    if not {"klarna", "vipps", "mailchimp", "visma_eaccounting"} <= set(served):
        return None
    klarna = {k for rows in server.app("klarna").snapshot().values() for k in rows}
    vipps = {k for rows in server.app("vipps").snapshot().values() for k in rows}
    for person in server.sandbox.context.people:
        if (
            person.customer_id is not None
            and person.newsletter_since is not None
            and any(o.status in _INVOICED for o in person.orders)
            and any(klarna_order_id(o.number) in klarna for o in person.orders)
            and any(vipps_reference(o.number) in vipps for o in person.orders)
        ):
            return person
    return None
