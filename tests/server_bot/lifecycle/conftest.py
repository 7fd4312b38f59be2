"""Fixtures for the lifecycle tests: a migrated database with a repository, and an object store.

`world` pairs embedded SQLite with the local folder store, and PostgreSQL 15 with S3 (SeaweedFS), so
each test runs once on each production-like stack without four-way parametrisation.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from server_bot.db import Repository, StorageSealer, create_engine, create_sessionmaker
from server_bot.objects import LocalFolderStore, S3ObjectStore
from server_bot.objects.base import ListableObjectStore
from tests.fixtures.postgres import PostgresServer
from tests.fixtures.s3 import S3Bucket


@dataclass
class World:
    backend: str
    url: str
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    sealer_key: bytes
    sealer: StorageSealer
    repo: Repository
    store: ListableObjectStore
    postgres: PostgresServer | None = None
    database: str | None = None
    bucket: S3Bucket | None = None

    async def object_bytes(self) -> dict[str, bytes]:
        """Every object in the store, by key: what a scan for leftovers reads."""
        return {item.key: await self.store.get(item.key) for item in await self.store.list_objects("")}


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite-local"),
        pytest.param("postgres", id="postgres-s3", marks=[pytest.mark.postgres, pytest.mark.s3]),
    ]
)
async def world(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[World]:
    sealer_key = os.urandom(32)
    sealer = StorageSealer(sealer_key)
    postgres: PostgresServer | None = None
    database: str | None = None
    bucket: S3Bucket | None = None
    store: ListableObjectStore
    if request.param == "sqlite":
        path = tmp_path / "bot.db"
        shutil.copyfile(request.getfixturevalue("sqlite_migrated_template"), path)
        url = f"sqlite+aiosqlite:///{path}"
        store = LocalFolderStore(tmp_path / "objects")
    else:
        postgres = request.getfixturevalue("postgres_server")
        assert postgres is not None
        database = postgres.create_database(template=request.getfixturevalue("postgres_migrated_template"))
        url = postgres.url(database)
        bucket = request.getfixturevalue("s3_bucket")
        assert bucket is not None
        store = S3ObjectStore(
            bucket.endpoint_url,
            bucket.name,
            bucket.region,
            access_key_id=bucket.access_key,
            secret_access_key=bucket.secret_key,
        )
    engine = create_engine(url)
    sessionmaker = create_sessionmaker(engine)
    world = World(
        request.param, url, engine, sessionmaker, sealer_key, sealer, Repository(sessionmaker, sealer), store,
        postgres, database, bucket,
    )  # fmt: skip
    try:
        yield world
    finally:
        await engine.dispose()
        if postgres is not None and database is not None:
            postgres.drop_database(database)
