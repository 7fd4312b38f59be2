"""The project AES-GCM layer: AES-256 with 96-bit nonces only, failures raised as project errors.

`cryptography`'s AESGCM also accepts 128/192-bit keys and nonces of 8..128 bytes. Long or short nonces
are GHASH-compressed, which is where GCM implementations have historically gone wrong (see Wycheproof's
LongIv/CounterWrap notes), and shorter keys are weaker than the protocol promises, so this layer refuses
every other size up front instead of passing it through.
"""

from __future__ import annotations

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from shared.envelope.errors import InvalidKey, InvalidNonce, TamperedEnvelope

KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16

Buffer = bytes | bytearray | memoryview


class Aead:
    """AES-256-GCM under one key. Build once and reuse: construction sets up the cipher context."""

    __slots__ = ("_aesgcm",)

    def __init__(self, key: bytes) -> None:
        if not isinstance(key, bytes) or len(key) != KEY_BYTES:
            size = len(key) if isinstance(key, bytes) else "non-bytes"
            raise InvalidKey(f"the AES-GCM layer takes {KEY_BYTES}-byte keys only (got {size})")
        self._aesgcm = AESGCM(key)

    def __repr__(self) -> str:
        return "Aead(<AES-256-GCM key hidden>)"

    def encrypt(self, nonce: Buffer, plaintext: Buffer, aad: Buffer) -> bytes:
        """Return ciphertext || 16-byte tag."""
        _check_nonce(nonce)
        return self._aesgcm.encrypt(nonce, plaintext, aad)

    def decrypt(self, nonce: Buffer, ciphertext_and_tag: Buffer, aad: Buffer) -> bytes:
        """Return the plaintext, or raise `TamperedEnvelope` if authentication fails."""
        _check_nonce(nonce)
        try:
            return self._aesgcm.decrypt(nonce, ciphertext_and_tag, aad)
        except InvalidTag:
            raise TamperedEnvelope(
                "authentication failed: the envelope was altered or the key is wrong"
            ) from None


def _check_nonce(nonce: Buffer) -> None:
    if len(nonce) != NONCE_BYTES:
        raise InvalidNonce(f"the AES-GCM layer takes {NONCE_BYTES}-byte nonces only (got {len(nonce)})")
