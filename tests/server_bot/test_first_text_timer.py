"""Where a reply's time to first visible text goes: each leg reported once, in order, to Prometheus."""

from __future__ import annotations

import time

import discord

from server_bot.exts.chat.timing import FirstTextTimer
from shared import metrics


def _count(leg: str) -> float:
    return metrics.REGISTRY.get_sample_value("meatlizard_first_text_leg_seconds_count", {"leg": leg}) or 0.0


def _sum(leg: str) -> float:
    return metrics.REGISTRY.get_sample_value("meatlizard_first_text_leg_seconds_sum", {"leg": leg}) or 0.0


def test_each_leg_of_a_first_text_is_reported_once_and_in_order() -> None:
    before = {leg: _count(leg) for leg in metrics.FIRST_TEXT_LEGS}
    gateway_sum = _sum("gateway")
    now = time.time()
    prompt_id = discord.utils.time_snowflake(discord.utils.utcnow()) - (2000 << 22)  # posted 2 s ago
    timer = FirstTextTimer(prompt_id, clock=now)
    assert _count("gateway") == before["gateway"] + 1
    assert 1.5 < _sum("gateway") - gateway_sum < 2.5
    timer.reached("relay")  # out of order: the prompt was not accepted yet
    assert _count("relay") == before["relay"]
    for leg in ("accept", "accept", "relay", "write", "write"):
        timer.reached(leg)
    assert {leg: _count(leg) - before[leg] for leg in metrics.FIRST_TEXT_LEGS} == {
        "gateway": 1,
        "accept": 1,
        "relay": 1,
        "write": 1,
    }


def test_budget_waits_are_reported_by_priority() -> None:
    name = "meatlizard_discord_budget_wait_seconds_count"
    before = metrics.REGISTRY.get_sample_value(name, {"priority": "housekeeping"}) or 0.0
    metrics.budget_waited("HOUSEKEEPING", 0.25)
    assert metrics.REGISTRY.get_sample_value(name, {"priority": "housekeeping"}) == before + 1
