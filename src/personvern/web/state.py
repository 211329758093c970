"""What the app's request handlers share, built once by ``create_app`` and kept on the app."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from argon2 import PasswordHasher
from starlette.requests import HTTPConnection

from personvern.runtime import Runtime
from personvern.web.pages import Pages


@dataclass(frozen=True)
class WebState:
    """The parts of one app: its runtime, its page renderer and its password hasher.

    ``dummy_hash`` is an argon2 hash of a random password made with the same parameters as
    real ones; a sign-in for an unknown address is verified against it so that it costs the
    same time as one for a known address (no enumeration by timing).
    """

    runtime: Runtime
    pages: Pages
    passwords: PasswordHasher
    dummy_hash: str


def web_state(request: HTTPConnection) -> WebState:
    """The :class:`WebState` of the app serving ``request`` (a FastAPI dependency)."""
    return cast(WebState, request.app.state.personvern)
