"""The stateful endpoints: direction rules, replay and reordering, restarts, bounded memory."""

from __future__ import annotations

import uuid

import pytest

from shared.envelope import (
    Direction,
    EnvelopeChannel,
    EnvelopeError,
    EnvelopeTooLarge,
    KeyRing,
    ReplayedEnvelope,
    ReplayGuard,
    SequenceClock,
    StaleEnvelope,
    TamperedEnvelope,
    UnexpectedDirection,
)

KEY = bytes(range(32))
SESSION = uuid.UUID("12345678-9abc-4def-8123-456789abcdef")
NOW_US = 1_700_000_000_000_000
WINDOW_US = 600_000_000


class FakeClock:
    """Microseconds that only move when a test says so."""

    def __init__(self, now_us: int = NOW_US) -> None:
        self.now_us = now_us

    def __call__(self) -> int:
        return self.now_us


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def ring() -> KeyRing:
    return KeyRing(KEY)


@pytest.fixture
def server(ring: KeyRing, clock: FakeClock) -> EnvelopeChannel:
    return EnvelopeChannel(ring, Direction.SERVER_TO_CLIENT, clock=clock)


@pytest.fixture
def client(ring: KeyRing, clock: FakeClock) -> EnvelopeChannel:
    return EnvelopeChannel(ring, Direction.CLIENT_TO_SERVER, clock=clock)


def test_server_and_client_exchange_prompts_and_replies(
    server: EnvelopeChannel, client: EnvelopeChannel
) -> None:
    prompt = client.open(server.seal(SESSION, 1, b"prompt"))
    reply = server.open(client.seal(SESSION, 2, b"reply"))

    assert (prompt.direction, prompt.kind, prompt.payload) == (Direction.SERVER_TO_CLIENT, 1, b"prompt")
    assert (reply.direction, reply.kind, reply.payload) == (Direction.CLIENT_TO_SERVER, 2, b"reply")
    assert server.outgoing is client.incoming is Direction.SERVER_TO_CLIENT


def test_own_envelope_turned_around_is_rejected(server: EnvelopeChannel) -> None:
    with pytest.raises(UnexpectedDirection):
        server.open(server.seal(SESSION, 1, b"echo"))


def test_replayed_envelope_is_rejected(server: EnvelopeChannel, client: EnvelopeChannel) -> None:
    blob = server.seal(SESSION, 1, b"once")
    client.open(blob)
    with pytest.raises(ReplayedEnvelope):
        client.open(blob)


def test_reordered_older_envelope_is_stale(server: EnvelopeChannel, client: EnvelopeChannel) -> None:
    first, second = server.seal(SESSION, 1, b"1"), server.seal(SESSION, 1, b"2")
    client.open(second)
    with pytest.raises(StaleEnvelope):
        client.open(first)


def test_seqs_increase_even_when_the_clock_stands_still(
    server: EnvelopeChannel, client: EnvelopeChannel, clock: FakeClock
) -> None:
    seqs = [client.open(server.seal(SESSION, 1, b"x")).seq for _ in range(3)]
    assert seqs == [clock.now_us, clock.now_us + 1, clock.now_us + 2]


def test_sessions_and_directions_are_separate_streams(
    server: EnvelopeChannel, client: EnvelopeChannel
) -> None:
    other = uuid.uuid4()
    late_for_other = server.seal(other, 1, b"a")
    client.open(server.seal(SESSION, 1, b"b"))
    assert client.open(late_for_other).payload == b"a"


def test_rejected_envelopes_leave_replay_state_untouched(
    server: EnvelopeChannel, client: EnvelopeChannel
) -> None:
    first, second = server.seal(SESSION, 1, b"1"), server.seal(SESSION, 1, b"2")
    forged = bytearray(second)
    forged[32] ^= 0xFF  # a much larger seq, but unauthenticated
    with pytest.raises(TamperedEnvelope):
        client.open(bytes(forged))
    client.open(first)  # the forgery did not advance the stream
    with pytest.raises(ReplayedEnvelope):
        client.open(first)
    assert client.open(second).payload == b"2"  # nor did the replay attempt


def test_restarted_sender_continues_above_its_old_seqs(
    ring: KeyRing, client: EnvelopeChannel, clock: FakeClock
) -> None:
    before = EnvelopeChannel(ring, Direction.SERVER_TO_CLIENT, clock=clock)
    last_before = max(client.open(before.seal(SESSION, 1, b"x")).seq for _ in range(5))
    clock.now_us += 1_000_000  # a restart takes at least a second
    after = EnvelopeChannel(ring, Direction.SERVER_TO_CLIENT, clock=clock)

    assert client.open(after.seal(SESSION, 1, b"y")).seq > last_before


def test_restarted_receiver_refuses_a_recording_older_than_the_window(
    server: EnvelopeChannel, ring: KeyRing, clock: FakeClock
) -> None:
    recording = server.seal(SESSION, 1, b"old")
    clock.now_us += WINDOW_US + 1
    restarted = EnvelopeChannel(ring, Direction.CLIENT_TO_SERVER, clock=clock)
    with pytest.raises(StaleEnvelope, match="older than the freshness window"):
        restarted.open(recording)


def test_first_envelope_inside_the_window_is_accepted(
    server: EnvelopeChannel, ring: KeyRing, clock: FakeClock
) -> None:
    blob = server.seal(SESSION, 1, b"recent")
    clock.now_us += WINDOW_US
    assert EnvelopeChannel(ring, Direction.CLIENT_TO_SERVER, clock=clock).open(blob).payload == b"recent"


def test_first_envelope_dated_beyond_the_window_is_stale(ring: KeyRing, clock: FakeClock) -> None:
    future_sender = EnvelopeChannel(ring, Direction.SERVER_TO_CLIENT, clock=FakeClock(NOW_US + WINDOW_US + 1))
    receiver = EnvelopeChannel(ring, Direction.CLIENT_TO_SERVER, clock=clock)
    with pytest.raises(StaleEnvelope, match="beyond the freshness window"):
        receiver.open(future_sender.seal(SESSION, 1, b"from the future"))


def test_freshness_window_none_accepts_any_first_seq(
    server: EnvelopeChannel, ring: KeyRing, clock: FakeClock
) -> None:
    recording = server.seal(SESSION, 1, b"old")
    clock.now_us += 10 * WINDOW_US
    receiver = EnvelopeChannel(ring, Direction.CLIENT_TO_SERVER, clock=clock, freshness_window_s=None)
    assert receiver.open(recording).payload == b"old"


def test_replay_guard_memory_is_bounded_and_evicts_least_recent(clock: FakeClock) -> None:
    guard = ReplayGuard(max_streams=2, clock=clock)
    first, second, third = (uuid.uuid4().bytes for _ in range(3))
    guard.accept(first, 1, NOW_US)
    guard.accept(second, 1, NOW_US)
    guard.accept(first, 1, NOW_US + 1)  # first is now the most recent
    guard.accept(third, 1, NOW_US)
    assert len(guard) == 2
    with pytest.raises(ReplayedEnvelope):
        guard.accept(first, 1, NOW_US + 1)
    guard.accept(second, 1, NOW_US)  # forgotten: judged by the freshness window again


def test_sequence_clock_follows_time_when_it_moves(clock: FakeClock) -> None:
    seqs = SequenceClock(clock)
    assert seqs.next() == NOW_US
    clock.now_us += 10
    assert seqs.next() == NOW_US + 10


def test_channel_size_limit_applies_to_both_ends(ring: KeyRing, clock: FakeClock) -> None:
    small = EnvelopeChannel(ring, Direction.CLIENT_TO_SERVER, clock=clock, max_envelope_bytes=100)
    big = EnvelopeChannel(ring, Direction.SERVER_TO_CLIENT, clock=clock).seal(SESSION, 1, bytes(200))
    with pytest.raises(EnvelopeTooLarge):
        small.open(big)
    with pytest.raises(EnvelopeTooLarge):
        small.seal(SESSION, 1, bytes(200))


@pytest.mark.parametrize(
    "options",
    [
        pytest.param({"max_streams": 0}, id="no-streams"),
        pytest.param({"freshness_window_s": -1.0}, id="negative-window"),
    ],
)
def test_nonsensical_replay_settings_are_refused(options: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        ReplayGuard(**options)  # type: ignore[arg-type]


def test_rejections_are_all_envelope_errors(server: EnvelopeChannel) -> None:
    for blob in (b"", b"ML", server.seal(SESSION, 1, b"x")):
        with pytest.raises(EnvelopeError):
            server.open(blob)
