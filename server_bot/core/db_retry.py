"""Riding out a short database outage in the middle of a reply.

A reply being written when the database goes away must still end shown to its user, stored once the
database is back. `retry_db` retries an operation whose failure is the database being unreachable (any
error that is not one of the db layer's own `DatabaseError`s, which are answers, not outages), backing off
up to `within_s`; then it raises the last error.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from server_bot.db import errors as db_errors
from shared.log import get_logger

log = get_logger(__name__)

T = TypeVar("T")

DB_OUTAGE_RIDE_OUT_S = 20.0


async def retry_db(
    operation: Callable[[], Awaitable[T]], what: str, *, within_s: float = DB_OUTAGE_RIDE_OUT_S
) -> T:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within_s
    delay = 0.25
    while True:
        try:
            return await operation()
        except db_errors.DatabaseError:
            raise
        except Exception as exc:  # the driver's connection errors differ per database: all mean "down"
            if loop.time() + delay > deadline:
                raise
            log.warning("database unreachable for %s (%s); retrying", what, type(exc).__name__)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)
