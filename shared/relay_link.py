"""One bot's end of the relay channel: payloads in, sealed Discord messages out, and back again.

The bots post into one channel that only they can view. A link trusts exactly one author, its peer
(the server-bot for a client-bot; one host for each of the server-bot's links); everything else in the
channel is dropped and reported (without its content). Size limits are checked from Discord's metadata
before anything is downloaded or decrypted.

Outgoing messages go through an `Outbox`: one post carries every message pending for this link
(`shared/relay_outbox.py`), sealed at posting time on the control stream, so seqs stay in order.
"""

from __future__ import annotations

import io
import secrets
import uuid
from dataclasses import dataclass

import discord
from discord.http import Route

from shared import envelope, metrics, protocol
from shared.log import get_logger
from shared.pacing import Budget, route_budget
from shared.relay_outbox import MAX_PARTS_PER_POST, ChannelSender, Outbox, Part

log = get_logger(__name__)


def host_stream(host_id: int) -> uuid.UUID:
    """The stream id of one GPU host's batches: its Discord user id as a UUID (in the envelope header)."""
    return uuid.UUID(int=host_id)


async def post_parts(channel: discord.TextChannel, parts: list[Part]) -> None:
    """One Discord message carrying each part: as text if it is one part that fits, else as files."""
    # A fixed nonce per post makes discord.py's own retries idempotent (`enforce_nonce`).
    nonce = secrets.randbits(62)
    none = discord.AllowedMentions.none()
    if len(parts) == 1:
        form = envelope.to_discord(parts[0][1])
        if form.content is not None:
            await channel.send(form.content, nonce=nonce, allowed_mentions=none)
            return
    files = [discord.File(io.BytesIO(blob), filename=part_filename(host_id)) for host_id, blob in parts]
    await channel.send(files=files, nonce=nonce, allowed_mentions=none)


def channel_budget(channel: discord.TextChannel) -> Budget | None:
    """What is left of this bot's message bucket in `channel`, as Discord last reported it."""
    route = Route("POST", "/channels/{channel_id}/messages", channel_id=channel.id)
    return route_budget(channel._state.http, route)


def part_filename(host_id: int) -> str:
    """The attachment holding one host's part of a post (the receiver downloads only its own)."""
    return f"envelope-{host_id}.bin"


class NotForThisHost(Exception):
    """A relay post whose parts are all for other hosts (the channel is shared by several)."""


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
        host_id: int | None = None,
        sender: ChannelSender | None = None,
    ) -> None:
        self.channel = channel
        self.peer_id = peer_id
        # Batches travel on the host's own stream: the header's authenticated stream id names the GPU
        # host (the sender of replies, the recipient of prompts). None: the client-bot's peer id is used.
        self.host_id = peer_id if host_id is None else host_id
        self.stream_id = host_stream(self.host_id)
        self._part_name = part_filename(self.host_id)
        self._envelopes = envelopes
        self._max_bytes = max_envelope_bytes
        self._batch_kind = (
            protocol.Kind.SERVER_BATCH
            if envelopes.outgoing is envelope.Direction.SERVER_TO_CLIENT
            else protocol.Kind.CLIENT_BATCH
        )
        self.outbox = Outbox(
            self._seal,
            name=f"{channel.id}:{peer_id}",
            sender=sender,
            post=self.post_parts,
            budget=self.budget,
            max_batch_bytes=min(256 * 1024, max_envelope_bytes // 2),
        )

    async def send(self, session_id: uuid.UUID, payload: protocol.Payload) -> None:
        """Queue `payload` for the next post (it leaves as soon as the rate limit allows)."""
        self.outbox.put(session_id, payload)

    async def close(self, *, flush_within_s: float = 2.0) -> None:
        """Post what is pending (for up to `flush_within_s`), then stop taking part in posts."""
        await self.outbox.aclose(flush_within_s=flush_within_s)

    async def close_sender(self) -> None:
        """Stop the (possibly shared) sender task; call once every link using it is closed."""
        await self.outbox.sender.aclose()

    def _seal(self, items: list[protocol.BatchItem]) -> Part:
        data = protocol.encode_batch(items)
        return self.host_id, self._envelopes.seal(self.stream_id, self._batch_kind, data)

    async def post_parts(self, parts: list[Part]) -> None:
        await post_parts(self.channel, parts)

    def budget(self) -> Budget | None:
        """What is left of the relay channel's message bucket, as Discord last reported it."""
        return channel_budget(self.channel)

    async def accept(self, message: discord.Message) -> list[Received]:
        """Open a relay message, or log why it was refused (never its content) and return nothing.

        Both bots treat every refusal the same way: a message from an unpaired author, an envelope that
        fails authentication, replay or size checks, or a payload that does not match its kind is dropped.
        """
        try:
            return await self.receive(message)
        except ForeignMessage as exc:
            log.warning("dropped a relay-channel message from unpaired author %s", exc.author_id)
            metrics.envelope_refused("unpaired_author")
        except NotForThisHost:
            pass
        except envelope.UnknownKey:
            # In a channel shared by several hosts, envelopes sealed for another host look like this.
            log.debug("ignored a relay envelope under a key this link does not hold")
        except (envelope.EnvelopeError, protocol.ProtocolError) as exc:
            log.warning("rejected a relay envelope: %s", type(exc).__name__)
            metrics.envelope_refused(type(exc).__name__)
        return []

    async def receive(self, message: discord.Message) -> list[Received]:
        """Open a relay message. Raises `ForeignMessage`, `envelope.EnvelopeError` or `ProtocolError`."""
        if message.author.id != self.peer_id:
            raise ForeignMessage(message.author.id)
        blob = await self._blob_of(message)
        opened = self._envelopes.open(blob)
        if protocol.is_batch(opened.kind):
            if opened.session_id != self.stream_id:
                raise protocol.ProtocolError("a batch on another host's stream")
            return [
                Received(session, payload)
                for session, payload in protocol.decode_batch(opened.kind, opened.payload)
            ]
        return [Received(opened.session_id, protocol.decode(opened.kind, opened.payload))]

    async def _blob_of(self, message: discord.Message) -> bytes:
        if not message.attachments:
            return envelope.from_content(message.content, max_bytes=self._max_bytes)
        mine = [
            a for a in message.attachments if a.filename in (self._part_name, envelope.ATTACHMENT_FILENAME)
        ]
        if len(message.attachments) > MAX_PARTS_PER_POST or len(mine) > 1:
            raise envelope.MalformedEnvelope("a relay message carries at most one part per host")
        if not mine:
            raise NotForThisHost
        attachment = mine[0]
        envelope.check_attachment_size(attachment.size, max_bytes=self._max_bytes)
        # Discord's metadata could understate the size; `from_attachment` checks what actually arrived.
        return envelope.from_attachment(await attachment.read(), max_bytes=self._max_bytes)
