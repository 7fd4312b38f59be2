"""Indexes for the retention purge: it deletes messages, transcripts and moderation records by age.

Without them each purge run scans the whole table (`created_at < cutoff`), which grows with every
message ever kept.

Revision ID: 0004_retention_indexes
Revises: 0003_access_tokens
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0004_retention_indexes"
down_revision: str | None = "0003_access_tokens"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INDEXES = (
    ("ix_messages_created_at", "messages"),
    ("ix_transcripts_created_at", "transcripts"),
    ("ix_moderation_violations_created_at", "moderation_violations"),
)


def upgrade() -> None:
    for name, table in _INDEXES:
        op.create_index(name, table, ["created_at"])


def downgrade() -> None:
    for name, table in reversed(_INDEXES):
        op.drop_index(name, table_name=table)
