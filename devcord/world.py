"""The state of one devcord instance and every mutation the REST and driver APIs share.

Each mutation that Discord would announce emits an `Event` whose `viewers` are fixed at that moment
(guild members who can VIEW_CHANNEL, DM recipients, the invoking bot...). Listeners (the gateway, the
driver's event feed) tailor and deliver it.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterable
from typing import Any

from devcord import permissions as P
from devcord import visibility as V
from devcord.errors import (
    CANNOT_EDIT_OTHERS_MESSAGE,
    UNKNOWN_CHANNEL,
    UNKNOWN_GUILD,
    UNKNOWN_MEMBER,
    UNKNOWN_MESSAGE,
    UNKNOWN_ROLE,
    UNKNOWN_USER,
    ApiError,
    missing_access,
    missing_permissions,
    unknown,
)
from devcord.model import (
    DM,
    EPHEMERAL,
    Application,
    Attachment,
    Channel,
    Event,
    Guild,
    Json,
    Member,
    Message,
    Role,
    User,
    iso,
)
from devcord.snowflake import SnowflakeFactory
from devcord.validation import stored_components, stored_embeds

log = logging.getLogger(__name__)

Listener = Callable[[Event], None]

NONCE_WINDOW_S = 300.0
_USER_MENTION = re.compile(r"<@!?(\d+)>")
_ROLE_MENTION = re.compile(r"<@&(\d+)>")
_DM_PERMS = (
    P.VIEW_CHANNEL
    | P.SEND_MESSAGES
    | P.READ_MESSAGE_HISTORY
    | P.ATTACH_FILES
    | P.EMBED_LINKS
    | P.ADD_REACTIONS
)


class World:
    """Every guild, user, channel and message, plus the event fan-out."""

    def __init__(self) -> None:
        self.ids = SnowflakeFactory()
        self.users: dict[int, User] = {}
        self.apps: dict[int, Application] = {}
        self.guilds: dict[int, Guild] = {}
        self.channels: dict[int, Channel] = {}
        self.messages: dict[int, dict[int, Message]] = {}
        # Ephemeral messages live outside channel history, found by id for webhook edits.
        self.ephemeral: dict[int, Message] = {}
        self.listeners: list[Listener] = []
        self.base_url = ""
        self._event_seq = 0
        self._nonces: dict[tuple[int, int, str], tuple[float, int]] = {}

    # -- lookups -------------------------------------------------------------------------------------

    def user(self, user_id: int) -> User:
        try:
            return self.users[user_id]
        except KeyError:
            raise unknown(UNKNOWN_USER, "User") from None

    def user_named(self, ref: str | int) -> User:
        """Find a user by id or username (driver convenience)."""
        if isinstance(ref, int) or str(ref).isdigit():
            return self.user(int(ref))
        for user in self.users.values():
            if user.username == ref:
                return user
        raise unknown(UNKNOWN_USER, "User")

    def app_for_token(self, token: str) -> Application | None:
        for app in self.apps.values():
            if app.token == token:
                return app
        return None

    def app_of_user(self, user_id: int) -> Application | None:
        for app in self.apps.values():
            if app.bot_user_id == user_id:
                return app
        return None

    def guild(self, guild_id: int) -> Guild:
        try:
            return self.guilds[guild_id]
        except KeyError:
            raise unknown(UNKNOWN_GUILD, "Guild") from None

    def channel(self, channel_id: int) -> Channel:
        try:
            return self.channels[channel_id]
        except KeyError:
            raise unknown(UNKNOWN_CHANNEL, "Channel") from None

    def channel_named(self, ref: str | int) -> Channel:
        if isinstance(ref, int) or str(ref).isdigit():
            return self.channel(int(ref))
        for channel in self.channels.values():
            if channel.name == ref:
                return channel
        raise unknown(UNKNOWN_CHANNEL, "Channel")

    def member(self, guild: Guild, user_id: int) -> Member:
        try:
            return guild.members[user_id]
        except KeyError:
            raise unknown(UNKNOWN_MEMBER, "Member") from None

    def role(self, guild: Guild, role_id: int) -> Role:
        try:
            return guild.roles[role_id]
        except KeyError:
            raise unknown(UNKNOWN_ROLE, "Role") from None

    def message(self, channel_id: int, message_id: int) -> Message:
        msg = self.messages.get(channel_id, {}).get(message_id)
        if msg is None or msg.deleted:
            raise unknown(UNKNOWN_MESSAGE, "Message")
        return msg

    # -- permissions ---------------------------------------------------------------------------------

    def guild_permissions(self, guild: Guild, user_id: int) -> int:
        member = guild.members.get(user_id)
        if member is None:
            return 0
        roles = [guild.roles[r].permissions for r in member.roles if r in guild.roles]
        return P.base_permissions(guild.everyone.permissions, roles, is_owner=user_id == guild.owner_id)

    def permissions(self, channel: Channel, user_id: int) -> int:
        if channel.type == DM:
            return _DM_PERMS if user_id in channel.recipients else 0
        assert channel.guild_id is not None
        guild = self.guilds[channel.guild_id]
        member = guild.members.get(user_id)
        if member is None:
            return 0
        return P.channel_permissions(
            self.guild_permissions(guild, user_id),
            channel.overwrites,
            guild_id=guild.id,
            member_id=user_id,
            member_role_ids=member.roles,
        )

    def can_view(self, channel: Channel, user_id: int) -> bool:
        return bool(self.permissions(channel, user_id) & P.VIEW_CHANNEL)

    def require(self, channel: Channel, user_id: int, needed: int) -> int:
        """Raise Discord's 403 (50001 when the channel is invisible, else 50013) unless `needed` is held."""
        perms = self.permissions(channel, user_id)
        if not perms & P.VIEW_CHANNEL:
            raise missing_access()
        if perms & needed != needed:
            raise missing_permissions()
        return perms

    def require_guild(self, guild: Guild, user_id: int, needed: int) -> int:
        if user_id not in guild.members:
            raise missing_access()
        perms = self.guild_permissions(guild, user_id)
        if perms & needed != needed:
            raise missing_permissions()
        return perms

    def viewers(self, channel: Channel) -> frozenset[int]:
        if channel.type == DM:
            return frozenset(channel.recipients)
        assert channel.guild_id is not None
        guild = self.guilds[channel.guild_id]
        return frozenset(uid for uid in guild.members if self.can_view(channel, uid))

    def highest_role_position(self, guild: Guild, user_id: int) -> int:
        if user_id == guild.owner_id:
            return 1 << 30
        member = guild.members.get(user_id)
        if member is None:
            return -1
        return max((guild.roles[r].position for r in member.roles if r in guild.roles), default=0)

    # -- events --------------------------------------------------------------------------------------

    def emit(
        self,
        name: str,
        data: Json,
        *,
        guild_id: int | None,
        viewers: Iterable[int],
        message: Message | None = None,
    ) -> Event:
        self._event_seq += 1
        event = Event(name, data, guild_id, frozenset(viewers), message, self._event_seq)
        for listener in list(self.listeners):
            try:
                listener(event)
            except Exception:
                # One broken listener must not stop delivery to the others.
                log.exception("event listener failed for %s", name)
        return event

    def guild_viewers(self, guild: Guild) -> frozenset[int]:
        return frozenset(guild.members)

    # -- payloads ------------------------------------------------------------------------------------

    def message_payload(self, msg: Message, *, nested: bool = False) -> Json:
        author = self.users[msg.author_id]
        out: Json = {
            "id": str(msg.id),
            "type": msg.type,
            "channel_id": str(msg.channel_id),
            "author": author.payload(),
            "content": msg.content,
            "timestamp": iso(msg.timestamp),
            "edited_timestamp": None if msg.edited_at is None else iso(msg.edited_at),
            "tts": False,
            "mention_everyone": msg.mention_everyone,
            "mentions": [self.users[u].payload() for u in msg.mentions if u in self.users],
            "mention_roles": [str(r) for r in msg.mention_roles],
            "attachments": [a.payload(self.base_url, msg.channel_id) for a in msg.attachments],
            "embeds": msg.embeds,
            "components": msg.components,
            "pinned": msg.pinned_at is not None,
            "flags": msg.flags,
        }
        if msg.nonce is not None:
            out["nonce"] = msg.nonce
        if msg.webhook_id is not None:
            out["webhook_id"] = str(msg.webhook_id)
        if msg.application_id is not None:
            out["application_id"] = str(msg.application_id)
        if msg.interaction_metadata is not None:
            out["interaction_metadata"] = msg.interaction_metadata
        if msg.message_reference is not None:
            out["message_reference"] = msg.message_reference
            if msg.type == 19:
                ref = self.messages.get(msg.channel_id, {}).get(
                    int(msg.message_reference.get("message_id") or 0)
                )
                # The replied-to message, one level deep; null when it was deleted ("Message Object").
                out["referenced_message"] = (
                    None if ref is None or ref.deleted or nested else self.message_payload(ref, nested=True)
                )
        return out

    def gateway_message_payload(self, msg: Message) -> Json:
        """MESSAGE_CREATE/UPDATE carry `guild_id` and the author's partial `member` in guilds (REST
        message objects carry neither)."""
        out = self.message_payload(msg)
        if msg.guild_id is not None:
            out["guild_id"] = str(msg.guild_id)
            member = self.guilds[msg.guild_id].members.get(msg.author_id)
            if member is not None and msg.webhook_id is None:
                out["member"] = member.payload()
        return out

    # -- messages ------------------------------------------------------------------------------------

    def find_nonce(self, channel_id: int, author_id: int, nonce: str | int) -> Message | None:
        hit = self._nonces.get((channel_id, author_id, str(nonce)))
        if hit is None or time.time() - hit[0] > NONCE_WINDOW_S:
            return None
        found = self.messages.get(channel_id, {}).get(hit[1])
        return found if found is not None and not found.deleted else None

    def create_message(
        self,
        channel: Channel,
        author_id: int,
        body: Json,
        attachments: list[Attachment],
        *,
        perms: int = P.ALL,
        **extra: Any,
    ) -> Message:
        """Store and announce a message; `perms` are the author's (they decide which mentions ping)."""
        if body.get("enforce_nonce") and body.get("nonce") is not None:
            original = self.find_nonce(channel.id, author_id, body["nonce"])
            if original is not None:
                return original
        msg = Message(
            id=self.ids.next(),
            channel_id=channel.id,
            guild_id=channel.guild_id,
            author_id=author_id,
            content=body.get("content") or "",
            embeds=stored_embeds(list(body.get("embeds") or [])),
            components=stored_components(list(body.get("components") or [])),
            attachments=attachments,
            flags=int(body.get("flags") or 0),
            nonce=body.get("nonce"),
            message_reference=body.get("message_reference"),
            **extra,
        )
        if msg.message_reference is not None:
            msg.type = 19 if msg.type == 0 else msg.type
            ref = msg.message_reference
            # The reference as Discord answers it: type 0 (DEFAULT, a reply) plus where it points.
            msg.message_reference = {
                "type": int(ref.get("type") or 0),
                "channel_id": str(ref.get("channel_id") or channel.id),
            }
            if ref.get("message_id") is not None:
                msg.message_reference["message_id"] = str(ref["message_id"])
            if channel.guild_id is not None:
                msg.message_reference["guild_id"] = str(channel.guild_id)
        self._resolve_mentions(msg, channel, body.get("allowed_mentions"), perms)
        if msg.flags & EPHEMERAL:
            self.ephemeral[msg.id] = msg
            return msg
        self.messages.setdefault(channel.id, {})[msg.id] = msg
        channel.last_message_id = msg.id
        if msg.nonce is not None:
            self._nonces[(channel.id, author_id, str(msg.nonce))] = (time.time(), msg.id)
        self.emit(
            "MESSAGE_CREATE",
            self.gateway_message_payload(msg),
            guild_id=channel.guild_id,
            viewers=self.viewers(channel),
            message=msg,
        )
        return msg

    def _resolve_mentions(self, msg: Message, channel: Channel, allowed: Json | None, perms: int) -> None:
        parse = None if allowed is None else set(allowed.get("parse") or [])
        users = [int(u) for u in _USER_MENTION.findall(msg.content)]
        roles = [int(r) for r in _ROLE_MENTION.findall(msg.content)]
        if parse is not None:
            explicit_users = {int(u) for u in allowed.get("users") or []} if allowed else set()
            explicit_roles = {int(r) for r in allowed.get("roles") or []} if allowed else set()
            users = [u for u in users if "users" in parse or u in explicit_users]
            roles = [r for r in roles if "roles" in parse or r in explicit_roles]
        if allowed and allowed.get("replied_user") and msg.message_reference:
            ref = self.messages.get(channel.id, {}).get(int(msg.message_reference.get("message_id", 0)))
            if ref is not None:
                users.append(ref.author_id)
        msg.mentions = list(dict.fromkeys(u for u in users if u in self.users))
        msg.mention_roles = list(dict.fromkeys(roles))
        wants_everyone = "@everyone" in msg.content or "@here" in msg.content
        msg.mention_everyone = (
            wants_everyone and bool(perms & P.MENTION_EVERYONE) and (parse is None or "everyone" in parse)
        )

    def edit_message(
        self, msg: Message, editor_id: int, body: Json, attachments: list[Attachment] | None
    ) -> Message:
        if msg.author_id != editor_id and not msg.flags & EPHEMERAL and msg.webhook_id is None:
            raise ApiError(403, CANNOT_EDIT_OTHERS_MESSAGE, "Cannot edit a message authored by another user")
        msg.history.append(msg.snapshot())
        if "content" in body:
            msg.content = body["content"] or ""
        if "embeds" in body:
            msg.embeds = stored_embeds(list(body["embeds"] or []))
        if "components" in body:
            msg.components = stored_components(list(body["components"] or []))
        if "flags" in body and body["flags"] is not None:
            # Only SUPPRESS_EMBEDS may be toggled; the loading flag goes once the response is edited.
            msg.flags = (msg.flags & EPHEMERAL) | (int(body["flags"]) & (1 << 2))
        else:
            msg.flags &= ~(1 << 7)
        if attachments is not None:
            msg.attachments = attachments
        msg.edited_at = time.time()
        if msg.flags & EPHEMERAL:
            return msg
        channel = self.channels[msg.channel_id]
        self.emit(
            "MESSAGE_UPDATE",
            self.gateway_message_payload(msg),
            guild_id=channel.guild_id,
            viewers=self.viewers(channel),
            message=msg,
        )
        return msg

    def delete_message(self, msg: Message) -> None:
        msg.deleted = True
        if msg.flags & EPHEMERAL:
            return
        channel = self.channels[msg.channel_id]
        data: Json = {"id": str(msg.id), "channel_id": str(channel.id)}
        if channel.guild_id is not None:
            data["guild_id"] = str(channel.guild_id)
        self.emit("MESSAGE_DELETE", data, guild_id=channel.guild_id, viewers=self.viewers(channel))

    def history(self, channel: Channel) -> list[Message]:
        """Live messages, newest first (the order GET /channels/{id}/messages answers in)."""
        live = [m for m in self.messages.get(channel.id, {}).values() if not m.deleted]
        return sorted(live, key=lambda m: m.id, reverse=True)

    # -- channels ------------------------------------------------------------------------------------

    def channel_payload(self, channel: Channel) -> Json:
        return channel.payload(self.users)

    def dm_payload(self, channel: Channel, viewer_id: int) -> Json:
        """A DM as its viewer gets it: `recipients` lists the other side, never the viewer."""
        out = channel.payload(self.users)
        if channel.type == DM:
            out["recipients"] = [r for r in out["recipients"] if r["id"] != str(viewer_id)]
        return out

    def channel_view(self, channel: Channel, user_id: int) -> Json:
        return V.channel_view(self, channel, user_id)

    def add_channel(self, channel: Channel) -> Channel:
        parent = V.parent_of(self, channel)
        parent_before = V.sighted(self, parent) if parent is not None else frozenset()
        self.channels[channel.id] = channel
        if channel.guild_id is not None:
            self.guilds[channel.guild_id].channel_ids.append(channel.id)
            V.emit_channel(self, "CHANNEL_CREATE", channel, V.sighted(self, channel))
            V.announce_parent_change(self, parent, parent_before)
        return channel

    def update_channel(self, channel: Channel, change: Callable[[Channel], object]) -> Channel:
        """Everyone gets a CHANNEL_UPDATE: in full if they may view the channel after the change (the
        moment access is gained, the update carries the real channel), obfuscated otherwise."""
        parent = V.parent_of(self, channel)
        parent_before = V.sighted(self, parent) if parent is not None else frozenset()
        change(channel)
        V.emit_channel(self, "CHANNEL_UPDATE", channel, V.sighted(self, channel))
        V.announce_parent_change(self, parent, parent_before)
        return channel

    def delete_channel(self, channel: Channel) -> None:
        parent = V.parent_of(self, channel)
        parent_before = V.sighted(self, parent) if parent is not None else frozenset()
        full = V.sighted(self, channel)
        payload = self.channel_payload(channel)
        hidden = V.obfuscated(channel) if channel.guild_id is not None else None
        del self.channels[channel.id]
        if channel.guild_id is not None:
            self.guilds[channel.guild_id].channel_ids.remove(channel.id)
            everyone = frozenset(self.guilds[channel.guild_id].members)
            self.emit("CHANNEL_DELETE", payload, guild_id=channel.guild_id, viewers=full)
            if everyone - full:
                self.emit("CHANNEL_DELETE", hidden or {}, guild_id=channel.guild_id, viewers=everyone - full)
            V.announce_parent_change(self, parent, parent_before)

    def dm_channel(self, user_a: int, user_b: int) -> Channel:
        pair = sorted({user_a, user_b})
        for channel in self.channels.values():
            if channel.type == DM and sorted(channel.recipients) == pair:
                return channel
        channel = Channel(id=self.ids.next(), type=DM, name=None, recipients=pair)
        self.channels[channel.id] = channel
        return channel

    # -- members and roles ---------------------------------------------------------------------------

    def member_payload(self, guild: Guild, member: Member) -> Json:
        """The REST guild member object (no `guild_id`)."""
        return member.payload(self.users[member.user_id])

    def member_event_payload(self, guild: Guild, member: Member) -> Json:
        """GUILD_MEMBER_ADD/UPDATE carry the member plus `guild_id`."""
        return self.member_payload(guild, member) | {"guild_id": str(guild.id)}

    def add_member(self, guild: Guild, user_id: int, roles: list[int] | None = None) -> Member:
        member = Member(user_id=user_id, guild_id=guild.id, roles=list(roles or []), joined_at=time.time())
        guild.members[user_id] = member
        self.emit(
            "GUILD_MEMBER_ADD",
            self.member_event_payload(guild, member),
            guild_id=guild.id,
            viewers=guild.members,
        )
        return member

    def set_member_roles(self, guild: Guild, member: Member, roles: list[int]) -> None:
        for role_id in roles:
            self.role(guild, role_id)
        member.roles = [r for r in dict.fromkeys(roles) if r != guild.id]
        self.emit(
            "GUILD_MEMBER_UPDATE",
            self.member_event_payload(guild, member),
            guild_id=guild.id,
            viewers=self.guild_viewers(guild),
        )

    def remove_member(self, guild: Guild, user_id: int) -> None:
        viewers = self.guild_viewers(guild)
        guild.members.pop(user_id, None)
        data = {"guild_id": str(guild.id), "user": self.users[user_id].payload()}
        self.emit("GUILD_MEMBER_REMOVE", data, guild_id=guild.id, viewers=viewers)

    def ban(self, guild: Guild, user_id: int, reason: str | None) -> None:
        user = self.user(user_id)
        guild.bans[user_id] = reason
        viewers = self.guild_viewers(guild)
        if user_id in guild.members:
            self.remove_member(guild, user_id)
        data = {"guild_id": str(guild.id), "user": user.payload()}
        self.emit("GUILD_BAN_ADD", data, guild_id=guild.id, viewers=viewers)

    def unban(self, guild: Guild, user_id: int) -> None:
        guild.bans.pop(user_id)
        data = {"guild_id": str(guild.id), "user": self.user(user_id).payload()}
        self.emit("GUILD_BAN_REMOVE", data, guild_id=guild.id, viewers=self.guild_viewers(guild))

    def add_role(self, guild: Guild, name: str, permissions: int, **fields: Any) -> Role:
        position = fields.pop("position", max((r.position for r in guild.roles.values()), default=0) + 1)
        role = Role(self.ids.next(), guild.id, name, permissions, position=position, **fields)
        guild.roles[role.id] = role
        data = {"guild_id": str(guild.id), "role": role.payload()}
        self.emit("GUILD_ROLE_CREATE", data, guild_id=guild.id, viewers=self.guild_viewers(guild))
        return role

    def update_role(self, guild: Guild, role: Role) -> None:
        data = {"guild_id": str(guild.id), "role": role.payload()}
        self.emit("GUILD_ROLE_UPDATE", data, guild_id=guild.id, viewers=self.guild_viewers(guild))

    def delete_role(self, guild: Guild, role: Role) -> None:
        del guild.roles[role.id]
        for member in guild.members.values():
            if role.id in member.roles:
                member.roles.remove(role.id)
        data = {"guild_id": str(guild.id), "role_id": str(role.id)}
        self.emit("GUILD_ROLE_DELETE", data, guild_id=guild.id, viewers=self.guild_viewers(guild))

    # -- guild snapshot for GUILD_CREATE -------------------------------------------------------------

    def guild_payload(self, guild: Guild, *, with_counts: bool = False) -> Json:
        """The REST guild object ("Get Guild"): no gateway-only fields; counts only when asked for."""
        out: Json = {
            "id": str(guild.id),
            "name": guild.name,
            "icon": None,
            "description": None,
            "home_header": None,
            "splash": None,
            "discovery_splash": None,
            "features": [],
            "banner": None,
            "owner_id": str(guild.owner_id),
            "application_id": None,
            "region": "deprecated",
            "afk_channel_id": None,
            "afk_timeout": 300,
            "system_channel_id": None,
            "system_channel_flags": 0,
            "widget_enabled": False,
            "widget_channel_id": None,
            "verification_level": 0,
            "roles": [r.payload() for r in guild.roles.values()],
            "default_message_notifications": 0,
            "mfa_level": 0,
            "explicit_content_filter": 0,
            "max_presences": None,
            "max_members": 500000,
            "max_stage_video_channel_users": 50,
            "max_video_channel_users": 25,
            "vanity_url_code": None,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "preferred_locale": "en-US",
            "rules_channel_id": None,
            "safety_alerts_channel_id": None,
            "public_updates_channel_id": None,
            "premium_progress_bar_enabled": False,
            "nsfw": False,
            "nsfw_level": 0,
            "emojis": [],
            "stickers": [],
            "incidents_data": None,
        }
        if with_counts:
            # devcord has no presences; every member counts as offline.
            out.update(approximate_member_count=len(guild.members), approximate_presence_count=0)
        return out

    def guild_create_payload(self, guild: Guild, viewer_id: int, *, with_members: bool) -> Json:
        """GUILD_CREATE: the guild plus the gateway-only fields. Channels the viewer cannot see are sent
        obfuscated ("Channel Visibility"), so the list is complete but their details are not."""
        viewer = guild.members[viewer_id]
        members = list(guild.members.values()) if with_members else [viewer]
        return self.guild_payload(guild) | {
            "joined_at": iso(viewer.joined_at),
            "large": False,
            "unavailable": False,
            "member_count": len(guild.members),
            "members": [self.member_payload(guild, m) for m in members],
            "channels": [self.channel_view(self.channels[c], viewer_id) for c in guild.channel_ids],
            "threads": [],
            "presences": [],
            "voice_states": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
        }

    def all_attachments(self) -> Iterable[Attachment]:
        for channel_messages in self.messages.values():
            for msg in channel_messages.values():
                yield from msg.attachments
        for msg in self.ephemeral.values():
            yield from msg.attachments
