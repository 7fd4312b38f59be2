"""Interaction objects as Discord sends them: INTERACTION_CREATE, a response's `interaction_metadata`, the
callback's `with_response` body, and the driver's view of what the invoking user saw; the interaction and
response type numbers."""

from __future__ import annotations

from typing import TYPE_CHECKING

from devcord.model import EPHEMERAL, LOADING, Application, Channel, Json, Message

if TYPE_CHECKING:
    from devcord.interactions import Interaction
    from devcord.world import World

APPLICATION_COMMAND, MESSAGE_COMPONENT = 2, 3
PONG, CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE, DEFERRED_UPDATE, UPDATE_MESSAGE = 1, 4, 5, 6, 7
AUTOCOMPLETE_RESULT, MODAL = 8, 9


def create_payload(
    world: World,
    app: Application,
    kind: int,
    user_id: int,
    channel: Channel,
    *,
    interaction_id: int,
    token: str,
    data: Json,
    perms: int,
    source: Message | None,
) -> Json:
    """INTERACTION_CREATE as the bot of `app` receives it, for `user_id` invoking in `channel`."""
    user = world.users[user_id]
    payload: Json = {
        "id": str(interaction_id),
        "application_id": str(app.id),
        "type": kind,
        "data": data,
        "channel_id": str(channel.id),
        "channel": world.channel_payload(channel),
        "token": token,
        "version": 1,
        "app_permissions": str(world.permissions(channel, app.bot_user_id)),
        "locale": "en-US",
        "entitlements": [],
        "attachment_size_limit": 10 * 1024 * 1024,
    }
    if channel.guild_id is not None:
        guild = world.guilds[channel.guild_id]
        member = world.member_payload(guild, guild.members[user_id])
        member.pop("guild_id", None)
        member["permissions"] = str(perms)
        payload.update(
            guild_id=str(guild.id),
            guild={"id": str(guild.id), "locale": "en-US", "features": []},
            guild_locale="en-US",
            member=member,
            context=0,
            authorizing_integration_owners={"0": str(guild.id)},
        )
    else:
        payload.update(user=user.payload(), context=1, authorizing_integration_owners={"0": str(user_id)})
    if source is not None:
        payload["message"] = world.message_payload(source)
    return payload


def metadata(world: World, interaction: Interaction) -> Json:
    """A response message's `interaction_metadata`."""
    meta: Json = {
        "id": str(interaction.id),
        "type": interaction.type,
        "user": world.users[interaction.user_id].payload(),
        "authorizing_integration_owners": interaction.payload.get("authorizing_integration_owners", {}),
    }
    if interaction.type == APPLICATION_COMMAND:
        meta["name"] = interaction.payload["data"]["name"]
        meta["command_type"] = 1
    elif interaction.source is not None:
        meta["interacted_message_id"] = str(interaction.source.id)
    return meta


def callback_response(world: World, interaction: Interaction, kind: int, message: Message | None) -> Json:
    """The callback's body when asked `with_response`."""
    info: Json = {"id": str(interaction.id), "type": interaction.type}
    out: Json = {"interaction": info}
    if message is not None:
        info.update(
            response_message_id=str(message.id),
            response_message_loading=bool(message.flags & LOADING),
            response_message_ephemeral=bool(message.flags & EPHEMERAL),
        )
    if message is not None and kind in (CHANNEL_MESSAGE, UPDATE_MESSAGE):
        # The callback resource exists for responses that produced a message (4 and 7); a deferred
        # response is described by `interaction.response_message_*` alone.
        out["resource"] = {"type": kind, "message": world.message_payload(message)}
    return out


def view(world: World, interaction: Interaction) -> Json:
    """The interaction as its user experienced it, ephemeral messages included."""

    def show(msg: Message | None) -> Json | None:
        if msg is None:
            return None
        out = world.message_payload(msg)
        out["ephemeral"] = bool(msg.flags & EPHEMERAL)
        out["deleted"] = msg.deleted
        out["history"] = msg.history
        return out

    return {
        "id": str(interaction.id),
        "type": interaction.type,
        "user_id": str(interaction.user_id),
        "channel_id": str(interaction.channel.id),
        "application_id": str(interaction.app.id),
        "data": interaction.payload["data"],
        "response_type": interaction.response_type,
        "original": show(interaction.original),
        "followups": [show(m) for m in interaction.followups if m is not interaction.original],
        "modal": interaction.modal,
        "choices": interaction.choices,
    }


def find_component(rows: list[Json], custom_id: str) -> Json | None:
    """The component `custom_id` among a message's component rows (nested, or a section's accessory)."""
    for item in rows:
        if item.get("custom_id") == custom_id:
            return item
        found = find_component(item.get("components") or [], custom_id)
        if found is not None:
            return found
        accessory = item.get("accessory")
        if isinstance(accessory, dict) and accessory.get("custom_id") == custom_id:
            return accessory
    return None
