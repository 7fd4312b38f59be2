"""Permission bits and the computation Discord documents in "Permissions > Permission Hierarchy".

base = @everyone | every role of the member; ADMINISTRATOR or guild ownership grants everything;
then the channel's own overwrites: @everyone (deny, allow), all role overwrites of the member combined
(deny, allow), the member's overwrite (deny, allow). Implicit rules follow ("Implicit Permissions").
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

CREATE_INSTANT_INVITE = 1 << 0
KICK_MEMBERS = 1 << 1
BAN_MEMBERS = 1 << 2
ADMINISTRATOR = 1 << 3
MANAGE_CHANNELS = 1 << 4
MANAGE_GUILD = 1 << 5
ADD_REACTIONS = 1 << 6
VIEW_AUDIT_LOG = 1 << 7
PRIORITY_SPEAKER = 1 << 8
STREAM = 1 << 9
VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
SEND_TTS_MESSAGES = 1 << 12
MANAGE_MESSAGES = 1 << 13
EMBED_LINKS = 1 << 14
ATTACH_FILES = 1 << 15
READ_MESSAGE_HISTORY = 1 << 16
MENTION_EVERYONE = 1 << 17
USE_EXTERNAL_EMOJIS = 1 << 18
CONNECT = 1 << 20
SPEAK = 1 << 21
CHANGE_NICKNAME = 1 << 26
MANAGE_NICKNAMES = 1 << 27
MANAGE_ROLES = 1 << 28
MANAGE_WEBHOOKS = 1 << 29
USE_APPLICATION_COMMANDS = 1 << 31
MANAGE_THREADS = 1 << 34
CREATE_PUBLIC_THREADS = 1 << 35
CREATE_PRIVATE_THREADS = 1 << 36
SEND_MESSAGES_IN_THREADS = 1 << 38
MODERATE_MEMBERS = 1 << 40
SEND_VOICE_MESSAGES = 1 << 46
SEND_POLLS = 1 << 49
USE_EXTERNAL_APPS = 1 << 50
PIN_MESSAGES = 1 << 51

ALL = (1 << 52) - 1

# What a fresh guild's @everyone role has on Discord (the documented default set).
DEFAULT_EVERYONE = (
    CREATE_INSTANT_INVITE
    | ADD_REACTIONS
    | STREAM
    | VIEW_CHANNEL
    | SEND_MESSAGES
    | SEND_TTS_MESSAGES
    | EMBED_LINKS
    | ATTACH_FILES
    | READ_MESSAGE_HISTORY
    | MENTION_EVERYONE
    | USE_EXTERNAL_EMOJIS
    | CONNECT
    | SPEAK
    | CHANGE_NICKNAME
    | USE_APPLICATION_COMMANDS
    | CREATE_PUBLIC_THREADS
    | CREATE_PRIVATE_THREADS
    | SEND_MESSAGES_IN_THREADS
    | SEND_VOICE_MESSAGES
    | SEND_POLLS
    | USE_EXTERNAL_APPS
)

NAMES = {
    name: value
    for name, value in globals().items()
    if name.isupper() and isinstance(value, int) and name != "ALL"
}

# Without SEND_MESSAGES these are implicitly denied in a text channel.
_NEEDS_SEND = MENTION_EVERYONE | SEND_TTS_MESSAGES | ATTACH_FILES | EMBED_LINKS


@dataclass
class Overwrite:
    """One entry of a channel's `permission_overwrites` (type 0 = role, 1 = member)."""

    id: int
    type: int
    allow: int
    deny: int

    def payload(self) -> dict[str, object]:
        return {"id": str(self.id), "type": self.type, "allow": str(self.allow), "deny": str(self.deny)}


def parse_bits(value: int | str | Iterable[str]) -> int:
    """Accept an integer, a decimal string, or a list of permission names (scenario convenience)."""
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        return int(value)
    bits = 0
    for name in value:
        bits |= ALL if name.upper() == "ALL" else NAMES[name.upper()]
    return bits


def base_permissions(everyone: int, member_roles: Iterable[int], *, is_owner: bool) -> int:
    if is_owner:
        return ALL
    perms = everyone
    for role_perms in member_roles:
        perms |= role_perms
    return ALL if perms & ADMINISTRATOR else perms


def channel_permissions(
    base: int,
    overwrites: dict[int, Overwrite],
    *,
    guild_id: int,
    member_id: int,
    member_role_ids: Iterable[int],
) -> int:
    """Apply one channel's overwrites to `base`, in Discord's documented order, then the implicit rules."""
    if base & ADMINISTRATOR:
        return ALL
    perms = base
    everyone = overwrites.get(guild_id)
    if everyone is not None:
        perms = (perms & ~everyone.deny) | everyone.allow
    allow = deny = 0
    for role_id in member_role_ids:
        ow = overwrites.get(role_id)
        if ow is not None and ow.type == 0:
            allow |= ow.allow
            deny |= ow.deny
    perms = (perms & ~deny) | allow
    member = overwrites.get(member_id)
    if member is not None and member.type == 1:
        perms = (perms & ~member.deny) | member.allow
    return implicit(perms)


def implicit(perms: int) -> int:
    if not perms & VIEW_CHANNEL:
        return 0
    if not perms & SEND_MESSAGES:
        perms &= ~_NEEDS_SEND
    return perms
