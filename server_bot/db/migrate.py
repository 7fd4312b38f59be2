"""Run the Alembic migrations programmatically; the bot calls `upgrade_to_head` at start-up.

Schema changes only ever come from `migrations/`; there is no `create_all` on any production path.
Alembic's commands are synchronous and `migrations/env.py` runs its own event loop, so each command runs
in a worker thread and the caller's loop keeps serving.
"""

from __future__ import annotations

import asyncio
import importlib.util
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from server_bot.db.engine import create_engine
from server_bot.db.errors import MigrationError
from shared.log import get_logger

log = get_logger(__name__)


def migrations_dir() -> Path:
    """Where the `migrations` package lives, found without importing it (it is not part of server_bot)."""
    spec = importlib.util.find_spec("migrations")
    if spec is None or not spec.submodule_search_locations:
        raise MigrationError("the migrations package is not installed next to server_bot")
    return Path(next(iter(spec.submodule_search_locations)))


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    # Passed as an attribute, not an ini option: ini values are %-interpolated and URLs may contain '%'.
    config.attributes["database_url"] = url
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    if head is None:
        raise MigrationError("no migrations found")
    return head


async def current_revision(url: str) -> str | None:
    """The revision the database is at, or None for an empty (never migrated) database."""
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(
                lambda sync: MigrationContext.configure(sync).get_current_revision()
            )
    finally:
        await engine.dispose()


async def upgrade_to_head(url: str) -> None:
    await _run("upgrade", url, "head")


async def downgrade_to_base(url: str) -> None:
    await _run("downgrade", url, "base")


async def upgrade_to(url: str, revision: str) -> None:
    """Upgrade to one given revision (tests of a single migration's data handling)."""
    await _run("upgrade", url, revision)


async def downgrade_to(url: str, revision: str) -> None:
    await _run("downgrade", url, revision)


async def _run(name: str, url: str, revision: str) -> None:
    action = command.upgrade if name == "upgrade" else command.downgrade
    log.info("database migration: %s to %s", name, revision)
    try:
        await asyncio.to_thread(action, alembic_config(url), revision)
    except MigrationError:
        raise
    except Exception as exc:  # Alembic and the drivers raise many unrelated types; report them as one.
        raise MigrationError(f"database {name} to {revision} failed: {exc.__class__.__name__}") from exc
