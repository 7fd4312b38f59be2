"""Per-key arrival order across tasks: a later arrival waits for the earlier one's release."""

from __future__ import annotations

import asyncio

from shared.arrival_order import ArrivalOrder, Turn


async def test_a_later_arrival_goes_on_only_after_the_earlier_one_is_released() -> None:
    line: ArrivalOrder[str] = ArrivalOrder()
    done: list[str] = []

    async def handle(name: str, work_s: float) -> None:
        turn = line.arrive("channel")
        try:
            await asyncio.sleep(work_s)  # e.g. a download, slower for the first arrival
            await turn.ready()
            done.append(name)
        finally:
            turn.release()

    await asyncio.gather(handle("first", 0.1), handle("second", 0.0))
    assert done == ["first", "second"]


async def test_other_keys_do_not_wait() -> None:
    line: ArrivalOrder[str] = ArrivalOrder()
    held = line.arrive("a")
    await asyncio.wait_for(line.arrive("b").ready(), timeout=1)
    held.release()


async def test_an_early_release_lets_the_next_go_and_releasing_again_is_harmless() -> None:
    line: ArrivalOrder[str] = ArrivalOrder()
    first = line.arrive("k")
    second = line.arrive("k")
    first.release()
    await asyncio.wait_for(second.ready(), timeout=1)
    first.release()
    second.release()
    await asyncio.wait_for(line.arrive("k").ready(), timeout=1)  # nothing is left in the line


async def test_cancelling_a_waiter_does_not_release_the_turn_before_it() -> None:
    line: ArrivalOrder[str] = ArrivalOrder()
    first = line.arrive("k")
    second = line.arrive("k")
    waiting = asyncio.create_task(second.ready())
    await asyncio.sleep(0)
    waiting.cancel()
    await asyncio.gather(waiting, return_exceptions=True)
    second.release()
    third = line.arrive("k")
    assert not await _ready_within(third, 0.05)  # `first` still holds the line
    first.release()
    assert await _ready_within(third, 1)


async def _ready_within(turn: Turn[str], seconds: float) -> bool:
    try:
        await asyncio.wait_for(asyncio.shield(turn.ready()), timeout=seconds)
    except TimeoutError:
        return False
    return True
