"""Latency and failures injected in front of a vendor sandbox.

Each vendor has one :class:`Faults`. ``latency`` (seconds) delays every answer, which is how
the fan-out benchmark shows that a request reaches the vendors concurrently; queued
:class:`Fault` entries replace the next answers with an error in the vendor's own error
shape (``error_body``), with ``Retry-After`` where given, or hang for ``hang`` seconds
before answering (to make a client time out). Tests set them directly on the object; the
running sandbox also takes them over HTTP (``POST /_sandbox/faults``).
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

ErrorBody = Callable[[int], Mapping[str, Any]]


@dataclass(frozen=True)
class Fault:
    status: int
    retry_after: str | None = None
    hang: float = 0.0


class Faults:
    """What goes wrong in one vendor sandbox. Safe to change from another thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: deque[Fault] = deque()
        self.latency = 0.0
        self.served = 0  # requests answered, faults included

    def fail_next(
        self, status: int, *, times: int = 1, retry_after: str | None = None, hang: float = 0.0
    ) -> None:
        """Answer the next ``times`` requests with ``status`` (after ``hang`` seconds)."""
        with self._lock:
            self._queue.extend(Fault(status, retry_after, hang) for _ in range(times))

    def reset(self) -> None:
        with self._lock:
            self._queue.clear()
            self.latency = 0.0

    def take(self) -> Fault | None:
        with self._lock:
            self.served += 1
            return self._queue.popleft() if self._queue else None

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._queue)


class FaultMiddleware:
    """ASGI middleware applying a vendor's :class:`Faults` before its app answers."""

    def __init__(self, app: ASGIApp, faults: Faults, error_body: ErrorBody) -> None:
        self.app = app
        self.faults = faults
        self.error_body = error_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.faults.latency > 0:
            await asyncio.sleep(self.faults.latency)
        fault = self.faults.take()
        if fault is None:
            await self.app(scope, receive, send)
            return
        if fault.hang > 0:
            await asyncio.sleep(fault.hang)
        body = json.dumps(self.error_body(fault.status)).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ]
        if fault.retry_after is not None:
            headers.append((b"retry-after", fault.retry_after.encode()))
        await send({"type": "http.response.start", "status": fault.status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
