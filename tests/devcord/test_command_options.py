"""Slash-command option values are checked before a bot sees the interaction, as Discord does
("Application Command Option Structure"): a bad value is a 400 Invalid Form Body, never a 500."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from devcord import Devcord
from devcord.testing import Driver, DriverError
from tests.devcord.bots import TOKENS

pytestmark = pytest.mark.e2e

COMMAND = {
    "name": "tune",
    "description": "tune the model",
    "options": [
        {"type": 4, "name": "count", "description": "how many", "min_value": 1, "max_value": 5},
        {"type": 10, "name": "temperature", "description": "temperature", "min_value": 0, "max_value": 2},
        {"type": 3, "name": "prompt", "description": "text", "min_length": 2, "max_length": 10},
        {
            "type": 3,
            "name": "mode",
            "description": "mode",
            "choices": [{"name": "Fast", "value": "fast"}, {"name": "Slow", "value": "slow"}],
        },
        {"type": 5, "name": "private", "description": "ephemeral"},
        {"type": 7, "name": "where", "description": "a text channel", "channel_types": [0]},
    ],
}


@pytest.fixture
async def registered(devcord: Devcord) -> None:
    app = next(a for a in devcord.world.apps.values() if a.name == "server-bot")
    headers = {"Authorization": f"Bot {TOKENS['server-bot']}"}
    async with (
        aiohttp.ClientSession() as session,
        session.put(
            f"{devcord.api_base}/applications/{app.id}/commands", json=[COMMAND], headers=headers
        ) as r,
    ):
        assert r.status == 200


async def _refused(driver: Driver, **options: Any) -> DriverError:
    with pytest.raises(DriverError) as refused:
        await driver.command("alice", "general", "tune", application="server-bot", **options)
    return refused.value


@pytest.mark.usefixtures("registered")
async def test_a_string_for_an_integer_option_is_a_400_with_discords_error_shape(
    devcord: Devcord, driver: Driver
) -> None:
    error = await _refused(driver, count="lots")
    assert error.status == 400 and error.code == 50035
    (field_error,) = error.body["errors"]["data"]["options"]["0"]["value"]["_errors"]
    assert field_error["code"] == "NUMBER_TYPE_COERCE"
    # Readable for a person (the web client shows `message`).
    assert "data.options.0.value" in error.body["message"] and "'lots' is not int" in error.body["message"]
    assert devcord.interactions.by_id == {}


@pytest.mark.parametrize(
    ("options", "code"),
    [
        ({"count": 0}, "NUMBER_TYPE_MIN"),
        ({"count": 6}, "NUMBER_TYPE_MAX"),
        ({"count": 2.5}, "NUMBER_TYPE_COERCE"),
        ({"temperature": 2.5}, "NUMBER_TYPE_MAX"),
        ({"temperature": "warm"}, "NUMBER_TYPE_COERCE"),
        ({"prompt": "x"}, "BASE_TYPE_MIN_LENGTH"),
        ({"prompt": "x" * 11}, "BASE_TYPE_MAX_LENGTH"),
        ({"mode": "medium"}, "BASE_TYPE_CHOICES"),
        ({"private": "maybe"}, "BASE_TYPE_BOOLEAN"),
        ({"where": "MeatLizard"}, "CHANNEL_TYPE_INVALID"),
    ],
)
@pytest.mark.usefixtures("registered")
async def test_option_limits_are_enforced_before_the_bot_sees_the_interaction(
    devcord: Devcord, driver: Driver, options: dict[str, Any], code: str
) -> None:
    error = await _refused(driver, **options)
    assert error.status == 400 and error.code == 50035
    assert error.body["errors"]["data"]["options"]["0"]["value"]["_errors"][0]["code"] == code
    assert devcord.interactions.by_id == {}


@pytest.mark.usefixtures("registered")
async def test_valid_option_values_arrive_typed(driver: Driver) -> None:
    view = await driver.command(
        "alice", "general", "tune", application="server-bot", count="3", temperature=1.5, mode="fast"
    )
    assert view["data"]["options"] == [
        {"name": "count", "type": 4, "value": 3},
        {"name": "temperature", "type": 10, "value": 1.5},
        {"name": "mode", "type": 3, "value": "fast"},
    ]


@pytest.mark.usefixtures("registered")
async def test_an_unknown_option_is_refused(driver: Driver) -> None:
    error = await _refused(driver, colour="blue")
    assert error.status == 400 and "colour" in error.body["message"]
