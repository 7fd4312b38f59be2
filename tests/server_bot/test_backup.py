"""Database backups restore to the same rows (SQLite, PostgreSQL 15); missing transcripts are saved once."""

from __future__ import annotations

import gzip
import os
import sqlite3
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from server_bot.backup import BackupError, backup_database, backup_transcripts
from server_bot.db import Repository, Role, SessionSettings, StorageSealer, create_engine, create_sessionmaker
from server_bot.objects import LocalFolderStore
from tests.fixtures.postgres import PG_BIN, PostgresServer

SETTINGS = SessionSettings(None, 0.7, 64)


@pytest.fixture
async def repo(migrated_database_url: str) -> AsyncIterator[Repository]:
    engine = create_engine(migrated_database_url)
    try:
        yield Repository(create_sessionmaker(engine), StorageSealer(os.urandom(32)))
    finally:
        await engine.dispose()


@pytest.fixture
def store(tmp_path: Path) -> LocalFolderStore:
    return LocalFolderStore(tmp_path / "objects")


async def _ended_sessions(repo: Repository, count: int) -> None:
    for owner in range(1, count + 1):
        session = await repo.open_session(owner, 1, None, SETTINGS)
        await repo.add_message(session.id, Role.USER, f"hello {owner}")
        await repo.end_session(session.id)


def _pg_restore(server: PostgresServer, dump: Path) -> str:
    """Restore with the command `DatabaseBackup.restore_command` documents; returns the new database."""
    target = server.create_database()
    url = f"postgresql://{server.superuser}@{server.host}:{server.port}/{target}"
    restore = [str(PG_BIN / "pg_restore"), "--clean", "--if-exists", "--no-owner", "--dbname", url, str(dump)]
    subprocess.run(restore, check=True, capture_output=True)
    return target


async def test_database_backup_restores_to_the_same_rows(
    repo: Repository,
    store: LocalFolderStore,
    migrated_database_url: str,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    await _ended_sessions(repo, 3)
    done = await backup_database(migrated_database_url, store, pg_dump=str(PG_BIN / "pg_dump"))
    assert done.key.startswith("backups/database/meatlizard-")
    data = await store.get(done.key)
    assert done.size_bytes == len(data)

    restored = tmp_path / done.key.rsplit("/", 1)[-1]
    restored.write_bytes(data)
    if done.backend == "sqlite":
        assert "gunzip -c" in done.restore_command
        copy = tmp_path / "restored.db"
        copy.write_bytes(gzip.decompress(data))
        with sqlite3.connect(copy) as db:
            counts = db.execute(
                "SELECT (SELECT count(*) FROM chat_sessions), (SELECT count(*) FROM messages)"
            )
            assert counts.fetchone() == (3, 3)
        return
    assert done.restore_command.startswith("pg_restore ")
    server: PostgresServer = request.getfixturevalue("postgres_server")
    target = _pg_restore(server, restored)
    try:
        counts = server.psql(
            "SELECT (SELECT count(*) FROM chat_sessions), (SELECT count(*) FROM messages)", target
        )
        assert counts.strip() == "3|3"
    finally:
        server.drop_database(target)


@pytest.mark.postgres
async def test_failed_pg_dump_is_a_backup_error_that_never_shows_the_password(
    store: LocalFolderStore, postgres_server: PostgresServer
) -> None:
    url = f"postgresql+asyncpg://nobody:hunter2-zebra@127.0.0.1:{postgres_server.port}/missing"
    with pytest.raises(BackupError, match="pg_dump failed") as failed:
        await backup_database(url, store, pg_dump=str(PG_BIN / "pg_dump"))
    assert "hunter2" not in str(failed.value)


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("sqlite+aiosqlite:///:memory:", id="sqlite-in-memory"),
        pytest.param("mysql+aiomysql://u@h/db", id="unsupported-backend"),
    ],
)
async def test_database_without_a_dumpable_file_is_a_backup_error(store: LocalFolderStore, url: str) -> None:
    with pytest.raises(BackupError):
        await backup_database(url, store)


async def test_missing_transcripts_are_saved_once(repo: Repository, store: LocalFolderStore) -> None:
    await _ended_sessions(repo, 3)
    assert await backup_transcripts(repo, store, batch=2) == 3
    assert await backup_transcripts(repo, store, batch=2) == 0
    assert await repo.list_ended_sessions_without_transcript() == []
