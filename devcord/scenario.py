"""Scenario files: the guilds, roles, users, bot applications and channels a devcord starts with.

```yaml
settings: {heartbeat_interval_ms: 41250, interaction_response_s: 3.0}
rate_limits: {message_create: {limit: 5, per: 5}, global_per_second: 50}
users: [{name: alice}, {name: owner}]
applications: [{name: server-bot, bot_id: 1300000000000000101, token: "MTMw...", intents: [MESSAGE_CONTENT]}]
# `token`, when given, must be Discord-shaped for `bot_id` (devcord.tokens.bot_token); omitted: generated.
guilds:
  - name: MeatLizard
    owner: owner
    everyone: default            # or a list of permission names / an integer
    roles: [{name: AI Admin, permissions: [MANAGE_GUILD]}, {name: server-bot, managed: true}]
    # A managed role is a bot's own (`tags.bot_id`): the application named by `bot:`, else by its name.
    members: [{user: alice}, {user: server-bot, roles: [server-bot]}]
    channels:
      - {name: AI, type: category}
      - {name: general, parent: AI, overwrites: [{role: "@everyone", deny: [SEND_MESSAGES]}]}
```
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from devcord import intents as I
from devcord import permissions as P
from devcord.errors import ScenarioError
from devcord.model import (
    GUILD_CATEGORY,
    GUILD_TEXT,
    Application,
    Channel,
    Guild,
    Member,
    Role,
    User,
    snowflake_time,
)
from devcord.ratelimit import Limit, RateLimitConfig
from devcord.tokens import bot_token, token_bot_id
from devcord.world import World

DEMO = Path(__file__).with_name("scenarios") / "demo.yaml"
_TYPES = {"text": GUILD_TEXT, "category": GUILD_CATEGORY, "voice": 2, "forum": 15}


@dataclass
class Settings:
    heartbeat_interval_ms: int = 41250
    interaction_response_s: float = 3.0
    rate_limits: RateLimitConfig = field(default_factory=RateLimitConfig)


def read(source: str | Path | dict[str, Any]) -> dict[str, Any]:
    if isinstance(source, dict):
        return source
    try:
        data = yaml.safe_load(Path(source).read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ScenarioError(f"cannot read scenario {source}: {exc}") from exc
    if not isinstance(data, dict):
        raise ScenarioError(f"scenario {source} is not a mapping")
    return data


def build(source: str | Path | dict[str, Any]) -> tuple[World, Settings]:
    data = read(source)
    world = World()
    try:
        settings = _settings(data)
        for item in data.get("users") or []:
            _add_user(world, item)
        for item in data.get("applications") or []:
            _add_app(world, item)
        for item in data.get("guilds") or []:
            _add_guild(world, item)
    except (KeyError, ValueError, TypeError) as exc:
        raise ScenarioError(f"bad scenario entry: {exc!r}") from exc
    return world, settings


def _settings(data: dict[str, Any]) -> Settings:
    raw = data.get("settings") or {}
    limits = RateLimitConfig()
    for name, value in (data.get("rate_limits") or {}).items():
        if name == "global_per_second":
            limits.global_per_second = int(value)
        else:
            limits.routes[name] = Limit(int(value["limit"]), float(value["per"]))
    return Settings(
        heartbeat_interval_ms=int(raw.get("heartbeat_interval_ms", 41250)),
        interaction_response_s=float(raw.get("interaction_response_s", 3.0)),
        rate_limits=limits,
    )


def _add_user(world: World, item: dict[str, Any]) -> User:
    user = User(
        int(item.get("id") or world.ids.next()), str(item["name"]), global_name=item.get("display_name")
    )
    world.users[user.id] = user
    return user


def _add_app(world: World, item: dict[str, Any]) -> Application:
    bot = User(int(item.get("bot_id") or world.ids.next()), str(item["name"]), bot=True)
    world.users[bot.id] = bot
    return _register_app(world, item, bot)


def _app_token(item: dict[str, Any], bot: User) -> str:
    """A scenario token must be shaped like Discord's and name its bot (client libraries read the id
    from it); without one, a fresh token is made."""
    token = item.get("token")
    if token is None:
        return bot_token(bot.id, secret=secrets.token_hex(16), issued_at=int(time.time()))
    if token_bot_id(str(token)) != bot.id:
        raise ScenarioError(
            f"application {item['name']!r}: token is not a Discord-shaped token for bot id {bot.id} "
            "(base64 of the id . timestamp . HMAC; see devcord.tokens.bot_token, or omit `token`)"
        )
    return str(token)


def _register_app(world: World, item: dict[str, Any], bot: User) -> Application:
    app = Application(
        # A current application's id is its bot user's id.
        id=int(item.get("id") or bot.id),
        name=str(item["name"]),
        bot_user_id=bot.id,
        token=_app_token(item, bot),
        privileged_intents=I.parse(item.get("intents") or []) & I.PRIVILEGED,
        owner_id=world.user_named(item["owner"]).id if item.get("owner") else _first_person(world),
    )
    world.apps[app.id] = app
    return app


def _first_person(world: World) -> int:
    return next((u.id for u in world.users.values() if not u.bot), 0)


def _perms(value: Any, default: int) -> int:
    if value is None or value == "default":
        return default
    return P.parse_bits(value)


def _add_guild(world: World, item: dict[str, Any]) -> Guild:
    owner = world.user_named(item["owner"])
    guild = Guild(int(item.get("id") or world.ids.next()), str(item["name"]), owner.id)
    world.guilds[guild.id] = guild
    guild.roles[guild.id] = Role(
        guild.id, guild.id, "@everyone", _perms(item.get("everyone"), P.DEFAULT_EVERYONE)
    )
    roles = item.get("roles") or []
    for position, raw in enumerate(roles, start=1):
        role = Role(
            int(raw.get("id") or world.ids.next()),
            guild.id,
            str(raw["name"]),
            _perms(raw.get("permissions"), 0),
            # Listed first = highest, as in Discord's role list.
            position=len(roles) - position + 1,
            color=int(raw.get("color") or 0),
            managed=bool(raw.get("managed")),
            bot_id=_role_bot(world, raw),
        )
        guild.roles[role.id] = role
    by_name = {r.name: r.id for r in guild.roles.values()}
    members = item.get("members") or []
    if not any(m["user"] == owner.username for m in members):
        members = [{"user": owner.username}, *members]
    for raw in members:
        user = world.user_named(raw["user"])
        role_ids = [by_name[name] for name in raw.get("roles") or []]
        guild.members[user.id] = Member(user.id, guild.id, role_ids, joined_at=_joined(world))
    for position, raw in enumerate(item.get("channels") or []):
        _add_channel(world, guild, raw, position, by_name)
    return guild


def _role_bot(world: World, raw: dict[str, Any]) -> int | None:
    """A managed role is its bot's: the application named by `bot`, else the one with the role's name
    (Discord names a bot's role after the bot)."""
    if not raw.get("managed"):
        return None
    name = str(raw.get("bot") or raw["name"])
    for app in world.apps.values():
        if app.name == name:
            return app.bot_user_id
    raise ScenarioError(
        f"managed role {raw['name']!r}: no application named {name!r} (name the bot with `bot:`)"
    )


def _joined(world: World) -> float:
    return snowflake_time(world.ids.next())


def _add_channel(
    world: World, guild: Guild, raw: dict[str, Any], position: int, roles: dict[str, int]
) -> None:
    parent = raw.get("parent")
    parent_id = world.channel_named(parent).id if parent else None
    overwrites: dict[int, P.Overwrite] = {}
    for ow in raw.get("overwrites") or []:
        if "role" in ow:
            target, kind = (guild.id if ow["role"] == "@everyone" else roles[ow["role"]]), 0
        else:
            target, kind = world.user_named(ow["user"]).id, 1
        overwrites[target] = P.Overwrite(
            target, kind, P.parse_bits(ow.get("allow") or 0), P.parse_bits(ow.get("deny") or 0)
        )
    channel = Channel(
        id=int(raw.get("id") or world.ids.next()),
        type=_TYPES[raw.get("type", "text")],
        name=str(raw["name"]),
        guild_id=guild.id,
        position=position,
        parent_id=parent_id,
        topic=raw.get("topic"),
        overwrites=overwrites,
    )
    world.channels[channel.id] = channel
    guild.channel_ids.append(channel.id)
