"""The relay hub on a fake clock: routing, queue notices, re-sends, failover, expiry, control messages."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, cast

import discord
import pytest

from server_bot.relay import Expired, Offline, PendingReply, Queued, RelayHub
from shared import protocol
from shared.relay_link import Received, RelayLink

HEARTBEAT_S = 10.0
REPLY_TIMEOUT_S = 30.0
KEEP_S = 300.0
CHANNEL_ID = 77


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def never(_: float) -> None:
    await asyncio.Event().wait()


@dataclass
class FakeLink:
    peer_id: int
    sent: list[tuple[uuid.UUID, protocol.Payload]] = field(default_factory=list)
    channel: Any = field(default_factory=lambda: SimpleNamespace(id=CHANNEL_ID))
    closed: bool = False
    forgotten: list[tuple[str, int]] = field(default_factory=list)  # (request id, messages sent by then)

    async def send(self, session_id: uuid.UUID, payload: protocol.Payload) -> None:
        self.sent.append((session_id, payload))

    async def receive(self, message: Any) -> list[Received]:
        return cast(list[Received], message.received)

    async def close(self, *, flush_within_s: float = 0.0) -> None:
        self.closed = True

    async def close_sender(self) -> None:
        pass

    def channel_ids(self) -> frozenset[int]:
        return frozenset({CHANNEL_ID})

    def forget(self, request_id: str) -> None:
        self.forgotten.append((request_id, len(self.sent)))

    def prompts(self) -> list[str]:
        return [p.request_id for _, p in self.sent if isinstance(p, protocol.Prompt)]


def message(author: int, *payloads: protocol.Payload, session: uuid.UUID | None = None) -> discord.Message:
    received = [Received(session or protocol.CONTROL_SESSION, payload) for payload in payloads]
    return cast(
        discord.Message,
        SimpleNamespace(
            author=SimpleNamespace(id=author), channel=SimpleNamespace(id=CHANNEL_ID), received=received
        ),
    )


def beat(
    *,
    running: list[str] | None = None,
    queued: list[str] | None = None,
    slots: int = 1,
    uptime_s: float = 100_000,
) -> protocol.Heartbeat:
    return protocol.Heartbeat(
        model="fake",
        queue_depth=len(queued or []),
        tokens_per_s=10,
        uptime_s=uptime_s,
        slots=slots,
        running=running or [],
        queued=queued or [],
        mean_reply_s=4.0,
    )


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def make_hub(
    clock: FakeClock, *host_ids: int, heartbeat_s: float = HEARTBEAT_S
) -> tuple[RelayHub, dict[int, FakeLink]]:
    hub = RelayHub(
        reply_timeout_s=REPLY_TIMEOUT_S,
        prompt_keep_s=KEEP_S,
        heartbeat_interval_s=heartbeat_s,
        clock=clock,
        sleep=never,
    )
    links = {host_id: FakeLink(host_id) for host_id in host_ids}
    for link in links.values():
        hub.attach(cast(RelayLink, link))
    return hub, links


async def submit(hub: RelayHub, session: uuid.UUID | None = None) -> PendingReply:
    return await hub.submit(
        session or uuid.uuid4(),
        [protocol.ChatTurn(role="user", content="hi")],
        protocol.GenerationParams(max_tokens=8, temperature=0),
    )


def drain_events(pending: PendingReply) -> list[Any]:
    events = []
    while not pending.events.empty():
        events.append(pending.events.get_nowait())
    return events


async def test_requests_spread_over_live_hosts_by_load(clock: FakeClock) -> None:
    hub, links = make_hub(clock, 1, 2)
    await hub.handle(message(1, beat()))
    await hub.handle(message(2, beat()))
    for _ in range(4):
        await submit(hub)
    assert len(links[1].prompts()) == 2
    assert len(links[2].prompts()) == 2
    await hub.close()


async def test_a_session_stays_on_its_host_unless_that_host_is_overloaded(clock: FakeClock) -> None:
    hub, _ = make_hub(clock, 1, 2)
    await hub.handle(message(1, beat(slots=2)))
    await hub.handle(message(2, beat(slots=2)))
    session = uuid.uuid4()
    first = await submit(hub, session)
    host = first.owner
    await hub.handle(
        message(host or 0, protocol.Done(request_id=first.request_id, text="a", finish_reason="stop"))
    )
    again = await submit(hub, session)
    assert again.owner == host  # the cached prefix lives there
    other = await submit(hub)  # a new session goes to the least loaded host
    assert other.owner != host
    await submit(hub, uuid.uuid4())
    await submit(hub, uuid.uuid4())
    # Now both hosts are full; the session's host is still preferred (nobody has a free slot).
    assert (await submit(hub, session)).owner == host
    await hub.close()


async def test_a_queued_prompt_on_a_live_host_is_not_sent_again_and_the_user_sees_the_queue(
    clock: FakeClock,
) -> None:
    hub, links = make_hub(clock, 1)
    await hub.handle(message(1, beat()))
    pending = await submit(hub)
    rid = pending.request_id
    await hub.handle(message(1, protocol.Accepted(request_id=rid, queue_position=3, eta_s=12)))
    assert drain_events(pending) == [Queued(position=3, eta_s=12)]
    for _ in range(20):  # 200 s: far past the reply timeout
        clock.now += HEARTBEAT_S
        await hub.handle(message(1, beat(running=["x"], queued=["y", rid])))
        await hub.tick()
    assert links[1].prompts() == [rid]
    assert drain_events(pending) == [Queued(position=2, eta_s=8.0)]  # position changed once: 3 -> 2
    await hub.close()


async def test_a_queue_place_arriving_after_the_text_is_not_shown(clock: FakeClock) -> None:
    # With several relay channels an acceptance posted earlier in another channel may arrive late.
    hub, _ = make_hub(clock, 1)
    await hub.handle(message(1, beat()))
    pending = await submit(hub)
    rid = pending.request_id
    await hub.handle(message(1, protocol.Delta(request_id=rid, offset=0, text="Hi")))
    await hub.handle(message(1, protocol.Accepted(request_id=rid, queue_position=3, eta_s=12)))
    assert not any(isinstance(event, Queued) for event in drain_events(pending))
    await hub.close()


async def test_a_prompt_the_live_host_does_not_hold_is_sent_again_after_silence(clock: FakeClock) -> None:
    hub, links = make_hub(clock, 1)
    await hub.handle(message(1, beat()))
    pending = await submit(hub)
    clock.now += REPLY_TIMEOUT_S - 1
    await hub.handle(message(1, beat()))
    await hub.tick()
    assert links[1].prompts() == [pending.request_id]
    clock.now += 2
    await hub.handle(message(1, beat()))
    await hub.tick()
    assert links[1].prompts() == [pending.request_id, pending.request_id]
    await hub.close()


async def test_a_host_that_restarted_gets_the_prompts_it_lost_again_at_once(clock: FakeClock) -> None:
    hub, links = make_hub(clock, 1)
    await hub.handle(message(1, beat()))
    pending = await submit(hub)
    await hub.handle(message(1, beat(running=[pending.request_id])))
    clock.now += 5  # killed, restarted: its first heartbeat says it has been up for 2 s
    await hub.handle(message(1, beat(uptime_s=2)))
    assert links[1].prompts() == [pending.request_id, pending.request_id]
    # A prompt sent after the restart is not sent twice because the host's next beat missed it.
    later = await submit(hub)
    await hub.handle(message(1, beat(uptime_s=2.5)))
    assert links[1].prompts().count(later.request_id) == 1
    await hub.close()


async def test_a_prompt_sent_before_the_host_came_online_is_sent_again_at_its_first_heartbeat(
    clock: FakeClock,
) -> None:
    hub, links = make_hub(clock, 1)
    pending = await submit(hub)  # the host was never heard: the prompt may have gone unread
    clock.now += 3
    await hub.handle(message(1, beat()))
    assert links[1].prompts() == [pending.request_id, pending.request_id]
    await hub.close()


async def test_the_offline_notice_comes_when_promised_even_as_the_prompt_is_sent_again(
    clock: FakeClock,
) -> None:
    hub, links = make_hub(clock, 1, heartbeat_s=20)
    await hub.handle(message(1, beat()))
    pending = await submit(hub)
    clock.now += REPLY_TIMEOUT_S  # a frozen host: still "online", three beats (60 s) not missed yet
    await hub.tick()
    assert links[1].prompts() == [pending.request_id, pending.request_id]
    assert [type(e) for e in drain_events(pending)] == [Offline]
    await hub.close()


async def test_an_offline_notice_once_then_expiry_when_no_host_is_heard(clock: FakeClock) -> None:
    hub, links = make_hub(clock, 1)
    await hub.handle(message(1, beat()))
    pending = await submit(hub)
    clock.now += REPLY_TIMEOUT_S
    await hub.tick()
    clock.now += 1
    await hub.tick()
    events = drain_events(pending)
    assert events == [Offline(keep_for_s=KEEP_S - REPLY_TIMEOUT_S)]
    clock.now += KEEP_S
    await hub.tick()
    assert drain_events(pending) == [Expired()]
    assert hub.in_flight == 0
    assert isinstance(links[1].sent[-1][1], protocol.Cancel)
    await hub.close()


async def test_a_host_silent_for_three_heartbeats_loses_its_requests_to_another_without_mixing_text(
    clock: FakeClock,
) -> None:
    hub, links = make_hub(clock, 1, 2)
    await hub.handle(message(1, beat()))
    await hub.handle(message(2, beat(slots=1)))
    await hub.handle(message(2, beat(running=["busy"])))
    pending = await submit(hub)
    assert pending.owner in (1, 2)
    first = pending.owner
    assert first is not None
    second = 2 if first == 1 else 1
    rid = pending.request_id
    await hub.handle(message(first, protocol.Delta(request_id=rid, offset=0, text="old host words")))
    for _ in range(3):
        clock.now += HEARTBEAT_S
        await hub.handle(message(second, beat()))
        await hub.tick()
    assert pending.owner == second
    assert links[second].prompts() == [rid]
    # The superseded owner's late messages are dropped.
    await hub.handle(message(first, protocol.Delta(request_id=rid, offset=14, text=" more")))
    await hub.handle(message(first, protocol.Done(request_id=rid, text="old", finish_reason="stop")))
    await hub.handle(message(second, protocol.Delta(request_id=rid, offset=0, text="new")))
    await hub.handle(message(second, protocol.Delta(request_id=rid, offset=3, text=" host, longer text")))
    await hub.handle(
        message(second, protocol.Done(request_id=rid, text="new host, longer text", finish_reason="stop"))
    )
    await hub.handle(message(second, protocol.Done(request_id=rid, text="again", finish_reason="stop")))
    events = drain_events(pending)
    assert events[0] == protocol.Delta(request_id=rid, offset=0, text="old host words")
    # After the move, text is replaced whole (offset 0) once it outgrows what was shown.
    assert events[1] == protocol.Delta(request_id=rid, offset=0, text="new host, longer text")
    assert events[2] == protocol.Done(request_id=rid, text="new host, longer text", finish_reason="stop")
    assert len(events) == 3
    assert hub.moves == 1
    await hub.close()


async def test_duplicate_deltas_are_not_shown_twice(clock: FakeClock) -> None:
    hub, _ = make_hub(clock, 1)
    await hub.handle(message(1, beat()))
    pending = await submit(hub)
    rid = pending.request_id
    delta = protocol.Delta(request_id=rid, offset=0, text="abc")
    await hub.handle(message(1, delta, delta))
    assert drain_events(pending) == [delta]
    await hub.close()


async def test_reboot_is_a_control_message_to_the_chosen_host_only(clock: FakeClock) -> None:
    hub, links = make_hub(clock, 1, 2)
    await hub.reboot(2)
    assert links[2].sent == [(protocol.CONTROL_SESSION, protocol.Reboot())]
    assert links[1].sent == []
    await hub.reboot()
    assert links[1].sent == [(protocol.CONTROL_SESSION, protocol.Reboot())]


async def test_drain_routes_nothing_new_to_the_host_and_returns_when_its_last_request_ends(
    clock: FakeClock,
) -> None:
    hub, _ = make_hub(clock, 1, 2)
    await hub.handle(message(1, beat()))
    await hub.handle(message(2, beat()))
    pending = await submit(hub)
    owner = pending.owner
    assert owner is not None
    drained = asyncio.create_task(hub.drain(owner))
    await asyncio.sleep(0)
    assert not drained.done()
    assert (await submit(hub)).owner != owner
    assert (await submit(hub)).owner != owner
    await hub.handle(
        message(owner, protocol.Done(request_id=pending.request_id, text="x", finish_reason="stop"))
    )
    await asyncio.wait_for(drained, 1)
    assert [h.draining for h in hub.hosts() if h.user_id == owner] == [True]
    await hub.close()


async def test_hosts_lists_model_load_speed_and_last_seen(clock: FakeClock) -> None:
    hub, _ = make_hub(clock, 1, 2)
    await hub.handle(message(1, beat()))
    clock.now += 5
    rows = {row.user_id: row for row in hub.hosts()}
    assert rows[1].online and rows[1].model == "fake" and rows[1].tokens_per_s == 10
    assert rows[1].last_seen_s_ago == 5
    assert not rows[2].online and rows[2].last_seen_s_ago is None


async def test_a_message_from_an_unknown_author_is_refused_and_audited(clock: FakeClock) -> None:
    records: list[tuple[str, str | None]] = []

    class Audit:
        async def record(self, event: str, **fields: Any) -> None:
            records.append((event, fields.get("detail")))

    hub, _ = make_hub(clock, 1)
    hub.audit = cast(Any, Audit())
    await hub.handle(message(999, beat()))
    assert records == [("relay_refused", "unknown_host")]
    assert not hub.client_online()


async def test_ready_waits_for_the_first_host_and_close_stops_the_links(clock: FakeClock) -> None:
    hub = RelayHub(reply_timeout_s=1, prompt_keep_s=2, heartbeat_interval_s=1, clock=clock, sleep=never)
    ready = asyncio.create_task(hub.ready())
    await asyncio.sleep(0)
    assert not ready.done()
    link = FakeLink(5)
    hub.attach(cast(RelayLink, link))
    await asyncio.wait_for(ready, 1)
    hub.start()
    await hub.close()
    assert link.closed


async def test_a_removed_host_is_refused_and_its_requests_move(clock: FakeClock) -> None:
    hub, links = make_hub(clock, 1, 2)
    await hub.handle(message(1, beat()))
    await hub.handle(message(2, beat()))
    pending = await submit(hub)
    owner = pending.owner
    assert owner is not None
    other = 2 if owner == 1 else 1
    await hub.remove_host(owner)
    assert pending.owner == other
    assert links[other].prompts() == [pending.request_id]
    assert links[owner].closed
    await hub.handle(
        message(owner, protocol.Done(request_id=pending.request_id, text="x", finish_reason="stop"))
    )
    assert drain_events(pending) == []
    await hub.close()


async def test_an_older_delta_arriving_late_never_takes_text_back_nor_follows_the_answer(
    clock: FakeClock,
) -> None:
    hub, _ = make_hub(clock, 1)
    await hub.handle(message(1, beat()))
    pending = await submit(hub)
    rid = pending.request_id
    await hub.handle(message(1, protocol.Delta(request_id=rid, offset=0, text="hello world")))
    await hub.handle(message(1, protocol.Delta(request_id=rid, offset=0, text="hello")))  # older, late
    await hub.handle(message(1, protocol.Delta(request_id=rid, offset=11, text=" again")))
    answer = protocol.Done(request_id=rid, text="hello world again", finish_reason="stop")
    await hub.handle(message(1, answer))
    await hub.handle(message(1, protocol.Delta(request_id=rid, offset=0, text="hello world")))
    assert drain_events(pending) == [
        protocol.Delta(request_id=rid, offset=0, text="hello world"),
        protocol.Delta(request_id=rid, offset=11, text=" again"),
        answer,
    ]
    await hub.close()


async def test_a_request_that_ends_moves_or_expires_frees_its_relay_channel_after_its_last_message(
    clock: FakeClock,
) -> None:
    hub, links = make_hub(clock, 1, 2)
    await hub.handle(message(1, beat()))
    await hub.handle(message(2, beat(running=["busy"])))
    answered, expiring = await submit(hub), await submit(hub)
    await hub.handle(
        message(1, protocol.Done(request_id=answered.request_id, text="x", finish_reason="stop"))
    )
    assert answered.request_id in {request_id for request_id, _ in links[1].forgotten}
    owner = links[expiring.owner or 0]
    clock.now += KEEP_S
    await hub.tick()
    # The cancel went out while the request still held its channel (so it follows its prompt there).
    assert isinstance(owner.sent[-1][1], protocol.Cancel)
    assert owner.forgotten[-1] == (expiring.request_id, len(owner.sent))
    await hub.close()
