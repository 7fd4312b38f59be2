"""Transcripts of ended sessions: rendered to JSON and Markdown, stored, and recorded once."""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from server_bot.db import (
    Repository,
    Role,
    SessionInfo,
    SessionSettings,
    SessionStatus,
    StorageSealer,
    Turn,
    create_engine,
    create_sessionmaker,
)
from server_bot.objects import LocalFolderStore, S3ObjectStore
from server_bot.transcripts import (
    render_json,
    render_markdown,
    save_pending_transcripts,
    save_transcript,
    transcript_keys,
)
from tests.fixtures.s3 import S3Bucket

WHEN = datetime(2025, 5, 1, 12, 0, tzinfo=UTC)
SESSION = SessionInfo(
    id=uuid.UUID("4f1c0b9e-2f6a-4c1e-9a7d-0b7c5d1e2f3a"),
    owner_id=922337203685477580,
    front_end="discord",
    guild_id=1,
    channel_id=2,
    status=SessionStatus.ENDED,
    system_prompt="Be brief. @here",
    temperature=0.7,
    max_tokens=128,
    created_at=WHEN,
    ended_at=WHEN,
)
TURNS = [
    Turn(Role.USER, "ping @everyone please", WHEN, 4),
    Turn(Role.ASSISTANT, "I won't ping **anyone**.", WHEN, 6),
]


@pytest.fixture
async def repo(tmp_path: Path, sqlite_migrated_template: Path) -> AsyncIterator[Repository]:
    shutil.copyfile(sqlite_migrated_template, tmp_path / "bot.db")
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}")
    yield Repository(create_sessionmaker(engine), StorageSealer(os.urandom(32)))
    await engine.dispose()


async def _ended_session(repo: Repository, channel_id: int = 7) -> uuid.UUID:
    session = await repo.open_session(5, 6, channel_id, SessionSettings("Be kind.", 0.5, 64))
    await repo.add_message(session.id, Role.USER, "Hello @everyone!")
    await repo.add_message(session.id, Role.ASSISTANT, "Hi there.")
    await repo.end_session(session.id)
    return session.id


def test_keys_follow_the_documented_layout() -> None:
    assert transcript_keys(SESSION.id) == (
        f"transcripts/{SESSION.id}/transcript.json",
        f"transcripts/{SESSION.id}/transcript.md",
    )


def test_json_holds_metadata_and_every_turn_verbatim() -> None:
    document = json.loads(render_json(SESSION, TURNS))
    assert document["format"] == "meatlizard-transcript/1"
    assert document["session"]["id"] == str(SESSION.id)
    assert document["session"]["owner_id"] == "922337203685477580"  # exact, as a string
    assert document["session"]["ended_at"] == WHEN.isoformat()
    assert [(t["role"], t["text"]) for t in document["turns"]] == [
        ("user", "ping @everyone please"),
        ("assistant", "I won't ping **anyone**."),
    ]


def test_markdown_neutralises_mass_mentions() -> None:
    markdown = render_markdown(SESSION, TURNS)
    assert "@everyone" not in markdown and "@here" not in markdown
    assert "＠everyone" in markdown and "＠here" in markdown
    assert markdown.startswith(f"# Chat session {SESSION.id}")
    assert "I won't ping **anyone**." in markdown


async def test_saved_transcript_is_stored_and_recorded(repo: Repository, tmp_path: Path) -> None:
    store = LocalFolderStore(tmp_path / "objects")
    session_id = await _ended_session(repo)
    info = await save_transcript(repo, store, session_id)
    assert (info.json_key, info.md_key) == transcript_keys(session_id)
    document = json.loads(await store.get(info.json_key))
    assert [t["text"] for t in document["turns"]] == ["Hello @everyone!", "Hi there."]
    assert "Hello ＠everyone!" in (await store.get(info.md_key)).decode()
    assert await repo.list_ended_sessions_without_transcript() == []


async def test_pending_transcripts_are_saved_once(repo: Repository, tmp_path: Path) -> None:
    store = LocalFolderStore(tmp_path / "objects")
    first, second = await _ended_session(repo, 7), await _ended_session(repo, 8)
    assert await save_pending_transcripts(repo, store) == 2
    assert await save_pending_transcripts(repo, store) == 0
    for session_id in (first, second):
        assert await store.exists(transcript_keys(session_id)[1])


@pytest.mark.s3
async def test_transcript_saved_to_s3_opens_through_its_link(repo: Repository, s3_bucket: S3Bucket) -> None:
    store = S3ObjectStore(
        s3_bucket.endpoint_url,
        s3_bucket.name,
        access_key_id=s3_bucket.access_key,
        secret_access_key=s3_bucket.secret_key,
    )
    info = await save_transcript(repo, store, await _ended_session(repo))
    head = s3_bucket.server.client().head_object(Bucket=s3_bucket.name, Key=info.md_key)
    assert head["ServerSideEncryption"] == "AES256"
    assert head["ContentType"].startswith("text/markdown")
    assert "Hello ＠everyone!" in (await store.get(info.md_key)).decode()
