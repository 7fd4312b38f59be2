"""`meatlizard setup` (on the VPS): make the server ready for the product, idempotently.

With the server-bot's token it creates what is missing — the AI Admin role, the sessions category, the
relay channel private to the two bots — and corrects the relay channel's overwrites if they drifted.
Running it again changes nothing. It prints the ids to put in `.env` (the product recognises roles and
channels by id) and the steps only a person can do (give the role, invite the client-bot).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from meatlizard.doctor.discord_api import DiscordApi, DiscordApiError
from meatlizard.doctor.permissions import READ_MESSAGE_HISTORY, SEND_MESSAGES, VIEW_CHANNEL
from meatlizard.invite import invite_url
from shared.config import ConfigError, DiscordSettings, ServerBotSettings, load

EMBED_LINKS = 1 << 14
ATTACH_FILES = 1 << 15
GUILD_TEXT = 0
GUILD_CATEGORY = 4
ROLE_OVERWRITE = 0
MEMBER_OVERWRITE = 1
# Envelopes travel as messages, the large ones as attachments; the same set the server-bot itself writes
# (server_bot/channels.py), so a start after setup finds nothing to change.
RELAY_ALLOW = VIEW_CHANNEL | SEND_MESSAGES | READ_MESSAGE_HISTORY | ATTACH_FILES | EMBED_LINKS
REASON = "meatlizard setup"


@dataclass
class SetupResult:
    ids: dict[str, str] = field(default_factory=dict)  # env variable -> id
    changes: list[str] = field(default_factory=list)  # what this run did
    by_hand: list[str] = field(default_factory=list)  # what a person must still do


async def set_up(api: DiscordApi, settings: DiscordSettings) -> SetupResult:
    result = SetupResult()
    guild = str(settings.guild_id)
    roles = await api.get(f"/guilds/{guild}/roles")
    channels = await api.get(f"/guilds/{guild}/channels")

    role = _find(roles, os.environ.get("DISCORD_ADMIN_ROLE_ID"), settings.admin_role)
    if role is None:
        role = await api.request(
            "POST", f"/guilds/{guild}/roles", {"name": settings.admin_role, "permissions": "0"}, REASON
        )
        result.changes.append(f"created role {settings.admin_role!r}")
    result.ids["DISCORD_ADMIN_ROLE_ID"] = str(role["id"])

    server_bot, client_bot = str(settings.server_bot_user_id), str(settings.client_bot_user_id)
    private = {guild: (ROLE_OVERWRITE, 0, VIEW_CHANNEL)}
    category_overwrites = private | {
        server_bot: (MEMBER_OVERWRITE, VIEW_CHANNEL | SEND_MESSAGES | READ_MESSAGE_HISTORY, 0),
        str(role["id"]): (ROLE_OVERWRITE, VIEW_CHANNEL | READ_MESSAGE_HISTORY, 0),
    }
    relay_overwrites = private | {
        server_bot: (MEMBER_OVERWRITE, RELAY_ALLOW, 0),
        client_bot: (MEMBER_OVERWRITE, RELAY_ALLOW, 0),
    }
    category = ChannelSpec(
        "DISCORD_SESSIONS_CATEGORY_ID", settings.sessions_category, GUILD_CATEGORY, category_overwrites
    )
    relay = ChannelSpec("DISCORD_RELAY_CHANNEL_ID", settings.relay_channel, GUILD_TEXT, relay_overwrites)
    for spec in (category, relay):
        await _ensure_channel(api, guild, channels, spec, result)

    result.by_hand.append(f"give the {role['name']!r} role to each admin (Server Settings > Members)")
    try:
        await api.get(f"/guilds/{guild}/members/{settings.client_bot_user_id}")
    except DiscordApiError:
        result.by_hand.append(
            # A bot's user id is its application id for every application made since 2019.
            "invite the client-bot: " + invite_url(str(settings.client_bot_user_id), "client", str(guild))
        )
    return result


def _find(items: list[dict[str, Any]], wanted_id: str | None, name: str, kind: int | None = None) -> Any:
    """By id when one is configured (names can be renamed or repeated), else by name."""
    if wanted_id:
        for item in items:
            if str(item["id"]) == wanted_id:
                return item
    for item in items:
        if item["name"] == name and (kind is None or item.get("type") == kind):
            return item
    return None


@dataclass(frozen=True)
class ChannelSpec:
    variable: str  # the env variable its id goes to
    name: str
    kind: int
    overwrites: dict[str, tuple[int, int, int]]  # target id -> (type, allow, deny)


async def _ensure_channel(
    api: DiscordApi, guild: str, channels: list[dict[str, Any]], spec: ChannelSpec, result: SetupResult
) -> None:
    variable, name, kind, overwrites = spec.variable, spec.name, spec.kind, spec.overwrites
    wanted = [
        {"id": target, "type": kind_, "allow": str(allow), "deny": str(deny)}
        for target, (kind_, allow, deny) in overwrites.items()
    ]
    channel = _find(channels, os.environ.get(variable), name, kind)
    if channel is None:
        body = {"name": name, "type": kind, "permission_overwrites": wanted}
        channel = await api.request("POST", f"/guilds/{guild}/channels", body, REASON)
        result.changes.append(f"created {'category' if kind == GUILD_CATEGORY else 'channel'} {name!r}")
    else:
        have = {
            str(o["id"]): (int(o["allow"]), int(o["deny"]))
            for o in channel.get("permission_overwrites") or []
        }
        for target, (overwrite_type, allow, deny) in overwrites.items():
            old = have.get(target)
            old_allow, old_deny = old or (0, 0)
            # Add what is needed; keep what else an admin chose, except granting what we deny.
            new = (old_allow | allow) & ~deny, (old_deny | deny) & ~allow
            if new != old:
                body = {"type": overwrite_type, "allow": str(new[0]), "deny": str(new[1])}
                await api.request("PUT", f"/channels/{channel['id']}/permissions/{target}", body, REASON)
                result.changes.append(f"set the permission overwrite for {target} on {name!r}")
    result.ids[variable] = str(channel["id"])


async def main() -> int:
    try:
        settings = load(DiscordSettings)
        token = load(ServerBotSettings).token.get_secret_value()
    except ConfigError as exc:
        print(f"meatlizard setup: {exc}")
        return 2
    try:
        async with DiscordApi(settings.api_base, token) as api:
            result = await set_up(api, settings)
    except DiscordApiError as exc:
        print(f"meatlizard setup: Discord refused ({exc}); run `meatlizard doctor --host server` to see why")
        return 1
    print("\n".join(f"changed: {c}" for c in result.changes) or "nothing to change: the server is set up")
    print("\n# put these in the VPS's .env (ids survive renames):")
    for variable, value in result.ids.items():
        print(f"{variable}={value}")
    print("\n# still to do by hand:")
    for step in result.by_hand:
        print(f"- {step}")
    return 0
