"""Re-sealing under a new storage key: resumable, safe beside the running bot, and afterwards the old
key can be dropped with everything still readable."""

from __future__ import annotations

import asyncio
import os
import uuid

import pytest

from server_bot.db import Repository, Role, SessionSettings, StorageSealer, UnknownStorageKey
from server_bot.lifecycle import ResealError, ResealProgress, reseal_rows
from server_bot.lifecycle.reseal import count_stale
from tests.server_bot.lifecycle.conftest import World

USER = 612345678901234567


async def _write_under_old_key(world: World, sessions: int = 3) -> list[uuid.UUID]:
    ids = []
    for n in range(sessions):
        session = await world.repo.open_session(USER + n, 1, 100 + n, SessionSettings(f"prompt {n}", 0.7, 64))
        for turn in range(4):
            await world.repo.add_message(session.id, Role.USER, f"turn {n}.{turn}")
        await world.repo.add_violation(USER + n, "rude", "warn", f"excerpt {n}", session.id)
        ids.append(session.id)
    return ids


async def _read_everything(repo: Repository, ids: list[uuid.UUID]) -> list[str | None]:
    out: list[str | None] = []
    for n, session_id in enumerate(ids):
        session = await repo.get_session(session_id)
        out += [session.system_prompt, *(t.text for t in await repo.turns(session.id))]
        out += [v.excerpt for v in await repo.violations_for_user(USER + n)]
    return out


async def test_reseal_then_removing_the_old_key_leaves_everything_readable(world: World) -> None:
    ids = await _write_under_old_key(world)
    expected = await _read_everything(world.repo, ids)
    new_key = os.urandom(32)
    rotated = StorageSealer(new_key, previous=[world.sealer_key])
    seen: list[ResealProgress] = []

    report = await reseal_rows(world.sessionmaker, rotated, batch=5, progress=seen.append)

    assert report.resealed == report.scanned == 3 * 4 + 3 + 3
    assert {p.column for p in seen} == {"messages", "system_prompts", "moderation_excerpts"}
    assert seen[-1].scanned == seen[-1].total
    assert await count_stale(world.sessionmaker, rotated) == 0
    only_new = Repository(world.sessionmaker, StorageSealer(new_key))
    assert await _read_everything(only_new, ids) == expected
    # Before the reseal the old key was needed: prove the check above is not vacuous.
    with pytest.raises(UnknownStorageKey):
        await _read_everything(Repository(world.sessionmaker, StorageSealer(os.urandom(32))), ids)


async def test_reseal_resumes_after_an_interruption_without_redoing_work(world: World) -> None:
    ids = await _write_under_old_key(world)
    rotated = StorageSealer(os.urandom(32), previous=[world.sealer_key])

    def stop_after_first_batch(progress: ResealProgress) -> None:
        raise KeyboardInterrupt  # the operator pressed Ctrl-C after one committed batch

    with pytest.raises(KeyboardInterrupt):
        await reseal_rows(world.sessionmaker, rotated, batch=5, progress=stop_after_first_batch)
    assert await count_stale(world.sessionmaker, rotated) == 18 - 5

    report = await reseal_rows(world.sessionmaker, rotated, batch=5)

    assert report.resealed == 13 and report.scanned == 18
    assert await count_stale(world.sessionmaker, rotated) == 0
    assert len(await _read_everything(Repository(world.sessionmaker, rotated), ids)) == 18


async def test_reseal_while_the_bot_writes_leaves_every_row_readable_under_the_new_key(world: World) -> None:
    ids = await _write_under_old_key(world, sessions=2)
    for n in range(40):
        await world.repo.add_message(ids[0], Role.ASSISTANT, f"filler {n}")
    new_key = os.urandom(32)
    rotated = StorageSealer(new_key, previous=[world.sealer_key])
    # The running bot, restarted with the new key first (the runbook's order), keeps writing and deleting.
    bot = Repository(world.sessionmaker, rotated)

    async def bot_traffic() -> None:
        for n in range(10):
            await bot.add_message(ids[1], Role.USER, f"live {n}")
            if n == 5:
                await bot.reset_history(ids[0])
            await asyncio.sleep(0)

    report, _ = await asyncio.gather(reseal_rows(world.sessionmaker, rotated, batch=4), bot_traffic())

    assert report.scanned >= report.resealed > 0
    assert await count_stale(world.sessionmaker, rotated) == 0
    only_new = Repository(world.sessionmaker, StorageSealer(new_key))
    assert await only_new.turns(ids[0]) == []
    assert [t.text for t in await only_new.turns(ids[1])][-10:] == [f"live {n}" for n in range(10)]


async def test_reseal_stops_with_a_clear_error_when_a_row_opens_under_no_key(world: World) -> None:
    await _write_under_old_key(world, sessions=1)
    unrelated = StorageSealer(os.urandom(32))  # the old key was dropped before resealing

    with pytest.raises(ResealError, match="previous key"):
        await reseal_rows(world.sessionmaker, unrelated)
