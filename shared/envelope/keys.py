"""The master keys: one primary that seals, any number of previous ones that still open (rotation).

Keys arrive as 64 hex characters (``PAYLOAD_ENCRYPTION_KEY``). Each key is known on the wire only by its
4-byte id, SHA-256(b"meatlizard/key-id/v1" + key)[:4], which tells the receiver which key to try without
revealing anything usable about the key itself.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Sequence

from shared.envelope.aead import KEY_BYTES
from shared.envelope.errors import InvalidKey, UnknownKey
from shared.envelope.header import VERSION
from shared.envelope.subkeys import DEFAULT_CACHE_ENTRIES, StreamCipher, SubkeyCache
from shared.log import get_logger

log = get_logger(__name__)

KEY_ID_LABEL = b"meatlizard/key-id/v1"
KEY_ID_BYTES = 4
_HEX_KEY = re.compile(r"[0-9a-fA-F]{64}")


def generate_key_hex() -> str:
    """A fresh random master key as 64 lowercase hex characters (what `meatlizard keygen` prints)."""
    return secrets.token_hex(KEY_BYTES)


def key_id_of(key: bytes) -> bytes:
    """The 4-byte public id of a master key."""
    return hashlib.sha256(KEY_ID_LABEL + key).digest()[:KEY_ID_BYTES]


def parse_hex_key(text: str, *, what: str = "key") -> bytes:
    """Decode 64 hex characters (surrounding whitespace ignored); the error never echoes the text."""
    if not isinstance(text, str):
        raise InvalidKey(f"{what} must be a string of 64 hex characters")
    stripped = text.strip()
    if len(stripped) != 2 * KEY_BYTES:
        raise InvalidKey(f"{what} must be 64 hex characters (got {len(stripped)})")
    if not _HEX_KEY.fullmatch(stripped):
        raise InvalidKey(f"{what} must be 64 hex characters (found a non-hex character)")
    return bytes.fromhex(stripped)


def _check_key(key: bytes, what: str) -> None:
    if not isinstance(key, bytes) or len(key) != KEY_BYTES:
        raise InvalidKey(f"{what} must be {KEY_BYTES} bytes")
    if key == bytes(KEY_BYTES):
        raise InvalidKey(f"{what} is all zeros; generate a real one with `meatlizard keygen`")


class KeyRing:
    """The primary key (seals and opens) plus previous keys (open only) and their cached stream ciphers."""

    __slots__ = ("_cache", "_keys", "_primary_id")

    def __init__(
        self, primary: bytes, previous: Sequence[bytes] = (), *, cache_entries: int = DEFAULT_CACHE_ENTRIES
    ) -> None:
        _check_key(primary, "the primary key")
        self._primary_id = key_id_of(primary)
        self._keys: dict[bytes, bytes] = {self._primary_id: primary}
        for index, key in enumerate(previous, start=1):
            _check_key(key, f"previous key #{index}")
            self._add_previous(key, index)
        self._cache = SubkeyCache(VERSION, cache_entries)
        log.debug("key ring ready: primary %s, %d previous", self._primary_id.hex(), len(self._keys) - 1)

    def _add_previous(self, key: bytes, index: int) -> None:
        key_id = key_id_of(key)
        existing = self._keys.get(key_id)
        if existing is None:
            self._keys[key_id] = key
        elif existing != key:
            # 2^-32 per pair: astronomically unlikely, but then the id cannot tell the keys apart.
            raise InvalidKey(f"previous key #{index} has the same key id as another key; generate a new one")

    @classmethod
    def from_hex(
        cls, primary: str, previous: Sequence[str] = (), *, cache_entries: int = DEFAULT_CACHE_ENTRIES
    ) -> KeyRing:
        """Build from hex text; raises `InvalidKey` (a ValueError) naming which key, never its text."""
        if isinstance(previous, str):
            raise InvalidKey("previous keys must be a sequence of hex strings, not one string")
        primary_key = parse_hex_key(primary, what="the primary key")
        previous_keys = [
            parse_hex_key(text, what=f"previous key #{index}") for index, text in enumerate(previous, start=1)
        ]
        return cls(primary_key, previous_keys, cache_entries=cache_entries)

    def __repr__(self) -> str:
        ids = ", ".join(key_id.hex() for key_id in self._keys)
        return f"KeyRing(key ids: {ids}; primary {self._primary_id.hex()})"

    @property
    def primary_key_id(self) -> bytes:
        """The id stamped on every new envelope."""
        return self._primary_id

    @property
    def key_ids(self) -> tuple[bytes, ...]:
        """Every id this ring can open, primary first."""
        return tuple(self._keys)

    def stream_cipher(self, key_id: bytes, direction: int, session_id: bytes) -> StreamCipher:
        """The cached cipher for one stream under the key named `key_id`; `UnknownKey` if not held."""
        master = self._keys.get(key_id)
        if master is None:
            raise UnknownKey(f"no key with id {key_id.hex()} in this ring")
        return self._cache.get(master, key_id, direction, session_id)


HOST_KEY_LABEL = b"meatlizard/host-key/v1"


def derive_host_key(master: bytes, host_id: int) -> bytes:
    """The relay key of one GPU host: HKDF-SHA256(master, info = label ‖ host_id as u64 big-endian).

    The server-bot holds the master key and derives every host's key; each client-bot is configured with
    only its own derived key, so it can neither read nor forge another host's envelopes.
    """
    _check_key(master, "the master key")
    if not 0 <= host_id < 1 << 64:
        raise InvalidKey("a host id is a Discord user id (0..2^64-1)")
    prk = hmac.new(bytes(32), master, hashlib.sha256).digest()
    return hmac.new(prk, HOST_KEY_LABEL + host_id.to_bytes(8, "big") + b"\x01", hashlib.sha256).digest()
