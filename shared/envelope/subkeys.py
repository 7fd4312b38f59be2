"""Per-stream subkeys: HKDF-SHA256(master key, info = label | version | direction | session id).

Every (session, direction) pair — a *stream* — gets its own AES-256 key. Why (numbers in
docs/protocol.md): with random 96-bit nonces NIST SP 800-38D caps one key at 2^32 messages; a stream
carries a few thousand at most, so the cap is never approached even though the master key lives for
years; and because the session id and direction are part of the key, a ciphertext moved into another
session or turned around fails authentication even before the header AAD is considered.

HKDF costs several microseconds, so derived ciphers are cached in a bounded LRU keyed by
(key id, direction, session id bytes); the per-message hot path is one dict lookup.
"""

from __future__ import annotations

import uuid
from collections import OrderedDict

from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from shared.envelope.aead import KEY_BYTES, Aead
from shared.log import get_logger

log = get_logger(__name__)

HKDF_LABEL = b"meatlizard/envelope/subkey"
DEFAULT_CACHE_ENTRIES = 4096

# The cipher for a stream and the session id as a UUID (built once here, not per opened envelope).
StreamCipher = tuple[Aead, uuid.UUID]
_CacheKey = tuple[bytes, int, bytes]


def subkey_info(version: int, direction: int, session_id: bytes) -> bytes:
    """HKDF `info`: binds the format version, the direction and the session to the derived key."""
    return HKDF_LABEL + bytes((version, direction)) + session_id


def derive_subkey(master: bytes, version: int, direction: int, session_id: bytes) -> bytes:
    """The 32-byte AES key of one stream. The master key is uniformly random, so no salt is needed."""
    hkdf = HKDF(
        algorithm=SHA256(), length=KEY_BYTES, salt=None, info=subkey_info(version, direction, session_id)
    )
    return hkdf.derive(master)


class SubkeyCache:
    """A bounded LRU of derived stream ciphers; memory stays flat however many sessions come and go."""

    __slots__ = ("_entries", "_max_entries", "_version")

    def __init__(self, version: int, max_entries: int = DEFAULT_CACHE_ENTRIES) -> None:
        if max_entries < 1:
            raise ValueError("the subkey cache needs room for at least one stream")
        self._version = version
        self._max_entries = max_entries
        self._entries: OrderedDict[_CacheKey, StreamCipher] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, master: bytes, key_id: bytes, direction: int, session_id: bytes) -> StreamCipher:
        """The stream's cipher, derived on first use."""
        cache_key = (key_id, direction, session_id)
        entry = self._entries.get(cache_key)
        if entry is not None:
            self._entries.move_to_end(cache_key)
            return entry
        entry = (
            Aead(derive_subkey(master, self._version, direction, session_id)),
            uuid.UUID(bytes=session_id),
        )
        self._entries[cache_key] = entry
        if len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)
        return entry
