"""The worked example of relay protocol v2 in docs/protocol.md §9, recomputed with raw primitives."""

from __future__ import annotations

import struct
import uuid

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from shared import protocol
from shared.envelope import KeyRing, derive_host_key, key_id_of, to_discord
from shared.envelope.codec import seal_envelope
from shared.relay_link import host_stream

MASTER = bytes(range(32))
HOST_ID = 1234567890123456789
CHANNEL_ID = 1300000000000000777
SESSION = uuid.UUID("0b5e7a1c-2d3f-4e5a-9b6c-7d8e9fa0b1c2")
SEQ = 1_700_000_000_000_000
NONCE = bytes.fromhex("a0a1a2a3a4a5a6a7a8a9aaab")

DOC_HOST_KEY = "71ca931f6d0435f5ba767360cb9a9e888d294857c837048aa40cde13c2aba948"
DOC_KEY_ID = "1bdf62f0"
DOC_STREAM = "120a871cc0020309112210f47de98115"
DOC_PAYLOAD = (
    b'{"items":[{"session_id":"0b5e7a1c-2d3f-4e5a-9b6c-7d8e9fa0b1c2","kind":17,'
    b'"payload":{"request_id":"r1","offset":0,"text":"hi"}}]}'
)
DOC_TEXT = (
    "ML1.TUwBAh8b32LwEgqHHMACAwkRIhD0femBFQAGCiQYHkAAoKGio6SlpqeoqaqrXlGqiS9YO4YVyxp1pkitj73nVeufmvKvJmvpCMc"
    "d7ICe0QtbxbHCDYHtIWAe2cQDRjvtPLjsE8dyLWH2t0W6xg4pXSqWrJRHY5KeAYA4OMR_s9YOQzyaWfoEuhKecAA5iG9LTqVbXNBHCa"
    "yzfwU_ySrEMP-xHGeEBIKYopr8Ujhs-mSj66h5xkGDejcnKGmw"
)


def _hkdf(key: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(key)


def test_documented_host_key_and_batch_envelope_are_reproduced_by_independent_primitives() -> None:
    host_key = _hkdf(MASTER, b"meatlizard/host-key/v1" + HOST_ID.to_bytes(8, "big"))
    assert host_key.hex() == DOC_HOST_KEY == derive_host_key(MASTER, HOST_ID).hex()
    assert key_id_of(host_key).hex() == DOC_KEY_ID
    stream = host_stream(HOST_ID, CHANNEL_ID)
    assert (
        stream.bytes.hex()
        == DOC_STREAM
        == CHANNEL_ID.to_bytes(8, "big").hex() + HOST_ID.to_bytes(8, "big").hex()
    )

    payload = protocol.encode_batch(
        [protocol.batch_item(SESSION, protocol.Delta(request_id="r1", offset=0, text="hi"))]
    )
    assert payload == DOC_PAYLOAD
    header = struct.pack(
        ">2sBBB4s16sQ", b"ML", 1, 2, protocol.Kind.CLIENT_BATCH, key_id_of(host_key), stream.bytes, SEQ
    )
    subkey = _hkdf(host_key, b"meatlizard/envelope/subkey" + bytes([1, 2]) + stream.bytes)
    expected = header + NONCE + AESGCM(subkey).encrypt(NONCE, payload, header)

    sealed = seal_envelope(
        KeyRing(host_key),
        direction=2,  # type: ignore[arg-type]
        session_id=stream,
        kind=protocol.Kind.CLIENT_BATCH,
        seq=SEQ,
        payload=payload,
        nonce=NONCE,
    )
    assert sealed == expected
    assert to_discord(sealed).content == DOC_TEXT
