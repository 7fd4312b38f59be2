"""Master keys, key ids and the cached per-stream subkeys."""

from __future__ import annotations

import hashlib
import uuid

import pytest

from shared.envelope import Direction, InvalidKey, KeyRing, generate_key_hex, key_id_of
from shared.envelope.subkeys import SubkeyCache, derive_subkey

KEY_HEX = bytes(range(32)).hex()
OTHER_HEX = bytes(range(32, 64)).hex()
SESSION = uuid.UUID("12345678-9abc-4def-8123-456789abcdef").bytes


def test_generated_keys_are_64_hex_characters_and_distinct() -> None:
    keys = {generate_key_hex() for _ in range(20)}
    assert len(keys) == 20
    for key in keys:
        assert len(key) == 64
        assert KeyRing.from_hex(key).primary_key_id == key_id_of(bytes.fromhex(key))


def test_key_id_is_the_documented_hash_prefix() -> None:
    key = bytes.fromhex(KEY_HEX)
    assert key_id_of(key) == hashlib.sha256(b"meatlizard/key-id/v1" + key).digest()[:4]


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(KEY_HEX[:-1], id="63-chars"),
        pytest.param(KEY_HEX + "a", id="65-chars"),
        pytest.param(KEY_HEX[:-1] + "g", id="non-hex"),
        pytest.param(KEY_HEX[:32] + " " + KEY_HEX[33:], id="inner-space"),
        pytest.param("", id="empty"),
        pytest.param("0" * 64, id="all-zero"),
    ],
)
def test_malformed_primary_key_is_refused_without_echoing_it(text: str) -> None:
    with pytest.raises(InvalidKey) as caught:
        KeyRing.from_hex(text)
    assert isinstance(caught.value, ValueError)
    assert "primary key" in str(caught.value)
    if text:
        assert text not in str(caught.value)
        assert text[:16] not in str(caught.value)


def test_malformed_previous_key_is_named_by_position_without_echoing_it() -> None:
    bad = OTHER_HEX[:-2]
    with pytest.raises(InvalidKey, match="previous key #2") as caught:
        KeyRing.from_hex(KEY_HEX, [OTHER_HEX, bad])
    assert bad[:16] not in str(caught.value)


def test_a_single_string_of_previous_keys_is_refused() -> None:
    with pytest.raises(InvalidKey):
        KeyRing.from_hex(KEY_HEX, OTHER_HEX)


def test_surrounding_whitespace_and_uppercase_hex_are_accepted() -> None:
    ring = KeyRing.from_hex(f"  {KEY_HEX.upper()}\n")
    assert ring.primary_key_id == key_id_of(bytes.fromhex(KEY_HEX))


def test_ring_lists_primary_first_and_ignores_a_repeated_previous_key() -> None:
    ring = KeyRing.from_hex(KEY_HEX, [OTHER_HEX, KEY_HEX, OTHER_HEX])
    assert ring.key_ids == (key_id_of(bytes.fromhex(KEY_HEX)), key_id_of(bytes.fromhex(OTHER_HEX)))


def test_ring_repr_shows_ids_not_keys() -> None:
    text = repr(KeyRing.from_hex(KEY_HEX, [OTHER_HEX]))
    assert KEY_HEX not in text
    assert OTHER_HEX not in text
    assert key_id_of(bytes.fromhex(OTHER_HEX)).hex() in text


def test_raw_key_of_the_wrong_length_is_refused() -> None:
    with pytest.raises(InvalidKey, match="32 bytes"):
        KeyRing(bytes(16))


def test_subkeys_differ_per_session_direction_and_master() -> None:
    master, other = bytes.fromhex(KEY_HEX), bytes.fromhex(OTHER_HEX)
    subkeys = {
        derive_subkey(master, 1, 1, SESSION),
        derive_subkey(master, 1, 2, SESSION),
        derive_subkey(master, 1, 1, bytes(16)),
        derive_subkey(other, 1, 1, SESSION),
        derive_subkey(master, 2, 1, SESSION),
    }
    assert len(subkeys) == 5
    assert master not in subkeys


def test_stream_cipher_is_derived_once_and_then_reused() -> None:
    ring = KeyRing.from_hex(KEY_HEX)
    first = ring.stream_cipher(ring.primary_key_id, Direction.SERVER_TO_CLIENT, SESSION)
    again = ring.stream_cipher(ring.primary_key_id, Direction.SERVER_TO_CLIENT, SESSION)
    reverse = ring.stream_cipher(ring.primary_key_id, Direction.CLIENT_TO_SERVER, SESSION)

    assert again[0] is first[0]
    assert reverse[0] is not first[0]
    assert first[1] == uuid.UUID(bytes=SESSION)


def test_subkey_cache_is_bounded_least_recently_used() -> None:
    master = bytes.fromhex(KEY_HEX)
    cache = SubkeyCache(version=1, max_entries=2)
    sessions = [uuid.uuid4().bytes for _ in range(3)]
    kept = cache.get(master, b"id00", 1, sessions[0])
    cache.get(master, b"id00", 1, sessions[1])
    cache.get(master, b"id00", 1, sessions[0])  # touch: sessions[1] is now the oldest
    cache.get(master, b"id00", 1, sessions[2])

    assert len(cache) == 2
    assert cache.get(master, b"id00", 1, sessions[0]) is kept
