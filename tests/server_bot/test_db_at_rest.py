"""A database dump alone reveals no conversation: every piece of conversation text is sealed at rest."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from server_bot.db import (
    Repository,
    Role,
    SessionSettings,
    StorageSealer,
    create_engine,
    create_sessionmaker,
)
from tests.fixtures.postgres import PostgresServer

SECRETS = [
    "the launch code is PURPLE-AARDVARK-7",
    "my neighbour's wifi password is hunter2-zebra",
    "Speak only like a pirate captain named Barnacle",
    "matched-excerpt-marmalade",
]


async def _write_conversation(url: str, before_close: Callable[[], None] = lambda: None) -> None:
    engine = create_engine(url)
    repo = Repository(create_sessionmaker(engine), StorageSealer(os.urandom(32)))
    try:
        session = await repo.open_session(1, 2, 3, SessionSettings(SECRETS[2], 0.7, 128))
        await repo.add_message(session.id, Role.USER, SECRETS[0])
        await repo.add_message(session.id, Role.ASSISTANT, SECRETS[1])
        await repo.add_violation(1, "rude", "warn", SECRETS[3], session.id)
        assert await repo.history(session.id) == [(Role.USER, SECRETS[0]), (Role.ASSISTANT, SECRETS[1])]
        before_close()
    finally:
        await engine.dispose()


def _leaks(dump: bytes) -> list[str]:
    # Check a distinctive word of each secret too, in case the dump splits or escapes text.
    needles = [*SECRETS, "AARDVARK", "hunter2", "Barnacle", "marmalade"]
    return [needle for needle in needles if needle.encode() in dump]


@pytest.mark.postgres
async def test_pg_dump_contains_no_conversation_text(
    postgres_server: PostgresServer, postgres_migrated_template: str
) -> None:
    database = postgres_server.create_database(template=postgres_migrated_template)
    try:
        await _write_conversation(postgres_server.url(database))
        dump = postgres_server.pg_dump(database)
        assert b"COPY public.messages" in dump  # the dump really holds the table's rows
        assert _leaks(dump) == []
    finally:
        postgres_server.drop_database(database)


def _database_bytes(folder: Path) -> bytes:
    """The database file plus its -wal / -shm side files, as found on disk right now."""
    return b"".join(p.read_bytes() for p in sorted(folder.iterdir()) if p.name.startswith("bot.db"))


async def test_sqlite_files_contain_no_conversation_text(
    tmp_path: Path, sqlite_migrated_template: Path
) -> None:
    shutil.copyfile(sqlite_migrated_template, tmp_path / "bot.db")
    seen: list[bytes] = []
    # Look while the connection is open (text may sit in the WAL) and after the final checkpoint.
    await _write_conversation(
        f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}", lambda: seen.append(_database_bytes(tmp_path))
    )
    seen.append(_database_bytes(tmp_path))
    # Really the database's bytes (a batch migration rebuilt the table, so its name may be quoted).
    assert all(b"CREATE TABLE messages" in raw or b'CREATE TABLE "messages"' in raw for raw in seen)
    assert [_leaks(raw) for raw in seen] == [[], []]
