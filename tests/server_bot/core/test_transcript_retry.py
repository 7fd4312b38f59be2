"""A chat closed while storage is down: closed all the same, its transcript saved once storage is back."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

from server_bot.core import SessionClosed
from server_bot.transcripts import transcript_keys
from tests.server_bot.core.conftest import ALICE, build
from tests.server_bot.core.fakes import FakeRelay


async def test_a_chat_closed_while_storage_is_down_is_closed_and_its_transcript_saved_later(
    tmp_path: Path,
) -> None:
    objects = tmp_path / "objects"
    objects.write_text("not a folder: every write fails, as on a full or missing disk")
    h, engine = await build(tmp_path, FakeRelay())
    h.core.sessions.transcript_retry._first_delay_s = 0.05  # no real back-off in a test
    try:
        session = await h.core.sessions.open(ALICE)
        await h.core.sessions.close(session.id, reason="ended", by=ALICE)
        assert [n.session_id for n in h.notices if isinstance(n, SessionClosed)] == [session.id]
        assert not h.core.sessions.transcript_saved(session.id)

        objects.unlink()  # storage is back
        json_key, _ = transcript_keys(session.id)
        async with asyncio.timeout(10):
            while not (objects / json_key).exists() or not h.core.sessions.transcript_saved(session.id):
                await asyncio.sleep(0.05)
    finally:
        await h.core.aclose()
        await engine.dispose()  # type: ignore[attr-defined]
        shutil.rmtree(objects, ignore_errors=True)
