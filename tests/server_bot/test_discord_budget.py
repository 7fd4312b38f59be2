"""The server-bot's Discord request budget, on a fake clock (sleeping advances it; nothing really waits)."""

from __future__ import annotations

import asyncio

import pytest

from server_bot.discord_budget import DiscordBudget, Priority, budget_for


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(0)  # let the waiters just granted run at the time they were granted
        self.now += seconds


def _budget(clock: FakeClock, rate: float = 10.0, burst: int = 2) -> DiscordBudget:
    return DiscordBudget(rate, burst, clock=clock, sleep=clock.sleep)


async def _queue(
    budget: DiscordBudget, clock: FakeClock, order: list[tuple[str, float]], name: str, p: Priority
) -> None:
    await budget.acquire(p)
    order.append((name, round(clock.now, 3)))


async def test_a_burst_is_granted_at_once_then_requests_follow_at_the_rate() -> None:
    clock = FakeClock()
    budget = _budget(clock, rate=10.0, burst=2)
    order: list[tuple[str, float]] = []
    await asyncio.gather(*(_queue(budget, clock, order, f"r{i}", Priority.STREAM) for i in range(5)))
    assert [name for name, _ in order] == ["r0", "r1", "r2", "r3", "r4"]
    assert [at for _, at in order] == [1000.0, 1000.0, 1000.1, 1000.2, 1000.3]


async def test_no_one_second_window_sees_more_than_burst_plus_rate() -> None:
    clock = FakeClock()
    budget = _budget(clock, rate=36.0, burst=8)
    times: list[float] = []

    async def one() -> None:
        await budget.acquire(Priority.STREAM)
        times.append(clock.now)

    await asyncio.gather(*(one() for _ in range(200)))
    for start in times:
        assert sum(1 for t in times if start <= t < start + 1.0) <= 8 + 36


async def test_waiters_are_served_relay_then_first_text_then_final_then_stream_then_housekeeping() -> None:
    clock = FakeClock()
    budget = _budget(clock, rate=10.0, burst=1)
    await budget.acquire(Priority.STREAM)  # the bucket is now empty: everyone below waits
    order: list[tuple[str, float]] = []
    tasks = [
        asyncio.create_task(_queue(budget, clock, order, "housekeeping", Priority.HOUSEKEEPING)),
        asyncio.create_task(_queue(budget, clock, order, "stream", Priority.STREAM)),
        asyncio.create_task(_queue(budget, clock, order, "final", Priority.FINAL)),
        asyncio.create_task(_queue(budget, clock, order, "first", Priority.FIRST_TEXT)),
        asyncio.create_task(_queue(budget, clock, order, "relay", Priority.RELAY)),
    ]
    await asyncio.gather(*tasks)
    assert [name for name, _ in order] == ["relay", "first", "final", "stream", "housekeeping"]


async def test_a_final_that_waited_past_the_promotion_time_goes_before_newer_first_texts() -> None:
    clock = FakeClock()
    budget = DiscordBudget(1.0, 1, final_promote_s=1.5, clock=clock, sleep=clock.sleep)
    await budget.acquire(Priority.STREAM)  # empty: one request a second from now on
    order: list[tuple[str, float]] = []
    tasks = [asyncio.create_task(_queue(budget, clock, order, "final", Priority.FINAL))]
    await asyncio.sleep(0)
    # A first text arrives every half second: without promotion the final would never be served.
    for i in range(6):
        tasks.append(asyncio.create_task(_queue(budget, clock, order, f"first{i}", Priority.FIRST_TEXT)))
        await asyncio.sleep(0)
        clock.now += 0.5
    await asyncio.gather(*tasks)
    names = [name for name, _ in order]
    # The first text waiting at the first grant goes first; at the second grant the final has waited
    # past 1.5 s and goes ahead of the first texts that came meanwhile.
    assert names.index("final") <= 2
    assert names.index("final") < names.index("first2")


async def test_typing_is_skipped_when_the_budget_is_tight() -> None:
    clock = FakeClock()
    budget = _budget(clock, rate=10.0, burst=4)
    assert budget.try_acquire(Priority.TYPING)
    assert budget.try_acquire(Priority.TYPING)
    # Half the burst is left: kept for replies.
    assert not budget.try_acquire(Priority.TYPING)
    assert budget.skipped == 1
    await budget.acquire(Priority.FINAL)
    await budget.acquire(Priority.FINAL)
    clock.now += 1.0  # refilled
    assert budget.try_acquire(Priority.TYPING)


async def test_typing_is_skipped_while_a_reply_waits() -> None:
    clock = FakeClock()
    budget = _budget(clock, rate=10.0, burst=1)
    await budget.acquire(Priority.FINAL)
    waiting = asyncio.create_task(budget.acquire(Priority.FIRST_TEXT))
    await asyncio.sleep(0)
    assert budget.waiting == 1
    assert not budget.try_acquire(Priority.TYPING)
    await waiting


async def test_a_cancelled_waiter_does_not_take_a_request() -> None:
    clock = FakeClock()
    budget = _budget(clock, rate=10.0, burst=1)
    await budget.acquire(Priority.FINAL)
    gone = asyncio.create_task(budget.acquire(Priority.FINAL))
    order: list[tuple[str, float]] = []
    stays = asyncio.create_task(_queue(budget, clock, order, "stays", Priority.STREAM))
    await asyncio.sleep(0)
    gone.cancel()
    await stays
    assert order == [("stays", 1000.1)]
    assert budget.granted[Priority.FINAL] == 1


async def test_a_refunded_request_can_be_used_again() -> None:
    clock = FakeClock()
    budget = _budget(clock, rate=10.0, burst=1)
    await budget.acquire(Priority.STREAM)
    budget.refund()
    order: list[tuple[str, float]] = []
    await _queue(budget, clock, order, "again", Priority.STREAM)
    assert order == [("again", 1000.0)]


async def test_close_cancels_whoever_still_waits() -> None:
    clock = FakeClock()
    budget = DiscordBudget(0.001, 1, clock=clock, sleep=lambda _: asyncio.Event().wait())
    await budget.acquire(Priority.FINAL)
    waiting = asyncio.create_task(budget.acquire(Priority.FINAL))
    await asyncio.sleep(0)
    await budget.aclose()
    with pytest.raises(asyncio.CancelledError):
        await waiting


def test_one_budget_per_bot_http_client() -> None:
    class Http:
        pass

    first, second = Http(), Http()
    assert budget_for(first) is budget_for(first)
    assert budget_for(first) is not budget_for(second)


def test_a_budget_needs_a_positive_rate_and_burst() -> None:
    with pytest.raises(ValueError, match="positive rate"):
        DiscordBudget(0, 1)
    with pytest.raises(ValueError, match="positive rate"):
        DiscordBudget(1, 0)
