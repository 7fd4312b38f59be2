"""Gateway intents (Discord "Gateway > Gateway Intents") and which intent each event needs."""

from __future__ import annotations

GUILDS = 1 << 0
GUILD_MEMBERS = 1 << 1
GUILD_MODERATION = 1 << 2
GUILD_PRESENCES = 1 << 8
GUILD_MESSAGES = 1 << 9
GUILD_MESSAGE_TYPING = 1 << 11
DIRECT_MESSAGES = 1 << 12
DIRECT_MESSAGE_TYPING = 1 << 14
MESSAGE_CONTENT = 1 << 15

PRIVILEGED = GUILD_MEMBERS | GUILD_PRESENCES | MESSAGE_CONTENT
ALL_KNOWN = (1 << 26) - 1

NAMES = {
    "GUILDS": GUILDS,
    "GUILD_MEMBERS": GUILD_MEMBERS,
    "GUILD_PRESENCES": GUILD_PRESENCES,
    "MESSAGE_CONTENT": MESSAGE_CONTENT,
}

_GUILD_EVENTS = {
    "CHANNEL_CREATE": GUILDS,
    "CHANNEL_UPDATE": GUILDS,
    "CHANNEL_DELETE": GUILDS,
    "GUILD_ROLE_CREATE": GUILDS,
    "GUILD_ROLE_UPDATE": GUILDS,
    "GUILD_ROLE_DELETE": GUILDS,
    "GUILD_MEMBER_ADD": GUILD_MEMBERS,
    "GUILD_MEMBER_UPDATE": GUILD_MEMBERS,
    "GUILD_MEMBER_REMOVE": GUILD_MEMBERS,
    "GUILD_BAN_ADD": GUILD_MODERATION,
    "GUILD_BAN_REMOVE": GUILD_MODERATION,
    "MESSAGE_CREATE": GUILD_MESSAGES,
    "MESSAGE_UPDATE": GUILD_MESSAGES,
    "MESSAGE_DELETE": GUILD_MESSAGES,
    "TYPING_START": GUILD_MESSAGE_TYPING,
    "CHANNEL_PINS_UPDATE": GUILDS,
}
_DM_EVENTS = {
    "MESSAGE_CREATE": DIRECT_MESSAGES,
    "MESSAGE_UPDATE": DIRECT_MESSAGES,
    "MESSAGE_DELETE": DIRECT_MESSAGES,
    "TYPING_START": DIRECT_MESSAGE_TYPING,
    "CHANNEL_CREATE": 0,
    "CHANNEL_PINS_UPDATE": DIRECT_MESSAGES,
}


def required_intent(event: str, *, in_guild: bool) -> int:
    """The intent needed to receive `event`; 0 means always sent (READY, INTERACTION_CREATE...)."""
    table = _GUILD_EVENTS if in_guild else _DM_EVENTS
    return table.get(event, 0)


def application_flags(privileged: int) -> int:
    """The application flags Discord reports for an unverified app granted these privileged intents."""
    flags = 0
    if privileged & GUILD_PRESENCES:
        flags |= 1 << 13
    if privileged & GUILD_MEMBERS:
        flags |= 1 << 15
    if privileged & MESSAGE_CONTENT:
        flags |= 1 << 19
    return flags


def parse(value: int | list[str]) -> int:
    if isinstance(value, int):
        return value
    bits = 0
    for name in value:
        bits |= NAMES[name.upper()]
    return bits
