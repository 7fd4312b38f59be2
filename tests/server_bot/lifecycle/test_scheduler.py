"""The scheduled purge: runs on its interval, survives a failing run, audits counts, stops on close."""

from __future__ import annotations

import asyncio
from pathlib import Path

from server_bot.db import create_engine, create_sessionmaker
from server_bot.lifecycle import PURGE_AUDIT_EVENT, PeriodicJob, retention_job, start_retention
from server_bot.lifecycle.purge import PurgeReport
from server_bot.objects import S3ObjectStore
from shared.audit import AuditLog
from shared.config import RetentionSettings
from tests.server_bot.lifecycle.conftest import World


class RecordingAudit:
    def __init__(self) -> None:
        self.records: list[tuple[str, bool, str | None]] = []

    async def record(self, event: str, *, success: bool, detail: str | None = None) -> object:
        self.records.append((event, success, detail))
        return None


async def test_a_periodic_job_repeats_survives_failures_and_stops_on_close() -> None:
    calls = 0

    async def flaky() -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("first run fails")

    job = PeriodicJob("test", 0.01, flaky)
    job.start()
    job.start()  # a second start is a no-op, not a second loop
    while job.runs < 3:
        await asyncio.sleep(0.01)
    await job.aclose()
    runs = job.runs

    await asyncio.sleep(0.05)
    assert not job.running and job.runs == runs and calls >= 3


async def test_closing_cancels_a_run_in_progress() -> None:
    started = asyncio.Event()

    async def slow() -> None:
        started.set()
        await asyncio.sleep(3600)

    job = PeriodicJob("slow", 60, slow)
    job.start()
    await started.wait()
    await asyncio.wait_for(job.aclose(), timeout=1)
    assert not job.running


async def test_the_retention_job_audits_its_counts(world: World) -> None:
    audit = RecordingAudit()
    job = retention_job(world.sessionmaker, world.store, 30, 3600, audit, first_delay_s=0)

    await job.run_once()

    assert audit.records == [(PURGE_AUDIT_EVENT, True, PurgeReport().audit_detail)]


async def test_a_failed_purge_is_audited_as_a_failure() -> None:
    audit = RecordingAudit()
    # Nothing listens on port 1: the database is unreachable, and the purge fails cleanly.
    engine = create_engine("postgresql+asyncpg://nobody@127.0.0.1:1/none")
    job = retention_job(create_sessionmaker(engine), None, 30, 3600, audit)
    try:
        await job.run_once()
    finally:
        await engine.dispose()

    assert audit.records == [(PURGE_AUDIT_EVENT, False, "purge_error")]


async def test_start_retention_sets_bucket_rules_on_s3_and_runs_the_purge(world: World) -> None:
    audit = RecordingAudit()
    settings = RetentionSettings(retention_days=45, retention_purge_interval_s=3600)

    job = await start_retention(world.sessionmaker, world.store, settings, audit)
    try:
        assert job.interval_s == 3600 and job.first_delay_s == 60.0
        await job.run_once()
    finally:
        await job.aclose()

    assert not job.running
    assert audit.records[-1][:2] == (PURGE_AUDIT_EVENT, True)
    if world.bucket is not None:
        bucket = world.bucket
        s3 = S3ObjectStore(
            bucket.endpoint_url,
            bucket.name,
            access_key_id=bucket.access_key,
            secret_access_key=bucket.secret_key,
        )
        assert await s3.expiry_rules() == {"transcripts/": 45, "backups/": 45}


async def test_the_purge_record_reaches_the_real_audit_log_file_with_counts_only(
    world: World, tmp_path: Path
) -> None:
    audit = AuditLog(tmp_path / "audit.log", sinks=[world.repo.audit_sink])
    job = retention_job(world.sessionmaker, world.store, 30, 3600, audit)

    await job.run_once()
    audit.close()

    (line,) = (tmp_path / "audit.log").read_text().splitlines()
    assert '"event":"retention_purge"' in line and '"detail":"s:0.m:0.v:0.t:0.o:0.b:0"' in line
    (event,) = await world.repo.recent_audit_events()
    assert (event.event, event.user_id, event.success) == ("retention_purge", None, True)
