"""Envelopes as Discord message text or attachments, with limits enforced before decoding."""

from __future__ import annotations

import re
import uuid

import pytest

from shared.envelope import (
    ATTACHMENT_FILENAME,
    MAX_CONTENT_CHARS,
    MAX_ENVELOPE_BYTES,
    Direction,
    EnvelopeChannel,
    EnvelopeTooLarge,
    KeyRing,
    MalformedEnvelope,
    check_attachment_size,
    encode_text,
    from_attachment,
    from_content,
    looks_like_envelope,
    to_discord,
)

SESSION = uuid.UUID("12345678-9abc-4def-8123-456789abcdef")
TEXT_FORM = re.compile(r"ML1\.[A-Za-z0-9_-]*")
# The largest envelope whose text form is exactly 2000 characters: 4 + ceil(1497 * 4 / 3) = 2000.
LARGEST_TEXT_BLOB = 1497


@pytest.fixture
def channels() -> tuple[EnvelopeChannel, EnvelopeChannel]:
    ring = KeyRing(bytes(range(32)))
    return EnvelopeChannel(ring, Direction.SERVER_TO_CLIENT), EnvelopeChannel(
        ring, Direction.CLIENT_TO_SERVER
    )


def test_small_envelope_travels_as_safe_message_text(
    channels: tuple[EnvelopeChannel, EnvelopeChannel],
) -> None:
    server, client = channels
    form = to_discord(server.seal(SESSION, 1, b"hello"))

    assert form.attachment is None
    assert form.content is not None
    assert TEXT_FORM.fullmatch(form.content)
    assert not set("@<>#:*~`|= \n") & set(form.content)
    assert client.open(from_content(form.content)).payload == b"hello"


def test_large_envelope_travels_as_an_attachment(channels: tuple[EnvelopeChannel, EnvelopeChannel]) -> None:
    server, client = channels
    form = to_discord(server.seal(SESSION, 1, bytes(5000)))

    assert form.content is None
    assert form.attachment is not None
    assert ATTACHMENT_FILENAME == "envelope.bin"
    assert client.open(from_attachment(form.attachment)).payload == bytes(5000)


@pytest.mark.parametrize(
    ("size", "as_text"),
    [
        pytest.param(LARGEST_TEXT_BLOB, True, id="exactly-2000-chars"),
        pytest.param(LARGEST_TEXT_BLOB + 1, False, id="one-byte-more"),
    ],
)
def test_text_or_attachment_boundary_is_discords_2000_characters(size: int, as_text: bool) -> None:
    form = to_discord(bytes(size))
    assert (form.content is not None) is as_text
    if form.content is not None:
        assert len(form.content) == MAX_CONTENT_CHARS


@pytest.mark.parametrize("size", [pytest.param(n, id=f"{n}-bytes") for n in range(7)])
def test_text_form_round_trips_every_padding_length(size: int) -> None:
    blob = bytes(range(250, 250 - size, -1))
    assert from_content(encode_text(blob)) == blob


@pytest.mark.parametrize(
    ("text", "error"),
    [
        pytest.param("x" * (MAX_CONTENT_CHARS + 1), EnvelopeTooLarge, id="over-2000-chars-of-garbage"),
        pytest.param("ML1." + "A" * MAX_CONTENT_CHARS, EnvelopeTooLarge, id="over-2000-chars-with-prefix"),
        pytest.param("hello there", MalformedEnvelope, id="ordinary-chat"),
        pytest.param("ML2.AAAA", MalformedEnvelope, id="other-prefix"),
        pytest.param("ML1.AAAAA", MalformedEnvelope, id="impossible-length"),
        pytest.param("ML1.AA+A", MalformedEnvelope, id="standard-base64-plus"),
        pytest.param("ML1.AA/A", MalformedEnvelope, id="standard-base64-slash"),
        pytest.param("ML1.AA==", MalformedEnvelope, id="padding"),
        pytest.param("ML1.AA A", MalformedEnvelope, id="space"),
        pytest.param("ML1.AA\nA", MalformedEnvelope, id="newline"),
        pytest.param("ML1.AAé", MalformedEnvelope, id="non-ascii"),
        pytest.param("ML1.AB", MalformedEnvelope, id="non-canonical-last-char"),
        pytest.param("ML1.AAB", MalformedEnvelope, id="non-canonical-last-char-of-two-bytes"),
    ],
)
def test_bad_text_is_rejected(text: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        from_content(text)


def test_text_that_would_decode_past_the_envelope_limit_is_too_large() -> None:
    with pytest.raises(EnvelopeTooLarge):
        from_content("ML1." + "A" * 200, max_bytes=100)


def test_non_text_content_is_malformed() -> None:
    with pytest.raises(MalformedEnvelope):
        from_content(b"ML1.AAAA")  # type: ignore[arg-type]


def test_prefix_recognises_envelopes_cheaply() -> None:
    assert looks_like_envelope(encode_text(b"abc"))
    assert not looks_like_envelope("ml1.abc")
    assert not looks_like_envelope(None)


@pytest.mark.parametrize(
    ("size", "limit"),
    [
        pytest.param(MAX_ENVELOPE_BYTES + 1, MAX_ENVELOPE_BYTES, id="default-1MiB"),
        pytest.param(101, 100, id="configured"),
    ],
)
def test_declared_attachment_size_over_the_limit_is_refused(size: int, limit: int) -> None:
    with pytest.raises(EnvelopeTooLarge):
        check_attachment_size(size, max_bytes=limit)
    check_attachment_size(limit, max_bytes=limit)


def test_negative_attachment_size_is_malformed() -> None:
    with pytest.raises(MalformedEnvelope):
        check_attachment_size(-1)


def test_downloaded_attachment_larger_than_declared_is_still_checked() -> None:
    with pytest.raises(EnvelopeTooLarge):
        from_attachment(bytes(101), max_bytes=100)
    with pytest.raises(MalformedEnvelope):
        from_attachment("text")  # type: ignore[arg-type]
