"""The retention purge deletes exactly what is older than the policy: rows and objects, nothing newer."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from server_bot.db import Role, SessionNotFound, SessionSettings
from server_bot.db.models import Message, ModerationViolation, Transcript
from server_bot.lifecycle import PurgeReport, purge_expired
from server_bot.transcripts import save_transcript, transcript_keys
from shared.audit import CODE_PATTERN
from tests.server_bot.lifecycle.conftest import World

SETTINGS = SessionSettings("Be brief.", 0.7, 64)
OLD_USER, NEW_USER = 701234567890123456, 702345678901234567


async def _count(world: World, model: type) -> int:
    async with world.sessionmaker() as db:
        return int(await db.scalar(select(func.count()).select_from(model)) or 0)


async def _tick() -> datetime:
    """A moment strictly between what was written before and what is written after (S3 keeps seconds)."""
    await asyncio.sleep(1.1)
    boundary = datetime.now(UTC)
    await asyncio.sleep(1.1)
    return boundary


async def test_purge_removes_exactly_the_expired_rows_and_objects(world: World) -> None:
    repo, store = world.repo, world.store
    # Before the boundary: an ended session with a transcript, an open session's first turn, an old
    # violation, an old backup and an orphaned transcript object nothing points at any more.
    ended = await repo.open_session(OLD_USER, 1, 11, SETTINGS)
    await repo.add_message(ended.id, Role.USER, "old question")
    await repo.add_message(ended.id, Role.ASSISTANT, "old answer")
    await repo.add_request("old-request", ended.id)
    await repo.end_session(ended.id)
    await save_transcript(repo, store, ended.id)
    still_open = await repo.open_session(OLD_USER, 1, 12, SETTINGS)
    await repo.add_message(still_open.id, Role.USER, "first turn, long ago")
    await repo.add_violation(OLD_USER, "rude", "warn", "old excerpt", still_open.id)
    await store.put("backups/database/meatlizard-old.sqlite3.gz", b"old dump", "application/gzip")
    await store.put("transcripts/orphan/transcript.json", b"{}", "application/json")

    boundary = await _tick()

    # After the boundary: a whole recent session with its transcript, a new turn, violation and backup.
    recent = await repo.open_session(NEW_USER, 1, 21, SETTINGS)
    await repo.add_message(recent.id, Role.USER, "recent question")
    await repo.end_session(recent.id)
    await save_transcript(repo, store, recent.id)
    await repo.add_message(still_open.id, Role.USER, "second turn, today")
    await repo.add_violation(OLD_USER, "rude", "warn", "new excerpt", still_open.id)
    await store.put("backups/database/meatlizard-new.sqlite3.gz", b"new dump", "application/gzip")

    report = await purge_expired(world.sessionmaker, store, 90, now=boundary + timedelta(days=90))

    assert report == PurgeReport(sessions=1, messages=3, violations=1, transcripts=0, objects=3, backups=1)
    # The expired session is gone with its transcript; the open one only lost its old turn.
    with pytest.raises(SessionNotFound):
        await repo.get_session(ended.id)
    assert (await repo.get_session(still_open.id)).is_open
    assert await repo.get_transcript(ended.id) is None
    assert [t.text for t in await repo.turns(still_open.id)] == ["second turn, today"]
    assert [t.text for t in await repo.turns(recent.id)] == ["recent question"]
    assert [v.excerpt for v in await repo.violations_for_user(OLD_USER)] == ["new excerpt"]
    assert await _count(world, Message) == 2
    assert await _count(world, ModerationViolation) == 1
    assert await _count(world, Transcript) == 1
    keys = {item.key for item in await store.list_objects("")}
    assert keys == {*transcript_keys(recent.id), "backups/database/meatlizard-new.sqlite3.gz"}
    # The user rows (ban state) are not conversation data and stay.
    assert await repo.get_user(OLD_USER) is not None

    # A second run finds nothing more to do.
    again = await purge_expired(world.sessionmaker, store, 90, now=boundary + timedelta(days=90))
    assert again.total == 0


async def test_purge_before_anything_expires_deletes_nothing(world: World) -> None:
    session = await world.repo.open_session(OLD_USER, 1, 11, SETTINGS)
    await world.repo.add_message(session.id, Role.USER, "hello")
    await world.repo.end_session(session.id)
    await save_transcript(world.repo, world.store, session.id)

    report = await purge_expired(world.sessionmaker, world.store, 1)

    assert report.total == 0
    assert len(await world.repo.turns(session.id)) == 1
    assert len(await world.store.list_objects("transcripts/")) == 2


async def test_purge_report_audit_detail_is_a_valid_audit_code() -> None:
    detail = PurgeReport(1, 20, 3, 1, 4, 2).audit_detail
    assert CODE_PATTERN.fullmatch(detail)
    assert detail == "s:1.m:20.v:3.t:1.o:4.b:2"


async def test_purge_works_through_more_expired_sessions_than_one_batch(world: World) -> None:
    ids = []
    for n in range(5):
        session = await world.repo.open_session(OLD_USER + n, 1, 900 + n, SETTINGS)
        await world.repo.add_message(session.id, Role.USER, f"question {n}")
        await world.repo.add_violation(OLD_USER + n, "rude", "warn", "excerpt", session.id)
        await world.repo.end_session(session.id)
        await save_transcript(world.repo, world.store, session.id)
        ids.append(session.id)

    report = await purge_expired(
        world.sessionmaker, world.store, 1, now=datetime.now(UTC) + timedelta(days=2), batch=2
    )

    assert (report.sessions, report.messages, report.violations, report.objects) == (5, 5, 5, 10)
    assert await world.store.list_objects("") == []
    for session_id in ids:
        with pytest.raises(SessionNotFound):
            await world.repo.get_session(session_id)
