"""Idle sessions are closed through the one close path, on a fake clock: transcript saved, fronts told."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta

from server_bot.core import SessionClosed
from server_bot.core.idle import IdleSessionCloser
from tests.server_bot.core.conftest import ALICE, BOB, Harness


class FakeClock:
    def __init__(self) -> None:
        self.at = datetime.now(UTC)

    def now(self) -> datetime:
        return self.at


def closer(harness: Harness, clock: FakeClock, idle_after_s: float) -> IdleSessionCloser:
    return IdleSessionCloser(harness.repo, harness.core.sessions, clock, idle_after_s=idle_after_s)


async def test_a_session_idle_past_the_limit_is_closed_its_transcript_saved_and_its_user_told(
    harness: Harness,
) -> None:
    clock = FakeClock()
    session = await harness.core.sessions.open(ALICE)
    idle = closer(harness, clock, idle_after_s=3600)

    clock.at += timedelta(minutes=59)
    assert await idle.close_idle() == []
    clock.at += timedelta(minutes=2)
    (closed,) = await idle.close_idle()

    assert closed.id == session.id and not closed.is_open
    assert await harness.repo.get_transcript(session.id) is not None
    assert [n for n in harness.notices if isinstance(n, SessionClosed)] == [
        SessionClosed(session.id, ALICE.user_id, "discord", None, "idle")
    ]
    assert await idle.close_idle() == [], "closed once"


async def test_a_message_keeps_a_session_open(harness: Harness) -> None:
    clock = FakeClock()
    quiet = await harness.core.sessions.open(ALICE)
    talking = await harness.core.sessions.open(BOB)
    await asyncio.sleep(0.3)  # the message below is stored (real time) well after both were opened
    stream = await harness.core.conversation.submit(BOB, talking.id, "still here")
    async with contextlib.aclosing(stream):
        _ = [event async for event in stream]
    clock.at = datetime.now(UTC) + timedelta(seconds=0.1)

    closed = await closer(harness, clock, idle_after_s=0.25).close_idle()

    assert [s.id for s in closed] == [quiet.id]
    assert (await harness.repo.get_session(talking.id)).is_open


async def test_zero_means_never_and_the_checking_task_is_owned_and_cancelled(harness: Harness) -> None:
    clock = FakeClock()
    await harness.core.sessions.open(ALICE)
    clock.at += timedelta(days=365)
    never = closer(harness, clock, idle_after_s=0)
    assert await never.close_idle() == []
    never.start()
    assert not never.running

    ticks = asyncio.Event()

    async def sleep(_: float) -> None:
        ticks.set()
        await asyncio.sleep(0)

    idle = IdleSessionCloser(harness.repo, harness.core.sessions, clock, idle_after_s=60, sleep=sleep)
    idle.start()
    await asyncio.wait_for(ticks.wait(), 1)

    async def closed() -> bool:
        return await harness.repo.get_open_session_for_user(ALICE.user_id) is None

    async with asyncio.timeout(5):
        while not await closed():
            await asyncio.sleep(0.01)
    assert idle.running
    await idle.aclose()
    assert not idle.running
