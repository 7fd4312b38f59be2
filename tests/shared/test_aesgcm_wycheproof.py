"""The project AES-GCM layer against Project Wycheproof's AES-GCM vectors.

256-bit key + 96-bit IV cases must behave exactly as specified; every other size must be refused by
the layer before any cryptography happens.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from shared.envelope.aead import Aead
from shared.envelope.errors import InvalidKey, InvalidNonce, TamperedEnvelope

VECTORS = Path(__file__).resolve().parents[1] / "data" / "wycheproof_aes_gcm_test.json"


def _load_cases() -> list[tuple[int, int, dict[str, Any]]]:
    groups = json.loads(VECTORS.read_text())["testGroups"]
    return [(group["keySize"], group["ivSize"], case) for group in groups for case in group["tests"]]


CASES = _load_cases()


def _params(*, supported: bool, result: str | None = None) -> list[Any]:
    return [
        pytest.param(case, id=f"tc{case['tcId']}-{case['result']}")
        for key_bits, iv_bits, case in CASES
        if ((key_bits, iv_bits) == (256, 96)) == supported and result in (None, case["result"])
    ]


VALID = _params(supported=True, result="valid")
INVALID = _params(supported=True, result="invalid")
UNSUPPORTED = _params(supported=False)


def test_vector_file_has_the_expected_cases() -> None:
    assert len(CASES) == 316
    assert len(VALID) + len(INVALID) == 66
    assert len(VALID) > 0
    assert len(INVALID) > 0


@pytest.mark.parametrize("case", VALID)
def test_valid_vector_encrypts_to_expected_ciphertext_and_decrypts_back(case: dict[str, Any]) -> None:
    aead = Aead(bytes.fromhex(case["key"]))
    nonce, aad, msg = (bytes.fromhex(case[name]) for name in ("iv", "aad", "msg"))
    expected = bytes.fromhex(case["ct"] + case["tag"])

    assert aead.encrypt(nonce, msg, aad) == expected
    assert aead.decrypt(nonce, expected, aad) == msg


@pytest.mark.parametrize("case", INVALID)
def test_invalid_vector_is_rejected_as_tampered(case: dict[str, Any]) -> None:
    aead = Aead(bytes.fromhex(case["key"]))
    nonce, aad = bytes.fromhex(case["iv"]), bytes.fromhex(case["aad"])

    with pytest.raises(TamperedEnvelope, match="authentication failed"):
        aead.decrypt(nonce, bytes.fromhex(case["ct"] + case["tag"]), aad)


@pytest.mark.parametrize("case", UNSUPPORTED)
def test_other_key_or_nonce_sizes_are_refused_up_front(case: dict[str, Any]) -> None:
    key, nonce = bytes.fromhex(case["key"]), bytes.fromhex(case["iv"])
    if len(key) != 32:
        with pytest.raises(InvalidKey, match="32-byte keys only"):
            Aead(key)
        return
    aead = Aead(key)
    ciphertext = bytes.fromhex(case["ct"] + case["tag"])
    with pytest.raises(InvalidNonce, match="12-byte nonces only"):
        aead.encrypt(nonce, bytes.fromhex(case["msg"]), b"")
    with pytest.raises(InvalidNonce, match="12-byte nonces only"):
        aead.decrypt(nonce, ciphertext, bytes.fromhex(case["aad"]))


def test_truncated_ciphertext_shorter_than_a_tag_is_tampered() -> None:
    with pytest.raises(TamperedEnvelope):
        Aead(bytes(range(32))).decrypt(bytes(12), b"short", b"")


def test_aead_repr_hides_the_key() -> None:
    key = bytes(range(32))
    assert key.hex() not in repr(Aead(key))
