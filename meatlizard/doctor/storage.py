"""The server-bot's stores: the database (reachable, at the newest migration), S3 and Redis."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy.engine import make_url

from meatlizard.doctor.result import Check, fail, ok
from server_bot.db.engine import is_sqlite
from server_bot.db.migrate import current_revision, head_revision
from shared.config import StorageSettings


async def check_database(settings: StorageSettings) -> Check:
    url = settings.database_url
    name = "database"
    backend = url.split(":", 1)[0]
    if is_sqlite(url):
        # Checking must not create the file (connecting to SQLite would).
        path = Path(make_url(url).database or "")
        if not await asyncio.to_thread(path.exists):
            return fail(
                name,
                f"SQLite file {path} does not exist yet",
                "start the server-bot once (it migrates at start-up) or run `alembic upgrade head`",
            )
    try:
        async with asyncio.timeout(10):
            current = await current_revision(url)
    except Exception as exc:  # drivers raise many unrelated types; the class name is what helps
        return fail(
            name,
            f"cannot connect ({backend}: {exc.__class__.__name__})",
            "check DATABASE_URL and that the database runs",
        )
    head = head_revision()
    if current != head:
        return fail(
            name,
            f"reachable ({backend}) but at migration {current or 'none'}, not the newest {head}",
            "start the server-bot (it migrates at start-up) or run `alembic upgrade head`",
        )
    return ok(name, f"reachable ({backend}), at the newest migration {head}")


async def check_s3(settings: StorageSettings) -> Check | None:
    if not (settings.s3_endpoint_url and settings.s3_bucket):
        return None
    bucket = settings.s3_bucket

    def head() -> None:
        import boto3  # noqa: PLC0415 — only when S3 is configured

        client = boto3.client("s3", endpoint_url=settings.s3_endpoint_url, region_name=settings.s3_region)
        client.head_bucket(Bucket=bucket)

    try:
        async with asyncio.timeout(15):
            await asyncio.to_thread(head)
    except Exception as exc:  # botocore's errors are many; name the class, never credentials
        return fail(
            "S3",
            f"bucket {bucket} at {settings.s3_endpoint_url} not usable ({exc.__class__.__name__})",
            "check S3_ENDPOINT_URL, S3_BUCKET and AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY",
        )
    return ok("S3", f"bucket {bucket} reachable at {settings.s3_endpoint_url}")


async def check_redis(settings: StorageSettings) -> Check | None:
    if not settings.redis_url:
        return None
    from redis.asyncio import Redis  # noqa: PLC0415 — only when Redis is configured

    client = Redis.from_url(settings.redis_url)
    try:
        async with asyncio.timeout(5):
            await client.ping()
    except Exception as exc:  # connection, auth and TLS errors alike
        return fail(
            "Redis", f"no answer to PING ({exc.__class__.__name__})", "check REDIS_URL and that redis runs"
        )
    finally:
        await client.aclose()
    return ok("Redis", "answers PING")
