"""Tables of the consent log: what the banner showed, and every choice made in it.

GDPR Art. 7(1): where processing rests on consent, the controller must be able to show
that the person consented. Ekomloven § 3-15 makes that the standard for cookies. The log
therefore keeps, for each choice:

- ``consent_notices``: the exact texts the banner showed (categories, descriptions, cookie
  lists, buttons) in one language for one site and policy version, keyed by the SHA-256 of
  their canonical JSON, so a receipt can prove word for word what the person saw;
- ``consent_receipts``: one row per consent id (a random UUID the banner made and keeps in
  the visitor's ``personvern_consent`` cookie), with the receipt id handed back;
- ``consent_entries``: the history of that receipt, one row per choice (given, changed,
  withdrawn), chained by hash inside the receipt so an edited or removed entry shows.

No full IP address is stored: only its network (IPv4 /24, IPv6 /48), and of the user agent
only its family ("Firefox"), which is what a proof needs and no more (Art. 5(1)(c)).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from personvern.store.base import Base, UTCDateTime, utcnow


class ConsentNotice(Base):
    """The exact texts one banner showed: site, language and policy version, as JSON."""

    __tablename__ = "consent_notices"

    texts_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    site: Mapped[str] = mapped_column(String(255))
    lang: Mapped[str] = mapped_column(String(8))
    policy_version: Mapped[int] = mapped_column(Integer)
    content: Mapped[str] = mapped_column(Text)  # canonical JSON; hashed as it is
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ConsentReceipt(Base):
    """One consent id and its current state; its history is in :class:`ConsentEntry`."""

    __tablename__ = "consent_receipts"

    consent_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    receipt_id: Mapped[str] = mapped_column(String(32), unique=True)
    site: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    entries: Mapped[int] = mapped_column(Integer)  # the newest entry's seq
    request_hash: Mapped[str] = mapped_column(String(64))  # of the newest entry's request
    entry_hash: Mapped[str] = mapped_column(String(64))  # of the newest entry


class ConsentEntry(Base):
    """One choice: what was granted and denied, how, under which texts, and when."""

    __tablename__ = "consent_entries"
    __table_args__ = (
        UniqueConstraint("consent_id", "seq", name="uq_consent_entries_consent_id_seq"),
        Index("ix_consent_entries_at", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    consent_id: Mapped[str] = mapped_column(
        ForeignKey("consent_receipts.consent_id", ondelete="CASCADE")
    )
    seq: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    site: Mapped[str] = mapped_column(String(255))
    policy_version: Mapped[int] = mapped_column(Integer)
    texts_hash: Mapped[str] = mapped_column(String(64))
    method: Mapped[str] = mapped_column(String(16))
    granted: Mapped[str] = mapped_column(String(200))  # category keys, comma-separated
    denied: Mapped[str] = mapped_column(String(200))
    gpc: Mapped[bool] = mapped_column(Boolean)
    language: Mapped[str] = mapped_column(String(8))
    page: Mapped[str] = mapped_column(String(512))
    ip_prefix: Mapped[str] = mapped_column(String(64))
    ua_family: Mapped[str] = mapped_column(String(32))
    request_hash: Mapped[str] = mapped_column(String(64))
    prev_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64))
