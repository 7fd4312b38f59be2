"""The async engine and sessionmaker for `DATABASE_URL`.

`sqlite+aiosqlite:///path` is the embedded default, `postgresql+asyncpg://...` is production.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from shared.log import get_logger

log = get_logger(__name__)

SQLITE_BUSY_TIMEOUT_MS = 5000


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """Create the async engine; SQLite connections get WAL, foreign keys and a busy timeout."""
    if is_sqlite(url):
        _make_sqlite_folder(url)
        engine = create_async_engine(url, **kwargs)
        _tune_sqlite(engine)
    else:
        engine = create_async_engine(url, pool_pre_ping=True, **kwargs)
    log.debug("database engine created for backend %s", engine.dialect.name)
    return engine


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    # expire_on_commit=False: rows read in a transaction stay usable after it commits (no lazy IO in async).
    return async_sessionmaker(engine, expire_on_commit=False)


def _make_sqlite_folder(url: str) -> None:
    # SQLite creates the file but not its folder; the default `var/meatlizard.db` lives in a fresh `var/`.
    database = make_url(url).database
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).parent.mkdir(parents=True, exist_ok=True)


def _tune_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control from the sqlite3 module so BEGIN, SAVEPOINT and DDL behave (SQLAlchemy
        # documents this recipe); the pragmas must run outside any transaction.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        # IMMEDIATE takes the write lock up front: a read-then-write transaction then waits on the busy
        # timeout instead of failing with SQLITE_BUSY when another writer got there first.
        connection.exec_driver_sql("BEGIN IMMEDIATE")
