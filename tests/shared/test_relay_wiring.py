"""Relay wiring without Discord: per-host keys keep hosts apart; a malformed host list stops start-up;
the server-bot's relay posts take their turn in its request budget."""

from __future__ import annotations

import asyncio
import uuid
from types import SimpleNamespace
from typing import cast

import discord
import pytest
from discord.http import Route

from shared import envelope, protocol
from shared.config import ConfigError, RelaySettings, load_all
from shared.relay_wiring import client_link, host_key_hex, host_keyring, per_host_keys, server_links

MASTER = envelope.generate_key_hex()
SESSION = uuid.uuid4()


def settings(**fields: object) -> RelaySettings:
    return RelaySettings(payload_encryption_key=MASTER, **fields)  # type: ignore[arg-type]


def test_each_host_opens_only_what_was_sealed_for_it() -> None:
    relay = settings(relay_host_ids="22,33")
    assert per_host_keys(relay, relay.host_ids(11))
    server_to_22 = envelope.EnvelopeChannel(
        host_keyring(relay, 22, derive=True), envelope.Direction.SERVER_TO_CLIENT
    )
    host_22 = envelope.EnvelopeChannel(
        envelope.KeyRing.from_hex(host_key_hex(MASTER, 22)), envelope.Direction.CLIENT_TO_SERVER
    )
    host_33 = envelope.EnvelopeChannel(
        envelope.KeyRing.from_hex(host_key_hex(MASTER, 33)), envelope.Direction.CLIENT_TO_SERVER
    )
    sealed = server_to_22.seal(SESSION, 1, b"for 22")
    assert host_22.open(sealed).payload == b"for 22"
    with pytest.raises(envelope.UnknownKey):
        host_33.open(sealed)


def test_a_host_cannot_seal_what_the_server_opens_as_another_host() -> None:
    relay = settings(relay_host_ids="22")
    from_33 = envelope.EnvelopeChannel(
        envelope.KeyRing.from_hex(host_key_hex(MASTER, 33)), envelope.Direction.CLIENT_TO_SERVER
    )
    server_from_22 = envelope.EnvelopeChannel(
        host_keyring(relay, 22, derive=True), envelope.Direction.SERVER_TO_CLIENT
    )
    with pytest.raises(envelope.UnknownKey):
        server_from_22.open(from_33.seal(SESSION, 16, b"forged"))


def test_rotation_per_host_opens_with_the_previous_master_derived_key() -> None:
    old = envelope.generate_key_hex()
    relay = settings(relay_host_ids="22", payload_encryption_previous_keys=old)
    host_on_old_key = envelope.EnvelopeChannel(
        envelope.KeyRing.from_hex(host_key_hex(old, 22)), envelope.Direction.CLIENT_TO_SERVER
    )
    server = envelope.EnvelopeChannel(
        host_keyring(relay, 22, derive=True), envelope.Direction.SERVER_TO_CLIENT
    )
    assert server.open(host_on_old_key.seal(SESSION, 16, b"still fine")).payload == b"still fine"


def test_a_single_host_keeps_the_master_key() -> None:
    relay = settings()
    assert not per_host_keys(relay, relay.host_ids(11))
    assert host_keyring(relay, 11, derive=False).key_ids == (envelope.key_id_of(bytes.fromhex(MASTER)),)


def test_a_malformed_host_list_stops_start_up_naming_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAYLOAD_ENCRYPTION_KEY", MASTER)
    monkeypatch.setenv("RELAY_HOST_IDS", "123,not-an-id")
    with pytest.raises(ConfigError, match="RELAY_HOST_IDS"):
        load_all(RelaySettings)


async def test_every_server_relay_post_waits_for_the_bots_request_budget_first() -> None:
    events: list[str] = []
    posted = asyncio.Event()

    async def send(*_: object, **__: object) -> None:
        events.append("post")
        posted.set()

    http = SimpleNamespace(_bucket_hashes={}, _buckets={})
    channel = cast(
        discord.TextChannel, SimpleNamespace(id=1001, send=send, _state=SimpleNamespace(http=http))
    )

    async def before_post() -> None:
        events.append("budget")

    [link] = server_links([channel], settings(), [22], before_post=before_post)
    prompt = protocol.Prompt(
        request_id="r1",
        messages=[protocol.ChatTurn(role="user", content="hi")],
        params=protocol.GenerationParams(max_tokens=8, temperature=0),
    )
    await link.send(SESSION, prompt)
    await asyncio.wait_for(posted.wait(), 5)
    await link.close(flush_within_s=0)
    await link.close_sender()
    assert events == ["budget", "post"]


async def test_a_first_text_leaves_on_a_free_channel_when_only_its_acceptance_waits_on_a_busy_one() -> None:
    # The acceptance tied the request to the channel chosen when the prompt came; that channel's bucket
    # is now spent, so the text takes the free one and the acceptance, which it supersedes, is dropped.
    posted: list[tuple[int, str]] = []
    sent = asyncio.Event()
    buckets: dict[int, SimpleNamespace] = {}

    def channel(cid: int) -> discord.TextChannel:
        async def send(content: str | None = None, **_: object) -> None:
            assert content is not None
            posted.append((cid, content))
            sent.set()

        route = Route("POST", "/channels/{channel_id}/messages", channel_id=cid)
        http = SimpleNamespace(_bucket_hashes={route.key: "h"}, _buckets={})
        buckets[cid] = http
        return cast(
            discord.TextChannel, SimpleNamespace(id=cid, send=send, _state=SimpleNamespace(http=http))
        )

    channels = [channel(1001), channel(1002)]
    relay = settings()
    host = client_link(channels, relay, server_bot_id=11, own_id=22)
    for c in channels:
        host.lanes.incoming(protocol.Cancel(request_id="seen"), c.id)  # the server-bot was heard in both
    await host.send(SESSION, protocol.Accepted(request_id="r1", queue_position=0))
    busy = host.lanes.lane_of("r1")
    assert busy is not None
    route = Route("POST", "/channels/{channel_id}/messages", channel_id=busy)
    spent = SimpleNamespace(remaining=0, expires=asyncio.get_running_loop().time() + 3, limit=5, outgoing=0)
    buckets[busy]._buckets[f"h:{route.major_parameters}"] = spent
    text = protocol.Delta(request_id="r1", offset=0, text="Hi")
    await host.send(SESSION, text)
    free = host.lanes.lane_of("r1")
    assert free is not None and free != busy
    await asyncio.wait_for(sent.wait(), 5)
    await host.close(flush_within_s=0)
    await host.close_sender()
    server = server_links(channels, relay, [22])[0]
    [(cid, content)] = posted
    message = SimpleNamespace(
        author=SimpleNamespace(id=22), channel=SimpleNamespace(id=cid), attachments=[], content=content
    )
    assert cid == free
    assert [item.payload for item in await server.receive(cast(discord.Message, message))] == [text]
