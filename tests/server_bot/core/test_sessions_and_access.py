"""Sessions and access through the core: settings are validated, admins are known by role id only."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest

from server_bot.core import (
    Actor,
    Banned,
    InvalidSetting,
    NoOpenSession,
    NotAdmin,
    NotSessionOwner,
    RequestsPaused,
    SessionAlreadyOpen,
    SessionClosed,
    SessionTransferred,
    Suspended,
    SystemPromptTooLong,
)
from tests.server_bot.core.conftest import ADMIN, ADMIN_ROLE, ALICE, BOB, Harness


async def test_a_session_remembers_the_front_end_it_was_opened_on(harness: Harness) -> None:
    web = await harness.core.sessions.open(BOB)
    assert web.front_end == "web" and web.channel_id is None
    assert await harness.core.sessions.list_for(BOB) == [web]
    with pytest.raises(SessionAlreadyOpen) as refused:
        await harness.core.sessions.open(BOB)
    assert refused.value.session_id == web.id


async def test_get_checks_ownership(harness: Harness) -> None:
    session = await harness.core.sessions.open(ALICE)
    with pytest.raises(NotSessionOwner):
        await harness.core.sessions.get(BOB, session.id)
    assert (await harness.core.sessions.get(ADMIN, session.id)).id == session.id


@pytest.mark.parametrize("temperature", [-1.0, math.nan, math.inf, 1.6])
async def test_bad_temperatures_are_refused(harness: Harness, temperature: float) -> None:
    session = await harness.core.sessions.open(ALICE)
    with pytest.raises(InvalidSetting, match=r"Temperature must be a number from 0 to at most 1\.5"):
        await harness.core.sessions.update_settings(ALICE, session.id, temperature=temperature)


@pytest.mark.parametrize("max_tokens", [0, -5, 1025])
async def test_bad_max_tokens_are_refused(harness: Harness, max_tokens: int) -> None:
    session = await harness.core.sessions.open(ALICE)
    with pytest.raises(InvalidSetting, match="from 1 to at most 1024"):
        await harness.core.sessions.update_settings(ALICE, session.id, max_tokens=max_tokens)


async def test_good_settings_are_stored(harness: Harness) -> None:
    session = await harness.core.sessions.open(ALICE)
    updated = await harness.core.sessions.update_settings(ALICE, session.id, temperature=0.0, max_tokens=1)
    assert (updated.temperature, updated.max_tokens) == (0.0, 1)


async def test_a_huge_system_prompt_is_refused_and_a_blank_one_restores_the_default(harness: Harness) -> None:
    session = await harness.core.sessions.open(ALICE)
    with pytest.raises(SystemPromptTooLong, match="100"):
        await harness.core.sessions.set_system_prompt(ALICE, session.id, "x" * 10_000)
    assert (
        await harness.core.sessions.set_system_prompt(ALICE, session.id, "Be brief")
    ).system_prompt == "Be brief"
    assert (
        await harness.core.sessions.set_system_prompt(ALICE, session.id, " \u200b ")
    ).system_prompt is None


async def test_a_look_alike_admin_role_grants_nothing(harness: Harness) -> None:
    impostor = Actor(444, "discord", role_ids=frozenset({ADMIN_ROLE + 1}))  # a role merely *named* AI Admin
    for attempt in (
        harness.core.access.require_admin(impostor),
        harness.core.access.set_paused(impostor, True),
        harness.core.access.ban(ALICE.user_id, by=impostor),
        harness.core.sessions.transfer(impostor, (await harness.core.sessions.open(ALICE)).id, 444),
    ):
        with pytest.raises(NotAdmin):
            await attempt
    await harness.core.access.require_admin(ADMIN)


async def test_without_a_configured_id_the_recorded_admin_role_counts(harness: Harness) -> None:
    access = harness.core.access
    access._configured_admin_role_id = None  # as if DISCORD_ADMIN_ROLE_ID were unset
    assert not await access.is_admin(ADMIN)
    await access.record_admin_role(ADMIN_ROLE)
    assert await access.is_admin(ADMIN)


async def test_pausing_refuses_prompts_and_commands(harness: Harness) -> None:
    session = await harness.core.sessions.open(ALICE)
    await harness.core.access.set_paused(ADMIN, True)
    with pytest.raises(RequestsPaused):
        await harness.core.conversation.submit(ALICE, session.id, "hi")
    with pytest.raises(RequestsPaused):
        await harness.core.sessions.reset(ALICE, session.id)
    await harness.core.access.set_paused(ADMIN, False)
    await harness.core.sessions.reset(ALICE, session.id)


async def test_a_ban_closes_the_session_through_the_one_close_path(harness: Harness) -> None:
    session = await harness.core.sessions.open(ALICE)
    await harness.core.access.ban(ALICE.user_id)  # a guild ban: the platform acts, no admin actor
    assert harness.notices == [SessionClosed(session.id, ALICE.user_id, "discord", None, "banned")]
    assert await harness.repo.get_transcript(session.id) is not None
    with pytest.raises(Banned):
        await harness.core.sessions.open(ALICE)
    with pytest.raises(NoOpenSession):
        await harness.core.sessions.require_current(ALICE)


async def test_bans_made_while_offline_are_applied_once_and_close_the_session(harness: Harness) -> None:
    session = await harness.core.sessions.open(ALICE)
    await harness.core.access.ban(BOB.user_id)  # already banned here: left alone
    harness.notices.clear()
    assert await harness.core.access.apply_bans([ALICE.user_id, BOB.user_id]) == [ALICE.user_id]
    assert harness.notices == [SessionClosed(session.id, ALICE.user_id, "discord", None, "banned")]
    assert await harness.core.access.apply_bans([ALICE.user_id]) == []
    with pytest.raises(Banned):
        await harness.core.sessions.open(ALICE)


async def test_a_suspended_user_is_refused_until_it_lapses(harness: Harness) -> None:
    until = harness.core.access._clock.now() + timedelta(hours=1)
    await harness.core.access.suspend(ALICE.user_id, until, by=ADMIN)
    with pytest.raises(Suspended):
        await harness.core.sessions.open(ALICE)
    await harness.core.access.lift_suspension(ALICE.user_id, by=ADMIN)
    await harness.core.sessions.open(ALICE)


async def test_an_admin_transfers_a_session_and_the_fronts_hear_of_it(harness: Harness) -> None:
    session = await harness.core.sessions.open(ALICE)
    moved = await harness.core.sessions.transfer(ADMIN, session.id, BOB.user_id)
    assert moved.owner_id == BOB.user_id
    assert harness.notices == [SessionTransferred(session.id, ALICE.user_id, BOB.user_id, "discord", None)]


async def test_closing_saves_the_transcript_and_tells_the_fronts_once(harness: Harness) -> None:
    session = await harness.core.sessions.open(ALICE)
    await harness.core.sessions.close(session.id, reason="ended", by=ALICE)
    await harness.core.sessions.close(session.id, reason="ended", by=ALICE)
    assert len(harness.notices) == 1
    link = await harness.core.sessions.transcript(ALICE, session.id)
    assert link.markdown and link.filename.endswith(".md")
