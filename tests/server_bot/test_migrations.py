"""The Alembic migrations on a fresh SQLite file and a fresh PostgreSQL 15 database."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, inspect, text

from server_bot.db.engine import create_engine
from server_bot.db.migrate import (
    current_revision,
    downgrade_to,
    downgrade_to_base,
    head_revision,
    upgrade_to,
    upgrade_to_head,
)
from server_bot.db.models import Base

TABLES = {
    "users",
    "chat_sessions",
    "messages",
    "transcripts",
    "audit_events",
    "moderation_violations",
    "metric_samples",
    "admin_toggles",
    "requests",
    "bot_settings",
    "access_tokens",
}


async def _run(url: str, inspect_sync: Any) -> Any:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(inspect_sync)
    finally:
        await engine.dispose()


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names()) - {"alembic_version"}


def _schema_drift(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


async def test_upgrade_downgrade_upgrade_round_trip(database_url: str) -> None:
    await upgrade_to_head(database_url)
    assert await current_revision(database_url) == head_revision()
    assert await _run(database_url, _tables) == TABLES

    await downgrade_to_base(database_url)
    assert await current_revision(database_url) is None
    assert await _run(database_url, _tables) == set()

    await upgrade_to_head(database_url)
    assert await _run(database_url, _tables) == TABLES


async def test_migrated_schema_matches_the_models(database_url: str) -> None:
    await upgrade_to_head(database_url)
    assert await _run(database_url, _schema_drift) == []


async def test_one_open_session_per_user_is_a_partial_unique_index(database_url: str) -> None:
    await upgrade_to_head(database_url)

    def index(connection: Connection) -> dict[str, Any]:
        indexes = inspect(connection).get_indexes("chat_sessions")
        return dict(next(i for i in indexes if i["name"] == "uq_chat_sessions_one_open_per_owner"))

    found = await _run(database_url, index)
    assert found["unique"] and found["column_names"] == ["owner_id"]
    where = found.get("dialect_options", {})
    assert any("open" in str(value) for value in where.values())


async def test_upgrading_an_up_to_date_database_changes_nothing(database_url: str) -> None:
    await upgrade_to_head(database_url)
    await upgrade_to_head(database_url)

    def version_rows(connection: Connection) -> int:
        return int(connection.execute(text("SELECT count(*) FROM alembic_version")).scalar_one())

    assert await _run(database_url, version_rows) == 1


async def test_sessions_front_end_migration_keeps_existing_sessions_and_their_channel(
    database_url: str,
) -> None:
    await upgrade_to(database_url, "0001")

    def seed(connection: Connection) -> None:
        connection.execute(text("INSERT INTO users (id, created_at, banned) VALUES (7, '2025-01-01', false)"))
        connection.execute(
            text(
                "INSERT INTO chat_sessions (id, owner_id, guild_id, channel_id, status, temperature, "
                "max_tokens, created_at) VALUES ('0123456789abcdef0123456789abcdef', 7, 1, 42, 'open', 0.7, "
                "256, '2025-01-01')"
            )
        )
        connection.commit()

    await _run(database_url, seed)
    await upgrade_to_head(database_url)

    def read(connection: Connection) -> list[Any]:
        rows = connection.execute(text("SELECT owner_id, front_end, guild_id, channel_id FROM chat_sessions"))
        return [tuple(row) for row in rows]

    assert await _run(database_url, read) == [(7, "discord", 1, 42)]

    await downgrade_to(database_url, "0001")

    def read_old(connection: Connection) -> list[Any]:
        return [tuple(r) for r in connection.execute(text("SELECT owner_id, channel_id FROM chat_sessions"))]

    assert await _run(database_url, read_old) == [(7, 42)]
    await upgrade_to_head(database_url)
    assert await _run(database_url, read) == [(7, "discord", 1, 42)]


async def test_sqlite_never_reuses_a_deleted_message_id(tmp_path: Any) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'ids.db'}"
    await upgrade_to_head(url)

    def table_sql(connection: Connection) -> str:
        return str(connection.execute(text("SELECT sql FROM sqlite_master WHERE name = 'messages'")).scalar())

    assert "AUTOINCREMENT" in (await _run(url, table_sql)).upper()
