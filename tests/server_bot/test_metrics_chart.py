"""Metric samples summed per bucket (requests, tokens/s, uptime) and drawn as a PNG."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from server_bot.db.records import MetricSampleInfo
from server_bot.metrics_chart import CLIENT, REQUEST, MetricsError, period, render_png, summarise

START = datetime(2025, 1, 1, tzinfo=UTC)


def _request(hours: float, tokens: int, seconds: float) -> MetricSampleInfo:
    return MetricSampleInfo(
        START + timedelta(hours=hours), REQUEST, None, tokens, tokens / seconds, seconds * 1000
    )


def _client(hours: float, online: bool) -> MetricSampleInfo:
    return MetricSampleInfo(START + timedelta(hours=hours), CLIENT, 1.0 if online else 0.0, None, 10.0, None)


SAMPLES = [
    _request(0.5, 100, 2.0),
    _request(0.7, 50, 3.0),
    _request(5.5, 40, 1.0),
    _request(-1, 999, 1.0),  # before the window
    _request(24.5, 999, 1.0),  # after it
    _client(0.1, True),
    _client(0.6, True),
    _client(5.1, False),
    _client(5.6, True),
]


def test_requests_are_counted_per_bucket_within_the_window() -> None:
    summary = summarise(SAMPLES, START, period("24h"))
    assert len(summary.requests) == 24
    assert summary.requests[0] == 2 and summary.requests[5] == 1
    assert summary.total_requests == 3
    assert summary.total_tokens == 190


def test_tokens_per_second_is_total_tokens_over_total_generation_time() -> None:
    summary = summarise(SAMPLES, START, period("24h"))
    assert summary.tokens_per_s[0] == pytest.approx(150 / 5)
    assert summary.tokens_per_s[1] is None, "no data is a gap, not a zero"
    assert summary.overall_tokens_per_s == pytest.approx(190 / 6)


def test_uptime_is_the_share_of_online_samples() -> None:
    summary = summarise(SAMPLES, START, period("24h"))
    assert summary.uptime[0] == 1.0 and summary.uptime[5] == 0.5 and summary.uptime[2] is None
    assert summary.overall_uptime == pytest.approx(0.75)


def test_description_carries_the_numbers() -> None:
    text = summarise(SAMPLES, START, period("24h")).describe()
    assert "Requests: 3 (busiest hour: 2)" in text
    assert "Tokens generated: 190, average 31.7 tokens/s" in text
    assert "Client-bot uptime: 75.0%" in text


@pytest.mark.parametrize(
    ("name", "buckets", "bucket"),
    [
        pytest.param("24h", 24, timedelta(hours=1), id="day-by-hour"),
        pytest.param("7d", 28, timedelta(hours=6), id="week-by-quarter-day"),
        pytest.param("30d", 30, timedelta(days=1), id="month-by-day"),
    ],
)
def test_periods_split_into_even_buckets(name: str, buckets: int, bucket: timedelta) -> None:
    chosen = period(name)
    assert (chosen.buckets, chosen.bucket) == (buckets, bucket)


def test_unknown_period_is_an_error() -> None:
    with pytest.raises(MetricsError, match="unknown period"):
        period("1y")


@pytest.mark.parametrize("samples", [pytest.param(SAMPLES, id="with-data"), pytest.param([], id="no-data")])
def test_chart_is_a_png(samples: list[MetricSampleInfo]) -> None:
    png = render_png(summarise(samples, START, period("7d")))
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(png) > 5000
