"""Where the time to first visible text goes, for bench/load.py.

Two sources, both read from outside the bots:

* the server-bot's Prometheus histograms (`meatlizard_first_text_leg_seconds{leg}` and
  `meatlizard_discord_budget_wait_seconds{priority}`, shared/metrics.py), scraped before and after the
  conversations; quantiles are interpolated inside buckets, as Prometheus' `histogram_quantile` does;
* the relay channel(s) as devcord stored them: every post's snowflake time, opened with the relay key,
  says when each request's prompt left the server-bot and when its first text left the AI host.
"""

from __future__ import annotations

import contextlib
import math
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from shared import envelope, protocol

Buckets = dict[tuple[str, str], dict[float, float]]  # (metric, label value) -> {le: cumulative count}


async def scrape(port: int) -> Buckets:
    """The server-bot's leg and budget histograms, as cumulative bucket counts."""
    async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{port}/metrics") as response:
        text = await response.text()
    found: Buckets = defaultdict(dict)
    for family in text_string_to_metric_families(text):
        if family.name not in ("meatlizard_first_text_leg_seconds", "meatlizard_discord_budget_wait_seconds"):
            continue
        for sample in family.samples:
            if sample.name.endswith("_bucket"):
                label = sample.labels.get("leg") or sample.labels.get("priority") or ""
                found[(family.name, label)][float(sample.labels["le"])] = sample.value
    return found


def quantile(buckets: dict[float, float], q: float) -> float | None:
    """The q-quantile (0..1) of a cumulative histogram, linearly interpolated within its bucket."""
    bounds = sorted(buckets)
    if not bounds or buckets[bounds[-1]] <= 0:
        return None
    rank = q * buckets[bounds[-1]]
    lower, below = 0.0, 0.0
    for bound in bounds:
        count = buckets[bound]
        if count >= rank:
            if math.isinf(bound):
                return lower  # beyond the last finite bucket: its lower edge is all we know
            inside = count - below
            return lower + (bound - lower) * ((rank - below) / inside if inside else 0.0)
        lower, below = bound, count
    return lower


def difference(after: Buckets, before: Buckets) -> Buckets:
    return {
        key: {le: count - before.get(key, {}).get(le, 0.0) for le, count in counts.items()}
        for key, counts in after.items()
    }


def total(buckets: dict[float, float]) -> int:
    return int(max(buckets.values(), default=0.0))


@dataclass
class RelayTimes:
    """Per request id: when its prompt left the server-bot, when its first text left the AI host (epoch
    seconds, devcord's snowflakes), and the `[[name#n]]` tag of its prompt."""

    prompt_posted: dict[str, float] = field(default_factory=dict)
    first_text_posted: dict[str, float] = field(default_factory=dict)
    tag: dict[str, str] = field(default_factory=dict)
    engine_first_token_s: dict[str, float] = field(default_factory=dict)  # the engine's own figure
    posts: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))  # by direction


def snowflake_s(snowflake: int | str) -> float:
    return ((int(snowflake) >> 22) + 1420070400000) / 1000


async def relay_times(
    driver: Any, relay_key_hex: str, channel_ids: list[int], bots: dict[int, str]
) -> RelayTimes:
    """Open every relay post in `channel_ids` (sealed under the master key: one host) and note the times."""
    ring = envelope.KeyRing.from_hex(relay_key_hex)
    found = RelayTimes()
    async with aiohttp.ClientSession() as http:
        for channel_id in channel_ids:
            for message in await driver.messages(channel_id):
                posted = snowflake_s(message["id"])
                author = bots.get(int(message["author"]["id"]), "other")
                found.posts[author].append(posted)
                for blob in await _blobs(http, message):
                    try:
                        opened = envelope.open_envelope(ring, blob)
                        items = (
                            protocol.decode_batch(opened.kind, opened.payload)
                            if protocol.is_batch(opened.kind)
                            else [(opened.session_id, protocol.decode(opened.kind, opened.payload))]
                        )
                    except (envelope.EnvelopeError, protocol.ProtocolError):
                        continue
                    for _, payload in items:
                        _note(found, payload, posted)
    return found


def _note(found: RelayTimes, payload: protocol.Payload, posted: float) -> None:
    match payload:
        case protocol.Prompt(request_id=request_id):
            found.prompt_posted.setdefault(request_id, posted)
            users = [turn.content for turn in payload.messages if turn.role == "user"]
            if users and "[[" in users[-1]:
                found.tag[request_id] = users[-1][users[-1].index("[[") : users[-1].index("]]") + 2]
        case protocol.Delta(request_id=request_id):
            found.first_text_posted.setdefault(request_id, posted)
        case protocol.Done(request_id=request_id):
            found.first_text_posted.setdefault(request_id, posted)
            found.engine_first_token_s[request_id] = payload.first_token_ms / 1000
        case _:
            pass


async def _blobs(http: aiohttp.ClientSession, message: dict[str, Any]) -> list[bytes]:
    blobs = []
    for attachment in message.get("attachments") or []:
        async with http.get(attachment["url"]) as response:
            blobs.append(await response.read())
    if not blobs and message.get("content", "").startswith(envelope.TEXT_PREFIX):
        with contextlib.suppress(envelope.EnvelopeError):
            blobs.append(envelope.from_content(message["content"]))
    return blobs


def percentiles(values: list[float]) -> tuple[float | None, float | None]:
    if not values:
        return None, None
    if len(values) == 1:
        return values[0], values[0]
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return cuts[49], cuts[94]
