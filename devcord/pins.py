"""Pinned messages ("Message > Pin Message / Get Channel Pins"): pin and unpin need PIN_MESSAGES (or
MANAGE_MESSAGES, which granted it before the split), at most 50 pins per channel (30003), and each change
dispatches CHANNEL_PINS_UPDATE. Served at the current paths and the deprecated `/channels/{id}/pins`."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from aiohttp import web

from devcord import limits as L
from devcord import permissions as P
from devcord.errors import missing_permissions
from devcord.http import json_response, no_content
from devcord.model import Json, Message, iso

if TYPE_CHECKING:
    from devcord.rest import DiscordApi


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
        return self.world.message(channel.id, int(request.match_info["message_id"]))

    async def pin(self, request: web.Request) -> web.Response:
        msg = self._target(request)
        if msg.pinned_at is None:
            L.check_new_pin(len(self._pinned(msg.channel_id)))
            msg.pinned_at = time.time()
            self._announce(msg)
        return no_content()

    async def unpin(self, request: web.Request) -> web.Response:
        msg = self._target(request)
        if msg.pinned_at is not None:
            msg.pinned_at = None
            self._announce(msg)
        return no_content()

    async def list_pins(self, request: web.Request) -> web.Response:
        channel = self.api._channel(request)
        self.world.require(channel, self.api.me(request), P.VIEW_CHANNEL | P.READ_MESSAGE_HISTORY)
        items: list[Json] = [
            {"pinned_at": iso(m.pinned_at or 0), "message": self.api.message_out(request, m)}
            for m in self._pinned(channel.id)
        ]
        return json_response({"items": items, "has_more": False})

    async def list_pins_deprecated(self, request: web.Request) -> web.Response:
        channel = self.api._channel(request)
        self.world.require(channel, self.api.me(request), P.VIEW_CHANNEL | P.READ_MESSAGE_HISTORY)
        return json_response([self.api.message_out(request, m) for m in self._pinned(channel.id)])

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
