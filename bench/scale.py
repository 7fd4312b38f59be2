"""How the relay scales with GPU hosts and concurrent users, with Discord's rate limits enforced (devcord).

Each host is a client-bot with a fake engine of fixed speed (one generation at a time, `--tps` words per
second), so what is measured is the relay: routing, the multiplexed outbox, the server-bot's streaming
edits. Every user opens a session and sends `--prompts` prompts one after another, each as soon as the
previous reply is complete. For each (hosts, users) it prints aggregate tokens/s, scaling efficiency
against one host at the same user count, p50/p95 time to the first visible reply text, Discord 429s,
relay posts per request, and prompts lost (no complete reply within the limit) or answered twice.

Last line:  hosts=3 scaling_efficiency=E p95_first_ms=M discord_429=N lost=L duplicated=D
(for the largest user count). The machine has 2 cores shared with other work: expect noise.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from client_bot.engine import FakeEngine
from devcord import Devcord
from devcord.ratelimit import RateLimited
from meatlizard.scripted_user import has_regenerate_button, start_chat
from meatlizard.stack import Stack, StackOptions, multi_host_scenario, running_devcord, running_stack
from server_bot import discord_budget
from server_bot.ratelimit import RateRules

WORDS = 20
REPLY = " ".join(f"w{index}" for index in range(WORDS))
PROMPT_LIMIT_S = float(os.environ.get("SCALE_PROMPT_LIMIT_S", "120"))
START_CONCURRENCY = 10


@dataclass
class Result:
    hosts: int
    users: int
    elapsed_s: float = 0.0
    tokens: int = 0
    first_s: list[float] = field(default_factory=list)
    lost: int = 0
    duplicated: int = 0
    wrong: int = 0
    discord_429: int = 0
    relay_posts: int = 0
    prompts: int = 0
    moves: int = 0
    lost_at: list[int] = field(default_factory=list)
    limited: Counter[str] = field(default_factory=Counter)
    budget: str = ""

    @property
    def tokens_per_s(self) -> float:
        return self.tokens / self.elapsed_s if self.elapsed_s else 0.0

    def p(self, q: float) -> float:
        if not self.first_s:
            return float("nan")
        ordered = sorted(self.first_s)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def _engine(tps: float) -> FakeEngine:
    return FakeEngine(lambda _: REPLY, token_delay_s=1 / tps)


async def _user(stack: Stack, name: str, channel: int, prompts: int, result: Result) -> None:
    driver = stack.driver
    cursor = int((await driver.events(name, after=0))["last_seq"])
    for index in range(prompts):
        started = time.perf_counter()
        prompt_id = int((await driver.post(channel, name, f"prompt {index} from {name}"))["id"])
        first: float | None = None
        finals = 0
        try:
            async with asyncio.timeout(PROMPT_LIMIT_S):
                while not finals:
                    feed = await driver.events(name, after=cursor, wait_s=10)
                    cursor = int(feed["last_seq"])
                    for event in feed["events"]:
                        message = event.get("d") or {}
                        if event.get("t") not in {"MESSAGE_CREATE", "MESSAGE_UPDATE"}:
                            continue
                        if int(message.get("channel_id", 0)) != channel:
                            continue
                        if not message.get("author", {}).get("bot"):
                            continue
                        if int(message.get("id", 0)) < prompt_id:
                            # An earlier reply edited (its Regenerate button removed): not this reply.
                            continue
                        content = str(message.get("content") or "")
                        if first is None and content.startswith("w0"):
                            first = time.perf_counter() - started
                        if has_regenerate_button(message):
                            finals += 1
                            result.wrong += content != REPLY
        except TimeoutError:
            result.lost += 1
            result.lost_at.append(index)
            if os.environ.get("SCALE_DEBUG"):
                tail = (await driver.messages(channel))[-4:]
                print("LOST", name, index, [(m["author"].get("username"), m["content"][:60]) for m in tail])
            continue
        result.first_s.append(first if first is not None else time.perf_counter() - started)
        result.tokens += WORDS


async def count_replies(stack: Stack, channels: Iterable[int]) -> int:
    """Bot messages carrying reply text: more than one per prompt would be a reply shown twice."""
    total = 0
    for channel in channels:
        for message in await stack.driver.messages(channel):
            if message["author"].get("bot") and str(message.get("content") or "").startswith("w0"):
                total += 1
    return total


async def run(
    hosts: int, users: int, prompts: int, tps: float, heartbeat_s: float, relay_channels: int | None = None
) -> Result:
    result = Result(hosts, users)
    options = StackOptions(
        Path(tempfile.mkdtemp(prefix="scale-bench-")),
        heartbeat_interval_s=heartbeat_s,
        relay_channels=relay_channels,
        reply_timeout_s=30.0,
        # The product's per-user and global prompt limits would throttle the load generator itself.
        rate_rules=RateRules(
            prompt_per_user="1000/minute",
            prompt_global="100000/minute",
            command_per_user="1000/minute",
            command_global="100000/minute",
        ),
        extra_host_engines=[_engine(tps) for _ in range(hosts - 1)],
    )
    scenario = multi_host_scenario(hosts, users)
    async with (
        running_devcord(scenario=scenario) as devcord,
        running_stack(devcord, _engine(tps), options) as stack,
    ):
        names = [f"user-{number:03d}" for number in range(1, users + 1)]
        gate = asyncio.Semaphore(START_CONCURRENCY)

        async def open_session(name: str) -> tuple[str, int]:
            async with gate:
                return name, await start_chat(stack.driver, name)

        channels = dict(await asyncio.gather(*(open_session(name) for name in names)))
        await stack.driver.set_ratelimits(reset_counter=True)
        apps = (await stack.driver.state())["applications"]
        app_names = {int(app[key]): app["name"] for app in apps for key in ("id", "bot_user_id")}
        result.limited = count_429s_by_route(devcord, app_names)
        posts_before = _relay_posts(stack)
        started = time.perf_counter()
        await asyncio.gather(*(_user(stack, name, channels[name], prompts, result) for name in names))
        result.elapsed_s = time.perf_counter() - started
        result.discord_429 = await stack.driver.served_429()
        result.relay_posts = _relay_posts(stack) - posts_before
        result.prompts = users * prompts
        result.duplicated = max(
            0, await count_replies(stack, channels.values()) - (result.prompts - result.lost)
        )
        result.moves = stack.server.ctx.hub.moves
        spent = discord_budget.budget_for(stack.server.http)
        result.budget = (
            ",".join(f"{p.name.lower()}:{n}" for p, n in sorted(spent.granted.items()))
            + f",typing_skipped:{spent.skipped}"
        )
    return result


def count_429s_by_route(devcord: Devcord, names: dict[int, str]) -> Counter[str]:
    """Wrap devcord's limiter (in this process) to tell which bot and route each 429 was for."""
    counts: Counter[str] = Counter()
    limiter = devcord.limiter
    check = limiter.check

    def counted(
        app_id: int, method: str, template: str, params: dict[str, str], *, global_exempt: bool
    ) -> dict[str, str]:
        try:
            return check(app_id, method, template, params, global_exempt=global_exempt)
        except RateLimited as exc:
            where = "global" if exc.is_global else f"{method} {template}"
            counts[f"{names.get(app_id, app_id)}: {where}"] += 1
            raise

    limiter.check = counted  # type: ignore[method-assign]
    return counts


def _relay_posts(stack: Stack) -> int:
    clients = [stack.client, *stack.hosts.values()]
    return stack.server.ctx.hub.posts + sum(
        bot.relay.link.posts for bot in clients if bot is not None and bot.relay is not None
    )


def _print(result: Result, one_host: Result | None) -> float:
    efficiency = (
        result.tokens_per_s / (result.hosts * one_host.tokens_per_s)
        if one_host and one_host.tokens_per_s
        else 1.0
    )
    print(
        f"hosts={result.hosts} users={result.users} prompts={result.prompts} "
        f"tokens_per_s={result.tokens_per_s:.1f} efficiency={efficiency:.2f} "
        f"first_ms p50={result.p(0.5):.0f} p95={result.p(0.95):.0f} discord_429={result.discord_429} "
        f"relay_posts_per_request={result.relay_posts / max(1, result.prompts):.2f} "
        f"lost={result.lost} duplicated={result.duplicated} wrong={result.wrong} "
        f"elapsed_s={result.elapsed_s:.1f}"
        + f" budget={result.budget}"
        + (f" 429_by_route={dict(result.limited)}" if result.limited else "")
        + (f" lost_prompt_numbers={sorted(result.lost_at)}" if result.lost else ""),
        flush=True,
    )
    return efficiency


async def bench(
    host_counts: list[int],
    user_counts: list[int],
    prompts: int,
    tps: float,
    heartbeat_s: float,
    relay_channels: int | None = None,
) -> None:
    print(f"fake engines: {tps:g} words/s each, {WORDS}-word replies, {prompts} prompts per user", flush=True)
    last: tuple[Result, float] | None = None
    for users in user_counts:
        one_host: Result | None = None
        for hosts in host_counts:
            result = await run(hosts, users, prompts, tps, heartbeat_s, relay_channels)
            if hosts == 1:
                one_host = result
            last = (result, _print(result, one_host))
    assert last is not None
    result, efficiency = last
    print(
        f"hosts={result.hosts} scaling_efficiency={efficiency:.2f} p95_first_ms={result.p(0.95):.0f} "
        f"discord_429={result.discord_429} lost={result.lost} duplicated={result.duplicated}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--hosts", default="1,2,3", help="comma-separated host counts (default 1,2,3)")
    parser.add_argument("--users", default="30,100", help="comma-separated user counts (default 30,100)")
    parser.add_argument("--prompts", type=int, default=5, help="prompts per user (default 5)")
    parser.add_argument("--tps", type=float, default=50.0, help="words per second of each fake engine")
    parser.add_argument("--heartbeat", type=float, default=2.0, help="client-bot heartbeat interval, seconds")
    parser.add_argument(
        "--no-budget",
        action="store_true",
        help="lift the server-bot's Discord request budget (to compare with and without it)",
    )
    parser.add_argument(
        "--relay-channels",
        type=int,
        default=None,
        help="RELAY_CHANNELS for the server-bot (default: the product's; see bench/relay_design.py)",
    )
    args = parser.parse_args()
    if args.no_budget:
        discord_budget.DEFAULT_RATE_PER_S, discord_budget.DEFAULT_BURST = 1e9, 10**9
    hosts = [int(part) for part in args.hosts.split(",")]
    users = [int(part) for part in args.users.split(",")]
    asyncio.run(bench(hosts, users, args.prompts, args.tps, args.heartbeat, args.relay_channels))


if __name__ == "__main__":
    main()
