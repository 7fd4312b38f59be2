"""Discord-side checks: each bot's token, application, intents, guild membership and permissions; the
AI Admin role; the relay channel's privacy. Plain REST with each bot's own token."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import discord

from meatlizard.doctor.discord_api import DiscordApi, DiscordApiError
from meatlizard.doctor.permissions import (
    ADMINISTRATOR,
    READ_MESSAGE_HISTORY,
    SEND_MESSAGES,
    VIEW_CHANNEL,
    base_permissions,
    channel_permissions,
)
from meatlizard.doctor.result import Check, fail, note, ok
from shared.config import DiscordSettings

# Application flags (Discord "Application > Application Flags"): each privileged intent has a flag for
# verified apps and a _LIMITED one for apps in fewer than 100 servers; either means "granted".
_INTENT_FLAGS = {
    "Server Members Intent": (1 << 14) | (1 << 15),
    "Message Content Intent": (1 << 18) | (1 << 19),
}


@dataclass(frozen=True)
class BotSpec:
    """What one bot must be: who (by user id), which intents, which permissions."""

    label: str  # "server-bot" / "client-bot"
    token_variable: str
    user_id_variable: str
    expected_user_id: int
    intents: tuple[str, ...]
    permissions: discord.Permissions


@dataclass
class BotFacts:
    """What the checks learnt, for the checks that follow (roles, relay channel)."""

    user_id: str = ""
    application_id: str = ""
    role_ids: list[str] | None = None


async def check_bot(
    api: DiscordApi, spec: BotSpec, settings: DiscordSettings
) -> tuple[list[Check], BotFacts]:
    facts = BotFacts()
    name = f"{spec.label} token"
    try:
        me = await api.get("/users/@me")
        app = await api.get("/applications/@me")
    except DiscordApiError as exc:
        fix = f"copy the bot token from the Developer Portal (Bot > Reset Token) into {spec.token_variable}"
        if exc.status == 0:
            fix = "check DISCORD_API_BASE and the network"
        return [fail(name, f"rejected by Discord ({exc})", fix)], facts
    facts.user_id, facts.application_id = str(me["id"]), str(app["id"])
    who = f"bot {me['username']} ({me['id']}) of application {app.get('name')} ({app['id']})"
    if int(me["id"]) != spec.expected_user_id:
        checks = [
            fail(
                name,
                f"valid, but it is {who}, not the user {spec.expected_user_id} in {spec.user_id_variable}",
                f"set {spec.user_id_variable}={me['id']} or use the other bot's token",
            )
        ]
    else:
        checks = [ok(name, f"valid: {who}")]
    checks.append(_intents(spec, int(app.get("flags") or 0), str(app["id"])))
    checks.extend(await _membership(api, spec, settings, facts))
    return checks, facts


def _intents(spec: BotSpec, flags: int, application_id: str) -> Check:
    missing = [intent for intent in spec.intents if not flags & _INTENT_FLAGS[intent]]
    name = f"{spec.label} intents"
    if missing:
        return fail(
            name,
            f"not granted: {', '.join(missing)}",
            f"Developer Portal > application {application_id} > Bot > Privileged Gateway Intents: "
            f"switch on {', '.join(missing)}",
        )
    return ok(name, f"granted: {', '.join(spec.intents)}")


async def _membership(
    api: DiscordApi, spec: BotSpec, settings: DiscordSettings, facts: BotFacts
) -> list[Check]:
    guild = settings.guild_id
    invite = f"`meatlizard invite-url --client-id {facts.application_id} --bot {spec.label.split('-')[0]}`"
    try:
        member = await api.get(f"/guilds/{guild}/members/{facts.user_id}")
        roles = await api.get(f"/guilds/{guild}/roles")
    except DiscordApiError as exc:
        return [
            fail(
                f"{spec.label} in the server",
                f"not a member of guild {guild} ({exc})",
                f"invite it: {invite}",
            )
        ]
    facts.role_ids = [str(r) for r in member.get("roles") or []]
    checks = [ok(f"{spec.label} in the server", f"member of guild {guild}")]
    granted = base_permissions(str(guild), roles, facts.role_ids)
    needed = spec.permissions.value
    missing = needed & ~granted
    name = f"{spec.label} permissions"
    if missing:
        checks.append(
            fail(
                name,
                f"missing {', '.join(_names(missing))}",
                f"give its role these permissions (Server Settings > Roles) or re-invite it with {invite}",
            )
        )
    elif granted & ADMINISTRATOR or granted == (1 << 53) - 1:
        checks.append(
            fail(
                name,
                "has Administrator, far more than it needs",
                f"remove Administrator from its roles; {invite}",
            )
        )
    else:
        extra = _names(granted & ~needed)
        detail = (
            "exactly the least-privilege set" if not extra else f"has what it needs; also {', '.join(extra)}"
        )
        checks.append(ok(name, detail) if not extra else note(name, detail, "remove the extra permissions"))
    return checks


def _names(bits: int) -> list[str]:
    return [name for name, on in discord.Permissions(bits) if on] or [f"bits {bits:#x}"]


async def check_admin_role(api: DiscordApi, settings: DiscordSettings, role_id: str | None) -> Check:
    roles = await api.get(f"/guilds/{settings.guild_id}/roles")
    wanted = [r for r in roles if str(r["id"]) == role_id] if role_id else []
    wanted = wanted or [r for r in roles if r["name"] == settings.admin_role]
    name = "AI Admin role"
    if not wanted:
        return fail(
            name,
            f"no role named {settings.admin_role!r} in the server",
            "run `meatlizard setup`, or create it (Server Settings > Roles) and give it to the admins",
        )
    return ok(name, f"{wanted[0]['name']!r} exists (id {wanted[0]['id']}); give it to each admin by hand")


async def check_relay_channel(api: DiscordApi, settings: DiscordSettings, channel_id: str | None) -> Check:
    """The control relay channel, and every further one (`<name>-<n>`, RELAY_CHANNELS > 1; the server-bot
    creates those at start-up), each private to the bots."""
    guild = str(settings.guild_id)
    channels = await api.get(f"/guilds/{guild}/channels")
    roles = await api.get(f"/guilds/{guild}/roles")
    name = "relay channel"
    found = [c for c in channels if str(c["id"]) == channel_id] if channel_id else []
    found = found or [c for c in channels if c.get("name") == settings.relay_channel and c.get("type") == 0]
    if not found:
        return fail(name, f"no text channel #{settings.relay_channel}", "run `meatlizard setup`")
    further = re.compile(rf"{re.escape(settings.relay_channel)}-\d+")
    extra = [c for c in channels if c.get("type") == 0 and further.fullmatch(str(c.get("name") or ""))]
    bots = await _bot_members(api, settings)
    for channel in [found[0], *extra]:
        problem = _relay_privacy_problem(channel, guild, roles, bots)
        if problem is not None:
            return fail(name, *problem)
    channel = found[0]
    more = f" and {len(extra)} further relay channels are" if extra else " is"
    return ok(name, f"#{channel['name']} (id {channel['id']}){more} private to the two bots")


def _relay_privacy_problem(
    channel: dict[str, Any], guild: str, roles: list[dict[str, Any]], bots: dict[str, BotFacts]
) -> tuple[str, str] | None:
    """(what is wrong, how to fix it) if `channel` is not private to the bots."""
    everyone = channel_permissions(base_permissions(guild, roles, []), guild, channel, "0", [])
    if everyone & VIEW_CHANNEL:
        return (
            f"#{channel['name']} is visible to @everyone",
            "deny View Channel to @everyone on it (or run `meatlizard setup`, which sets the overwrites)",
        )
    needed = VIEW_CHANNEL | SEND_MESSAGES | READ_MESSAGE_HISTORY
    for label, facts in bots.items():
        allowed = channel_permissions(
            base_permissions(guild, roles, facts.role_ids or []),
            guild,
            channel,
            facts.user_id,
            facts.role_ids or [],
        )
        if allowed & needed != needed:
            return (
                f"{label} cannot view, read and send in #{channel['name']}",
                f"allow View Channel, Send Messages, Read Message History to {label} on the channel",
            )
    others = _other_viewers(channel, guild, bots, roles)
    if others:
        return f"#{channel['name']} is also opened to {', '.join(others)}", "remove those overwrites"
    return None


async def _bot_members(api: DiscordApi, settings: DiscordSettings) -> dict[str, BotFacts]:
    """The two bots' roles, looked up by their configured user ids (a bot not in the guild is skipped:
    its own membership line is already red)."""
    out = {}
    for label, user_id in (
        ("server-bot", settings.server_bot_user_id),
        ("client-bot", settings.client_bot_user_id),
    ):
        try:
            member = await api.get(f"/guilds/{settings.guild_id}/members/{user_id}")
        except DiscordApiError:
            continue
        out[label] = BotFacts(user_id=str(user_id), role_ids=[str(r) for r in member.get("roles") or []])
    return out


def _other_viewers(
    channel: dict[str, Any], guild: str, bots: dict[str, BotFacts], roles: list[dict[str, Any]]
) -> list[str]:
    """Overwrites that open the channel to someone other than the two bots (their users or their roles)."""
    bot_ids = {f.user_id for f in bots.values()} | {r for f in bots.values() for r in f.role_ids or []}
    role_names = {str(r["id"]): r["name"] for r in roles}
    out = []
    for overwrite in channel.get("permission_overwrites") or []:
        target = str(overwrite["id"])
        if target == guild or target in bot_ids or not int(overwrite["allow"]) & VIEW_CHANNEL:
            continue
        out.append(f"role {role_names[target]!r}" if target in role_names else f"user {target}")
    return out
