"""Sealing and opening single envelopes: layout, every kind of damage, rotation."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from shared.envelope import (
    OVERHEAD_BYTES,
    Direction,
    EnvelopeError,
    EnvelopeTooLarge,
    EnvelopeUsageError,
    KeyRing,
    MalformedEnvelope,
    TamperedEnvelope,
    UnexpectedDirection,
    UnknownKey,
    UnsupportedVersion,
    encode_text,
    from_content,
    key_id_of,
    open_envelope,
    seal_envelope,
)

KEY_A = bytes(range(32))
KEY_B = bytes(range(32, 64))
SESSION = uuid.UUID("12345678-9abc-4def-8123-456789abcdef")
OTHER_SESSION = uuid.UUID("fedcba98-7654-4321-8fed-cba987654321")
SECRET = b"top secret prompt"
S2C = Direction.SERVER_TO_CLIENT
C2S = Direction.CLIENT_TO_SERVER


def seal(ring: KeyRing, payload: bytes = SECRET, **fields: Any) -> bytes:
    arguments: dict[str, Any] = {"direction": S2C, "session_id": SESSION, "kind": 7, "seq": 42}
    arguments.update(fields)
    return seal_envelope(ring, payload=payload, **arguments)


def flip_bit(blob: bytes, bit: int) -> bytes:
    damaged = bytearray(blob)
    damaged[bit // 8] ^= 1 << (bit % 8)
    return bytes(damaged)


def replace(blob: bytes, offset: int, new: bytes) -> bytes:
    return blob[:offset] + new + blob[offset + len(new) :]


@pytest.fixture
def ring() -> KeyRing:
    return KeyRing(KEY_A)


def test_sealed_envelope_opens_to_the_same_fields_and_payload(ring: KeyRing) -> None:
    opened = open_envelope(ring, seal(ring), expected_direction=S2C)

    assert opened.session_id == SESSION
    assert opened.direction is S2C
    assert (opened.kind, opened.seq, opened.payload) == (7, 42, SECRET)
    assert opened.key_id == key_id_of(KEY_A)


def test_header_layout_matches_the_documented_bytes(ring: KeyRing) -> None:
    blob = seal(ring, nonce=bytes(range(12)))

    assert blob[:2] == b"ML"
    assert blob[2:5] == bytes((1, 1, 7))
    assert blob[5:9] == key_id_of(KEY_A)
    assert blob[9:25] == SESSION.bytes
    assert blob[25:33] == (42).to_bytes(8, "big")
    assert blob[33:45] == bytes(range(12))
    assert len(blob) == len(SECRET) + OVERHEAD_BYTES == len(SECRET) + 61


def test_each_envelope_gets_a_fresh_random_nonce(ring: KeyRing) -> None:
    nonces = {seal(ring)[33:45] for _ in range(50)}
    assert len(nonces) == 50


def test_opened_envelope_repr_does_not_show_the_payload(ring: KeyRing) -> None:
    assert SECRET.decode() not in repr(open_envelope(ring, seal(ring)))


def _expected_error_for_byte(index: int) -> type[EnvelopeError]:
    if index < 2 or index == 3:  # magic, direction (one flipped bit never turns 1 into 2)
        return MalformedEnvelope
    if index == 2:
        return UnsupportedVersion
    if 5 <= index < 9:
        return UnknownKey
    return TamperedEnvelope  # kind, session, seq, nonce, ciphertext, tag


def test_every_single_bit_flip_is_rejected_with_the_right_error(ring: KeyRing) -> None:
    blob = seal(ring, payload=b"tiny")
    for bit in range(len(blob) * 8):
        expected = _expected_error_for_byte(bit // 8)
        with pytest.raises(EnvelopeError) as caught:
            open_envelope(ring, flip_bit(blob, bit), expected_direction=S2C)
        assert type(caught.value) is expected, f"bit {bit}: {caught.value!r}"
        assert "tiny" not in str(caught.value)


def test_every_truncation_is_rejected(ring: KeyRing) -> None:
    blob = seal(ring, payload=b"tiny")
    for length in range(len(blob)):
        expected = MalformedEnvelope if length < OVERHEAD_BYTES else TamperedEnvelope
        with pytest.raises(EnvelopeError) as caught:
            open_envelope(ring, blob[:length])
        assert type(caught.value) is expected, f"length {length}: {caught.value!r}"


def test_appended_bytes_are_tampering(ring: KeyRing) -> None:
    with pytest.raises(TamperedEnvelope):
        open_envelope(ring, seal(ring) + b"\x00")


def test_envelope_under_a_key_the_receiver_lacks_is_unknown_key(ring: KeyRing) -> None:
    with pytest.raises(UnknownKey, match=key_id_of(KEY_B).hex()):
        open_envelope(ring, seal(KeyRing(KEY_B)))


def test_wrong_key_relabelled_with_the_receivers_key_id_is_tampered(ring: KeyRing) -> None:
    forged = replace(seal(KeyRing(KEY_B)), 5, key_id_of(KEY_A))
    with pytest.raises(TamperedEnvelope):
        open_envelope(ring, forged)


def test_envelope_spliced_into_another_session_is_tampered(ring: KeyRing) -> None:
    spliced = replace(seal(ring), 9, OTHER_SESSION.bytes)
    with pytest.raises(TamperedEnvelope):
        open_envelope(ring, spliced)


def test_ciphertext_moved_under_another_sessions_header_is_tampered(ring: KeyRing) -> None:
    victim = seal(ring, session_id=SESSION)
    donor = seal(ring, session_id=OTHER_SESSION, payload=b"x" * len(SECRET))
    with pytest.raises(TamperedEnvelope):
        open_envelope(ring, donor[:33] + victim[33:])


@pytest.mark.parametrize(
    "version", [pytest.param(0, id="downgrade-to-0"), pytest.param(2, id="upgrade-to-2")]
)
def test_other_versions_are_unsupported(ring: KeyRing, version: int) -> None:
    with pytest.raises(UnsupportedVersion, match=f"version {version}"):
        open_envelope(ring, replace(seal(ring), 2, bytes((version,))))


def test_envelope_turned_around_is_an_unexpected_direction(ring: KeyRing) -> None:
    with pytest.raises(UnexpectedDirection):
        open_envelope(ring, seal(ring, direction=S2C), expected_direction=C2S)


def test_direction_byte_rewritten_to_the_receivers_direction_is_tampered(ring: KeyRing) -> None:
    # The header check passes, but the subkey and the AAD both bind the original direction.
    rewritten = replace(seal(ring, direction=S2C), 3, bytes((C2S,)))
    with pytest.raises(TamperedEnvelope):
        open_envelope(ring, rewritten, expected_direction=C2S)


@pytest.mark.parametrize(
    "blob",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"XX" + bytes(80), id="wrong-magic"),
        pytest.param("ML" + "a" * 80, id="text-not-bytes"),
        pytest.param(None, id="none"),
    ],
)
def test_non_envelopes_are_malformed(ring: KeyRing, blob: object) -> None:
    with pytest.raises(MalformedEnvelope):
        open_envelope(ring, blob)  # type: ignore[arg-type]


def test_bytearray_envelope_opens(ring: KeyRing) -> None:
    assert open_envelope(ring, bytearray(seal(ring))).payload == SECRET


def test_oversized_envelope_is_refused_before_anything_else(ring: KeyRing) -> None:
    with pytest.raises(EnvelopeTooLarge):
        open_envelope(ring, b"not even an envelope" * 10, max_size=100)


def test_sealing_a_payload_the_receiver_would_refuse_is_too_large(ring: KeyRing) -> None:
    with pytest.raises(EnvelopeTooLarge):
        seal(ring, payload=bytes(100 - OVERHEAD_BYTES + 1), max_size=100)
    assert len(seal(ring, payload=bytes(100 - OVERHEAD_BYTES), max_size=100)) == 100


@pytest.mark.parametrize(
    "fields",
    [
        pytest.param({"kind": 256}, id="kind-too-big"),
        pytest.param({"kind": -1}, id="kind-negative"),
        pytest.param({"seq": 1 << 64}, id="seq-too-big"),
        pytest.param({"direction": 3}, id="no-such-direction"),
    ],
)
def test_out_of_range_fields_are_a_usage_error(ring: KeyRing, fields: dict[str, Any]) -> None:
    with pytest.raises(EnvelopeUsageError):
        seal(ring, **fields)


def test_envelope_sealed_under_a_previous_key_opens_after_rotation() -> None:
    before_rotation = seal(KeyRing(KEY_A))
    rotated = KeyRing(KEY_B, previous=[KEY_A])

    assert open_envelope(rotated, before_rotation).payload == SECRET
    assert seal(rotated)[5:9] == key_id_of(KEY_B) == rotated.primary_key_id


def test_a_peer_not_yet_rotated_cannot_open_envelopes_under_the_new_key() -> None:
    with pytest.raises(UnknownKey):
        open_envelope(KeyRing(KEY_A), seal(KeyRing(KEY_B, previous=[KEY_A])))


# The worked example of docs/protocol.md, recomputed here with raw `cryptography` primitives.
EXAMPLE_SESSION = uuid.UUID("0b5e7a1c-2d3f-4e5a-9b6c-7d8e9fa0b1c2")
EXAMPLE_SEQ = 1_700_000_000_000_000
EXAMPLE_NONCE = bytes.fromhex("a0a1a2a3a4a5a6a7a8a9aaab")
EXAMPLE_PAYLOAD = b'{"text":"hi"}'
EXAMPLE_ENVELOPE = bytes.fromhex(
    "4d4c0101014033690a0b5e7a1c2d3f4e5a9b6c7d8e9fa0b1c200060a24181e4000"
    "a0a1a2a3a4a5a6a7a8a9aaab"
    "899495c7193492b49359bcbb18"
    "84ff38e1910c48ed2cb15f526df71261"
)
EXAMPLE_TEXT = (
    "ML1.TUwBAQFAM2kKC156HC0_TlqbbH2On6CxwgAGCiQYHkAAoKGio6SlpqeoqaqriZSVxxk0krSTWby7GIT_OOGRDEjtLLFfUm33EmE"
)


def test_documented_worked_example_is_reproduced_by_independent_primitives() -> None:
    header = EXAMPLE_ENVELOPE[:33]
    info = b"meatlizard/envelope/subkey" + bytes((1, 1)) + EXAMPLE_SESSION.bytes
    subkey = HKDF(algorithm=SHA256(), length=32, salt=None, info=info).derive(KEY_A)
    independent = header + EXAMPLE_NONCE + AESGCM(subkey).encrypt(EXAMPLE_NONCE, EXAMPLE_PAYLOAD, header)

    ours = seal(
        KeyRing(KEY_A),
        payload=EXAMPLE_PAYLOAD,
        kind=1,
        session_id=EXAMPLE_SESSION,
        seq=EXAMPLE_SEQ,
        nonce=EXAMPLE_NONCE,
    )
    assert ours == independent == EXAMPLE_ENVELOPE
    assert encode_text(ours) == EXAMPLE_TEXT
    assert open_envelope(KeyRing(KEY_A), from_content(EXAMPLE_TEXT)).payload == EXAMPLE_PAYLOAD
