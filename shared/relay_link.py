"""One bot's end of the relay channels: payloads in, sealed Discord messages out, and back again.

The bots post into one or more channels that only they can view. A link trusts exactly one author, its peer
(the server-bot for a client-bot; one host for each of the server-bot's links); everything else in the
channel is dropped and reported (without its content). Size limits are checked from Discord's metadata
before anything is downloaded or decrypted.

Outgoing messages go through an `Outbox`: one post carries every message pending for this link
(`shared/relay_outbox.py`), sealed at posting time on the host's stream in that channel, so seqs stay in
order per channel; several channels each have their own outbox and stream (`shared/relay_lanes.py`).
"""

from __future__ import annotations

import asyncio
import io
import secrets
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import discord
from discord.http import Route

from shared import envelope, metrics, protocol
from shared.arrival_order import ArrivalOrder
from shared.log import get_logger
from shared.pacing import Budget, route_budget
from shared.relay_lanes import Lanes, request_of
from shared.relay_outbox import Outbox, is_urgent
from shared.relay_sender import MAX_PARTS_PER_POST, ChannelSender, Part

log = get_logger(__name__)


def host_stream(host_id: int, channel_id: int) -> uuid.UUID:
    """The stream id of one GPU host's batches in one relay channel (the envelope header's 16-byte
    stream field): the channel id in the high 64 bits, the host's Discord user id in the low 64. Replay
    state is kept per stream, so each channel's envelopes are checked in that channel's own order, and an
    envelope moved to another channel (or posted as another host) names the wrong stream and is refused."""
    if not (0 <= host_id < 1 << 64 and 0 <= channel_id < 1 << 64):
        raise ValueError("Discord ids are unsigned 64-bit integers")
    return uuid.UUID(int=(channel_id << 64) | host_id)


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
    """Seal and post payloads to the relay channels; open and parse the peer's messages.

    With several relay channels (`shared/relay_lanes.py`) each channel has its own outbox, paced by that
    channel's rate-limit bucket; every message about one request leaves on that request's channel. The
    first channel carries the control messages (heartbeats, reboot). `senders` (the server-bot's, one per
    channel shared by every host's link) let several links' batches leave in one post; without them each
    channel gets this link's own sender.
    """

    def __init__(
        self,
        channels: Sequence[discord.TextChannel],
        envelopes: envelope.EnvelopeChannel,
        *,
        peer_id: int,
        max_envelope_bytes: int,
        host_id: int | None = None,
        senders: Mapping[int, ChannelSender] | None = None,
        heard_only: bool = False,
    ) -> None:
        if not channels:
            raise ValueError("a relay link needs at least one channel")
        self.peer_id = peer_id
        # Batches travel on the host's own stream per channel: the header's authenticated stream id names
        # the GPU host (the sender of replies, the recipient of prompts) and the channel. None: the
        # client-bot's peer id is used.
        self.host_id = peer_id if host_id is None else host_id
        self._part_name = part_filename(self.host_id)
        self._envelopes = envelopes
        self._max_bytes = max_envelope_bytes
        self._batch_kind = (
            protocol.Kind.SERVER_BATCH
            if envelopes.outgoing is envelope.Direction.SERVER_TO_CLIENT
            else protocol.Kind.CLIENT_BATCH
        )
        self.lanes = Lanes(
            [channel.id for channel in channels],
            heard_only=heard_only,
            wait_s=self._urgent_wait_s,
            gathering=self._gathering,
        )
        self._channels: dict[int, discord.TextChannel] = {}
        self._outboxes: dict[int, Outbox] = {}
        self._arrivals: ArrivalOrder[int] = ArrivalOrder()  # per channel (see `receive`)
        for channel in channels:
            self.add_channel(channel, None if senders is None else senders[channel.id])

    def add_channel(self, channel: discord.TextChannel, sender: ChannelSender | None = None) -> None:
        """Relay through one more channel too (found after start-up); a known one is left as it is."""
        if channel.id in self._channels:
            return
        self._channels[channel.id] = channel
        self.lanes.add(channel.id)

        async def post(parts: list[Part]) -> None:
            await post_parts(channel, parts)

        def seal(items: list[protocol.BatchItem]) -> Part:
            return self.seal_for(channel.id, items)

        self._outboxes[channel.id] = Outbox(
            seal,
            name=f"{channel.id}:{self.peer_id}",
            sender=sender,
            post=post,
            budget=lambda: channel_budget(channel),
            max_batch_bytes=min(256 * 1024, self._max_bytes // 2),
        )

    def _gathering(self, channel_id: int) -> bool:
        outbox = self._outboxes.get(channel_id)
        return outbox is not None and outbox.sender.gathering()

    def _urgent_wait_s(self, channel_id: int) -> float:
        outbox = self._outboxes.get(channel_id)
        return 0.0 if outbox is None else outbox.sender.urgent_wait_s()

    @property
    def channel(self) -> discord.TextChannel:
        """The first (control) channel."""
        return self._channels[self.lanes.control]

    @property
    def channels(self) -> list[discord.TextChannel]:
        return [self._channels[channel_id] for channel_id in self.lanes.channel_ids]

    def channel_ids(self) -> frozenset[int]:
        return frozenset(self._channels)

    @property
    def outbox(self) -> Outbox:
        """The control channel's outbox."""
        return self._outboxes[self.lanes.control]

    @property
    def posts(self) -> int:
        """Posts this link took part in, over every channel."""
        return sum(outbox.posts for outbox in self._outboxes.values())

    def stream_id(self, channel_id: int) -> uuid.UUID:
        return host_stream(self.host_id, channel_id)

    async def send(self, session_id: uuid.UUID, payload: protocol.Payload) -> None:
        """Queue `payload` for the next post on its request's channel (it leaves as soon as that
        channel's rate limit allows)."""
        request_id = request_of(payload)
        lane = None if request_id is None else self.lanes.lane_of(request_id)
        if (
            request_id is not None
            and lane is not None
            and is_urgent(payload)
            and self._outboxes[lane].queue.withdraw_acceptance(request_id)
        ):
            # Only an unsent acceptance tied the request to that channel, chosen when the prompt came;
            # its first text (or answer) says more, so the acceptance is dropped and the request takes
            # whichever channel can post soonest now.
            self.lanes.release(request_id)
        self._outboxes[self.lanes.outgoing(payload)].put(session_id, payload)

    def forget(self, request_id: str) -> None:
        """The request ended (or moved to another host): its channel no longer counts it as in flight."""
        self.lanes.release(request_id)

    async def drained(self) -> None:
        """Wait until everything queued so far on every channel has been posted."""
        for outbox in list(self._outboxes.values()):
            await outbox.drained()

    async def close(self, *, flush_within_s: float = 2.0) -> None:
        """Post what is pending (for up to `flush_within_s`), then stop taking part in posts."""
        outboxes = list(self._outboxes.values())
        await asyncio.gather(*(outbox.aclose(flush_within_s=flush_within_s) for outbox in outboxes))

    async def close_sender(self) -> None:
        """Stop the (possibly shared) sender tasks; call once every link using them is closed."""
        for outbox in self._outboxes.values():
            await outbox.sender.aclose()

    def seal_for(self, channel_id: int, items: list[protocol.BatchItem]) -> Part:
        """One sealed part for a post in `channel_id` (called at posting time: seqs follow posts)."""
        data = protocol.encode_batch(items)
        return self.host_id, self._envelopes.seal(self.stream_id(channel_id), self._batch_kind, data)

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
        channel_id = message.channel.id
        if channel_id not in self._channels:
            raise protocol.ProtocolError("a relay post outside this link's relay channels")
        # Posts of one channel are opened in the order they arrived (Discord's order), though an
        # attachment's download may finish before an earlier post's: opened out of order, the earlier
        # post would fail the replay check as stale and its answers wait for a re-send.
        turn = self._arrivals.arrive(channel_id)
        try:
            blob = await self._blob_of(message)
            await turn.ready()
            return self._open(message, blob)
        finally:
            turn.release()

    def _open(self, message: discord.Message, blob: bytes) -> list[Received]:
        channel_id = message.channel.id
        stream = self.stream_id(channel_id)

        def on_this_stream(opened: envelope.OpenedEnvelope) -> None:
            if protocol.is_batch(opened.kind) and opened.session_id != stream:
                raise protocol.ProtocolError("a batch on another host's or another channel's stream")

        opened = self._envelopes.open(blob, check=on_this_stream)
        if protocol.is_batch(opened.kind):
            received = [
                Received(session, payload)
                for session, payload in protocol.decode_batch(opened.kind, opened.payload)
            ]
        else:
            received = [Received(opened.session_id, protocol.decode(opened.kind, opened.payload))]
        for item in received:
            self.lanes.incoming(item.payload, channel_id)
        return received

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
