"""What `/ai-admin` reports and the background work behind it: status text, recent speed, the client-bot
metrics sampler, draining replies before a restart, and the permission audit. No commands here."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import discord

from server_bot.bot import ServerContext
from server_bot.db.errors import DatabaseError
from server_bot.metrics_chart import CLIENT, REQUEST
from shared.log import get_logger
from shared.permissions import SERVER_BOT_PERMISSIONS

log = get_logger(__name__)

# A server-bot restart waits at most this long for the replies being written to finish.
DRAIN_LIMIT_S = 600.0
_TOKENS_WINDOW = timedelta(minutes=5)


async def status_text(ctx: ServerContext, started: float) -> str:
    """The `/ai-admin status` text; `started` is the server-bot's start (monotonic)."""
    hub, client = ctx.hub, ctx.hub.client
    if hub.client_online() and client is not None:
        client_line = (
            f"online, model `{client.model}`, up {duration(client.uptime_s)}, "
            f"queue depth {client.queue_depth}"
        )
    else:
        client_line = "**offline**"
    paused = await ctx.core.access.paused()
    fallback = await ctx.core.access.fallback_enabled()
    return "\n".join(
        [
            "**AI chat status**",
            f"Client-bot: {client_line}",
            f"Server-bot: up {duration(time.monotonic() - started)}",
            f"Active sessions: {await ctx.repo.count_open_sessions()}, replies in progress: {hub.in_flight}",
            f"Tokens/s (last 5 min): {await recent_tokens_per_s(ctx)}",
            f"Requests: {'**paused**' if paused else 'accepted'}, fallback: {'on' if fallback else 'off'}",
        ]
    )


async def recent_tokens_per_s(ctx: ServerContext) -> str:
    end = datetime.now(UTC)
    samples = await ctx.repo.metric_samples(end - _TOKENS_WINDOW, end + timedelta(seconds=1), [REQUEST])
    tokens = sum(s.tokens or 0 for s in samples)
    seconds = sum((s.latency_ms or 0.0) / 1000 for s in samples)
    if seconds > 0:
        return f"{tokens / seconds:.1f} ({len(samples)} replies)"
    return "n/a (no replies)"


async def drain(ctx: ServerContext) -> None:
    """Wait (at most DRAIN_LIMIT_S) until no reply is being written."""
    deadline = time.monotonic() + DRAIN_LIMIT_S
    # Polling: the hub has no event for "nothing in flight", and this runs once per restart.
    while ctx.hub.in_flight and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.2)


async def sample_client_forever(ctx: ServerContext) -> None:
    """Store whether the client-bot is online (and its speed) every metrics_sample_interval_s."""
    interval = ctx.server.metrics_sample_interval_s
    while True:
        await asyncio.sleep(interval)
        online = ctx.hub.client_online()
        client = ctx.hub.client
        try:
            await ctx.repo.add_metric_sample(
                CLIENT,
                value=1.0 if online else 0.0,
                tokens_per_s=client.tokens_per_s if online and client is not None else None,
            )
        except DatabaseError:
            log.warning("could not store a client-bot metric sample", exc_info=True)


def permissions_report(have: discord.Permissions) -> str:
    """Which needed permissions the bot lacks and which it holds without needing them."""
    missing = [name for name, needed in SERVER_BOT_PERMISSIONS if needed and not getattr(have, name)]
    excessive = [name for name, held in have if held and not getattr(SERVER_BOT_PERMISSIONS, name)]
    lines = ["**Server-bot permissions**"]
    lines.append("Missing: " + (", ".join(f"`{n}`" for n in missing) if missing else "none"))
    lines.append("Excessive: " + (", ".join(f"`{n}`" for n in excessive) if excessive else "none"))
    if have.administrator:
        lines.append("The bot has `administrator`, which grants everything: give it only the needed set.")
    return "\n".join(lines)


def duration(seconds: float) -> str:
    minutes, _ = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min" if minutes else f"{int(seconds)} s"
