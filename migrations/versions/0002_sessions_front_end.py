"""Sessions get a front end (the Discord channel stays an optional attribute); requests; bot settings.

Existing sessions all came from Discord, so they migrate as front_end 'discord' with their channel kept.
`requests` lets a restarted server-bot find prompts it accepted but never answered; `bot_settings` keeps
values the bot learnt about its world (the admin role id it created), so nothing is matched by name.
On SQLite, message ids become AUTOINCREMENT: a reply id (named by a Regenerate button) is never reused.

Revision ID: 0002_sessions_front_end
Revises: 0001
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_sessions_front_end"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("chat_sessions") as batch:
        batch.add_column(
            sa.Column("front_end", sa.String(length=16), nullable=False, server_default="discord")
        )
        batch.create_check_constraint("front_end", "front_end IN ('discord', 'web', 'mcp')")
    # Reply ids name replies in Regenerate buttons: SQLite must never reuse the id of a deleted message.
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table("messages", recreate="always", table_kwargs={"sqlite_autoincrement": True}):
            pass
    op.create_table(
        "requests",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("session_id", sa.Uuid(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.CheckConstraint("state IN ('pending', 'finished')", name="ck_requests_state"),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["chat_sessions.id"],
            name="fk_requests_session_id_chat_sessions",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_requests"),
    )
    op.create_index("ix_requests_state", "requests", ["state"])
    op.create_table(
        "bot_settings",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.String(length=256), nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_bot_settings"),
    )


def downgrade() -> None:
    op.drop_table("bot_settings")
    op.drop_index("ix_requests_state", table_name="requests")
    op.drop_table("requests")
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table(
            "messages", recreate="always", table_kwargs={"sqlite_autoincrement": False}
        ):
            pass
    with op.batch_alter_table("chat_sessions") as batch:
        batch.drop_constraint("front_end", type_="check")
        batch.drop_column("front_end")
