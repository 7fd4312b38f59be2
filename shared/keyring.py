"""Master keys by id: one primary that seals, previous ones that still open (rotation).

One primitive for both users of AES-256 master keys: the relay envelope (`shared.envelope.keys`) and
the server-bot's storage sealing (`server_bot.db.sealing`). Each key is named on the wire or in a stored
row only by a 4-byte id, SHA-256(label + key)[:4]. The label is the caller's, so each use keeps its own
ids (and everything already sealed keeps opening): the two uses never share a label or a key.

Errors (`KeyringError`, a ValueError) name WHICH key is wrong, never its text; callers translate them
into their own exception tree.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Sequence

KEY_BYTES = 32
KEY_ID_BYTES = 4
_HEX_KEY = re.compile(r"[0-9a-fA-F]{64}")


class KeyringError(ValueError):
    """A key is malformed, all zeros, or collides with another key's id; the message names which."""


def derive_key_id(label: bytes, key: bytes) -> bytes:
    """The 4-byte public id of `key` under `label`: tells a reader which key to try, reveals nothing."""
    return hashlib.sha256(label + key).digest()[:KEY_ID_BYTES]


def parse_hex_key(text: str, what: str) -> bytes:
    """Decode 64 hex characters (surrounding whitespace ignored); the error never echoes the text."""
    if not isinstance(text, str):
        raise KeyringError(f"{what} must be a string of 64 hex characters")
    stripped = text.strip()
    if len(stripped) != 2 * KEY_BYTES:
        raise KeyringError(f"{what} must be 64 hex characters (got {len(stripped)})")
    if not _HEX_KEY.fullmatch(stripped):
        raise KeyringError(f"{what} must be 64 hex characters (found a non-hex character)")
    return bytes.fromhex(stripped)


def check_key(key: bytes, what: str) -> None:
    """Refuse anything but 32 bytes, and the all-zero key (a placeholder, never a real key)."""
    if not isinstance(key, bytes) or len(key) != KEY_BYTES:
        raise KeyringError(f"{what} must be {KEY_BYTES} bytes")
    if key == bytes(KEY_BYTES):
        raise KeyringError(f"{what} is all zeros; generate a real one with `meatlizard keygen`")


class KeysById:
    """A primary key plus previous keys, looked up by their labelled 4-byte ids (primary first)."""

    __slots__ = ("_keys", "_primary_id", "label")

    def __init__(
        self,
        label: bytes,
        primary: bytes,
        previous: Sequence[bytes] = (),
        *,
        primary_name: str = "the primary key",
        previous_name: str = "previous key",
    ) -> None:
        self.label = label
        check_key(primary, primary_name)
        self._primary_id = derive_key_id(label, primary)
        self._keys: dict[bytes, bytes] = {self._primary_id: primary}
        for index, key in enumerate(previous, start=1):
            what = f"{previous_name} #{index}"
            check_key(key, what)
            key_id = derive_key_id(label, key)
            existing = self._keys.setdefault(key_id, key)
            if existing != key:
                # 2^-32 per pair: astronomically unlikely, but then the id cannot tell the keys apart.
                raise KeyringError(f"{what} has the same key id as another key; generate a new one")

    @classmethod
    def from_hex(
        cls,
        label: bytes,
        primary: str,
        previous: Sequence[str] = (),
        *,
        primary_name: str = "the primary key",
        previous_name: str = "previous key",
    ) -> KeysById:
        """Build from hex text; `KeyringError` names which key is wrong (by name and position)."""
        if isinstance(previous, str):
            raise KeyringError(f"{previous_name}s must be a sequence of hex strings, not one string")
        primary_key = parse_hex_key(primary, primary_name)
        previous_keys = [
            parse_hex_key(text, f"{previous_name} #{index}") for index, text in enumerate(previous, start=1)
        ]
        return cls(label, primary_key, previous_keys, primary_name=primary_name, previous_name=previous_name)

    @property
    def primary_id(self) -> bytes:
        return self._primary_id

    @property
    def primary(self) -> bytes:
        return self._keys[self._primary_id]

    @property
    def key_ids(self) -> tuple[bytes, ...]:
        """Every id held, primary first."""
        return tuple(self._keys)

    def get(self, key_id: bytes) -> bytes | None:
        """The key named `key_id`, or None when this ring does not hold it."""
        return self._keys.get(key_id)

    def items(self) -> Iterator[tuple[bytes, bytes]]:
        """(key id, key) pairs, primary first."""
        return iter(self._keys.items())

    def __len__(self) -> int:
        return len(self._keys)

    def __repr__(self) -> str:
        # Ids only: a repr must never show key material.
        ids = ", ".join(key_id.hex() for key_id in self._keys)
        return f"KeysById(key ids: {ids}; primary {self._primary_id.hex()})"
