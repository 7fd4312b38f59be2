"""Prometheus metrics: the one-line hooks count, and /metrics serves them next to /health."""

from __future__ import annotations

import logging

import aiohttp

from shared import metrics
from shared.health import HealthServer


def _value(name: str, **labels: str) -> float:
    return metrics.REGISTRY.get_sample_value(name, labels) or 0.0


def test_hooks_count_replies_refused_envelopes_and_engine_state() -> None:
    before = _value("meatlizard_requests_total", outcome="stop")
    metrics.reply_finished("stop", 2.0, 40)
    assert _value("meatlizard_requests_total", outcome="stop") == before + 1
    refused = _value("meatlizard_relay_envelopes_refused_total", reason="authenticationfailed")
    metrics.envelope_refused("AuthenticationFailed")
    assert _value("meatlizard_relay_envelopes_refused_total", reason="authenticationfailed") == refused + 1
    metrics.track_engine(lambda: 3, lambda: None)
    assert _value("meatlizard_engine_queue_depth") == 3
    assert _value("meatlizard_engine_tokens_per_second") == 0


def test_discord_429s_are_counted_from_discord_py_log_records() -> None:
    metrics.count_discord_429s()
    before = _value("meatlizard_discord_429_total", scope="route")
    logging.getLogger("discord.http").warning(
        "We are being rate limited. %s %s responded with 429. Retrying in %.2f seconds.", "POST", "/x", 0.5
    )
    assert _value("meatlizard_discord_429_total", scope="route") == before + 1


async def test_metrics_are_served_next_to_health() -> None:
    server = HealthServer("127.0.0.1", 0)
    await server.start()
    try:
        url = server.url.removesuffix("/health") + "/metrics"
        async with aiohttp.ClientSession() as session, session.get(url) as resp:
            text = await resp.text()
            assert resp.status == 200
            assert resp.headers["Content-Type"].startswith("text/plain")
    finally:
        await server.stop()
    assert "meatlizard_reply_seconds_bucket" in text
    assert "meatlizard_discord_429_total" in text
