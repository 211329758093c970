"""The background sender: on its own, and started by the app when SMTP is configured."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from mail_support import Inbox
from sqlalchemy import select

from personvern.mail import queue, run_sender, sender
from personvern.runtime import Runtime
from personvern.settings import Settings
from personvern.store.mail import OutboxMessage
from personvern.web.app import create_app


def _queue(runtime: Runtime, to: str) -> int:
    with runtime.audit.session() as session:
        return queue(
            session, to=to, subject="Kvittering – æøå", text="Takk!", lang="nb", purpose="notice"
        ).id


async def _until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "not within the time"
        await asyncio.sleep(0.02)


async def test_run_sender_delivers_until_stopped(mail_runtime: Runtime, inbox: Inbox) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(run_sender(mail_runtime, interval=0.05, stop=stop))
    _queue(mail_runtime, "forste@example.no")
    await _until(lambda: len(inbox.received) == 1)
    _queue(mail_runtime, "andre@example.no")  # queued while it runs: picked up next round
    await _until(lambda: len(inbox.received) == 2)
    stop.set()
    await asyncio.wait_for(task, timeout=10)
    assert [r.rcpt_tos[0] for r in inbox.received] == ["forste@example.no", "andre@example.no"]


async def test_a_failed_round_is_logged_without_its_text_and_retried(
    mail_runtime: Runtime,
    inbox: Inbox,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    real = sender.deliver_due
    rounds: list[int] = []

    def flaky(runtime: Runtime, **options: Any) -> sender.DeliveryReport:
        rounds.append(1)
        if len(rounds) == 1:  # e.g. the store unreachable for a moment
            raise RuntimeError("could not store kari@example.no")
        return real(runtime, **options)

    monkeypatch.setattr(sender, "deliver_due", flaky)
    _queue(mail_runtime, "kari@example.no")
    stop = asyncio.Event()
    with caplog.at_level(logging.INFO, logger="personvern.mail"):
        task = asyncio.create_task(run_sender(mail_runtime, interval=0.05, stop=stop))
        await _until(lambda: len(inbox.received) == 1)
        stop.set()
        await asyncio.wait_for(task, timeout=10)
    assert len(rounds) >= 2
    assert "RuntimeError" in caplog.text
    assert "kari@example.no" not in caplog.text  # nothing personal in the log


def test_the_app_sends_in_the_background_when_smtp_is_set(
    mail_settings: Settings, mail_runtime: Runtime, inbox: Inbox
) -> None:
    _queue(mail_runtime, "kari@example.no")
    with TestClient(create_app(mail_settings, runtime=mail_runtime)):
        deadline = time.monotonic() + 15
        while not inbox.received:
            assert time.monotonic() < deadline, "the app's sender did not send within 15 s"
            time.sleep(0.05)
    # Leaving the block ran the lifespan's shutdown, which stopped the sender cleanly.
    assert inbox.received[0].message["Subject"] == "Kvittering – æøå"


def test_the_app_sends_nothing_without_smtp(settings: Settings, runtime: Runtime) -> None:
    _queue(runtime, "kari@example.no")
    with TestClient(create_app(settings, runtime=runtime)):
        time.sleep(0.2)
    with runtime.sessions() as session:
        statuses = set(session.scalars(select(OutboxMessage.status)))
    assert statuses == {"queued"}  # kept for the admin's mail viewer
