"""Sealing and opening one envelope: pure functions, no replay state (see `channel` for that).

Opening checks cheap structure first (size, magic, version, direction, key id), then authenticates; only
an authenticated envelope is returned. Every failure is an `EnvelopeError` subclass.
"""

from __future__ import annotations

import os
import struct
import uuid
from typing import NamedTuple

from shared.envelope.errors import (
    EnvelopeTooLarge,
    EnvelopeUsageError,
    MalformedEnvelope,
    UnexpectedDirection,
    UnsupportedVersion,
)
from shared.envelope.header import (
    CIPHERTEXT_OFFSET,
    DIRECTIONS,
    HEADER,
    HEADER_BYTES,
    MAGIC,
    MAX_ENVELOPE_BYTES,
    MIN_ENVELOPE_BYTES,
    NONCE_OFFSET,
    OVERHEAD_BYTES,
    VERSION,
    Direction,
)
from shared.envelope.keys import KeyRing

_pack_header = HEADER.pack
_unpack_header = HEADER.unpack_from
_urandom = os.urandom
_DIRECTION_OF = {int(direction): direction for direction in Direction}


class OpenedEnvelope(NamedTuple):
    """An authenticated envelope: who it belongs to, what it is, and the decrypted payload.

    A NamedTuple rather than a frozen dataclass: it is built once per message on the hot path and a
    tuple is several times cheaper to construct.
    """

    session_id: uuid.UUID
    direction: Direction
    kind: int
    seq: int
    key_id: bytes
    payload: bytes

    def __repr__(self) -> str:
        # No payload: logging an opened envelope must never write plaintext.
        return (
            f"OpenedEnvelope(session_id={self.session_id}, direction={self.direction.name}, "
            f"kind={self.kind}, seq={self.seq}, key_id={self.key_id.hex()}, "
            f"payload=<{len(self.payload)} bytes>)"
        )


def seal_envelope(
    keyring: KeyRing,
    *,
    direction: Direction,
    session_id: uuid.UUID,
    kind: int,
    seq: int,
    payload: bytes,
    nonce: bytes | None = None,
    max_size: int = MAX_ENVELOPE_BYTES,
) -> bytes:
    """Encrypt `payload` under the primary key's subkey for (session, direction).

    `nonce` exists for documentation examples and tests; production code leaves it None so that every
    envelope gets a fresh random one. Raises `EnvelopeTooLarge` if the result would exceed `max_size`
    (the receiver would refuse it) and `EnvelopeUsageError` for out-of-range fields.
    """
    if len(payload) + OVERHEAD_BYTES > max_size:
        raise EnvelopeTooLarge(
            f"a {len(payload)}-byte payload makes an envelope over the {max_size}-byte limit"
        )
    if direction not in DIRECTIONS:
        raise EnvelopeUsageError(f"direction must be 1 or 2, got {direction!r}")
    session_bytes = session_id.bytes
    key_id = keyring.primary_key_id
    try:
        header = _pack_header(MAGIC, VERSION, direction, kind, key_id, session_bytes, seq)
    except struct.error:
        raise EnvelopeUsageError("kind must be 0..255 and seq 0..2^64-1") from None
    cipher, _ = keyring.stream_cipher(key_id, direction, session_bytes)
    if nonce is None:
        nonce = _urandom(12)
    return b"".join((header, nonce, cipher.encrypt(nonce, payload, header)))


def open_envelope(
    keyring: KeyRing,
    blob: bytes | bytearray,
    *,
    expected_direction: Direction | None = None,
    max_size: int = MAX_ENVELOPE_BYTES,
) -> OpenedEnvelope:
    """Authenticate and decrypt one binary envelope; nothing but `EnvelopeError` subclasses escapes."""
    return open_envelope_with_session_bytes(keyring, blob, expected_direction, max_size)[0]


def open_envelope_with_session_bytes(
    keyring: KeyRing, blob: bytes | bytearray, expected_direction: Direction | None, max_size: int
) -> tuple[OpenedEnvelope, bytes]:
    """`open_envelope`, also returning the raw session id: the replay guard's key, no UUID round trip."""
    if not isinstance(blob, bytes | bytearray):
        raise MalformedEnvelope(f"an envelope is bytes, not {type(blob).__name__}")
    size = len(blob)
    if size > max_size:
        raise EnvelopeTooLarge(f"{size}-byte envelope exceeds the {max_size}-byte limit")
    if size < MIN_ENVELOPE_BYTES:
        raise MalformedEnvelope(f"truncated: {size} bytes, a v1 envelope has at least {MIN_ENVELOPE_BYTES}")
    magic, version, direction, kind, key_id, session_bytes, seq = _unpack_header(blob)
    if magic != MAGIC:
        raise MalformedEnvelope("not an envelope: wrong magic bytes")
    if version != VERSION:
        raise UnsupportedVersion(f"envelope version {version} is not supported (only {VERSION})")
    if direction not in DIRECTIONS:
        raise MalformedEnvelope(f"direction byte {direction} is neither 1 nor 2")
    if expected_direction is not None and direction != expected_direction:
        raise UnexpectedDirection(
            f"envelope travels {Direction(direction).name}, this endpoint receives {expected_direction.name}"
        )
    cipher, session_uuid = keyring.stream_cipher(key_id, direction, session_bytes)
    view = memoryview(blob)
    payload = cipher.decrypt(
        view[NONCE_OFFSET:CIPHERTEXT_OFFSET], view[CIPHERTEXT_OFFSET:], view[:HEADER_BYTES]
    )
    opened = OpenedEnvelope(session_uuid, _DIRECTION_OF[direction], kind, seq, key_id, payload)
    return opened, session_bytes
