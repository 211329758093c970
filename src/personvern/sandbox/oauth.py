"""An OAuth2 token endpoint and bearer-token check, shared by the Google and Visma sandboxes.

Follows RFC 6749 § 6 (refreshing an access token) and § 5.2 (error responses), and RFC
6750 § 3 (``WWW-Authenticate: Bearer error="invalid_token"`` on a bad token), the way
Google (``https://oauth2.googleapis.com/token``) and Visma
(``https://identity.vismaonline.com/connect/token``) implement them:

- only ``grant_type=refresh_token`` is served (the grant a connector uses; the
  authorization-code step happens once, in the vendor's own consent screen);
- the client authenticates with HTTP Basic or with ``client_id``/``client_secret`` form
  fields; a wrong client is 401 ``invalid_client``, an unknown or spent refresh token 400
  ``invalid_grant``;
- the answer is ``{"access_token", "token_type": "Bearer", "expires_in", "scope"}``, plus
  a new ``refresh_token`` when the issuer rotates them (Visma always does; with
  ``one_time`` set, the old refresh token stops working, as Visma's default "one-time"
  tokens do);
- :meth:`TokenIssuer.expire_all` ends every access token at once, so that a test can
  prove a connector renews its token without waiting an hour.

Not implemented: the authorization-code and client-credentials grants, PKCE, token
revocation and introspection, ID tokens.
"""

from __future__ import annotations

import base64
import secrets
import threading
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

# (status, message, reason) → the vendor's own error response for an API call.
ApiError = Callable[[int, str, str], Response]


@dataclass(frozen=True)
class Grant:
    client_id: str
    scopes: frozenset[str]


class TokenIssuer:
    """The tokens one sandbox vendor has given out. Safe to use from the test's thread."""

    def __init__(
        self,
        clients: Mapping[str, str],
        *,
        lifetime: int = 3600,
        rotate: bool = False,
        one_time: bool = False,
    ) -> None:
        self.clients = dict(clients)  # client id → secret
        self.lifetime = lifetime
        self.rotate = rotate
        self.one_time = one_time
        self._lock = threading.Lock()
        self._refresh: dict[str, Grant] = {}
        self._access: dict[str, tuple[Grant, float]] = {}
        self.issued = 0  # access tokens handed out

    def add_refresh_token(self, client_id: str, scopes: Collection[str], value: str = "") -> str:
        """A refresh token for ``client_id`` with ``scopes`` (a new random one unless given)."""
        value = value or secrets.token_urlsafe(32)
        with self._lock:
            self._refresh[value] = Grant(client_id, frozenset(scopes))
        return value

    def expire_all(self) -> None:
        with self._lock:
            self._access.clear()

    def grant_of(self, access_token: str) -> Grant | None:
        with self._lock:
            found = self._access.get(access_token)
            if found is None or found[1] <= time.monotonic():
                return None
            return found[0]

    def _client(self, request: Request, form: Mapping[str, Any]) -> str | None:
        header = request.headers.get("authorization", "")
        client_id: Any
        secret: Any
        if header.lower().startswith("basic "):
            try:
                decoded = base64.b64decode(header[6:].strip()).decode()
            except ValueError:
                return None
            client_id, _, secret = decoded.partition(":")
        else:
            client_id, secret = form.get("client_id"), form.get("client_secret")
        if not isinstance(client_id, str) or not isinstance(secret, str):
            return None
        known = self.clients.get(client_id)
        if known is None or not secrets.compare_digest(known.encode(), secret.encode()):
            return None
        return client_id

    async def token_endpoint(self, request: Request) -> Response:
        """``POST <token url>``: the refresh-token grant (RFC 6749 § 6)."""
        form = await request.form()
        client_id = self._client(request, form)
        if client_id is None:
            return _oauth_error(401, "invalid_client", "The OAuth client was not found.")
        if form.get("grant_type") != "refresh_token":
            return _oauth_error(
                400, "unsupported_grant_type", "Only the refresh_token grant is served here."
            )
        presented = form.get("refresh_token")
        with self._lock:
            grant = self._refresh.get(presented) if isinstance(presented, str) else None
            if grant is None or grant.client_id != client_id:
                return _oauth_error(400, "invalid_grant", "Token has been expired or revoked.")
            access = secrets.token_urlsafe(32)
            self._access[access] = (grant, time.monotonic() + self.lifetime)
            self.issued += 1
            body: dict[str, Any] = {
                "access_token": access,
                "token_type": "Bearer",
                "expires_in": self.lifetime,
                "scope": " ".join(sorted(grant.scopes)),
            }
            if self.rotate:
                rotated = secrets.token_urlsafe(32)
                self._refresh[rotated] = grant
                if self.one_time and isinstance(presented, str):
                    del self._refresh[presented]
                body["refresh_token"] = rotated
        return JSONResponse(body, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})

    def authorize(
        self, request: Request, scopes: Collection[str], error: ApiError
    ) -> Response | None:
        """None when the request's bearer token is good and has one of ``scopes``.

        Otherwise the vendor's 401 (no or bad token, with ``WWW-Authenticate``) or 403
        (a good token without the scope), in its own error shape.
        """
        header = request.headers.get("authorization", "")
        value = header[7:].strip() if header.lower().startswith("bearer ") else ""
        grant = self.grant_of(value) if value else None
        if grant is None:
            response = error(
                401,
                "Request had invalid authentication credentials. Expected OAuth 2 access "
                "token, login cookie or other valid authentication credential.",
                "UNAUTHENTICATED",
            )
            response.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
            return response
        if scopes and not grant.scopes & set(scopes):
            response = error(
                403, "Request had insufficient authentication scopes.", "PERMISSION_DENIED"
            )
            response.headers["WWW-Authenticate"] = (
                f'Bearer error="insufficient_scope", scope="{" ".join(sorted(scopes))}"'
            )
            return response
        return None


def _oauth_error(status: int, code: str, description: str) -> JSONResponse:
    """RFC 6749 § 5.2."""
    return JSONResponse(
        {"error": code, "error_description": description},
        status_code=status,
        headers={"Cache-Control": "no-store"},
    )
