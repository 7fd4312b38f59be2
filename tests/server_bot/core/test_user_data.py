"""The core's `UserData`: a forget ends the user's open session (its reply stopped) before any data goes;
export and forget act on the asking user only; a core without a store refuses clearly."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest

from server_bot.core import Accepted, Failed, SessionClosed, UserDataUnavailable
from server_bot.lifecycle import ForgetReport
from tests.server_bot.core.conftest import ALICE, Harness, build
from tests.server_bot.core.fakes import FakeRelay


class RecordingStore:
    """Stands in for `server_bot.lifecycle.UserDataService` (tested on real databases in lifecycle/)."""

    def __init__(self) -> None:
        self.harness: Harness | None = None
        self.open_at_forget: list[bool] = []
        self.forgotten: list[int] = []
        self.exported: list[int] = []

    async def forget(self, user_id: int) -> ForgetReport:
        assert self.harness is not None
        self.open_at_forget.append(await self.harness.repo.get_open_session_for_user(user_id) is not None)
        self.forgotten.append(user_id)
        return ForgetReport(1, 2, 0, 0, 0, True, channel_ids=(31,))

    async def export(self, user_id: int) -> bytes:
        self.exported.append(user_id)
        return b"{}"


async def test_forget_stops_the_reply_and_closes_the_session_before_deleting(tmp_path: Path) -> None:
    store = RecordingStore()
    harness, engine = await build(tmp_path, FakeRelay(None), user_data=store)
    store.harness = harness
    try:
        session = await harness.core.sessions.open(ALICE)
        stream = await harness.core.conversation.submit(ALICE, session.id, "a long story")
        async with contextlib.aclosing(stream):
            events = aiter(stream)
            accepted = await anext(events)
            assert isinstance(accepted, Accepted)

            report = await harness.core.user_data.forget(ALICE)

            final = await anext(events)
        # The reply ends as any reply of a closed chat does: the user is told once, in the stream.
        assert isinstance(final, Failed) and final.code == "session_closed"
        assert harness.relay.cancelled == [accepted.request_id]
        assert store.open_at_forget == [False] and store.forgotten == [ALICE.user_id]
        assert report.channel_ids == (31,)
        closed = [n for n in harness.notices if isinstance(n, SessionClosed)]
        assert [(n.session_id, n.reason) for n in closed] == [(session.id, "forgotten")]
        assert await harness.core.user_data.export(ALICE) == b"{}"
        assert store.exported == [ALICE.user_id]
    finally:
        await engine.dispose()  # type: ignore[attr-defined]


async def test_without_a_store_forget_and_export_are_refused_with_a_message(harness: Harness) -> None:
    assert not harness.core.user_data.available
    with pytest.raises(UserDataUnavailable, match="not available"):
        await harness.core.user_data.forget(ALICE)
    with pytest.raises(UserDataUnavailable):
        await harness.core.user_data.export(ALICE)
