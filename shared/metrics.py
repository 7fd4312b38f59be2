"""Prometheus metrics for both bots, served as ``GET /metrics`` next to ``/health`` (shared/health.py).

One registry per process (each bot is its own process). Product code reports through the one-line hooks
below and never touches prometheus-client itself, so the metric names and labels live in this file only:

==========================================  =========  ===============================================
metric                                      type       from
==========================================  =========  ===============================================
meatlizard_requests_total{outcome}          counter    server-bot: each reply finished (stop, length,
                                                       cancelled, error...)
meatlizard_reply_seconds                    histogram  server-bot: prompt sent to reply done
meatlizard_reply_tokens_per_second          histogram  server-bot: completion tokens / generation time
meatlizard_engine_queue_depth               gauge      client-bot: requests waiting for the engine
meatlizard_engine_tokens_per_second         gauge      client-bot: recent engine throughput
meatlizard_relay_envelopes_refused_total    counter    both: relay messages dropped (unpaired author,
{reason}                                               bad envelope, bad payload)
meatlizard_discord_429_total{scope}         counter    both: 429s Discord answered (discord.py's log)
meatlizard_first_text_leg_seconds{leg}      histogram  server-bot: where a reply's time to first visible
                                                       text goes, leg by leg (`FIRST_TEXT_LEGS`)
meatlizard_discord_budget_wait_seconds      histogram  server-bot: wait for the per-bot request budget
{priority}                                             before a user-facing write, by priority
==========================================  =========  ===============================================

Hooks never raise: a metric must not break what it measures.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

REGISTRY = CollectorRegistry(auto_describe=True)

_LATENCY_BUCKETS = (0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300)
_TOKENS_BUCKETS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)

REQUESTS = Counter(
    "meatlizard_requests", "Replies finished, by finish reason.", ["outcome"], registry=REGISTRY
)
REPLY_SECONDS = Histogram(
    "meatlizard_reply_seconds",
    "Seconds from prompt to finished reply.",
    buckets=_LATENCY_BUCKETS,
    registry=REGISTRY,
)
REPLY_TOKENS_PER_SECOND = Histogram(
    "meatlizard_reply_tokens_per_second",
    "Completion tokens per second of generation, per reply.",
    buckets=_TOKENS_BUCKETS,
    registry=REGISTRY,
)
QUEUE_DEPTH = Gauge("meatlizard_engine_queue_depth", "Requests waiting for the engine.", registry=REGISTRY)
ENGINE_TOKENS_PER_SECOND = Gauge(
    "meatlizard_engine_tokens_per_second", "Recent engine throughput (0 before any token).", registry=REGISTRY
)
ENVELOPES_REFUSED = Counter(
    "meatlizard_relay_envelopes_refused",
    "Relay-channel messages dropped, by reason.",
    ["reason"],
    registry=REGISTRY,
)
DISCORD_429 = Counter(
    "meatlizard_discord_429", "HTTP 429 answers from Discord, by scope.", ["scope"], registry=REGISTRY
)

# The legs of a reply's time to first visible text that the server-bot sees, in order. What happens
# between `accept` and `relay` (the relay posts, the AI host) is split further by bench/load.py from
# the relay channel itself.
FIRST_TEXT_LEGS = (
    "gateway",  # the prompt's creation (its snowflake) -> the server-bot's on_message
    "accept",  # on_message -> the core accepted it (checks, database, handed to the relay)
    "relay",  # accepted -> the reply's first text (or whole answer) is back from the AI host
    "write",  # first text back -> the user-facing Discord write that shows it has completed
)
_LEG_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 30)
FIRST_TEXT_LEG_SECONDS = Histogram(
    "meatlizard_first_text_leg_seconds",
    "Seconds spent in each leg of a reply's time to first visible text.",
    ["leg"],
    buckets=_LEG_BUCKETS,
    registry=REGISTRY,
)
BUDGET_WAIT_SECONDS = Histogram(
    "meatlizard_discord_budget_wait_seconds",
    "Seconds a user-facing Discord write waited for the bot's request budget, by priority.",
    ["priority"],
    buckets=_LEG_BUCKETS,
    registry=REGISTRY,
)

_CODE = re.compile(r"[^a-z0-9_]+")


def _label(value: str) -> str:
    # Labels are short codes, never free text (same rule as the audit log).
    return _CODE.sub("_", value.lower())[:40] or "unknown"


def reply_finished(outcome: str, seconds: float, tokens: int) -> None:
    """Server-bot: one reply done (`outcome` is the finish reason)."""
    REQUESTS.labels(_label(outcome)).inc()
    if seconds > 0:
        REPLY_SECONDS.observe(seconds)
        if tokens:
            REPLY_TOKENS_PER_SECOND.observe(tokens / seconds)


def first_text_leg(leg: str, seconds: float) -> None:
    """Server-bot: one leg (`FIRST_TEXT_LEGS`) of one reply's time to first visible text."""
    if leg in FIRST_TEXT_LEGS:
        FIRST_TEXT_LEG_SECONDS.labels(leg).observe(max(seconds, 0.0))


def budget_waited(priority: str, seconds: float) -> None:
    """Server-bot: a write waited `seconds` for the Discord request budget (`priority` is its name)."""
    BUDGET_WAIT_SECONDS.labels(_label(priority)).observe(max(seconds, 0.0))


def envelope_refused(reason: str) -> None:
    """Either bot: a relay message was dropped; `reason` is a code such as the exception class name."""
    ENVELOPES_REFUSED.labels(_label(reason)).inc()


def track_engine(queue_depth: Callable[[], int], tokens_per_s: Callable[[], float | None]) -> None:
    """Client-bot: read the engine's queue and throughput at scrape time."""
    QUEUE_DEPTH.set_function(lambda: float(queue_depth()))
    ENGINE_TOKENS_PER_SECOND.set_function(lambda: float(tokens_per_s() or 0.0))


class _RateLimitLogCounter(logging.Handler):
    """discord.py reports every 429 it receives by a log record from `discord.http`; count those."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record must not break logging
            return
        if "responded with 429" in message or "rate limited" in message.lower():
            DISCORD_429.labels("global" if "global" in message.lower() else "route").inc()


_handler: _RateLimitLogCounter | None = None


def count_discord_429s() -> None:
    """Start counting Discord 429s (idempotent; the health server calls it when it starts)."""
    global _handler  # noqa: PLW0603 — one handler per process, installed once
    if _handler is None:
        _handler = _RateLimitLogCounter(level=logging.DEBUG)
        logger = logging.getLogger("discord.http")
        logger.addHandler(_handler)
        if logger.level == logging.NOTSET or logger.level > logging.WARNING:
            logger.setLevel(logging.WARNING)


def render() -> tuple[bytes, str]:
    """The exposition text and its content type, for ``GET /metrics``."""
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
