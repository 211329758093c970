"""OAuth2 access tokens for vendor connectors: the refresh-token grant, cached and renewed.

Google (https://developers.google.com/identity/protocols/oauth2/web-server#offline) and
Visma (https://developer.vismaonline.com/docs/authentication) both hand a connector a
long-lived **refresh token** once, when the shop's admin authorises personvern; the
connector trades it for short-lived **access tokens** at the token endpoint
(RFC 6749 § 6: ``grant_type=refresh_token``) and sends them as ``Authorization: Bearer``
(RFC 6750).

- :class:`TokenSource` keeps the current access token until shortly before it expires
  (``expires_in``) and fetches a new one when asked after that, or when the API says the
  token it holds is no longer good (a 401).
- **Rotation**: Visma's identity server issues a new refresh token with every refresh, and
  by default the old one "cannot be used more than once" (Visma, "Change to our new
  Identity Server"). The source keeps the newest one in memory and, when given a
  ``cache_file``, writes it there (mode 0600) and prefers it over the configured one on the
  next start, so a restart does not reuse a spent token.
- :class:`BearerAuth` is the ``httpx.Auth`` a :class:`~personvern.connectors.http.VendorApi`
  is built with: it adds the header, and on a 401 to a token it did not just fetch, fetches
  a new one and sends the request once more. A second 401 goes back to the caller, whose
  error mapping makes it Fatal.

The token endpoint is reached through its own :class:`VendorApi`, so its failures have the
same two kinds as every other call; a refused grant is Fatal with a message that says
which credentials to renew.
"""

from __future__ import annotations

import os
import time
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import httpx
from pydantic import SecretStr

from personvern.connectors.base import Fatal
from personvern.connectors.http import VendorApi

# Ask for a new token this many seconds before the old one runs out, so that a request
# does not leave with a token that expires on the way.
EXPIRY_MARGIN = 60.0


@dataclass(frozen=True)
class AccessToken:
    value: str
    expires_at: float  # on the source's clock
    scopes: frozenset[str]


class TokenSource:
    """Access tokens from one token endpoint with one client and one refresh token.

    ``client_auth`` says how the client authenticates (RFC 6749 § 2.3.1): ``basic`` (HTTP
    Basic, as Visma documents) or ``body`` (``client_id``/``client_secret`` form fields, as
    Google's examples do). ``clock`` is monotonic seconds; tests leave it alone and make
    the server expire tokens instead.
    """

    def __init__(
        self,
        vendor: str,
        token_url: str,
        *,
        client_id: str,
        client_secret: SecretStr,
        refresh_token: SecretStr,
        client_auth: Literal["basic", "body"] = "body",
        cache_file: Path | None = None,
        timeout: float = 15.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.vendor = vendor
        self.token_url = token_url
        self._client_id = client_id
        self._client_secret = client_secret
        self._refresh_token = _cached_refresh_token(cache_file) or refresh_token
        self._client_auth = client_auth
        self._cache_file = cache_file
        self._timeout = timeout
        self._clock = clock
        self._token: AccessToken | None = None
        self._api: VendorApi | None = None
        self.refreshes = 0  # how many tokens were fetched; tests and logs read it

    def _endpoint(self) -> VendorApi:
        if self._api is None:
            auth = None
            if self._client_auth == "basic":
                auth = (self._client_id, self._client_secret.get_secret_value())
            url = httpx.URL(self.token_url)
            self._api = VendorApi(
                f"{self.vendor} (token endpoint)",
                str(url.copy_with(path="/", query=None, fragment=None)),
                auth=auth,
                timeout=self._timeout,
            )
        return self._api

    @property
    def current(self) -> AccessToken | None:
        """The token held now, if it is still good."""
        token = self._token
        if token is None or self._clock() >= token.expires_at - EXPIRY_MARGIN:
            return None
        return token

    def invalidate(self, value: str | None = None) -> None:
        """Forget the token (only if it is still ``value``, when given)."""
        if value is None or (self._token is not None and self._token.value == value):
            self._token = None

    async def token(self) -> AccessToken:
        """A good access token: the cached one, or a new one from the token endpoint."""
        return self.current or await self.refresh()

    async def refresh(self) -> AccessToken:
        """Trade the refresh token for a new access token (RFC 6749 § 6)."""
        form = {
            "grant_type": "refresh_token",
            "refresh_token": self._refresh_token.get_secret_value(),
        }
        if self._client_auth == "body":
            form["client_id"] = self._client_id
            form["client_secret"] = self._client_secret.get_secret_value()
        try:
            body = await self._endpoint().json("POST", httpx.URL(self.token_url).path, data=form)
        except Fatal as exc:
            raise Fatal(
                f"could not get an access token from {self.vendor}: {exc}. The client id, "
                "client secret or refresh token are wrong, revoked or already used; authorise "
                "personvern again and put the new refresh token in the environment variable "
                "the inventory names"
            ) from None
        if not isinstance(body, dict) or not isinstance(body.get("access_token"), str):
            raise Fatal(
                f"the token endpoint of {self.vendor} at {self.token_url} did not answer with "
                "an access token; check token_url"
            )
        expires_in = body.get("expires_in")
        lifetime = float(expires_in) if isinstance(expires_in, int | float) else 3600.0
        scope = body.get("scope")
        scopes = frozenset(scope.split()) if isinstance(scope, str) else frozenset()
        rotated = body.get("refresh_token")
        if isinstance(rotated, str) and rotated:
            self._refresh_token = SecretStr(rotated)
            _store_refresh_token(self._cache_file, rotated)
        self._token = AccessToken(body["access_token"], self._clock() + lifetime, scopes)
        self.refreshes += 1
        return self._token

    async def aclose(self) -> None:
        if self._api is not None:
            await self._api.aclose()
            self._api = None


def _cached_refresh_token(path: Path | None) -> SecretStr | None:
    if path is None:
        return None
    try:
        value = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise Fatal(
            f"cannot read the token cache {path}: {exc.strerror}; fix its permissions"
        ) from None
    return SecretStr(value) if value else None


def _store_refresh_token(path: Path | None, value: str) -> None:
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(path.name + ".tmp")
        # Written whole and renamed, so a crash never leaves half a token behind.
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(value)
        os.replace(temporary, path)
    except OSError as exc:
        raise Fatal(
            f"got a new refresh token but could not save it to {path}: {exc.strerror}. The "
            "old one is spent: make the folder writable, then authorise personvern again"
        ) from None


class BearerAuth(httpx.Auth):
    """``Authorization: Bearer`` from a :class:`TokenSource`, renewed once on a 401."""

    def __init__(self, source: TokenSource) -> None:
        self.source = source

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        fresh = self.source.current is None
        token = await self.source.token()
        request.headers["Authorization"] = f"Bearer {token.value}"
        response = yield request
        if response.status_code != 401 or fresh:
            return
        # The token was revoked or expired early on the server's side: one new try.
        self.source.invalidate(token.value)
        token = await self.source.refresh()
        request.headers["Authorization"] = f"Bearer {token.value}"
        yield request
