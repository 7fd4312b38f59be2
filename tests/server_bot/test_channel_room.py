"""Where the next session channel goes, within Discord's 50 per category and 500 per guild."""

from __future__ import annotations

import pytest

from server_bot.channel_room import CATEGORY_CHANNEL_LIMIT, first_with_room
from server_bot.channels import GUILD_CHANNEL_LIMIT, guild_has_room


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        pytest.param([(1, 0)], 1, id="empty-first"),
        pytest.param([(1, 49)], 1, id="last-place-in-the-first"),
        pytest.param([(1, 50), (2, 3)], 2, id="first-full-overflows-to-the-second"),
        pytest.param([(1, 50), (2, 50)], None, id="all-full-needs-a-new-category"),
        pytest.param([(1, 50), (2, 50), (3, 12), (4, 0)], 3, id="earliest-with-room-in-the-bots-order"),
        pytest.param([(1, 12), (2, 0)], 1, id="a-freed-place-in-the-first-is-used-again"),
        pytest.param([], None, id="no-category-yet"),
    ],
)
def test_the_first_category_with_room_takes_the_next_session(
    counts: list[tuple[int, int]], expected: int | None
) -> None:
    assert first_with_room(counts) == expected
    assert CATEGORY_CHANNEL_LIMIT == 50


@pytest.mark.parametrize(
    ("channels", "room"),
    [
        pytest.param(3, True, id="a-fresh-guild"),
        pytest.param(496, True, id="room-for-a-channel-a-category-and-the-bots-own-two"),
        pytest.param(497, False, id="near-the-cap"),
        pytest.param(500, False, id="at-the-cap"),
    ],
)
def test_the_guild_is_near_its_cap_before_discord_would_refuse(channels: int, room: bool) -> None:
    assert guild_has_room(channels) is room
    assert GUILD_CHANNEL_LIMIT == 500
