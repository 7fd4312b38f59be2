"""Property tests: anything sealed opens again, and no input makes the decoder raise anything else."""

from __future__ import annotations

import contextlib
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.envelope import (
    TEXT_PREFIX,
    Direction,
    EnvelopeChannel,
    EnvelopeError,
    KeyRing,
    from_attachment,
    from_content,
    open_envelope,
    seal_envelope,
    to_discord,
)

RING = KeyRing(bytes(range(32)))
BASE64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
# Reaches past the magic/version/direction checks so that arbitrary bytes exercise the deeper paths.
VALID_PREFIX = b"ML\x01\x01"
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

payloads = st.binary(max_size=3000)
kinds = st.integers(0, 255)
sessions = st.uuids()


def _pair() -> tuple[EnvelopeChannel, EnvelopeChannel]:
    return EnvelopeChannel(RING, Direction.SERVER_TO_CLIENT), EnvelopeChannel(
        RING, Direction.CLIENT_TO_SERVER
    )


@FAST
@given(payload=payloads, kind=kinds, session=sessions)
def test_binary_round_trip(payload: bytes, kind: int, session: uuid.UUID) -> None:
    server, client = _pair()
    opened = client.open(server.seal(session, kind, payload))
    assert (opened.session_id, opened.kind, opened.payload) == (session, kind, payload)


@FAST
@given(payload=payloads, kind=kinds, session=sessions)
def test_discord_form_round_trip(payload: bytes, kind: int, session: uuid.UUID) -> None:
    server, client = _pair()
    form = to_discord(server.seal(session, kind, payload))
    blob = from_content(form.content) if form.content is not None else from_attachment(form.attachment or b"")
    opened = client.open(blob)
    assert (opened.session_id, opened.kind, opened.payload) == (session, kind, payload)


@FAST
@given(blob=st.binary(max_size=200) | st.binary(max_size=200).map(VALID_PREFIX.__add__))
def test_binary_decoder_raises_only_envelope_errors(blob: bytes) -> None:
    with pytest.raises(EnvelopeError):
        open_envelope(RING, blob)


@FAST
@given(data=st.data(), payload=st.binary(max_size=64))
def test_damaged_real_envelope_raises_only_envelope_errors(data: st.DataObject, payload: bytes) -> None:
    blob = bytearray(
        seal_envelope(RING, direction=Direction(1), session_id=uuid.uuid4(), kind=1, seq=1, payload=payload)
    )
    position = data.draw(st.integers(0, len(blob) - 1))
    replacement = data.draw(st.binary(min_size=1, max_size=8))
    blob[position : position + len(replacement)] = replacement
    # The replacement may equal the original bytes, so opening may also succeed; anything else fails.
    with contextlib.suppress(EnvelopeError):
        open_envelope(RING, bytes(blob))


@FAST
@given(
    text=st.text(max_size=300) | st.text(alphabet=BASE64URL + "+/= é@", max_size=300).map(TEXT_PREFIX.__add__)
)
def test_text_decoder_raises_only_envelope_errors(text: str) -> None:
    _, client = _pair()
    try:
        client.open(from_content(text))
    except EnvelopeError:
        return
    pytest.fail("random text opened as an envelope")
