"""The SMTP connection the sender uses, and what its errors mean for a message.

One connection serves a whole batch: opened at the first message, reused for the next, and
closed at the end. Errors come out as one of two kinds, following RFC 5321 §4.2.1's reply
classes:

- :class:`PermanentFailure` — a 5yz reply to this message (unknown recipient, message
  refused): sending it again will not help, so it is marked failed at once;
- :class:`TemporaryFailure` — a 4yz reply, a timeout, a dropped connection: it is tried
  again later. Its subclass :class:`ServerUnavailable` means the server itself cannot be
  used (cannot connect, TLS or AUTH refused, our sender address refused), so the rest of
  the batch waits rather than failing one message after another.

The messages say what to do next; they may quote the server, which can name the recipient,
so they are stored with the message (the admin sees its address anyway) and never logged.
"""

from __future__ import annotations

import base64
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from types import TracebackType
from typing import Literal

from pydantic import SecretStr

from personvern.mail.compose import envelope_sender
from personvern.settings import Settings

Security = Literal["none", "starttls", "ssl"]
DEFAULT_PORTS: dict[str, int] = {"starttls": 587, "ssl": 465, "none": 25}
# Long enough for a slow server, short enough that a hung one does not stall the batch.
TIMEOUT_SECONDS = 30.0


class DeliveryFailure(Exception):
    """Base of the SMTP failures; ``str(error)`` says what happened and what to do."""


class PermanentFailure(DeliveryFailure):
    """The server refused this message for good (a 5yz reply)."""


class TemporaryFailure(DeliveryFailure):
    """Worth trying again later (a 4yz reply, a timeout, a dropped connection)."""


class ServerUnavailable(TemporaryFailure):
    """The server cannot be used right now, for any message: stop the batch."""


@dataclass(frozen=True)
class SmtpConfig:
    """Where and how to send, from the ``PERSONVERN_SMTP_*`` and ``MAIL_FROM`` settings."""

    host: str
    port: int
    security: Security
    username: str
    password: SecretStr
    mail_from: str

    @classmethod
    def from_settings(cls, settings: Settings) -> SmtpConfig | None:
        """The configuration, or ``None`` when no SMTP host is set (the demo's mode)."""
        host = settings.smtp_host.strip()
        if not host:
            return None
        return cls(
            host=host,
            port=settings.smtp_port or DEFAULT_PORTS[settings.smtp_security],
            security=settings.smtp_security,
            username=settings.smtp_username,
            password=settings.smtp_password,
            mail_from=settings.mail_from,
        )

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"


class SmtpSession:
    """A lazily opened SMTP connection for one batch; use it as a context manager.

    ``tls`` is the TLS context for ``ssl`` and ``starttls`` (default: the system's trusted
    certificates, host name checked).
    """

    def __init__(
        self,
        config: SmtpConfig,
        *,
        tls: ssl.SSLContext | None = None,
        timeout: float = TIMEOUT_SECONDS,
    ) -> None:
        self.config = config
        self._tls = tls
        self._timeout = timeout
        self._smtp: smtplib.SMTP | None = None

    def __enter__(self) -> SmtpSession:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is None:
            return
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            smtp.close()  # the server went away first; nothing left to say to it

    def send(self, message: EmailMessage, to: str) -> None:
        """Send ``message`` to ``to``; raises a :class:`DeliveryFailure` kind on failure."""
        smtp = self._connection()
        try:
            refused = smtp.send_message(
                message, from_addr=envelope_sender(self.config.mail_from), to_addrs=[to]
            )
        except smtplib.SMTPRecipientsRefused as exc:
            self._reset()
            code, reply = next(iter(exc.recipients.values()), (0, b""))
            raise _by_code(code, "the server refused the recipient", reply) from exc
        except smtplib.SMTPSenderRefused as exc:
            self._reset()
            raise ServerUnavailable(
                f"the server refused the sender address: {_reply(exc.smtp_code, exc.smtp_error)}."
                " Check PERSONVERN_MAIL_FROM: the server must accept mail from it"
            ) from exc
        except smtplib.SMTPNotSupportedError as exc:
            self._reset()
            raise PermanentFailure(
                "the address needs SMTPUTF8 (RFC 6531), which the server does not offer"
            ) from exc
        except smtplib.SMTPResponseException as exc:  # SMTPDataError and the rest
            self._reset()
            raise _by_code(exc.smtp_code, "the server refused the message", exc.smtp_error) from exc
        except (smtplib.SMTPException, OSError) as exc:
            self._drop()
            raise TemporaryFailure(
                f"the connection to {self.config.where} broke while sending "
                f"({_describe(exc)}); it is tried again"
            ) from exc
        if refused:  # only possible with several recipients; kept for completeness
            code, reply = next(iter(refused.values()))
            raise _by_code(code, "the server refused the recipient", reply)

    def _connection(self) -> smtplib.SMTP:
        if self._smtp is not None:
            return self._smtp
        config = self.config
        tls = self._tls or ssl.create_default_context()
        smtp: smtplib.SMTP | None = None
        step = "connect to"
        try:
            if config.security == "ssl":
                smtp = smtplib.SMTP_SSL(
                    config.host, config.port, timeout=self._timeout, context=tls
                )
            else:
                smtp = smtplib.SMTP(config.host, config.port, timeout=self._timeout)
            smtp.ehlo()
            if config.security == "starttls":
                step = "start TLS with"
                smtp.starttls(context=tls)
                smtp.ehlo()
            if config.username:
                step = "sign in to"
                _login(smtp, config.username, config.password.get_secret_value())
        except smtplib.SMTPAuthenticationError as exc:
            _close_quietly(smtp)
            raise ServerUnavailable(
                f"could not sign in to {config.where}: {_reply(exc.smtp_code, exc.smtp_error)}."
                " Check PERSONVERN_SMTP_USERNAME and PERSONVERN_SMTP_PASSWORD"
            ) from exc
        except smtplib.SMTPNotSupportedError as exc:
            _close_quietly(smtp)
            raise ServerUnavailable(
                f"could not {step} {config.where}: {exc}. Check PERSONVERN_SMTP_SECURITY "
                "(starttls, ssl or none) and PERSONVERN_SMTP_USERNAME"
            ) from exc
        except (smtplib.SMTPException, OSError, ValueError) as exc:
            _close_quietly(smtp)
            raise ServerUnavailable(
                f"could not {step} the SMTP server {config.where} ({_describe(exc)}). Check "
                "that it is running and PERSONVERN_SMTP_HOST, PERSONVERN_SMTP_PORT and "
                "PERSONVERN_SMTP_SECURITY; the message is tried again later"
            ) from exc
        self._smtp = smtp
        return smtp

    def _reset(self) -> None:
        # After a refused message smtplib has already sent RSET; if that failed, the
        # connection is gone and the next message opens a new one.
        if self._smtp is not None and not getattr(self._smtp, "sock", None):
            self._drop()

    def _drop(self) -> None:
        smtp, self._smtp = self._smtp, None
        _close_quietly(smtp)


def _login(smtp: smtplib.SMTP, username: str, password: str) -> None:
    """SMTP AUTH (RFC 4954); with AUTH PLAIN in UTF-8 when the credentials are not ASCII.

    smtplib encodes credentials as ASCII and fails on a password like "blåbær"; RFC 4616
    defines PLAIN over UTF-8, so such credentials are sent that way.
    """
    if username.isascii() and password.isascii():
        smtp.login(username, password)
        return
    if "plain" not in smtp.esmtp_features.get("auth", "").lower().split():
        raise smtplib.SMTPAuthenticationError(
            504, b"the server offers no AUTH PLAIN, which a non-ASCII password needs"
        )
    token = base64.b64encode(f"\0{username}\0{password}".encode()).decode("ascii")
    code, reply = smtp.docmd("AUTH", f"PLAIN {token}")
    if code not in (235, 503):  # 503: already authenticated
        raise smtplib.SMTPAuthenticationError(code, reply)


def _close_quietly(smtp: smtplib.SMTP | None) -> None:
    if smtp is not None:
        smtp.close()


def _by_code(code: int, what: str, reply: bytes | str) -> DeliveryFailure:
    """RFC 5321 §4.2.1: 5yz is a permanent refusal, anything else is worth another try."""
    text = f"{what}: {_reply(code, reply)}"
    if 500 <= code < 600:
        return PermanentFailure(f"{text}. Check the address; the message is not tried again")
    return TemporaryFailure(f"{text}; it is tried again")


def _reply(code: int, reply: bytes | str) -> str:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    return f"{code} {' '.join(text.split())}".strip()


def _describe(exc: BaseException) -> str:
    detail = str(exc).strip()
    return f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__
