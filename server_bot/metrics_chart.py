"""`/ai-admin metrics`: metric samples summed per time bucket and drawn as one PNG.

Two sample kinds feed it (`server_bot.db.Repository.add_metric_sample`):

* ``request``: one per finished reply, with `tokens` (completion tokens), `tokens_per_s` and
  `latency_ms` (the generation time);
* ``client``: one per sampling tick, `value` 1.0 when the client-bot was online (heard from within three
  heartbeats) and 0.0 when not, with the `tokens_per_s` its last heartbeat reported.

Request volume is a count per bucket, tokens/s is total tokens over total generation time, and uptime
is the share of ``client`` samples that were online. Drawing uses matplotlib's object API on the Agg
canvas (no pyplot, so no global figure state and no display needed).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from server_bot.db.records import MetricSampleInfo
from shared.log import get_logger

log = get_logger(__name__)

REQUEST = "request"
CLIENT = "client"
KINDS = (REQUEST, CLIENT)


class MetricsError(Exception):
    """Base of the metrics errors (an unknown period)."""


@dataclass(frozen=True, slots=True)
class Period:
    name: str
    length: timedelta
    buckets: int

    @property
    def bucket(self) -> timedelta:
        return self.length / self.buckets


PERIODS = {
    "24h": Period("24h", timedelta(hours=24), 24),
    "7d": Period("7d", timedelta(days=7), 28),
    "30d": Period("30d", timedelta(days=30), 30),
}


def period(name: str) -> Period:
    try:
        return PERIODS[name]
    except KeyError:
        raise MetricsError(f"unknown period {name!r}; one of {sorted(PERIODS)}") from None


@dataclass
class _Bucket:
    requests: int = 0
    tokens: int = 0
    generation_s: float = 0.0
    client_samples: int = 0
    client_online: int = 0

    def add(self, sample: MetricSampleInfo) -> None:
        if sample.kind == REQUEST:
            self.requests += 1
            self.tokens += sample.tokens or 0
            self.generation_s += (sample.latency_ms or 0.0) / 1000
        elif sample.kind == CLIENT:
            self.client_samples += 1
            self.client_online += int((sample.value or 0.0) > 0)


@dataclass(frozen=True, slots=True)
class MetricsSummary:
    period: Period
    start: datetime
    bucket_starts: list[datetime]
    requests: list[int]
    # None where a bucket has no data, so the chart shows a gap rather than a false zero.
    tokens_per_s: list[float | None]
    uptime: list[float | None]
    total_requests: int
    total_tokens: int
    overall_tokens_per_s: float | None
    overall_uptime: float | None

    def describe(self) -> str:
        """The numbers behind the chart, for the reply text."""
        speed = "n/a" if self.overall_tokens_per_s is None else f"{self.overall_tokens_per_s:.1f}"
        uptime = "n/a (no samples)" if self.overall_uptime is None else f"{self.overall_uptime:.1%}"
        busiest = max(self.requests, default=0)
        return (
            f"**Metrics, last {self.period.name}**\n"
            f"Requests: {self.total_requests} (busiest {self._bucket_words()}: {busiest})\n"
            f"Tokens generated: {self.total_tokens}, average {speed} tokens/s\n"
            f"Client-bot uptime: {uptime}"
        )

    def _bucket_words(self) -> str:
        hours = self.period.bucket.total_seconds() / 3600
        return "hour" if hours == 1 else f"{hours:g} h"


def summarise(samples: Sequence[MetricSampleInfo], start: datetime, chosen: Period) -> MetricsSummary:
    """Bucket `samples` (from `start` over `chosen.length`); samples outside the window are ignored."""
    buckets = [_Bucket() for _ in range(chosen.buckets)]
    width = chosen.bucket.total_seconds()
    for sample in samples:
        index = int((sample.at - start).total_seconds() // width)
        if 0 <= index < chosen.buckets:
            buckets[index].add(sample)
    tokens = sum(b.tokens for b in buckets)
    generation_s = sum(b.generation_s for b in buckets)
    client_samples = sum(b.client_samples for b in buckets)
    return MetricsSummary(
        period=chosen,
        start=start,
        bucket_starts=[start + chosen.bucket * i for i in range(chosen.buckets)],
        requests=[b.requests for b in buckets],
        tokens_per_s=[b.tokens / b.generation_s if b.generation_s > 0 else None for b in buckets],
        uptime=[b.client_online / b.client_samples if b.client_samples else None for b in buckets],
        total_requests=sum(b.requests for b in buckets),
        total_tokens=tokens,
        overall_tokens_per_s=tokens / generation_s if generation_s > 0 else None,
        overall_uptime=sum(b.client_online for b in buckets) / client_samples if client_samples else None,
    )


def render_png(summary: MetricsSummary) -> bytes:
    """Three stacked panels (requests, tokens/s, uptime %) over the period, as PNG bytes."""
    figure = Figure(figsize=(8, 6), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    requests, speed, uptime = figure.subplots(3, 1, sharex=True)
    width = summary.period.bucket * 0.9
    requests.bar(summary.bucket_starts, summary.requests, width=width, align="edge", color="#4c72b0")
    requests.set_ylabel("requests")
    requests.set_title(f"MeatLizard, last {summary.period.name}")
    speed.plot(summary.bucket_starts, _gaps(summary.tokens_per_s), marker="o", color="#55a868")
    speed.set_ylabel("tokens/s")
    uptime.plot(summary.bucket_starts, [_percent(v) for v in summary.uptime], marker="o", color="#c44e52")
    uptime.set_ylabel("client-bot up %")
    uptime.set_ylim(-5, 105)
    for axes in (requests, speed, uptime):
        axes.grid(alpha=0.3)
    figure.autofmt_xdate()
    out = io.BytesIO()
    figure.savefig(out, format="png")
    return out.getvalue()


def _gaps(values: Sequence[float | None]) -> list[float]:
    return [float("nan") if v is None else v for v in values]


def _percent(value: float | None) -> float:
    return float("nan") if value is None else value * 100
