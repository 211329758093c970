"""A stand-in for a shop's WooCommerce REST API v3, backed by the demo shop's database.

Follows the published reference, https://woocommerce.github.io/woocommerce-rest-api-docs/
("Authentication", "Pagination", "Errors", "Customers", "Orders", "Order notes", "Setting
options"), and WooCommerce's controllers where the reference is silent. The API root is
``<shop>/wp-json/wc/v3``; the shop's root here is the sandbox's ``/woocommerce`` prefix.
The data is the demo shop's own tables (:mod:`personvern.sandbox.woocommerce_shop`), so the
``sql`` connector and this API see, and change, the same shop.

Implemented:

- **Auth**: HTTP Basic with the REST API key pair (``ck_…``/``cs_…``), the same pair as
  ``consumer_key``/``consumer_secret`` query parameters, or a WordPress application password
  (Basic ``user:password``; WordPress ignores the spaces it shows the password with). The real
  API takes Basic only over HTTPS (OAuth 1.0a over HTTP); the sandbox, on loopback, takes it
  over HTTP. Failures are 401 with WooCommerce's codes (``woocommerce_rest_authentication_error``
  "Consumer key is invalid.", ``incorrect_password``, ``woocommerce_rest_cannot_view``).
- **Errors**: ``{"code": "...", "message": "...", "data": {"status": N}}`` for 400/401/404/501
  and for injected faults.
- **Pagination**: ``page``, ``per_page`` (1–100, else 400 ``rest_invalid_param``), ``offset``;
  ``X-WP-Total``, ``X-WP-TotalPages`` and ``Link`` (``rel="next"``/``rel="prev"``) headers.
- ``GET /customers`` (``email`` exact, ``search``, ``role`` — default ``customer``, ``all`` —,
  ``orderby`` id|name|registered_date, ``order``); ``GET|PUT|DELETE /customers/{id}``:
  ``DELETE`` needs ``force=true``, else 501 ``woocommerce_rest_trash_not_supported``
  "Customers do not support trashing."; ``username`` cannot be changed (400).
- ``GET /orders`` (``customer`` — 0 for guests —, ``search``, ``status`` — ``any`` by
  default, or a comma-separated list —, ``after``/``before`` on ``date_created``, ``orderby``
  date|id, ``order``); ``GET|PUT|DELETE /orders/{id}`` (without ``force`` to the trash).
- ``GET /orders/{id}/notes``, ``DELETE /orders/{id}/notes/{note_id}`` (``force=true``).
- ``GET /settings/account``, ``GET|PUT /settings/account/{option}``: the "Accounts &
  Privacy" group with the personal-data retention options (type ``relative_date_selector``,
  value ``{"number": "...", "unit": "days|weeks|months|years"}``; empty number: never).

**Read-only fields stay read-only.** WooCommerce's order schema marks
``customer_ip_address`` (and ``customer_user_agent``, ``number``, the totals and dates)
``readonly``; WordPress leaves such fields out of the endpoint's arguments, so a ``PUT``
that sends them succeeds and changes nothing. The IP address on an order can therefore not
be masked through the REST API: only WooCommerce's own eraser
(``WC_Privacy_Erasers::remove_order_personal_data``, run from WordPress's privacy tools or
the personvern-bridge plugin) does that. The sandbox behaves the same.

Not implemented: creating customers or orders, batch endpoints, refunds, ``line_items``
updates (ignored), downloads, products, coupons, reports, webhooks, OAuth 1.0a, ``_fields``
and ``context``, and adding order notes.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final
from urllib.parse import urlencode

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from personvern.sandbox.server import SandboxContext, Vendor, VendorApp
from personvern.sandbox.woocommerce_shop import ORDER_STATUSES, WooError, WooShop, parse_date

REFERENCE: Final = "https://woocommerce.github.io/woocommerce-rest-api-docs/"
API: Final = "/wp-json/wc/v3"
CONSUMER_KEY: Final = "ck_5a1db0c6e0f2d4c8a9b7e3f1d2c4b6a8e0f1a2b3"
# Made-up credentials of the sandbox alone (GET /_sandbox shows them); no real shop has them.
CONSUMER_SECRET: Final = "cs_9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d"  # noqa: S105
APP_USER: Final = "assemble-admin"
APP_PASSWORD: Final = "abcd EFGH 1234 ijkl MNOP 6789"  # noqa: S105

Handler = Callable[[Request], Awaitable[Response]]


def _retention(option: str, label: str, number: str, unit: str, desc: str) -> dict[str, Any]:
    return {
        "id": option,
        "label": label,
        "description": desc,
        "type": "relative_date_selector",
        "default": {"number": "", "unit": "months"},
        "tip": "Leave the number empty to keep this data forever.",
        "value": {"number": number, "unit": unit},
    }


def account_settings() -> list[dict[str, Any]]:
    """WooCommerce → Settings → Accounts & Privacy, as the sandbox shop has set it."""
    return [
        {
            "id": "woocommerce_erasure_request_removes_order_data",
            "label": "Account erasure requests",
            "description": "Remove personal data from orders on request",
            "type": "checkbox",
            "default": "no",
            "value": "no",
        },
        _retention(
            "woocommerce_delete_inactive_accounts",
            "Retain inactive accounts",
            "3",
            "years",
            "Inactive accounts are those which have not logged in, or placed an order.",
        ),
        _retention(
            "woocommerce_trash_pending_orders",
            "Retain pending orders",
            "1",
            "months",
            "Pending orders are unpaid and may have been abandoned.",
        ),
        _retention(
            "woocommerce_trash_failed_orders",
            "Retain failed orders",
            "1",
            "months",
            "Failed orders are unpaid and may have been abandoned.",
        ),
        _retention(
            "woocommerce_trash_cancelled_orders",
            "Retain cancelled orders",
            "1",
            "years",
            "Cancelled orders could be cancelled by the admin or customer.",
        ),
        _retention(
            "woocommerce_anonymize_refunded_orders",
            "Retain refunded orders",
            "",
            "months",
            "Refunded orders may be needed for accounting; they are anonymized, not deleted.",
        ),
        _retention(
            "woocommerce_anonymize_completed_orders",
            "Retain completed orders",
            "6",
            "years",
            "Completed orders are anonymized, not deleted.",
        ),
    ]


def error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"code": code, "message": message, "data": {"status": status}}, status)


def error_body(status: int) -> Mapping[str, Any]:
    """An injected fault in WooCommerce's (WordPress's) error shape."""
    code, message = {
        401: ("woocommerce_rest_authentication_error", "Consumer key is invalid."),
        403: ("woocommerce_rest_cannot_view", "Sorry, you cannot list resources."),
        404: ("rest_no_route", "No route was found matching the URL and request method."),
        429: ("too_many_requests", "Too many requests; try again later."),
    }.get(status, ("internal_server_error", "There has been a critical error on this website."))
    return {"code": code, "message": message, "data": {"status": status}}


class WooApi:
    """The REST endpoints over a :class:`WooShop`."""

    def __init__(self, shop: WooShop) -> None:
        self.shop = shop

    # --- auth and plumbing -----------------------------------------------------------------

    def _refused(self, request: Request) -> JSONResponse | None:
        user = request.query_params.get("consumer_key")
        password = request.query_params.get("consumer_secret")
        header = request.headers.get("authorization", "")
        if user is None and header.lower().startswith("basic "):
            try:
                decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
            except (binascii.Error, UnicodeDecodeError):
                decoded = ""
            user, _, password = decoded.partition(":")
        if not user:
            return error(401, "woocommerce_rest_cannot_view", "Sorry, you cannot list resources.")
        if user.startswith("ck_"):
            if user != CONSUMER_KEY:
                return error(
                    401, "woocommerce_rest_authentication_error", "Consumer key is invalid."
                )
            if password != CONSUMER_SECRET:
                return error(
                    401, "woocommerce_rest_authentication_error", "Consumer secret is invalid."
                )
            return None
        if user != APP_USER:
            return error(
                401, "invalid_username", "Unknown username. Check again or try your email address."
            )
        if (password or "").replace(" ", "") != APP_PASSWORD.replace(" ", ""):
            return error(
                401,
                "incorrect_password",
                "The provided password is an invalid application password.",
            )
        return None

    def guarded(self, handler: Handler) -> Handler:
        async def endpoint(request: Request) -> Response:
            refused = self._refused(request)
            if refused is not None:
                return refused
            try:
                return await handler(request)
            except WooError as exc:
                return error(exc.status, exc.code, exc.message)

        return endpoint

    @staticmethod
    async def _body(request: Request) -> Mapping[str, Any]:
        try:
            body = await request.json()
        except ValueError:
            raise WooError(400, "rest_invalid_json", "Invalid JSON body passed.") from None
        if not isinstance(body, dict):
            raise WooError(400, "rest_invalid_json", "Invalid JSON body passed.")
        return body

    @staticmethod
    def _int(request: Request, name: str, default: int, low: int, high: int | None) -> int:
        raw = request.query_params.get(name)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise WooError(400, "rest_invalid_param", f"Invalid parameter(s): {name}") from None
        if value < low or (high is not None and value > high):
            raise WooError(400, "rest_invalid_param", f"Invalid parameter(s): {name}")
        return value

    def _window(self, request: Request) -> tuple[int, int, int]:
        page = self._int(request, "page", 1, 1, None)
        per_page = self._int(request, "per_page", 10, 1, 100)
        offset = self._int(request, "offset", (page - 1) * per_page, 0, None)
        return page, per_page, offset

    @staticmethod
    def _paged(
        request: Request, items: list[dict[str, Any]], total: int, page: int, per: int
    ) -> Response:
        pages = (total + per - 1) // per
        headers = {"X-WP-Total": str(total), "X-WP-TotalPages": str(pages)}
        links = []
        base = str(request.url.remove_query_params(["page"])).split("?")[0]
        query = {k: v for k, v in request.query_params.items() if k not in ("page",)}
        query.pop("consumer_secret", None)  # never echo a secret into a header
        query.pop("consumer_key", None)
        if page > 1:
            links.append(f'<{base}?{urlencode({**query, "page": page - 1})}>; rel="prev"')
        if page < pages:
            links.append(f'<{base}?{urlencode({**query, "page": page + 1})}>; rel="next"')
        if links:
            headers["Link"] = ", ".join(links)
        return JSONResponse(items, headers=headers)

    @staticmethod
    def _force(request: Request) -> bool:
        return request.query_params.get("force", "").lower() in ("true", "1", "yes")

    # --- customers -------------------------------------------------------------------------

    async def list_customers(self, request: Request) -> Response:
        page, per_page, offset = self._window(request)
        q = request.query_params
        found = self.shop.accounts.customers(
            email=q.get("email"),
            search=q.get("search"),
            role=q.get("role", "customer"),
            orderby=q.get("orderby", "name"),
            order=q.get("order", "asc"),
            offset=offset,
            per_page=per_page,
        )
        return self._paged(request, found.items, found.total, page, per_page)

    async def customer(self, request: Request) -> Response:
        customer_id = int(request.path_params["id"])
        if request.method == "GET":
            return JSONResponse(self.shop.accounts.customer(customer_id))
        if request.method == "PUT":
            return JSONResponse(
                self.shop.accounts.update_customer(customer_id, await self._body(request))
            )
        if not self._force(request):
            raise WooError(
                501, "woocommerce_rest_trash_not_supported", "Customers do not support trashing."
            )
        return JSONResponse(self.shop.accounts.delete_customer(customer_id))

    # --- orders ----------------------------------------------------------------------------

    async def list_orders(self, request: Request) -> Response:
        page, per_page, offset = self._window(request)
        q = request.query_params
        customer = self._int(request, "customer", -1, 0, None)
        statuses = [s.strip() for s in q.get("status", "any").split(",") if s.strip()]
        for status in statuses:
            if status != "any" and status not in ORDER_STATUSES:
                raise WooError(400, "rest_invalid_param", "Invalid parameter(s): status")
        found = self.shop.orders(
            customer=None if customer < 0 else customer,
            search=q.get("search"),
            statuses=statuses or ["any"],
            after=parse_date(q["after"], "after") if "after" in q else None,
            before=parse_date(q["before"], "before") if "before" in q else None,
            orderby=q.get("orderby", "date"),
            order=q.get("order", "desc"),
            offset=offset,
            per_page=per_page,
        )
        return self._paged(request, found.items, found.total, page, per_page)

    async def order(self, request: Request) -> Response:
        order_id = int(request.path_params["id"])
        if request.method == "GET":
            return JSONResponse(self.shop.order(order_id))
        if request.method == "PUT":
            return JSONResponse(self.shop.update_order(order_id, await self._body(request)))
        return JSONResponse(self.shop.delete_order(order_id, force=self._force(request)))

    async def notes(self, request: Request) -> Response:
        return JSONResponse(self.shop.order_notes(int(request.path_params["id"])))

    async def note(self, request: Request) -> Response:
        order_id, note_id = int(request.path_params["id"]), int(request.path_params["note"])
        if request.method == "GET":
            for note in self.shop.order_notes(order_id):
                if note["id"] == note_id:
                    return JSONResponse(note)
            raise WooError(404, "woocommerce_rest_invalid_id", "Invalid resource ID.")
        if not self._force(request):
            raise WooError(
                501, "woocommerce_rest_trash_not_supported", "Order notes do not support trashing."
            )
        return JSONResponse(self.shop.delete_note(order_id, note_id))

    # --- settings --------------------------------------------------------------------------

    async def settings_group(self, request: Request) -> Response:
        return JSONResponse(self.shop.setting_group(request.path_params["group"]))

    async def setting(self, request: Request) -> Response:
        group, option = request.path_params["group"], request.path_params["option"]
        if request.method == "PUT":
            body = await self._body(request)
            return JSONResponse(self.shop.update_setting(group, option, body.get("value")))
        for setting in self.shop.setting_group(group):
            if setting["id"] == option:
                return JSONResponse(setting)
        raise WooError(404, "rest_setting_setting_invalid", "Invalid setting.")

    def routes(self) -> list[Route]:
        g = self.guarded
        return [
            Route(f"{API}/customers", g(self.list_customers), methods=["GET"]),
            Route(
                f"{API}/customers/{{id:int}}", g(self.customer), methods=["GET", "PUT", "DELETE"]
            ),
            Route(f"{API}/orders", g(self.list_orders), methods=["GET"]),
            Route(f"{API}/orders/{{id:int}}", g(self.order), methods=["GET", "PUT", "DELETE"]),
            Route(f"{API}/orders/{{id:int}}/notes", g(self.notes), methods=["GET"]),
            Route(
                f"{API}/orders/{{id:int}}/notes/{{note:int}}",
                g(self.note),
                methods=["GET", "DELETE"],
            ),
            Route(f"{API}/settings/{{group}}", g(self.settings_group), methods=["GET"]),
            Route(f"{API}/settings/{{group}}/{{option}}", g(self.setting), methods=["GET", "PUT"]),
        ]


async def _no_route(request: Request, exc: Exception) -> Response:
    return error(404, "rest_no_route", "No route was found matching the URL and request method.")


def build(context: SandboxContext) -> VendorApp:
    shop = WooShop(context.shop_url, settings={"account": account_settings()})
    api = WooApi(shop)
    app = Starlette(routes=api.routes(), exception_handlers={404: _no_route, 405: _no_route})
    return VendorApp(
        app=app,
        snapshot=shop.snapshot,
        credentials={
            "consumer_key": CONSUMER_KEY,
            "consumer_secret": CONSUMER_SECRET,
            "username": APP_USER,
            "application_password": APP_PASSWORD,
        },
        state=shop,
    )


VENDOR = Vendor(name="woocommerce", reference=REFERENCE, build=build, error_body=error_body)
