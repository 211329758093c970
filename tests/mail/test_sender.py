"""Delivery over real SMTP (aiosmtpd on loopback): what arrives, retries with backoff while
the server is down, permanent refusals, TLS and AUTH, and two senders at once.

The clock is passed in (``now=``) rather than slept through, so two days of backoff take
no time.
"""

from __future__ import annotations

import re
import ssl
import threading
from datetime import timedelta
from email.message import EmailMessage

import pytest
from mail_support import SMTP_PASSWORD, SMTP_USER, Inbox, start_server
from sqlalchemy import select, update

from personvern.mail import deliver_due, queue
from personvern.mail.sender import BACKOFF, GIVE_UP_AFTER, LEASE, next_attempt
from personvern.runtime import Runtime
from personvern.settings import Settings
from personvern.store.base import utcnow
from personvern.store.mail import OutboxMessage

SUBJECT = "Bekreft forespørselen din – æøå ÆØÅ"
TEXT = "Hei Åse Ærlig-Øvrebø,\n\nklikk på lenken for å bekrefte: https://assemble.no/v/1\n"
HTML = (
    "<p>Hei <b>Åse Ærlig-Øvrebø</b>,</p><p>Klikk på <a href='https://assemble.no'>lenken</a>.</p>"
)


def _queue(runtime: Runtime, to: str = "ase@example.no", **fields: object) -> int:
    values: dict[str, object] = {
        "subject": SUBJECT,
        "text": TEXT,
        "lang": "nb",
        "purpose": "verify",
        **fields,
    }
    with runtime.audit.session() as session:
        return queue(session, to=to, **values).id  # type: ignore[arg-type]


def _row(runtime: Runtime, message_id: int) -> OutboxMessage:
    with runtime.sessions() as session:
        row = session.get(OutboxMessage, message_id)
    assert row is not None
    return row


def _body(message: EmailMessage, subtype: str) -> str:
    part = message.get_body(preferencelist=(subtype,))
    assert isinstance(part, EmailMessage), f"no text/{subtype} part"
    content = part.get_content()
    assert isinstance(content, str)
    return content


def test_a_queued_message_arrives_with_utf8_intact(mail_runtime: Runtime, inbox: Inbox) -> None:
    message_id = _queue(mail_runtime, request_id="req-1")
    report = deliver_due(mail_runtime)
    assert (report.sent, report.retrying, report.failed, report.waiting) == (1, 0, 0, 0)
    [got] = inbox.received
    assert got.rcpt_tos == ["ase@example.no"]
    assert got.mail_from == "personvern@assemble.no"  # the envelope: the bare address
    message = got.message
    assert message["Subject"] == SUBJECT
    assert message["From"] == "Assemble Prosjekt AS <personvern@assemble.no>"
    assert message["To"] == "ase@example.no"
    assert message["Date"] is not None
    assert message["Content-Language"] == "nb"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message.get_content_type() == "text/plain"
    assert message.get_content_charset() == "utf-8"
    assert _body(message, "plain").replace("\r\n", "\n") == TEXT
    # The raw message is 7-bit clean: no server needs 8BITMIME for æøå to survive.
    assert got.raw.isascii()
    row = _row(mail_runtime, message_id)
    assert row.status == "sent"
    assert row.attempts == 1
    assert row.sent_at is not None
    assert re.fullmatch(r"<[0-9a-f]{32}@assemble\.no>", row.message_id or "")
    assert message["Message-ID"] == row.message_id
    sent = [e for e in mail_runtime.audit.entries("ase@example.no") if e.action == "mail.sent"]
    assert len(sent) == 1
    assert sent[0].object_id == str(message_id)
    assert "ase@example.no" not in sent[0].details  # the audit log names people by key only


def test_html_is_sent_as_an_alternative_with_extra_headers(
    mail_runtime: Runtime, inbox: Inbox
) -> None:
    headers = {
        "List-Unsubscribe": "<https://assemble.no/unsubscribe/abc>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
    _queue(mail_runtime, html=HTML, headers=headers, purpose="notice")
    assert deliver_due(mail_runtime).sent == 1
    message = inbox.received[0].message
    assert message.get_content_type() == "multipart/alternative"
    parts = [part.get_content_type() for part in message.iter_parts()]
    assert parts == ["text/plain", "text/html"]  # RFC 2046: the preferred one last
    assert "Åse Ærlig-Øvrebø" in _body(message, "html")
    assert _body(message, "plain").replace("\r\n", "\n") == TEXT
    for name, value in headers.items():
        assert message[name] == value


def test_smtp_down_keeps_the_message_and_backs_off_until_it_is_up(
    mail_runtime: Runtime, smtp_port: int
) -> None:
    message_id = _queue(mail_runtime)
    t0 = utcnow()
    report = deliver_due(mail_runtime, now=t0)  # nothing listens on the port
    assert (report.sent, report.retrying, report.waiting) == (0, 1, 1)
    assert report.problem is not None
    assert "PERSONVERN_SMTP_HOST" in report.problem
    row = _row(mail_runtime, message_id)
    assert row.status == "queued"
    assert row.attempts == 1
    assert row.next_attempt_at == t0 + BACKOFF[0]
    assert row.last_error is not None
    assert "could not connect" in row.last_error
    first_id = row.message_id

    # Not due yet: nothing is tried, even with the server up.
    inbox = Inbox()
    controller = start_server(inbox, smtp_port)
    try:
        report = deliver_due(mail_runtime, now=t0 + BACKOFF[0] - timedelta(seconds=1))
        assert (report.sent, report.retrying, report.waiting) == (0, 0, 1)
        assert inbox.received == []
        report = deliver_due(mail_runtime, now=t0 + BACKOFF[0])
        assert report.sent == 1
    finally:
        controller.stop()
    row = _row(mail_runtime, message_id)
    assert (row.status, row.attempts, row.last_error) == ("sent", 2, None)
    # The same Message-ID on every attempt, so a receiver can tell a repeat.
    assert inbox.received[0].message["Message-ID"] == first_id


def test_gives_up_48_hours_after_queuing(mail_runtime: Runtime) -> None:
    message_id = _queue(mail_runtime)
    created = _row(mail_runtime, message_id).created_at
    now = created
    delays = []
    for _ in range(50):
        report = deliver_due(mail_runtime, now=now)
        row = _row(mail_runtime, message_id)
        if row.status != "queued":
            break
        delays.append(row.next_attempt_at - now)
        now = row.next_attempt_at
    assert report.failed == 1
    assert row.status == "failed"
    assert now == created + GIVE_UP_AFTER  # the last attempt is made at the deadline
    assert delays[:6] == list(BACKOFF)  # 1 min, 5 min, 30 min, 2 h, 6 h, 12 h …
    assert row.last_error is not None
    assert row.last_error.startswith("given up after")
    failed = [e for e in mail_runtime.audit.entries("ase@example.no") if e.action == "mail.failed"]
    assert len(failed) == 1


def test_next_attempt_schedule() -> None:
    created = utcnow()
    assert next_attempt(created, 1, created) == created + timedelta(minutes=1)
    assert next_attempt(created, 4, created) == created + timedelta(hours=2)
    assert next_attempt(created, 99, created + timedelta(hours=47)) == created + GIVE_UP_AFTER
    assert next_attempt(created, 3, created + GIVE_UP_AFTER) is None


def test_a_permanent_refusal_fails_at_once_and_the_batch_goes_on(
    mail_runtime: Runtime, inbox: Inbox
) -> None:
    refused = _queue(mail_runtime, to="refuse@example.no")
    busy = _queue(mail_runtime, to="later@example.no")
    fine = _queue(mail_runtime, to="kari@example.no")
    report = deliver_due(mail_runtime)
    assert (report.sent, report.retrying, report.failed) == (1, 1, 1)
    assert [r.rcpt_tos for r in inbox.received] == [["kari@example.no"]]
    row = _row(mail_runtime, refused)
    assert row.status == "failed"
    assert row.last_error is not None
    assert "550" in row.last_error
    row = _row(mail_runtime, busy)
    assert row.status == "queued"
    assert row.last_error is not None
    assert "451" in row.last_error
    assert _row(mail_runtime, fine).status == "sent"


def test_without_smtp_messages_wait_for_the_mail_viewer(runtime: Runtime) -> None:
    _queue(runtime)
    report = deliver_due(runtime)
    assert not report.configured
    assert (report.sent, report.waiting) == (0, 1)
    assert "/admin/outbox" in report.describe()


@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_tls_and_auth(
    mail_settings: Settings,
    smtp_port: int,
    server_tls: ssl.SSLContext,
    client_tls: ssl.SSLContext,
    security: str,
) -> None:
    from pydantic import SecretStr

    settings = mail_settings.model_copy(
        update={
            "smtp_security": security,
            "smtp_username": SMTP_USER,
            "smtp_password": SecretStr(SMTP_PASSWORD),
        }
    )
    wrong = settings.model_copy(update={"smtp_password": SecretStr("not the password")})
    inbox = Inbox()
    controller = start_server(inbox, smtp_port, security=security, tls=server_tls)
    runtime = Runtime.open(wrong, migrate=False)
    try:
        message_id = _queue(runtime)
        t0 = utcnow()
        report = deliver_due(runtime, now=t0, tls=client_tls)
        assert report.retrying == 1
        row = _row(runtime, message_id)
        assert row.status == "queued"
        assert row.last_error is not None
        assert "PERSONVERN_SMTP_PASSWORD" in row.last_error
        assert "not the password" not in row.last_error
        runtime.settings = settings  # the password fixed
        report = deliver_due(runtime, now=t0 + BACKOFF[0], tls=client_tls)
        assert report.sent == 1, report
        [got] = inbox.received
        assert got.authenticated
        assert got.message["Subject"] == SUBJECT
        # Without trusting the test certificate, the sender refuses the server.
        _queue(runtime, to="kari@example.no")
        report = deliver_due(runtime, now=t0 + BACKOFF[0])
        assert report.retrying == 1
        assert len(inbox.received) == 1
    finally:
        runtime.close()
        controller.stop()


def test_two_senders_at_once_never_send_a_message_twice(
    mail_runtime: Runtime, mail_settings: Settings, smtp_port: int
) -> None:
    inbox = Inbox(delay=0.002)
    controller = start_server(inbox, smtp_port)
    ids = [_queue(mail_runtime, to=f"kunde{n}@example.no") for n in range(60)]
    # Two runtimes, two engines, two connection pools: as two processes would have.
    runtimes = [Runtime.open(mail_settings, migrate=False) for _ in range(2)]
    start = threading.Barrier(len(runtimes))
    reports = []
    errors: list[BaseException] = []

    def sender(runtime: Runtime) -> None:
        try:
            start.wait()
            reports.append(deliver_due(runtime, limit=100))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=sender, args=(rt,)) for rt in runtimes]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    finally:
        for rt in runtimes:
            rt.close()
        controller.stop()
    assert errors == []
    assert sum(r.sent for r in reports) == 60
    received = inbox.message_ids()
    assert len(received) == 60
    assert len(set(received)) == 60  # no message twice
    assert sorted(r for rcpt in inbox.received for r in rcpt.rcpt_tos) == sorted(
        f"kunde{n}@example.no" for n in range(60)
    )
    with mail_runtime.sessions() as session:
        rows = session.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(ids))).all()
    assert {(row.status, row.attempts) for row in rows} == {("sent", 1)}


def test_postgresql_senders_skip_a_message_another_is_claiming(
    mail_runtime: Runtime, inbox: Inbox, backend: str
) -> None:
    if backend != "postgresql":
        pytest.skip("SKIP LOCKED is PostgreSQL's; SQLite serialises claims with its write lock")
    first = _queue(mail_runtime, to="forste@example.no")
    second = _queue(mail_runtime, to="andre@example.no")
    with mail_runtime.sessions() as other:
        # Another sender, in the middle of claiming the first message, holds its row lock.
        other.execute(
            select(OutboxMessage.id).where(OutboxMessage.id == first).with_for_update()
        ).all()
        report = deliver_due(mail_runtime)  # neither waits for that lock nor takes the row
        assert report.sent == 1
        assert [r.rcpt_tos for r in inbox.received] == [["andre@example.no"]]
        other.rollback()
    assert _row(mail_runtime, first).status == "queued"
    assert _row(mail_runtime, second).status == "sent"


def test_a_claim_left_by_a_dead_sender_is_taken_over_after_the_lease(
    mail_runtime: Runtime, inbox: Inbox
) -> None:
    message_id = _queue(mail_runtime)
    t0 = utcnow()
    with mail_runtime.sessions() as session:
        # What a sender killed between claiming and sending leaves behind.
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id)
            .values(status="sending", claim_token="dead", claimed_at=t0, attempts=1)
        )
        session.commit()
    assert deliver_due(mail_runtime, now=t0 + LEASE - timedelta(seconds=1)).sent == 0
    assert deliver_due(mail_runtime, now=t0 + LEASE).sent == 1
    row = _row(mail_runtime, message_id)
    assert (row.status, row.attempts, row.claim_token) == ("sent", 2, None)
    assert len(inbox.received) == 1


def test_sent_and_failed_messages_are_deleted_after_the_keep_days(
    mail_runtime: Runtime, inbox: Inbox
) -> None:
    sent = _queue(mail_runtime)
    t0 = utcnow()
    deliver_due(mail_runtime, now=t0)
    keep = timedelta(days=mail_runtime.settings.mail_keep_days)
    waiting = _queue(mail_runtime, to="kari@example.no")
    with mail_runtime.sessions() as session:  # not due for a long while
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == waiting)
            .values(next_attempt_at=t0 + keep * 2)
        )
        session.commit()
    assert deliver_due(mail_runtime, now=t0 + keep - timedelta(minutes=1)).purged == 0
    report = deliver_due(mail_runtime, now=t0 + keep + timedelta(minutes=1))
    assert report.purged == 1
    with mail_runtime.sessions() as session:
        assert session.get(OutboxMessage, sent) is None
        assert session.get(OutboxMessage, waiting) is not None  # never sent: kept
    assert any(e.action == "mail.purged" for e in mail_runtime.audit.entries())


@pytest.mark.parametrize("offered", [True, False], ids=["smtputf8", "no-smtputf8"])
def test_an_international_address_needs_smtputf8(
    mail_runtime: Runtime, smtp_port: int, offered: bool
) -> None:
    inbox = Inbox()
    controller = start_server(inbox, smtp_port, smtputf8=offered)
    try:
        message_id = _queue(mail_runtime, to="åse@blåbær.no")
        report = deliver_due(mail_runtime)
    finally:
        controller.stop()
    row = _row(mail_runtime, message_id)
    if offered:
        assert report.sent == 1
        assert inbox.received[0].rcpt_tos == ["åse@blåbær.no"]
        assert inbox.received[0].message["Subject"] == SUBJECT
    else:  # RFC 6531: without the extension such an address cannot be given to the server
        assert report.failed == 1
        assert row.status == "failed"
        assert "SMTPUTF8" in (row.last_error or "")
