"""Message objects as Discord sends them: the REST message (no `guild_id`/`member`), the gateway's
MESSAGE_CREATE/UPDATE (with both), and who a message mentions ("Allowed Mentions")."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from devcord import permissions as P
from devcord.model import Channel, Json, Message, iso

if TYPE_CHECKING:
    from devcord.world import World

_USER_MENTION = re.compile(r"<@!?(\d+)>")
_ROLE_MENTION = re.compile(r"<@&(\d+)>")


def message_payload(world: World, msg: Message, *, nested: bool = False) -> Json:
    author = world.users[msg.author_id]
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
        "mentions": [world.users[u].payload() for u in msg.mentions if u in world.users],
        "mention_roles": [str(r) for r in msg.mention_roles],
        "attachments": [a.payload(world.base_url, msg.channel_id) for a in msg.attachments],
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
            ref = world.messages.get(msg.channel_id, {}).get(
                int(msg.message_reference.get("message_id") or 0)
            )
            # The replied-to message, one level deep; null when it was deleted ("Message Object").
            out["referenced_message"] = (
                None if ref is None or ref.deleted or nested else message_payload(world, ref, nested=True)
            )
    return out


def gateway_message_payload(world: World, msg: Message) -> Json:
    """MESSAGE_CREATE/UPDATE carry `guild_id` and the author's partial `member` in guilds (REST
    message objects carry neither)."""
    out = message_payload(world, msg)
    if msg.guild_id is not None:
        out["guild_id"] = str(msg.guild_id)
        member = world.guilds[msg.guild_id].members.get(msg.author_id)
        if member is not None and msg.webhook_id is None:
            out["member"] = member.payload()
    return out


def resolve_mentions(world: World, msg: Message, channel: Channel, allowed: Json | None, perms: int) -> None:
    parse = None if allowed is None else set(allowed.get("parse") or [])
    users = [int(u) for u in _USER_MENTION.findall(msg.content)]
    roles = [int(r) for r in _ROLE_MENTION.findall(msg.content)]
    if parse is not None:
        explicit_users = {int(u) for u in allowed.get("users") or []} if allowed else set()
        explicit_roles = {int(r) for r in allowed.get("roles") or []} if allowed else set()
        users = [u for u in users if "users" in parse or u in explicit_users]
        roles = [r for r in roles if "roles" in parse or r in explicit_roles]
    if allowed and allowed.get("replied_user") and msg.message_reference:
        ref = world.messages.get(channel.id, {}).get(int(msg.message_reference.get("message_id", 0)))
        if ref is not None:
            users.append(ref.author_id)
    msg.mentions = list(dict.fromkeys(u for u in users if u in world.users))
    msg.mention_roles = list(dict.fromkeys(roles))
    wants_everyone = "@everyone" in msg.content or "@here" in msg.content
    msg.mention_everyone = (
        wants_everyone and bool(perms & P.MENTION_EVERYONE) and (parse is None or "everyone" in parse)
    )
