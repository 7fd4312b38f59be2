"""The v1 wire layout: a 33-byte header, then a 12-byte nonce, then ciphertext || 16-byte tag.

    offset size field
    0      2    magic       b"ML"
    2      1    version     1
    3      1    direction   1 = server→client, 2 = client→server
    4      1    kind        0..255, opaque here (the protocol layer gives it meaning)
    5      4    key_id      SHA-256(b"meatlizard/key-id/v1" + master key)[:4]
    9      16   session_id  UUID bytes
    25     8    seq         u64 big-endian, strictly increasing per (session, direction)
    33     12   nonce       fresh os.urandom(12) per envelope
    45     n    ciphertext
    45+n   16   tag

The whole 33-byte header is the AES-GCM associated data, so no header bit can change unnoticed.
"""

from __future__ import annotations

import enum
import struct

from shared.envelope.aead import NONCE_BYTES, TAG_BYTES

MAGIC = b"ML"
VERSION = 1
HEADER = struct.Struct(">2sBBB4s16sQ")
HEADER_BYTES = HEADER.size
NONCE_OFFSET = HEADER_BYTES
CIPHERTEXT_OFFSET = HEADER_BYTES + NONCE_BYTES
OVERHEAD_BYTES = HEADER_BYTES + NONCE_BYTES + TAG_BYTES
MIN_ENVELOPE_BYTES = OVERHEAD_BYTES  # an empty payload
MAX_ENVELOPE_BYTES = 1 << 20  # default limit: 1 MiB on the wire
MAX_SEQ = (1 << 64) - 1
MAX_KIND = 255


class Direction(enum.IntEnum):
    """Which way an envelope travels; part of the header, the AAD and the subkey derivation."""

    SERVER_TO_CLIENT = 1
    CLIENT_TO_SERVER = 2

    @property
    def reverse(self) -> Direction:
        """The direction of replies to an envelope travelling this way."""
        return (
            Direction.CLIENT_TO_SERVER if self is Direction.SERVER_TO_CLIENT else Direction.SERVER_TO_CLIENT
        )


DIRECTIONS = frozenset(int(direction) for direction in Direction)
