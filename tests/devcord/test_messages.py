"""Message validation, errors and attachments exactly as discord.py sees them."""

from __future__ import annotations

import io

import discord
import pytest

from devcord import Devcord
from devcord.testing import Driver
from tests.devcord.bots import Recorder, running

pytestmark = pytest.mark.e2e


async def _general(bot: discord.Client, driver: Driver) -> discord.TextChannel:
    channel = bot.get_channel(await driver.channel_id("general"))
    assert isinstance(channel, discord.TextChannel)
    return channel


async def test_attachment_round_trip(devcord: Devcord, driver: Driver) -> None:
    async with running(Recorder(), "server-bot") as bot:
        channel = await _general(bot, driver)
        sent = await channel.send("file", file=discord.File(io.BytesIO(b"envelope-bytes"), "env.bin"))
        (attachment,) = sent.attachments
        assert (attachment.filename, attachment.size) == ("env.bin", 14)
        assert await attachment.read() == b"envelope-bytes"


@pytest.mark.parametrize(
    ("filename", "content_type"),
    [
        ("photo.png", "image/png"),
        ("Photo.JPG", "image/jpeg"),
        ("notes.txt", "text/plain; charset=utf-8"),
        ("env.bin", "application/octet-stream"),  # no better type than the one discord.py declares
    ],
)
async def test_uploaded_attachment_content_type_comes_from_the_file_name(
    devcord: Devcord, driver: Driver, filename: str, content_type: str
) -> None:
    async with running(Recorder(), "server-bot") as bot:
        channel = await _general(bot, driver)
        sent = await channel.send(file=discord.File(io.BytesIO(b"bytes"), filename))
        (attachment,) = sent.attachments
        assert attachment.content_type == content_type
        (stored,) = (await driver.messages("general"))[-1]["attachments"]
        assert stored["content_type"] == content_type


@pytest.mark.parametrize(
    ("content", "code"),
    [
        pytest.param("x" * 2001, 50035, id="over-2000-chars"),
        pytest.param("", 50006, id="empty"),
    ],
)
async def test_invalid_message_is_rejected(devcord: Devcord, driver: Driver, content: str, code: int) -> None:
    async with running(Recorder(), "server-bot") as bot:
        channel_id = await driver.channel_id("general")
        params = discord.http.MultipartParameters(payload={"content": content}, multipart=None, files=None)
        with pytest.raises(discord.HTTPException) as rejected:
            await bot.http.send_message(channel_id, params=params)
        assert (rejected.value.status, rejected.value.code) == (400, code)


async def test_too_many_embeds_is_invalid_form_body(devcord: Devcord, driver: Driver) -> None:
    async with running(Recorder(), "server-bot") as bot:
        channel_id = await driver.channel_id("general")
        payload = {"embeds": [{"title": "t"}] * 11}
        params = discord.http.MultipartParameters(payload=payload, multipart=None, files=None)
        with pytest.raises(discord.HTTPException) as rejected:
            await bot.http.send_message(channel_id, params=params)
        assert rejected.value.code == 50035


async def test_unknown_ids_are_404_with_discord_codes(devcord: Devcord, driver: Driver) -> None:
    async with running(Recorder(), "server-bot") as bot:
        with pytest.raises(discord.NotFound) as channel:
            await bot.fetch_channel(1234)
        assert channel.value.code == 10003
        general = await _general(bot, driver)
        with pytest.raises(discord.NotFound) as message:
            await general.fetch_message(1234)
        assert message.value.code == 10008


async def test_bot_deletes_and_the_channel_forgets(devcord: Devcord, driver: Driver) -> None:
    async with running(Recorder(), "server-bot") as bot:
        general = await _general(bot, driver)
        sent = await general.send("oops")
        await sent.delete()
        assert await driver.messages("general") == []
        assert [m async for m in general.history()] == []
