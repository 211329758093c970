"""``personvern mail send`` and ``mail list`` as real processes, two senders at once included."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from mail_support import MAIL_FROM, Inbox

from personvern.mail import queue
from personvern.runtime import Runtime
from personvern.settings import Settings


@pytest.fixture
def env(settings: Settings) -> dict[str, str]:
    return {
        "PERSONVERN_DATABASE_URL": settings.resolved_database_url(),
        "PERSONVERN_DATA_DIR": str(settings.data_dir),
        "PERSONVERN_SECRET_KEY": settings.secret_bytes().decode(),
        "PERSONVERN_SMTP_HOST": "",
    }


@pytest.fixture
def smtp_env(env: dict[str, str], smtp_port: int) -> dict[str, str]:
    return {
        **env,
        "PERSONVERN_SMTP_HOST": "127.0.0.1",
        "PERSONVERN_SMTP_PORT": str(smtp_port),
        "PERSONVERN_SMTP_SECURITY": "none",
        "PERSONVERN_MAIL_FROM": MAIL_FROM,
    }


def _start(*args: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "personvern", *args],
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def run(*args: str, env: dict[str, str]) -> tuple[int, str, str]:
    process = _start(*args, env=env)
    out, err = process.communicate(timeout=120)
    return process.returncode, out, err


def _queue(runtime: Runtime, count: int) -> None:
    with runtime.audit.session() as session:
        for n in range(count):
            queue(
                session,
                to=f"kunde{n}@example.no",
                subject=f"Kvittering nr. {n} – æøå",
                text="Takk for bestillingen.",
                lang="nb",
                purpose="notice",
            )


def test_list_and_send_without_smtp(env: dict[str, str], runtime: Runtime) -> None:
    code, out, err = run("mail", "list", env=env)
    assert (code, out.strip()) == (0, "the outbox is empty"), err
    _queue(runtime, 2)
    code, out, err = run("mail", "list", env=env)
    assert code == 0, err
    lines = out.splitlines()
    assert len(lines) == 2
    assert "kunde1@example.no" in lines[0]  # newest first
    assert "Kvittering nr. 1 – æøå" in lines[0]
    assert "queued" in lines[0]
    code, out, err = run("mail", "list", "--status", "sent", env=env)
    assert (code, out.strip()) == (0, "no sent messages")
    code, out, err = run("mail", "list", "--status", "lost", env=env)
    assert code == 2
    assert "queued, sending, sent, failed" in err
    code, out, err = run("mail", "send", env=env)
    assert code == 0, err
    assert "SMTP is not configured" in out
    assert "2 message(s) wait" in out


def test_send_with_the_server_down_exits_1(smtp_env: dict[str, str], runtime: Runtime) -> None:
    _queue(runtime, 1)
    code, out, err = run("mail", "send", env=smtp_env)
    assert code == 1, err
    assert "to retry 1" in out
    assert "could not connect" in out


def test_smtp_host_without_mail_from_is_refused(env: dict[str, str]) -> None:
    code, _out, err = run("mail", "send", env={**env, "PERSONVERN_SMTP_HOST": "127.0.0.1"})
    assert code == 1
    assert "PERSONVERN_MAIL_FROM" in err


def test_two_send_processes_at_once_send_each_message_once(
    smtp_env: dict[str, str], runtime: Runtime, inbox: Inbox
) -> None:
    inbox.delay = 0.005
    _queue(runtime, 40)
    processes = [_start("mail", "send", env=smtp_env) for _ in range(2)]
    results = [p.communicate(timeout=120) for p in processes]
    assert [p.returncode for p in processes] == [0, 0], results
    assert len(inbox.received) == 40
    assert len(set(inbox.message_ids())) == 40
    sent = sum(int(out.split("sent ")[1].split(",")[0]) for out, _err in results)
    assert sent == 40
    _code, out, _err = run("mail", "list", "--status", "sent", env=smtp_env)
    assert len(out.splitlines()) == 40
