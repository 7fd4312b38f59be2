"""At-rest sealing of stored text (message bodies, system prompts, moderation excerpts).

Text is sealed with AES-256-GCM under the STORAGE key (`STORAGE_ENCRYPTION_KEY`, 64 hex chars), which is
deliberately a different key from the relay key: a leaked database dump plus a leaked relay key still
reveals nothing, and rotating one never touches the other.

Blob layout (bytes): ``version(1) | key_id(4) | nonce(12) | ciphertext+tag``.
The key id is derived from the key itself, so previous keys (`STORAGE_PREVIOUS_KEYS`, comma-separated)
keep opening old rows after a rotation without any bookkeeping: ids, parsing and key checks are the
`shared.keyring` primitive the relay's `KeyRing` uses too, under the storage's own id label. The
associated data binds each blob to its row's identity (e.g. session id and role): ciphertext copied into
another row fails to open instead of showing up in the wrong conversation.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable, Mapping

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from server_bot.db.errors import SealingError, StorageKeyError, UnknownStorageKey
from shared.config import StorageSettings, split_keys
from shared.keyring import KeyringError, KeysById, derive_key_id, parse_hex_key
from shared.log import get_logger

log = get_logger(__name__)

CURRENT_KEY_ENV = "STORAGE_ENCRYPTION_KEY"
PREVIOUS_KEYS_ENV = "STORAGE_PREVIOUS_KEYS"
RELAY_KEY_ENV = "PAYLOAD_ENCRYPTION_KEY"

_VERSION = 1
_KEY_ID_LEN = 4
_NONCE_LEN = 12
_HEADER_LEN = 1 + _KEY_ID_LEN
_TAG_LEN = 16
_AAD_DOMAIN = b"meatlizard/storage/v1\x00"
# The storage's id label (not the relay's): every row already stored names its key by this id.
KEY_ID_LABEL = b"meatlizard storage key id\x00"
_PREVIOUS_NAME = f"{PREVIOUS_KEYS_ENV} entry"


def key_id_of(key: bytes) -> bytes:
    """A short, non-secret name for a key: lets a blob say which key sealed it."""
    return derive_key_id(KEY_ID_LABEL, key)


class StorageSealer:
    """Seals and opens stored text under the current storage key; opens with previous keys too."""

    def __init__(self, current: bytes, previous: Iterable[bytes] = ()) -> None:
        try:
            keys = KeysById(
                KEY_ID_LABEL,
                current,
                list(previous),
                primary_name=CURRENT_KEY_ENV,
                previous_name=_PREVIOUS_NAME,
            )
        except KeyringError as exc:
            raise StorageKeyError(str(exc)) from None
        self._current_id = keys.primary_id
        self._keys: dict[bytes, AESGCM] = {key_id: AESGCM(key) for key_id, key in keys.items()}
        self._current = self._keys[self._current_id]

    @classmethod
    def from_hex(cls, current_hex: str, previous_hex: Iterable[str] = ()) -> StorageSealer:
        """Build from hex text; `StorageKeyError` names the variable (and entry), never the value."""
        previous = [item for item in previous_hex if item.strip()]
        try:
            current = parse_hex_key(current_hex, CURRENT_KEY_ENV)
            keys = [parse_hex_key(text, f"{_PREVIOUS_NAME} #{n}") for n, text in enumerate(previous, start=1)]
        except KeyringError as exc:
            raise StorageKeyError(str(exc)) from None
        return cls(current, keys)

    @classmethod
    def from_settings(cls, settings: StorageSettings, relay_key_hex: str | None = None) -> StorageSealer:
        """Build from the validated `StorageSettings`; refuses a storage key equal to the relay key."""
        current_hex = settings.storage_encryption_key.get_secret_value()
        _refuse_relay_key(current_hex, relay_key_hex)
        return cls.from_hex(current_hex, split_keys(settings.storage_previous_keys))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> StorageSealer:
        """Build from `STORAGE_ENCRYPTION_KEY` and `STORAGE_PREVIOUS_KEYS`; refuses the relay's key."""
        env = os.environ if environ is None else environ
        current_hex = env.get(CURRENT_KEY_ENV)
        if not current_hex:
            raise StorageKeyError(f"{CURRENT_KEY_ENV} is not set")
        _refuse_relay_key(current_hex, env.get(RELAY_KEY_ENV))
        return cls.from_hex(current_hex, env.get(PREVIOUS_KEYS_ENV, "").split(","))

    @property
    def key_id(self) -> bytes:
        return self._current_id

    def seal(self, plaintext: str, context: bytes) -> bytes:
        """Encrypt `plaintext` bound to `context` (the row's identity, see the `*_context` helpers)."""
        header = bytes([_VERSION]) + self._current_id
        nonce = os.urandom(_NONCE_LEN)
        sealed = self._current.encrypt(nonce, plaintext.encode("utf-8"), _aad(header, context))
        return header + nonce + sealed

    def open(self, blob: bytes, context: bytes) -> str:
        """Decrypt a blob sealed for `context`; raises `SealingError` on any mismatch."""
        if len(blob) < _HEADER_LEN + _NONCE_LEN + _TAG_LEN or blob[0] != _VERSION:
            raise SealingError("stored blob is truncated or has an unknown format version")
        header, key_id = blob[:_HEADER_LEN], blob[1:_HEADER_LEN]
        aead = self._keys.get(key_id)
        if aead is None:
            raise UnknownStorageKey(f"stored blob was sealed with unknown storage key id {key_id.hex()}")
        nonce = blob[_HEADER_LEN : _HEADER_LEN + _NONCE_LEN]
        try:
            plaintext = aead.decrypt(nonce, blob[_HEADER_LEN + _NONCE_LEN :], _aad(header, context))
        except InvalidTag:
            raise SealingError("stored blob failed authentication (tampered, moved or wrong key)") from None
        return plaintext.decode("utf-8")

    def needs_reseal(self, blob: bytes) -> bool:
        """True when the blob was sealed under a previous key (a rotation job may re-seal it)."""
        return blob[1:_HEADER_LEN] != self._current_id


def _refuse_relay_key(current_hex: str, relay_key_hex: str | None) -> None:
    # One key for both jobs would make a relay-key leak also a leak of every stored conversation.
    if relay_key_hex and current_hex.strip().lower() == relay_key_hex.strip().lower():
        raise StorageKeyError(f"{CURRENT_KEY_ENV} must differ from the relay key ({RELAY_KEY_ENV})")


def _aad(header: bytes, context: bytes) -> bytes:
    return _AAD_DOMAIN + header + context


def message_context(session_id: uuid.UUID, role: str) -> bytes:
    """Binds a message body to its chat session and its role."""
    return b"message\x00" + session_id.bytes + role.encode("ascii")


def system_prompt_context(session_id: uuid.UUID) -> bytes:
    """Binds a session's system prompt to that session."""
    return b"system_prompt\x00" + session_id.bytes


def excerpt_context(user_id: int, rule: str) -> bytes:
    """Binds a moderation excerpt to the offending user and the rule it matched."""
    return b"excerpt\x00" + user_id.to_bytes(8, "big", signed=False) + rule.encode("utf-8")
