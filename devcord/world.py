"""The state of one devcord instance and every mutation the REST and driver APIs share.

Each mutation that Discord would announce emits an `Event` whose `viewers` are fixed at that moment
(guild members who can VIEW_CHANNEL, DM recipients, the invoking bot...). Listeners (the gateway, the
driver's event feed) tailor and deliver it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

from devcord import guild_payloads as GP
from devcord import message_payloads as MP
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
)
from devcord.snowflake import SnowflakeFactory
from devcord.validation import stored_components, stored_embeds

log = logging.getLogger(__name__)

Listener = Callable[[Event], None]

NONCE_WINDOW_S = 300.0
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
        return MP.message_payload(self, msg, nested=nested)

    def gateway_message_payload(self, msg: Message) -> Json:
        return MP.gateway_message_payload(self, msg)

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
        MP.resolve_mentions(self, msg, channel, body.get("allowed_mentions"), perms)
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
        categories = V.snapshot(self, channel.guild_id, categories_only=True)
        self.channels[channel.id] = channel
        if channel.guild_id is not None:
            self.guilds[channel.guild_id].channel_ids.append(channel.id)
            V.emit_channel(self, "CHANNEL_CREATE", channel, V.sighted(self, channel))
            V.announce_changes(self, categories)
        return channel

    def update_channel(self, channel: Channel, change: Callable[[Channel], object]) -> Channel:
        """Everyone gets a CHANNEL_UPDATE: in full if they may view the channel after the change (the
        moment access is gained, the update carries the real channel), obfuscated otherwise. Categories
        whose visibility the change moved (old and new parent) are announced too."""
        categories = V.snapshot(self, channel.guild_id, categories_only=True)
        change(channel)
        V.emit_channel(self, "CHANNEL_UPDATE", channel, V.sighted(self, channel))
        V.announce_changes(self, categories, skip=channel.id)
        return channel

    def delete_channel(self, channel: Channel) -> None:
        categories = V.snapshot(self, channel.guild_id, categories_only=True)
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
            V.announce_changes(self, categories)

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
        sight = V.snapshot(self, guild.id)
        member.roles = [r for r in dict.fromkeys(roles) if r != guild.id]
        self.emit(
            "GUILD_MEMBER_UPDATE",
            self.member_event_payload(guild, member),
            guild_id=guild.id,
            viewers=self.guild_viewers(guild),
        )
        V.announce_changes(self, sight)

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

    def edit_role(self, guild: Guild, role: Role, changes: dict[str, Any]) -> None:
        sight = V.snapshot(self, guild.id) if "permissions" in changes else {}
        for key, value in changes.items():
            setattr(role, key, value)
        data = {"guild_id": str(guild.id), "role": role.payload()}
        self.emit("GUILD_ROLE_UPDATE", data, guild_id=guild.id, viewers=self.guild_viewers(guild))
        V.announce_changes(self, sight)

    def delete_role(self, guild: Guild, role: Role) -> None:
        sight = V.snapshot(self, guild.id)
        del guild.roles[role.id]
        for member in guild.members.values():
            if role.id in member.roles:
                member.roles.remove(role.id)
        data = {"guild_id": str(guild.id), "role_id": str(role.id)}
        self.emit("GUILD_ROLE_DELETE", data, guild_id=guild.id, viewers=self.guild_viewers(guild))
        V.announce_changes(self, sight)

    # -- guild snapshot for GUILD_CREATE -------------------------------------------------------------

    def guild_payload(self, guild: Guild, *, with_counts: bool = False) -> Json:
        return GP.guild_payload(self, guild, with_counts=with_counts)

    def guild_create_payload(self, guild: Guild, viewer_id: int, *, with_members: bool) -> Json:
        return GP.guild_create_payload(self, guild, viewer_id, with_members=with_members)

    def all_attachments(self) -> Iterable[Attachment]:
        for channel_messages in self.messages.values():
            for msg in channel_messages.values():
                yield from msg.attachments
        for msg in self.ephemeral.values():
            yield from msg.attachments
