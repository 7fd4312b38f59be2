"""A short database outage mid-reply is ridden out; the db layer's own answers are not retried."""

from __future__ import annotations

import pytest

from server_bot.core.db_retry import retry_db
from server_bot.db import errors as db_errors


async def test_an_operation_is_retried_until_the_database_is_back() -> None:
    calls = 0

    async def store() -> int:
        nonlocal calls
        calls += 1
        if calls < 3:
            raise ConnectionRefusedError("database down")
        return 42

    assert await retry_db(store, "test", within_s=5) == 42
    assert calls == 3


async def test_a_database_answer_is_not_retried_and_an_outage_gives_up_in_time() -> None:
    calls = 0

    async def closed() -> None:
        nonlocal calls
        calls += 1
        raise db_errors.SessionNotOpen()

    with pytest.raises(db_errors.SessionNotOpen):
        await retry_db(closed, "test")
    assert calls == 1

    async def down() -> None:
        raise ConnectionRefusedError("database down")

    with pytest.raises(ConnectionRefusedError):
        await retry_db(down, "test", within_s=0.3)
