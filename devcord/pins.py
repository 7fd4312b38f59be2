"""Pinned messages ("Message > Pin Message / Get Channel Pins"): pin and unpin need PIN_MESSAGES (or
MANAGE_MESSAGES, which granted it before the split), at most 50 pins per channel (30003), and each change
dispatches CHANNEL_PINS_UPDATE. Served at the current paths and the deprecated `/channels/{id}/pins`."""

from __future__ import annotations

import datetime as dt
import time
from typing import TYPE_CHECKING

from aiohttp import web

from devcord import limits as L
from devcord import permissions as P
from devcord.errors import form_error, missing_permissions
from devcord.http import json_response, no_content, snowflake_param
from devcord.model import Json, Message, iso

if TYPE_CHECKING:
    from devcord.rest import DiscordApi

CHANNEL_PINNED_MESSAGE = 6


class Pins:
    def __init__(self, api: DiscordApi) -> None:
        self.api = api
        self.world = api.world

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/channels/{channel_id}/messages/pins", self.list_pins),
            web.put("/channels/{channel_id}/messages/pins/{message_id}", self.pin),
            web.delete("/channels/{channel_id}/messages/pins/{message_id}", self.unpin),
            web.get("/channels/{channel_id}/pins", self.list_pins_deprecated),
            web.put("/channels/{channel_id}/pins/{message_id}", self.pin),
            web.delete("/channels/{channel_id}/pins/{message_id}", self.unpin),
        ]

    def _pinned(self, channel_id: int) -> list[Message]:
        live = [m for m in self.world.messages.get(channel_id, {}).values() if not m.deleted and m.pinned_at]
        return sorted(live, key=lambda m: m.pinned_at or 0, reverse=True)

    def _target(self, request: web.Request) -> Message:
        channel = self.api._channel(request)
        perms = self.world.require(channel, self.api.me(request), P.VIEW_CHANNEL | P.READ_MESSAGE_HISTORY)
        if channel.type != 1 and not perms & (P.PIN_MESSAGES | P.MANAGE_MESSAGES):
            raise missing_permissions()
        return self.world.message(channel.id, snowflake_param(request, "message_id"))

    async def pin(self, request: web.Request) -> web.Response:
        msg = self._target(request)
        if msg.pinned_at is None:
            L.check_new_pin(len(self._pinned(msg.channel_id)))
            msg.pinned_at = time.time()
            self._announce(msg)
            self._system_message(msg, self.api.me(request))
        return no_content()

    async def unpin(self, request: web.Request) -> web.Response:
        msg = self._target(request)
        if msg.pinned_at is not None:
            msg.pinned_at = None
            self._announce(msg)
        return no_content()

    async def list_pins(self, request: web.Request) -> web.Response:
        """Newest pin first; `before` (an ISO timestamp) and `limit` (1-50) page through them."""
        channel = self.api._channel(request)
        self.world.require(channel, self.api.me(request), P.VIEW_CHANNEL | P.READ_MESSAGE_HISTORY)
        pinned = self._pinned(channel.id)
        before = request.query.get("before")
        if before:
            try:
                cutoff = dt.datetime.fromisoformat(before).timestamp()
            except ValueError:
                raise form_error("before", "DATE_TYPE_PARSE", f"Could not parse {before}.") from None
            pinned = [m for m in pinned if (m.pinned_at or 0) < cutoff]
        try:
            limit = int(request.query.get("limit", 50))
        except ValueError:
            raise form_error("limit", "NUMBER_TYPE_COERCE", "Value is not int.") from None
        if not 1 <= limit <= 50:
            raise form_error("limit", "NUMBER_TYPE_MAX", "Must be between 1 and 50.")
        items: list[Json] = [
            {"pinned_at": iso(m.pinned_at or 0), "message": self.api.message_out(request, m)}
            for m in pinned[:limit]
        ]
        return json_response({"items": items, "has_more": len(pinned) > limit})

    async def list_pins_deprecated(self, request: web.Request) -> web.Response:
        channel = self.api._channel(request)
        self.world.require(channel, self.api.me(request), P.VIEW_CHANNEL | P.READ_MESSAGE_HISTORY)
        return json_response([self.api.message_out(request, m) for m in self._pinned(channel.id)])

    def _system_message(self, pinned: Message, pinner: int) -> None:
        """Discord posts "<pinner> pinned a message" (type 6, CHANNEL_PINNED_MESSAGE) referencing it."""
        channel = self.world.channels[pinned.channel_id]
        body: Json = {"content": "", "message_reference": {"message_id": str(pinned.id)}}
        self.world.create_message(channel, pinner, body, [], type=CHANNEL_PINNED_MESSAGE)

    def _announce(self, msg: Message) -> None:
        channel = self.world.channels[msg.channel_id]
        pinned = self._pinned(channel.id)
        data: Json = {
            "channel_id": str(channel.id),
            "last_pin_timestamp": iso(pinned[0].pinned_at or 0) if pinned else None,
        }
        if channel.guild_id is not None:
            data["guild_id"] = str(channel.guild_id)
        self.world.emit(
            "CHANNEL_PINS_UPDATE", data, guild_id=channel.guild_id, viewers=self.world.viewers(channel)
        )
