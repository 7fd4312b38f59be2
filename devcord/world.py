"""The state of one devcord instance and every mutation the REST and driver APIs share.

Each mutation that Discord would announce emits an `Event` whose `viewers` are fixed at that moment
(guild members who can VIEW_CHANNEL, DM recipients, the invoking bot...). Listeners (the gateway, the
driver's event feed) tailor and deliver it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from devcord import guild_payloads as GP
from devcord import membership as MB
from devcord import message_payloads as MP
from devcord import message_store as MS
from devcord import permissions as P
from devcord import visibility as V
from devcord.errors import (
    UNKNOWN_CHANNEL,
    UNKNOWN_GUILD,
    UNKNOWN_MEMBER,
    UNKNOWN_MESSAGE,
    UNKNOWN_ROLE,
    UNKNOWN_USER,
    missing_access,
    missing_permissions,
    unknown,
)
from devcord.model import (
    DM,
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

log = logging.getLogger(__name__)

Listener = Callable[[Event], None]

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
        # (channel, author, nonce) -> (when, message id), for `enforce_nonce` (devcord/message_store.py).
        self.nonces: dict[tuple[int, int, str], tuple[float, int]] = {}

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
        return MS.find_nonce(self, channel_id, author_id, nonce)

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
        return MS.create_message(self, channel, author_id, body, attachments, perms=perms, **extra)

    def edit_message(
        self, msg: Message, editor_id: int, body: Json, attachments: list[Attachment] | None
    ) -> Message:
        return MS.edit_message(self, msg, editor_id, body, attachments)

    def delete_message(self, msg: Message) -> None:
        MS.delete_message(self, msg)

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
        return MB.add_member(self, guild, user_id, roles)

    def set_member_roles(self, guild: Guild, member: Member, roles: list[int]) -> None:
        MB.set_member_roles(self, guild, member, roles)

    def remove_member(self, guild: Guild, user_id: int) -> None:
        MB.remove_member(self, guild, user_id)

    def ban(self, guild: Guild, user_id: int, reason: str | None) -> None:
        MB.ban(self, guild, user_id, reason)

    def unban(self, guild: Guild, user_id: int) -> None:
        MB.unban(self, guild, user_id)

    def add_role(self, guild: Guild, name: str, permissions: int, **fields: Any) -> Role:
        return MB.add_role(self, guild, name, permissions, **fields)

    def edit_role(self, guild: Guild, role: Role, changes: dict[str, Any]) -> None:
        MB.edit_role(self, guild, role, changes)

    def delete_role(self, guild: Guild, role: Role) -> None:
        MB.delete_role(self, guild, role)

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
