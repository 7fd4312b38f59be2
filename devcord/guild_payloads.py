"""Guild objects as Discord sends them: the REST guild ("Get Guild") and the GUILD_CREATE snapshot with
its gateway-only fields."""

from __future__ import annotations

from typing import TYPE_CHECKING

from devcord import visibility as V
from devcord.model import Guild, Json, iso

if TYPE_CHECKING:
    from devcord.world import World


def guild_payload(world: World, guild: Guild, *, with_counts: bool = False) -> Json:
    """The REST guild object ("Get Guild"): no gateway-only fields; counts only when asked for."""
    out: Json = {
        "id": str(guild.id),
        "name": guild.name,
        "icon": None,
        "description": None,
        "home_header": None,
        "splash": None,
        "discovery_splash": None,
        "features": [],
        "banner": None,
        "owner_id": str(guild.owner_id),
        "application_id": None,
        "region": "deprecated",
        "afk_channel_id": None,
        "afk_timeout": 300,
        "system_channel_id": None,
        "system_channel_flags": 0,
        "widget_enabled": False,
        "widget_channel_id": None,
        "verification_level": 0,
        "roles": [r.payload() for r in guild.roles.values()],
        "default_message_notifications": 0,
        "mfa_level": 0,
        "explicit_content_filter": 0,
        "max_presences": None,
        "max_members": 500000,
        "max_stage_video_channel_users": 50,
        "max_video_channel_users": 25,
        "vanity_url_code": None,
        "premium_tier": 0,
        "premium_subscription_count": 0,
        "preferred_locale": "en-US",
        "rules_channel_id": None,
        "safety_alerts_channel_id": None,
        "public_updates_channel_id": None,
        "premium_progress_bar_enabled": False,
        "nsfw": False,
        "nsfw_level": 0,
        "emojis": [],
        "stickers": [],
        "incidents_data": None,
    }
    if with_counts:
        # devcord has no presences; every member counts as offline.
        out.update(approximate_member_count=len(guild.members), approximate_presence_count=0)
    return out


def guild_create_payload(world: World, guild: Guild, viewer_id: int, *, with_members: bool) -> Json:
    """GUILD_CREATE: the guild plus the gateway-only fields. Channels the viewer cannot see are sent
    obfuscated ("Channel Visibility"), so the list is complete but their details are not."""
    viewer = guild.members[viewer_id]
    members = list(guild.members.values()) if with_members else [viewer]
    return guild_payload(world, guild) | {
        "joined_at": iso(viewer.joined_at),
        "large": False,
        "unavailable": False,
        "member_count": len(guild.members),
        "members": [world.member_payload(guild, m) for m in members],
        "channels": [V.channel_view(world, world.channels[c], viewer_id) for c in guild.channel_ids],
        "threads": [],
        "presences": [],
        "voice_states": [],
        "stage_instances": [],
        "guild_scheduled_events": [],
        "soundboard_sounds": [],
    }
