"""What `/ai-admin` reports and the background work behind it: status text, recent speed, the client-bot
metrics sampler, and the permission audit. No commands here."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import discord

from server_bot.bot import ServerContext
from server_bot.core import Actor, HostStatus
from server_bot.db.errors import DatabaseError
from server_bot.metrics_chart import CLIENT, REQUEST
from shared.log import get_logger
from shared.permissions import SERVER_BOT_PERMISSIONS

log = get_logger(__name__)

# A server-bot restart waits at most this long for the replies being written to finish.
DRAIN_LIMIT_S = 600.0
_TOKENS_WINDOW = timedelta(minutes=5)


async def status_text(ctx: ServerContext, admin: Actor, started: float) -> str:
    """The `/ai-admin status` text; `started` is the server-bot's start (monotonic)."""
    hosts = await ctx.core.hosts.status(admin)
    paused = await ctx.core.access.paused()
    fallback = await ctx.core.access.fallback_enabled()
    online = sum(host.online for host in hosts)
    sessions = await ctx.repo.count_open_sessions()
    return "\n".join(
        [
            "**AI chat status**",
            f"GPU hosts: {online} of {len(hosts)} online",
            *(host_line(host) for host in hosts),
            f"Server-bot: up {duration(time.monotonic() - started)}",
            f"Active sessions: {sessions}, replies in progress: {ctx.hub.in_flight}",
            f"Tokens/s (last 5 min): {await recent_tokens_per_s(ctx)}",
            f"Requests: {'**paused**' if paused else 'accepted'}, fallback: {'on' if fallback else 'off'}",
        ]
    )


def host_line(host: HostStatus) -> str:
    """One host: its id (what `/ai-admin drain` takes), model, load, queue, speed, last seen, draining."""
    seen = "never" if host.last_seen_s_ago is None else f"{duration(host.last_seen_s_ago)} ago"
    state = "online" if host.online else "**offline**"
    speed = f"{host.tokens_per_s:.1f} tokens/s" if host.online else "-"
    line = (
        f"- <@{host.user_id}> `{host.user_id}`: {state}, model `{host.model}`, "
        f"load {host.in_flight} in flight / {host.slots} slots, queue {host.queue_depth}, "
        f"{speed}, last seen {seen}"
    )
    return line + (", **draining**" if host.draining else "")


async def recent_tokens_per_s(ctx: ServerContext) -> str:
    end = datetime.now(UTC)
    samples = await ctx.repo.metric_samples(end - _TOKENS_WINDOW, end + timedelta(seconds=1), [REQUEST])
    tokens = sum(s.tokens or 0 for s in samples)
    seconds = sum((s.latency_ms or 0.0) / 1000 for s in samples)
    if seconds > 0:
        return f"{tokens / seconds:.1f} ({len(samples)} replies)"
    return "n/a (no replies)"


async def sample_client_forever(ctx: ServerContext) -> None:
    """Store whether any GPU host is online (and their summed speed) every metrics_sample_interval_s."""
    interval = ctx.server.metrics_sample_interval_s
    while True:
        await asyncio.sleep(interval)
        online = [host for host in ctx.hub.hosts() if host.online]
        try:
            await ctx.repo.add_metric_sample(
                CLIENT,
                value=1.0 if online else 0.0,
                tokens_per_s=sum(host.tokens_per_s for host in online) if online else None,
            )
        except DatabaseError:
            log.warning("could not store a client-bot metric sample", exc_info=True)


def permissions_report(granted: discord.Permissions, everyone: discord.Permissions) -> str:
    """The bot's permissions against the least it needs, split by where they come from: what the bot's
    own roles grant (the admin can change that without touching anyone else) apart from @everyone's
    defaults, which every member holds and which are only counted here."""
    admin = granted.administrator or everyone.administrator
    have = discord.Permissions.all() if admin else granted | everyone
    missing = [name for name, needed in SERVER_BOT_PERMISSIONS if needed and not getattr(have, name)]
    excessive = [name for name, held in granted if held and not getattr(SERVER_BOT_PERMISSIONS, name)]
    from_everyone = [
        name
        for name, held in everyone
        if held and not getattr(SERVER_BOT_PERMISSIONS, name) and not getattr(granted, name)
    ]
    lines = ["**Server-bot permissions**"]
    lines.append("Missing (grant them to the bot's role): " + _listed(missing))
    lines.append("Excessive, granted to the bot's roles (remove them there): " + _listed(excessive))
    if from_everyone:
        lines.append(
            f"Not listed: {len(from_everyone)} more come from the server's default permissions, "
            "which every member holds; the bot needs none of them."
        )
    if admin:
        lines.append("The bot has `administrator`, which grants everything: give it only the needed set.")
    return "\n".join(lines)


def bot_grants(me: discord.Member) -> tuple[discord.Permissions, discord.Permissions]:
    """(what the bot's own roles grant, @everyone's defaults) in its guild."""
    granted = discord.Permissions.none()
    for role in me.roles:
        if not role.is_default():
            granted |= role.permissions
    return granted, me.guild.default_role.permissions


def _listed(names: list[str]) -> str:
    return ", ".join(f"`{n}`" for n in names) if names else "none"


def duration(seconds: float) -> str:
    minutes, _ = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min" if minutes else f"{int(seconds)} s"
