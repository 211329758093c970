"""Settings of a personvern installation, read from the environment (``PERSONVERN_*``).

Nothing reads these at import time: the CLI builds one :class:`Settings` and passes it to
``create_app`` and to every command, and tests build their own.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr
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
