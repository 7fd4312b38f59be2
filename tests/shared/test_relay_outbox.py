"""The multiplexed relay outbox: coalescing (pure) and pacing on a fake clock."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable

from shared import protocol
from shared.pacing import Budget, spacing_delay
from shared.relay_outbox import Outbox, OutboxQueue
from shared.relay_sender import ChannelSender, Part

S1, S2 = uuid.uuid4(), uuid.uuid4()


def delta(rid: str, offset: int, text: str) -> protocol.Delta:
    return protocol.Delta(request_id=rid, offset=offset, text=text)


def payloads(items: list[protocol.BatchItem]) -> list[protocol.Payload]:
    return [
        payload
        for _, payload in protocol.decode_batch(protocol.Kind.CLIENT_BATCH, protocol.encode_batch(items))
    ]


def test_unsent_deltas_of_a_request_merge_into_one_with_the_newest_text() -> None:
    queue = OutboxQueue()
    queue.put(S1, delta("a", 0, "Hel"))
    queue.put(S2, delta("b", 0, "x"))
    queue.put(S1, delta("a", 3, "lo"))
    queue.put(S1, delta("a", 5, " world"))
    assert payloads(queue.take()) == [delta("a", 0, "Hello world"), delta("b", 0, "x")]
    assert queue.superseded == 2


def test_a_final_answer_drops_the_unsent_deltas_of_its_request() -> None:
    queue = OutboxQueue()
    queue.put(S1, delta("a", 0, "partial"))
    queue.put(S2, delta("b", 0, "other"))
    done = protocol.Done(request_id="a", text="partial and complete", finish_reason="stop")
    queue.put(S1, done)
    assert payloads(queue.take()) == [delta("b", 0, "other"), done]


def test_a_delta_after_a_sent_one_starts_a_new_entry() -> None:
    queue = OutboxQueue()
    queue.put(S1, delta("a", 0, "one"))
    assert payloads(queue.take()) == [delta("a", 0, "one")]
    queue.put(S1, delta("a", 3, " two"))
    assert payloads(queue.take()) == [delta("a", 3, " two")]


def test_only_the_newest_heartbeat_is_sent() -> None:
    queue = OutboxQueue()
    for depth in range(3):
        queue.put(
            protocol.CONTROL_SESSION,
            protocol.Heartbeat(model="m", queue_depth=depth, tokens_per_s=0, uptime_s=0),
        )
    (only,) = payloads(queue.take())
    assert isinstance(only, protocol.Heartbeat) and only.queue_depth == 2


def test_take_stops_at_the_size_limit_and_keeps_the_rest_in_order() -> None:
    queue = OutboxQueue()
    for index in range(10):
        queue.put(S1, protocol.Cancel(request_id=f"r{index}"))
    first = payloads(queue.take(max_bytes=200))
    rest = payloads(queue.take())
    assert 0 < len(first) < 10
    assert [p.request_id for p in first + rest if isinstance(p, protocol.Cancel)] == [
        f"r{i}" for i in range(10)
    ]


def test_a_held_acceptance_stays_behind_when_a_post_leaves_before_its_hold_ends() -> None:
    queue = OutboxQueue()
    queue.put(S1, protocol.Accepted(request_id="a", queue_position=0), now=10.0)
    other = protocol.Done(request_id="b", text="done", finish_reason="stop")
    queue.put(S2, other, now=10.0)
    assert payloads(queue.take(now=10.1)) == [other]  # its own text is due: it waits for that
    assert payloads(queue.take(now=10.5)) == [protocol.Accepted(request_id="a", queue_position=0)]


def test_withdrawing_drops_the_unsent_acceptance_of_the_request_and_nothing_else() -> None:
    queue = OutboxQueue()
    queue.put(S1, protocol.Accepted(request_id="a", queue_position=3))
    queue.put(S2, delta("b", 0, "x"))
    queue.put(S1, protocol.Accepted(request_id="a", queue_position=2))
    assert queue.withdraw_acceptance("a")
    assert not queue.withdraw_acceptance("a")
    assert payloads(queue.take()) == [delta("b", 0, "x")]


def test_spacing_spreads_the_remaining_requests_over_the_window() -> None:
    assert spacing_delay(None, 5.0, 5.0) == 0.0
    assert spacing_delay(Budget(remaining=4, reset_in_s=4.0), None, 0.0) == 0.0
    assert spacing_delay(Budget(remaining=4, reset_in_s=4.0), 10.0, 10.0) == 1.0
    assert spacing_delay(Budget(remaining=0, reset_in_s=2.5), 10.0, 10.0) == 2.5


def seal_as(host_id: int) -> Callable[[list[protocol.BatchItem]], Part]:
    return lambda items: (host_id, protocol.encode_batch(items))


def unsealed(part: Part) -> list[protocol.Payload]:
    return [payload for _, payload in protocol.decode_batch(protocol.Kind.CLIENT_BATCH, part[1])]


def single_outbox(
    post: Callable[[list[protocol.Payload]], Awaitable[None]],
    budget: Callable[[], Budget | None],
    time: FakeTime,
) -> Outbox:
    async def post_parts(parts: list[Part]) -> None:
        (part,) = parts
        await post(unsealed(part))

    return Outbox(seal_as(0), name="t", post=post_parts, budget=budget, clock=time, sleep=time.sleep)


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


async def test_messages_put_while_a_post_is_in_flight_leave_together_in_the_next_post() -> None:
    posted: list[list[protocol.Payload]] = []
    gate = asyncio.Event()

    async def post(items: list[protocol.Payload]) -> None:
        posted.append(items)
        await gate.wait()

    time = FakeTime()
    outbox = single_outbox(post, lambda: None, time)
    outbox.put(S1, protocol.Cancel(request_id="first"))
    await asyncio.sleep(0)
    for index in range(50):
        outbox.put(S1, delta("a", index, "x"))
        outbox.put(S2, protocol.Cancel(request_id=f"c{index}"))
    gate.set()
    await asyncio.wait_for(outbox.drained(), 1)
    assert len(posted) == 2
    assert posted[1][0] == delta("a", 0, "x" * 50)
    assert len(posted[1]) == 51
    assert outbox.posts == 2
    await outbox.aclose()


async def test_an_empty_bucket_makes_the_outbox_wait_for_its_reset_without_losing_anything() -> None:
    posted: list[list[protocol.Payload]] = []
    budget = Budget(remaining=0, reset_in_s=3.0)

    async def post(items: list[protocol.Payload]) -> None:
        posted.append(items)

    time = FakeTime()
    current = [budget]
    outbox = single_outbox(post, lambda: current[0], time)
    outbox.put(S1, protocol.Cancel(request_id="a"))

    async def refill() -> None:
        while not time.slept:
            await asyncio.sleep(0)
        current[0] = Budget(remaining=5, reset_in_s=0.0)

    await asyncio.gather(refill(), asyncio.wait_for(outbox.drained(), 1))
    assert time.slept[0] == 3.0
    assert posted == [[protocol.Cancel(request_id="a")]]
    await outbox.aclose()


async def test_a_failed_post_is_retried_with_nothing_lost() -> None:
    posted: list[list[protocol.Payload]] = []
    failures = [RuntimeError("502")]

    async def post(items: list[protocol.Payload]) -> None:
        if failures:
            raise failures.pop()
        posted.append(items)

    time = FakeTime()
    outbox = single_outbox(post, lambda: None, time)
    outbox.put(S1, delta("a", 0, "ab"))
    await asyncio.sleep(0)
    outbox.put(S1, delta("a", 2, "cd"))
    await asyncio.wait_for(outbox.drained(), 1)
    assert posted == [[delta("a", 0, "abcd")]]
    assert outbox.sender.failures == 1
    await outbox.aclose()


async def test_outboxes_sharing_a_sender_leave_together_in_one_post_of_one_part_each() -> None:
    posts: list[list[int]] = []
    time = FakeTime()
    gate = asyncio.Event()

    async def post_parts(parts: list[Part]) -> None:
        posts.append([host for host, _ in parts])
        await gate.wait()

    sender = ChannelSender(post_parts, lambda: None, name="server", clock=time, sleep=time.sleep)
    first = Outbox(seal_as(1), name="a", sender=sender)
    second = Outbox(seal_as(2), name="b", sender=sender)
    first.put(S1, protocol.Cancel(request_id="warm-up"))
    await asyncio.sleep(0)
    for index in range(3):
        first.put(S1, protocol.Cancel(request_id=f"a{index}"))
        second.put(S2, protocol.Cancel(request_id=f"b{index}"))
    gate.set()
    await asyncio.wait_for(asyncio.gather(first.drained(), second.drained()), 1)
    assert posts == [[1], [1, 2]]  # one Discord post for both hosts' pending batches
    assert (first.posts, second.posts, sender.posts) == (2, 1, 2)
    await first.aclose()
    await second.aclose()
    await sender.aclose()
