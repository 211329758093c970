"""consents: the texts each banner showed, one receipt per consent id, and its history

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "consent_notices",
        sa.Column("texts_hash", sa.String(length=64), nullable=False),
        sa.Column("site", sa.String(length=255), nullable=False),
        sa.Column("lang", sa.String(length=8), nullable=False),
        sa.Column("policy_version", sa.Integer(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("texts_hash", name=op.f("pk_consent_notices")),
    )
    op.create_table(
        "consent_receipts",
        sa.Column("consent_id", sa.String(length=36), nullable=False),
        sa.Column("receipt_id", sa.String(length=32), nullable=False),
        sa.Column("site", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("entries", sa.Integer(), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("entry_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("consent_id", name=op.f("pk_consent_receipts")),
        sa.UniqueConstraint("receipt_id", name=op.f("uq_consent_receipts_receipt_id")),
    )
    op.create_table(
        "consent_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("consent_id", sa.String(length=36), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("site", sa.String(length=255), nullable=False),
        sa.Column("policy_version", sa.Integer(), nullable=False),
        sa.Column("texts_hash", sa.String(length=64), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("granted", sa.String(length=200), nullable=False),
        sa.Column("denied", sa.String(length=200), nullable=False),
        sa.Column("gpc", sa.Boolean(), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("page", sa.String(length=512), nullable=False),
        sa.Column("ip_prefix", sa.String(length=64), nullable=False),
        sa.Column("ua_family", sa.String(length=32), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("entry_hash", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["consent_id"],
            ["consent_receipts.consent_id"],
            name=op.f("fk_consent_entries_consent_id_consent_receipts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_entries")),
        sa.UniqueConstraint("consent_id", "seq", name="uq_consent_entries_consent_id_seq"),
    )
    op.create_index("ix_consent_entries_at", "consent_entries", ["at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_consent_entries_at", table_name="consent_entries")
    op.drop_table("consent_entries")
    op.drop_table("consent_receipts")
    op.drop_table("consent_notices")
