"""The Alembic migrations on a fresh SQLite file and a fresh PostgreSQL 15 database."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, inspect, text

from server_bot.db.engine import create_engine
from server_bot.db.migrate import current_revision, downgrade_to_base, head_revision, upgrade_to_head
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
