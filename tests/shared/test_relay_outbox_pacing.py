"""The relay outbox's pacing on a stepped fake clock: posts are spread over the channel's bucket, and what
a user waits on skips the spacing a few times per window."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from shared import protocol
from shared.pacing import Budget, relay_post_delay
from shared.relay_outbox import ACCEPTANCE_HOLD_S, Outbox
from shared.relay_sender import EARLY_GAP_S, EARLY_POSTS_PER_WINDOW, Part

S1 = uuid.uuid4()
LIMIT, WINDOW_S = 5, 5.0  # Discord's channel-post bucket


class SteppedTime:
    """A clock that moves only when the test says so; sleepers wake in order as it passes them."""

    def __init__(self) -> None:
        self.now = 0.0
        self._sleepers: list[tuple[float, asyncio.Future[None]]] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        entry = (self.now + seconds, asyncio.get_running_loop().create_future())
        self._sleepers.append(entry)
        try:
            await entry[1]
        finally:
            self._sleepers.remove(entry)

    async def advance(self, seconds: float) -> None:
        target = self.now + seconds
        while due := [s for s in self._sleepers if s[0] <= target and not s[1].done()]:
            at, future = min(due, key=lambda s: s[0])
            self.now = max(self.now, at)
            future.set_result(None)
            await settle()
        self.now = target
        await settle()


async def settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


class Bucket:
    """Discord's fixed-window bucket as discord.py reports it: nothing known before the first post."""

    def __init__(self, time: SteppedTime) -> None:
        self._time = time
        self._remaining = LIMIT
        self._resets_at: float | None = None
        self.posted: list[tuple[float, list[protocol.Payload]]] = []

    def budget(self) -> Budget | None:
        if self._resets_at is None:
            return None
        if self._time.now >= self._resets_at:
            return Budget(remaining=LIMIT, reset_in_s=0.0)
        return Budget(remaining=self._remaining, reset_in_s=self._resets_at - self._time.now)

    async def post(self, parts: list[Part]) -> None:
        if self._resets_at is None or self._time.now >= self._resets_at:
            self._remaining, self._resets_at = LIMIT, self._time.now + WINDOW_S
        assert self._remaining > 0, "a 429: the outbox posted into an empty bucket"
        self._remaining -= 1
        (part,) = parts
        items = protocol.decode_batch(protocol.Kind.CLIENT_BATCH, part[1])
        self.posted.append((self._time.now, [payload for _, payload in items]))


def outbox_on(bucket: Bucket, time: SteppedTime) -> Outbox:
    return Outbox(
        lambda items: (0, protocol.encode_batch(items)),
        name="t",
        post=bucket.post,
        budget=bucket.budget,
        clock=time,
        sleep=time.sleep,
    )


def delta(offset: int, text: str, rid: str = "a") -> protocol.Delta:
    return protocol.Delta(request_id=rid, offset=offset, text=text)


def test_an_early_post_waits_out_the_gap_after_the_previous_post_but_never_longer_than_its_share() -> None:
    budget = Budget(remaining=4, reset_in_s=5.0)
    assert relay_post_delay(budget, 0.0, 0.05, urgent=True, early_left=2, early_gap_s=0.2) == pytest.approx(
        0.15
    )
    assert relay_post_delay(budget, 0.0, 0.5, urgent=True, early_left=2, early_gap_s=0.2) == 0.0
    assert relay_post_delay(budget, None, 0.0, urgent=True, early_left=2, early_gap_s=0.2) == 0.0
    shares = Budget(remaining=100, reset_in_s=1.0)  # a share of 10 ms is shorter than the gap: the share wins
    assert relay_post_delay(shares, 0.0, 0.0, urgent=True, early_left=2, early_gap_s=0.2) == pytest.approx(
        0.01
    )


async def test_a_burst_of_prompts_is_gathered_into_a_few_posts_within_the_early_gaps() -> None:
    time = SteppedTime()
    bucket = Bucket(time)
    outbox = outbox_on(bucket, time)
    for index in range(8):  # eight users' prompts reach the relay over 0.4 s
        outbox.put(S1, protocol.Cancel(request_id=f"p{index}"))
        await settle()
        await time.advance(0.05)
    await time.advance(EARLY_GAP_S)
    # The first post (nothing to space from), then the window's early posts, each gathering a few.
    assert len(bucket.posted) == 1 + EARLY_POSTS_PER_WINDOW
    assert bucket.posted[-1][0] <= 0.4 + EARLY_GAP_S  # everything out within a gap of the last arrival
    assert sum(len(payloads) for _, payloads in bucket.posted) == 8
    await outbox.aclose()


def test_urgent_posts_skip_the_spacing_only_while_the_window_allows_early_posts() -> None:
    budget = Budget(remaining=4, reset_in_s=5.0)
    assert relay_post_delay(budget, 0.0, 0.0, urgent=True, early_left=2) == 0.0
    assert relay_post_delay(budget, 0.0, 0.0, urgent=False, early_left=2) == 1.25  # its share: 5 s / 4
    assert relay_post_delay(budget, 0.0, 0.0, urgent=True, early_left=0) == 1.25  # spread like the rest
    empty = Budget(remaining=0, reset_in_s=3.0)
    assert relay_post_delay(empty, 0.0, 1.0, urgent=True, early_left=2) == 3.0  # never a 429
    assert relay_post_delay(None, 0.0, 0.0, urgent=False, early_left=2) == 0.0


async def test_a_requests_first_text_and_its_answer_leave_at_once_and_the_text_between_is_spread() -> None:
    time = SteppedTime()
    bucket = Bucket(time)
    outbox = outbox_on(bucket, time)
    outbox.put(S1, delta(0, "Hel"))  # the first text
    await settle()
    outbox.put(S1, delta(3, "lo"))  # streaming: waits for its share of the window
    await settle()
    await time.advance(0.5)
    assert [at for at, _ in bucket.posted] == [0.0]
    done = protocol.Done(request_id="a", text="Hello there", finish_reason="stop")
    outbox.put(S1, done)  # the answer cuts the wait short and carries the whole text
    await settle()
    assert bucket.posted == [(0.0, [delta(0, "Hel")]), (0.5, [done])]
    assert outbox.sender.early_posts == 1
    await outbox.aclose()


async def test_a_stream_of_urgent_batches_spends_only_the_reserve_then_is_spread_not_burst() -> None:
    time = SteppedTime()
    bucket = Bucket(time)
    outbox = outbox_on(bucket, time)
    for index in range(6):
        outbox.put(S1, protocol.Cancel(request_id=f"c{index}"))
        await settle()
        await time.advance(0.1)
    await time.advance(10.0)
    times = [at for at, _ in bucket.posted]
    # At once, then early posts at least EARLY_GAP_S apart, each carrying what arrived meanwhile...
    assert times[: 1 + EARLY_POSTS_PER_WINDOW] == pytest.approx([0.0, EARLY_GAP_S, 2 * EARLY_GAP_S])
    assert times[1 + EARLY_POSTS_PER_WINDOW] > 1.5  # ...then spread over the rest of the window, no 429
    cancelled = [p.request_id for _, ps in bucket.posted for p in ps if isinstance(p, protocol.Cancel)]
    assert cancelled == [f"c{index}" for index in range(6)]
    await outbox.aclose()


async def test_the_reserve_returns_when_the_window_resets() -> None:
    time = SteppedTime()
    bucket = Bucket(time)
    outbox = outbox_on(bucket, time)
    for index in range(3):
        outbox.put(S1, protocol.Cancel(request_id=f"first-window-{index}"))
        await settle()
        await time.advance(0.1)
    await time.advance(WINDOW_S)
    outbox.put(S1, protocol.Cancel(request_id="next-window"))
    await settle()
    await time.advance(0.1)
    outbox.put(S1, protocol.Cancel(request_id="next-window-2"))
    await settle()
    await time.advance(EARLY_GAP_S)
    assert [at for at, _ in bucket.posted][-2:] == pytest.approx([5.3, 5.3 + EARLY_GAP_S])
    await outbox.aclose()


async def test_an_acceptance_is_dropped_when_the_first_text_follows_within_the_hold() -> None:
    time = SteppedTime()
    bucket = Bucket(time)
    outbox = outbox_on(bucket, time)
    outbox.put(S1, protocol.Accepted(request_id="a", queue_position=1, eta_s=0.5))
    await settle()
    await time.advance(ACCEPTANCE_HOLD_S / 2)
    assert bucket.posted == []
    outbox.put(S1, delta(0, "Hi"))
    await settle()
    assert bucket.posted == [(ACCEPTANCE_HOLD_S / 2, [delta(0, "Hi")])]
    assert outbox.queue.superseded == 1
    await outbox.aclose()


async def test_an_acceptance_nothing_follows_leaves_after_the_hold() -> None:
    time = SteppedTime()
    bucket = Bucket(time)
    outbox = outbox_on(bucket, time)
    accepted = protocol.Accepted(request_id="a", queue_position=3, eta_s=9.0)
    outbox.put(S1, accepted)
    await settle()
    await time.advance(ACCEPTANCE_HOLD_S + 0.01)
    assert bucket.posted == [(ACCEPTANCE_HOLD_S, [accepted])]
    await outbox.aclose()
