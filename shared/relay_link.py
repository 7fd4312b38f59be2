"""One bot's end of the relay channel: payloads in, sealed Discord messages out, and back again.

Both bots post into one channel that only the two of them can view. Each side trusts exactly one author,
its paired peer; everything else in the channel is dropped and reported (without its content). Size
limits are checked from Discord's metadata before anything is downloaded or decrypted.
"""

from __future__ import annotations

import asyncio
import io
import secrets
import uuid
import weakref
from dataclasses import dataclass

import discord
from discord.http import Route

from shared import envelope, metrics, protocol
from shared.log import get_logger
from shared.pacing import Budget, route_budget

log = get_logger(__name__)


class ForeignMessage(Exception):
    """A message in the relay channel that did not come from the paired bot."""

    def __init__(self, author_id: int) -> None:
        super().__init__(f"relay message from unpaired author {author_id}")
        self.author_id = author_id


@dataclass(frozen=True, slots=True)
class Received:
    session_id: uuid.UUID
    payload: protocol.Payload


class RelayLink:
    """Seal and post payloads to the relay channel; open and parse the peer's messages."""

    def __init__(
        self,
        channel: discord.TextChannel,
        envelopes: envelope.EnvelopeChannel,
        *,
        peer_id: int,
        max_envelope_bytes: int,
    ) -> None:
        self.channel = channel
        self.peer_id = peer_id
        self._envelopes = envelopes
        self._max_bytes = max_envelope_bytes
        # Weak: a stream's lock lives only while someone holds or waits for it.
        self._stream_locks: weakref.WeakValueDictionary[uuid.UUID, asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )
        self._post_route = Route("POST", "/channels/{channel_id}/messages", channel_id=channel.id)

    async def send(self, session_id: uuid.UUID, payload: protocol.Payload) -> None:
        kind, data = protocol.encode(payload)
        # Sequence numbers are taken at sealing; the receiver rejects one that arrives after a higher one,
        # so a stream's envelopes are sealed and posted one at a time, in order.
        async with self._stream_lock(session_id):
            await self._post(envelope.to_discord(self._envelopes.seal(session_id, kind, data)))

    def _stream_lock(self, session_id: uuid.UUID) -> asyncio.Lock:
        lock = self._stream_locks.get(session_id)
        if lock is None:
            lock = self._stream_locks[session_id] = asyncio.Lock()
        return lock

    async def _post(self, form: envelope.DiscordForm) -> None:
        # A fixed nonce per post makes discord.py's own retries idempotent (`enforce_nonce`).
        nonce = secrets.randbits(62)
        if form.content is not None:
            await self.channel.send(
                form.content, nonce=nonce, allowed_mentions=discord.AllowedMentions.none()
            )
            return
        assert form.attachment is not None
        file = discord.File(io.BytesIO(form.attachment), filename=envelope.ATTACHMENT_FILENAME)
        await self.channel.send(file=file, nonce=nonce, allowed_mentions=discord.AllowedMentions.none())

    def budget(self) -> Budget | None:
        """What is left of the relay channel's message bucket, as Discord last reported it."""
        return route_budget(self.channel._state.http, self._post_route)

    async def accept(self, message: discord.Message) -> Received | None:
        """Open a relay message, or log why it was refused (never its content) and return None.

        Both bots treat every refusal the same way: a message from an unpaired author, an envelope that
        fails authentication, replay or size checks, or a payload that does not match its kind is dropped.
        """
        try:
            return await self.receive(message)
        except ForeignMessage as exc:
            log.warning("dropped a relay-channel message from unpaired author %s", exc.author_id)
            metrics.envelope_refused("unpaired_author")
        except (envelope.EnvelopeError, protocol.ProtocolError) as exc:
            log.warning("rejected a relay envelope: %s", type(exc).__name__)
            metrics.envelope_refused(type(exc).__name__)
        return None

    async def receive(self, message: discord.Message) -> Received:
        """Open a relay message. Raises `ForeignMessage`, `envelope.EnvelopeError` or `ProtocolError`."""
        if message.author.id != self.peer_id:
            raise ForeignMessage(message.author.id)
        blob = await self._blob_of(message)
        opened = self._envelopes.open(blob)
        return Received(opened.session_id, protocol.decode(opened.kind, opened.payload))

    async def _blob_of(self, message: discord.Message) -> bytes:
        if not message.attachments:
            return envelope.from_content(message.content, max_bytes=self._max_bytes)
        if len(message.attachments) != 1:
            raise envelope.MalformedEnvelope("a relay message carries at most one attachment")
        attachment = message.attachments[0]
        envelope.check_attachment_size(attachment.size, max_bytes=self._max_bytes)
        # Discord's metadata could understate the size; `from_attachment` checks what actually arrived.
        return envelope.from_attachment(await attachment.read(), max_bytes=self._max_bytes)
