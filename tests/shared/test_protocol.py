"""Relay payloads: every kind round-trips; a mismatched or malformed payload is a ProtocolError."""

from __future__ import annotations

import uuid

import pytest

from shared import protocol

EXAMPLES: list[protocol.Payload] = [
    protocol.Prompt(
        request_id="r1",
        messages=[protocol.ChatTurn(role="user", content="hi")],
        params=protocol.GenerationParams(max_tokens=8, temperature=0.0, seed=1),
    ),
    protocol.Cancel(request_id="r1"),
    protocol.Reboot(),
    protocol.Accepted(request_id="r1", queue_position=2),
    protocol.Delta(request_id="r1", offset=0, text="Hel"),
    protocol.Done(request_id="r1", text="Hello", finish_reason="stop", completion_tokens=2),
    protocol.Failed(request_id="r1", code="engine_error"),
    protocol.Heartbeat(model="smollm2", queue_depth=0, tokens_per_s=50.0, uptime_s=1.0),
]


@pytest.mark.parametrize("payload", [pytest.param(p, id=type(p).__name__) for p in EXAMPLES])
def test_payload_round_trips_through_its_kind(payload: protocol.Payload) -> None:
    kind, data = protocol.encode(payload)
    assert protocol.decode(kind, data) == payload


def test_server_and_client_kinds_do_not_overlap() -> None:
    to_client = {protocol.Kind.PROMPT, protocol.Kind.CANCEL, protocol.Kind.REBOOT, protocol.Kind.SERVER_BATCH}
    assert all(kind < 16 for kind in to_client)
    assert all(kind >= 16 for kind in set(protocol.Kind) - to_client)


def test_unknown_kind_is_a_protocol_error() -> None:
    with pytest.raises(protocol.ProtocolError, match="unknown message kind 99"):
        protocol.decode(99, b"{}")


def test_payload_of_the_wrong_kind_is_a_protocol_error_without_its_text() -> None:
    _, data = protocol.encode(protocol.Delta(request_id="r", offset=0, text="secret words"))
    with pytest.raises(protocol.ProtocolError) as caught:
        protocol.decode(protocol.Kind.DONE, data)
    assert "secret words" not in str(caught.value)


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"not json", id="not-json"),
        pytest.param(b"[]", id="wrong-shape"),
        pytest.param(b"\xff", id="bytes"),
    ],
)
def test_garbage_payload_is_a_protocol_error(data: bytes) -> None:
    with pytest.raises(protocol.ProtocolError):
        protocol.decode(protocol.Kind.PROMPT, data)


def test_a_batch_carries_messages_of_several_sessions_and_kinds() -> None:
    first, second = uuid.uuid4(), uuid.uuid4()
    items = [
        protocol.batch_item(first, protocol.Delta(request_id="a", offset=0, text="hi")),
        protocol.batch_item(second, protocol.Done(request_id="b", text="ok", finish_reason="stop")),
        protocol.batch_item(
            protocol.CONTROL_SESSION, protocol.Heartbeat(model="m", queue_depth=0, tokens_per_s=1, uptime_s=2)
        ),
    ]
    decoded = protocol.decode_batch(protocol.Kind.CLIENT_BATCH, protocol.encode_batch(items))
    assert [session for session, _ in decoded] == [first, second, protocol.CONTROL_SESSION]
    assert decoded[0][1] == protocol.Delta(request_id="a", offset=0, text="hi")
    assert isinstance(decoded[2][1], protocol.Heartbeat)


def test_a_batch_item_that_does_not_match_its_kind_is_a_protocol_error() -> None:
    bad = protocol.BatchItem(session_id=uuid.uuid4(), kind=protocol.Kind.DELTA, payload={"nope": 1})
    with pytest.raises(protocol.ProtocolError, match="Delta"):
        protocol.decode_batch(protocol.Kind.CLIENT_BATCH, protocol.encode_batch([bad]))


def test_a_batch_cannot_nest_a_batch() -> None:
    nested = protocol.BatchItem(
        session_id=uuid.uuid4(), kind=protocol.Kind.CLIENT_BATCH, payload={"items": []}
    )
    with pytest.raises(protocol.ProtocolError, match="nest"):
        protocol.decode_batch(protocol.Kind.CLIENT_BATCH, protocol.encode_batch([nested]))


def test_v1_heartbeats_stay_valid_with_capacity_defaults() -> None:
    beat = protocol.Heartbeat.model_validate_json(
        b'{"model":"m","queue_depth":1,"tokens_per_s":2,"uptime_s":3}'
    )
    assert (beat.slots, beat.free_slots, beat.running, beat.queued) == (1, 0, [], [])


@pytest.mark.parametrize("kind", [protocol.Kind.SERVER_BATCH, protocol.Kind.CLIENT_BATCH, 99])
def test_a_batch_or_unknown_kind_given_to_the_single_payload_decoder_is_a_protocol_error(kind: int) -> None:
    with pytest.raises(protocol.ProtocolError):
        protocol.decode(kind, b"")
