"""Security alerts reach the admin channel, but a flood cannot spam it: at most N per window per kind."""

from __future__ import annotations

import asyncio

import pytest

from server_bot.lifecycle import AlertKind, AuditWatcher, SecurityAlerts
from shared.audit import AuditLog


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class AdminChannel:
    """Stands in for the Discord front's poster (the Protocol's one method)."""

    def __init__(self) -> None:
        self.posts: list[str] = []

    async def post_alert(self, text: str) -> None:
        self.posts.append(text)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def channel() -> AdminChannel:
    return AdminChannel()


async def test_a_flood_posts_at_most_n_per_window_and_counts_the_rest(
    clock: FakeClock, channel: AdminChannel
) -> None:
    alerts = SecurityAlerts(channel, per_window=3, window_s=60, clock=clock)

    posted = [await alerts.raise_alert(AlertKind.AUTH_FAILURES, user_id=42) for _ in range(50)]

    assert posted == [True] * 3 + [False] * 47
    assert len(channel.posts) == 3 and alerts.suppressed(AlertKind.AUTH_FAILURES) == 47


async def test_the_next_alert_after_the_window_carries_the_suppressed_count(
    clock: FakeClock, channel: AdminChannel
) -> None:
    alerts = SecurityAlerts(channel, per_window=1, window_s=60, clock=clock)
    await alerts.raise_alert(AlertKind.REFUSED_ENVELOPE, detail="bad_tag")
    for _ in range(9):
        await alerts.raise_alert(AlertKind.REFUSED_ENVELOPE, detail="bad_tag")

    clock.now += 59.9
    assert not await alerts.raise_alert(AlertKind.REFUSED_ENVELOPE)
    clock.now += 0.1
    assert await alerts.raise_alert(AlertKind.REFUSED_ENVELOPE, detail="stale")

    assert channel.posts[-1] == "⚠️ Relay envelope refused · stale (and 10 more not shown)"
    assert alerts.suppressed(AlertKind.REFUSED_ENVELOPE) == 0


async def test_kinds_are_limited_separately(clock: FakeClock, channel: AdminChannel) -> None:
    alerts = SecurityAlerts(channel, per_window=1, window_s=60, clock=clock)
    await alerts.raise_alert(AlertKind.AUTH_FAILURES)
    await alerts.raise_alert(AlertKind.AUTH_FAILURES)

    assert await alerts.raise_alert(AlertKind.SUSPENSION, user_id=7, detail="rude")
    assert channel.posts[-1] == "⚠️ Moderation suspension · user 7 · rude"


async def test_flush_posts_one_summary_once_the_window_has_room(
    clock: FakeClock, channel: AdminChannel
) -> None:
    alerts = SecurityAlerts(channel, per_window=2, window_s=60, clock=clock)
    for _ in range(7):
        await alerts.raise_alert(AlertKind.AUTH_FAILURES)

    assert await alerts.flush() == 0  # the window is still full
    clock.now += 60
    assert await alerts.flush() == 1
    assert await alerts.flush() == 0

    assert channel.posts[-1] == "⚠️ Repeated authorisation failures: 5 more in the last 60 s."


async def test_started_alerts_summarise_a_burst_that_ended_without_another_alert(
    channel: AdminChannel,
) -> None:
    alerts = SecurityAlerts(channel, per_window=1, window_s=0.4)  # the real clock
    await alerts.raise_alert(AlertKind.AUTH_FAILURES)
    await alerts.raise_alert(AlertKind.AUTH_FAILURES)  # suppressed: the window is full
    alerts.start()
    try:
        for _ in range(100):
            if len(channel.posts) == 2:
                break
            await asyncio.sleep(0.05)
    finally:
        await alerts.aclose()

    assert channel.posts[-1] == "⚠️ Repeated authorisation failures: 1 more in the last 0.4 s."
    assert not alerts.flushing


async def test_a_failing_poster_never_breaks_the_caller(clock: FakeClock) -> None:
    class Broken:
        async def post_alert(self, text: str) -> None:
            raise ConnectionError("discord is down")

    alerts = SecurityAlerts(Broken(), clock=clock)
    assert await alerts.raise_alert(AlertKind.SUSPENSION, user_id=1)


def test_bad_limits_are_refused() -> None:
    with pytest.raises(ValueError, match="per_window"):
        SecurityAlerts(AdminChannel(), per_window=0)


async def test_repeated_admin_refusals_by_one_user_raise_one_alert(
    clock: FakeClock, channel: AdminChannel
) -> None:
    alerts = SecurityAlerts(channel, clock=clock)
    watcher = AuditWatcher(alerts, threshold=3, window_s=60, clock=clock)
    audit = AuditLog(None, sinks=[watcher])

    for _ in range(2):
        await audit.record(
            "admin_refused", success=False, command="ai-admin.transfer", user_id=9, detail="not_admin"
        )
    clock.now += 61  # the first two age out
    for _ in range(2):
        await audit.record("admin_refused", success=False, user_id=9, detail="not_admin")
    await audit.record("admin_refused", success=False, user_id=10, detail="not_admin")
    assert channel.posts == []
    await audit.record("admin_refused", success=False, user_id=9, detail="not_admin")

    assert channel.posts == ["⚠️ Repeated authorisation failures · user 9 · 3_in_60s"]


async def test_a_moderation_suspension_raises_an_alert_and_other_records_do_not(
    clock: FakeClock, channel: AdminChannel
) -> None:
    audit = AuditLog(None, sinks=[AuditWatcher(SecurityAlerts(channel, clock=clock), clock=clock)])

    await audit.record("moderation", success=False, command="prompt", user_id=5, detail="reject")
    await audit.record("command", success=True, command="chat.start", user_id=5)
    await audit.record("moderation", success=False, command="prompt", user_id=5, detail="suspend")

    assert channel.posts == ["⚠️ Moderation suspension · user 5 · suspend"]


async def test_refused_relay_envelopes_raise_alerts_naming_sender_and_reason_rate_limited(
    clock: FakeClock, channel: AdminChannel
) -> None:
    audit = AuditLog(
        None, sinks=[AuditWatcher(SecurityAlerts(channel, per_window=1, clock=clock), clock=clock)]
    )

    for _ in range(20):
        await audit.record("relay_refused", success=False, user_id=77, channel_id=5, detail="unknown_host")

    assert channel.posts == ["⚠️ Relay envelope refused · user 77 · unknown_host"]
