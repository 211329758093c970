"""Turning an outbox row into the RFC 5322 message that goes over SMTP.

- ``From`` is ``PERSONVERN_MAIL_FROM``; ``Date`` is the time of sending (RFC 5322 §3.6.1);
  ``Message-ID`` is made once per message and kept, so a retry sends the same id and a
  receiving system can recognise a duplicate (RFC 5322 §3.6.4).
- Subject and bodies are UTF-8: the subject as an RFC 2047 encoded word, the bodies as
  quoted-printable, which passes any SMTP server unchanged (no 8BITMIME needed) and keeps
  æøå intact.
- With an HTML body the message is multipart/alternative, plain text first, so a reader
  that shows text gets text (RFC 2046 §5.1.4: the last part is the preferred one).
- ``Auto-Submitted: auto-generated`` (RFC 3834 §5) keeps auto-responders from answering.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

from personvern.mail.outbox import extra_headers
from personvern.store.mail import OutboxMessage


def envelope_sender(mail_from: str) -> str:
    """The bare address of a From value (``Name <a@b.no>`` → ``a@b.no``), for MAIL FROM."""
    return parseaddr(mail_from)[1]


def new_message_id(mail_from: str) -> str:
    """A new, globally unique Message-ID in the sender's domain (RFC 5322 §3.6.4)."""
    domain = envelope_sender(mail_from).rpartition("@")[2] or "personvern.invalid"
    return f"<{secrets.token_hex(16)}@{domain}>"


def compose(message: OutboxMessage, *, mail_from: str, now: datetime) -> EmailMessage:
    """The message as it is sent; ``message.message_id`` must already be set."""
    if not message.message_id:
        raise ValueError("a message needs its Message-ID before it is composed")
    # A non-ASCII address cannot be written in a 7-bit header; such a message needs the
    # SMTPUTF8 extension (RFC 6531), which smtplib asks for when the policy says utf8.
    international = not (message.to_address.isascii() and mail_from.isascii())
    msg = EmailMessage(policy=policy.SMTPUTF8 if international else policy.SMTP)
    msg["From"] = mail_from
    msg["To"] = message.to_address
    msg["Subject"] = message.subject
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = message.message_id
    msg["Auto-Submitted"] = "auto-generated"
    for name, value in extra_headers(message).items():
        msg[name] = value
    msg.set_content(message.text_body, subtype="plain", charset="utf-8", cte="quoted-printable")
    if message.html_body:
        msg.add_alternative(
            message.html_body, subtype="html", charset="utf-8", cte="quoted-printable"
        )
    # Last: setting the content clears every Content-* header set before it.
    msg["Content-Language"] = message.lang  # RFC 3282
    return msg
