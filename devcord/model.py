"""The stored objects of a devcord world and their Discord v10 JSON shapes (ids as strings)."""

from __future__ import annotations

import datetime as dt
import mimetypes
from dataclasses import dataclass, field
from typing import Any

from devcord.forms import objects, snowflake
from devcord.intents import application_flags
from devcord.permissions import Overwrite
from devcord.snowflake import DISCORD_EPOCH_MS

Json = dict[str, Any]

# Channel types (Discord "Channel Object > Channel Types").
GUILD_TEXT = 0
DM = 1
GUILD_CATEGORY = 4

# Message flags.
EPHEMERAL = 1 << 6
LOADING = 1 << 7


def iso(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).isoformat()


def snowflake_time(snowflake: int) -> float:
    return ((snowflake >> 22) + DISCORD_EPOCH_MS) / 1000


@dataclass
class User:
    id: int
    username: str
    bot: bool = False
    global_name: str | None = None

    def payload(self) -> Json:
        out: Json = {
            "id": str(self.id),
            "username": self.username,
            "discriminator": "0",
            "global_name": self.global_name,
            "avatar": None,
            "public_flags": 0,
            "flags": 0,
            "avatar_decoration_data": None,
            "banner": None,
            "accent_color": None,
            "primary_guild": None,
        }
        if self.bot:
            out["bot"] = True
        return out


@dataclass
class Application:
    id: int
    name: str
    bot_user_id: int
    token: str
    # Privileged intents the application has been granted in the (imaginary) developer portal.
    privileged_intents: int = 0
    owner_id: int = 0
    global_commands: dict[int, Json] = field(default_factory=dict)
    guild_commands: dict[int, dict[int, Json]] = field(default_factory=dict)

    def payload(self, bot: User, owner: User, *, guild_count: int = 0) -> Json:
        """The current application ("Get Current Application"): what Discord sends its own bot."""
        flags = application_flags(self.privileged_intents)
        return {
            "id": str(self.id),
            "name": self.name,
            "icon": None,
            "description": "",
            "type": None,
            "rpc_origins": [],
            "bot_public": False,
            "bot_require_code_grant": False,
            "bot": bot.payload(),
            "verify_key": "0" * 64,
            "flags": flags,
            "flags_new": str(flags),
            "owner": owner.payload(),
            "team": None,
            "tags": [],
            "redirect_uris": [],
            "interactions_endpoint_url": None,
            "role_connections_verification_url": None,
            "event_webhooks_url": None,
            "event_webhooks_status": 1,
            "approximate_guild_count": guild_count,
            "approximate_user_install_count": 0,
            "approximate_user_authorization_count": 0,
            "explicit_content_filter": 0,
            "integration_types_config": {"0": {}},
            "eligible_oauth2_scopes": ["bot", "applications.commands"],
        }


@dataclass
class Role:
    id: int
    guild_id: int
    name: str
    permissions: int
    position: int = 0
    color: int = 0
    hoist: bool = False
    mentionable: bool = False
    managed: bool = False
    # The bot a managed role belongs to (the role Discord creates when the bot joins): `tags.bot_id`.
    bot_id: int | None = None

    def payload(self) -> Json:
        out: Json = {
            "id": str(self.id),
            "name": self.name,
            "color": self.color,
            "colors": {"primary_color": self.color, "secondary_color": None, "tertiary_color": None},
            "hoist": self.hoist,
            "icon": None,
            "unicode_emoji": None,
            "position": self.position,
            "permissions": str(self.permissions),
            "managed": self.managed,
            "mentionable": self.mentionable,
            "flags": 0,
        }
        if self.bot_id is not None:
            out["tags"] = {"bot_id": str(self.bot_id)}
        return out


@dataclass
class Member:
    user_id: int
    guild_id: int
    roles: list[int] = field(default_factory=list)
    nick: str | None = None
    joined_at: float = 0.0

    def payload(self, user: User | None = None) -> Json:
        out: Json = {
            "roles": [str(r) for r in self.roles],
            "nick": self.nick,
            "avatar": None,
            "banner": None,
            "joined_at": iso(self.joined_at),
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "flags": 0,
            "pending": False,
            "communication_disabled_until": None,
        }
        if user is not None:
            out["user"] = user.payload()
        return out


@dataclass
class Channel:
    id: int
    type: int
    name: str | None
    guild_id: int | None = None
    position: int = 0
    parent_id: int | None = None
    topic: str | None = None
    nsfw: bool = False
    overwrites: dict[int, Overwrite] = field(default_factory=dict)
    recipients: list[int] = field(default_factory=list)
    last_message_id: int | None = None

    def payload(self, users: dict[int, User] | None = None) -> Json:
        if self.type == DM:
            return {
                "id": str(self.id),
                "type": DM,
                "last_message_id": _opt(self.last_message_id),
                "recipients": [users[r].payload() for r in self.recipients if users and r in users],
                "flags": 0,
            }
        out: Json = {
            "id": str(self.id),
            "type": self.type,
            "guild_id": str(self.guild_id),
            "name": self.name,
            "position": self.position,
            "permission_overwrites": [ow.payload() for ow in self.overwrites.values()],
            "parent_id": _opt(self.parent_id),
            "nsfw": self.nsfw,
            "flags": 0,
        }
        if self.type != GUILD_CATEGORY:
            out.update(
                topic=self.topic,
                last_message_id=_opt(self.last_message_id),
                rate_limit_per_user=0,
            )
        return out


# Python's built-in table only (an instance reads no system mime.types), so every machine agrees.
_MEDIA_TYPES = mimetypes.MimeTypes()
_GENERIC = {None, "", "application/octet-stream"}


def media_type(filename: str, declared: str | None) -> str | None:
    """An upload's `content_type` as Discord reports it: derived from the file name's extension (client
    libraries such as discord.py send every file as application/octet-stream), text with its charset;
    a specific type the uploader declared wins, and an unknown extension keeps what was declared."""
    if declared not in _GENERIC:
        return declared
    guessed, _ = _MEDIA_TYPES.guess_type(filename, strict=False)
    if guessed is None:
        return declared or None
    return f"{guessed}; charset=utf-8" if guessed.startswith("text/") else guessed


@dataclass
class Attachment:
    id: int
    filename: str
    content_type: str | None
    data: bytes
    description: str | None = None

    def payload(self, base_url: str, channel_id: int) -> Json:
        url = f"{base_url}/attachments/{channel_id}/{self.id}/{self.filename}"
        out: Json = {
            "id": str(self.id),
            "filename": self.filename,
            "size": len(self.data),
            "url": url,
            "proxy_url": url,
        }
        if self.content_type:
            out["content_type"] = self.content_type
        if self.description:
            out["description"] = self.description
        return out


@dataclass
class Message:
    id: int
    channel_id: int
    guild_id: int | None
    author_id: int
    content: str
    type: int = 0
    embeds: list[Json] = field(default_factory=list)
    components: list[Json] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    flags: int = 0
    nonce: str | int | None = None
    mentions: list[int] = field(default_factory=list)
    mention_roles: list[int] = field(default_factory=list)
    mention_everyone: bool = False
    edited_at: float | None = None
    webhook_id: int | None = None
    application_id: int | None = None
    interaction_metadata: Json | None = None
    message_reference: Json | None = None
    pinned_at: float | None = None
    # Earlier versions, oldest first, so tests can see every streaming edit.
    history: list[Json] = field(default_factory=list)
    deleted: bool = False

    @property
    def timestamp(self) -> float:
        return snowflake_time(self.id)

    def snapshot(self) -> Json:
        return {
            "content": self.content,
            "embeds": self.embeds,
            "components": self.components,
            "flags": self.flags,
            "edited_at": self.edited_at,
        }


def _opt(value: int | None) -> str | None:
    return None if value is None else str(value)


@dataclass
class Guild:
    id: int
    name: str
    owner_id: int
    roles: dict[int, Role] = field(default_factory=dict)
    members: dict[int, Member] = field(default_factory=dict)
    channel_ids: list[int] = field(default_factory=list)
    bans: dict[int, str | None] = field(default_factory=dict)

    @property
    def everyone(self) -> Role:
        return self.roles[self.id]


@dataclass
class Event:
    """One gateway dispatch as it happened, before it is tailored to each connection."""

    name: str
    data: Json
    guild_id: int | None
    # Users allowed to receive it, fixed when it happened (VIEW_CHANNEL, guild membership, invoker...).
    viewers: frozenset[int]
    message: Message | None = None
    seq: int = 0


def merge_attachments(msg: Message, body: Json, files: list[Attachment] | None) -> list[Attachment] | None:
    """On edit, `attachments` lists the existing ones to keep; uploaded files are added to them."""
    if "attachments" not in body and not files:
        return None
    kept_items = objects(body.get("attachments") or [], "attachments")
    keep_ids = {snowflake(a["id"], f"attachments.{i}.id") for i, a in enumerate(kept_items) if "id" in a}
    kept = (
        [a for a in msg.attachments if a.id in keep_ids] if "attachments" in body else list(msg.attachments)
    )
    return kept + list(files or [])
