"""On S3 the bucket gets its own expiry rules at start-up (SeaweedFS stores and returns them)."""

from __future__ import annotations

import pytest

from server_bot.lifecycle import apply_bucket_expiry
from server_bot.objects import S3ObjectStore
from tests.fixtures.s3 import S3Bucket

pytestmark = pytest.mark.s3


def _store(bucket: S3Bucket, name: str | None = None) -> S3ObjectStore:
    return S3ObjectStore(
        bucket.endpoint_url,
        name or bucket.name,
        bucket.region,
        access_key_id=bucket.access_key,
        secret_access_key=bucket.secret_key,
    )


async def test_start_up_sets_expiry_rules_for_transcripts_and_backups(s3_bucket: S3Bucket) -> None:
    store = _store(s3_bucket)
    assert await store.expiry_rules() == {}

    assert await apply_bucket_expiry(store, 30)

    assert await store.expiry_rules() == {"transcripts/": 30, "backups/": 30}
    # Applying again with a new policy replaces the rules rather than stacking them.
    assert await apply_bucket_expiry(store, 7)
    assert await store.expiry_rules() == {"transcripts/": 7, "backups/": 7}


async def test_a_store_that_refuses_lifecycle_rules_does_not_stop_start_up(s3_bucket: S3Bucket) -> None:
    missing_bucket = _store(s3_bucket, name="no-such-bucket-for-lifecycle")

    assert not await apply_bucket_expiry(missing_bucket, 30)
