"""Messages in a devcord world: creating (Discord's stored shape, replies' references, mentions, nonce
de-duplication), editing and deleting, each announced as MESSAGE_CREATE/UPDATE/DELETE to the channel's
viewers. `World` exposes these as its methods."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from devcord import message_payloads as MP
from devcord import permissions as P
from devcord.errors import CANNOT_EDIT_OTHERS_MESSAGE, ApiError
from devcord.model import EPHEMERAL, Attachment, Channel, Json, Message
from devcord.validation import stored_components, stored_embeds

if TYPE_CHECKING:
    from devcord.world import World

# `enforce_nonce`: the same author, channel and nonce within this window is the same message.
NONCE_WINDOW_S = 300.0


def find_nonce(world: World, channel_id: int, author_id: int, nonce: str | int) -> Message | None:
    hit = world.nonces.get((channel_id, author_id, str(nonce)))
    if hit is None or time.time() - hit[0] > NONCE_WINDOW_S:
        return None
    found = world.messages.get(channel_id, {}).get(hit[1])
    return found if found is not None and not found.deleted else None


def create_message(
    world: World,
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
        original = world.find_nonce(channel.id, author_id, body["nonce"])
        if original is not None:
            return original
    msg = Message(
        id=world.ids.next(),
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
    MP.resolve_mentions(world, msg, channel, body.get("allowed_mentions"), perms)
    if msg.flags & EPHEMERAL:
        world.ephemeral[msg.id] = msg
        return msg
    world.messages.setdefault(channel.id, {})[msg.id] = msg
    channel.last_message_id = msg.id
    if msg.nonce is not None:
        world.nonces[(channel.id, author_id, str(msg.nonce))] = (time.time(), msg.id)
    world.emit(
        "MESSAGE_CREATE",
        world.gateway_message_payload(msg),
        guild_id=channel.guild_id,
        viewers=world.viewers(channel),
        message=msg,
    )
    return msg


def edit_message(
    world: World, msg: Message, editor_id: int, body: Json, attachments: list[Attachment] | None
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
    channel = world.channels[msg.channel_id]
    world.emit(
        "MESSAGE_UPDATE",
        world.gateway_message_payload(msg),
        guild_id=channel.guild_id,
        viewers=world.viewers(channel),
        message=msg,
    )
    return msg


def delete_message(world: World, msg: Message) -> None:
    msg.deleted = True
    if msg.flags & EPHEMERAL:
        return
    channel = world.channels[msg.channel_id]
    data: Json = {"id": str(msg.id), "channel_id": str(channel.id)}
    if channel.guild_id is not None:
        data["guild_id"] = str(channel.guild_id)
    world.emit("MESSAGE_DELETE", data, guild_id=channel.guild_id, viewers=world.viewers(channel))
