"""The key-ring primitive: labelled ids, primary first, and errors that name the key but never show it."""

from __future__ import annotations

import hashlib
import os

import pytest

from shared.keyring import KeyringError, KeysById, derive_key_id

LABEL = b"test label\x00"
KEY_A, KEY_B = os.urandom(32), os.urandom(32)


def test_a_key_id_is_the_labelled_sha256_prefix_and_the_label_changes_it() -> None:
    assert derive_key_id(LABEL, KEY_A) == hashlib.sha256(LABEL + KEY_A).digest()[:4]
    assert derive_key_id(b"other", KEY_A) != derive_key_id(LABEL, KEY_A)


def test_ring_holds_the_primary_first_then_the_previous_keys_by_id() -> None:
    ring = KeysById(LABEL, KEY_A, [KEY_B, KEY_A])
    assert ring.primary_id == derive_key_id(LABEL, KEY_A) and ring.primary == KEY_A
    assert ring.key_ids == (derive_key_id(LABEL, KEY_A), derive_key_id(LABEL, KEY_B))
    assert ring.get(derive_key_id(LABEL, KEY_B)) == KEY_B
    assert ring.get(b"\x00\x00\x00\x00") is None
    assert KEY_A.hex() not in repr(ring) and KEY_B.hex() not in repr(ring)


def test_from_hex_matches_from_bytes() -> None:
    ring = KeysById.from_hex(LABEL, f"  {KEY_A.hex().upper()} ", [KEY_B.hex()])
    assert list(ring.items()) == list(KeysById(LABEL, KEY_A, [KEY_B]).items())


@pytest.mark.parametrize(
    ("primary", "previous", "named"),
    [
        pytest.param("ab" * 31, [], "SECRET_KEY", id="short-primary"),
        pytest.param("zz" * 32, [], "SECRET_KEY", id="non-hex-primary"),
        pytest.param("00" * 32, [], "SECRET_KEY", id="zero-primary"),
        pytest.param(KEY_A.hex(), [KEY_B.hex(), "cd" * 33], "OLD_KEYS entry #2", id="long-previous"),
        pytest.param(KEY_A.hex(), ["00" * 32], "OLD_KEYS entry #1", id="zero-previous"),
    ],
)
def test_a_bad_key_is_named_and_its_text_never_echoed(primary: str, previous: list[str], named: str) -> None:
    with pytest.raises(KeyringError, match=named) as caught:
        KeysById.from_hex(LABEL, primary, previous, primary_name="SECRET_KEY", previous_name="OLD_KEYS entry")
    for text in [primary, *previous]:
        assert text not in str(caught.value)


def test_one_string_of_previous_keys_is_refused_not_split_into_characters() -> None:
    with pytest.raises(KeyringError, match="sequence"):
        KeysById.from_hex(LABEL, KEY_A.hex(), KEY_B.hex())


def test_a_key_of_the_wrong_size_is_refused() -> None:
    with pytest.raises(KeyringError, match="32 bytes"):
        KeysById(LABEL, KEY_A[:16])
