"""A relay link over several channels: out of order across channels is fine, a replay never is.

Each channel has its own authenticated stream (the channel id is in the header's stream field), so the
replay guard checks every channel's envelopes in that channel's own order (Discord orders a channel,
not two), while an envelope replayed in its channel, or moved to another, is still refused.
"""

from __future__ import annotations

import asyncio
import uuid
from types import SimpleNamespace
from typing import Any, cast

import discord
import pytest

from shared import envelope, protocol
from shared.relay_link import RelayLink, host_stream

KEY = envelope.generate_key_hex()
SERVER_ID, HOST_ID, OTHER_HOST_ID = 11, 22, 33
A, B, STRANGER = 1001, 1002, 1003
SESSION = uuid.uuid4()


def channel(channel_id: int) -> discord.TextChannel:
    # No rate-limit headers seen yet (discord.py's bucket records are empty): every channel posts at once.
    http = SimpleNamespace(_bucket_hashes={}, _buckets={})
    return cast(discord.TextChannel, SimpleNamespace(id=channel_id, _state=SimpleNamespace(http=http)))


def link(*, server: bool, host_id: int = HOST_ID) -> RelayLink:
    direction = envelope.Direction.SERVER_TO_CLIENT if server else envelope.Direction.CLIENT_TO_SERVER
    return RelayLink(
        [channel(A), channel(B)],
        envelope.EnvelopeChannel(envelope.KeyRing.from_hex(KEY), direction),
        peer_id=host_id if server else SERVER_ID,
        host_id=host_id,
        max_envelope_bytes=1 << 20,
        heard_only=not server,
    )


def post(blob: bytes, *, author: int, channel_id: int) -> discord.Message:
    form = envelope.to_discord(blob)
    assert form.content is not None
    message: Any = SimpleNamespace(
        author=SimpleNamespace(id=author), channel=SimpleNamespace(id=channel_id), attachments=[]
    )
    message.content = form.content
    return cast(discord.Message, message)


def sealed_delta(sender: RelayLink, channel_id: int, offset: int) -> bytes:
    item = protocol.batch_item(SESSION, protocol.Delta(request_id="r1", offset=offset, text="x"))
    return sender.seal_for(channel_id, [item])[1]


async def test_envelopes_from_two_channels_are_accepted_in_either_order() -> None:
    host, server = link(server=False), link(server=True)
    on_a, on_b = sealed_delta(host, A, 0), sealed_delta(host, B, 1)  # sealed in this order
    assert await server.receive(post(on_b, author=HOST_ID, channel_id=B))
    assert await server.receive(post(on_a, author=HOST_ID, channel_id=A))


async def test_a_replay_in_the_same_channel_is_refused() -> None:
    host, server = link(server=False), link(server=True)
    on_a = sealed_delta(host, A, 0)
    await server.receive(post(on_a, author=HOST_ID, channel_id=A))
    with pytest.raises(envelope.ReplayedEnvelope):
        await server.receive(post(on_a, author=HOST_ID, channel_id=A))


async def test_an_older_envelope_of_the_same_channel_is_refused() -> None:
    host, server = link(server=False), link(server=True)
    older, newer = sealed_delta(host, A, 0), sealed_delta(host, A, 1)
    await server.receive(post(newer, author=HOST_ID, channel_id=A))
    with pytest.raises(envelope.StaleEnvelope):
        await server.receive(post(older, author=HOST_ID, channel_id=A))


async def test_an_envelope_moved_to_another_relay_channel_is_refused() -> None:
    host, server = link(server=False), link(server=True)
    on_a = sealed_delta(host, A, 0)
    with pytest.raises(protocol.ProtocolError):
        await server.receive(post(on_a, author=HOST_ID, channel_id=B))
    # ...and the refusal did not spend it: it is still good where it was sealed for.
    assert await server.receive(post(on_a, author=HOST_ID, channel_id=A))


async def test_a_post_outside_the_relay_channels_is_refused() -> None:
    host, server = link(server=False), link(server=True)
    with pytest.raises(protocol.ProtocolError):
        await server.receive(post(sealed_delta(host, A, 0), author=HOST_ID, channel_id=STRANGER))


async def test_a_host_cannot_seal_on_another_hosts_stream_in_any_channel() -> None:
    other, server = link(server=False, host_id=OTHER_HOST_ID), link(server=True)
    # The same key (single-key deployment) and the right author would be needed; the stream still names
    # the other host, so the batch is refused in every channel.
    for channel_id in (A, B):
        with pytest.raises(protocol.ProtocolError):
            await server.receive(
                post(sealed_delta(other, channel_id, 0), author=HOST_ID, channel_id=channel_id)
            )


async def test_a_host_answers_in_the_channels_it_heard_the_server_bot_in() -> None:
    server, host = link(server=True), link(server=False)
    for rid in ("r1", "r2"):
        prompt = protocol.Prompt(
            request_id=rid,
            messages=[protocol.ChatTurn(role="user", content="hi")],
            params=protocol.GenerationParams(max_tokens=8, temperature=0),
        )
        lane = server.lanes.outgoing(prompt)
        sealed = server.seal_for(lane, [protocol.batch_item(SESSION, prompt)])[1]
        await host.receive(post(sealed, author=SERVER_ID, channel_id=lane))
    assert {server.lanes.lane_of("r1"), server.lanes.lane_of("r2")} == {B}  # A, the control one, last
    answers = {host.lanes.outgoing(protocol.Delta(request_id=f"a{i}", offset=0, text="x")) for i in range(4)}
    assert answers == {B}  # the control channel, which carries the heartbeats, only when B is busier


def test_the_stream_id_holds_the_channel_and_the_host() -> None:
    assert host_stream(HOST_ID, A).bytes == A.to_bytes(8, "big") + HOST_ID.to_bytes(8, "big")
    with pytest.raises(ValueError, match="64-bit"):
        host_stream(1 << 64, A)


def posted_as_attachment(blob: bytes, *, author: int, channel_id: int, download_s: float) -> discord.Message:
    async def read() -> bytes:
        await asyncio.sleep(download_s)
        return blob

    attachment = SimpleNamespace(filename=envelope.ATTACHMENT_FILENAME, size=len(blob), read=read)
    message: Any = SimpleNamespace(
        author=SimpleNamespace(id=author), channel=SimpleNamespace(id=channel_id), attachments=[attachment]
    )
    message.content = ""
    return cast(discord.Message, message)


async def test_a_post_whose_download_is_slow_is_still_opened_before_the_next_one() -> None:
    host, server = link(server=False), link(server=True)
    first, second = sealed_delta(host, A, 0), sealed_delta(host, A, 1)
    slow = posted_as_attachment(first, author=HOST_ID, channel_id=A, download_s=0.2)
    # Arrival order (Discord's): the slow post first; the inline one is ready long before it.
    opened = await asyncio.gather(
        server.receive(slow), server.receive(post(second, author=HOST_ID, channel_id=A))
    )
    assert [[item.payload for item in items] for items in opened] == [
        [protocol.Delta(request_id="r1", offset=0, text="x")],
        [protocol.Delta(request_id="r1", offset=1, text="x")],
    ]
