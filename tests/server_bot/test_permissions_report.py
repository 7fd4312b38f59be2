"""`/ai-admin permissions`: what the bot's roles grant is reported apart from @everyone's defaults."""

from __future__ import annotations

import discord

from server_bot.exts.admin.reports import permissions_report
from shared.permissions import SERVER_BOT_PERMISSIONS

EVERYONE = discord.Permissions(
    view_channel=True, send_messages=True, add_reactions=True, change_nickname=True
)


def test_extras_from_everyones_defaults_are_counted_not_listed_as_the_bots_to_remove() -> None:
    granted = SERVER_BOT_PERMISSIONS | discord.Permissions(ban_members=True)
    report = permissions_report(granted, EVERYONE)
    assert "Missing (grant them to the bot's role): none" in report
    assert "(remove them there): `ban_members`" in report
    assert "`add_reactions`" not in report and "`change_nickname`" not in report
    assert "2 more come from the server's default permissions" in report


def test_a_needed_permission_only_everyone_holds_is_not_missing() -> None:
    granted = discord.Permissions(manage_channels=True, manage_roles=True, read_message_history=True)
    report = permissions_report(granted, EVERYONE | discord.Permissions(embed_links=True, attach_files=True))
    assert "Missing (grant them to the bot's role): none" in report
    assert "(remove them there): none" in report


def test_missing_permissions_are_listed() -> None:
    report = permissions_report(discord.Permissions(view_channel=True), discord.Permissions.none())
    assert "`manage_channels`" in report.split("\n")[1] and "`view_channel`" not in report


def test_administrator_lacks_nothing_and_is_flagged() -> None:
    report = permissions_report(discord.Permissions(administrator=True), discord.Permissions.none())
    assert "Missing (grant them to the bot's role): none" in report
    assert "`administrator`" in report.split("\n")[2] and "grants everything" in report
