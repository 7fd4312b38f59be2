"""Transcript downloads on S3 (SeaweedFS): a redirect to a pre-signed link that lives at most 15 minutes."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from server_bot.objects import ObjectStore, S3ObjectStore
from tests.fixtures.s3 import S3Bucket
from tests.web.conftest import Stack, sign_in

pytestmark = pytest.mark.s3


@pytest.fixture
def objects(s3_bucket: S3Bucket) -> ObjectStore:
    return S3ObjectStore(
        s3_bucket.endpoint_url,
        s3_bucket.name,
        s3_bucket.region,
        access_key_id=s3_bucket.access_key,
        secret_access_key=s3_bucket.secret_key,
    )


async def test_a_transcript_on_s3_is_a_redirect_to_a_short_lived_presigned_link(stack: Stack) -> None:
    alice = await sign_in(stack, "alice")
    sid = (await alice.post("/api/sessions", json={})).json()["id"]
    await alice.post(f"/api/sessions/{sid}/messages", json={"text": "to the bucket"})
    await alice.post(f"/api/sessions/{sid}/end", json={})
    for fmt, expected in (("md", "to the bucket"), ("json", '"to the bucket"')):
        answer = await alice.get(f"/api/transcripts/{sid}.{fmt}")
        assert answer.status_code == 303
        link = answer.headers["location"]
        assert int(parse_qs(urlparse(link).query)["X-Amz-Expires"][0]) <= 900
        async with httpx.AsyncClient() as anyone:
            assert expected in (await anyone.get(link)).text
    bob = await sign_in(stack, "bob")
    assert (await bob.get(f"/api/transcripts/{sid}.md")).status_code == 404
    await alice.aclose()
    await bob.aclose()
