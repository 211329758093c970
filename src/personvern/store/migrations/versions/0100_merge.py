"""Join the capability branches into one history.

Capabilities were built in parallel, each adding its tables in a revision of its own off
0003 (consents 0004, requests 0010 → 0012, outbox 0011, suppressions 0020, retention 0030).
This revision changes nothing in the schema; it gives the history one head again, so
``personvern db current`` names one revision and new revisions have one parent.

Revision ID: 0100
Revises: 0004, 0011, 0012, 0020, 0030
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0100"
down_revision: str | Sequence[str] | None = ("0004", "0011", "0012", "0020", "0030")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
