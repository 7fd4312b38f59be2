"""Who is asking, and through which front end. Every core call takes one `Actor`."""

from __future__ import annotations

from dataclasses import dataclass, field

from server_bot.db.records import FRONT_END_VALUES, FrontEnd

FRONT_ENDS = FRONT_END_VALUES
__all__ = ["FRONT_ENDS", "Actor", "FrontEnd"]


@dataclass(frozen=True, slots=True)
class Actor:
    """A person acting through a front end.

    `user_id` is the person's Discord user id on every front (web and MCP sign in with Discord), so bans,
    rate limits and sessions follow the person, not the front. `role_ids` are the person's guild role ids
    as the front knows them (Discord: the member's roles; web/MCP: from the sign-in); the core alone
    decides what they allow (see `AccessService.is_admin`). Names are never used for decisions.
    """

    user_id: int
    front_end: FrontEnd
    role_ids: frozenset[int] = field(default_factory=frozenset)
    guild_id: int | None = None
