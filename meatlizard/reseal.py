"""`meatlizard reseal`: re-encrypt every stored row under the current STORAGE_ENCRYPTION_KEY.

Rotation, in order (docs/security.md): generate a key (`meatlizard keygen`); set it as
STORAGE_ENCRYPTION_KEY and move the old one to STORAGE_PREVIOUS_KEYS; restart the server-bot (it now
writes under the new key and still reads the old); run `meatlizard reseal` with the same environment
(safe while the bot runs; Ctrl-C and run again to resume); `meatlizard reseal --check` says 0 rows left;
then remove the old key from STORAGE_PREVIOUS_KEYS and restart.

This is the CLI, so it prints: progress to stderr, the result to stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

from server_bot.db import DatabaseError, Repository, StorageSealer, create_engine, create_sessionmaker
from server_bot.lifecycle import LifecycleError, ResealProgress, reseal_rows
from server_bot.lifecycle.reseal import count_stale
from shared.audit import AuditLog
from shared.config import ConfigError, StorageSettings, load

RESEAL_AUDIT_EVENT = "storage_resealed"


def run(args: argparse.Namespace) -> int:
    """The `reseal` subcommand (options `--batch`, `--check`, parsed by `meatlizard.cli`)."""
    if args.batch < 1:
        print("meatlizard reseal: --batch must be at least 1", file=sys.stderr)
        return 2
    try:
        storage = load(StorageSettings)
        sealer = StorageSealer.from_settings(storage, os.environ.get("PAYLOAD_ENCRYPTION_KEY"))
    except (ConfigError, DatabaseError) as exc:
        print(f"meatlizard reseal: {exc}", file=sys.stderr)
        return 2
    try:
        return asyncio.run(_run(storage, sealer, args.batch, args.check))
    except (LifecycleError, DatabaseError) as exc:
        print(f"meatlizard reseal: {exc}", file=sys.stderr)
        return 1


async def _run(storage: StorageSettings, sealer: StorageSealer, batch: int, check: bool) -> int:
    engine = create_engine(storage.database_url)
    audit: AuditLog | None = None
    try:
        sessionmaker = create_sessionmaker(engine)
        if not check:
            # The same audit file and table as the bot: the log shows when a reseal ran and how much it did.
            audit = AuditLog(storage.audit_log_file, sinks=[Repository(sessionmaker, sealer).audit_sink])
            report = await reseal_rows(sessionmaker, sealer, batch=batch, progress=_show)
            print(f"re-sealed {report.resealed} of {report.scanned} sealed rows", file=sys.stderr)
            detail = f"resealed:{report.resealed}.scanned:{report.scanned}"
            await audit.record(RESEAL_AUDIT_EVENT, success=True, detail=detail)
        stale = await count_stale(sessionmaker, sealer)
    finally:
        if audit is not None:
            audit.close()
        await engine.dispose()
    print(f"rows still under a previous key: {stale}")
    if stale == 0:
        print("STORAGE_PREVIOUS_KEYS can now be emptied (keep the old key offline for older backups).")
    return 0 if stale == 0 else 1


def _show(progress: ResealProgress) -> None:
    print(
        f"  {progress.column}: {progress.scanned}/{progress.total} scanned, {progress.resealed} re-sealed",
        file=sys.stderr,
    )
