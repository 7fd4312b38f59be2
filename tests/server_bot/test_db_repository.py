"""The repository's behaviour, once on embedded SQLite and once on PostgreSQL 15."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from server_bot.db import (
    ChannelInUse,
    Repository,
    Role,
    SessionAlreadyOpen,
    SessionNotFound,
    SessionNotOpen,
    SessionSettings,
    SessionStatus,
    StorageSealer,
    create_engine,
    create_sessionmaker,
    upgrade_to_head,
)
from shared.audit import AuditRecord

DEFAULTS = SessionSettings(system_prompt="You are a lizard.", temperature=0.7, max_tokens=256)
ALICE, BOB = 111111111111111111, 922337203685477580  # real-sized snowflakes
GUILD = 333333333333333333


@pytest.fixture
async def repo(migrated_database_url: str) -> AsyncIterator[Repository]:
    engine = create_engine(migrated_database_url)
    yield Repository(create_sessionmaker(engine), StorageSealer(os.urandom(32)))
    await engine.dispose()


async def test_get_or_create_user_creates_once(repo: Repository) -> None:
    first = await repo.get_or_create_user(ALICE)
    second = await repo.get_or_create_user(ALICE)
    assert first == second
    assert first.id == ALICE and not first.banned and first.suspended_until is None
    assert first.created_at.tzinfo is not None


async def test_concurrent_get_or_create_user_yields_one_user(repo: Repository) -> None:
    users = await asyncio.gather(*(repo.get_or_create_user(BOB) for _ in range(5)))
    assert {user.id for user in users} == {BOB}


async def test_open_session_stores_defaults_and_channel(repo: Repository) -> None:
    session = await repo.open_session(ALICE, GUILD, 42, DEFAULTS)
    assert session.is_open and session.owner_id == ALICE and session.channel_id == 42
    assert session.settings == DEFAULTS
    assert await repo.get_session(session.id) == session
    assert await repo.get_open_session_for_user(ALICE) == session
    assert await repo.get_session_by_channel(42) == session


async def test_second_open_session_for_the_same_user_is_refused(repo: Repository) -> None:
    await repo.open_session(ALICE, GUILD, 1, DEFAULTS)
    with pytest.raises(SessionAlreadyOpen):
        await repo.open_session(ALICE, GUILD, 2, DEFAULTS)


async def test_concurrent_opens_leave_exactly_one_open_session(repo: Repository) -> None:
    results = await asyncio.gather(
        *(repo.open_session(BOB, GUILD, 100 + i, DEFAULTS) for i in range(4)), return_exceptions=True
    )
    opened = [r for r in results if not isinstance(r, BaseException)]
    assert len(opened) == 1
    assert all(isinstance(r, SessionAlreadyOpen) for r in results if isinstance(r, BaseException))


async def test_user_may_open_a_new_session_after_ending_the_old_one(repo: Repository) -> None:
    old = await repo.open_session(ALICE, GUILD, 1, DEFAULTS)
    ended = await repo.end_session(old.id)
    assert ended.status is SessionStatus.ENDED and ended.ended_at is not None
    new = await repo.open_session(ALICE, GUILD, 2, DEFAULTS)
    assert (await repo.get_open_session_for_user(ALICE)) == new


async def test_ending_twice_keeps_the_first_end_time(repo: Repository) -> None:
    session = await repo.open_session(ALICE, GUILD, 1, DEFAULTS)
    first = await repo.end_session(session.id)
    assert await repo.end_session(session.id) == first


async def test_channel_bound_to_two_sessions_is_refused(repo: Repository) -> None:
    await repo.open_session(ALICE, GUILD, 7, DEFAULTS)
    with pytest.raises(ChannelInUse):
        await repo.open_session(BOB, GUILD, 7, DEFAULTS)
    session = await repo.open_session(BOB, GUILD, None, DEFAULTS)
    with pytest.raises(ChannelInUse):
        await repo.set_session_channel(session.id, 7)
    assert (await repo.set_session_channel(session.id, 8)).channel_id == 8


async def test_history_returns_turns_in_order_decrypted(repo: Repository) -> None:
    session = await repo.open_session(ALICE, GUILD, 1, DEFAULTS)
    await repo.add_message(session.id, Role.USER, "What is a lizard?", token_count=5)
    await repo.add_message(session.id, Role.ASSISTANT, "A scaly reptile. 🦎", token_count=6)
    await repo.add_message(session.id, Role.USER, "Thanks")
    assert await repo.history(session.id) == [
        (Role.USER, "What is a lizard?"),
        (Role.ASSISTANT, "A scaly reptile. 🦎"),
        (Role.USER, "Thanks"),
    ]
    turns = await repo.turns(session.id)
    assert [t.token_count for t in turns] == [5, 6, None]


async def test_messages_of_one_session_never_show_in_another(repo: Repository) -> None:
    alice = await repo.open_session(ALICE, GUILD, 1, DEFAULTS)
    bob = await repo.open_session(BOB, GUILD, 2, DEFAULTS)
    await repo.add_message(alice.id, Role.USER, "alice's words")
    assert await repo.history(bob.id) == []


async def test_ended_session_takes_no_messages_or_settings(repo: Repository) -> None:
    session = await repo.open_session(ALICE, GUILD, 1, DEFAULTS)
    await repo.end_session(session.id)
    with pytest.raises(SessionNotOpen):
        await repo.add_message(session.id, Role.USER, "too late")
    with pytest.raises(SessionNotOpen):
        await repo.update_settings(session.id, temperature=1.0)
    with pytest.raises(SessionNotOpen):
        await repo.set_system_prompt(session.id, "new")


async def test_unknown_session_is_reported(repo: Repository) -> None:
    with pytest.raises(SessionNotFound):
        await repo.get_session(uuid.uuid4())
    with pytest.raises(SessionNotFound):
        await repo.add_message(uuid.uuid4(), Role.USER, "hello")


async def test_reset_history_forgets_turns_but_keeps_the_session(repo: Repository) -> None:
    session = await repo.open_session(ALICE, GUILD, 1, DEFAULTS)
    await repo.add_message(session.id, Role.USER, "one")
    await repo.add_message(session.id, Role.ASSISTANT, "two")
    assert await repo.reset_history(session.id) == 2
    assert await repo.history(session.id) == []
    assert (await repo.get_session(session.id)).is_open


async def test_system_prompt_and_settings_can_be_changed(repo: Repository) -> None:
    session = await repo.open_session(ALICE, GUILD, 1, DEFAULTS)
    await repo.set_system_prompt(session.id, "Answer in haiku.")
    await repo.update_settings(session.id, temperature=1.2)
    updated = await repo.update_settings(session.id, max_tokens=64)
    assert updated.settings == SessionSettings("Answer in haiku.", 1.2, 64)
    assert await repo.get_session(session.id) == updated
    cleared = await repo.set_system_prompt(session.id, None)
    assert cleared.system_prompt is None


async def test_transfer_hands_the_session_and_its_history_to_the_new_owner(repo: Repository) -> None:
    session = await repo.open_session(ALICE, GUILD, 1, DEFAULTS)
    await repo.add_message(session.id, Role.USER, "kept across the transfer")
    moved = await repo.transfer_session(session.id, BOB)
    assert moved.owner_id == BOB
    assert await repo.get_open_session_for_user(ALICE) is None
    assert await repo.get_open_session_for_user(BOB) == moved
    assert await repo.history(session.id) == [(Role.USER, "kept across the transfer")]


async def test_transfer_to_a_user_with_an_open_session_is_refused(repo: Repository) -> None:
    session = await repo.open_session(ALICE, GUILD, 1, DEFAULTS)
    await repo.open_session(BOB, GUILD, 2, DEFAULTS)
    with pytest.raises(SessionAlreadyOpen):
        await repo.transfer_session(session.id, BOB)
    assert (await repo.get_session(session.id)).owner_id == ALICE


async def test_ended_sessions_without_transcript_are_listed_until_recorded(repo: Repository) -> None:
    still_open = await repo.open_session(ALICE, GUILD, 1, DEFAULTS)
    ended = await repo.open_session(BOB, GUILD, 2, DEFAULTS)
    await repo.end_session(ended.id)
    pending = await repo.list_ended_sessions_without_transcript()
    assert [s.id for s in pending] == [ended.id]
    await repo.record_transcript(ended.id, "t/a.json", "t/a.md")
    assert await repo.list_ended_sessions_without_transcript() == []
    assert (await repo.get_transcript(ended.id)) is not None
    assert await repo.get_transcript(still_open.id) is None


async def test_transcript_saved_before_the_end_does_not_count_as_final(repo: Repository) -> None:
    session = await repo.open_session(ALICE, GUILD, 1, DEFAULTS)
    await repo.record_transcript(session.id, "t/a.json", "t/a.md")
    await repo.end_session(session.id)
    assert [s.id for s in await repo.list_ended_sessions_without_transcript()] == [session.id]
    await repo.record_transcript(session.id, "t/a.json", "t/a.md")
    assert await repo.list_ended_sessions_without_transcript() == []


async def test_ban_and_suspension_block_a_user(repo: Repository) -> None:
    now = datetime.now(UTC)
    banned = await repo.ban_user(ALICE)
    assert banned.banned and banned.is_blocked(now)
    assert not (await repo.unban_user(ALICE)).is_blocked(now)

    suspended = await repo.suspend_user(BOB, now + timedelta(hours=1))
    assert suspended.is_blocked(now)
    assert not suspended.is_blocked(now + timedelta(hours=2))
    assert suspended.suspended_until == now + timedelta(hours=1)
    assert (await repo.lift_suspension(BOB)).suspended_until is None


async def test_audit_events_are_recorded_newest_first(repo: Repository) -> None:
    start = datetime.now(UTC)
    await repo.add_audit_event(
        "command", success=True, command="chat", user_id=ALICE, latency_ms=12.5, at=start
    )
    await repo.add_audit_event(
        "command", success=False, level="WARNING", command="end", user_id=BOB, at=start + timedelta(seconds=1)
    )
    events = await repo.recent_audit_events()
    assert [(e.command, e.success) for e in events] == [("end", False), ("chat", True)]
    assert [e.command for e in await repo.recent_audit_events(user_id=ALICE)] == ["chat"]


async def test_violations_keep_their_excerpt_and_filter_by_time(repo: Repository) -> None:
    session = await repo.open_session(ALICE, GUILD, 1, DEFAULTS)
    await repo.add_violation(ALICE, "slur", "warn", "the matched words", session.id)
    await repo.add_violation(ALICE, "spam", "mute", None)
    found = await repo.violations_for_user(ALICE)
    assert [(v.rule, v.action, v.excerpt) for v in found] == [
        ("slur", "warn", "the matched words"),
        ("spam", "mute", None),
    ]
    assert found[0].session_id == session.id
    assert await repo.violations_for_user(ALICE, since=datetime.now(UTC) + timedelta(minutes=1)) == []
    assert await repo.violations_for_user(BOB) == []


async def test_metric_samples_are_queried_by_half_open_time_range(repo: Repository) -> None:
    t0 = datetime(2025, 5, 1, 12, 0, tzinfo=UTC)
    for minute in range(4):
        await repo.add_metric_sample(
            "generation",
            tokens=10 * minute,
            tokens_per_s=5.0,
            latency_ms=100.0,
            at=t0 + timedelta(minutes=minute),
        )
    await repo.add_metric_sample("queue_depth", value=3, at=t0 + timedelta(minutes=1))
    window = await repo.metric_samples(t0 + timedelta(minutes=1), t0 + timedelta(minutes=3))
    assert [(s.kind, s.at.minute) for s in window] == [
        ("generation", 1),
        ("queue_depth", 1),
        ("generation", 2),
    ]
    only = await repo.metric_samples(t0, t0 + timedelta(hours=1), kinds=["generation"])
    assert [s.tokens for s in only] == [0, 10, 20, 30]
    assert only[0].at == t0


async def test_toggles_default_until_set_and_remember_who_set_them(repo: Repository) -> None:
    assert await repo.get_toggle("maintenance") is False
    assert await repo.get_toggle("maintenance", default=True) is True
    await repo.set_toggle("maintenance", True, updated_by=ALICE)
    assert await repo.get_toggle("maintenance") is True
    info = await repo.set_toggle("maintenance", False, updated_by=BOB)
    assert not info.enabled and info.updated_by == BOB
    assert list(await repo.all_toggles()) == ["maintenance"]


async def test_drop_last_reply_forgets_only_the_answer_to_the_last_prompt(repo: Repository) -> None:
    session = await repo.open_session(ALICE, GUILD, 1, DEFAULTS)
    await repo.add_message(session.id, Role.USER, "first")
    await repo.add_message(session.id, Role.ASSISTANT, "answer one")
    await repo.add_message(session.id, Role.USER, "second")
    assert await repo.drop_last_reply(session.id) == 0  # no answer yet: nothing to drop
    await repo.add_message(session.id, Role.ASSISTANT, "answer two")
    assert await repo.drop_last_reply(session.id) == 1
    assert await repo.history(session.id) == [
        (Role.USER, "first"),
        (Role.ASSISTANT, "answer one"),
        (Role.USER, "second"),
    ]


async def test_audit_log_records_reach_the_audit_table(repo: Repository) -> None:
    record = AuditRecord.create(
        "command", success=False, command="chat.start", user_id=ALICE, latency_ms=3.5, detail="exc:timeout"
    )
    await repo.audit_sink(record)
    (event,) = await repo.recent_audit_events()
    assert (event.event, event.command, event.success, event.detail) == (
        "command",
        "chat.start",
        False,
        "exc:timeout",
    )
    assert event.level == "warning" and event.at == record.timestamp


async def test_health_check_reports_a_working_database(repo: Repository) -> None:
    assert await repo.health() == (True, "ok")


async def test_health_check_reports_an_unreachable_database() -> None:
    engine = create_engine("postgresql+asyncpg://nobody@127.0.0.1:9/none", connect_args={"timeout": 2})
    repo = Repository(create_sessionmaker(engine), StorageSealer(os.urandom(32)))
    ok, detail = await repo.health()
    await engine.dispose()
    assert not ok and detail and "nobody" not in detail


async def test_sqlite_database_folder_is_created(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'var' / 'nested' / 'bot.db'}"
    await upgrade_to_head(url)
    engine = create_engine(url)
    repo = Repository(create_sessionmaker(engine), StorageSealer(os.urandom(32)))
    assert await repo.health() == (True, "ok")
    await engine.dispose()


async def test_open_sessions_last_active_is_the_newest_message_else_the_opening(repo: Repository) -> None:
    quiet = await repo.open_session(ALICE, GUILD, 1, DEFAULTS)
    talking = await repo.open_session(BOB, GUILD, 2, DEFAULTS)
    await repo.add_message(talking.id, Role.USER, "first")
    await asyncio.sleep(0.01)
    await repo.add_message(talking.id, Role.USER, "latest")
    last = (await repo.turns(talking.id))[-1]
    ended = await repo.open_session(ALICE + 1, GUILD, 3, DEFAULTS)
    await repo.end_session(ended.id)

    rows = {session.id: at for session, at in await repo.open_sessions_last_active()}

    assert rows.keys() == {quiet.id, talking.id}
    assert rows[quiet.id] == quiet.created_at
    assert rows[talking.id] == last.created_at
    assert rows[talking.id].tzinfo is not None
