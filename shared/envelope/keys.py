"""The master keys: one primary that seals, any number of previous ones that still open (rotation).

Keys arrive as 64 hex characters (``PAYLOAD_ENCRYPTION_KEY``). Each key is known on the wire only by its
4-byte id, SHA-256(b"meatlizard/key-id/v1" + key)[:4], which tells the receiver which key to try without
revealing anything usable about the key itself. Ids, parsing and checks come from `shared.keyring` (the
primitive storage sealing uses too); this module adds the envelope's errors and stream-cipher cache.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence

from shared import keyring
from shared.envelope.aead import KEY_BYTES
from shared.envelope.errors import InvalidKey, UnknownKey
from shared.envelope.header import VERSION
from shared.envelope.subkeys import DEFAULT_CACHE_ENTRIES, StreamCipher, SubkeyCache
from shared.log import get_logger

log = get_logger(__name__)

KEY_ID_LABEL = b"meatlizard/key-id/v1"
KEY_ID_BYTES = keyring.KEY_ID_BYTES


def generate_key_hex() -> str:
    """A fresh random master key as 64 lowercase hex characters (what `meatlizard keygen` prints)."""
    return secrets.token_hex(KEY_BYTES)


def key_id_of(key: bytes) -> bytes:
    """The 4-byte public id of a master key."""
    return keyring.derive_key_id(KEY_ID_LABEL, key)


def parse_hex_key(text: str, *, what: str = "key") -> bytes:
    """Decode 64 hex characters (surrounding whitespace ignored); the error never echoes the text."""
    try:
        return keyring.parse_hex_key(text, what)
    except keyring.KeyringError as exc:
        raise InvalidKey(str(exc)) from None


def _check_key(key: bytes, what: str) -> None:
    try:
        keyring.check_key(key, what)
    except keyring.KeyringError as exc:
        raise InvalidKey(str(exc)) from None


class KeyRing:
    """The primary key (seals and opens) plus previous keys (open only) and their cached stream ciphers."""

    __slots__ = ("_cache", "_keys")

    def __init__(
        self, primary: bytes, previous: Sequence[bytes] = (), *, cache_entries: int = DEFAULT_CACHE_ENTRIES
    ) -> None:
        try:
            self._keys = keyring.KeysById(KEY_ID_LABEL, primary, previous)
        except keyring.KeyringError as exc:
            raise InvalidKey(str(exc)) from None
        self._cache = SubkeyCache(VERSION, cache_entries)
        log.debug("key ring ready: primary %s, %d previous", self._keys.primary_id.hex(), len(self._keys) - 1)

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
        ids = ", ".join(key_id.hex() for key_id in self._keys.key_ids)
        return f"KeyRing(key ids: {ids}; primary {self._keys.primary_id.hex()})"

    @property
    def primary_key_id(self) -> bytes:
        """The id stamped on every new envelope."""
        return self._keys.primary_id

    @property
    def key_ids(self) -> tuple[bytes, ...]:
        """Every id this ring can open, primary first."""
        return self._keys.key_ids

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
