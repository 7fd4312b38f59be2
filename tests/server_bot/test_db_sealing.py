"""At-rest sealing: round trips, binding to the row, tamper detection and key rotation."""

from __future__ import annotations

import hashlib
import os
import uuid

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pydantic import SecretStr

from server_bot.db.errors import SealingError, StorageKeyError, UnknownStorageKey
from server_bot.db.sealing import (
    StorageSealer,
    excerpt_context,
    message_context,
    system_prompt_context,
)
from shared.config import StorageSettings

SESSION = uuid.uuid4()
OTHER_SESSION = uuid.uuid4()


@pytest.fixture
def sealer() -> StorageSealer:
    return StorageSealer(os.urandom(32))


def test_sealed_text_opens_back_to_the_original(sealer: StorageSealer) -> None:
    context = message_context(SESSION, "user")
    blob = sealer.seal("héllo 🦎 world", context)
    assert b"hello" not in blob and "héllo".encode() not in blob
    assert sealer.open(blob, context) == "héllo 🦎 world"


def test_sealing_the_same_text_twice_gives_different_blobs(sealer: StorageSealer) -> None:
    context = message_context(SESSION, "user")
    assert sealer.seal("same", context) != sealer.seal("same", context)


@pytest.mark.parametrize(
    "other_context",
    [
        pytest.param(message_context(OTHER_SESSION, "user"), id="other-session"),
        pytest.param(message_context(SESSION, "assistant"), id="other-role"),
        pytest.param(system_prompt_context(SESSION), id="system-prompt-slot"),
        pytest.param(excerpt_context(1, "rule"), id="excerpt-slot"),
    ],
)
def test_ciphertext_moved_to_another_row_is_refused(sealer: StorageSealer, other_context: bytes) -> None:
    blob = sealer.seal("secret", message_context(SESSION, "user"))
    with pytest.raises(SealingError):
        sealer.open(blob, other_context)


@pytest.mark.parametrize(
    "position", [pytest.param(0, id="version"), pytest.param(3, id="key-id"), pytest.param(-1, id="tag")]
)
def test_tampered_blob_is_refused(sealer: StorageSealer, position: int) -> None:
    context = message_context(SESSION, "user")
    blob = bytearray(sealer.seal("secret", context))
    blob[position] ^= 0x01
    with pytest.raises(SealingError):
        sealer.open(bytes(blob), context)


def test_truncated_blob_is_refused(sealer: StorageSealer) -> None:
    with pytest.raises(SealingError):
        sealer.open(b"\x01abc", message_context(SESSION, "user"))


def test_previous_key_still_opens_rows_after_rotation() -> None:
    old_key, new_key = os.urandom(32), os.urandom(32)
    context = message_context(SESSION, "assistant")
    old_blob = StorageSealer(old_key).seal("from before the rotation", context)
    rotated = StorageSealer(new_key, previous=[old_key])
    assert rotated.open(old_blob, context) == "from before the rotation"
    assert rotated.needs_reseal(old_blob)
    assert not rotated.needs_reseal(rotated.seal("new", context))


def test_a_blob_sealed_before_the_shared_keyring_still_opens_and_keeps_its_key_id() -> None:
    # Built the way sealing.py did before it used shared.keyring: its own id label, layout and AAD.
    key = os.urandom(32)
    context = message_context(SESSION, "assistant")
    old_key_id = hashlib.sha256(b"meatlizard storage key id\x00" + key).digest()[:4]
    header, nonce = b"\x01" + old_key_id, os.urandom(12)
    aad = b"meatlizard/storage/v1\x00" + header + context
    old_blob = header + nonce + AESGCM(key).encrypt(nonce, b"stored long ago", aad)

    sealer = StorageSealer.from_hex(os.urandom(32).hex(), [key.hex()])
    assert sealer.open(old_blob, context) == "stored long ago"
    assert sealer.needs_reseal(old_blob)
    assert StorageSealer(key).key_id == old_key_id
    assert StorageSealer(key).seal("new", context)[1:5] == old_key_id


def test_blob_from_a_forgotten_key_names_the_unknown_key_id() -> None:
    context = message_context(SESSION, "user")
    blob = StorageSealer(os.urandom(32)).seal("secret", context)
    with pytest.raises(UnknownStorageKey):
        StorageSealer(os.urandom(32)).open(blob, context)


def test_keys_load_from_environment_with_previous_keys() -> None:
    old_hex, new_hex = os.urandom(32).hex(), os.urandom(32).hex()
    context = system_prompt_context(SESSION)
    blob = StorageSealer.from_hex(old_hex).seal("prompt", context)
    env = {"STORAGE_ENCRYPTION_KEY": new_hex, "STORAGE_PREVIOUS_KEYS": f" {old_hex} ,"}
    assert StorageSealer.from_env(env).open(blob, context) == "prompt"


@pytest.mark.parametrize(
    "env",
    [
        pytest.param({}, id="missing"),
        pytest.param({"STORAGE_ENCRYPTION_KEY": "ab" * 31}, id="too-short"),
        pytest.param({"STORAGE_ENCRYPTION_KEY": "zz" * 32}, id="not-hex"),
        pytest.param({"STORAGE_ENCRYPTION_KEY": "00" * 32}, id="all-zero"),
        pytest.param(
            {"STORAGE_ENCRYPTION_KEY": "ab" * 32, "STORAGE_PREVIOUS_KEYS": "cd" * 31}, id="bad-previous"
        ),
    ],
)
def test_malformed_storage_key_names_the_variable_not_the_value(env: dict[str, str]) -> None:
    with pytest.raises(StorageKeyError, match="STORAGE_") as caught:
        StorageSealer.from_env(env)
    for value in env.values():
        assert value not in str(caught.value)


def test_storage_key_equal_to_the_relay_key_is_refused() -> None:
    key_hex = os.urandom(32).hex()
    env = {"STORAGE_ENCRYPTION_KEY": key_hex, "PAYLOAD_ENCRYPTION_KEY": key_hex.upper()}
    with pytest.raises(StorageKeyError, match="differ from the relay key"):
        StorageSealer.from_env(env)


def test_keys_load_from_the_validated_storage_settings() -> None:
    old_hex, new_hex = os.urandom(32).hex(), os.urandom(32).hex()
    context = message_context(SESSION, "user")
    blob = StorageSealer.from_hex(old_hex).seal("hello", context)
    settings = StorageSettings(
        storage_encryption_key=SecretStr(new_hex), storage_previous_keys=SecretStr(old_hex)
    )
    assert StorageSealer.from_settings(settings).open(blob, context) == "hello"
    with pytest.raises(StorageKeyError):
        StorageSealer.from_settings(settings, relay_key_hex=new_hex)
