"""The doctor's S3 and Redis lines against the real servers (and a port where nothing listens)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from meatlizard.doctor import Status
from meatlizard.doctor.storage import check_redis, check_s3
from shared.config import StorageSettings, load
from tests.fixtures.s3 import S3Bucket


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.redis
async def test_redis_that_answers_is_green_and_one_that_does_not_is_red(
    deployment: Path, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REDIS_URL", redis_url)
    good = await check_redis(load(StorageSettings))
    assert good is not None and good.status is Status.OK
    monkeypatch.setenv("REDIS_URL", f"redis://127.0.0.1:{closed_port()}/0")
    bad = await check_redis(load(StorageSettings))
    assert bad is not None and bad.status is Status.FAIL
    assert "REDIS_URL" in bad.fix


@pytest.mark.s3
async def test_s3_bucket_that_exists_is_green_and_a_wrong_bucket_is_red(
    deployment: Path, s3_bucket: S3Bucket, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("S3_ENDPOINT_URL", s3_bucket.endpoint_url)
    monkeypatch.setenv("S3_BUCKET", s3_bucket.name)
    monkeypatch.setenv("S3_REGION", s3_bucket.region)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", s3_bucket.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", s3_bucket.secret_key)
    good = await check_s3(load(StorageSettings))
    assert good is not None and good.status is Status.OK, good
    monkeypatch.setenv("S3_BUCKET", s3_bucket.name + "-missing")
    bad = await check_s3(load(StorageSettings))
    assert bad is not None and bad.status is Status.FAIL
    assert s3_bucket.secret_key not in bad.detail


async def test_stores_that_are_not_configured_get_no_line(deployment: Path) -> None:
    settings = load(StorageSettings)
    assert await check_redis(settings) is None
    assert await check_s3(settings) is None
