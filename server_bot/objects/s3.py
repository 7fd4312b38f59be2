"""Production object store: a private S3 bucket (AWS, SeaweedFS, MinIO...) through boto3.

Every object is written with server-side encryption (`ServerSideEncryption="AES256"`), the bucket is
never made public, and users only ever get pre-signed GET links that expire within `MAX_LINK_SECONDS`.
boto3 is blocking, so each call runs in a worker thread; the client itself is thread-safe.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from datetime import UTC
from typing import TYPE_CHECKING, Final, Literal

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from server_bot.objects.base import MAX_LINK_SECONDS, StoredObject, clamp_link_seconds, validate_key
from server_bot.objects.errors import ObjectNotFound, ObjectStoreError, ObjectStoreUnavailable
from shared.log import get_logger

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client

log = get_logger(__name__)

SSE_ALGORITHM: Final[Literal["AES256"]] = "AES256"
_NOT_FOUND_CODES = frozenset({"404", "NoSuchKey", "NotFound"})


class S3ObjectStore:
    """Objects in one private bucket. Credentials: explicit arguments, else boto3's usual chain
    (`AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` in the environment)."""

    links_are_shareable = True

    def __init__(
        self,
        endpoint_url: str | None,
        bucket: str,
        region: str = "us-east-1",
        *,
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
    ) -> None:
        self._bucket = bucket
        config = Config(
            signature_version="s3v4",
            # Path-style addressing works with every S3 clone and with bucket names containing dots.
            s3={"addressing_style": "path"},
            connect_timeout=5,
            read_timeout=30,
            retries={"max_attempts": 3, "mode": "standard"},
        )
        self._client: S3Client = boto3.client(
            "s3",
            endpoint_url=endpoint_url,
            region_name=region,
            aws_access_key_id=access_key_id,
            aws_secret_access_key=secret_access_key,
            config=config,
        )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> S3ObjectStore:
        """`S3_ENDPOINT_URL` (optional for AWS), `S3_BUCKET`, `S3_REGION`; credentials as in boto3."""
        env = os.environ if environ is None else environ
        bucket = env.get("S3_BUCKET")
        if not bucket:
            raise ObjectStoreError("S3_BUCKET is not set")
        return cls(
            env.get("S3_ENDPOINT_URL") or None,
            bucket,
            env.get("S3_REGION", "us-east-1"),
            access_key_id=env.get("AWS_ACCESS_KEY_ID"),
            secret_access_key=env.get("AWS_SECRET_ACCESS_KEY"),
        )

    @property
    def bucket(self) -> str:
        return self._bucket

    async def ensure_bucket(self) -> None:
        """Create the (private) bucket if it is missing — for the demo and tests; production pre-creates."""
        try:
            await asyncio.to_thread(self._client.head_bucket, Bucket=self._bucket)
            return
        except ClientError as exc:
            if _error_code(exc) not in _NOT_FOUND_CODES | {"NoSuchBucket"}:
                raise _unavailable("check bucket", exc) from exc
        except BotoCoreError as exc:
            raise _unavailable("check bucket", exc) from exc
        try:
            await asyncio.to_thread(self._client.create_bucket, Bucket=self._bucket)
        except (ClientError, BotoCoreError) as exc:
            raise _unavailable("create bucket", exc) from exc
        log.info("created object store bucket %s", self._bucket)

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        validate_key(key)
        try:
            await asyncio.to_thread(
                self._client.put_object,
                Bucket=self._bucket,
                Key=key,
                Body=data,
                ContentType=content_type,
                ServerSideEncryption=SSE_ALGORITHM,
            )
        except (ClientError, BotoCoreError) as exc:
            raise _unavailable(f"put {key!r}", exc) from exc

    async def get(self, key: str) -> bytes:
        validate_key(key)
        try:
            response = await asyncio.to_thread(self._client.get_object, Bucket=self._bucket, Key=key)
            return await asyncio.to_thread(response["Body"].read)
        except ClientError as exc:
            if _error_code(exc) in _NOT_FOUND_CODES:
                raise ObjectNotFound(key) from None
            raise _unavailable(f"get {key!r}", exc) from exc
        except BotoCoreError as exc:
            raise _unavailable(f"get {key!r}", exc) from exc

    async def exists(self, key: str) -> bool:
        validate_key(key)
        try:
            await asyncio.to_thread(self._client.head_object, Bucket=self._bucket, Key=key)
        except ClientError as exc:
            if _error_code(exc) in _NOT_FOUND_CODES:
                return False
            raise _unavailable(f"head {key!r}", exc) from exc
        except BotoCoreError as exc:
            raise _unavailable(f"head {key!r}", exc) from exc
        return True

    async def delete(self, key: str) -> None:
        validate_key(key)
        try:
            await asyncio.to_thread(self._client.delete_object, Bucket=self._bucket, Key=key)
        except (ClientError, BotoCoreError) as exc:
            raise _unavailable(f"delete {key!r}", exc) from exc

    async def list_objects(self, prefix: str) -> list[StoredObject]:
        """Objects under `prefix`, following ListObjectsV2 pages."""
        try:
            return await asyncio.to_thread(self._list, prefix)
        except (ClientError, BotoCoreError) as exc:
            raise _unavailable(f"list {prefix!r}", exc) from exc

    def _list(self, prefix: str) -> list[StoredObject]:
        found = []
        paginator = self._client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self._bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                found.append(StoredObject(item["Key"], item["LastModified"].astimezone(UTC)))
        return found

    async def set_expiry_rules(self, days_by_prefix: Mapping[str, int]) -> None:
        """Replace the bucket's lifecycle rules: objects under each prefix expire after that many days.

        A second line of defence behind the server-bot's own purge (which also works on stores without
        lifecycle support). Raises `ObjectStoreUnavailable` when the server refuses or lacks the feature.
        """
        rules = [
            {
                "ID": "meatlizard-expire-" + prefix.strip("/").replace("/", "-"),
                "Filter": {"Prefix": prefix},
                "Status": "Enabled",
                "Expiration": {"Days": days},
            }
            for prefix, days in sorted(days_by_prefix.items())
        ]
        try:
            await asyncio.to_thread(
                self._client.put_bucket_lifecycle_configuration,
                Bucket=self._bucket,
                LifecycleConfiguration={"Rules": rules},  # type: ignore[typeddict-item]
            )
        except (ClientError, BotoCoreError) as exc:
            raise _unavailable("set lifecycle rules", exc) from exc

    async def expiry_rules(self) -> dict[str, int]:
        """The bucket's expiry rules as {prefix: days} (empty when none are set)."""
        try:
            answer = await asyncio.to_thread(
                self._client.get_bucket_lifecycle_configuration, Bucket=self._bucket
            )
        except ClientError as exc:
            if _error_code(exc) == "NoSuchLifecycleConfiguration":
                return {}
            raise _unavailable("read lifecycle rules", exc) from exc
        except BotoCoreError as exc:
            raise _unavailable("read lifecycle rules", exc) from exc
        rules: dict[str, int] = {}
        for rule in answer.get("Rules", []):
            prefix = rule.get("Filter", {}).get("Prefix", rule.get("Prefix", ""))
            days = rule.get("Expiration", {}).get("Days")
            if days is not None:
                rules[str(prefix)] = int(days)
        return rules

    async def link(self, key: str, expires_s: int = MAX_LINK_SECONDS) -> str:
        """A pre-signed GET URL; lifetimes above `MAX_LINK_SECONDS` are clamped, not refused."""
        if not await self.exists(key):
            raise ObjectNotFound(key)
        try:
            return self._client.generate_presigned_url(
                "get_object",
                Params={"Bucket": self._bucket, "Key": key},
                ExpiresIn=clamp_link_seconds(expires_s),
            )
        except (ClientError, BotoCoreError) as exc:
            raise _unavailable(f"sign {key!r}", exc) from exc


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _unavailable(action: str, exc: Exception) -> ObjectStoreUnavailable:
    detail = _error_code(exc) if isinstance(exc, ClientError) else exc.__class__.__name__
    return ObjectStoreUnavailable(f"object store could not {action}: {detail}")
