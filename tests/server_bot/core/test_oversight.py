"""What the core offers admins and every front alike: turns with ids, open sessions and banned users,
the audit trail filtered in the repository, admin actions audited by the core, front-neutral refusals."""

from __future__ import annotations

import contextlib
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from server_bot.core import (
    ADMIN_ACTION,
    AuditQuery,
    CoreError,
    Finished,
    NoOpenSession,
    NotAdmin,
    SessionAlreadyOpen,
)
from server_bot.core import errors as core_errors
from server_bot.core.events import FAILURE_MESSAGES, ContextDropped
from server_bot.db.models import Role
from tests.server_bot.core.conftest import ADMIN, ALICE, BOB, Harness

ALICE_SESSION = uuid.UUID(int=1)


async def _answered(harness: Harness, prompt: str) -> Finished:
    session = await harness.core.sessions.current(ALICE) or await harness.core.sessions.open(ALICE)
    stream = await harness.core.conversation.submit(ALICE, session.id, prompt)
    async with contextlib.aclosing(stream):
        events = [event async for event in stream]
    final = events[-1]
    assert isinstance(final, Finished)
    return final


async def test_history_turns_carry_the_ids_regenerate_takes(harness: Harness) -> None:
    final = await _answered(harness, "hello")
    session = await harness.core.sessions.current(ALICE)
    assert session is not None
    turns = await harness.core.sessions.history(ALICE, session.id)
    assert [t.role for t in turns] == [Role.USER, Role.ASSISTANT]
    assert turns[-1].id == final.reply_id and turns[0].id is not None and turns[0].id < turns[-1].id
    stream = await harness.core.conversation.regenerate(ALICE, turns[-1].id)
    await stream.aclose()


async def test_admins_list_open_sessions_of_every_front_and_banned_users(harness: Harness) -> None:
    alices = await harness.core.sessions.open(ALICE)
    bobs = await harness.core.sessions.open(BOB)
    await harness.core.sessions.close(alices.id, reason="ended", by=ALICE)
    assert [s.id for s in await harness.core.oversight.open_sessions(ADMIN)] == [bobs.id]
    await harness.core.access.ban(BOB.user_id, by=ADMIN)
    assert [u.id for u in await harness.core.oversight.banned_users(ADMIN)] == [BOB.user_id]
    assert await harness.core.oversight.open_sessions(ADMIN) == []  # the ban closed Bob's chat


@pytest.mark.parametrize(
    "read",
    [
        pytest.param(lambda core: core.oversight.open_sessions(ALICE), id="open-sessions"),
        pytest.param(lambda core: core.oversight.banned_users(ALICE), id="banned-users"),
        pytest.param(lambda core: core.oversight.audit_events(ALICE, AuditQuery()), id="audit"),
    ],
)
async def test_oversight_reads_are_refused_to_non_admins(harness: Harness, read: object) -> None:
    assert callable(read)
    with pytest.raises(NotAdmin):
        await read(harness.core)


async def test_admin_actions_are_audited_by_the_core_whichever_front_asked(harness: Harness) -> None:
    session = await harness.core.sessions.open(ALICE)
    await harness.core.access.set_paused(ADMIN, True)
    await harness.core.access.set_paused(ADMIN, False)
    await harness.core.access.set_fallback(ADMIN, True)
    await harness.core.sessions.transfer(ADMIN, session.id, BOB.user_id)
    await harness.core.access.ban(ALICE.user_id, by=ADMIN)
    await harness.core.access.unban(ALICE.user_id, by=ADMIN)
    with pytest.raises(NotAdmin):
        await harness.core.access.ban(ADMIN.user_id, by=BOB)

    rows = await harness.core.oversight.audit_events(ADMIN, AuditQuery(event=ADMIN_ACTION))
    seen = [(r.command, r.user_id, r.success, r.detail) for r in reversed(rows)]
    assert seen == [
        ("toggle.requests_paused", ADMIN.user_id, True, "discord:target:on"),
        ("toggle.requests_paused", ADMIN.user_id, True, "discord:target:off"),
        ("toggle.fallback_enabled", ADMIN.user_id, True, "discord:target:on"),
        ("transfer", ADMIN.user_id, True, f"discord:target:{BOB.user_id}"),
        ("ban", ADMIN.user_id, True, f"discord:target:{ALICE.user_id}"),
        ("unban", ADMIN.user_id, True, f"discord:target:{ALICE.user_id}"),
        ("ban", BOB.user_id, False, "exc:not_admin"),
    ]


async def test_a_ban_by_the_platform_is_audited_without_an_actor(harness: Harness) -> None:
    await harness.core.access.ban(BOB.user_id)
    (row,) = await harness.core.oversight.audit_events(ADMIN, AuditQuery(event=ADMIN_ACTION))
    assert (row.command, row.user_id, row.detail) == ("ban", None, f"platform:target:{BOB.user_id}")


async def test_the_audit_query_filters_by_event_user_success_and_time_in_the_repository(
    harness: Harness,
) -> None:
    repo = harness.repo
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for minute, (event, user, success) in enumerate(
        [("prompt", 1, True), ("prompt", 2, False), ("command", 1, False), ("prompt", 1, False)]
    ):
        await repo.add_audit_event(event, success=success, user_id=user, at=start + timedelta(minutes=minute))

    async def query(**filters: object) -> list[tuple[str, int | None, bool]]:
        rows = await harness.core.oversight.audit_events(ADMIN, AuditQuery(**filters))  # type: ignore[arg-type]
        return [(r.event, r.user_id, r.success) for r in rows]

    assert await query(event="prompt", user_id=1) == [("prompt", 1, False), ("prompt", 1, True)]
    assert await query(success=False, event="prompt") == [("prompt", 1, False), ("prompt", 2, False)]
    naive_until = datetime(2026, 1, 1, 0, 2)  # taken as UTC
    window = await query(since=start + timedelta(minutes=1), until=naive_until)
    assert window == [("command", 1, False), ("prompt", 2, False)]
    assert await query(limit=1) == [("prompt", 1, False)]


def _core_refusals() -> list[CoreError]:
    e = core_errors
    return [
        e.NoOpenSession(),
        e.NotSessionOwner(),
        e.SessionAlreadyOpen(ALICE_SESSION, 42),
        e.RequestsPaused(),
        e.Banned(),
        e.Suspended(),
        e.RateLimited(3.0),
        e.NotAdmin(),
        e.RelayUnavailable(),
        e.PromptBlocked(suspended=True),
        e.ReplyNotRegenerable(),
        e.RequestNotFound(),
        e.EmptyPrompt(),
        e.PromptTooLong(10),
        e.SystemPromptTooLong(10),
    ]


def test_the_cores_words_name_no_fronts_command() -> None:
    texts = [r.user_message for r in _core_refusals()]
    texts.append(ContextDropped(3).message)
    texts += list(FAILURE_MESSAGES.values())
    assert len(texts) > 15
    for text in texts:
        assert "/chat" not in text and "/ai-admin" not in text and "<#" not in text, text


def test_each_refusal_has_a_code_a_front_can_add_its_hint_by() -> None:
    assert NoOpenSession().code == "no_open_session"
    assert SessionAlreadyOpen(ALICE_SESSION).code == "session_already_open"
    assert NotAdmin().code == "not_admin" and CoreError("x").code == "core_error"
