"""Discord's structural maximums a bot can hit, with the answers Discord gives ("Opcodes and Status
Codes > JSON Error Codes"; the Channel, Guild and Message resources)."""

from __future__ import annotations

from devcord.errors import ApiError, form_error

MAX_GUILD_CHANNELS = 500
MAX_CATEGORY_CHANNELS = 50
MAX_GUILD_ROLES = 250
MAX_PINS = 50

MAXIMUM_PINS = 30003
MAXIMUM_ROLES = 30005
MAXIMUM_GUILD_CHANNELS = 30013


def check_new_channel(guild_channel_count: int, siblings_in_parent: int | None) -> None:
    """Before creating a channel: 500 per guild (30013), 50 per category (Invalid Form Body on
    `parent_id`). `siblings_in_parent` is None for a channel without a category."""
    if guild_channel_count >= MAX_GUILD_CHANNELS:
        raise ApiError(
            400, MAXIMUM_GUILD_CHANNELS, f"Maximum number of guild channels reached ({MAX_GUILD_CHANNELS})"
        )
    check_category_room(siblings_in_parent)


def check_category_room(siblings_in_parent: int | None) -> None:
    if siblings_in_parent is not None and siblings_in_parent >= MAX_CATEGORY_CHANNELS:
        raise form_error(
            "parent_id",
            "CHANNEL_PARENT_MAX_CHANNELS",
            f"Maximum number of channels in category reached ({MAX_CATEGORY_CHANNELS})",
        )


def check_new_role(role_count: int) -> None:
    # @everyone is not counted against the maximum.
    if role_count - 1 >= MAX_GUILD_ROLES:
        raise ApiError(400, MAXIMUM_ROLES, f"Maximum number of guild roles reached ({MAX_GUILD_ROLES})")


def check_new_pin(pinned: int) -> None:
    if pinned >= MAX_PINS:
        raise ApiError(400, MAXIMUM_PINS, f"Maximum number of pins reached ({MAX_PINS})")
