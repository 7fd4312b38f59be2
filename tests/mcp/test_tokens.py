"""Personal access tokens: shown once, stored hashed, scoped, revocable (migrated SQLite and PostgreSQL)."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from server_bot.db.migrate import upgrade_to_head
from server_bot.mcp.tokens import InvalidScopes, TokenNotFound, TokenStore, hash_token, parse_scopes


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[TokenStore]:
    await upgrade_to_head(database_url)
    tokens = TokenStore.open(database_url)
    yield tokens
    await tokens.aclose()


async def test_a_new_token_verifies_and_is_marked_used(store: TokenStore) -> None:
    new = await store.create(42, "chat,transcripts", name="laptop")
    assert new.secret.startswith("mlz_") and len(new.secret) > 40
    info = await store.verify(new.secret)
    assert info is not None and info.user_id == 42 and info.scopes == {"chat", "transcripts"}
    assert (await store.list_for(42))[0].last_used_at is not None


async def test_only_the_hash_of_a_token_is_stored(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}"
    await upgrade_to_head(url)
    store = TokenStore.open(url)
    try:
        new = await store.create(42, "chat")
    finally:
        await store.aclose()
    assert new.secret.encode() not in _database_bytes(tmp_path)
    with sqlite3.connect(tmp_path / "db.sqlite") as db:
        assert db.execute("select token_hash from access_tokens").fetchone()[0] == hash_token(new.secret)


def _database_bytes(folder: Path) -> bytes:
    """The SQLite file with its WAL, as stored on disk."""
    return b"".join(path.read_bytes() for path in sorted(folder.glob("db.sqlite*")))


async def test_a_revoked_or_unknown_token_does_not_verify(store: TokenStore) -> None:
    new = await store.create(42, ["chat"])
    await store.revoke(42, new.info.id)
    assert await store.verify(new.secret) is None
    assert await store.verify("mlz_" + "x" * 43) is None
    assert await store.verify("not a token") is None


async def test_only_the_owner_can_revoke_a_token(store: TokenStore) -> None:
    new = await store.create(42, "admin")
    with pytest.raises(TokenNotFound):
        await store.revoke(7, new.info.id)
    assert (await store.list_for(42))[0].active


@pytest.mark.parametrize(
    "scopes",
    [pytest.param("", id="empty"), pytest.param("chat,root", id="unknown"), pytest.param(",", id="commas")],
)
def test_scopes_outside_the_three_are_refused(scopes: str) -> None:
    with pytest.raises(InvalidScopes, match="chat,transcripts,admin"):
        parse_scopes(scopes)
