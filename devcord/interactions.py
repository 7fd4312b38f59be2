"""Interactions ("Interactions > Receiving and Responding"): INTERACTION_CREATE for slash commands and
components invoked by a driver user, the callback endpoint, and the interaction webhooks (follow-ups,
@original). The commands themselves are registered through devcord/commands.py; the JSON shapes are built
in devcord/interaction_payloads.py."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from devcord import forms as F
from devcord import interaction_payloads as IP
from devcord import permissions as P
from devcord.commands import ApplicationCommands
from devcord.errors import (
    ALREADY_ACKNOWLEDGED,
    INVALID_WEBHOOK_TOKEN,
    UNKNOWN_INTERACTION,
    UNKNOWN_MESSAGE,
    ApiError,
    form_error,
    missing_access,
    missing_permissions,
    unknown,
)
from devcord.http import (
    json_response,
    no_content,
    read_message_body,
    snowflake_param,
)
from devcord.interaction_payloads import (
    APPLICATION_COMMAND,
    AUTOCOMPLETE_RESULT,
    CHANNEL_MESSAGE,
    DEFERRED_CHANNEL_MESSAGE,
    DEFERRED_UPDATE,
    MESSAGE_COMPONENT,
    MODAL,
    UPDATE_MESSAGE,
)
from devcord.model import (
    DM,
    EPHEMERAL,
    LOADING,
    Application,
    Attachment,
    Channel,
    Json,
    Message,
    merge_attachments,
)
from devcord.options import OptionParser
from devcord.validation import check_message
from devcord.world import World

INITIAL_RESPONSE_S = 3.0
TOKEN_LIFETIME_S = 15 * 60.0


@dataclass
class Interaction:
    id: int
    token: str
    app: Application
    type: int
    user_id: int
    channel: Channel
    payload: Json
    created: float = field(default_factory=time.time)
    response_type: int | None = None
    original: Message | None = None
    source: Message | None = None
    followups: list[Message] = field(default_factory=list)
    modal: Json | None = None
    choices: list[Json] | None = None


class Interactions:
    """Every interaction created through the driver, keyed by id, plus the endpoints bots call."""

    def __init__(self, world: World, *, initial_response_s: float = INITIAL_RESPONSE_S) -> None:
        self.world = world
        self.initial_response_s = initial_response_s
        self.by_id: dict[int, Interaction] = {}
        self.commands = ApplicationCommands(world)

    def routes(self) -> list[web.RouteDef]:
        return [
            *self.commands.routes(),
            web.post("/interactions/{interaction_id}/{interaction_token}/callback", self.callback),
            web.post("/webhooks/{webhook_id}/{webhook_token}", self.followup),
            web.get("/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}", self.get_webhook_message),
            web.patch(
                "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}", self.edit_webhook_message
            ),
            web.delete(
                "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}", self.delete_webhook_message
            ),
        ]

    # -- creating interactions (driver side) ---------------------------------------------------------

    def invoke_command(
        self, user_id: int, channel: Channel, path: str, options: dict[str, Any], app_name: str | None = None
    ) -> Interaction:
        """Run `/path` (e.g. "ai admin ban") with `options` as the member `user_id` in `channel`."""
        name, *subpath = path.strip().lstrip("/").split()
        app, command = self.commands.find(name, channel.guild_id, app_name)
        perms = self._user_permissions(user_id, channel)
        required = command.get("default_member_permissions")
        if required is not None and int(required) & perms != int(required):
            raise missing_permissions()
        if channel.guild_id is None and command.get("dm_permission") is False:
            raise missing_access()
        parser = OptionParser(self.world, user_id, channel)
        built = parser.parse(command.get("options") or [], subpath, options)
        resolved = parser.resolved
        data: Json = {"id": command["id"], "name": name, "type": 1, "options": built}
        if "guild_id" in command:
            data["guild_id"] = command["guild_id"]
        if resolved:
            data["resolved"] = resolved
        return self._create(app, APPLICATION_COMMAND, user_id, channel, data=data, perms=perms)

    def click(self, user_id: int, message: Message, custom_id: str, values: list[str] | None) -> Interaction:
        """Press the component `custom_id` on `message` (values for a select menu)."""
        channel = self.world.channel(message.channel_id)
        perms = self._user_permissions(user_id, channel)
        component = IP.find_component(message.components, custom_id)
        if component is None:
            raise form_error("data.custom_id", "COMPONENT_NOT_FOUND", "Unknown component")
        app = self.world.app_of_user(message.author_id)
        if app is None:
            raise form_error("message_id", "COMPONENT_NOT_FOUND", "Message has no application components")
        data: Json = {"custom_id": custom_id, "component_type": component.get("type", 2)}
        if values is not None:
            data["values"] = values
        interaction = self._create(
            app, MESSAGE_COMPONENT, user_id, channel, data=data, perms=perms, source=message
        )
        return interaction

    def ephemeral_message(self, user_id: int, message_id: int) -> Message | None:
        """An ephemeral response shown to `user_id` (it lives with its interaction, not in the channel);
        only its recipient can see it, so only they can press its components."""
        for interaction in self.by_id.values():
            if interaction.user_id != user_id:
                continue
            for message in (interaction.original, *interaction.followups):
                if (
                    message is not None
                    and message.id == message_id
                    and message.flags & EPHEMERAL
                    and not message.deleted
                ):
                    return message
        return None

    def _user_permissions(self, user_id: int, channel: Channel) -> int:
        perms = self.world.permissions(channel, user_id)
        if not perms & P.VIEW_CHANNEL:
            raise missing_access()
        if channel.type != DM and not perms & P.USE_APPLICATION_COMMANDS:
            raise missing_permissions()
        return perms

    def _create(
        self,
        app: Application,
        kind: int,
        user_id: int,
        channel: Channel,
        *,
        data: Json,
        perms: int,
        source: Message | None = None,
    ) -> Interaction:
        world = self.world
        interaction_id = world.ids.next()
        token = "aW50ZXJhY3Rpb24" + secrets.token_urlsafe(48)
        payload = IP.create_payload(
            world,
            app,
            kind,
            user_id,
            channel,
            interaction_id=interaction_id,
            token=token,
            data=data,
            perms=perms,
            source=source,
        )
        interaction = Interaction(interaction_id, token, app, kind, user_id, channel, payload, source=source)
        self.by_id[interaction_id] = interaction
        world.emit("INTERACTION_CREATE", payload, guild_id=channel.guild_id, viewers={app.bot_user_id})
        return interaction

    # -- responding (bot side) -----------------------------------------------------------------------

    def _respond_message(
        self, interaction: Interaction, body: Json, files: list[Attachment], flags: int
    ) -> Message:
        app = interaction.app
        body = {**body, "flags": flags}
        body.pop("nonce", None)
        return self.world.create_message(
            interaction.channel,
            app.bot_user_id,
            body,
            files,
            type=20 if interaction.type == APPLICATION_COMMAND else 0,
            webhook_id=app.id,
            application_id=app.id,
            interaction_metadata=IP.metadata(self.world, interaction),
        )

    async def callback(self, request: web.Request) -> web.Response:
        interaction = self.by_id.get(snowflake_param(request, "interaction_id"))
        if interaction is None or interaction.token != request.match_info["interaction_token"]:
            raise unknown(UNKNOWN_INTERACTION, "interaction")
        if interaction.response_type is not None:
            raise ApiError(400, ALREADY_ACKNOWLEDGED, "Interaction has already been acknowledged.")
        if time.time() - interaction.created > self.initial_response_s:
            raise unknown(UNKNOWN_INTERACTION, "interaction")
        body, files = await read_message_body(request, self.world.ids)
        kind = F.optional(body, "type", F.integer) or 0
        data = F.optional(body, "data", F.obj) or {}
        resource = self._apply_callback(interaction, kind, data, files or [])
        self._announce(interaction)
        if request.query.get("with_response", "").lower() not in ("1", "true"):
            return no_content()
        return json_response(IP.callback_response(self.world, interaction, kind, resource))

    def _apply_callback(
        self, interaction: Interaction, kind: int, data: Json, files: list[Attachment]
    ) -> Message | None:
        is_component = interaction.type == MESSAGE_COMPONENT
        if kind == CHANNEL_MESSAGE:
            check_message(data, has_files=bool(files), creating=True)
            flags = int(data.get("flags") or 0) & (EPHEMERAL | (1 << 2) | (1 << 12) | (1 << 15))
            interaction.original = self._respond_message(interaction, data, files, flags)
        elif kind == DEFERRED_CHANNEL_MESSAGE:
            flags = LOADING | ((F.optional(data, "flags", F.integer, "data.") or 0) & EPHEMERAL)
            interaction.original = self._respond_message(interaction, {"content": ""}, [], flags)
        elif kind in (DEFERRED_UPDATE, UPDATE_MESSAGE) and is_component:
            assert interaction.source is not None
            interaction.original = interaction.source
            if kind == UPDATE_MESSAGE:
                check_message(data, has_files=bool(files), creating=False)
                self.world.edit_message(interaction.source, interaction.source.author_id, data, files or None)
        elif kind == MODAL:
            interaction.modal = data
        elif kind == AUTOCOMPLETE_RESULT:
            interaction.choices = F.optional(data, "choices", F.objects, "data.") or []
        else:
            raise form_error(
                "type", "BASE_TYPE_CHOICES", f"Interaction response type {kind} is not valid here."
            )
        interaction.response_type = kind
        return (
            interaction.original
            if kind in (CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE, UPDATE_MESSAGE)
            else None
        )

    # -- interaction webhooks ------------------------------------------------------------------------

    def _by_token(self, request: web.Request) -> Interaction:
        token = request.match_info["webhook_token"]
        for interaction in self.by_id.values():
            if interaction.token == token and str(interaction.app.id) == request.match_info["webhook_id"]:
                if time.time() - interaction.created > TOKEN_LIFETIME_S:
                    break
                return interaction
        raise ApiError(401, INVALID_WEBHOOK_TOKEN, "Invalid Webhook Token")

    def _webhook_message(self, interaction: Interaction, ref: str) -> Message:
        if ref == "@original":
            if interaction.original is None or interaction.original.deleted:
                raise unknown(UNKNOWN_MESSAGE, "Message")
            return interaction.original
        for msg in interaction.followups:
            if str(msg.id) == ref and not msg.deleted:
                return msg
        raise unknown(UNKNOWN_MESSAGE, "Message")

    async def followup(self, request: web.Request) -> web.Response:
        interaction = self._by_token(request)
        if interaction.response_type is None:
            raise unknown(UNKNOWN_WEBHOOK_OR_INTERACTION, "Webhook")
        body, files = await read_message_body(request, self.world.ids)
        check_message(body, has_files=bool(files), creating=True)
        original = interaction.original
        if (
            original is not None
            and original.flags & LOADING
            and not interaction.followups
            and interaction.response_type == DEFERRED_CHANNEL_MESSAGE
        ):
            # The first follow-up after a deferred response replaces the "is thinking..." message.
            self.world.edit_message(original, original.author_id, {**body, "flags": None}, files)
            msg = original
        else:
            flags = int(body.get("flags") or 0) & (EPHEMERAL | (1 << 2) | (1 << 12))
            msg = self._respond_message(interaction, body, files or [], flags)
        interaction.followups.append(msg)
        self._announce(interaction)
        if request.query.get("wait", "").lower() in ("1", "true"):
            return json_response(self.world.message_payload(msg))
        return no_content()

    async def get_webhook_message(self, request: web.Request) -> web.Response:
        interaction = self._by_token(request)
        msg = self._webhook_message(interaction, request.match_info["message_id"])
        return json_response(self.world.message_payload(msg))

    async def edit_webhook_message(self, request: web.Request) -> web.Response:
        interaction = self._by_token(request)
        msg = self._webhook_message(interaction, request.match_info["message_id"])
        body, files = await read_message_body(request, self.world.ids)
        check_message(body, has_files=bool(files), creating=False)
        self.world.edit_message(msg, msg.author_id, body, merge_attachments(msg, body, files))
        self._announce(interaction)
        return json_response(self.world.message_payload(msg))

    async def delete_webhook_message(self, request: web.Request) -> web.Response:
        interaction = self._by_token(request)
        msg = self._webhook_message(interaction, request.match_info["message_id"])
        self.world.delete_message(msg)
        self._announce(interaction)
        return no_content()

    # -- what the invoking user saw ------------------------------------------------------------------

    def _announce(self, interaction: Interaction) -> None:
        """Tell the invoking user's event feed (never a gateway: people have none) what they now see."""
        self.world.emit(
            "INTERACTION_UPDATE",
            self.view(interaction),
            guild_id=interaction.channel.guild_id,
            viewers={interaction.user_id},
        )

    def view(self, interaction: Interaction) -> Json:
        """The interaction as its user experienced it, ephemeral messages included."""
        return IP.view(self.world, interaction)


UNKNOWN_WEBHOOK_OR_INTERACTION = 10015
