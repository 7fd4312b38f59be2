"""The S3 object store against a real SeaweedFS: encryption at rest, private objects, short-lived links."""

from __future__ import annotations

import asyncio
import uuid
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from server_bot.objects import (
    InvalidObjectKey,
    ObjectNotFound,
    ObjectStore,
    ObjectStoreUnavailable,
    S3ObjectStore,
)
from tests.fixtures.s3 import S3Bucket

pytestmark = pytest.mark.s3

KEY = "transcripts/0b7c5d1e/transcript.md"


@pytest.fixture
def store(s3_bucket: S3Bucket) -> S3ObjectStore:
    return S3ObjectStore(
        s3_bucket.endpoint_url,
        s3_bucket.name,
        s3_bucket.region,
        access_key_id=s3_bucket.access_key,
        secret_access_key=s3_bucket.secret_key,
    )


async def _http_get(url: str) -> httpx.Response:
    async with httpx.AsyncClient() as client:
        return await client.get(url)


async def test_put_get_exists_delete_round_trip(store: S3ObjectStore) -> None:
    assert isinstance(store, ObjectStore) and store.links_are_shareable
    assert not await store.exists(KEY)
    await store.put(KEY, b"# transcript", "text/markdown")
    assert await store.exists(KEY)
    assert await store.get(KEY) == b"# transcript"
    await store.delete(KEY)
    assert not await store.exists(KEY)
    with pytest.raises(ObjectNotFound):
        await store.get(KEY)


async def test_objects_are_written_with_server_side_encryption(
    store: S3ObjectStore, s3_bucket: S3Bucket
) -> None:
    await store.put(KEY, b"secret words", "text/markdown")
    head = s3_bucket.server.client().head_object(Bucket=s3_bucket.name, Key=KEY)
    assert head["ServerSideEncryption"] == "AES256"
    assert head["ContentType"] == "text/markdown"


async def test_objects_are_private_to_unsigned_requests(store: S3ObjectStore, s3_bucket: S3Bucket) -> None:
    await store.put(KEY, b"secret words", "text/markdown")
    response = await _http_get(f"{s3_bucket.endpoint_url}/{s3_bucket.name}/{KEY}")
    assert response.status_code == 403
    assert b"secret words" not in response.content


async def test_presigned_link_opens_with_plain_http(store: S3ObjectStore) -> None:
    await store.put(KEY, b"shareable for a while", "text/markdown")
    response = await _http_get(await store.link(KEY, 60))
    assert response.status_code == 200
    assert response.content == b"shareable for a while"


async def test_link_lifetime_is_capped_at_fifteen_minutes(store: S3ObjectStore) -> None:
    await store.put(KEY, b"x", "text/plain")
    url = await store.link(KEY, 7 * 24 * 3600)
    assert parse_qs(urlparse(url).query)["X-Amz-Expires"] == ["900"]


async def test_expired_link_is_refused(store: S3ObjectStore) -> None:
    await store.put(KEY, b"short-lived", "text/plain")
    url = await store.link(KEY, 1)
    await asyncio.sleep(2.5)
    response = await _http_get(url)
    assert response.status_code == 403
    assert b"short-lived" not in response.content


def _flip_last_hex_digit(value: str) -> str:
    return value[:-1] + ("0" if value[-1] != "0" else "1")


async def test_link_with_altered_signature_is_refused(store: S3ObjectStore) -> None:
    await store.put(KEY, b"guarded", "text/plain")
    url = await store.link(KEY, 60)
    assert "X-Amz-Signature=" in url
    response = await _http_get(_flip_last_hex_digit(url))
    assert response.status_code == 403


async def test_link_reused_for_another_key_is_refused(store: S3ObjectStore) -> None:
    other = "transcripts/other/transcript.md"
    await store.put(KEY, b"allowed", "text/plain")
    await store.put(other, b"not allowed", "text/plain")
    url = await store.link(KEY, 60)
    response = await _http_get(url.replace(KEY, other))
    assert response.status_code == 403
    assert b"not allowed" not in response.content


async def test_link_for_a_missing_object_is_refused(store: S3ObjectStore) -> None:
    with pytest.raises(ObjectNotFound):
        await store.link("transcripts/none/transcript.md", 60)


async def test_unsafe_key_is_refused_before_any_request(store: S3ObjectStore) -> None:
    with pytest.raises(InvalidObjectKey):
        await store.put("../other-bucket/x", b"x", "text/plain")


async def test_wrong_credentials_are_reported_as_unavailable(s3_bucket: S3Bucket) -> None:
    wrong = S3ObjectStore(
        s3_bucket.endpoint_url,
        s3_bucket.name,
        access_key_id=s3_bucket.access_key,
        secret_access_key="not-the-secret",
    )
    with pytest.raises(ObjectStoreUnavailable):
        await wrong.put(KEY, b"x", "text/plain")


async def test_ensure_bucket_creates_a_missing_bucket_once(s3_bucket: S3Bucket) -> None:
    store = S3ObjectStore(
        s3_bucket.endpoint_url,
        f"fresh-{uuid.uuid4().hex[:12]}",
        access_key_id=s3_bucket.access_key,
        secret_access_key=s3_bucket.secret_key,
    )
    await store.ensure_bucket()
    await store.ensure_bucket()
    await store.put(KEY, b"x", "text/plain")
    assert await store.get(KEY) == b"x"
