"""What every connector that speaks HTTP to a vendor shares: one client, one error mapping.

A vendor connector builds one :class:`VendorApi` (lazily, in its first call; ``__init__``
does no I/O) and calls :meth:`VendorApi.request` / :meth:`VendorApi.json`. Failures come
back as the two kinds the executor understands (STYLE.md, :mod:`personvern.connectors.base`):

- **Retriable**: timeouts and connection errors, 408, 425, 429 and every 5xx, with
  ``retry_after`` taken from the ``Retry-After`` header (seconds or an HTTP date,
  RFC 9110 § 10.2.3) when the vendor sends one;
- **Fatal**: 401 and 403 (the credentials are wrong or lack a permission: retrying will
  not fix that), and every other 4xx (the request itself is wrong). A 404 is Fatal unless
  the caller says it means "not there" (``missing_ok=True``), which is how a lookup of an
  unknown person returns nothing instead of failing.

Messages name the vendor, the method and the path, and quote the vendor's own error text
(``detail``, ``message``, ``error_description``, ``title`` …) so the admin knows what to
fix. Secrets never appear in them: the URL is shown without its query string and no
header is ever repeated.
"""

from __future__ import annotations

import email.utils
import json as jsonlib
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final

import httpx

from personvern.connectors.base import Fatal, Retriable

RETRIABLE_STATUS: Final = frozenset({408, 425, 429})
CREDENTIAL_STATUS: Final = frozenset({401, 403})
_ERROR_KEYS: Final = (
    "detail",
    "message",
    "error_description",
    "error",
    "title",
    "errorMessage",
    "Message",
    "developerMessage",
    "DeveloperErrorMessage",  # Visma eAccounting
)
DEFAULT_TIMEOUT: Final = 15.0


def retry_after_seconds(value: str | None, *, now: datetime | None = None) -> float | None:
    """``Retry-After`` as seconds from now: delay-seconds or an HTTP date (RFC 9110 § 10.2.3)."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def vendor_message(response: httpx.Response) -> str:
    """The vendor's own words about what went wrong, from a JSON or text error body."""
    try:
        body: Any = response.json()
    except (ValueError, jsonlib.JSONDecodeError):
        text = response.text.strip()
        return text[:300]
    return _find_message(body)[:300]


def _find_message(body: Any) -> str:
    if isinstance(body, Mapping):
        for key in _ERROR_KEYS:
            value = body.get(key)
            if isinstance(value, str) and value.strip():
                return value.strip()
            if isinstance(value, Mapping | list):
                found = _find_message(value)
                if found:
                    return found
        for key in ("errors", "error_messages", "Errors"):
            if key in body:
                found = _find_message(body[key])
                if found:
                    return found
        return ""
    if isinstance(body, list):
        for item in body:
            found = _find_message(item)
            if found:
                return found
        return ""
    return str(body) if body is not None else ""


class VendorApi:
    """An HTTP client for one vendor's API, with the shared error mapping.

    ``base_url`` is the API's root (a sandbox's address in tests and the demo). ``auth``,
    ``headers`` and ``params`` go with every request; put secrets there, never in paths.
    ``transport`` lets a test put a real server's ASGI app or a mounted transport in front;
    connectors leave it ``None``.
    """

    def __init__(
        self,
        vendor: str,
        base_url: str,
        *,
        auth: httpx.Auth | tuple[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.vendor = vendor
        self.base_url = base_url.rstrip("/")
        self._client = httpx.AsyncClient(
            base_url=self.base_url,
            auth=auth,
            headers=dict(headers or {}),
            params=dict(params or {}),
            timeout=timeout,
            transport=transport,
            follow_redirects=False,
        )

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        missing_ok: bool = False,
    ) -> httpx.Response | None:
        """Send one request; the response on 2xx/3xx, ``None`` on 404 with ``missing_ok``."""
        where = f"{method.upper()} {path}"
        try:
            response = await self._client.request(
                method,
                path,
                params=dict(params) if params is not None else None,
                json=json,
                data=dict(data) if data is not None else None,
                headers=dict(headers) if headers is not None else None,
            )
        except httpx.TimeoutException as exc:
            raise Retriable(
                f"{self.vendor} did not answer {where} in time ({type(exc).__name__}); "
                "it will be tried again"
            ) from None
        except httpx.TransportError as exc:
            raise Retriable(
                f"could not reach {self.vendor} at {self.base_url} for {where} "
                f"({type(exc).__name__}); check the address, it will be tried again"
            ) from None
        status = response.status_code
        if status < 400:
            return response
        if status == 404 and missing_ok:
            return None
        said = vendor_message(response)
        said = f": {said}" if said else ""
        if status in CREDENTIAL_STATUS:
            raise Fatal(
                f"{self.vendor} refused {where} with HTTP {status}{said}. The credentials in "
                "the environment variables named in the inventory are wrong, expired or lack "
                "the permission this needs; fix them and run the step again"
            )
        if status in RETRIABLE_STATUS or status >= 500:
            raise Retriable(
                f"{self.vendor} answered {where} with HTTP {status}{said}; it will be tried again",
                retry_after=retry_after_seconds(response.headers.get("Retry-After")),
            )
        raise Fatal(f"{self.vendor} rejected {where} with HTTP {status}{said}")

    async def json(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        missing_ok: bool = False,
    ) -> Any:
        """Like :meth:`request`, returning the decoded JSON body (``None`` for 204 or 404)."""
        response = await self.request(
            method,
            path,
            params=params,
            json=json,
            data=data,
            headers=headers,
            missing_ok=missing_ok,
        )
        if response is None or response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise Fatal(
                f"{self.vendor} answered {method.upper()} {path} with something that is not "
                "JSON; is the address pointing at the API?"
            ) from None

    async def aclose(self) -> None:
        await self._client.aclose()
