"""Settings of a personvern installation, read from the environment (``PERSONVERN_*``).

Nothing reads these at import time: the CLI builds one :class:`Settings` and passes it to
``create_app`` and to every command, and tests build their own.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SECRET_KEY_FILE = "secret.key"  # noqa: S105 - a file name, not a secret


class Settings(BaseSettings):
    """Every setting is documented in ``docs/settings.md``; a test keeps the two in step."""

    model_config = SettingsConfigDict(env_prefix="PERSONVERN_", extra="ignore")

    data_dir: Path = Field(
        default=Path("personvern-data"),
        description="Folder for the SQLite database, the secret key file and generated files.",
    )
    database_url: str | None = Field(
        default=None,
        description=(
            "SQLAlchemy URL of the store. Empty means SQLite in the data directory; "
            "PostgreSQL as postgresql+psycopg://user:password@host/db."
        ),
    )
    inventory: Path | None = Field(
        default=None, description="Path of the privacy.yaml inventory the installation runs on."
    )
    secret_key: SecretStr | None = Field(
        default=None,
        description=(
            "Key for signing links and sessions and for the keyed hashes in the audit log. "
            "Empty means a random key kept in <data_dir>/secret.key (created on first use)."
        ),
    )
    base_url: str = Field(
        default="http://127.0.0.1:8000",
        description="Public address of the app, used in links sent by e-mail.",
    )
    session_hours: int = Field(
        default=8, ge=1, le=24 * 30, description="How long an admin session lasts, in hours."
    )
    login_max_failures: int = Field(
        default=5,
        ge=1,
        description="Failed sign-ins for one address within the window before it is locked.",
    )
    login_window_minutes: int = Field(
        default=15,
        ge=1,
        description="Window for counting failed sign-ins; a locked address stays locked this long.",
    )
    login_max_per_ip: int = Field(
        default=30,
        ge=1,
        description="Sign-in attempts allowed from one client IP within the window.",
    )

    # --- data-subject requests (personvern.dsr) -------------------------------------------
    request_run_mode: Literal["auto", "review"] = Field(
        default="auto",
        description=(
            "auto: a verified request's plan runs at once; review: an admin approves each "
            "plan first. Rectification is always reviewed (the person proposes, an admin "
            "approves)."
        ),
    )
    request_verify_hours: int = Field(
        default=24,
        ge=1,
        le=24 * 7,
        description="How long the e-mailed verification link of a request stays valid, in hours.",
    )
    request_unverified_days: int = Field(
        default=7,
        ge=1,
        le=90,
        description="Days after which a request whose link was never followed expires.",
    )
    request_status_days: int = Field(
        default=120,
        ge=30,
        le=400,
        description="Days the requester's status link stays valid after the request came in.",
    )
    request_download_days: int = Field(
        default=7,
        ge=1,
        le=30,
        description="Days a report's download link stays valid.",
    )
    request_limit_per_address: int = Field(
        default=3,
        ge=1,
        description=(
            "Requests accepted for one e-mail address within the window; more send no e-mail "
            "(the form still answers the same, so it reveals nothing about the address)."
        ),
    )
    request_limit_per_ip: int = Field(
        default=10,
        ge=1,
        description="Requests accepted from one client IP within the window; more get HTTP 429.",
    )
    request_limit_window_minutes: int = Field(
        default=60,
        ge=1,
        description="Window for the request rate limits, in minutes.",
    )
    request_warn_days: int = Field(
        default=7,
        ge=1,
        le=28,
        description="Days before its deadline that an open request is flagged in the admin.",
    )
    request_attachment_max_bytes: int = Field(
        default=10 * 1024 * 1024,
        ge=1024,
        description="Largest attachment accepted when a manual task is marked done, in bytes.",
    )
    # --- end of data-subject requests ---------------------------------------------------------

    # --- e-mail (personvern.mail) ---------------------------------------------------------
    smtp_host: str = Field(
        default="",
        description=(
            "SMTP server that sends personvern's e-mail. Empty means no SMTP: messages stay in "
            "the outbox and are read in the admin at /admin/outbox (the demo's mode)."
        ),
    )
    smtp_port: int | None = Field(
        default=None,
        ge=1,
        le=65535,
        description="SMTP port. Empty means 587 for starttls, 465 for ssl and 25 for none.",
    )
    smtp_username: str = Field(
        default="", description="User name for SMTP AUTH. Empty means no AUTH."
    )
    smtp_password: SecretStr = Field(default=SecretStr(""), description="Password for SMTP AUTH.")
    smtp_security: Literal["none", "starttls", "ssl"] = Field(
        default="starttls",
        description=(
            "starttls (upgrade a plain connection, usually port 587), ssl (TLS from the "
            "start, usually port 465) or none (plain text: only for a relay on this machine)."
        ),
    )
    mail_from: str = Field(
        default="",
        description=(
            "The From of every message, as 'Name <address>' or 'address'. Required when "
            "PERSONVERN_SMTP_HOST is set."
        ),
    )
    mail_keep_days: int = Field(
        default=14,
        ge=1,
        description=(
            "Days a sent or failed message stays in the outbox before it is deleted; the "
            "outbox holds addresses in clear, so it keeps them only briefly."
        ),
    )

    @field_validator("mail_from")
    @classmethod
    def _check_mail_from(cls, value: str) -> str:
        from email.utils import parseaddr

        value = value.strip()
        if value and ("@" not in parseaddr(value)[1] or any(c in value for c in "\r\n")):
            raise ValueError(
                f"PERSONVERN_MAIL_FROM {value!r} is not an address: write it as "
                "'Assemble Prosjekt AS <personvern@example.no>' or 'personvern@example.no'"
            )
        return value

    @model_validator(mode="after")
    def _check_mail_settings(self) -> Settings:
        if self.smtp_host.strip() and not self.mail_from:
            raise ValueError(
                "PERSONVERN_SMTP_HOST is set but PERSONVERN_MAIL_FROM is empty: set the "
                "address personvern's e-mail is sent from"
            )
        return self

    # --- end of e-mail ------------------------------------------------------------------------

    # The unsubscribe receiver (personvern.web.unsubscribe); the secret is the URL's only lock.
    mailchimp_webhook_secret: SecretStr = Field(
        default=SecretStr(""),
        description=(
            "Secret part of the Mailchimp webhook URL (/webhooks/mailchimp/<secret>); "
            "empty turns the receiver off."
        ),
    )

    # --- jobs: running the steps of data-subject requests (personvern.dsr.executor) -------
    jobs_concurrency: int = Field(
        default=4,
        ge=1,
        description="Steps one connector runs at the same time, in each process that runs jobs.",
    )
    jobs_concurrency_per_connector: dict[str, int] = Field(
        default_factory=dict,
        description=(
            'Limits for single connectors instead of jobs_concurrency, as JSON: {"mailchimp": 2}.'
        ),
    )
    jobs_max_attempts: int = Field(
        default=5,
        ge=1,
        description="Attempts at a step before it is marked failed for an admin to look at.",
    )
    jobs_backoff_seconds: float = Field(
        default=2.0,
        gt=0,
        description=(
            "Wait before the first retry of a step; doubled at each retry, with jitter. "
            "A longer Retry-After from the system is honoured."
        ),
    )
    jobs_backoff_max_seconds: float = Field(
        default=900.0, gt=0, description="The longest wait between two attempts at a step."
    )
    jobs_lease_seconds: float = Field(
        default=60.0,
        ge=1,
        description=(
            "A running step is renewed by its process every third of this; a step not "
            "renewed for this long (its process died) is taken over by another."
        ),
    )
    jobs_poll_seconds: float = Field(
        default=1.0,
        gt=0,
        description="How often the in-process runner and the worker look for due steps.",
    )
    # --- end of jobs --------------------------------------------------------------------------

    # --- retention (personvern.retention) -------------------------------------------------
    retention_max_share: float = Field(
        default=0.25,
        gt=0,
        le=1,
        description=(
            "Largest share of a collection (0–1) one retention rule may change in one run; "
            "a rule that would change more stops until it is run with --confirm."
        ),
    )
    # --- end of retention ---------------------------------------------------------------------

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'personvern.sqlite3').resolve()}"

    def secret_bytes(self) -> bytes:
        """The secret key, creating ``<data_dir>/secret.key`` (mode 0600) if none is set."""
        if self.secret_key is not None and self.secret_key.get_secret_value():
            return self.secret_key.get_secret_value().encode()
        path = self.data_dir / SECRET_KEY_FILE
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_urlsafe(48))
        return path.read_text().strip().encode()

    def masked(self) -> dict[str, Any]:
        """The effective settings with every secret (and a password in the URL) masked."""
        out: dict[str, Any] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, SecretStr):
                value = "********" if value.get_secret_value() else ""
            elif name == "secret_key" and value is None:
                value = f"(from {self.data_dir / SECRET_KEY_FILE})"
            elif name == "database_url":
                value = _mask_url(self.resolved_database_url())
            elif isinstance(value, Path):
                value = str(value)
            out[name] = value
        return out


def _mask_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
