"""Security headers on every response: pages, errors, redirects and static files alike.

A pure ASGI middleware rather than ``BaseHTTPMiddleware``: it only rewrites the start of
the response, so streaming and static files pass through untouched.

The defaults suit the admin, which has no inline script or style at all (its CSS is a
static file), so the Content-Security-Policy needs no ``'unsafe-inline'``. A route that needs
another policy (the privacy center, a page embedding the consent banner) sets the header on
its own response; the middleware fills in only what a response has not set — except
``Cache-Control`` on the admin, which is always ``no-store`` because those pages hold
personal data that must not stay in a shared or back-button cache.
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "form-action 'self'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "object-src 'none'",
    ]
)

DEFAULT_HEADERS: Mapping[str, str] = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    # Nothing in personvern uses these; denying them limits what injected content could do.
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}

# Browsers honour HSTS only over valid HTTPS, so it is sent only then. No includeSubDomains:
# the shop's other hosts are not ours to decide for.
STRICT_TRANSPORT_SECURITY = "max-age=31536000"

ADMIN_PREFIX = "/admin"
STATIC_PREFIX = "/static/"


class SecurityHeadersMiddleware:
    """Adds :data:`DEFAULT_HEADERS` to every HTTP response (see the module docstring)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        https = scope.get("scheme") == "https"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in DEFAULT_HEADERS.items():
                    if name not in headers:
                        headers[name] = value
                if https and "Strict-Transport-Security" not in headers:
                    headers["Strict-Transport-Security"] = STRICT_TRANSPORT_SECURITY
                if path == ADMIN_PREFIX or path.startswith(ADMIN_PREFIX + "/"):
                    headers["Cache-Control"] = "no-store"
                elif not path.startswith(STATIC_PREFIX) and "Cache-Control" not in headers:
                    # Dynamic answers (health, errors, the API) are never worth caching.
                    headers["Cache-Control"] = "no-store"
            await send(message)

        await self.app(scope, receive, send_with_headers)
