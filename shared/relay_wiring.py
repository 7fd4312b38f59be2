"""The relay built once for both bots: key rings, envelope channels and links from the settings.

The server-bot gets one `RelayLink` per GPU host, all in the same relay channels (`RELAY_CHANNELS` of
them, one sender per channel shared by every host's link): each host's link trusts
only that host's Discord user and holds only that host's key, with its own replay state. The client-bot
gets one link to the server-bot. Single-host deployments keep using the master key on both sides; with
several hosts (or `RELAY_PER_HOST_KEYS`), each host's key is derived from the master key by host id.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

import discord

from shared import envelope
from shared.config import RelaySettings
from shared.relay_link import RelayLink, channel_budget, post_parts
from shared.relay_sender import ChannelSender, Part


class HubLike(Protocol):
    def attach(self, link: RelayLink) -> None: ...


def host_key_hex(master_hex: str, host_id: int) -> str:
    """The key to configure as PAYLOAD_ENCRYPTION_KEY on the client-bot whose user id is `host_id`."""
    return envelope.derive_host_key(envelope.parse_hex_key(master_hex, what="the master key"), host_id).hex()


def per_host_keys(relay: RelaySettings, host_ids: list[int]) -> bool:
    return relay.relay_per_host_keys or len(host_ids) > 1


def host_keyring(relay: RelaySettings, host_id: int, *, derive: bool) -> envelope.KeyRing:
    """The ring the server-bot uses for one host: master keys as they are, or derived for that host."""
    primary = relay.payload_encryption_key.get_secret_value()
    previous = relay.previous_keys()
    if not derive:
        return envelope.KeyRing.from_hex(primary, previous)
    return envelope.KeyRing.from_hex(
        host_key_hex(primary, host_id), [host_key_hex(key, host_id) for key in previous]
    )


def _link(
    channels: list[discord.TextChannel],
    relay: RelaySettings,
    keyring: envelope.KeyRing,
    direction: envelope.Direction,
    *,
    peer_id: int,
    host_id: int,
    senders: dict[int, ChannelSender] | None = None,
    heard_only: bool,
) -> RelayLink:
    return RelayLink(
        channels,
        envelope.EnvelopeChannel(
            keyring,
            local_direction=direction,
            freshness_window_s=relay.relay_freshness_window_s,
            max_envelope_bytes=relay.relay_max_envelope_bytes,
        ),
        peer_id=peer_id,
        max_envelope_bytes=relay.relay_max_envelope_bytes,
        host_id=host_id,
        senders=senders,
        heard_only=heard_only,
    )


BeforePost = Callable[[], Awaitable[None]]


def _channel_sender(channel: discord.TextChannel, before_post: BeforePost | None) -> ChannelSender:
    async def post(parts: list[Part]) -> None:
        if before_post is not None:
            await before_post()
        await post_parts(channel, parts)

    return ChannelSender(post, lambda: channel_budget(channel), name=f"{channel.id}")


def server_links(
    channels: list[discord.TextChannel],
    relay: RelaySettings,
    host_ids: list[int],
    *,
    before_post: BeforePost | None = None,
) -> list[RelayLink]:
    """One link per host for the server-bot, in `host_ids` order, each over every relay channel (the
    first is the control channel). `before_post` is awaited before each relay post (the server-bot's
    request budget: its relay posts count against the same per-token global limit as its other writes)."""
    derive = per_host_keys(relay, host_ids)
    # One sender per channel: every host's pending batch for that channel leaves in the same post.
    senders = {channel.id: _channel_sender(channel, before_post) for channel in channels}
    return [
        _link(
            channels,
            relay,
            host_keyring(relay, host_id, derive=derive),
            envelope.Direction.SERVER_TO_CLIENT,
            peer_id=host_id,
            host_id=host_id,
            senders=senders,
            heard_only=False,
        )
        for host_id in host_ids
    ]


def client_link(
    channels: list[discord.TextChannel], relay: RelaySettings, server_bot_id: int, own_id: int
) -> RelayLink:
    """The client-bot's link: its configured key (the master key, or its own derived host key). It
    answers each request on whichever channel it has heard the server-bot in can post soonest; the first
    channel is its control channel."""
    keyring = envelope.KeyRing.from_hex(
        relay.payload_encryption_key.get_secret_value(), relay.previous_keys()
    )
    return _link(
        channels,
        relay,
        keyring,
        envelope.Direction.CLIENT_TO_SERVER,
        peer_id=server_bot_id,
        host_id=own_id,
        heard_only=True,
    )


async def attach_server_relay(
    hub: HubLike,
    channels: list[discord.TextChannel],
    relay: RelaySettings,
    host_ids: list[int],
    *,
    before_post: BeforePost | None = None,
) -> None:
    """Attach one link per host to the hub (the channels already let every host in)."""
    for link in server_links(channels, relay, host_ids, before_post=before_post):
        hub.attach(link)
