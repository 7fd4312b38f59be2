"""`/ai-admin backup`: the database as a compressed dump in the object store, and missing transcripts.

* SQLite: a consistent copy through SQLite's online backup API (safe while the bot writes; WAL
  included), gzip-compressed: ``backups/database/meatlizard-<UTC time>.sqlite3.gz``.
* PostgreSQL: ``pg_dump --format=custom`` (compressed by pg_dump itself):
  ``backups/database/meatlizard-<UTC time>.pgdump``. The password travels in ``PGPASSWORD``, never on the
  command line where other users of the host could read it in the process list.

Conversation text is sealed at rest (`server_bot.db.sealing`), so a dump holds ciphertext only: restoring
it needs the same STORAGE_ENCRYPTION_KEY. `restore_command` is the documented way back (docs/admin.md).
"""

from __future__ import annotations

import asyncio
import gzip
import os
import sqlite3
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import URL, make_url

from server_bot import transcripts
from server_bot.db.repository import Repository
from server_bot.objects import ObjectStore
from shared.log import get_logger

log = get_logger(__name__)

BACKUP_PREFIX = "backups/database"


class BackupError(Exception):
    """A backup could not be taken (unsupported database, pg_dump failed); the message is safe to show."""


@dataclass(frozen=True, slots=True)
class DatabaseBackup:
    key: str
    size_bytes: int
    backend: str

    @property
    def restore_command(self) -> str:
        """How to put this backup back, with the bot stopped (after fetching the object to the host)."""
        name = self.key.rsplit("/", 1)[-1]
        if self.backend == "sqlite":
            return f"gunzip -c {name} > var/meatlizard.db"
        return f'pg_restore --clean --if-exists --no-owner --dbname "$PG_URL" {name}'


async def backup_database(
    database_url: str, store: ObjectStore, *, pg_dump: str = "pg_dump", now: datetime | None = None
) -> DatabaseBackup:
    """Dump the database at `database_url` into `store`; returns where it went."""
    url = make_url(database_url)
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    backend = url.get_backend_name()
    if backend == "sqlite":
        data = await asyncio.to_thread(sqlite_snapshot, _sqlite_path(url))
        key = f"{BACKUP_PREFIX}/meatlizard-{stamp}.sqlite3.gz"
        content_type = "application/gzip"
    elif backend == "postgresql":
        data = await postgres_dump(url, pg_dump)
        key = f"{BACKUP_PREFIX}/meatlizard-{stamp}.pgdump"
        content_type = "application/octet-stream"
    else:
        raise BackupError(f"backups of a {backend} database are not supported")
    await store.put(key, data, content_type)
    log.info("database backup stored as %s (%d bytes)", key, len(data))
    return DatabaseBackup(key, len(data), backend)


def sqlite_snapshot(path: Path) -> bytes:
    """A gzip-compressed, consistent copy of the SQLite database at `path` (blocking; run it in a thread)."""
    if not path.is_file():
        raise BackupError("the SQLite database file does not exist")
    with tempfile.TemporaryDirectory(prefix="meatlizard-backup-") as folder:
        copy_path = Path(folder) / "copy.db"
        # A read-write connection: a read-only one cannot join a WAL database whose -shm file is missing.
        source = sqlite3.connect(path)
        try:
            copy = sqlite3.connect(copy_path)
            try:
                source.backup(copy)
            finally:
                copy.close()
        finally:
            source.close()
        return gzip.compress(copy_path.read_bytes(), compresslevel=6)


async def postgres_dump(url: URL, pg_dump: str) -> bytes:
    """`pg_dump --format=custom` of the database at `url`."""
    args = [pg_dump, "--format=custom", "--no-owner", "--no-password"]
    if url.host:
        args += ["--host", url.host]
    if url.port:
        args += ["--port", str(url.port)]
    if url.username:
        args += ["--username", url.username]
    args += ["--dbname", url.database or "postgres"]
    env = {**os.environ, "PGCONNECT_TIMEOUT": "10"}
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    try:
        process = await asyncio.create_subprocess_exec(
            *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env
        )
    except OSError as exc:
        raise BackupError(f"cannot run {pg_dump}: {exc.strerror}") from None
    out, err = await process.communicate()
    if process.returncode != 0:
        # pg_dump's messages name hosts and users, not passwords; keep them out of the admin's reply anyway.
        log.warning(
            "pg_dump failed with exit code %s: %s", process.returncode, err.decode(errors="replace")[-500:]
        )
        raise BackupError(f"pg_dump failed with exit code {process.returncode}; see the server-bot log")
    return out


async def backup_transcripts(repo: Repository, store: ObjectStore, batch: int = 20) -> int:
    """Save a transcript for every ended session that lacks its final one; returns how many were saved."""
    saved = 0
    while True:
        done = await transcripts.save_pending_transcripts(repo, store, limit=batch)
        saved += done
        if done < batch:
            return saved


def _sqlite_path(url: URL) -> Path:
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        raise BackupError("only a file-backed SQLite database can be backed up")
    return Path(database)
