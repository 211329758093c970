"""A small client of the WooCommerce REST API v3, shared by the connectors that need a shop.

Reference: https://woocommerce.github.io/woocommerce-rest-api-docs/ (API v3, "Customers",
"Orders", "Order notes", "Settings", "Pagination", "Authentication"). The API root is the
shop's address plus ``/wp-json/wc/v3``; authentication is HTTP Basic over HTTPS with a REST
API key pair (``ck_…`` / ``cs_…``) or a WordPress application password (user name and
password in the same two places), so :class:`WooClient` takes one Basic pair either way.

Besides the ``woocommerce`` connector, the payment connectors (Klarna, Vipps) use
:meth:`WooClient.orders_of` to follow a person's orders to the payment provider through the
``transaction_id`` the payment plugins store on each order. Keep its interface stable.

Every call goes through :class:`personvern.connectors.http.VendorApi`, so failures are the
shared ``Retriable``/``Fatal`` kinds. Lists are read page by page (``per_page=100``, the
maximum, until ``X-WP-TotalPages``), so a person with hundreds of orders is found whole.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any, Final

from personvern.connectors.base import Fatal
from personvern.connectors.http import DEFAULT_TIMEOUT, VendorApi

API_PATH: Final = "/wp-json/wc/v3"
PER_PAGE: Final = 100  # the largest page the API serves ("per_page": 1–100)
VENDOR: Final = "WooCommerce"


def api_root(url: str) -> str:
    """The REST API's root for a shop at ``url`` (a shop address or already the API root)."""
    url = url.rstrip("/")
    return url if url.endswith(API_PATH) else url + API_PATH


def same_email(a: object, b: str) -> bool:
    """E-mail addresses compared as WordPress does: case-insensitively, spaces trimmed."""
    return isinstance(a, str) and a.strip().lower() == b.strip().lower()


class WooClient:
    """The WooCommerce REST API v3 of one shop.

    ``url`` is the shop's root (``https://shop.example``) or the API root; ``consumer_key``
    and ``consumer_secret`` are the Basic pair: a REST API key pair, or a WordPress user
    name and application password. No I/O happens until the first call.
    """

    def __init__(
        self,
        url: str,
        consumer_key: str,
        consumer_secret: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self.api = VendorApi(
            VENDOR, api_root(url), auth=(consumer_key, consumer_secret), timeout=timeout
        )

    # --- reading ---------------------------------------------------------------------------

    async def pages(
        self, path: str, params: Mapping[str, Any] | None = None
    ) -> AsyncIterator[list[dict[str, Any]]]:
        """Each page of a list endpoint, from the first to ``X-WP-TotalPages``."""
        page = 1
        while True:
            query = {**(params or {}), "page": page, "per_page": PER_PAGE}
            response = await self.api.request("GET", path, params=query)
            if response is None:  # not reached: only missing_ok turns a 404 into None
                return
            items = _json_list(response.json() if response.content else [], path)
            yield items
            total_pages = _int_header(response.headers.get("X-WP-TotalPages"))
            if not items or total_pages is None or page >= total_pages:
                return
            page += 1

    async def all(self, path: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """Every item of a list endpoint, all pages."""
        out: list[dict[str, Any]] = []
        async for items in self.pages(path, params):
            out.extend(items)
        return out

    async def customer(self, email: str) -> dict[str, Any] | None:
        """The registered customer with exactly this e-mail address, or None (guests too)."""
        if not email.strip():
            return None
        # role=all: a buyer may be a "subscriber" or have another role; email is exact.
        found = await self.all("/customers", {"email": email.strip(), "role": "all"})
        return next((c for c in found if same_email(c.get("email"), email)), None)

    async def customer_by_id(self, customer_id: int | str) -> dict[str, Any] | None:
        got = await self.api.json("GET", f"/customers/{int(customer_id)}", missing_ok=True)
        return got if isinstance(got, dict) else None

    async def orders_of(self, email: str) -> list[dict[str, Any]]:
        """Every order of the person with this address, registered or guest, by order id.

        The registered customer's orders by ``customer=<id>``, plus orders by
        ``search=<email>`` whose billing e-mail is exactly the address: the only way to find
        guest orders (WooCommerce keeps guests only on their orders), and orders placed as a
        guest before registering. Search matches substrings of many fields, hence the filter.
        """
        if not email.strip():
            return []
        found: dict[int, dict[str, Any]] = {}
        customer = await self.customer(email)
        if customer is not None:
            for order in await self.all("/orders", {"customer": customer["id"], "status": "any"}):
                found[int(order["id"])] = order
        for order in await self.all("/orders", {"search": email.strip(), "status": "any"}):
            billing = order.get("billing") or {}
            if same_email(billing.get("email"), email):
                found.setdefault(int(order["id"]), order)
        return [found[k] for k in sorted(found)]

    async def order_notes(self, order_id: int) -> list[dict[str, Any]]:
        """An order's notes (not paginated by the API: all of them in one answer)."""
        got = await self.api.json("GET", f"/orders/{int(order_id)}/notes", missing_ok=True)
        return _json_list(got or [], f"/orders/{order_id}/notes")

    async def settings(self, group: str) -> list[dict[str, Any]]:
        """The options of one settings group (``GET /settings/<group>``)."""
        return _json_list(await self.api.json("GET", f"/settings/{group}") or [], group)

    # --- writing ---------------------------------------------------------------------------

    async def update_customer(self, customer_id: int, body: Mapping[str, Any]) -> dict[str, Any]:
        return _json_object(
            await self.api.json("PUT", f"/customers/{int(customer_id)}", json=dict(body)),
            "customer",
        )

    async def delete_customer(self, customer_id: int) -> bool:
        """Delete a customer for good (``force=true``: customers cannot be trashed)."""
        got = await self.api.json(
            "DELETE", f"/customers/{int(customer_id)}", params={"force": "true"}, missing_ok=True
        )
        return got is not None

    async def update_order(self, order_id: int, body: Mapping[str, Any]) -> dict[str, Any]:
        return _json_object(
            await self.api.json("PUT", f"/orders/{int(order_id)}", json=dict(body)), "order"
        )

    async def delete_order(self, order_id: int) -> bool:
        """Delete an order for good (``force=true``; without it, it would go to the trash)."""
        got = await self.api.json(
            "DELETE", f"/orders/{int(order_id)}", params={"force": "true"}, missing_ok=True
        )
        return got is not None

    async def delete_order_note(self, order_id: int, note_id: int) -> bool:
        got = await self.api.json(
            "DELETE",
            f"/orders/{int(order_id)}/notes/{int(note_id)}",
            params={"force": "true"},
            missing_ok=True,
        )
        return got is not None

    async def aclose(self) -> None:
        await self.api.aclose()


def _int_header(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _json_list(value: Any, what: str) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise Fatal(f"{VENDOR} answered {what} with something that is not a list of objects")
    return value


def _json_object(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise Fatal(f"{VENDOR} answered with something that is not a {what} object")
    return value
